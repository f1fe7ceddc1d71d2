/**
 * fs.ts for browser bundles: there is no file system in a page, so every file function throws naming itself and
 * the browser way (fetch, File, ArrayBuffer; see docs/browser.md). Path helpers work on '/'-separated strings;
 * synchronous zlib and hashing are not available (DecompressionStream and crypto.subtle are asynchronous).
 */
function unavailable(name: string): never {
  throw new Error(
    `${name}: no file system in the browser; pass bytes instead (await (await fetch(url)).arrayBuffer(), a File, an ArrayBuffer) — see docs/browser.md`,
  );
}
function noSync(name: string): never {
  throw new Error(
    `${name}: not available in the browser (no synchronous zlib or hashing there); decompress with DecompressionStream first`,
  );
}

export async function readFile(path: unknown): Promise<Uint8Array> {
  return unavailable(`readFile(${String(path)})`);
}
export async function writeFile(path: unknown): Promise<void> {
  unavailable(`writeFile(${String(path)})`);
}
export async function mkdir(path: unknown): Promise<void> {
  unavailable(`mkdir(${String(path)})`);
}
export async function appendFile(path: unknown): Promise<void> {
  unavailable(`appendFile(${String(path)})`);
}
export async function access(path: unknown): Promise<void> {
  unavailable(`access(${String(path)})`);
}
export function readFileSync(path: unknown): Uint8Array {
  return unavailable(`readFileSync(${String(path)})`);
}
export function mkdirSync(path: unknown): void {
  unavailable(`mkdirSync(${String(path)})`);
}
export function renameSync(path: unknown): void {
  unavailable(`renameSync(${String(path)})`);
}
export function rmSync(path: unknown): void {
  unavailable(`rmSync(${String(path)})`);
}
export function statSync(path: unknown): never {
  return unavailable(`statSync(${String(path)})`);
}
export function writeFileSync(path: unknown): void {
  unavailable(`writeFileSync(${String(path)})`);
}
export async function writeFileAtomic(path: string): Promise<void> {
  unavailable(`writeFileAtomic(${path})`);
}
export function writeFileAtomicSync(path: string): void {
  unavailable(`writeFileAtomicSync(${path})`);
}
/** No file exists in a page. */
export function existsSync(): boolean {
  return false;
}
export function fileURLToPath(url: string | URL): string {
  return unavailable(`fileURLToPath(${String(url)})`);
}
export function homedir(): string {
  return unavailable('homedir()');
}
export function createHash(): never {
  return noSync('createHash');
}
export const zlibConstants = { Z_SYNC_FLUSH: 2 } as const;
export function gunzipSync(): Uint8Array {
  return noSync('gunzipSync');
}
export function gzipSync(): Uint8Array {
  return noSync('gzipSync');
}
export function inflateSync(): Uint8Array {
  return noSync('inflateSync');
}
export function deflateSync(): Uint8Array {
  return noSync('deflateSync');
}

/** Joins path segments with '/'. */
export function join(...parts: string[]): string {
  return parts
    .filter((p) => p !== '')
    .join('/')
    .replace(/\/{2,}/g, '/');
}
/** Joins path segments with '/' (no working directory in a page to resolve against). */
export const resolve = join;
/** The part of a path before its last '/' ('.' if none). */
export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : path.slice(0, i);
}
/** The extension of the last path segment, with its dot ('' if none), like node:path's extname. */
export function extname(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot) : '';
}

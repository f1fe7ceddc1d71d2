/**
 * Finding dataset files on disk, and downloading them with checksum verification where the network allows.
 *
 * Search order for a dataset `name` (e.g. 'fashion-mnist'):
 *  1. an explicit `root` (the `--data DIR` of the CLI, or the TATAMI_DATA environment variable): the directory
 *     itself, `root/<name>`, and torchvision's layout `root/<TorchvisionName>/raw`;
 *  2. the system directory /usr/share/datasets/<name> (Debian's `dataset-fashion-mnist` package);
 *  3. the cache directory: $TATAMI_CACHE/datasets/<name>, or ~/.cache/tatami/datasets/<name>;
 *  4. (only through `download` / `ensureDataset`) the official URLs, verified by SHA-256, written to a temporary
 *     file and renamed into the cache (or into `root` when one was given).
 * Each file may be gzipped (`*.gz`) or raw.
 */
// Node built-ins through the platform seam (../io/fs.ts), so a browser bundle can include this module.
import {
  createHash,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  homedir,
  dirname,
  join,
  resolve,
  fileURLToPath,
} from '../io/fs.js';

/** A file of a known dataset, with where to fetch it and its SHA-256 (of the downloaded bytes). */
export interface RemoteFile {
  name: string;
  /** SHA-256 of the file; files whose publishers give only an MD5 (Pascal VOC, Oxford-IIIT Pet) set `md5` instead. */
  sha256?: string;
  md5?: string;
}

/** Checks `bytes` against the file's checksum; returns an error message or null. */
export function checksumError(file: RemoteFile, bytes: Uint8Array): string | null {
  if (file.sha256) {
    const d = sha256(bytes);
    return d === file.sha256 ? null : `checksum mismatch: SHA-256 ${d}, expected ${file.sha256}`;
  }
  if (file.md5) {
    const d = createHash('md5').update(bytes).digest('hex');
    return d === file.md5 ? null : `checksum mismatch: MD5 ${d}, expected ${file.md5}`;
  }
  return `no checksum is known for ${file.name}`;
}

function checksumText(file: RemoteFile): string {
  return file.sha256 ? `SHA-256 ${file.sha256}` : `MD5 ${file.md5}`;
}

/** Description of a downloadable dataset. */
export interface DatasetSource {
  /** Directory name used under the system and cache directories. */
  name: string;
  /** torchvision's folder name (`root/<folder>/raw`), if any. */
  torchvisionFolder?: string;
  /** Base URLs tried in order. */
  mirrors: string[];
  files: RemoteFile[];
}

/** Official Fashion-MNIST files (checksums of the .gz files served by Zalando's S3 bucket). */
export const FASHION_MNIST_SOURCE: DatasetSource = {
  name: 'fashion-mnist',
  torchvisionFolder: 'FashionMNIST',
  mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
  files: [
    { name: 'train-images-idx3-ubyte.gz', sha256: '08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc' },
    { name: 'train-labels-idx1-ubyte.gz', sha256: 'b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc' },
    { name: 't10k-images-idx3-ubyte.gz', sha256: '78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229' },
    { name: 't10k-labels-idx1-ubyte.gz', sha256: '42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf' },
  ],
};

/** MNIST (torchvision's mirror; LeCun's site often refuses downloads). */
export const MNIST_SOURCE: DatasetSource = {
  name: 'mnist',
  torchvisionFolder: 'MNIST',
  mirrors: ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'],
  files: [
    { name: 'train-images-idx3-ubyte.gz', sha256: '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609' },
    { name: 'train-labels-idx1-ubyte.gz', sha256: '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c' },
    { name: 't10k-images-idx3-ubyte.gz', sha256: '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6' },
    { name: 't10k-labels-idx1-ubyte.gz', sha256: 'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6' },
  ],
};

/** The system-wide dataset directory searched after an explicit root. */
export const SYSTEM_DATASETS_DIR = '/usr/share/datasets';

/** Tatami's cache directory for a dataset: $TATAMI_CACHE/datasets/<name> or ~/.cache/tatami/datasets/<name>. */
export function cacheDir(name: string): string {
  const base = process.env.TATAMI_CACHE ? resolve(process.env.TATAMI_CACHE) : join(homedir(), '.cache', 'tatami');
  return join(base, 'datasets', name);
}

/** The explicit data root: the argument, else $TATAMI_DATA, else undefined. */
export function explicitRoot(root?: string): string | undefined {
  return root ?? (process.env.TATAMI_DATA || undefined);
}

/** Candidate directories for a dataset, in search order. */
export function candidateDirs(name: string, root?: string, torchvisionFolder?: string): string[] {
  const dirs: string[] = [];
  const r = explicitRoot(root);
  if (r !== undefined) {
    const abs = resolve(r);
    dirs.push(abs, join(abs, name));
    if (torchvisionFolder) dirs.push(join(abs, torchvisionFolder, 'raw'));
    // An explicit root is authoritative: do not silently read other copies.
    return dirs;
  }
  dirs.push(join(SYSTEM_DATASETS_DIR, name), cacheDir(name));
  return dirs;
}

/** Path of `base` (or `base.gz`) in `dir`, or null. `base` is given without `.gz`. */
export function findFile(dir: string, base: string): string | null {
  for (const candidate of [join(dir, base + '.gz'), join(dir, base)]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/**
 * Finds a directory holding all `files` (names without `.gz`) of dataset `name`; returns their paths in order.
 * Throws a message listing where it looked and how to provide the files.
 */
export function locateFiles(
  name: string,
  files: readonly string[],
  opts: { root?: string; torchvisionFolder?: string; hint?: string } = {},
): string[] {
  const dirs = candidateDirs(name, opts.root, opts.torchvisionFolder);
  for (const dir of dirs) {
    const found = files.map((f) => findFile(dir, f));
    if (found.every((p) => p !== null)) return found as string[];
  }
  const partial = dirs
    .map((d) => [d, files.filter((f) => findFile(d, f) === null)] as const)
    .filter(([d, missing]) => missing.length < files.length && existsSync(d));
  const partialNote = partial.length
    ? `\n${partial.map(([d, missing]) => `  ${d} is missing ${missing.join(', ')}`).join('\n')}`
    : '';
  throw new Error(
    `${name}: dataset files not found. Looked for ${files.map((f) => `${f}[.gz]`).join(', ')} in:\n${dirs.map((d) => `  ${d}`).join('\n')}${partialNote}\n` +
      `Put the files in one of these directories (or pass { root: DIR } / --data DIR)${opts.hint ? `; ${opts.hint}` : ''}.`,
  );
}

/** The repository's data/ directory (for the embedded subsets), found by walking up from this module. */
export function embeddedDataDir(sub: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'data', sub);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `embedded dataset '${sub}' not found: expected a data/${sub} directory above ${dirname(fileURLToPath(import.meta.url))} (it ships with the tatami package)`,
  );
}

/** SHA-256 of bytes as lowercase hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Downloads the files of `source` that `dir` lacks, verifying each SHA-256; each file is written to a temporary
 * name and renamed into place, so an interrupted download never leaves a partial file under the final name.
 */
export async function downloadDataset(
  source: DatasetSource,
  dir: string = cacheDir(source.name),
  opts: { timeoutMs?: number; fetchImpl?: typeof fetch } = {},
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const doFetch = opts.fetchImpl ?? fetch;
  for (const file of source.files) {
    const dest = join(dir, file.name);
    if (existsSync(dest)) continue;
    const errors: string[] = [];
    let done = false;
    for (const mirror of source.mirrors) {
      const url = mirror + file.name;
      try {
        const res = await doFetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
        const bytes = new Uint8Array(await res.arrayBuffer());
        const bad = checksumError(file, bytes);
        if (bad) throw new Error(bad);
        const tmp = `${dest}.${process.pid}.download`;
        try {
          writeFileSync(tmp, bytes);
          renameSync(tmp, dest);
        } finally {
          rmSync(tmp, { force: true });
        }
        done = true;
        break;
      } catch (e) {
        errors.push(`  ${url}: ${(e as Error).message}`);
      }
    }
    if (!done) {
      throw new Error(
        `${source.name}: could not download ${file.name}:\n${errors.join('\n')}\n` +
          `Download it by hand (${checksumText(file)}) and put it in ${dir} (or ${join(SYSTEM_DATASETS_DIR, source.name)}, or pass { root: DIR } / --data DIR).`,
      );
    }
  }
  return dir;
}

/** Atomic file writes: data goes to a temp file beside the target, then is renamed into place, so a crash or a
 * full disk never leaves a half-written file under the target's name. */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';

function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}-${Date.now()}`;
}

/** Writes `data` to `path` atomically. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempPath(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Synchronous twin of writeFileAtomic. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = tempPath(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Crash-consistent file writes: data goes to a temp file beside the target, is flushed to disk (fsync), then
 * renamed into place, and the directory is flushed so the rename itself survives a power loss (the sequence
 * ext4/XFS/APFS document for durable replacement). A crash at any point leaves either the old file or the new one
 * under the target's name, never half of one. Temp files orphaned by a killed process (`NAME.tmp-PID-TIME`, PID
 * no longer running) are removed the next time the same target is written. Errors (a full disk: ENOSPC) name the
 * target file.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const TEMP_RE = /\.tmp-(\d+)-\d+$/;

function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}-${Date.now()}`;
}

/** Whether process `pid` is running (signal 0 only checks). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The orphaned temp files of `path` in its directory: `NAME.tmp-PID-TIME` whose PID is not running. */
function staleTemps(path: string, names: string[]): string[] {
  const base = basename(path);
  return names
    .filter((n) => {
      if (!n.startsWith(`${base}.tmp-`)) return false;
      const m = TEMP_RE.exec(n);
      return m !== null && n.length === base.length + m[0].length && !alive(Number(m[1]));
    })
    .map((n) => join(dirname(path), n));
}

function describe(path: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  const hint =
    e.code === 'ENOSPC' ? ' (no space left on the device)' : e.code === 'EDQUOT' ? ' (disk quota exceeded)' : '';
  const out = new Error(`cannot write ${path}${hint}: ${e.message}`);
  (out as NodeJS.ErrnoException).code = e.code;
  return out;
}

/** Flushes a directory's entries (the rename) to disk; not supported on every platform (Windows), so best effort. */
function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // EISDIR/EPERM/EINVAL on platforms without directory fsync: the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `data` to `path` atomically and durably (see the module comment). */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  await readdir(dir)
    .then((names) => Promise.all(staleTemps(path, names).map((p) => rm(p, { force: true }))))
    .catch(() => undefined);
  const tmp = tempPath(path);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw describe(path, err);
  }
  const dh = await open(dir, 'r').catch(() => null);
  if (dh)
    await dh
      .sync()
      .catch(() => undefined)
      .finally(() => dh.close());
}

/** Synchronous twin of writeFileAtomic. */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  try {
    for (const p of staleTemps(path, readdirSync(dir))) rmSync(p, { force: true });
  } catch {
    // An unreadable directory fails below, with the target named.
  }
  const tmp = tempPath(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw describe(path, err);
  }
  fsyncDirSync(dir);
}

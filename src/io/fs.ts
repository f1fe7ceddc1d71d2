/**
 * The Node built-ins (file system, paths, zlib, hashing) that otherwise platform-neutral modules use — fit's
 * checkpoints, safetensors and image files, the dataset locator, IDX files — in one place. This is Node's; browser
 * bundles swap in fs.browser.ts, whose functions throw saying what to use instead. Keeping them behind this seam
 * is what keeps `node:` modules out of the browser entry's module graph (scripts/build-browser.mjs checks it).
 */
export { readFile, writeFile, mkdir, appendFile, access } from 'node:fs/promises';
export { readFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
export { join, extname, dirname, resolve } from 'node:path';
export { fileURLToPath } from 'node:url';
export { homedir } from 'node:os';
export { createHash } from 'node:crypto';
export { constants as zlibConstants, gunzipSync, gzipSync, inflateSync, deflateSync } from 'node:zlib';
export { writeFileAtomic, writeFileAtomicSync } from './atomic.js';

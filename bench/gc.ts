// The bench's garbage collection between warm-ups and timed runs, shared by bench/run.ts and bench/w7.ts.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full garbage collection, so that what the warm-ups left behind is freed before timing starts. Why: until V8's
 * first collection every new output buffer is fresh memory, and on the virtual machines this project runs on a first
 * touch costs ~17 µs per 4 KiB page (W1's 6.4 MB output: 1,568 faults, 27 ms — three times the convolution itself).
 * Without this the backend measured first in a process ran W1's forward at ~80 GFLOP/s and later ones at ~380: the
 * "first-measured handicap" of earlier sessions. After a collection freed buffers are reused, as in any steady loop.
 */
export const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return gc ?? (() => {});
})();

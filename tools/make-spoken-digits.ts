/**
 * Synthesises the SpokenDigits set (src/data/spoken-digits.ts) with espeak-ng into a folder (default: the dataset
 * cache, ~/.cache/tatami/datasets/spoken-digits or $TATAMI_CACHE/spoken-digits):
 *   npx tsx tools/make-spoken-digits.ts [root] [renditions=2]
 */
import { SpokenDigits } from '../src/data/spoken-digits.ts';

const [root, renditions] = process.argv.slice(2);
const t0 = Date.now();
const out = SpokenDigits.generate({
  root: root || undefined,
  renditions: renditions ? Number(renditions) : undefined,
  onProgress: (d, n) => {
    if (d % 20 === 0 || d === n)
      process.stderr.write(`voices ${d}/${n} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  },
});
const train = new SpokenDigits({ root: out, split: 'train' });
const test = new SpokenDigits({ root: out, split: 'test' });
console.log(
  `${out}: ${train.length} train and ${test.length} test clips in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
);

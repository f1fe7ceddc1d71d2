/**
 * Draws the embedded Fashion-MNIST subset in data/fashion-mnist/ from the full dataset.
 *
 *   npx tsx scripts/make-fmnist-subset.ts [SOURCE_DIR] [--train 600] [--test 100] [--seed 20170828]
 *
 * SOURCE_DIR (default /usr/share/datasets/fashion-mnist) holds the four official IDX files. For each split and each
 * of the 10 classes, the indices of that class are shuffled with tatami's seeded Generator and the first
 * `perClass` are kept; the kept indices are sorted so the subset preserves the original file order. The result is
 * written as gzipped IDX files with the official names, plus indices-*.txt listing the original index of every
 * kept image (so the draw can be checked against the full dataset).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator } from '../src/tensor/random.ts';
import { readIdx, writeIdx } from '../src/data/idx.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
const src = positional[0] ?? '/usr/share/datasets/fashion-mnist';
const seed = flag('seed', 20170828);
const perClass = { train: flag('train', 600), t10k: flag('test', 100) };
const out = fileURLToPath(new URL('../data/fashion-mnist/', import.meta.url));

for (const split of ['train', 't10k'] as const) {
  const images = readIdx(join(src, `${split}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(src, `${split}-labels-idx1-ubyte.gz`));
  const [n, h, w] = images.dims;
  const gen = new Generator(seed + (split === 'train' ? 0 : 1));
  const kept: number[] = [];
  for (let c = 0; c < 10; c++) {
    const ofClass: number[] = [];
    for (let i = 0; i < n; i++) if (labels.data[i] === c) ofClass.push(i);
    const perm = gen.permutation(ofClass.length);
    for (let k = 0; k < perClass[split]; k++) kept.push(ofClass[perm[k]]);
  }
  kept.sort((a, b) => a - b);
  const px = h * w;
  const img = new Uint8Array(kept.length * px);
  const lab = new Uint8Array(kept.length);
  kept.forEach((i, k) => {
    img.set(images.data.subarray(i * px, (i + 1) * px), k * px);
    lab[k] = labels.data[i];
  });
  writeIdx(join(out, `${split}-images-idx3-ubyte.gz`), img, [kept.length, h, w]);
  writeIdx(join(out, `${split}-labels-idx1-ubyte.gz`), lab, [kept.length]);
  writeFileSync(join(out, `indices-${split}.txt`), kept.join('\n') + '\n');
  console.log(`${split}: kept ${kept.length} of ${n} (${perClass[split]} per class, seed ${seed})`);
}

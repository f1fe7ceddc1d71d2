/** Procedural CT-like volumes, 3-D flips and crops, and moving Fashion-MNIST clips. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

const { data } = tt;

test('CTVolumes: deterministic per index, three labels, lesions dimmer than walls and not separable by intensity', () => {
  const ds = new data.CTVolumes({ length: 6, size: [24, 24, 24], seed: 3 });
  const a = ds.get(2);
  const b = new data.CTVolumes({ length: 6, size: [24, 24, 24], seed: 3 }).get(2);
  assert.deepEqual(a.image.shape, [1, 24, 24, 24]);
  assert.deepEqual(a.mask.shape, [24, 24, 24]);
  assert.equal(a.mask.dtype, 'int32');
  assert.deepEqual([...a.image.dataView()], [...b.image.dataView()]);
  assert.notDeepEqual([...ds.get(3).image.dataView()], [...a.image.dataView()]);
  // over the set: every class present; mean intensities ordered tissue < lesion < wall
  const sums = [0, 0, 0],
    counts = [0, 0, 0];
  let overlap = 0,
    lesion = 0;
  for (let i = 0; i < ds.length; i++) {
    const { image, mask } = ds.get(i);
    const x = image.dataView(),
      m = mask.dataView();
    for (let k = 0; k < m.length; k++) {
      sums[m[k]] += x[k];
      counts[m[k]]++;
      // lesion voxels whose intensity a tissue voxel could also have (within tissue's 0.3 ± 2σ·bias)
      if (m[k] === 2) {
        lesion++;
        if (x[k] < 0.3 * 1.1 + 2 * 0.06) overlap++;
      }
    }
  }
  assert.ok(
    counts.every((c) => c > 0),
    `class counts ${counts}`,
  );
  const mean = sums.map((s, c) => s / counts[c]);
  assert.ok(mean[2] > 0.35 && mean[2] < 0.55 && mean[1] > 0.7, `class means ${mean}`);
  assert.ok(overlap / lesion > 0.1, `only ${overlap}/${lesion} lesion voxels overlap tissue intensities`);
  assert.throws(() => new data.CTVolumes({ size: [4, 8, 8] }), /CTVolumes: size must be 3 integers ≥ 8/);
});

test('RandomFlip3d / RandomCrop3d keep volume and mask aligned', () => {
  const image = tt.arange(0, 60).float().reshape([1, 3, 4, 5]);
  const mask = tt
    .arange(0, 3 * 4 * 5)
    .reshape([3, 4, 5])
    .to('int32');
  const s = { image, mask };
  const flipped = new data.RandomFlip3d(1).apply(s);
  assert.deepEqual([...flipped.image.dataView()], [...image.flip([1, 2, 3]).contiguous().dataView()]);
  assert.deepEqual([...flipped.mask.dataView()], [...mask.flip([0, 1, 2]).contiguous().dataView()]);
  const c = new data.RandomCrop3d([2, 3, 3], { generator: new tt.Generator(5) }).apply(s);
  assert.deepEqual(c.image.shape, [1, 2, 3, 3]);
  assert.deepEqual(c.mask.shape, [2, 3, 3]);
  // image and mask here hold the same numbers, so an aligned crop gives the same values
  assert.deepEqual([...c.image.dataView()], [...c.mask.dataView()]);
  assert.equal(new data.RandomFlip3d<tt.Tensor>(0).apply(image).dataView()[1], 1);
  assert.throws(() => new data.RandomCrop3d(9).apply(s), /RandomCrop3d: crop \[9, ?9, ?9\] is larger than the volume/);
  assert.equal(tt.data.transformFromSpec(new data.RandomCrop3d(4).spec()).toString(), 'RandomCrop3d([4,4,4])');
});

test('MovingImages on Fashion-MNIST: bouncing clips with the pixels of the base image', () => {
  const base = new data.FashionMNIST({ subset: 'embedded', train: false });
  const ds = new data.MovingImages(base, { length: 20, frames: 8, size: 48, seed: 1 });
  const [clip, label] = ds.get(4);
  assert.deepEqual(clip.shape, [1, 8, 48, 48]);
  assert.ok(Number.isInteger(label) && (label as number) >= 0 && (label as number) < 10);
  // each frame carries the same image mass (one whole image on the canvas), and the object moves
  const frames = Array.from({ length: 8 }, (_, t) => tt.sum(tt.select(clip, 1, t)).item());
  for (const f of frames) assert.ok(Math.abs(f - frames[0]) < 1e-3 * frames[0], `frame sums ${frames}`);
  assert.notDeepEqual(
    [...tt.select(clip, 1, 0).contiguous().dataView()],
    [...tt.select(clip, 1, 7).contiguous().dataView()],
  );
  const two = new data.MovingImages(base, { length: 3, objects: 2 }).get(0);
  assert.deepEqual((two[1] as tt.Tensor).shape, [2]);
  const loader = new data.DataLoader(ds, { batchSize: 4 });
  const [x] = [...loader][0] as tt.Tensor[];
  assert.deepEqual(x.shape, [4, 1, 8, 48, 48]);
});

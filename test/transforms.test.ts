import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

const T = tt.data.transforms;
type Sample = tt.data.ImageSample;

/** A random image [C, H, W] and the mask thresholding its first channel (1 where > 0.5). */
function imageWithMask(seed: number, C = 3, H = 20, W = 24): Sample {
  const image = tt.rand([C, H, W], { generator: new tt.Generator(seed) });
  return { image, mask: threshold(image) };
}

function threshold(image: tt.Tensor): tt.Tensor {
  const [, H, W] = image.shape;
  const src = image.dataView();
  const m = new Int32Array(H * W);
  for (let p = 0; p < H * W; p++) m[p] = src[p] > 0.5 ? 1 : 0;
  return tt.tensor(m, [H, W], { dtype: 'int32' });
}

test('random geometric transforms keep image and mask aligned (mask == threshold(image) afterwards)', () => {
  const pipelines: [string, tt.data.transforms.Compose][] = [
    ['flips', new T.Compose([new T.RandomHorizontalFlip(), new T.RandomVerticalFlip()])],
    ['crop+pad', new T.Compose([new T.RandomCrop(16, { padding: 3 })])],
    ['crop reflect', new T.Compose([new T.RandomCrop([22, 30], { padIfNeeded: true, paddingMode: 'reflect' })])],
    ['resized crop', new T.Compose([new T.RandomResizedCrop([18, 14], { interpolation: 'nearest' })])],
    ['rotation', new T.Compose([new T.RandomRotation(40)])],
    [
      'affine',
      new T.Compose([new T.RandomAffine(25, { translate: [0.2, 0.1], scale: [0.7, 1.3], shear: [-10, 10, -5, 5] })]),
    ],
    ['resize', new T.Compose([new T.Resize(13, { interpolation: 'nearest' }), new T.CenterCrop(12)])],
    [
      'everything',
      new T.Compose([
        new T.RandomAffine(30, { scale: [0.8, 1.2] }),
        new T.RandomHorizontalFlip(),
        new T.RandomResizedCrop(16, { interpolation: 'nearest', scale: [0.3, 1] }),
        new T.Pad(2, { paddingMode: 'symmetric' }),
      ]),
    ],
  ];
  for (const [name, t] of pipelines) {
    tt.manualSeed(123);
    let changed = 0;
    for (let k = 0; k < 12; k++) {
      const s = imageWithMask(k);
      const out = t.apply(s);
      assert.deepEqual(out.mask!.shape, out.image.shape.slice(1), `${name}: mask shape follows the image`);
      assert.equal(out.mask!.dtype, 'int32', `${name}: mask keeps its dtype`);
      assert.deepEqual(
        out.mask!.tolist(),
        threshold(out.image).tolist(),
        `${name}: sample ${k} mask no longer matches its image`,
      );
      if (
        JSON.stringify(out.image.shape) !== JSON.stringify(s.image.shape) ||
        out.image.tolist().toString() !== s.image.tolist().toString()
      )
        changed++;
    }
    assert.ok(changed >= 6, `${name}: the transform changed only ${changed}/12 samples`);
  }
});

test('mismatched image and mask sizes give a clear error', () => {
  const bad: Sample = { image: tt.rand([3, 10, 12]), mask: tt.zeros([10, 11], { dtype: 'int32' }) };
  for (const t of [
    new T.RandomHorizontalFlip(1),
    new T.RandomCrop(8),
    new T.Resize(5),
    new T.RandomAffine(10),
    new T.CenterCrop(4),
  ]) {
    assert.throws(
      () => t.apply(bad),
      /image is 10×12 \(shape \[3, 10, 12\]\) but mask is 10×11 \(shape \[10, 11\]\); image and mask must have the same height and width/,
    );
  }
  assert.throws(
    () => new T.RandomCrop(4).apply({ image: tt.rand([1, 8, 8]), boxes: tt.zeros([2, 3]) }),
    /boxes must be a tensor of shape \[K, 4\]/,
  );
  assert.throws(
    () => new T.RandomCrop(4).apply(tt.rand([8])),
    /expected image of shape \[C, H, W\] or \[H, W\], got \[8\]/,
  );
});

test('random transforms are reproducible with an explicit generator and draw once per call', () => {
  const x = tt.rand([3, 16, 16], { generator: new tt.Generator(0) });
  const make = () => new T.RandomAffine(30, { translate: [0.1, 0.1], generator: new tt.Generator(42) });
  const a = make(),
    b = make();
  for (let k = 0; k < 3; k++) assert.deepEqual(a.apply(x).tolist(), b.apply(x).tolist());
  // Image and mask see the same parameters even for a multi-channel mask.
  const mask = tt.stack([threshold(x), threshold(x)]);
  const out = new T.RandomRotation(45, { generator: new tt.Generator(1) }).apply({ image: x, mask });
  const m = out.mask!;
  assert.deepEqual(m.shape, [2, 16, 16]);
  assert.deepEqual(tt.select(m, 0, 0).tolist(), threshold(out.image).tolist());
  assert.deepEqual(tt.select(m, 0, 1).tolist(), threshold(out.image).tolist());
  // Specs rebuild an identical transform (what DataLoader workers rely on).
  const c = new T.Compose([
    new T.RandomCrop(12, { padding: 2 }),
    new T.ColorJitter({ brightness: 0.3, contrast: 0.2, saturation: 0.4 }),
    new T.Normalize(T.IMAGENET_MEAN, T.IMAGENET_STD),
  ]);
  const spec = c.spec()!;
  const rebuilt = tt.data.transformFromSpec(JSON.parse(JSON.stringify(spec))) as tt.data.transforms.Compose;
  const r1 = tt.data.withDataSeed(9, () => c.apply(x));
  const r2 = tt.data.withDataSeed(9, () => rebuilt.apply(x));
  assert.deepEqual(r1.tolist(), r2.tolist());
  assert.equal(new T.Compose([new T.Lambda((v: tt.Tensor) => v)]).spec(), null, 'a Lambda cannot cross threads');
  assert.equal(make().spec(), null, 'a bound generator cannot cross threads');
});

test('ToTensor: uint8 [C,H,W] and HWC raw images to float [C,H,W] in [0,1]', () => {
  const u = tt.tensor(Uint8Array.from([0, 51, 255, 102]), [1, 2, 2], { dtype: 'uint8' });
  assertClose(
    new T.ToTensor().apply(u),
    tt.tensor([
      [
        [0, 0.2],
        [1, 0.4],
      ],
    ]),
  );
  const raw = { width: 2, height: 1, data: Uint8Array.from([255, 0, 0, 0, 0, 255]) };
  const t = new T.ToTensor().apply(raw);
  assert.deepEqual(t.shape, [3, 1, 2]);
  assert.deepEqual(t.tolist(), [1, 0, 0, 0, 0, 1]);
  assert.deepEqual(new T.ToTensor().apply(tt.zeros([4, 5], { dtype: 'uint8' })).shape, [1, 4, 5]);
  const f = tt.rand([1, 2, 2]);
  assert.equal(new T.ToTensor().apply(f), f, 'floats pass through');
  assert.throws(
    () => new T.ToTensor().apply({ width: 2, height: 2, data: new Uint8Array(5) }),
    /5 bytes, which is not 2×2×channels/,
  );
});

test('Normalize and MinMaxScale statistics', () => {
  const g = new tt.Generator(3);
  const x = tt.add(
    tt.mul(tt.randn([3, 32, 32], { generator: g }), tt.tensor([2, 0.5, 1]).reshape(3, 1, 1)),
    tt.tensor([1, -1, 4]).reshape(3, 1, 1),
  );
  const mean = x.mean([1, 2]).tolist(),
    std = x.std([1, 2], { unbiased: false }).tolist();
  const y = new T.Normalize(mean, std).apply(x);
  assertClose(y.mean([1, 2]), [0, 0, 0], { atol: 1e-5 });
  assertClose(y.std([1, 2], { unbiased: false }), [1, 1, 1], { atol: 1e-4 });
  assert.deepEqual(T.IMAGENET_MEAN, [0.485, 0.456, 0.406]);
  assert.deepEqual(T.IMAGENET_STD, [0.229, 0.224, 0.225]);
  assert.throws(
    () => new T.Normalize([0.5, 0.5], [0.1, 0.1]).apply(x),
    /Normalize: mean has 2 values but the image \[3, 32, 32\] has 3 channels/,
  );
  assert.throws(() => new T.Normalize(0, 0), /std evaluated to zero/);
  assert.throws(
    () => new T.Normalize(0, 1).apply(tt.zeros([1, 2, 2], { dtype: 'uint8' })),
    /expected a float image \(apply ToTensor first\)/,
  );
  const s = new T.MinMaxScale().apply(x);
  assert.ok(Math.abs(s.min().item()) < 1e-6 && Math.abs(s.max().item() - 1) < 1e-6);
  const s2 = new T.MinMaxScale(-1, 1).apply(x);
  assert.ok(Math.abs(s2.min().item() + 1) < 1e-6 && Math.abs(s2.max().item() - 1) < 1e-6);
});

test('Resize matches PyTorch interpolate (bilinear, alignCorners=false; nearest-exact) and the shorter-side rule', () => {
  const x = tt.div(tt.pow(tt.arange(0, 24).to('float32'), 1.5), 10).reshape(1, 4, 6);
  // Golden values from torch.nn.functional.interpolate (PyTorch 1.13).
  assertClose(
    new T.Resize([3, 4]).apply(x).reshape(-1),
    [0.28171, 0.55762, 0.96069, 1.45324, 2.92739, 3.6303, 4.38634, 5.19187, 7.21328, 8.16566, 9.15726, 10.18661],
    { atol: 1e-4 },
  );
  const up = new T.Resize([7, 9]).apply(x);
  assertClose(
    up.reshape(-1).narrow(0, 0, 12),
    [0.0, 0.05, 0.13047, 0.25237, 0.40123, 0.56635, 0.75327, 0.95902, 1.11803, 0.52489, 0.62531, 0.76976],
    { atol: 1e-4 },
  );
  assertClose(
    up.reshape(-1).narrow(0, 54, 9),
    [7.63675, 7.95933, 8.3923, 8.83388, 9.28384, 9.73933, 10.203, 10.67466, 11.03041],
    { atol: 1e-4 },
  );
  assertClose(
    new T.Resize([3, 4], { interpolation: 'nearest' }).apply(x).reshape(-1),
    [0.0, 0.28284, 0.51962, 1.11803, 4.15692, 5.23832, 5.80947, 7.00928, 7.63675, 8.94427, 9.62341, 11.03041],
    { atol: 1e-4 },
  );
  assert.deepEqual(new T.Resize(10).apply(tt.rand([3, 20, 40])).shape, [3, 10, 20]);
  assert.deepEqual(new T.Resize(10).apply(tt.rand([3, 45, 30])).shape, [3, 15, 10]);
  assert.deepEqual(new T.Resize(10, { maxSize: 16 }).apply(tt.rand([3, 20, 40])).shape, [3, 8, 16]);
  // A constant image stays constant; uint8 stays uint8.
  const c = new T.Resize([5, 7]).apply(tt.full([2, 9, 4], 0.25));
  assertClose(c, tt.full([2, 5, 7], 0.25));
  assert.equal(new T.Resize(4).apply(tt.full([1, 8, 8], 200, { dtype: 'uint8' })).dtype, 'uint8');
  // Boxes scale with the image.
  const r = new T.Resize([10, 30]).apply({ image: tt.rand([3, 20, 20]), boxes: tt.tensor([[2, 4, 10, 20]]) });
  assert.deepEqual(r.boxes!.toArray(), [[3, 2, 15, 10]]);
  assert.throws(() => new T.Resize([0, 3]), /size must be a positive integer or an \[h, w\] pair/);
});

test('CenterCrop (torchvision rounding, zero padding when larger), Pad modes', () => {
  const x = tt.arange(0, 35).to('float32').reshape(1, 5, 7);
  assert.deepEqual(new T.CenterCrop([2, 4]).apply(x).toArray(), [
    [
      [16, 17, 18, 19],
      [23, 24, 25, 26],
    ],
  ]);
  assert.deepEqual(new T.CenterCrop([4, 6]).apply(x).toArray(), [
    [
      [0, 1, 2, 3, 4, 5],
      [7, 8, 9, 10, 11, 12],
      [14, 15, 16, 17, 18, 19],
      [21, 22, 23, 24, 25, 26],
    ],
  ]);
  const big = new T.CenterCrop(7).apply(x);
  assert.deepEqual(big.shape, [1, 7, 7]);
  assert.deepEqual(tt.select(big, 1, 0).toArray(), [[0, 0, 0, 0, 0, 0, 0]]);
  const row = tt.tensor([[[1, 2, 3]]]);
  assert.deepEqual(new T.Pad([2, 0]).apply(row).toArray(), [[[0, 0, 1, 2, 3, 0, 0]]]);
  assert.deepEqual(new T.Pad([2, 0], { paddingMode: 'edge' }).apply(row).toArray(), [[[1, 1, 1, 2, 3, 3, 3]]]);
  assert.deepEqual(new T.Pad([2, 0], { paddingMode: 'reflect' }).apply(row).toArray(), [[[3, 2, 1, 2, 3, 2, 1]]]);
  assert.deepEqual(new T.Pad([2, 0], { paddingMode: 'symmetric' }).apply(row).toArray(), [[[2, 1, 1, 2, 3, 3, 2]]]);
  assert.deepEqual(new T.Pad([1, 0, 0, 0], { fill: 9 }).apply(row).toArray(), [[[9, 1, 2, 3]]]);
});

test('RandomCrop: windows of the padded image, padIfNeeded, errors', () => {
  const x = tt.arange(0, 64).to('float32').reshape(1, 8, 8);
  const g = new tt.Generator(5);
  const seen = new Set<string>();
  for (let k = 0; k < 60; k++) {
    const out = new T.RandomCrop(6, { padding: 1, generator: g }).apply(x);
    assert.deepEqual(out.shape, [1, 6, 6]);
    // Locate the window: the crop of the padded image at some (i, j).
    const v = out.toArray();
    let found = false;
    for (let i = -1; i <= 3 && !found; i++) {
      for (let j = -1; j <= 3 && !found; j++) {
        const ref = new T.Pad(1)
          .apply(x)
          .narrow(1, i + 1, 6)
          .narrow(2, j + 1, 6)
          .contiguous()
          .toArray();
        if (JSON.stringify(ref) === JSON.stringify(v)) {
          found = true;
          seen.add(`${i},${j}`);
        }
      }
    }
    assert.ok(found, 'output is a window of the padded image');
  }
  assert.ok(seen.size > 12, `crop positions vary (${seen.size} of 25 seen)`);
  assert.throws(
    () => new T.RandomCrop(10).apply(x),
    /required crop size 10×10 is larger than the input image size 8×8 \(use padIfNeeded: true\)/,
  );
  assert.deepEqual(new T.RandomCrop([10, 12], { padIfNeeded: true }).apply(x).shape, [1, 10, 12]);
  // Boxes move with the crop and are clipped.
  const s = new T.RandomCrop(4, { generator: new tt.Generator(0) }).apply({
    image: x,
    boxes: tt.tensor([[0, 0, 8, 8]]),
  });
  assert.deepEqual(s.boxes!.toArray(), [[0, 0, 4, 4]]);
});

test('RandomResizedCrop: crops respect the scale and ratio ranges', () => {
  const t = new T.RandomResizedCrop(16, { scale: [0.2, 0.6], ratio: [0.5, 2], generator: new tt.Generator(1) });
  let areas = 0;
  for (let k = 0; k < 200; k++) {
    const [top, left, h, w] = t.getParams(40, 50);
    assert.ok(top >= 0 && left >= 0 && top + h <= 40 && left + w <= 50);
    const frac = (h * w) / 2000;
    assert.ok(frac > 0.17 && frac < 0.64, `area fraction ${frac}`);
    assert.ok(w / h > 0.45 && w / h < 2.2, `ratio ${w / h}`);
    areas += frac;
  }
  assert.ok(Math.abs(areas / 200 - 0.4) < 0.05, `mean area fraction ${areas / 200} ≈ 0.4`);
  assert.deepEqual(t.apply(tt.rand([3, 40, 50])).shape, [3, 16, 16]);
  // Impossible ranges fall back to a centre crop.
  const fb = new T.RandomResizedCrop(8, { scale: [2, 3], ratio: [1, 1], generator: new tt.Generator(0) });
  assert.deepEqual(fb.getParams(10, 20), [0, 5, 10, 10]);
});

test('flips: exact with p=1, identity with p=0, about half with p=0.5; boxes mirrored', () => {
  const x = tt.arange(0, 6).to('float32').reshape(1, 2, 3);
  assert.deepEqual(new T.RandomHorizontalFlip(1).apply(x).toArray(), [
    [
      [2, 1, 0],
      [5, 4, 3],
    ],
  ]);
  assert.deepEqual(new T.RandomVerticalFlip(1).apply(x).toArray(), [
    [
      [3, 4, 5],
      [0, 1, 2],
    ],
  ]);
  assert.deepEqual(new T.RandomHorizontalFlip(0).apply(x).toArray(), x.toArray());
  const g = new tt.Generator(2);
  const hf = new T.RandomHorizontalFlip(0.5, { generator: g });
  let flipped = 0;
  for (let k = 0; k < 400; k++) if (hf.apply(x).toArray().toString() !== x.toArray().toString()) flipped++;
  assert.ok(flipped > 160 && flipped < 240, `${flipped}/400 flipped`);
  const s = new T.RandomHorizontalFlip(1).apply({ image: tt.rand([1, 4, 10]), boxes: tt.tensor([[1, 0, 3, 2]]) });
  assert.deepEqual(s.boxes!.toArray(), [[7, 0, 9, 2]]);
  assert.throws(() => new T.RandomHorizontalFlip(2), /p must be in \[0, 1\], got 2/);
});

test('RandomRotation by exactly 90° is rot90 (counter-clockwise); RandomAffine translation is an integer shift', () => {
  const x = tt.arange(0, 16).to('float32').reshape(1, 4, 4);
  const r = new T.RandomRotation([90, 90]).apply(x).toArray() as unknown as number[][][];
  const a = x.toArray() as unknown as number[][][];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) assert.equal(r[0][i][j], a[0][j][3 - i], `(${i},${j})`);
  // Rotating a box by 90° about the centre.
  const s = new T.RandomRotation([90, 90]).apply({ image: tt.rand([1, 10, 10]), boxes: tt.tensor([[0, 0, 4, 2]]) });
  assertClose(s.boxes!, tt.tensor([[0, 6, 2, 10]]), { atol: 1e-5 });
  const img = tt.rand([1, 12, 12], { generator: new tt.Generator(4) });
  const g = new tt.Generator(8);
  const shifts = new Set<string>();
  for (let k = 0; k < 20; k++) {
    const out = new T.RandomAffine(0, { translate: [0.25, 0.25], generator: g })
      .apply(img)
      .toArray() as unknown as number[][][];
    let match: string | null = null;
    for (let ty = -3; ty <= 3 && match === null; ty++) {
      for (let tx = -3; tx <= 3 && match === null; tx++) {
        let ok = true;
        for (let i = 0; i < 12 && ok; i++) {
          for (let j = 0; j < 12 && ok; j++) {
            const si = i - ty,
              sj = j - tx;
            const expect =
              si >= 0 && si < 12 && sj >= 0 && sj < 12 ? (img.toArray() as unknown as number[][][])[0][si][sj] : 0;
            ok = Math.abs(out[0][i][j] - expect) < 1e-6;
          }
        }
        if (ok) match = `${tx},${ty}`;
      }
    }
    assert.ok(match !== null, 'translation is an exact integer shift with zero fill');
    shifts.add(match);
  }
  assert.ok(shifts.size > 5, `${shifts.size} different shifts`);
  assert.throws(() => new T.RandomAffine(10, { translate: [1.5, 0] }), /translate must be two fractions in \[0, 1\]/);
  assert.throws(
    () => new T.RandomAffine(10, { scale: [0, 1] }),
    /scale must be a \[min, max\] pair of positive numbers/,
  );
});

test('ColorJitter: brightness, contrast and saturation factors; uint8 clamped', () => {
  const x = tt.rand([3, 8, 8], { generator: new tt.Generator(0) }).mul(0.5);
  const b = new T.ColorJitter({ brightness: [2, 2] }).apply(x);
  assertClose(b, tt.clamp(x.mul(2), 0, 1));
  const c0 = new T.ColorJitter({ contrast: [0, 0] }).apply(x);
  const gray = tt
    .add(tt.add(tt.select(x, 0, 0).mul(0.299), tt.select(x, 0, 1).mul(0.587)), tt.select(x, 0, 2).mul(0.114))
    .mean()
    .item();
  assertClose(c0, tt.full([3, 8, 8], gray), { atol: 1e-5 });
  const s0 = new T.ColorJitter({ saturation: [0, 0] }).apply(x);
  assertClose(tt.select(s0, 0, 0), tt.select(s0, 0, 1), { atol: 1e-6 });
  assertClose(tt.select(s0, 0, 1), tt.select(s0, 0, 2), { atol: 1e-6 });
  const u = new T.ColorJitter({ brightness: [3, 3] }).apply(tt.full([3, 2, 2], 100, { dtype: 'uint8' }));
  assert.equal(u.dtype, 'uint8');
  assert.deepEqual(new Set(u.tolist()), new Set([255]));
  // Random factors stay in range: mean brightness changes by at most ±30%.
  const j = new T.ColorJitter({ brightness: 0.3, generator: new tt.Generator(1) });
  const base = x.mean().item();
  const ratios = Array.from({ length: 50 }, () => j.apply(x).mean().item() / base);
  assert.ok(ratios.every((r) => r >= 0.7 - 1e-6 && r <= 1.3 + 1e-6) && Math.max(...ratios) - Math.min(...ratios) > 0.3);
  assert.throws(() => new T.ColorJitter({ brightness: -1 }), /brightness/);
});

test('RandomErasing: erases one rectangle within the scale range; p=0 leaves the image; masks untouched', () => {
  const x = tt.ones([3, 20, 20]);
  const t = new T.RandomErasing({ p: 1, scale: [0.1, 0.2], ratio: [0.5, 2], generator: new tt.Generator(3) });
  for (let k = 0; k < 20; k++) {
    const out = t.apply(x);
    const zeros = 3 * 400 - out.sum().item();
    const frac = zeros / 1200;
    assert.ok(frac > 0.07 && frac < 0.24, `erased fraction ${frac}`);
    // The erased set is the same rectangle in every channel.
    assert.deepEqual(tt.select(out, 0, 0).tolist(), tt.select(out, 0, 2).tolist());
  }
  assert.deepEqual(new T.RandomErasing({ p: 0 }).apply(x).tolist(), x.tolist());
  const perChannel = new T.RandomErasing({ p: 1, value: [2, 3, 4], generator: new tt.Generator(0) }).apply(x);
  assert.ok(
    perChannel
      .amax([1, 2])
      .tolist()
      .every((v, c) => v === [2, 3, 4][c]),
  );
  const mask = tt.ones([20, 20], { dtype: 'int32' });
  const s = new T.RandomErasing({ p: 1, value: 'random', generator: new tt.Generator(0) }).apply({ image: x, mask });
  assert.equal(s.mask, mask);
  assert.ok(s.image.std().item() > 0.05);
});

test('Compose, Lambda and RandomApply', () => {
  const c = new T.Compose([new T.Lambda((v: tt.Tensor) => v.add(1)), new T.Lambda((v: tt.Tensor) => v.mul(2))]);
  assert.deepEqual(c.apply(tt.tensor([1, 2])).tolist(), [4, 6]);
  assert.match(new T.Compose([new T.Resize(8), new T.ToTensor()]).toString(), /Compose\(\[\n {2}Resize\(8/);
  const g = new tt.Generator(0);
  const ra = new T.RandomApply([new T.Lambda((v: tt.Tensor) => v.add(1))], 0.3, g);
  let applied = 0;
  for (let k = 0; k < 300; k++) if (ra.apply(tt.zeros([1])).item() === 1) applied++;
  assert.ok(applied > 60 && applied < 120, `${applied}/300 applied`);
});

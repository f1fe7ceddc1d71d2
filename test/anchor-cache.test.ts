/**
 * The anchor generators' geometry cache: AnchorGenerator (R-CNN, RetinaNet) and DefaultBoxGenerator (SSD) return
 * the very same anchors tensor for a geometry seen before, the same values as a generator that never cached, a
 * fresh build for a new geometry (image size or feature sizes), and keep at most eight geometries (the oldest is
 * rebuilt after that, with the same values).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';

const { AnchorGenerator, DefaultBoxGenerator, ImageList } = tt.models.detection;

type Gen = { forward(il: InstanceType<typeof ImageList>, fm: readonly tt.Tensor[]): tt.Tensor[] };

/** An image batch of [h, w] and feature maps of the given sizes (only their shapes matter). */
function geometry(h: number, w: number, sizes: readonly (readonly [number, number])[]) {
  return {
    il: new ImageList(tt.zeros([2, 3, h, w]), [
      [h, w],
      [h - 1, w - 2],
    ]),
    fm: sizes.map(([fh, fw]) => tt.zeros([2, 1, fh, fw])),
  };
}

function checkCache(make: () => Gen, levels: number): void {
  const gen = make();
  const sizes = (s: number) => Array.from({ length: levels }, (_, l) => [s >> l, s >> l] as [number, number]);
  const a = geometry(64, 64, sizes(16));
  const first = gen.forward(a.il, a.fm);
  assert.equal(first.length, 2);
  assert.equal(first[0], first[1], 'one anchors tensor for every image of the batch');
  const again = gen.forward(a.il, a.fm);
  assert.equal(again[0], first[0], 'the same geometry reuses the cached tensor');
  assert.deepEqual(Array.from(first[0].dataView()), Array.from(make().forward(a.il, a.fm)[0].dataView()));
  // another image size with the same feature sizes, and other feature sizes: new anchors, equal to a fresh build
  for (const g of [geometry(80, 64, sizes(16)), geometry(64, 64, sizes(8))]) {
    const t = gen.forward(g.il, g.fm)[0];
    assert.notEqual(t, first[0]);
    assert.deepEqual(Array.from(t.dataView()), Array.from(make().forward(g.il, g.fm)[0].dataView()));
  }
  // eight more geometries push the first one out; it comes back rebuilt, with the same values
  for (let s = 0; s < 8; s++) {
    const g = geometry(64 + 8 * (s + 3), 64, sizes(16));
    gen.forward(g.il, g.fm);
  }
  const rebuilt = gen.forward(a.il, a.fm)[0];
  assert.notEqual(rebuilt, first[0]);
  assert.deepEqual(Array.from(rebuilt.dataView()), Array.from(first[0].dataView()));
}

test('AnchorGenerator caches anchors by geometry, bounded, same values', () => {
  checkCache(
    () =>
      new AnchorGenerator(
        [[32], [64, 128]],
        [
          [0.5, 1, 2],
          [1, 2],
        ],
      ),
    2,
  );
});

test('DefaultBoxGenerator caches default boxes by geometry, bounded, same values', () => {
  checkCache(() => new DefaultBoxGenerator([[2], [2, 3], [2]], { minRatio: 0.2, maxRatio: 0.9 }), 3);
});

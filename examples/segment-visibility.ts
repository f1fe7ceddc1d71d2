// How much of the procedural scenes' object area is hidden by occlusion or the image border — a bound on how
// much label ambiguity occlusion can add (a sliver of an occluded shape cannot tell its class).
//   node --import tsx examples/segment-visibility.ts [scenes=2000] [size=40] [rmin,rmax=0.14,0.3] [omin,omax=3,5]
// Replays the draws of `SegmentationScenes.generate` (src/data/segmentation-scenes.ts) to get each object's full
// shape, and checks that the replay rebuilds every mask exactly (it stops otherwise, e.g. after a generator change).
import { insideShape } from '../src/data/shapes.ts';
import * as tt from '../src/index.ts';
import { Generator } from '../src/tensor/random.ts';

const n = Number(process.argv[2] ?? 2000),
  S = Number(process.argv[3] ?? 40);
const R = (process.argv[4] ?? '0.14,0.3').split(',').map(Number) as [number, number];
const O = (process.argv[5] ?? '3,5').split(',').map(Number) as [number, number];
// The held-out scenes of examples/segment-scenes.ts (seed 2).
const scenes = new tt.data.SegmentationScenes({ n, seed: 2, size: S, radius: R, objects: O });
const K = scenes.classes.length;

/** The generator's per-scene seed (same as in segmentation-scenes.ts). */
function mix(seed: number, i: number): number {
  let z = (Math.imul((seed ^ 0x5bd1e995) >>> 0, 0x9e3779b1) ^ Math.imul(i + 0x3c6ef372, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x2c1b3c6d) >>> 0;
  z = Math.imul(z ^ (z >>> 12), 0x297a2d39) >>> 0;
  return (z ^ (z >>> 15)) >>> 0;
}

const byDecile = new Float64Array(11);
const hidden = new Float64Array(K + 1),
  perClass = new Float64Array(K + 1);
let objectPixels = 0;
for (let i = 0; i < n; i++) {
  const g = new Generator(mix(2, i));
  const skip = (k: number) => {
    for (let j = 0; j < k; j++) g.random();
  };
  // Background: two colours, the noise grid, the grating; then the distractor blobs.
  skip(6);
  const grid = 3 + Math.floor(g.random() * 4);
  skip((grid + 1) * (grid + 1) + 3);
  const blobs = Math.floor(g.random() * 3);
  skip(7 * blobs);
  const owner = new Int32Array(S * S).fill(-1);
  const count = O[0] + Math.floor(g.random() * (O[1] - O[0] + 1));
  const full: number[] = [],
    label: number[] = [];
  for (let k = 0; k < count; k++) {
    const cls = Math.floor(g.random() * K);
    const r = S * (R[0] + (R[1] - R[0]) * g.random());
    const cx = S * g.random(),
      cy = S * g.random();
    const th = 2 * Math.PI * g.random(),
      cos = Math.cos(th),
      sin = Math.sin(th);
    skip(9); // two texture colours, checks/stripes, period, texture angle
    let area = 0;
    const ext = r * 1.2 + 1;
    for (let y = Math.floor(cy - ext); y <= Math.ceil(cy + ext); y++)
      for (let x = Math.floor(cx - ext); x <= Math.ceil(cx + ext); x++) {
        const dx = (x + 0.5 - cx) / r,
          dy = (y + 0.5 - cy) / r;
        if (!insideShape(scenes.classes[cls], cos * dx + sin * dy, -sin * dx + cos * dy)) continue;
        area++; // the whole shape, also outside the image
        if (x >= 0 && y >= 0 && x < S && y < S) owner[y * S + x] = k; // painter's order: later objects win
      }
    full.push(area);
    label.push(cls + 1);
  }
  const mask = scenes.generate(i).mask.dataView();
  for (let p = 0; p < S * S; p++) {
    if ((owner[p] >= 0 ? label[owner[p]] : 0) !== mask[p])
      throw new Error(`segment-visibility: the replay of scene ${i} differs from the generator at pixel ${p}`);
  }
  const visible = new Float64Array(count);
  for (const o of owner) if (o >= 0) visible[o]++;
  for (let k = 0; k < count; k++) {
    const f = visible[k] / full[k];
    byDecile[Math.min(10, Math.floor(f * 10))] += visible[k];
    objectPixels += visible[k];
    perClass[label[k]] += visible[k];
    if (f < 0.4) hidden[label[k]] += visible[k];
  }
}
console.log(`${n} held-out scenes, ${S} px, radius ${R}, ${O[0]}–${O[1]} objects: replay matches every mask`);
console.log(
  'share of object pixels by the visible fraction of their object (0–10 %, …, 90–100 %, 100 %): ' +
    Array.from(byDecile, (v) => (v / objectPixels).toFixed(3)).join(' '),
);
console.log(
  'share of each class’s pixels in objects less than 40 % visible: ' +
    scenes.classes.map((c, k) => `${c} ${(hidden[k + 1] / perClass[k + 1]).toFixed(3)}`).join(', '),
);

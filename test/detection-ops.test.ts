/** tt.ops (torchvision.ops) and the torchvision.models.detection helpers against torchvision 0.14 goldens. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { assertClose, checkCase, decode, inputsOf, loadFixtures, rand64, type FixtureCase } from './helpers.ts';

const { ops } = tt;
const fx = loadFixtures('detection');
const get = (name: string): FixtureCase => {
  const c = fx.get(name);
  assert.ok(c, `fixture ${name} missing (regenerate: /usr/bin/python3 tools/fixtures/generate.py detection)`);
  // JSON has no NaN: the generator writes non-finite values as "NaN"/"Infinity" strings.
  for (const e of [c.output, ...c.extra]) e.data = e.data.map(Number);
  return c;
};
// Box arithmetic is a handful of float32 ops per value: 1e-5 relative. RoI ops sum ≤ 64 float32 products.
const TOL = { atol: 1e-5, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4 };
const golden = (name: string, fn: Parameters<typeof checkCase>[1], tol = TOL) =>
  test(`golden: ${name}`, () => checkCase(get(name), fn, tol));
const ints = (t: tt.Tensor) => Array.from(t.dataView());

for (const [fi, fo] of [
  ['xyxy', 'xywh'],
  ['xyxy', 'cxcywh'],
  ['xywh', 'xyxy'],
  ['xywh', 'cxcywh'],
  ['cxcywh', 'xyxy'],
  ['cxcywh', 'xywh'],
] as const) {
  golden(`convert_${fi}_${fo}`, ({ boxes }) => ops.boxConvert(boxes, fi, fo));
}
golden('box_area', ({ boxes }) => ops.boxArea(boxes));
for (const [name, fn] of [
  ['box_iou', ops.boxIou],
  ['generalized_box_iou', ops.generalizedBoxIou],
  ['distance_box_iou', ops.distanceBoxIou],
  ['complete_box_iou', ops.completeBoxIou],
] as const) {
  golden(name, ({ boxes1, boxes2 }) => fn(boxes1, boxes2));
  golden(`${name}_nasty`, ({ boxes1, boxes2 }) => fn(boxes1, boxes2));
  golden(`${name}_empty`, ({ boxes1, boxes2 }) => fn(boxes1, boxes2));
}
for (const [name, fn] of [
  ['giou_loss', ops.generalizedBoxIouLoss],
  ['diou_loss', ops.distanceBoxIouLoss],
  ['ciou_loss', ops.completeBoxIouLoss],
] as const) {
  for (const red of ['none', 'mean', 'sum'] as const)
    golden(`${name}_${red}`, ({ boxes1, boxes2 }) => fn(boxes1, boxes2, { reduction: red }));
}
for (const [alpha, gamma, red] of [
  [0.25, 2.0, 'none'],
  [-1.0, 2.0, 'mean'],
  [0.5, 0.0, 'sum'],
  [0.25, 1.5, 'mean'],
] as const) {
  const n = (v: number) => (Number.isInteger(v) ? v.toFixed(1) : String(v));
  golden(`focal_a${n(alpha)}_g${n(gamma)}_${red}`, ({ inputs, targets }) =>
    ops.sigmoidFocalLoss(inputs, targets, { alpha, gamma, reduction: red }),
  );
}

test('golden: nms on clusters, ties, nasty boxes and empty input; batchedNms', () => {
  for (const name of [
    'nms_0.3',
    'nms_0.5',
    'nms_0.7',
    'nms_ties',
    'nms_nasty_0.0',
    'nms_nasty_0.5',
    'nms_nasty_1.0',
    'nms_empty',
  ]) {
    const c = get(name);
    const { boxes, scores } = inputsOf(c);
    const keep = ops.nms(boxes, scores, c.params.iou as number);
    assert.equal(keep.dtype, 'int32');
    assert.deepEqual(ints(keep), c.output.data, name);
  }
  for (const name of ['batched_nms_0.4', 'batched_nms_0.6', 'batched_nms_empty']) {
    const c = get(name);
    const { boxes, scores, idxs } = inputsOf(c);
    assert.deepEqual(ints(ops.batchedNms(boxes, scores, idxs, c.params.iou as number)), c.output.data, name);
  }
});

test('golden: roiAlign (aligned, sampling ratio, spatial scale, rois outside / inverted / empty) forward and backward', () => {
  for (const c of fx.values()) {
    if (!c.name.startsWith('roi_align_a')) continue;
    const p = c.params as {
      outputSize: number | [number, number];
      spatialScale: number;
      samplingRatio: number;
      aligned: boolean;
    };
    checkCase(c, ({ input, rois }) => ops.roiAlign(input, rois, p.outputSize, p), TOL);
  }
  const l = get('roi_align_list');
  const { input, boxes0, boxes1 } = inputsOf(l);
  assertClose(ops.roiAlign(input, [boxes0, boxes1], 2, { samplingRatio: 2 }), l.output, { what: 'list of boxes' });
  const e = ops.roiAlign(input, tt.zeros([0, 5]), 2);
  assert.deepEqual(e.shape, get('roi_align_empty').output.shape);
});

test('golden: roiPool forward and backward', () => {
  for (const name of ['roi_pool_sc1.0', 'roi_pool_sc0.5', 'roi_pool_sc1.3']) {
    const c = get(name);
    const p = c.params as { outputSize: number | [number, number]; spatialScale: number };
    checkCase(c, ({ input, rois }) => ops.roiPool(input, rois, p.outputSize, p), TOL);
  }
});

test('golden: MultiScaleRoIAlign over FPN levels (level mapping, scales, box order, gradients)', () => {
  const sizes: [number, number][] = [
    [64, 80],
    [50, 70],
  ];
  const pool = new ops.MultiScaleRoIAlign(['0', '1', '2'], 3, 2);
  checkCase(
    get('multiscale_roi_align'),
    ({ f0, f1, f2, p6, boxes0, boxes1 }) => pool.forward({ 0: f0, 1: f1, 2: f2, p6 }, [boxes0, boxes1], sizes),
    TOL,
  );
  assert.deepEqual(pool.scales, [0.25, 0.125, 0.0625]);
  const one = new ops.MultiScaleRoIAlign(['1'], [2, 3], -1, { canonicalScale: 112, canonicalLevel: 3 });
  checkCase(
    get('multiscale_roi_align_one_level'),
    ({ f1, boxes0, boxes1 }) => one.forward({ 1: f1 }, [boxes0, boxes1], sizes),
    TOL,
  );
});

test('MultiScaleRoIAlign without autograd (the inference path) gives the golden output, bit-equal to the graph path', () => {
  const sizes: [number, number][] = [
    [64, 80],
    [50, 70],
  ];
  const c = get('multiscale_roi_align');
  const { f0, f1, f2, p6, boxes0, boxes1 } = inputsOf(c);
  const pool = new ops.MultiScaleRoIAlign(['0', '1', '2'], 3, 2);
  const feats = { 0: f0, 1: f1, 2: f2, p6 };
  const graph = pool.forward(feats, [boxes0, boxes1], sizes);
  const plain = tt.noGrad(() => pool.forward(feats, [boxes0, boxes1], sizes));
  assert.equal(plain.requiresGrad, false);
  assertClose(plain, c.output, { atol: TOL.atol, rtol: TOL.rtol, what: 'inference path' });
  assert.deepEqual(Array.from(plain.dataView()), Array.from(graph.dataView()));
  // every box on one level (the others empty), and no boxes at all
  const big = tt.tensor([
    [0, 0, 60, 60],
    [2, 3, 50, 45],
  ]);
  const one = tt.noGrad(() => pool.forward(feats, [big, tt.zeros([0, 4])], sizes));
  assert.deepEqual(
    Array.from(one.dataView()),
    Array.from(pool.forward(feats, [big, tt.zeros([0, 4])], sizes).dataView()),
  );
  assert.deepEqual(tt.noGrad(() => pool.forward(feats, [tt.zeros([0, 4]), tt.zeros([0, 4])], sizes)).shape, [
    0,
    f0.shape[1],
    3,
    3,
  ]);
});

test('MultiScaleRoIAlign.forwardGrouped: rows grouped by level, bit-equal to forward once put back in box order', () => {
  const sizes: [number, number][] = [
    [64, 80],
    [50, 70],
  ];
  const { f0, f1, f2, p6, boxes0, boxes1 } = inputsOf(get('multiscale_roi_align'));
  const pool = new ops.MultiScaleRoIAlign(['0', '1', '2'], 3, 2);
  const feats = { 0: f0, 1: f1, 2: f2, p6 };
  const want = tt.noGrad(() => pool.forward(feats, [boxes0, boxes1], sizes));
  const grouped = tt.noGrad(() => pool.forwardGrouped(feats, [boxes0, boxes1], sizes))!;
  const k = boxes0.shape[0] + boxes1.shape[0];
  assert.deepEqual(
    Array.from(grouped.order).sort((a, b) => a - b),
    Array.from({ length: k }, (_, i) => i),
  );
  assert.deepEqual(grouped.pooled.shape, want.shape);
  const back = tt.indexSelect(want, 0, tt.tensor(grouped.order, [k], { dtype: 'int32' }));
  assert.deepEqual(Array.from(grouped.pooled.dataView()), Array.from(back.dataView()), 'row r is box order[r]');
  // levels ascending, box order within a level
  const levels = (pool as unknown as { mapLevels(b: tt.Tensor[]): Int32Array }).mapLevels([boxes0, boxes1]);
  for (let r = 1; r < k; r++) {
    const [a, b] = [grouped.order[r - 1], grouped.order[r]];
    assert.ok(levels[a] < levels[b] || (levels[a] === levels[b] && a < b), `rows ${r - 1}, ${r}`);
  }
  assert.equal(pool.forwardGrouped(feats, [boxes0, boxes1], sizes), null, 'grad mode on: no grouped path');
});

test('roiAlign out=: writes into the given rows; refuses a wrong shape, a view with gaps, or a gradient', () => {
  const x = tt.randn([1, 8, 12, 12], { generator: new tt.Generator(3) });
  const rois = tt.tensor([
    [0, 1, 1, 9, 7],
    [0, 2, 0, 11, 11],
  ]);
  const want = ops.roiAlign(x, rois, 2, { samplingRatio: 2 });
  const buf = tt.zeros([4, 8, 2, 2]);
  const got = tt.noGrad(() => ops.roiAlign(x, rois, 2, { samplingRatio: 2, out: buf.narrow(0, 1, 2) }));
  assert.deepEqual(Array.from(got.dataView()), Array.from(want.dataView()));
  assert.deepEqual(Array.from(buf.narrow(0, 1, 2).dataView()), Array.from(want.dataView()), 'written in place');
  assert.ok(
    buf
      .narrow(0, 0, 1)
      .dataView()
      .every((v) => v === 0) &&
      buf
        .narrow(0, 3, 1)
        .dataView()
        .every((v) => v === 0),
  );
  assert.throws(
    () => ops.roiAlign(x, rois, 2, { out: tt.zeros([2, 8, 3, 3]) }),
    /roiAlign: out must be a contiguous float32 tensor of shape \[2, 8, 2, 2\]/,
  );
  assert.throws(() => ops.roiAlign(x, rois, 2, { out: tt.zeros([2, 2, 2, 8]).permute(0, 3, 1, 2) }), /non-contiguous/);
  const xg = x.detach().requiresGrad_(true);
  assert.throws(
    () => ops.roiAlign(xg, rois, 2, { out: tt.zeros([2, 8, 2, 2]) }),
    /out= cannot be used where a gradient is needed/,
  );
});

test('golden: AnchorGenerator (FPN levels, several sizes per level)', () => {
  const det = tt.models.detection;
  const fpn = new det.AnchorGenerator(
    [[32], [64], [128]],
    [
      [0.5, 1, 2],
      [0.5, 1, 2],
      [0.5, 1, 2],
    ],
  );
  const il = new det.ImageList(tt.zeros([2, 3, 32, 48]), [
    [30, 45],
    [32, 48],
  ]);
  const anchors = fpn.forward(il, [tt.zeros([2, 4, 8, 12]), tt.zeros([2, 4, 4, 6]), tt.zeros([2, 4, 2, 3])]);
  assert.equal(anchors.length, 2);
  assertClose(anchors[0], get('anchors_fpn').output, { atol: 0, rtol: 0, what: 'fpn anchors' });
  assert.deepEqual(fpn.numAnchorsPerLocation(), [3, 3, 3]);
  const multi = new det.AnchorGenerator([[16, 24, 33]], [[0.25, 1.0, 1.7]]);
  const a2 = multi.forward(new det.ImageList(tt.zeros([1, 3, 30, 45]), [[30, 45]]), [tt.zeros([1, 4, 5, 7])]);
  assertClose(a2[0], get('anchors_multi').output, { atol: 0, rtol: 0, what: 'multi-size anchors' });
  assert.throws(
    () => multi.forward(il, [tt.zeros([2, 4, 8, 12]), tt.zeros([2, 4, 4, 6])]),
    /2 feature maps but anchors are defined for 1 levels/,
  );
});

test('golden: BoxCoder encode / decode (weights, bbox_xform_clip) and its gradient', () => {
  const det = tt.models.detection;
  const coder = new det.BoxCoder([10, 10, 5, 5]);
  const enc = get('coder_encode');
  const { gt, proposals } = inputsOf(enc);
  assertClose(coder.encodeSingle(gt, proposals), enc.output, { atol: 1e-5, rtol: 1e-5, what: 'encode' });
  const parts = coder.encode(
    [gt.narrow(0, 0, 2), gt.narrow(0, 2, 4)],
    [proposals.narrow(0, 0, 2), proposals.narrow(0, 2, 4)],
  );
  assertClose(tt.cat(parts, 0), enc.output, { atol: 1e-5, rtol: 1e-5, what: 'encode per image' });
  checkCase(get('coder_decode'), ({ codes, boxes }) => coder.decodeSingle(codes, boxes), {
    atol: 1e-4,
    rtol: 1e-5,
    gradAtol: 1e-4,
    gradRtol: 1e-4,
  });
  const unit = new det.BoxCoder([1, 1, 1, 1]);
  checkCase(
    get('coder_decode_unit'),
    ({ codes, boxes }) => unit.decode(codes, [boxes.narrow(0, 0, 2), boxes.narrow(0, 2, 4)]),
    TOL,
  );
});

test('BoxCoder.decodeAt: the decoded boxes at flat indices, bit for bit, with and without autograd', () => {
  const coder = new tt.models.detection.BoxCoder([10, 10, 5, 5]);
  const { codes, boxes } = inputsOf(get('coder_decode'));
  const k = codes.shape[1] / 4;
  const all = coder.decodeSingle(codes, boxes).reshape(-1, 4);
  // Every box once, backwards, and a repeat: any order, any multiplicity.
  const index = Int32Array.from([...Array.from({ length: all.shape[0] }, (_, i) => all.shape[0] - 1 - i), k, 0]);
  const want = tt.indexSelect(all, 0, tt.tensor(index, [index.length], { dtype: 'int32' }));
  assertClose(coder.decodeAt(codes, boxes, index), want, { atol: 0, rtol: 0, what: 'typed-array path' });
  const c = codes.detach().requiresGrad_(true);
  const withGrad = coder.decodeAt(c, boxes, index);
  assertClose(withGrad.detach(), want, { atol: 1e-6, rtol: 1e-6, what: 'autograd path' });
  withGrad.sum().backward();
  assert.ok(c.grad, 'the autograd path reaches the codes');
  assert.deepEqual(coder.decodeAt(codes, boxes, new Int32Array(0)).shape, [0, 4]);
  assert.throws(
    () => coder.decodeAt(codes, boxes, Int32Array.of(all.shape[0])),
    new RegExp(`BoxCoder.decodeAt: index ${all.shape[0]} is outside the ${all.shape[0]} boxes`),
  );
  assert.throws(
    () => coder.decodeAt(codes, boxes.narrow(0, 0, 1), Int32Array.of(0)),
    /BoxCoder.decodeAt: codes must be/,
  );
});

test('golden: masksToBoxes, pasteMasksInImage, clipBoxesToImage, removeSmallBoxes', () => {
  const m = get('masks_to_boxes');
  assertClose(ops.masksToBoxes(inputsOf(m).masks), m.output, { atol: 0, rtol: 0 });
  for (const name of ['paste_masks', 'paste_masks_pad2']) {
    const c = get(name);
    const { masks, boxes } = inputsOf(c);
    const size = c.params.size as [number, number];
    assertClose(ops.pasteMasksInImage(masks, boxes, size, (c.params.padding as number | undefined) ?? 1), c.output, {
      atol: 1e-6,
      rtol: 1e-5,
      what: name,
    });
  }
  const cb = get('clip_boxes');
  assertClose(ops.clipBoxesToImage(inputsOf(cb).boxes, [60, 80]), cb.output, { atol: 0, rtol: 0 });
  const rs = get('remove_small');
  assert.deepEqual(ints(ops.removeSmallBoxes(inputsOf(rs).boxes, 5)), rs.output.data);
});

test('hand-computed: IoU values, NMS semantics and format round trips', () => {
  const a = tt.tensor([[0, 0, 2, 2]]);
  const b = tt.tensor([
    [1, 1, 3, 3],
    [2, 2, 4, 4],
    [0, 0, 2, 2],
    [5, 5, 6, 6],
  ]);
  // 1/7: overlap 1, union 4 + 4 − 1; touching corners: 0; identical: 1; disjoint: 0.
  assertClose(ops.boxIou(a, b), [1 / 7, 0, 1, 0]);
  // GIoU of the disjoint pair: 0 − (36 − 5)/36.
  assertClose(ops.generalizedBoxIou(a, b), [1 / 7 - (9 - 7) / 9, 0 - (16 - 8) / 16, 1, -31 / 36]);
  const boxes = tt.tensor([
    [0, 0, 10, 10],
    [1, 1, 11, 11],
    [0, 0, 10, 10],
    [20, 20, 30, 30],
  ]);
  // IoU(0,1) = 81/119 ≈ 0.68: kept at threshold 0.7, suppressed at 0.6; the identical box 2 goes at any threshold < 1.
  assert.deepEqual(ints(ops.nms(boxes, tt.tensor([0.9, 0.8, 0.7, 0.6]), 0.7)), [0, 1, 3]);
  assert.deepEqual(ints(ops.nms(boxes, tt.tensor([0.9, 0.8, 0.7, 0.6]), 0.6)), [0, 3]);
  assert.deepEqual(ints(ops.nms(boxes, tt.tensor([0.5, 0.5, 0.5, 0.5]), 0.99)), [0, 1, 3]);
  assert.deepEqual(
    ints(
      ops.batchedNms(
        boxes,
        tt.tensor([0.9, 0.8, 0.7, 0.6]),
        tt.tensor(Int32Array.from([0, 0, 1, 0]), [4], { dtype: 'int32' }),
        0.5,
      ),
    ),
    [0, 2, 3],
  );
  const x = tt.tensor([
    [1, 2, 5, 8],
    [0, 0, 0, 0],
  ]);
  for (const f of ['xywh', 'cxcywh'] as const) assertClose(ops.boxConvert(ops.boxConvert(x, 'xyxy', f), f, 'xyxy'), x);
});

test('bad input names the op and the shapes', () => {
  assert.throws(
    () => ops.boxIou(tt.zeros([3, 5]), tt.zeros([2, 4])),
    /boxIou: boxes1 must have shape \[N, 4\], got \[3, 5\]/,
  );
  assert.throws(() => ops.nms(tt.zeros([3, 4]), tt.zeros([2]), 0.5), /nms: scores must have shape \[3\]/);
  assert.throws(
    () => ops.roiAlign(tt.zeros([1, 2, 4, 4]), tt.tensor([[1, 0, 0, 2, 2]]), 2),
    /roiAlign: roi 0 has batch index 1, expected an integer in \[0, 1\)/,
  );
  assert.throws(
    () => ops.roiPool(tt.zeros([1, 2, 4, 4]), tt.zeros([2, 4]), 2),
    /roiPool: rois must be a \[K, 5\] tensor/,
  );
  assert.throws(() => ops.boxConvert(tt.zeros([1, 4]), 'xyxy', 'yxyx' as 'xyxy'), /boxConvert: formats must be one of/);
  assert.throws(() => ops.masksToBoxes(tt.zeros([1, 3, 3])), /masksToBoxes: mask 0 .* is empty/);
  assert.throws(
    () => ops.generalizedBoxIouLoss(tt.zeros([2, 4]), tt.zeros([3, 4])),
    /generalizedBoxIouLoss: boxes1 and boxes2 must/,
  );
});

test('gradcheck (float64): roiAlign (both alignments, adaptive and fixed grids), roiPool, IoU losses, focal loss, decode', () => {
  const x = rand64([2, 2, 6, 7], 1);
  const rois = tt.tensor(
    [
      [0, 0.7, 1.2, 5.1, 4.3],
      [1, -1.5, 0.5, 3.3, 6.8],
      [1, 2.2, 2.6, 2.9, 3.1],
    ],
    { dtype: 'float64' },
  );
  for (const aligned of [false, true]) {
    for (const samplingRatio of [-1, 2]) {
      assert.ok(
        tt.gradcheck(
          (inp: tt.Tensor) => ops.roiAlign(inp, rois, [2, 3], { aligned, samplingRatio, spatialScale: 0.9 }),
          [x],
        ),
      );
    }
  }
  // RoIPool's max is piecewise linear: distinct random values keep every argmax away from ties.
  assert.ok(tt.gradcheck((inp: tt.Tensor) => ops.roiPool(inp, rois, 2, { spatialScale: 0.8 }), [x]));
  const p = tt
    .tensor(
      [
        [0, 0, 4, 3],
        [1, 1, 5, 6],
        [2, 0, 3, 2],
        [0, 0, 1, 1],
      ],
      { dtype: 'float64' },
    )
    .add(rand64([4, 4], 3, 0, 0.2))
    .detach()
    .requiresGrad_(true);
  const t = tt
    .tensor(
      [
        [1, 0.5, 5, 4],
        [1, 1, 4, 5],
        [6, 5, 9, 9],
        [0.2, 0.1, 1.1, 0.9],
      ],
      { dtype: 'float64' },
    )
    .requiresGrad_(true);
  assert.ok(tt.gradcheck((a: tt.Tensor, b: tt.Tensor) => ops.generalizedBoxIouLoss(a, b), [p, t]));
  assert.ok(tt.gradcheck((a: tt.Tensor, b: tt.Tensor) => ops.distanceBoxIouLoss(a, b, { reduction: 'sum' }), [p, t]));
  // CIoU holds α constant, so its gradient is not the derivative of its value: check the v-free parts (DIoU) above
  // and CIoU where v = 0 (equal aspect ratios), where the α·v term and its gradient vanish.
  const sq = tt
    .tensor(
      [
        [0, 0, 2, 2],
        [1, 1, 4, 4],
      ],
      { dtype: 'float64' },
    )
    .requiresGrad_(true);
  const sq2 = tt.tensor(
    [
      [1, 0.5, 2, 1.5],
      [0, 0, 2, 2],
    ],
    { dtype: 'float64' },
  );
  assert.ok(
    tt.gradcheck(
      (a: tt.Tensor) =>
        ops.completeBoxIouLoss(a, sq2).sub(ops.distanceBoxIouLoss(a, sq2)).add(ops.distanceBoxIouLoss(a, sq2)),
      [sq],
    ),
  );
  const logits = rand64([3, 5], 4, -3, 3);
  const targets = tt.tensor(
    [
      [1, 0, 0, 1, 0],
      [0, 0, 1, 0, 0],
      [1, 1, 0, 0, 0],
    ],
    { dtype: 'float64' },
  );
  assert.ok(tt.gradcheck((l: tt.Tensor) => ops.sigmoidFocalLoss(l, targets, { reduction: 'mean' }), [logits]));
  const codes = rand64([3, 8], 5);
  const anchors = tt.tensor(
    [
      [0, 0, 4, 3],
      [1, 1, 5, 6],
      [2, 0, 3, 2],
    ],
    { dtype: 'float64' },
  );
  assert.ok(
    tt.gradcheck(
      (c: tt.Tensor) => new tt.models.detection.BoxCoder([1, 1, 0.5, 0.5]).decodeSingle(c, anchors),
      [codes],
    ),
  );
  const b1 = rand64([3, 2], 6, 0, 3);
  assert.ok(tt.gradcheck((c: tt.Tensor) => ops.generalizedBoxIou(tt.cat([c, c.add(2)], 1), t.detach()), [b1]));
});

test('nms on 2,000 boxes is fast (typed arrays)', () => {
  const g = new tt.Generator(7);
  const xy = tt.rand([2000, 2], { generator: g }).mul(500);
  const wh = tt.rand([2000, 2], { generator: g }).mul(60).add(5);
  const boxes = tt.cat([xy, xy.add(wh)], 1);
  const scores = tt.rand([2000], { generator: g });
  const t0 = performance.now();
  const keep = ops.nms(boxes, scores, 0.5);
  const ms = performance.now() - t0;
  assert.ok(keep.shape[0] > 100 && keep.shape[0] < 2000);
  assert.ok(ms < 500, `nms took ${ms.toFixed(0)} ms`);
  // Every kept pair overlaps by at most the threshold.
  const iou = ops.boxIou(boxes.indexSelect(0, keep), boxes.indexSelect(0, keep)).dataView();
  const k = keep.shape[0];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) assert.ok(iou[i * k + j] <= 0.5 + 1e-6);
  void decode;
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tt from '../src/index.ts';
import { fashion, tinyCnn, trainClassifier, TestConv, TestGap } from './viz-helpers.ts';

const { viz, nn } = tt;

const close = (a: number, b: number, tol = 1e-5, msg = ''): void =>
  assert.ok(Math.abs(a - b) <= tol, `${msg} ${a} vs ${b}`);

test('colormaps: viridis/jet end points and overlay blending', () => {
  assert.deepEqual(
    viz.colormapColor('viridis', 0).map((v) => +v.toFixed(4)),
    [0.267, 0.0049, 0.3294],
  );
  assert.deepEqual(
    viz.colormapColor('viridis', 1).map((v) => +v.toFixed(4)),
    [0.9932, 0.9062, 0.1439],
  );
  assert.deepEqual(viz.colormapColor('jet', 0), [0, 0, 0.5]);
  assert.deepEqual(viz.colormapColor('jet', 0.5), [0.5, 1, 0.5]);
  assert.deepEqual(viz.colormapColor('jet', 1), [0.5, 0, 0]);
  const heat = tt.tensor([
    [0, 1],
    [2, 4],
  ]);
  const rgb = viz.applyColormap(heat, { cmap: 'gray' });
  assert.deepEqual(rgb.shape, [3, 2, 2]);
  assert.deepEqual(Array.from(rgb.dataView().subarray(0, 4)), [0, 0.25, 0.5, 1]);
  const img = tt.full([3, 4, 4], 0.2);
  const same = viz.overlayHeatmap(img, tt.rand([2, 2]), { alpha: 0 });
  assert.ok(same.dataView().every((v) => Math.abs(v - 0.2) < 1e-6));
  const full = viz.overlayHeatmap(
    img,
    tt.zeros([2, 2]).add(
      tt.tensor([
        [0, 0],
        [0, 1],
      ]),
    ),
    { alpha: 1, cmap: 'gray' },
  );
  assert.equal(full.shape.join(), '3,4,4');
  // Bottom-right pixel is the max of the resized map → white; top-left → black.
  close(full.dataView()[15], 1);
  close(full.dataView()[0], 0);
  assert.throws(() => viz.applyColormap(tt.zeros([2, 2, 2])), /heat map of shape \[H, W\]/);
  assert.throws(() => viz.overlayHeatmap(img, heat, { alpha: 2 }), /alpha must be in \[0, 1\]/);
});

test('auroc: hand-computed cases, ties and errors; rocCurve end points', () => {
  // Pairs (anomaly, normal): (0.35,0.1)✓ (0.35,0.4)✗ (0.8,0.1)✓ (0.8,0.4)✓ → 3/4.
  close(viz.auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  close(viz.auroc([0.5, 0.5], [0, 1]), 0.5);
  // One tie among 2×3 pairs: (3 + 0.5)/6 … scores normal [1,2], anomalies [2,3,4] → pairs: 2>1,2=2(½),3>1,3>2,4>1,4>2 → 5.5/6.
  close(viz.auroc([1, 2, 2, 3, 4], [0, 0, 1, 1, 1]), 5.5 / 6);
  close(viz.auroc([3, 2, 1], [false, true, true]), 0);
  const roc = viz.rocCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
  assert.deepEqual(roc.fpr, [0, 0, 0.5, 0.5, 1]);
  assert.deepEqual(roc.tpr, [0, 0.5, 0.5, 1, 1]);
  assert.throws(() => viz.auroc([1, 2], [1, 1]), /needs both classes/);
  assert.throws(() => viz.auroc([1, 2], [1]), /2 scores but 1 labels/);
});

test('knnScores: mean distance to the k nearest reference rows', () => {
  const ref = tt.tensor([
    [0, 0],
    [1, 0],
    [0, 3],
  ]);
  const q = tt.tensor([
    [0, 0],
    [4, 4],
  ]);
  const s = viz.knnScores(ref, q, 2);
  close(s[0], 0.5);
  close(s[1], (5 + Math.hypot(4, 1)) / 2, 1e-5); // nearest: [0,3] at √17, [1,0] at 5
  assert.throws(() => viz.knnScores(ref, q, 4), /k must be an integer in 1..3/);
});

test('Grad-CAM equals CAM for conv → GAP → linear, and targets the chosen class', () => {
  const gen = new tt.Generator(3);
  const conv = new TestConv(2, 4, 3, gen);
  const lin = new nn.Linear(4, 3, { generator: gen });
  const model = new nn.Sequential(conv, new nn.ReLU(), new TestGap(), lin);
  const x = tt.rand([2, 2, 6, 6], { generator: gen });
  for (const target of [0, 2]) {
    const res = viz.gradCam(model, x, { layer: '1', target });
    const A = tt.noGrad(() => conv.forward(x).relu());
    const W = lin.weight.dataView();
    for (let n = 0; n < 2; n++) {
      // CAM (Zhou et al.): Σ_k w_ck A_k — Grad-CAM's weights are exactly w_ck / (h·w) here.
      const cam = new Float32Array(36);
      for (let k = 0; k < 4; k++)
        for (let p = 0; p < 36; p++) cam[p] += W[target * 4 + k] * A.dataView()[(n * 4 + k) * 36 + p];
      const hi = Math.max(...cam.map((v) => Math.max(0, v)));
      for (let p = 0; p < 36; p++)
        close(res.cams.dataView()[n * 36 + p], hi > 0 ? Math.max(0, cam[p]) / hi : 0, 1e-4, `pixel ${p}`);
    }
    assert.deepEqual(res.targets, [target, target]);
  }
  const pp = viz.gradCam(model, x, { layer: '1', method: 'gradcam++' });
  assert.deepEqual(pp.cams.shape, [2, 6, 6]);
  assert.ok(pp.cams.dataView().every((v) => v >= 0 && v <= 1));
  assert.equal(lin.weight.grad, null, 'parameter gradients are left untouched');
  assert.equal(viz.gradCam(model, x).layer, '0', 'default layer: the last conv');
  assert.throws(
    () => viz.gradCam(model, x, { layer: 'features.9' }),
    /no layer 'features.9'; layers are: \(root\) \(Sequential\), 0 \(TestConv\)/,
  );
  assert.throws(
    () => viz.gradCam(model, x, { layer: '2' }),
    /outputs \[2, 4\]; Grad-CAM needs a convolutional feature map/,
  );
  assert.throws(() => viz.gradCam(model, x, { target: 7 }), /target class 7 out of range for 3 classes/);
});

test('saliency: |∂y_c/∂x| of a linear model is |W_c| (max over channels)', () => {
  const gen = new tt.Generator(5);
  const lin = new nn.Linear(2 * 3 * 3, 4, { generator: gen });
  const model = (x: tt.Tensor): tt.Tensor => lin.forward(x.flatten(1));
  const x = tt.rand([1, 2, 3, 3], { generator: gen });
  const { maps, targets } = viz.saliencyMap(model, x, { target: 1 });
  assert.deepEqual(targets, [1]);
  const W = lin.weight.dataView();
  for (let p = 0; p < 9; p++) close(maps.dataView()[p], Math.max(Math.abs(W[18 + p]), Math.abs(W[18 + 9 + p])));
  const smooth = viz.saliencyMap(model, x, { target: 1, samples: 3, generator: gen });
  for (let p = 0; p < 9; p++)
    close(smooth.maps.dataView()[p], maps.dataView()[p], 1e-5, 'linear model: SmoothGrad = gradient');
});

test('FGSM/PGD: exact FGSM step on a linear model, ε-ball and range constraints, accuracy falls with ε', () => {
  const gen = new tt.Generator(11);
  const lin = new nn.Linear(4, 2, { generator: gen });
  const model = (x: tt.Tensor): tt.Tensor => lin.forward(x.flatten(1));
  const x = tt.full([1, 1, 2, 2], 0.5);
  const y = [0];
  const adv = viz.fgsm(model, x, y, 0.1);
  // ∂CE/∂x = Σ_k (p_k − [k=y]) W_k  → sign is sign(W_1 − W_0) for two classes.
  const W = lin.weight.dataView();
  for (let i = 0; i < 4; i++) close(adv.dataView()[i], 0.5 + 0.1 * Math.sign(W[4 + i] - W[i]), 1e-6);
  const clamped = viz.fgsm(model, x, y, 0.8);
  assert.ok(clamped.dataView().every((v) => v >= 0 && v <= 1));
  const p = viz.pgd(model, x, y, 0.05, { steps: 5, stepSize: 0.02, generator: gen });
  assert.ok(p.dataView().every((v) => Math.abs(v - 0.5) <= 0.05 + 1e-6));
  assert.throws(() => viz.fgsm(model, x, y, -1), /eps must be a finite number ≥ 0/);
  assert.throws(() => viz.fgsm(model, x, [0, 1], 0.1), /expected 1 labels/);

  // A trained classifier on real Fashion-MNIST images.
  tt.manualSeed(0);
  const mlp = new nn.Sequential(new nn.Flatten(), new nn.Linear(784, 64), new nn.ReLU(), new nn.Linear(64, 10));
  const tr = fashion(true, 3000);
  trainClassifier(mlp, tr.x, tr.y, 200, { batch: 64 });
  const te = fashion(false, 300);
  const eps = [0, 0.02, 0.05, 0.1];
  const fg = viz.accuracyVsEpsilon(mlp, [[te.x, te.y]], eps);
  const pg = viz.accuracyVsEpsilon(mlp, [[te.x, te.y]], eps, {
    attack: 'pgd',
    steps: 5,
    generator: new tt.Generator(0),
  });
  console.log(
    'FGSM',
    fg.map((r) => `${r.eps}:${r.accuracy.toFixed(3)}`).join(' '),
    '| PGD',
    pg.map((r) => `${r.eps}:${r.accuracy.toFixed(3)}`).join(' '),
  );
  assert.ok(fg[0].accuracy > 0.7, `clean accuracy ${fg[0].accuracy}`);
  for (let i = 1; i < eps.length; i++)
    assert.ok(fg[i].accuracy <= fg[i - 1].accuracy + 0.02, 'FGSM accuracy falls (monotone-ish) with ε');
  assert.ok(
    fg[3].accuracy < fg[0].accuracy - 0.3,
    `ε=0.1 FGSM accuracy ${fg[3].accuracy} clearly below clean ${fg[0].accuracy}`,
  );
  for (let i = 1; i < eps.length; i++)
    assert.ok(pg[i].accuracy <= fg[i].accuracy + 0.02, 'PGD is at least as strong as FGSM');
  close(pg[0].accuracy, fg[0].accuracy, 1e-9);
});

test('feature maps, filters, activation maximisation and the model graph on a small CNN', () => {
  const model = tinyCnn({ seed: 2 });
  model.eval();
  const x = tt.rand([1, 1, 28, 28], { generator: new tt.Generator(1) });
  const acts = viz.captureActivations(model, x, ['1', '4']);
  assert.deepEqual(acts.get('1')!.shape, [1, 8, 28, 28]);
  assert.deepEqual(acts.get('4')!.shape, [1, 16, 14, 14]);
  const grid = viz.featureMapGrid(acts.get('4')!, { maxMaps: 16 });
  assert.equal(grid.shape[0], 3);
  assert.ok(grid.shape[1] > 4 * 56 && grid.shape[2] > 4 * 56);
  assert.throws(() => viz.captureActivations(model, x, ['9']), /no layer '9'/);
  assert.throws(() => viz.featureMapGrid(tt.zeros([2, 3, 4, 4])), /ONE image/);

  const fg = viz.filterGrid(viz.convWeight(model).weight);
  assert.equal(fg.shape[0], 3);
  assert.equal(viz.convWeight(model).name, '0');
  assert.throws(() => viz.filterGrid(tt.zeros([3, 3])), /expected a convolution weight/);

  const am = viz.maximizeActivation(model, {
    layer: '3',
    channel: 5,
    inputShape: [1, 28, 28],
    steps: 20,
    generator: new tt.Generator(0),
  });
  assert.deepEqual(am.image.shape, [1, 28, 28]);
  assert.ok(
    am.objective[am.objective.length - 1] > am.objective[0] + 0.05,
    `objective rises: ${am.objective[0]} → ${am.objective.at(-1)}`,
  );
  assert.ok(am.image.dataView().every((v) => v >= 0 && v <= 1));
  assert.throws(
    () => viz.maximizeActivation(model, { layer: '3', channel: 99, inputShape: [1, 28, 28], steps: 1 }),
    /channel 99 out of range/,
  );

  const nodes = viz.modelGraph(model, x);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  assert.deepEqual(byName.get('')!.outputShape, [1, 10]);
  assert.deepEqual(byName.get('2')!.outputShape, [1, 8, 14, 14]);
  assert.deepEqual(byName.get('6')!.outputShape, [1, 16]);
  assert.equal(byName.get('0')!.params, 8 * 9 + 8);
  const svg = viz.graphSvg(nodes, { title: 'tiny' });
  assert.match(svg, /^<svg/);
  assert.ok((svg.match(/class="node"/g) ?? []).length === 8);
  assert.match(svg, /\[1×16×14×14\]/);
});

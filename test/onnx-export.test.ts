/**
 * ONNX export: zoo models and small CNNs are traced to .onnx, run by ONNX Runtime (onnxruntime-node) on a batch
 * size different from the traced one (so nothing input-dependent was baked in as a constant) and compared with
 * Tatami's own outputs within 1e-4; the ONNX checker (python3-onnx, full_check with shape inference) validates each
 * file where it is installed. Heads are re-initialised with non-zero weights so the outputs mean something (ViT's
 * head starts at zero). TATAMI_ONNX_ALL=1 runs every registered classification model (half an hour; see docs/onnx.md),
 * TATAMI_ONNX_MODELS=a,b the named ones besides the defaults.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tt from '../src/index.js';
import { exportModel, exportModelBytes } from '../src/onnx/index.js';

const PY = '/usr/bin/python3';
const hasOnnxPy = existsSync(PY) && spawnSync(PY, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
if (!hasOnnxPy)
  process.stderr.write(
    'onnx-export: ONNX checker skipped — python3-onnx not installed (apt-get install python3-onnx)\n',
  );

/** Runs onnx.checker.check_model(full_check=True) on each file; returns the checker's stderr per failure. */
function checkWithOnnx(files: string[]): void {
  if (!hasOnnxPy || files.length === 0) return;
  const script =
    'import sys, onnx\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\n';
  const r = spawnSync(PY, ['-c', script, ...files], { encoding: 'utf8' });
  assert.equal(r.status, 0, `onnx.checker failed:\n${r.stderr}`);
}

function heads(m: tt.nn.Module): void {
  tt.manualSeed(7);
  tt.noGrad(() => {
    for (const sub of m.modules()) {
      if (sub instanceof tt.nn.Linear) {
        sub.weight.copy_(tt.randn(sub.weight.shape).mul(1 / Math.sqrt(sub.inFeatures)));
        if (sub.bias) sub.bias.copy_(tt.randn(sub.bias.shape).mul(0.1));
      }
    }
  });
}

async function ortRun(bytes: Uint8Array, x: tt.Tensor): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const r = await s.run({ input: new ort.Tensor('float32', x.toTypedArray() as Float32Array, x.shape) });
  return r.output.data as Float32Array;
}

/** [registry name, spatial size or 0 for the model's own input size]. */
const DEFAULT: [string, number][] = [
  ['small_cnn', 0],
  ['small_cnn_bn', 0],
  ['small_vgg', 0],
  ['lenet5', 0],
  ['resnet20', 0],
  ['mobilenet_v3_small', 32],
  ['vit_tiny', 0],
  ['googlenet', 32],
  ['densenet121', 32],
  ['se_resnet18', 32],
];
const PICK = process.env.TATAMI_ONNX_MODELS?.split(',');
const ALL =
  process.env.TATAMI_ONNX_ALL === '1' || PICK
    ? tt.models
        .listModels()
        .filter((i) => i.task !== 'detect')
        .map((i) => i.name)
        .filter((n) => !DEFAULT.some(([d]) => d === n) && (!PICK || PICK.includes(n)))
        .map((n): [string, number] => [n, n === 'alexnet' ? 64 : 32])
    : [];

describe('onnx export → ONNX Runtime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tatami-onnx-'));
  const files: string[] = [];
  for (const [name, size] of [...DEFAULT, ...ALL]) {
    test(`${name}${size ? ` at ${size}×${size}` : ''}`, async () => {
      const info = tt.models.getModelInfo(name);
      const model = tt.models.getModel(name, name.startsWith('vit_') && size ? { imageSize: size } : {});
      heads(model);
      const chw = size ? [info.inputShape[0], size, size] : info.inputShape;
      tt.manualSeed(1);
      const file = join(dir, `${name}.onnx`);
      exportModel(model, tt.randn([2, ...chw]), file, { dynamicAxes: { input: [0], output: [0] } });
      files.push(file);
      assert.equal(model.training, true, 'export restores the training flag');
      model.eval();
      const x = tt.randn([3, ...chw]);
      const want = tt.noGrad(() => model.forward(x));
      const got = await ortRun(readFileSync(file), x);
      const w = want.toTypedArray();
      assert.equal(got.length, w.length);
      let maxDiff = 0,
        sq = 0,
        peak = 0;
      for (let i = 0; i < w.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(w[i] - got[i]));
        sq += w[i] * w[i];
        peak = Math.max(peak, Math.abs(w[i]));
      }
      assert.ok(Math.sqrt(sq / w.length) > 1e-2, `${name}: outputs are degenerate (rms ${Math.sqrt(sq / w.length)})`);
      // 1e-4, relative to the logits' scale once they exceed 1: randomly initialised deep CIFAR ResNets (110 layers,
      // no zero-init residuals) reach logits of 1e5, where float32 summation order alone moves the 7th digit.
      assert.ok(
        maxDiff <= 1e-4 * Math.max(1, peak),
        `${name}: ONNX Runtime differs from Tatami by ${maxDiff} (peak |logit| ${peak})`,
      );
    });
  }
  test(
    'the ONNX checker accepts every exported file',
    { skip: hasOnnxPy ? false : 'python3-onnx not installed' },
    () => {
      checkWithOnnx(files);
      rmSync(dir, { recursive: true, force: true });
    },
  );
});

describe('onnx export: graph details', () => {
  test('initializers keep stateDict names; inputs/outputs are named and dynamic axes are symbolic', async () => {
    const m = tt.models.smallCnn();
    const bytes = exportModelBytes(m, tt.randn([1, 1, 28, 28]), {
      inputNames: ['pixels'],
      outputNames: ['logits'],
      dynamicAxes: { pixels: { 0: 'batch' } },
    });
    const { decodeModel } = await import('../src/onnx/proto.js');
    const p = decodeModel(bytes);
    const inits = new Set(p.graph!.initializer.map((t) => t.name));
    for (const [name] of m.namedParameters()) assert.ok(inits.has(name), `initializer ${name}`);
    assert.equal(p.graph!.input[0].name, 'pixels');
    assert.equal(p.graph!.output[0].name, 'logits');
    const dim0 = p.graph!.input[0].type!.value.value as {
      shape: { dim: { value: { case: string; value: unknown } }[] };
    };
    assert.deepEqual(dim0.shape.dim[0].value, { case: 'dimParam', value: 'batch' });
    assert.equal(p.opsetImport[0].version, 17n);
  });

  test('functional pad, slices, permute, cat, reductions and softmax between layers are traced', async () => {
    class Glue extends tt.nn.Module {
      conv = new tt.nn.Conv2d(3, 4, 3, { padding: 1 });
      forward(x: tt.Tensor): tt.Tensor {
        const y = this.conv.forward(x);
        const s = tt.slice(tt.slice(y, 2, 0, null, 2), 3, 1, null, 2); // [N, 4, 4, 3]
        const p = tt.F.pad(s, [0, 0, 0, 0, 1, 3]); // channels 4 → 8
        const q = tt.permute(p, [0, 2, 3, 1]); // NHWC
        const c = tt.cat([q, tt.mul(q, 2)], 3); // [N, 4, 3, 16]
        const r = tt.sum(c, [1, 2]).add(tt.amax(c, [1, 2])); // [N, 16]
        return tt.logSoftmax(tt.softmax(r, 1).sqrt(), 1);
      }
    }
    const m = new Glue();
    const x = tt.randn([2, 3, 8, 6]);
    const bytes = exportModelBytes(m, x, { dynamicAxes: { input: [0] } });
    const x3 = tt.randn([3, 3, 8, 6]);
    const got = await ortRun(bytes, x3);
    const want = m.forward(x3).toTypedArray();
    for (let i = 0; i < want.length; i++)
      assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `element ${i}: ${got[i]} vs ${want[i]}`);
  });

  test('layers with options: GELU, LayerNorm, GroupNorm, PReLU, Upsample, ConvTranspose2d, pools', async () => {
    const m = new tt.nn.Sequential(
      new tt.nn.Conv2d(2, 4, 3, { padding: 'same', paddingMode: 'reflect' }),
      new tt.nn.GroupNorm(2, 4),
      new tt.nn.PReLU(4),
      new tt.nn.ConvTranspose2d(4, 4, 3, { stride: 2, padding: 1, outputPadding: 1 }),
      new tt.nn.LeakyReLU(0.2),
      new tt.nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
      new tt.nn.Upsample({ scaleFactor: 2, mode: 'bilinear' }),
      new tt.nn.AvgPool2d(2, { countIncludePad: false }),
      new tt.nn.InstanceNorm2d(4, { affine: true }),
      new tt.nn.ELU(0.5),
      new tt.nn.Upsample({ scaleFactor: 2, mode: 'nearest' }),
      new tt.nn.Hardswish(),
      new tt.nn.Flatten(2),
      new tt.nn.LayerNorm(324),
      new tt.nn.GELU(),
      new tt.nn.Mish(),
      new tt.nn.Softplus(2),
      new tt.nn.SELU(),
      new tt.nn.Hardsigmoid(),
    );
    const x = tt.randn([2, 2, 8, 8]);
    const bytes = exportModelBytes(m, x);
    const got = await ortRun(bytes, x);
    const want = tt
      .noGrad(() => {
        m.eval();
        return m.forward(x);
      })
      .toTypedArray();
    let md = 0;
    for (let i = 0; i < want.length; i++) md = Math.max(md, Math.abs(got[i] - want[i]));
    assert.ok(md < 1e-4, `max diff ${md}`);
  });

  test('adaptive pooling that enlarges by whole factors exports as nearest Resize', async () => {
    const m = new tt.nn.Sequential(new tt.nn.Conv2d(3, 4, 3), new tt.nn.AdaptiveAvgPool2d([6, 4]), new tt.nn.Flatten());
    const x = tt.randn([2, 3, 5, 4]); // conv → 3×2, pooled to 6×4
    const got = await ortRun(exportModelBytes(m, x), x);
    const want = m.forward(x).toTypedArray();
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `element ${i}`);
    const odd = new tt.nn.Sequential(new tt.nn.AdaptiveAvgPool2d(3));
    assert.throws(
      () => exportModelBytes(odd, tt.randn([1, 1, 5, 5])),
      /adaptive avg pooling from 5×5 to 3×3 has unequal windows/,
    );
  });

  test('errors: an untraceable functional op names itself; a bad opset is refused', () => {
    class Clamped extends tt.nn.Module {
      forward(x: tt.Tensor): tt.Tensor {
        return tt.clamp(x, 0, 1);
      }
    }
    assert.throws(() => exportModelBytes(new Clamped(), tt.randn([1, 3])), /functional op 'clamp'.*nn\.Hardtanh/);
    assert.throws(
      () => exportModelBytes(tt.models.lenet5(), tt.randn([1, 1, 28, 28]), { opset: 9 }),
      /opset must be an integer in 13\.\.21/,
    );
  });

  test('exportModel writes the same bytes exportModelBytes returns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tatami-onnx-'));
    const m = tt.models.lenet5();
    const x = tt.randn([1, 1, 28, 28]);
    exportModel(m, x, join(dir, 'a.onnx'));
    writeFileSync(join(dir, 'b.onnx'), exportModelBytes(m, x));
    assert.deepEqual(readFileSync(join(dir, 'a.onnx')), readFileSync(join(dir, 'b.onnx')));
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('onnx export: opsets', () => {
  for (const opset of [13, 14, 17, 20]) {
    test(`mobilenet_v3_small (HardSwish, SE) and a GELU MLP at opset ${opset} run in ONNX Runtime`, async () => {
      const m = tt.models.mobilenet_v3_small();
      heads(m);
      m.eval();
      const x = tt.randn([1, 3, 32, 32]);
      const got = await ortRun(exportModelBytes(m, x, { opset }), x);
      const want = tt.noGrad(() => m.forward(x)).toTypedArray();
      let md = 0;
      for (let i = 0; i < want.length; i++) md = Math.max(md, Math.abs(got[i] - want[i]));
      assert.ok(md < 1e-4, `max diff ${md}`);
      const mlp = new tt.nn.Sequential(
        new tt.nn.Linear(8, 16),
        new tt.nn.GELU(),
        new tt.nn.Linear(16, 4),
        new tt.nn.GELU({ approximate: 'tanh' }),
      );
      const xi = tt.randn([3, 8]);
      const g2 = await ortRun(exportModelBytes(mlp, xi, { opset }), xi);
      const w2 = mlp.forward(xi).toTypedArray();
      for (let i = 0; i < w2.length; i++) assert.ok(Math.abs(g2[i] - w2[i]) < 1e-5, `GELU element ${i}`);
    });
  }
});

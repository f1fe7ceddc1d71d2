/**
 * ONNX import: export → import round trips (outputs, parameter names, fine-tuning), the all-at-once error for
 * unsupported operators, and torchvision models exported by torch.onnx.export (opset 14) reproducing PyTorch's
 * outputs. The torchvision part needs /usr/bin/python3 with torch + torchvision (CI has them); it exports
 * resnet18 and mobilenet_v3_small by default and, with TATAMI_ONNX_ALL=1, also googlenet, densenet121,
 * mobilenet_v2, resnext50_32x4d and vit_b_16 (hundreds of MB of .onnx).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import * as tt from '../src/index.js';
import { encodeModel, makeNode, makeValueInfo, DataType, ModelProtoSchema } from '../src/onnx/proto.js';
import { GraphProtoSchema, OperatorSetIdProtoSchema } from '../src/onnx/gen/onnx_pb.js';
import { erf } from '../src/onnx/ops-nn.js';

const PY = '/usr/bin/python3';
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;

function heads(m: tt.nn.Module): void {
  tt.manualSeed(7);
  tt.noGrad(() => {
    for (const sub of m.modules()) {
      if (sub instanceof tt.nn.Linear) {
        sub.weight.copy_(tt.randn(sub.weight.shape).mul(1 / Math.sqrt(sub.inFeatures)));
        if (sub.bias) sub.bias.copy_(tt.randn(sub.bias.shape).mul(0.1));
      }
      if (sub instanceof tt.nn.BatchNorm2d) {
        sub.runningMean!.copy_(tt.rand(sub.runningMean!.shape).sub(0.5));
        sub.runningVar!.copy_(tt.rand(sub.runningVar!.shape).add(0.5));
      }
    }
  });
}

function maxDiff(a: tt.Tensor, b: tt.Tensor | Float32Array): number {
  const x = a.toTypedArray(),
    y = b instanceof tt.Tensor ? b.toTypedArray() : b;
  assert.equal(x.length, y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

describe('onnx export → import round trip', () => {
  for (const [name, size, tol] of [
    ['small_cnn_bn', 0, 0],
    ['resnet20', 0, 0],
    ['mobilenet_v3_small', 32, 1e-6],
    ['googlenet', 32, 1e-6],
    ['vit_tiny', 0, 1e-5],
  ] as [string, number, number][]) {
    // Parameters come back bit for bit; outputs exactly where every layer maps to the same kernel, else within
    // float rounding (ViT's GELU comes back as an erf expression, GoogLeNet's adaptive pool as AveragePool).
    test(`${name}: same parameters, outputs ${tol ? `within ${tol}` : 'exactly'}`, () => {
      const info = tt.models.getModelInfo(name);
      const m = tt.models.getModel(name);
      heads(m);
      const chw = size ? [info.inputShape[0], size, size] : info.inputShape;
      const x = tt.randn([2, ...chw]);
      const im = tt.onnx.importModelBytes(tt.onnx.exportModelBytes(m, x));
      m.eval();
      im.eval();
      const d = maxDiff(
        tt.noGrad(() => m.forward(x)),
        tt.noGrad(() => im.forward(x)),
      );
      assert.ok(d <= tol, `max diff ${d}`);
      const want = Object.keys(m.stateDict())
        .filter((k) => !k.endsWith('num_batches_tracked'))
        .sort();
      assert.deepEqual(Object.keys(im.stateDict()).sort(), want);
      const sd = m.stateDict(),
        isd = im.stateDict();
      for (const k of want) assert.equal(maxDiff(sd[k], isd[k]), 0, k);
      // A Tatami state dict loads into the imported model by name.
      const r = im.loadStateDict(
        Object.fromEntries(Object.entries(m.stateDict()).filter(([k]) => !k.endsWith('num_batches_tracked'))),
      );
      assert.deepEqual(r.missingKeys, []);
    });
  }

  test('the imported model fine-tunes: parameters require grad, the loss falls, train() uses batch statistics', () => {
    tt.manualSeed(3);
    const m = tt.models.smallCnn({ batchNorm: true });
    const x = tt.randn([16, 1, 28, 28]);
    const y = tt.tensor(
      Int32Array.from({ length: 16 }, (_, i) => i % 10),
      [16],
      { dtype: 'int32' },
    );
    const im = tt.onnx.importModelBytes(tt.onnx.exportModelBytes(m, x));
    const params = im.parameters();
    assert.ok(params.length > 0 && params.every((p) => p.requiresGrad));
    const bufs = [...im.namedBuffers()].map(([n]) => n);
    assert.ok(
      bufs.some((n) => n.endsWith('running_mean')),
      `running stats are buffers: ${bufs.join(', ')}`,
    );
    im.train();
    const opt = new tt.optim.Adam(params, { lr: 1e-3 });
    const losses: number[] = [];
    const statBefore = [...im.namedBuffers()][0][1].clone();
    for (let i = 0; i < 8; i++) {
      opt.zeroGrad();
      const loss = tt.F.crossEntropy(im.forward(x), y);
      loss.backward();
      opt.step();
      losses.push(loss.item());
    }
    assert.ok(losses[7] < losses[0] * 0.8, `loss ${losses[0]} → ${losses[7]}`);
    assert.ok(maxDiff(statBefore, [...im.namedBuffers()][0][1]) > 0, 'running statistics were updated in train mode');
  });

  test('Erf (GELU from PyTorch exports): values within 2e-7 and gradients (gradcheck)', () => {
    const x = tt.tensor([0, 0.5, 1, -2, 3.5], [5], { dtype: 'float64' });
    const want = [0, 0.5204998778130465, 0.8427007929497149, -0.9953222650189527, 0.9999992569016276];
    erf(x)
      .tolist()
      .forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 2e-7, `erf(${x.tolist()[i]}) = ${v}, want ${want[i]}`));
    assert.ok(
      tt.gradcheck(
        (a) => erf(a),
        [tt.tensor([-1.5, -0.3, 0.2, 0.9, 2.2], [5], { dtype: 'float64', requiresGrad: true })],
      ),
    );
  });

  test('unsupported operators: one error lists them all', () => {
    const graph = create(GraphProtoSchema, {
      name: 'g',
      node: [
        makeNode('Relu', ['x'], ['a'], 'n0'),
        makeNode('FooOp', ['a'], ['b'], 'n1'),
        makeNode('NonMaxSuppression', ['b'], ['c'], 'n2'),
        makeNode('FooOp', ['c'], ['y'], 'n3'),
      ],
      input: [makeValueInfo('x', DataType.FLOAT, [1, 4])],
      output: [makeValueInfo('y', DataType.FLOAT, [1, 4])],
    });
    const model = create(ModelProtoSchema, {
      irVersion: 8n,
      graph,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
    });
    assert.throws(
      () => tt.onnx.importModelBytes(encodeModel(model)),
      (e: Error) => {
        assert.ok(e instanceof tt.onnx.OnnxUnsupportedError);
        assert.match(e.message, /operators FooOp, NonMaxSuppression;/);
        return true;
      },
    );
    assert.throws(() => tt.onnx.importModelBytes(new Uint8Array([1, 2, 3])), /could not parse the model/);
  });

  test('missing inputs and wrong arity are reported by name', () => {
    const im = tt.onnx.importModelBytes(
      tt.onnx.exportModelBytes(tt.models.lenet5(), tt.randn([1, 1, 28, 28]), { inputNames: ['image'] }),
    );
    assert.deepEqual(im.inputNames, ['image']);
    assert.throws(() => im.forward(), /expected 1 input\(s\) \(image\), got 0/);
    assert.throws(() => im.run({}), /input 'image' is missing/);
  });
});

const TV_DEFAULT = ['resnet18:32', 'mobilenet_v3_small:64'];
const TV_ALL = ['googlenet:64', 'densenet121:64', 'mobilenet_v2:64', 'resnext50_32x4d:64', 'vit_b_16:32'];
const TV = process.env.TATAMI_ONNX_ALL === '1' ? [...TV_DEFAULT, ...TV_ALL] : TV_DEFAULT;

describe(
  'torchvision → torch.onnx.export → Tatami',
  { skip: hasTorch ? false : 'PyTorch/torchvision not installed (see scripts/setup-system.sh)' },
  () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'tatami-onnx-tv-'));
      const r = spawnSync(PY, ['tools/onnx_torchvision.py', dir, ...TV], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`onnx_torchvision.py failed (${r.status}):\n${r.stderr.slice(-3000)}`);
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    for (const spec of TV) {
      const name = spec.split(':')[0];
      test(`${spec}: matches PyTorch within 1e-4`, async () => {
        const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as {
          input: number[];
          output: number[];
        };
        const x = tt.tensor(new Float32Array(readFileSync(join(dir, `${name}.in.bin`)).buffer.slice(0)), meta.input);
        const want = new Float32Array(readFileSync(join(dir, `${name}.out.bin`)).buffer.slice(0));
        const m = await tt.onnx.importModel(join(dir, `${name}.onnx`));
        m.eval();
        const got = tt.noGrad(() => m.forward(x));
        assert.deepEqual(got.shape, meta.output);
        const d = maxDiff(got, want);
        assert.ok(d <= 1e-4, `max diff ${d}`);
      });
    }
  },
);

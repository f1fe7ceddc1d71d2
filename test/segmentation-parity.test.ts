/**
 * Parity of the segmentation models and dilated backbones with torchvision 0.14: seeded random torchvision weights
 * (randomised batch-norm statistics) → .safetensors (tools/export_segmentation.py, one Python process, temp dir) →
 * Tatami's builder + strict loadStateDict → every output (`out`, `aux`, feature maps) on the same input in eval
 * mode, unfused and fused (`nn.fuse`), within 1e-4 relative to the output's scale. Inputs are small and not square (CI time, bilinear corners).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.js';

const PY = '/usr/bin/python3';
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
const S = tt.models.segmentation;

const SEGMENTATION: [string, () => tt.nn.Module<[tt.Tensor], tt.models.segmentation.SegmentationOutput>, string[]][] = [
  ['fcn_resnet50', () => S.fcn_resnet50({ auxLoss: true }), ['out', 'aux']],
  ['fcn_resnet101', () => S.fcn_resnet101(), ['out']],
  ['deeplabv3_resnet50', () => S.deeplabv3_resnet50({ auxLoss: true }), ['out', 'aux']],
  ['deeplabv3_resnet101', () => S.deeplabv3_resnet101(), ['out']],
  ['deeplabv3_mobilenet_v3_large', () => S.deeplabv3_mobilenet_v3_large({ auxLoss: true }), ['out', 'aux']],
  ['lraspp_mobilenet_v3_large', () => S.lraspp_mobilenet_v3_large(), ['out']],
  // The benchmark W6 U-Net (shared/bench/torch_bench.py) is unet()'s default.
  ['unet_w6', () => S.unet(), ['out']],
];

/** [name, full model whose state dict torchvision saved, the feature extractor on it, keys]. */
const BACKBONES: [string, () => [tt.nn.AnyModule, tt.nn.Module<[tt.Tensor], tt.models.FeatureMaps>], string[]][] = [
  [
    'resnet50_os8',
    () => {
      const m = tt.models.resnet50({ replaceStrideWithDilation: [false, true, true] });
      return [m, new tt.models.IntermediateLayerGetter(m, { layer1: 'low', layer3: 'mid', layer4: 'out' })];
    },
    ['low', 'mid', 'out'],
  ],
  [
    'resnet50_os16',
    () => {
      const m = tt.models.resnet50({ replaceStrideWithDilation: [false, false, true] });
      // The hook-based extractor on the same weights must agree with torchvision's IntermediateLayerGetter too.
      return [m, tt.models.createFeatureExtractor(m, { returnNodes: { layer1: 'low', layer4: 'out' } })];
    },
    ['low', 'out'],
  ],
  [
    'mobilenet_v3_large_dilated',
    () => {
      const m = tt.models.mobilenet_v3_large({ dilated: true });
      return [m, new tt.models.IntermediateLayerGetter(m.features, { 4: 'low', 16: 'out' })];
    },
    ['low', 'out'],
  ],
];

function assertOutputClose(name: string, a: tt.Tensor, b: tt.Tensor): void {
  assert.deepEqual(a.shape, b.shape, `${name}: shape`);
  const x = a.dataView(),
    y = b.dataView();
  let d = 0,
    scale = 1;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  assert.ok(d <= 1e-4 * scale, `${name}: max |Δ| = ${d.toExponential(2)} (output scale ${scale.toFixed(2)})`);
}

if (!hasTorch)
  process.stderr.write(`segmentation-parity: SKIPPED — PyTorch/torchvision not importable by ${PY} (CI runs it)\n`);

describe(
  'segmentation parity with torchvision',
  { skip: hasTorch ? false : 'PyTorch/torchvision not installed (see scripts/setup-system.sh)' },
  () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'tatami-segparity-'));
      const r = spawnSync(PY, ['tools/export_segmentation.py', dir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`export_segmentation.py failed (${r.status}):\n${r.stderr}`);
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const [name, build, keys] of SEGMENTATION) {
      test(`${name} matches torchvision (${keys.join(', ')})`, async () => {
        const model = build();
        const sd = await tt.loadSafetensors(join(dir, `${name}.safetensors`));
        assert.deepEqual(model.loadStateDict(sd), { missingKeys: [], unexpectedKeys: [] });
        assert.deepEqual(Object.keys(model.stateDict()), Object.keys(sd), 'state-dict order');
        const io = await tt.loadSafetensors(join(dir, `${name}.io.safetensors`));
        model.eval();
        const res = tt.noGrad(() => model.forward(io.input));
        assert.deepEqual(Object.keys(res), keys);
        for (const k of keys) assertOutputClose(`${name}.${k}`, res[k as 'out'] as tt.Tensor, io[k]);
        // and fused for inference (conv → BN folds, residual epilogues, DeepLab's ASPP with its pooled branch in
        // the projection's shift): the same torchvision outputs
        tt.nn.fuse(model);
        const fused = tt.noGrad(() => model.forward(io.input));
        tt.nn.unfuse(model);
        for (const k of keys) assertOutputClose(`${name}.${k} fused`, fused[k as 'out'] as tt.Tensor, io[k]);
      });
    }

    for (const [name, build, keys] of BACKBONES) {
      test(`${name} feature maps match torchvision's IntermediateLayerGetter`, async () => {
        const [model, body] = build();
        assert.deepEqual(model.loadStateDict(await tt.loadSafetensors(join(dir, `${name}.safetensors`))), {
          missingKeys: [],
          unexpectedKeys: [],
        });
        const io = await tt.loadSafetensors(join(dir, `${name}.io.safetensors`));
        model.eval();
        const feats = tt.noGrad(() => body.forward(io.input));
        assert.deepEqual(Object.keys(feats), keys);
        for (const k of keys) assertOutputClose(`${name}.${k}`, feats[k], io[k]);
      });
    }
  },
);

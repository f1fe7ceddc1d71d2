/**
 * Parity with torchvision 0.14: for each model, seeded random torchvision weights (with randomised batch-norm
 * statistics) → .safetensors (tools/export_torchvision.py, one Python process for the whole suite, into a temp dir)
 * → Tatami's builder + loadStateDict (strict: every name must match) → logits on torchvision's fixed input.
 * Tolerance: softmax probabilities within 1e-4 absolute (the criterion); logits are also reported.
 * Inputs are small (32–64 px; the adaptive pools make that valid) to keep the suite within minutes on 2 cores.
 */
import * as tt from '../src/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assertTorchvisionParity, describeTorchvisionParity } from './helpers.js';

/** [torchvision name, input size, Tatami builder options]. */
const CASES: [string, number, tt.models.ModelOptions][] = [
  ['resnet18', 64, {}],
  ['resnet34', 32, {}],
  ['resnet50', 64, {}],
  ['resnet101', 32, {}],
  ['resnet152', 32, {}],
  ['resnext50_32x4d', 64, {}],
  ['wide_resnet50_2', 32, {}],
  ['alexnet', 64, {}],
  ['vgg11', 32, {}],
  ['vgg11_bn', 32, {}],
  ['vgg13', 32, {}],
  ['vgg13_bn', 32, {}],
  ['vgg16', 32, {}],
  ['vgg16_bn', 32, {}],
  ['vgg19', 32, {}],
  ['vgg19_bn', 32, {}],
  ['googlenet', 64, {}],
  ['inception_v3', 75, {}],
  ['densenet121', 64, {}],
  ['mobilenet_v2', 64, {}],
  ['mobilenet_v3_small', 64, {}],
  ['mobilenet_v3_large', 64, {}],
  ['vit_b_16', 32, { imageSize: 32 }],
];

describeTorchvisionParity(
  'torchvision parity',
  CASES.map(([n, s]) => `${n}:${s}`),
  (dir) => {
    test('imagenetPreprocess matches torchvision (Resize 256, CenterCrop 224, Normalize) on a 257×301 image', async () => {
      const io = await tt.loadSafetensors(join(dir(), 'preprocess.io.safetensors'));
      // safetensors U8 loads widened to int32; the preprocessing takes 0–255 values as uint8.
      const img = tt.to(io.image, 'uint8');
      const x = tt.models.imagenetPreprocess(img);
      assert.deepEqual(x.shape, io.output.shape);
      const a = x.dataView(),
        b = io.output.dataView();
      // torchvision rounds the resized image back to uint8; a float32 bilinear sum that lands within rounding error
      // of a .5 boundary may round the other way, so a few pixels (< 0.1 %) may differ by one grey level.
      let d = 0,
        off = 0;
      for (let i = 0; i < a.length; i++) {
        const e = Math.abs(a[i] - b[i]);
        d = Math.max(d, e);
        if (e > 1e-4) off++;
      }
      assert.ok(d <= 1 / 255 / 0.224 + 1e-5, `max |Δ| = ${d}`);
      assert.ok(off < 1e-3 * a.length, `${off} of ${a.length} values differ`);
    });

    for (const [name, size, opts] of CASES) {
      test(`${name} @${size}px matches torchvision`, async () => {
        const model = tt.models.getModel(name, opts);
        // the plain model, then the same model through the fusion pass (docs/fusion.md)
        await assertTorchvisionParity(name, model, dir(), [1, 3, size, size], { alsoFused: true });
      });
    }
  },
);

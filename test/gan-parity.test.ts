/**
 * Parity of the generation and restoration models with PyTorch twins (tools/export_gan.py, run at test time):
 * the same state dict (strict names, randomised batch-norm statistics) gives the same output in eval mode and in
 * training mode (batch statistics). Skipped where /usr/bin/python3 has no PyTorch; CI runs it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

const PY = '/usr/bin/python3';
const hasTorch = existsSync(PY) && spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
const { models } = tt;

const CASES: [string, () => tt.nn.AnyModule][] = [
  ['dcgan64_G', () => models.dcgan({ ngf: 8, ndf: 8 }).generator],
  ['dcgan64_D', () => models.dcgan({ ngf: 8, ndf: 8 }).discriminator],
  ['pix2pix_unet', () => new models.UnetGenerator(3, 2, { numDowns: 5, ngf: 4 })],
  ['patchgan', () => new models.PatchGANDiscriminator(5, { ndf: 8 })],
  ['cyclegan_resnet', () => new models.ResnetGenerator(3, 2, { ngf: 4, numBlocks: 2 })],
  ['cyclegan_patchgan', () => new models.PatchGANDiscriminator(3, { ndf: 8, norm: 'instance' })],
  ['dncnn', () => new models.DnCNN({ depth: 5, features: 8 })],
  ['srcnn', () => new models.SRCNN()],
  ['espcn', () => new models.ESPCN({ upscaleFactor: 3 })],
];

describe(
  'generation models: PyTorch parity',
  { skip: hasTorch ? false : 'PyTorch not installed for /usr/bin/python3' },
  () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'tatami-gan-parity-'));
      const r = spawnSync(PY, ['tools/export_gan.py', dir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`export_gan.py failed (${r.status}):\n${r.stderr}`);
    });
    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    for (const [name, build] of CASES) {
      test(`${name} matches PyTorch (eval and train mode)`, async () => {
        const model = build();
        const res = model.loadStateDict(await tt.loadSafetensors(join(dir, `${name}.safetensors`)));
        assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
        const io = await tt.loadSafetensors(join(dir, `${name}.io.safetensors`));
        // eval first: the training-mode pass updates the running statistics, as it did in PyTorch before its eval pass
        model.eval();
        const out = tt.noGrad(() => model.forward(io.input) as tt.Tensor);
        assertClose(out, io.output, { atol: 1e-4, rtol: 1e-3, what: `${name} eval` });
        model.train();
        const trainOut = tt.noGrad(() => model.forward(io.input) as tt.Tensor);
        assertClose(trainOut, io.train_output, { atol: 1e-4, rtol: 1e-3, what: `${name} train` });
      });
    }
  },
);

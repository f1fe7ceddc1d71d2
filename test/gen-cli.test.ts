// `tatami gan train`, `tatami generate` and `tatami restore` on the Fashion-MNIST subset shipped with Tatami and
// the shipped photos: run folders, report, grids, option errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { runCli } from '../src/cli/main.ts';

const root = mkdtempSync(join(tmpdir(), 'tt-gen-cli-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [],
    err: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => {
    out.push(a.join(' '));
  };
  try {
    const code = await runCli(['node', 'tatami', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
  }
}

test('gan train (dcgan) writes a run with a report and per-epoch grids; generate samples and interpolates it', async () => {
  const run = join(root, 'dcgan');
  const r = await cli(
    'gan',
    'train',
    '--model',
    'dcgan',
    '--data',
    'embedded',
    '--epochs',
    '2',
    '--steps-per-epoch',
    '2',
    '--batch-size',
    '8',
    '--width',
    '8',
    '--no-progress',
    '--out',
    run,
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /epoch 2\/2 · loss_D \d+\.\d+ · loss_G \d+\.\d+/);
  for (const f of [
    'config.json',
    'generator.safetensors',
    'discriminator.safetensors',
    'report.md',
    'samples-epoch-1.png',
    'samples-epoch-2.png',
    'history.jsonl',
  ])
    assert.ok(existsSync(join(run, f)), f);
  // trained by fit: its epoch records carry the GAN step's D/G numbers (fit's loss is G's)
  const hist = readFileSync(join(run, 'history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);
  assert.equal(hist.length, 2);
  for (const k of ['trainLossD', 'trainLossG', 'trainDReal', 'trainDFake']) assert.ok(Number.isFinite(hist[1][k]), k);
  assert.ok(Math.abs(hist[1].trainLossG - hist[1].trainLoss) < 1e-6);
  const report = readFileSync(join(run, 'report.md'), 'utf8');
  assert.match(report, /\| 2 \| \d+\.\d+ \| \d+\.\d+ .*!\[epoch 2\]\(samples-epoch-2\.png\)/);
  const grid = tt.readImage(join(run, 'samples-epoch-1.png'));
  assert.deepEqual(grid.shape.slice(1), [8 * 30 + 2, 8 * 30 + 2]); // 64 samples of 28 px, 2 px padding
  const out = join(root, 'g.png');
  const g = await cli('generate', '--run', run, '--n', '12', '--nrow', '4', '--out', out);
  assert.equal(g.code, 0, g.err);
  assert.deepEqual(tt.readImage(out).shape.slice(1), [3 * 30 + 2, 4 * 30 + 2]);
  const walk = join(root, 'walk.png');
  assert.equal((await cli('generate', '--run', run, '--n', '8', '--interpolate', '--out', walk)).code, 0);
  assert.ok(existsSync(walk));
  const bad = await cli('generate', '--run', run, '--class', '3', '--out', out);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /tatami generate: --class needs a conditional GAN run \(this run is dcgan\)/);
});

test('gan train (cgan, hinge) and generate --class by name; option errors name the option', async () => {
  const run = join(root, 'cgan');
  const r = await cli(
    'gan',
    'train',
    '--model',
    'cgan',
    '--loss',
    'hinge',
    '--data',
    'embedded',
    '--epochs',
    '1',
    '--steps-per-epoch',
    '2',
    '--batch-size',
    '8',
    '--width',
    '8',
    '--no-progress',
    '--out',
    run,
  );
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).model, 'cgan');
  const out = join(root, 'sneakers.png');
  const g = await cli('generate', '--run', run, '--class', 'sneaker', '--n', '8', '--out', out);
  assert.equal(g.code, 0, g.err);
  assert.match(g.out, /class Sneaker/);
  const e1 = await cli('generate', '--run', run, '--class', 'zebra', '--out', out);
  assert.match(e1.err, /--class must be a class index 0–9 or one of/);
  const e2 = await cli('gan', 'train', '--model', 'stylegan', '--out', run);
  assert.match(e2.err, /--model must be one of dcgan, cgan, got 'stylegan'/);
  const e3 = await cli('gan', 'train', '--loss', 'wasserstein', '--out', run);
  assert.match(e3.err, /--loss must be one of bce, lsgan, hinge, wgan-gp/);
  const e4 = await cli('generate', '--run', join(root, 'nowhere'));
  assert.match(e4.err, /--run .*nowhere.*config\.json is missing/);
});

test('restore: DnCNN keeps the size (each channel of an RGB photo), ESPCN upscales by the r its weights give', async () => {
  tt.manualSeed(0);
  const dn = new tt.models.DnCNN({ depth: 4, features: 8 });
  const wd = join(root, 'dncnn.safetensors');
  await tt.saveSafetensors(wd, dn.stateDict());
  const photo = new URL('./fixtures/photos/astronaut_noisy.png', import.meta.url).pathname;
  const out = join(root, 'restored.png');
  const r = await cli('restore', '--model', 'dncnn', '--weights', wd, photo, out);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(tt.readImage(out).shape, [3, 64, 64]);
  // the CLI equals the model applied per channel plane
  dn.eval();
  const img = tt.readImage(photo).to('float32').div(255);
  const expected = tt.noGrad(() => dn.forward(img.unsqueeze(1)).squeeze(1).clamp(0, 1).mul(255).round());
  assert.ok(tt.readImage(out).to('float32').sub(expected).abs().max().item() <= 1);
  const es = new tt.models.ESPCN({ upscaleFactor: 2 });
  const we = join(root, 'espcn.safetensors');
  await tt.saveSafetensors(we, es.stateDict());
  assert.equal((await cli('restore', '--model', 'espcn', '--weights', we, photo, out)).code, 0);
  assert.deepEqual(tt.readImage(out).shape, [3, 128, 128]);
  const bad = await cli('restore', '--model', 'srcnn', '--weights', wd, photo, out);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /tatami restore: --weights .*: no 4-D '0\.weight' tensor, so these are not srcnn weights/);
  assert.match(
    (await cli('restore', '--model', 'unet', '--weights', wd, photo, out)).err,
    /--model must be dncnn, srcnn or espcn, got 'unet'/,
  );
});

test('translate: a CycleGAN checkpoint (--direction BA) and a pix2pix U-Net, sizes read from the weights', async () => {
  tt.manualSeed(1);
  const net = new tt.models.CycleGAN({ ngf: 4, numBlocks: 2, ndf: 4 });
  const wc = join(root, 'cyclegan.safetensors');
  await tt.saveSafetensors(wc, net.stateDict());
  const photo = new URL('./fixtures/photos/astronaut.png', import.meta.url).pathname;
  const out = join(root, 'translated.png');
  const r = await cli('translate', '--model', 'cyclegan', '--weights', wc, '--direction', 'BA', photo, out);
  assert.equal(r.code, 0, r.err);
  net.eval();
  const x = tt.readImage(photo).to('float32').div(255).unsqueeze(0).mul(2).sub(1);
  const expected = tt.noGrad(() => net.generatorBA.forward(x).add(1).div(2).clamp(0, 1).squeeze(0).mul(255).round());
  assert.ok(tt.readImage(out).to('float32').sub(expected).abs().max().item() <= 1, 'the CLI output is generatorBA(x)');
  const unet = new tt.models.UnetGenerator(3, 1, { numDowns: 5, ngf: 4 });
  const wu = join(root, 'unet.safetensors');
  await tt.saveSafetensors(wu, unet.stateDict());
  assert.equal((await cli('translate', '--model', 'pix2pix', '--weights', wu, photo, out)).code, 0);
  assert.deepEqual(tt.readImage(out).shape, [1, 64, 64]);
  const bad = await cli('translate', '--model', 'pix2pix', '--weights', wc, photo, out);
  assert.match(bad.err, /tatami translate: --weights .*: no 4-D 'model\.model\.0\.weight' tensor/);
  assert.match(
    (await cli('translate', '--model', 'stargan', '--weights', wc, photo, out)).err,
    /--model must be cyclegan or pix2pix/,
  );
});

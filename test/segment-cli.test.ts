/** `tatami segment train | eval | predict` end to end on a few tiny procedural scenes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as tt from '../src/index.ts';
import { registerSegmentCommands } from '../src/cli/segment.ts';

test('segment train writes a run; eval prints per-class IoU; predict writes a palette mask and an overlay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tt-segcli-'));
  const logs: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => {
    logs.push(a.join(' '));
  };
  try {
    const p = new Command('tatami').exitOverride();
    registerSegmentCommands(p);
    tt.manualSeed(0);
    const run = join(dir, 'run');
    await p.parseAsync([
      'node',
      'tatami',
      'segment',
      'train',
      '--model-options',
      '{"baseChannels":4,"depth":2}',
      '--scenes',
      '16',
      '--size',
      '32',
      '--epochs',
      '1',
      '--batch-size',
      '8',
      '--out',
      run,
    ]);
    for (const f of ['config.json', 'history.jsonl', 'best.safetensors']) assert.ok(existsSync(join(run, f)), f);
    const h = JSON.parse(readFileSync(join(run, 'history.jsonl'), 'utf8').trim());
    assert.equal(typeof h.valMIoU, 'number');
    await p.parseAsync(['node', 'tatami', 'segment', 'eval', '--run', run]);
    assert.ok(
      logs.some((l) => /^circle\s+IoU/.test(l)),
      logs.join('\n'),
    );
    assert.ok(logs.some((l) => /mIoU \d\.\d{4} · pixelAccuracy/.test(l)));
    const img = join(dir, 'scene.png');
    tt.writeImage(img, new tt.data.SegmentationScenes({ n: 1, size: 32, seed: 9 }).get(0)[0]);
    const mask = join(dir, 'mask.png');
    await p.parseAsync(['node', 'tatami', 'segment', 'predict', img, '--run', run, '--out', mask]);
    const m = tt.decodeIndexedPng(readFileSync(mask));
    assert.deepEqual([m.width, m.height], [32, 32]);
    assert.ok(Array.from(m.indices).every((v) => v < 6));
    assert.deepEqual(tt.readImage(join(dir, 'mask-overlay.png')).shape, [3, 32, 32]);
    await assert.rejects(
      p.parseAsync(['node', 'tatami', 'segment', 'predict', img]),
      /pass --run DIR, or --model NAME with --weights FILE/,
    );
    // torchvision-style weights with an aux head (as its pretrained files have) predict with the main head only.
    const weights = join(dir, 'lraspp.safetensors');
    const src = tt.models.segmentation.deeplabv3_mobilenet_v3_large({ numClasses: 4, auxLoss: true });
    await tt.saveSafetensors(weights, src.stateDict());
    await p.parseAsync([
      'node',
      'tatami',
      'segment',
      'predict',
      img,
      '--model',
      'deeplabv3_mobilenet_v3_large',
      '--weights',
      weights,
      '--num-classes',
      '4',
      '--out',
      join(dir, 'dl.png'),
    ]);
    src.eval();
    // Same as running the model on the ImageNet-normalised image.
    const u8 = tt.readImage(img, { mode: 'rgb' });
    const mean = tt.tensor([0.485, 0.456, 0.406]).reshape([3, 1, 1]),
      std = tt.tensor([0.229, 0.224, 0.225]).reshape([3, 1, 1]);
    const xin = tt.div(tt.sub(tt.div(tt.to(u8, 'float32'), 255), mean), std).unsqueeze(0);
    const expected = tt.argmax(tt.noGrad(() => src.forward(xin)).out, 1).dataView();
    assert.deepEqual(Array.from(tt.decodeIndexedPng(readFileSync(join(dir, 'dl.png'))).indices), Array.from(expected));
  } finally {
    console.log = orig;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tatami train --task segment, eval and predict dispatch on segmentation runs; the report has image | truth | prediction rows', async () => {
  const { registerTrain } = await import('../src/cli/train.ts');
  const { registerEval } = await import('../src/cli/eval.ts');
  const { registerPredict } = await import('../src/cli/predict.ts');
  const dir = mkdtempSync(join(tmpdir(), 'tt-segtrain-'));
  const logs: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => {
    logs.push(a.join(' '));
  };
  try {
    const p = new Command('tatami').exitOverride();
    registerTrain(p);
    registerEval(p);
    registerPredict(p);
    const run = join(dir, 'run');
    await p.parseAsync([
      'node',
      'tatami',
      'train',
      '--task',
      'segment',
      '--model',
      'unet',
      '--model-options',
      '{"baseChannels":4,"depth":2}',
      '--scenes',
      '16',
      '--image-size',
      '32',
      '--epochs',
      '1',
      '--batch-size',
      '8',
      '--schedule',
      'onecycle',
      '--no-progress',
      '--report',
      '--out',
      run,
    ]);
    for (const f of ['config.json', 'history.jsonl', 'best.safetensors', 'model.safetensors', 'report.html'])
      assert.ok(existsSync(join(run, f)), f);
    const cfg = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    assert.equal(cfg.task, 'segment');
    assert.equal(cfg.size, 32);
    assert.deepEqual(cfg.modelOptions, { baseChannels: 4, depth: 2 });
    assert.ok(
      logs.some((l) => /^per-class IoU: background \d\.\d{3}, circle/.test(l)),
      logs.join('\n'),
    );
    const html = readFileSync(join(run, 'report.html'), 'utf8');
    assert.match(html, /Image \| ground truth \| prediction/);
    assert.match(html, /<td>triangle<\/td><td>(\d\.\d{3}|–)<\/td>/);
    assert.match(html, /src="data:image\/png;base64,/);
    logs.length = 0;
    await p.parseAsync(['node', 'tatami', 'eval', '--run', run]);
    assert.ok(
      logs.some((l) => /^star\s+IoU (\d\.\d{4}|\s+-)$/.test(l)),
      logs.join('\n'),
    );
    assert.ok(
      logs.some((l) => /^mIoU \d\.\d{4} · pixelAccuracy \d\.\d{4} · fwIoU/.test(l)),
      logs.join('\n'),
    );
    const img = join(dir, 'scene.png');
    tt.writeImage(img, new tt.data.SegmentationScenes({ n: 1, size: 32, seed: 9 }).get(0)[0]);
    const mask = join(dir, 'pred.png');
    await p.parseAsync(['node', 'tatami', 'predict', img, '--run', run, '--out', mask]);
    const m = tt.decodeIndexedPng(readFileSync(mask));
    assert.deepEqual([m.width, m.height], [32, 32]);
    // The mask is the run's model's argmax on the [0, 1] image.
    const model = tt.models.segmentation.unet({ numClasses: 6, baseChannels: 4, depth: 2 });
    model.loadStateDict(
      (await (await import('../src/train/checkpoint.ts')).readCheckpoint(join(run, 'best.safetensors'))).model,
    );
    model.eval();
    const x = tt.div(tt.to(tt.readImage(img, { mode: 'rgb' }), 'float32'), 255).unsqueeze(0);
    assert.deepEqual(Array.from(m.indices), Array.from(tt.argmax(tt.noGrad(() => model.forward(x)).out, 1).dataView()));
    assert.deepEqual(tt.readImage(join(dir, 'pred-overlay.png')).shape, [3, 32, 32]);
    // --tta d4: the mask is the argmax of the mean softmax over the 8 symmetries (SegmentationTTA's own tests check
    // the averaging); eval with --tta names it and prints the table.
    await p.parseAsync(['node', 'tatami', 'predict', img, '--run', run, '--out', mask, '--tta', 'd4']);
    const d4 = new tt.models.segmentation.SegmentationTTA(model, { mode: 'd4' });
    assert.deepEqual(
      Array.from(tt.decodeIndexedPng(readFileSync(mask)).indices),
      Array.from(tt.argmax(tt.noGrad(() => d4.forward(x)).out, 1).dataView()),
    );
    logs.length = 0;
    await p.parseAsync(['node', 'tatami', 'eval', '--run', run, '--tta', 'flips']);
    assert.ok(
      logs.some((l) => /flips test-time augmentation\)$/.test(l)),
      logs.join('\n'),
    );
    assert.ok(
      logs.some((l) => /^mIoU \d\.\d{4} · /.test(l)),
      logs.join('\n'),
    );
    await assert.rejects(p.parseAsync(['node', 'tatami', 'eval', '--run', run, '--tta', 'rot90']), /--tta.*rot90/s);
    await assert.rejects(
      p.parseAsync(['node', 'tatami', 'predict', img, '--model', 'resnet18', '--tta', 'd4']),
      /--tta applies to segmentation runs and models only/,
    );
    await assert.rejects(
      p.parseAsync(['node', 'tatami', 'predict', img, img, '--run', run, '--out', mask]),
      /--out names one mask file but 2 images/,
    );
    await assert.rejects(
      p.parseAsync(['node', 'tatami', 'train', '--task', 'segment', '--model-options', '[1]', '--out', run]),
      /--model-options must be a JSON object/,
    );
  } finally {
    console.log = orig;
    rmSync(dir, { recursive: true, force: true });
  }
});

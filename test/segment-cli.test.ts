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
  console.log = (...a: unknown[]) => { logs.push(a.join(' ')); };
  try {
    const p = new Command('tatami').exitOverride();
    registerSegmentCommands(p);
    tt.manualSeed(0);
    const run = join(dir, 'run');
    await p.parseAsync(['node', 'tatami', 'segment', 'train', '--model-options', '{"baseChannels":4,"depth":2}', '--scenes', '16', '--size', '32',
      '--epochs', '1', '--batch-size', '8', '--out', run]);
    for (const f of ['config.json', 'history.jsonl', 'best.safetensors']) assert.ok(existsSync(join(run, f)), f);
    const h = JSON.parse(readFileSync(join(run, 'history.jsonl'), 'utf8').trim());
    assert.equal(typeof h.valMIoU, 'number');
    await p.parseAsync(['node', 'tatami', 'segment', 'eval', '--run', run]);
    assert.ok(logs.some((l) => /^circle\s+IoU/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /mIoU \d\.\d{4} · pixelAccuracy/.test(l)));
    const img = join(dir, 'scene.png');
    tt.writeImage(img, new tt.data.SegmentationScenes({ n: 1, size: 32, seed: 9 }).get(0)[0]);
    const mask = join(dir, 'mask.png');
    await p.parseAsync(['node', 'tatami', 'segment', 'predict', img, '--run', run, '--out', mask]);
    const m = tt.decodeIndexedPng(readFileSync(mask));
    assert.deepEqual([m.width, m.height], [32, 32]);
    assert.ok(Array.from(m.indices).every((v) => v < 6));
    assert.deepEqual(tt.readImage(join(dir, 'mask-overlay.png')).shape, [3, 32, 32]);
    await assert.rejects(p.parseAsync(['node', 'tatami', 'segment', 'predict', img]), /pass --run DIR, or --model NAME with --weights FILE/);
    // torchvision-style weights with an aux head (as its pretrained files have) predict with the main head only.
    const weights = join(dir, 'lraspp.safetensors');
    const src = tt.models.segmentation.deeplabv3_mobilenet_v3_large({ numClasses: 4, auxLoss: true });
    await tt.saveSafetensors(weights, src.stateDict());
    await p.parseAsync(['node', 'tatami', 'segment', 'predict', img, '--model', 'deeplabv3_mobilenet_v3_large', '--weights', weights, '--num-classes', '4', '--out', join(dir, 'dl.png')]);
    src.eval();
    // Same as running the model on the ImageNet-normalised image.
    const u8 = tt.readImage(img, { mode: 'rgb' });
    const mean = tt.tensor([0.485, 0.456, 0.406]).reshape([3, 1, 1]), std = tt.tensor([0.229, 0.224, 0.225]).reshape([3, 1, 1]);
    const xin = tt.div(tt.sub(tt.div(tt.to(u8, 'float32'), 255), mean), std).unsqueeze(0);
    const expected = tt.argmax(tt.noGrad(() => src.forward(xin)).out, 1).dataView();
    assert.deepEqual(Array.from(tt.decodeIndexedPng(readFileSync(join(dir, 'dl.png'))).indices), Array.from(expected));
  } finally {
    console.log = orig;
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The `tatami` command on real data beyond 1×28×28: an image folder (RGB PNGs of another size), CIFAR-10 binary
 * batches, zoo models fed at their own input size, `--optimizer sam`, `--run` on the viz commands; and the
 * validation errors of issue 13 (item 8), each naming the option or path and what was expected.
 *
 * The image folder and the CIFAR-10 files are written from the Fashion-MNIST subset that ships with Tatami (real
 * images, resized/padded to the format), so the test needs no download.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { runCli } from '../src/cli/main.ts';
import { formatError } from '../src/cli/common.ts';
import { DEFAULT_TRAIN_CONFIG, makeOptimizer } from '../src/cli/train.ts';

const root = mkdtempSync(join(tmpdir(), 'tt-cli-real-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log,
    error = console.error;
  console.log = (...a: unknown[]) => {
    out.push(a.join(' '));
  };
  console.error = (...a: unknown[]) => {
    err.push(a.join(' '));
  };
  const prevCode = process.exitCode;
  process.exitCode = undefined;
  try {
    const code = await runCli(['node', 'tatami', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
    process.exitCode = prevCode;
  }
}

const fashion = new tt.data.FashionMNIST({ train: false, subset: 'embedded' });
const CLASSES = [0, 1, 8]; // T-shirt/top, Trouser, Bag

/** Fashion-MNIST test images of the three classes, as RGB [3, 36, 36] in [0, 1] (another size and channel count). */
function imagesOf(cls: number, n: number, skip: number): tt.Tensor[] {
  const out: tt.Tensor[] = [];
  for (let i = 0, seen = 0; i < fashion.length && out.length < n; i++) {
    const [x, y] = fashion.get(i);
    if (y !== cls || seen++ < skip) continue;
    const big = tt.F.interpolate(x.reshape([1, 1, 28, 28]), { size: [36, 36], mode: 'bilinear', alignCorners: false });
    out.push(big.reshape([1, 36, 36]).expand([3, 36, 36]).contiguous().clamp(0, 1));
  }
  return out;
}

function makeFolder(): string {
  const dir = join(root, 'folder');
  for (const [split, n, skip] of [
    ['train', 24, 0],
    ['test', 8, 24],
  ] as const) {
    for (const c of CLASSES) {
      const name = tt.data.FashionMNIST.classes[c].replace(/\W+/g, '_');
      mkdirSync(join(dir, split, name), { recursive: true });
      imagesOf(c, n, skip).forEach((img, k) => tt.writeImage(join(dir, split, name, `${k}.png`), img));
    }
  }
  return dir;
}

/** CIFAR-10 binary batches: 3073-byte records (label, then R, G, B planes of 32×32), from padded Fashion-MNIST images. */
function makeCifar(): string {
  const dir = join(root, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  const record = (i: number): Uint8Array => {
    const [x, y] = fashion.get(i);
    const r = new Uint8Array(3073);
    r[0] = y;
    const d = x.dataView();
    for (let c = 0; c < 3; c++)
      for (let h = 0; h < 28; h++)
        for (let w = 0; w < 28; w++) r[1 + c * 1024 + (h + 2) * 32 + (w + 2)] = Math.round(d[h * 28 + w] * 255);
    return r;
  };
  const batch = (from: number, n: number) => Buffer.concat(Array.from({ length: n }, (_, k) => record(from + k)));
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), batch((b - 1) * 16, 16));
  writeFileSync(join(dir, 'test_batch.bin'), batch(80, 20));
  return dir;
}

test('train on an image folder (RGB 36×36 → small_cnn 1×28×28), then eval, predict and gradcam --run read the run', async () => {
  const data = makeFolder();
  const out = join(root, 'run-folder');
  const r = await cli(
    'train',
    '--dataset',
    'folder',
    '--data',
    data,
    '--epochs',
    '2',
    '--batch-size',
    '12',
    '--lr',
    '3e-3',
    '--val-split',
    '0.25',
    '--no-progress',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /train: small_cnn \(420,739 parameters, input 1×28×28\) on folder \[.*folder\/train\]: 54 train \/ 18 val \/ 24 test images/,
  );
  assert.match(r.out, new RegExp(`wrote ${out}/model.safetensors, ${out}/config.json, ${out}/history.jsonl`));
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
    classes: string[];
    inputShape: number[];
    normalize: unknown;
  };
  assert.deepEqual(cfg.classes, ['Bag', 'T_shirt_top', 'Trouser']);
  assert.deepEqual(cfg.inputShape, [1, 28, 28]);
  assert.equal(cfg.normalize, null);
  const acc = Number(/test accuracy (\d+\.\d+)%/.exec(r.out)![1]);
  assert.ok(acc > 60, `3 easy classes after 2 epochs: ${acc}%`);

  const e = await cli('eval', '--run', out);
  assert.equal(e.code, 0, e.err);
  assert.match(e.out, /accuracy \d+\.\d+% · top-5 100\.00% · loss \d\.\d+ · 24 images/);
  assert.match(e.out, /Trouser\s+\d\.\d{3}/);

  const img = join(data, 'test', 'Trouser', '0.png');
  const p = await cli('predict', img, '--run', out, '--topk', '2');
  assert.equal(p.code, 0, p.err);
  assert.match(p.out, /Trouser\.png|0\.png\n\s+\d+\.\d+%\s+(Trouser|Bag|T_shirt_top)\n/);
  assert.equal(p.out.split('\n').filter((l) => /%/.test(l)).length, 2);

  const cam = join(root, 'cam.png');
  const g = await cli('gradcam', '--run', out, '--image', img, '--out', cam);
  assert.equal(g.code, 0, g.err);
  assert.ok(existsSync(cam));
  assert.match(g.out, new RegExp(`${cam}: gradcam of layer '.+' for class \\d \\((Bag|T_shirt_top|Trouser)\\)`));

  const svg = join(root, 'graph.svg');
  const gr = await cli('graph', '--run', out, '--out', svg);
  assert.equal(gr.code, 0, gr.err);
  assert.match(gr.out, new RegExp(`${svg}: \\d+ modules, output 1×3`));
});

test('train on CIFAR-10 batches with a CIFAR ResNet and --optimizer sam; small_cnn takes the same data converted', async () => {
  const data = makeCifar();
  const out = join(root, 'run-cifar');
  const r = await cli(
    'train',
    '--dataset',
    'cifar10',
    '--data',
    data,
    '--no-check-integrity',
    '--model',
    'resnet20',
    '--optimizer',
    'sam',
    '--lr',
    '0.05',
    '--epochs',
    '1',
    '--batch-size',
    '16',
    '--val-split',
    '0',
    '--no-progress',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /resnet20 \(269,722 parameters, input 3×32×32\) on cifar10 .*: 80 train \/ 0 val \/ 20 test images .* sam lr 0\.05/,
  );
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
    classes: string[];
    inputShape: number[];
    normalize: { mean: number[] };
  };
  assert.deepEqual(cfg.inputShape, [3, 32, 32]);
  assert.deepEqual(cfg.normalize.mean, [0.485, 0.456, 0.406]);
  assert.equal(cfg.classes[9], 'truck');
  const hist = readFileSync(join(out, 'history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { trainLoss: number });
  assert.equal(hist.length, 1);
  assert.ok(Number.isFinite(hist[0].trainLoss));

  const out2 = join(root, 'run-cifar-small');
  const s = await cli(
    'train',
    '--dataset',
    'cifar10',
    '--data',
    data,
    '--no-check-integrity',
    '--model',
    'small_cnn',
    '--epochs',
    '1',
    '--batch-size',
    '40',
    '--val-split',
    '0',
    '--no-progress',
    '--out',
    out2,
  );
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /small_cnn .*input 1×28×28\) on cifar10/);
  const bad = await cli(
    'train',
    '--dataset',
    'cifar10',
    '--data',
    data,
    '--no-check-integrity',
    '--model',
    'small_cnn',
    '--image-size',
    '32',
    '--out',
    join(root, 'never'),
  );
  assert.equal(bad.code, 1);
  assert.match(
    bad.err,
    /^tatami train: --model small_cnn cannot take 1×32×32 inputs \(.+\); its own input size is 1×28×28/,
  );
});

test('train --optimizer sam: fit drives the SAM the CLI builds; one step equals SAM.step(closure)', async () => {
  tt.manualSeed(3);
  const x = tt.randn([6, 4]);
  const y = tt.tensor(Int32Array.from([0, 1, 2, 0, 1, 2]), [6], { dtype: 'int32' });
  const a = new tt.nn.Linear(4, 3);
  const b = new tt.nn.Linear(4, 3);
  b.loadStateDict(a.stateDict());
  const loss = (o: tt.Tensor, t: tt.Tensor) => tt.F.crossEntropy(o, t);
  const cfg = { ...DEFAULT_TRAIN_CONFIG, optimizer: 'sam' as const, lr: 0.1, rho: 0.2, momentum: 0.9 };
  // Reference: SAM's own closure step, with the options the CLI passes (Foret et al.: SGD with momentum inside).
  const samA = new tt.optim.SAM(a.parameters(), tt.optim.SGD, { lr: 0.1, rho: 0.2, momentum: 0.9, weightDecay: 0 });
  samA.zeroGrad();
  loss(a.forward(x), y).backward();
  samA.step(() => {
    const l = loss(a.forward(x), y);
    l.backward();
    return l;
  });
  // The CLI's optimizer, driven by fit over the same single batch.
  const samB = makeOptimizer(cfg, b.parameters());
  assert.ok(samB instanceof tt.optim.SAM);
  const loader = new tt.data.DataLoader(new tt.data.TensorDataset(x, y), { batchSize: 6 });
  await tt.fit(b, loader, { epochs: 1, optimizer: samB, loss, log: () => {} });
  assert.deepEqual(Array.from(b.weight.dataView()), Array.from(a.weight.dataView()));
  assert.deepEqual(Array.from(b.bias!.dataView()), Array.from(a.bias!.dataView()));
});

test('bad options and run folders: one line naming the option or path and what was expected (issue 13, item 8)', async () => {
  const cases: [string[], RegExp][] = [
    [
      ['train', '--val-split', '1'],
      /^tatami train: option '--val-split <x>' argument '1' is invalid\. --val-split must be a fraction in \[0, 1\)/,
    ],
    [['train', '--val-split', '1.5'], /--val-split must be a fraction in \[0, 1\) .*got '1\.5'/],
    [
      ['train', '--out', ''],
      /^tatami train: option '--out <dir>' argument '' is invalid\. --out must be a non-empty path/,
    ],
    [['train', '--epochs', '2.5'], /--epochs must be a positive integer, got '2\.5'/],
    [['train', '--label-smoothing', '1.5'], /--label-smoothing must be a number in \[0, 1\], got '1\.5'/],
    [['train', '--dataset', 'folder'], /^tatami train: --dataset folder needs --data <dir>/],
    [
      ['train', '--dataset', 'folder', '--data', '/nonexistent-tatami'],
      /^tatami train: --data \/nonexistent-tatami: no such folder \(expected an image folder/,
    ],
    [
      ['summary', '--model', 'small_cnn', '--input', '3,-5,abc'],
      /^tatami summary: option '--input <shape>' argument '3,-5,abc' is invalid\. --input expects C,H,W as positive integers separated by commas, got '3,-5,abc' \(not positive integers: '-5', 'abc'\)/,
    ],
    [
      ['summary', '--model', 'small_cnn', '--input', '1,4,4'],
      /^tatami summary: --model small_cnn cannot take input 1×4×4 \(.+\); its own input is 1×28×28/,
    ],
    [['summary'], /^tatami summary: --model <name> or --run <dir> is required/],
    [
      ['features', '--index', 'abc'],
      /^tatami features: option '--index <n>' argument 'abc' is invalid\. --index must be a non-negative integer, got 'abc'/,
    ],
    [
      ['attack', '--eps', '0,x'],
      /^tatami attack: option '-e, --eps <list>' argument '0,x' is invalid\. --eps must be comma-separated numbers in \[0, 1\], got '0,x' \(bad: 'x'\)/,
    ],
    [
      ['maximize', '--channels', '1,-2'],
      /^tatami maximize: option '-c, --channels <list>' argument '1,-2' is invalid\. --channels must be comma-separated non-negative integers, got '1,-2'/,
    ],
    [
      ['graph', '--input-size', '3,0'],
      /^tatami graph: option '--input-size <c,h,w>' argument '3,0' is invalid\. --input-size expects C,H,W as positive integers/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.err, re, args.join(' '));
    assert.ok(!/tatami: tatami|tatami \w+: tatami/.test(r.err), `no doubled prefix: ${r.err}`);
  }

  const empty = join(root, 'empty-run');
  mkdirSync(empty);
  const resume = await cli('train', '--resume', '--out', empty, '--subset', 'embedded');
  assert.equal(resume.code, 1);
  assert.match(
    resume.err,
    new RegExp(`^tatami train: --resume: nothing to resume in ${empty} \\(${empty}/last\\.safetensors not found\\)`),
  );

  const missing = join(root, 'no-such-run');
  const broken = join(root, 'broken-run');
  mkdirSync(broken);
  writeFileSync(join(broken, 'config.json'), '{"model": "small_cnn", ');
  const wrong = join(root, 'wrong-run');
  mkdirSync(wrong);
  writeFileSync(join(wrong, 'config.json'), JSON.stringify({ model: 5, classes: [] }));
  const dirConfig = join(root, 'dir-config-run');
  mkdirSync(join(dirConfig, 'config.json'), { recursive: true });
  const noWeights = join(root, 'no-weights-run');
  mkdirSync(noWeights);
  writeFileSync(join(noWeights, 'config.json'), JSON.stringify({ model: 'small_cnn', classes: ['a', 'b'] }));
  const probe = join(root, 'probe.png');
  tt.writeImage(probe, tt.full([1, 8, 8], 0.5));
  for (const cmd of [['eval'], ['predict', probe], ['gradcam'], ['features']]) {
    const name = cmd[0];
    const expect: [string, RegExp][] = [
      [
        missing,
        new RegExp(
          `^tatami ${name}: --run ${missing}: no such folder \\(expected the output folder of \`tatami train\`\\)`,
        ),
      ],
      [empty, new RegExp(`^tatami ${name}: --run ${empty}: ${empty}/config\\.json is missing`)],
      [broken, new RegExp(`^tatami ${name}: --run ${broken}: ${broken}/config\\.json is not valid JSON \\(.+\\)`)],
      [wrong, /"model" must be a model name, got 5; "classes" must be a non-empty array of class names, got \[\]/],
      [dirConfig, /config\.json is not a file/],
      [noWeights, new RegExp(`${noWeights}/model\\.safetensors is missing \\(the run did not finish`)],
    ];
    for (const [dir, re] of expect) {
      const r = await cli(...cmd, '--run', dir);
      assert.equal(r.code, 1, `${name} --run ${dir}`);
      assert.match(r.err, re, `${name} --run ${dir}`);
    }
  }
});

test('formatError: one `tatami <command>:` prefix whatever the message carries', () => {
  assert.equal(formatError('train', new Error('tatami train: model x')), 'tatami train: model x');
  assert.equal(formatError('train', new Error('train: model x')), 'tatami train: model x');
  assert.equal(
    formatError('eval', new Error('ImageFolder: /x: directory not found')),
    'tatami eval: ImageFolder: /x: directory not found',
  );
  assert.equal(formatError('', new Error('tatami: boom')), 'tatami: boom');
});

test('--version prints the package version; --help lists every command', async () => {
  const v = await cli('--version');
  assert.equal(v.code, 0);
  assert.equal(v.out.trim(), JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  const h = await cli('--help');
  assert.equal(h.code, 0);
  for (const c of ['train', 'summary', 'models', 'predict', 'eval', 'features', 'gradcam', 'info'])
    assert.match(h.out, new RegExp(`\\n  ${c}\\b`));
});

/** Typed option parsing: every numeric, list, shape and enum option rejects bad values at parse time, naming the option. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../src/cli/main.ts';
import { choice, intList, numberList, positiveNumber, shapeOption } from '../src/cli/common.ts';

async function run(...args: string[]): Promise<{ code: number; err: string }> {
  const err: string[] = [];
  const code = await runCli(['node', 'tatami', ...args], { out: () => {}, err: (s) => err.push(s) });
  return { code, err: err.join('') };
}

test('option parsers: values, and errors naming the option and what was expected', () => {
  assert.deepEqual(intList('--channels')('0, 3,12'), [0, 3, 12]);
  assert.throws(
    () => intList('--channels')('1,2.5,x'),
    /--channels must be comma-separated non-negative integers, got '1,2.5,x' \(not non-negative integers: '2.5', 'x'\)/,
  );
  assert.deepEqual(numberList('--eps', 0, 1)('0,0.5,1'), [0, 0.5, 1]);
  assert.throws(
    () => numberList('--eps', 0, 1)('0,2,'),
    /--eps must be comma-separated numbers in \[0, 1\], got '0,2,' \(bad: '2', ''\)/,
  );
  assert.equal(choice('--method', ['ae', 'knn'] as const)('knn'), 'knn');
  assert.throws(() => choice('--method', ['ae', 'knn'] as const)('AE'), /--method must be one of ae, knn, got 'AE'/);
  assert.equal(positiveNumber('--lr')('1e-3'), 1e-3);
  for (const bad of ['0', '-1', 'abc', '', 'Infinity'])
    assert.throws(() => positiveNumber('--lr')(bad), /--lr must be a positive number/);
  assert.deepEqual(shapeOption('--input')('3,32,32'), [3, 32, 32]);
  assert.throws(() => shapeOption('--input')('3,32'), /--input expects C,H,W as positive integers/);
});

test('the CLI refuses bad option values before running anything', async () => {
  const cases: [string[], RegExp][] = [
    [['attack', '--eps', '0,0.1,2'], /tatami attack: .*--eps must be comma-separated numbers in \[0, 1\]/],
    [['attack', '--attack', 'cw'], /--attack must be one of fgsm, pgd, got 'cw'/],
    [['anomaly', '--method', 'svm'], /--method must be one of ae, knn, both, got 'svm'/],
    [['maximize', '--channels', '1,1.5'], /--channels must be comma-separated non-negative integers/],
    [['features', '--cmap', 'rainbow'], /--cmap must be one of viridis, jet, inferno, gray/],
    [['gradcam', '--method', 'cam'], /--method must be one of gradcam, gradcam\+\+/],
    [
      ['graph', '--input-size', '3,x,28'],
      /--input-size expects C,H,W as positive integers separated by commas, got '3,x,28'/,
    ],
    [['summary', '--model', 'resnet18', '--input', '0,1,1'], /--input expects C,H,W/],
    [['segment', 'train', '--lr', 'fast'], /--lr must be a positive number, got 'fast'/],
    [['segment', 'train', '--ignore-index', '2.5'], /--ignore-index must be an integer, got '2.5'/],
    [['segment', 'predict', 'x.png', '--normalize', 'yes'], /--normalize must be one of imagenet, none/],
  ];
  for (const [args, want] of cases) {
    const { code, err } = await run(...args);
    assert.notEqual(code, 0, args.join(' '));
    assert.match(err, want, args.join(' '));
  }
});

/**
 * A W2/W10 model's forward under two or more settings of environment variables, in one process: the settings
 * alternated in blocks (ABBA order), the median of each setting's block times and the paired ratios against the
 * first setting printed, and whether each setting's output has the first one's bits. For a developer build whose C
 * reads a variable on every call (`getenv`, which sees what `process.env` sets here): a threshold or a code path
 * switched at run time, measured against itself in neighbouring blocks — on a shared 2-core machine whole-model times
 * swing by a fifth within minutes, and separate processes compare different minutes (docs/kernels.md,
 * thirty-eighth session). Such a build is linked on its own and loaded with TATAMI_NATIVE_ADDON; with the
 * shipped build the settings change nothing, and the ratios show the noise floor.
 *
 * Usage: TATAMI_NATIVE_ADDON=/tmp/dev.node npx tsx tools/env-pairs.ts --set "TT_X=0;TT_X=1,TT_Y=2"
 *        [--model mobilenet_v3_large] [--batch 1] [--threads 2] [--calls 40] [--blocks 20]
 * (settings separated by ';', a setting's variables by ','; a variable named in any setting is unset in the others).
 */
import { manualSeed, noGrad, randn, setNumThreads, type Tensor } from '../src/index.js';
import { buildInferenceModel } from '../bench/inference.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const settings = opt('set', '')
  .split(';')
  .map((s) =>
    s
      .split(',')
      .filter(Boolean)
      .map((kv) => {
        const at = kv.indexOf('=');
        if (at <= 0) throw new Error(`env-pairs: '${kv}' is not NAME=value`);
        return [kv.slice(0, at), kv.slice(at + 1)] as const;
      }),
  );
if (settings.length < 2) throw new Error('env-pairs: --set needs two settings or more, separated by ";"');
const names = new Set(settings.flat().map(([k]) => k));
const calls = Number(opt('calls', '40'));
const blocks = Number(opt('blocks', '20'));
setNumThreads(Number(opt('threads', '2')));

const model = buildInferenceModel(opt('model', 'mobilenet_v3_large'), true);
manualSeed(1);
const x = randn([Number(opt('batch', '1')), 3, 224, 224]);
const apply = (v: number) => {
  for (const k of names) delete process.env[k];
  for (const [k, val] of settings[v]) process.env[k] = val;
};

const times: number[][] = settings.map(() => []);
const outputs: Float32Array[] = [];
noGrad(() => {
  for (let i = 0; i < 10; i++) model.forward(x);
  for (let blk = 0; blk < blocks; blk++)
    for (let s = 0; s < settings.length; s++) {
      const v = blk % 2 ? settings.length - 1 - s : s;
      apply(v);
      const y = model.forward(x) as Tensor; // one call to settle the setting (and to keep its output)
      if (blk === 0) outputs[v] = y.toTypedArray() as Float32Array;
      const t = performance.now();
      for (let i = 0; i < calls; i++) model.forward(x);
      times[v].push((performance.now() - t) / calls);
    }
});
for (const k of names) delete process.env[k];

const quantile = (a: number[], q: number) => [...a].sort((p, r) => p - r)[Math.floor(q * (a.length - 1))];
settings.forEach((s, v) => {
  const label = s.map((kv) => kv.join('=')).join(',') || '(none)';
  const same = outputs[v].every((e, i) => Object.is(e, outputs[0][i]));
  const line = `${label}: ms min ${quantile(times[v], 0).toFixed(3)} median ${quantile(times[v], 0.5).toFixed(3)}`;
  if (v === 0) return console.log(line);
  const ratios = times[v].map((t, i) => t / times[0][i]);
  console.log(
    `${line}; paired ratio to the first median ${quantile(ratios, 0.5).toFixed(3)} ` +
      `(p25 ${quantile(ratios, 0.25).toFixed(3)}, p75 ${quantile(ratios, 0.75).toFixed(3)}); ` +
      (same ? 'the same bits' : 'OTHER BITS'),
  );
});

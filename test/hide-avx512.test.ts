/**
 * The default path on a CPU without AVX-512, on whatever machine runs the suite: tools/hide-avx512.c makes the
 * child's `cpuid` answer without the AVX-512 bits (Linux x86-64 with CPUID faulting; skipped elsewhere, with the
 * reason). TATAMI_ISA=avx2 forces a build by name and skips the detection; here the addon's own detection must
 * pick the AVX2 build and refuse the AVX-512 one, and the default path's results — a convolution, a depthwise
 * convolution and a fused channels-last MobileNetV2 — must agree with the reference backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { HIDE_UNSUPPORTED, withAvx512Hidden } from '../tools/hide-avx512.ts';

const CHILD = `
const tt = await import(process.cwd() + '/src/index.ts');
const variants = tt.availableBackends({ variants: true });
const out = { name: tt.getBackendName(), avx512: variants.find((b) => b.name === 'native-avx512'), checks: {} };
// largest difference over the largest magnitude (MobileNetV2's initial logits are ~1e-3)
const maxRel = (a, b) => {
  const x = a.toTypedArray(), y = b.toTypedArray();
  let d = 0, s = 0;
  for (let i = 0; i < x.length; i++) (d = Math.max(d, Math.abs(x[i] - y[i]))), (s = Math.max(s, Math.abs(y[i])));
  return d / s;
};
const g = new tt.Generator(7);
const x = tt.randn([2, 24, 19, 17], { generator: g });
const w = tt.randn([40, 24, 3, 3], { generator: g }).mul(0.1);
const wd = tt.randn([24, 1, 3, 3], { generator: g }).mul(0.3);
tt.noGrad(() => {
  const both = (fn) => maxRel(fn(), tt.withBackend('reference', fn));
  out.checks.conv = both(() => tt.F.conv2d(x, w, null, { padding: 1 }));
  out.checks.depthwise = both(() => tt.F.conv2d(x, wd, null, { padding: 1, stride: 2, groups: 24 }));
  tt.manualSeed(3);
  const m = tt.models.mobilenet_v2({ numClasses: 10 }).eval();
  const img = tt.randn([1, 3, 64, 64], { generator: g });
  const plain = tt.withBackend('reference', () => m.forward(img));
  out.checks.mobilenet_v2 = maxRel(tt.nn.fuse(m, { freeze: true }).forward(img), plain);
});
console.log(JSON.stringify(out));
`;

test('without AVX-512 in cpuid the default path is the AVX2 build, and it agrees with the reference', (t) => {
  if (process.platform !== 'linux' || process.arch !== 'x64') return t.skip('Linux x86-64 only');
  if (process.env.TATAMI_BACKEND || process.env.TATAMI_ISA) return t.skip('a backend or ISA is forced');
  const r = withAvx512Hidden((env) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { env, encoding: 'utf8' }),
  );
  if (r.status === HIDE_UNSUPPORTED) return t.skip(`cpuid cannot fault here: ${r.stderr.trim()}`);
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  console.log(`# AVX-512 hidden: default ${out.name}; ${JSON.stringify(out.checks)}`);
  assert.equal(out.name, 'native-avx2');
  assert.equal(out.avx512.available, false, 'the AVX-512 build must refuse a CPU without AVX-512F');
  assert.ok(out.avx512.reason.length > 0);
  for (const [k, v] of Object.entries(out.checks as Record<string, number>))
    assert.ok(v <= 2e-5, `${k}: relative difference ${v} from the reference backend`);
});

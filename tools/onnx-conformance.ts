/**
 * Runs ONNX's own backend test cases (Debian's libonnx-testdata: /usr/share/libonnx-testdata/data/{node,
 * pytorch-converted, pytorch-operator, simple}/<case>/model.onnx with test_data_set_N/{input,output}_K.pb)
 * through Tatami's importer and prints pass / fail / unsupported counts per operator.
 *
 *   npm run onnx-conformance [-- --verbose] [-- --filter conv]
 *
 * A case is unsupported when the importer refuses it up front or with an OnnxUnsupportedError (an operator,
 * attribute value or element type Tatami does not implement); every other case must pass. Comparison is ONNX's
 * backend-test rule, numpy's assert_allclose with rtol 1e-3, atol 1e-7 (NaN equals NaN), plus equal shapes.
 * Exit status 1 if any supported case fails.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noGrad } from '../src/autograd/grad-mode.js';
import { Tensor } from '../src/tensor/tensor.js';
import { importModelBytes } from '../src/onnx/import.js';
import { decodeModel, decodeTensorProto, OnnxUnsupportedError, tensorFromProto } from '../src/onnx/proto.js';

export const TESTDATA = '/usr/share/libonnx-testdata/data';
export const SUITES = ['node', 'pytorch-converted', 'pytorch-operator', 'simple'];
const RTOL = 1e-3,
  ATOL = 1e-7;

export type Outcome = 'pass' | 'fail' | 'unsupported';
export interface CaseResult {
  suite: string;
  name: string;
  ops: string[];
  outcome: Outcome;
  detail: string;
}

function readPb(file: string): Tensor {
  return tensorFromProto(decodeTensorProto(new Uint8Array(readFileSync(file))));
}

/** Compares one output: shapes, then values with assert_allclose's rule (exact for integers and bools). */
function compare(got: Tensor, want: Tensor): string | null {
  if (got.shape.join(',') !== want.shape.join(',')) return `shape [${got.shape}] ≠ expected [${want.shape}]`;
  const g = got.toTypedArray(),
    w = want.toTypedArray();
  let worst = 0,
    at = -1;
  for (let i = 0; i < w.length; i++) {
    const a = g[i],
      b = w[i];
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (a === b) continue;
    const excess = Math.abs(a - b) - (ATOL + RTOL * Math.abs(b));
    if (!(excess <= 0) && (at < 0 || excess > worst)) {
      worst = excess;
      at = i;
    }
  }
  return at < 0 ? null : `element ${at}: ${g[at]} vs expected ${w[at]}`;
}

/** Runs one case directory. */
export function runCase(suite: string, dir: string): CaseResult {
  const name = dir.split('/').pop()!;
  const bytes = new Uint8Array(readFileSync(join(dir, 'model.onnx')));
  let ops: string[] = [];
  try {
    ops = [...new Set(decodeModel(bytes).graph?.node.map((n) => n.opType) ?? [])].sort();
  } catch (e) {
    return { suite, name, ops: ['(unparsable)'], outcome: 'unsupported', detail: (e as Error).message };
  }
  try {
    const model = importModelBytes(bytes, { requiresGrad: false });
    model.eval();
    const sets = readdirSync(dir)
      .filter((d) => d.startsWith('test_data_set_'))
      .sort();
    for (const set of sets) {
      const sd = join(dir, set);
      const files = readdirSync(sd);
      const inputs = files
        .filter((f) => /^input_\d+\.pb$/.test(f))
        .sort((a, b) => parseInt(a.slice(6)) - parseInt(b.slice(6)))
        .map((f) => readPb(join(sd, f)));
      const outputs = files
        .filter((f) => /^output_\d+\.pb$/.test(f))
        .sort((a, b) => parseInt(a.slice(7)) - parseInt(b.slice(7)))
        .map((f) => readPb(join(sd, f)));
      if (inputs.length !== model.inputNames.length)
        return {
          suite,
          name,
          ops,
          outcome: 'unsupported',
          detail: `${inputs.length} input files for ${model.inputNames.length} graph inputs (optional inputs)`,
        };
      const feeds: Record<string, Tensor> = {};
      model.inputNames.forEach((n, i) => (feeds[n] = inputs[i]));
      const got = noGrad(() => model.run(feeds));
      for (let k = 0; k < outputs.length; k++) {
        const why = compare(got[model.outputNames[k]], outputs[k]);
        if (why)
          return { suite, name, ops, outcome: 'fail', detail: `${set} output ${k} (${model.outputNames[k]}): ${why}` };
      }
    }
    return { suite, name, ops, outcome: 'pass', detail: '' };
  } catch (e) {
    const err = e as Error;
    if (err instanceof OnnxUnsupportedError) return { suite, name, ops, outcome: 'unsupported', detail: err.message };
    return { suite, name, ops, outcome: 'fail', detail: err.message.split('\n')[0] };
  }
}

/** Runs every case of the given suites (optionally only names containing `filter`). */
export function runConformance(opts: { filter?: string; suites?: string[] } = {}): CaseResult[] {
  const results: CaseResult[] = [];
  for (const suite of opts.suites ?? SUITES) {
    const root = join(TESTDATA, suite);
    if (!existsSync(root)) continue;
    for (const c of readdirSync(root).sort()) {
      if (opts.filter && !c.includes(opts.filter)) continue;
      const dir = join(root, c);
      if (!existsSync(join(dir, 'model.onnx'))) continue;
      results.push(runCase(suite, dir));
    }
  }
  return results;
}

/** Per-operator counts: a case counts once for each operator in its graph. */
export function countsByOp(results: CaseResult[]): Map<string, Record<Outcome, number>> {
  const m = new Map<string, Record<Outcome, number>>();
  for (const r of results) {
    for (const op of r.ops) {
      const c = m.get(op) ?? { pass: 0, fail: 0, unsupported: 0 };
      c[r.outcome]++;
      m.set(op, c);
    }
  }
  return new Map([...m.entries()].sort((a, b) => a[0].localeCompare(b[0])));
}

/** The report: the per-operator table, the totals, and each failure. */
export function formatReport(results: CaseResult[], verbose = false): string {
  const lines: string[] = ['operator                      pass  fail  unsupported'];
  for (const [op, c] of countsByOp(results)) {
    if (c.pass + c.fail === 0 && !verbose) continue;
    lines.push(
      `${op.padEnd(28)} ${String(c.pass).padStart(5)} ${String(c.fail).padStart(5)} ${String(c.unsupported).padStart(12)}`,
    );
  }
  const tot = { pass: 0, fail: 0, unsupported: 0 };
  for (const r of results) tot[r.outcome]++;
  lines.push(
    `cases: ${results.length} — pass ${tot.pass}, fail ${tot.fail}, unsupported ${tot.unsupported}` +
      (verbose ? '' : ' (operators with no supported case are hidden; --verbose lists them)'),
  );
  for (const r of results)
    if (r.outcome === 'fail') lines.push(`FAIL ${r.suite}/${r.name} [${r.ops.join(', ')}]: ${r.detail}`);
  if (verbose)
    for (const r of results)
      if (r.outcome === 'unsupported') lines.push(`unsupported ${r.suite}/${r.name}: ${r.detail.slice(0, 160)}`);
  return lines.join('\n');
}

const isMain = process.argv[1]?.endsWith('onnx-conformance.ts');
if (isMain) {
  if (!existsSync(TESTDATA)) {
    console.error(
      `onnx-conformance: ${TESTDATA} not found; install ONNX's backend test data with: apt-get install libonnx-testdata`,
    );
    process.exit(2);
  }
  const args = process.argv.slice(2);
  const fi = args.indexOf('--filter');
  const results = runConformance({ filter: fi >= 0 ? args[fi + 1] : undefined });
  console.log(formatReport(results, args.includes('--verbose')));
  process.exit(results.some((r) => r.outcome === 'fail') ? 1 : 0);
}

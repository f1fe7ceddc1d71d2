/**
 * ONNX's own backend test cases (Debian's libonnx-testdata) through the importer: every case whose operators and
 * attributes Tatami supports must pass within the suite's tolerance (rtol 1e-3, atol 1e-7); see
 * tools/onnx-conformance.ts (`npm run onnx-conformance` prints the per-operator table). The supported set is held
 * at no fewer than the cases passing when this was written, and each operator the importer claims for CNNs must
 * have at least one passing case, so a silent regression to "unsupported" fails too.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { countsByOp, formatReport, runConformance, TESTDATA } from '../tools/onnx-conformance.js';

const have = existsSync(TESTDATA);
if (!have)
  process.stderr.write(
    `onnx-conformance: SKIPPED — ${TESTDATA} missing (apt-get install libonnx-testdata; CI installs it)\n`,
  );

/** Operators the importer claims (issue 16), each of which must pass at least one of ONNX's cases. */
const CLAIMED = [
  'Conv',
  'ConvTranspose',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'BatchNormalization',
  'InstanceNormalization',
  'LRN',
  'Gemm',
  'MatMul',
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Elu',
  'Selu',
  'Sigmoid',
  'Tanh',
  'HardSigmoid',
  'HardSwish',
  'Softplus',
  'Softsign',
  'Softmax',
  'LogSoftmax',
  'Clip',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Concat',
  'Reshape',
  'Flatten',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Slice',
  'Gather',
  'Pad',
  'Resize',
  'Upsample',
  'ReduceMean',
  'ReduceMax',
  'ReduceSum',
  'Dropout',
  'Identity',
  'Constant',
  'Shape',
  'MaxUnpool',
  'DepthToSpace',
];

describe('ONNX backend test data', { skip: have ? false : 'libonnx-testdata not installed' }, () => {
  test('every supported case passes; the supported set does not shrink', () => {
    const results = runConformance();
    const report = formatReport(results);
    const fails = results.filter((r) => r.outcome === 'fail');
    assert.equal(fails.length, 0, report);
    const passed = results.filter((r) => r.outcome === 'pass').length;
    assert.ok(passed >= 521, `only ${passed} cases pass (521 did when the runner was written)\n${report}`);
    const byOp = countsByOp(results);
    for (const op of CLAIMED) assert.ok((byOp.get(op)?.pass ?? 0) > 0, `${op}: no passing case\n${report}`);
  });
});

/**
 * The layer order of README's "Architecture" section holds: no import cycles in src/ (type-only imports count: a
 * cycle through types still ties the files together), no import from a lower layer into a higher one, no training
 * code in models/ or viz/, and no `import(expr)` that would hide an edge from this check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FORBIDDEN,
  LAYERS,
  ROOT,
  forbiddenImports,
  importCycles,
  importGraph,
  layerOf,
  upwardImports,
  type ImportEdge,
} from '../tools/import-graph.ts';

const graph = importGraph();

test('import graph: the parser sees static, type-only and dynamic imports', () => {
  assert.ok(graph.files.length > 150, `${graph.files.length} files`);
  const has = (from: string, to: string, pred: (e: ImportEdge) => boolean = () => true): boolean =>
    graph.edges.some((e) => e.from === from && e.to === to && pred(e));
  assert.ok(has('src/ops/reduce.ts', 'src/ops/broadcast.ts', (e) => !e.typeOnly && !e.dynamic));
  assert.ok(has('src/autograd/node.ts', 'src/tensor/tensor.ts', (e) => e.typeOnly));
  assert.ok(has('src/index.ts', 'src/nn/index.ts')); // `export * as nn from './nn/index.js'`
});

test('import graph: no cycles in src/', () => {
  assert.deepEqual(
    importCycles(graph.files, graph.edges).map((c) => c.join(' ↔ ')),
    [],
  );
});

test('import graph: every file belongs to a layer and no import points to a later layer', () => {
  for (const f of graph.files) layerOf(f);
  assert.deepEqual(upwardImports(graph.edges), []);
});

test('import graph: models/ and viz/ do not train or load datasets', () => {
  assert.deepEqual(forbiddenImports(graph.edges), []);
});

test('import graph: dynamic imports have literal specifiers (except the DataLoader worker plugin loader)', () => {
  // datasetFromSpec imports the module a WorkerSpec names (user code), by design, through the Node seam
  // data/thread.ts (bundlers cannot resolve a computed import: the browser seam has none).
  assert.deepEqual(
    graph.computed.filter((c) => !c.startsWith('src/data/thread.ts:')),
    [],
  );
});

test('import graph: the checks catch what they should (synthetic graphs)', () => {
  const e = (from: string, to: string, typeOnly = false): ImportEdge => ({
    from,
    to,
    typeOnly,
    dynamic: false,
    line: 1,
  });
  const files = ['src/tensor/a.ts', 'src/tensor/b.ts', 'src/tensor/c.ts', 'src/ops/d.ts'];
  assert.deepEqual(
    importCycles(files, [
      e(files[0], files[1]),
      e(files[1], files[2], true),
      e(files[2], files[0]),
      e(files[3], files[0]),
    ]),
    [files.slice(0, 3)],
  );
  assert.deepEqual(importCycles(files, [e(files[0], files[1]), e(files[1], files[2])]), []);
  assert.deepEqual(upwardImports([e('src/tensor/a.ts', 'src/ops/d.ts'), e('src/ops/d.ts', 'src/tensor/a.ts')]), [
    'src/tensor/a.ts:1 → src/ops/d.ts',
  ]);
  assert.deepEqual(upwardImports([e('src/cli/x.ts', 'src/models/y.ts'), e('src/models/y.ts', 'src/train/z.ts')]), []);
  assert.equal(forbiddenImports([e('src/models/y.ts', 'src/optim/adam.ts')]).length, 1);
  assert.equal(forbiddenImports([e('src/models/y.ts', 'src/optim/adam.ts', true)]).length, 0);
  assert.equal(forbiddenImports([e('src/models/y.ts', 'src/data/transforms.ts')]).length, 0);
  assert.equal(forbiddenImports([e('src/viz/y.ts', 'src/data/idx.ts')]).length, 1);
  assert.throws(() => layerOf('src/newfolder/x.ts'), /belongs to no layer; add 'newfolder' to LAYERS/);
  assert.ok(FORBIDDEN.length > 0);
});

test('README states the same layer order as the check', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Architecture'));
  const order = LAYERS.map((l) => l.filter((x) => !x.endsWith('.ts'))).filter((l) => l.length);
  // Each folder appears in the table, every folder of a layer after every folder of the layers before it.
  let previous = -1;
  for (const folders of order) {
    const at = folders.map((f) => section.indexOf(`\`src/${f}\``));
    folders.forEach((f, i) => assert.ok(at[i] >= 0, `README Architecture table lacks src/${f}`));
    assert.ok(
      Math.min(...at) > previous,
      `${folders.map((f) => `src/${f}`).join(', ')} come too early in README's Architecture table`,
    );
    previous = Math.max(...at);
  }
});

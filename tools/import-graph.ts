/**
 * The import graph of src/ and the layer order it must respect (README, "Architecture"). Used by
 * test/layers.test.ts, and runnable: `npx tsx tools/import-graph.ts` prints every cycle and every upward import.
 *
 * Imports are read with the TypeScript parser (static `import`/`export … from`, `import type`, and `import('…')`
 * with a literal specifier); a dynamic import with a computed specifier is reported too, since it hides an edge.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The repository root (tools/ is one level down). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The layers of src/, lowest first: a file may import files of its own layer and of layers before it, never after.
 * Each entry lists the folders (or single files, relative to src/) that form the layer.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['tensor', 'autograd'],
  ['backend'],
  ['ops'],
  ['io', 'browser-api'],
  ['nn', 'functional.ts', 'vision-ops.ts'],
  ['optim'],
  ['data'],
  ['train'],
  ['models'],
  ['viz', 'onnx'],
  ['recipes'],
  ['core.ts', 'index.ts', 'browser.ts'],
  ['cli'],
];

/**
 * Run-time imports the layer order allows but the folders' roles do not: `models/` holds architectures and `viz/`
 * explanation methods, so neither trains nor loads datasets (training experiments are recipes in `recipes/`). Type-only
 * imports are allowed (an architecture may name an optimizer type). Entries are folders or files under src/.
 */
export const FORBIDDEN: readonly { from: string; to: readonly string[]; except?: readonly string[]; why: string }[] = [
  {
    from: 'models',
    to: ['optim', 'train', 'data'],
    except: ['data/transforms.ts'],
    why: 'models/ holds architectures (torchvision-style preprocessing presets from data/transforms.ts excepted)',
  },
  { from: 'viz', to: ['optim', 'data'], why: 'viz/ holds explanation methods; training demos are recipes' },
];

/** One import edge between two files of src/ (paths relative to the repository root). */
export interface ImportEdge {
  from: string;
  to: string;
  /** `import type …` / `export type … from` (erased at run time). */
  typeOnly: boolean;
  /** `import('…')`. */
  dynamic: boolean;
  line: number;
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Every import of every .ts file under `srcDir`, resolved to files; `computed` lists `import(expr)` sites. */
export function importGraph(srcDir = join(ROOT, 'src')): { files: string[]; edges: ImportEdge[]; computed: string[] } {
  const files = listTs(srcDir)
    .map((f) => relative(ROOT, f))
    .sort();
  const known = new Set(files);
  const edges: ImportEdge[] = [];
  const computed: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    const add = (spec: string, node: ts.Node, typeOnly: boolean, dynamic: boolean): void => {
      if (!spec.startsWith('.')) return;
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts');
      const to = known.has(target) ? target : known.has(join(target, 'index.ts')) ? join(target, 'index.ts') : null;
      if (!to) return;
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      edges.push({ from: file, to, typeOnly, dynamic, line });
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        const c = node.importClause;
        const typeOnly =
          !!c &&
          (c.isTypeOnly ||
            (!c.name &&
              !!c.namedBindings &&
              ts.isNamedImports(c.namedBindings) &&
              c.namedBindings.elements.length > 0 &&
              c.namedBindings.elements.every((e) => e.isTypeOnly)));
        add(node.moduleSpecifier.text, node, typeOnly, false);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const typeOnly =
          node.isTypeOnly ||
          (!!node.exportClause &&
            ts.isNamedExports(node.exportClause) &&
            node.exportClause.elements.length > 0 &&
            node.exportClause.elements.every((e) => e.isTypeOnly));
        add(node.moduleSpecifier.text, node, typeOnly, false);
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const arg = node.arguments[0];
        if (arg && ts.isStringLiteralLike(arg)) add(arg.text, node, false, true);
        else computed.push(`${file}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`);
      } else if (
        ts.isImportTypeNode(node) &&
        ts.isLiteralTypeNode(node.argument) &&
        ts.isStringLiteral(node.argument.literal)
      ) {
        add(node.argument.literal.text, node, true, false);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return { files, edges, computed };
}

/** The layer index of a file under src/ (throws for a file no layer claims, so a new folder must be placed). */
export function layerOf(file: string): number {
  const rel = relative('src', file);
  const top = rel.split(/[\\/]/)[0];
  const i = LAYERS.findIndex((l) => l.includes(top));
  if (i < 0)
    throw new Error(
      `import-graph: ${file} belongs to no layer; add '${top}' to LAYERS in tools/import-graph.ts and to README's Architecture table`,
    );
  return i;
}

/** Imports that go from a lower layer to a higher one, as `from:line → to`. */
export function upwardImports(edges: readonly ImportEdge[]): string[] {
  return edges
    .filter((e) => layerOf(e.to) > layerOf(e.from))
    .map((e) => `${e.from}:${e.line} → ${e.to}${e.typeOnly ? ' (type only)' : ''}`);
}

/** Run-time imports that break FORBIDDEN, as `from:line → to (why)`. */
export function forbiddenImports(edges: readonly ImportEdge[]): string[] {
  const under = (file: string, entry: string): boolean => {
    const rel = relative('src', file).split(/[\\/]/).join('/');
    return rel === entry || rel.startsWith(entry + '/');
  };
  const out: string[] = [];
  for (const e of edges) {
    if (e.typeOnly) continue;
    for (const rule of FORBIDDEN) {
      if (
        under(e.from, rule.from) &&
        rule.to.some((t) => under(e.to, t)) &&
        !(rule.except ?? []).some((x) => under(e.to, x))
      ) {
        out.push(`${e.from}:${e.line} → ${e.to} (${rule.why})`);
      }
    }
  }
  return out;
}

/** The strongly connected components with more than one file (Tarjan), each sorted; every one holds a cycle. */
export function importCycles(files: readonly string[], edges: readonly ImportEdge[]): string[][] {
  const adj = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) if (e.from !== e.to) adj.get(e.from)!.push(e.to);
  const index = new Map<string, number>(),
    low = new Map<string, number>(),
    onStack = new Set<string>();
  const stack: string[] = [],
    out: string[][] = [];
  let next = 0;
  const strong = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of adj.get(v)!) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const f of files) if (!index.has(f)) strong(f);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, edges, computed } = importGraph();
  const cycles = importCycles(files, edges);
  const up = [...upwardImports(edges), ...forbiddenImports(edges)];
  for (const c of cycles) console.log(`cycle: ${c.join(' ↔ ')}`);
  for (const u of up) console.log(`upward: ${u}`);
  for (const c of computed) console.log(`computed import(): ${c}`);
  console.log(
    `${files.length} files, ${edges.length} imports: ${cycles.length} cycles, ${up.length} upward imports, ${computed.length} computed dynamic imports`,
  );
  if (cycles.length || up.length || computed.length) process.exitCode = 1;
}

/**
 * Model graphs: the module tree with each layer's output shape (recorded by forward hooks during one forward
 * pass) and parameter count, drawn as an SVG/HTML diagram — the VGG/ResNet/U-Net figures drawn from the models.
 */
import { writeFileAtomicSync } from '../io/fs.js';
import { Tensor } from '../tensor/tensor.js';
import type { AnyModule } from '../nn/module.js';
import { noGrad } from '../autograd/grad-mode.js';
import { callModel } from './model-util.js';

/** One module of the graph. */
export interface GraphNode {
  /** Dotted name ('' for the root). */
  name: string;
  /** Class name (Conv2d, ReLU …). */
  type: string;
  /** Nesting depth (root = 0). */
  depth: number;
  /** The module's repr arguments (e.g. `1, 32, kernel_size=(3, 3)`). */
  details: string;
  /** Output shape(s) of the first call, or null when the module was not called. */
  outputShape: number[] | null;
  /** Parameters owned directly by this module (not its children). */
  params: number;
  /** Order of the first call in the forward pass (−1 when not called). */
  callOrder: number;
  leaf: boolean;
}

/** Runs one forward pass on `input` and records every module's output shape. */
export function modelGraph(model: AnyModule, input: Tensor): GraphNode[] {
  const named = model.namedModules();
  const shapes = new Map<AnyModule, { shape: number[]; order: number }>();
  let order = 0;
  const handles = named.map(([, m]) =>
    m.registerForwardHook((mod, _i, out) => {
      if (shapes.has(mod)) return;
      const t = out instanceof Tensor ? out : Array.isArray(out) ? out.find((o) => o instanceof Tensor) : null;
      shapes.set(mod, { shape: t instanceof Tensor ? [...t.shape] : [], order: order++ });
    }),
  );
  try {
    noGrad(() => callModel(model, input));
  } finally {
    for (const h of handles) h.remove();
  }
  return named.map(([name, m]) => {
    const rec = shapes.get(m);
    let details = '';
    try {
      details = m.extraRepr();
    } catch {
      details = '';
    }
    return {
      name,
      type: m.constructor.name,
      depth: name === '' ? 0 : name.split('.').length,
      details,
      outputShape: rec ? rec.shape : null,
      params: m.namedParameters('', false).reduce((s, [, p]) => s + p.numel(), 0),
      callOrder: rec ? rec.order : -1,
      leaf: m.namedChildren().length === 0,
    };
  });
}

const clip = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, Math.max(0, n - 1))}…`);
const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const COLORS: Record<string, string> = {
  Conv2d: '#9ecae1',
  ConvTranspose2d: '#9ecae1',
  Linear: '#fdae6b',
  BatchNorm2d: '#c7e9c0',
  BatchNorm1d: '#c7e9c0',
  ReLU: '#fde0dd',
  MaxPool2d: '#dadaeb',
  AvgPool2d: '#dadaeb',
  AdaptiveAvgPool2d: '#dadaeb',
  Dropout: '#eeeeee',
  Flatten: '#eeeeee',
};

/**
 * Draws the graph as SVG: containers are framed boxes holding their children top to bottom (so a ResNet's
 * BasicBlocks or a U-Net's stages appear as groups); each leaf shows its type, arguments, output shape and
 * parameter count, with block widths growing with the channel count.
 */
export function graphSvg(nodes: readonly GraphNode[], opts: { title?: string } = {}): string {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const children = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    if (n.name === '') continue;
    const parent = n.name.includes('.') ? n.name.slice(0, n.name.lastIndexOf('.')) : '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent)!.push(n);
  }
  const rowH = 34,
    indent = 14,
    width = 560;
  const parts: string[] = [];
  let y = opts.title ? 30 : 8;
  const draw = (n: GraphNode, x: number): void => {
    const kids = children.get(n.name) ?? [];
    const shape = n.outputShape ? `[${n.outputShape.join('×')}]` : 'not called';
    if (kids.length === 0) {
      const ch = n.outputShape && n.outputShape.length >= 2 ? n.outputShape[1] : 1;
      const barW = Math.min(width - x - 8, 150 + 20 * Math.log2(Math.max(1, ch)));
      const fill = COLORS[n.type] ?? '#f2f2f2';
      parts.push(
        `<g class="node"><rect x="${x}" y="${y}" width="${barW.toFixed(0)}" height="${rowH - 6}" rx="4" fill="${fill}" stroke="#555"/>` +
          `<text x="${x + 6}" y="${y + 12}" font-size="11" font-weight="bold">${esc(n.name.split('.').pop()!)}: ${esc(n.type)}</text>` +
          `<text x="${x + 6}" y="${y + 24}" font-size="9" fill="#333">${esc(clip(n.details, Math.floor((barW - 10) / 5.2)))}</text>` +
          `<text x="${width - 6}" y="${y + 12}" font-size="11" text-anchor="end" font-family="monospace">${esc(shape)}</text>` +
          `<text x="${width - 6}" y="${y + 24}" font-size="9" text-anchor="end" fill="#555">${n.params ? `${n.params.toLocaleString('en-US')} params` : ''}</text></g>`,
      );
      y += rowH;
      return;
    }
    const top = y;
    y += 18;
    for (const k of kids) draw(k, x + indent);
    const h = y - top + 2;
    parts.push(
      `<g class="group"><rect x="${x}" y="${top}" width="${width - x - 2}" height="${h}" rx="6" fill="none" stroke="#888" stroke-dasharray="4 2"/>` +
        `<text x="${x + 6}" y="${top + 13}" font-size="11" fill="#444">${esc(n.name || 'model')}: ${esc(n.type)} → ${esc(shape)}</text></g>`,
    );
    y += 8;
  };
  const root = byName.get('');
  if (root) draw(root, 4);
  const total = nodes.reduce((s, n) => s + n.params, 0);
  const H = y + 20;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="system-ui,sans-serif">` +
    `<rect width="${width}" height="${H}" fill="#fff"/>` +
    (opts.title
      ? `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(opts.title)}</text>`
      : '') +
    parts.join('') +
    `<text x="6" y="${H - 6}" font-size="11">${total.toLocaleString('en-US')} parameters</text></svg>`
  );
}

/** modelGraph + graphSvg, written to `path` (.svg as is; .html wraps the SVG in a page). Returns the nodes. */
export function writeModelGraph(
  path: string,
  model: AnyModule,
  input: Tensor,
  opts: { title?: string } = {},
): GraphNode[] {
  const nodes = modelGraph(model, input);
  const svg = graphSvg(nodes, opts);
  const out = path.toLowerCase().endsWith('.html')
    ? `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${esc(opts.title ?? 'model')}</title></head><body>${svg}</body></html>\n`
    : `${svg}\n`;
  writeFileAtomicSync(path, out);
  return nodes;
}

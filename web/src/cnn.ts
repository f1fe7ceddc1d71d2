/**
 * Section 4: the small CNN opened up — a drawing or a Fashion-MNIST test image, every layer's feature maps, the
 * first layer's filters, class probabilities, Grad-CAM (tt.viz.gradCam), and for a clicked map the maps and
 * filters that produced it.
 */
import * as tt from 'tatami';
import { CLASSES, loadSplit, type IdxSplit } from './fmnist.js';
import { byId, drawPlane, drawTensor, el, intValue } from './util.js';

/** Layers of smallCnn shown as feature maps (nn.Sequential indices) and their labels. */
const LAYERS: [string, string][] = [
  ['0', 'conv1 3×3'],
  ['1', 'ReLU'],
  ['2', 'max pool 2×2'],
  ['3', 'conv2 3×3'],
  ['4', 'ReLU'],
  ['5', 'max pool 2×2'],
];

let model: tt.nn.Sequential | null = null;
let shipped: Record<string, tt.Tensor> | null = null;
let pageWeights: Record<string, tt.Tensor> | null = null;
let test: IdxSplit | null = null;
/** The current 28×28 input in [0, 1]. */
let pixels = new Float32Array(784);
let acts: Map<string, tt.Tensor> | null = null;
let selected: { layer: string; map: number } | null = null;

/** Loads the weights selected in the menu into the model. */
function applyWeights(): void {
  const which = byId<HTMLSelectElement>('weights').value;
  const dict = which === 'page' && pageWeights ? pageWeights : shipped;
  if (!dict) return;
  model = tt.models.smallCnn();
  model.loadStateDict(dict);
  model.eval();
}

/** Weights trained in the page (from the training worker): offered in the menu and selected. */
export function setPageWeights(dict: Record<string, tt.Tensor>): void {
  pageWeights = dict;
  const sel = byId<HTMLSelectElement>('weights');
  (sel.querySelector('option[value=page]') as HTMLOptionElement).disabled = false;
  sel.value = 'page';
  applyWeights();
  run();
}

/** Paints the 28×28 input onto the drawing canvas (8× nearest). */
function paintInput(): void {
  const c = byId<HTMLCanvasElement>('draw');
  const ctx = c.getContext('2d')!;
  const small = document.createElement('canvas');
  drawTensor(
    small,
    tt.tensor(
      pixels.map((v) => v * 255),
      [1, 28, 28],
    ),
  );
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, c.width, c.height);
}

/** Reads the drawing canvas into the 28×28 input (area average of 8×8 blocks of the red channel). */
function readDrawing(): void {
  const c = byId<HTMLCanvasElement>('draw');
  const { width: W, height: H } = c;
  const px = c.getContext('2d', { willReadFrequently: true })!.getImageData(0, 0, W, H).data;
  const f = W / 28;
  const out = new Float32Array(784);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) out[Math.floor(y / f) * 28 + Math.floor(x / f)] += px[4 * (y * W + x)] / 255;
  pixels = out.map((v) => v / (f * f));
}

function sample(i: number): void {
  if (!test) return;
  pixels = Float32Array.from(test.images.subarray(i * 784, i * 784 + 784), (v) => v / 255);
  paintInput();
  byId('cam-caption').textContent = `Grad-CAM · test image ${i}, label ${CLASSES[test.labels[i]]}`;
  run();
}

/** Forward pass, probabilities, feature maps and Grad-CAM for the current input. */
export function run(): void {
  if (!model) return;
  const x = tt.tensor(pixels, [1, 1, 28, 28]);
  acts = tt.viz.captureActivations(
    model,
    x,
    LAYERS.map(([n]) => n),
  );
  const logits = tt.noGrad(() => model!.forward(x));
  const probs = tt.softmax(logits, 1).toTypedArray();
  const top = probs.indexOf(Math.max(...probs));
  const box = byId('probs');
  box.replaceChildren(
    ...CLASSES.map((name, k) =>
      el(
        'div',
        { class: `bar${k === top ? ' top' : ''}`, role: 'listitem', 'data-p': String(probs[k]) },
        el('span', {}, name),
        el('span', { class: 'track' }, el('span', { class: 'fill', style: `width:${(100 * probs[k]).toFixed(1)}%` })),
        el('span', {}, `${(100 * probs[k]).toFixed(1)}%`),
      ),
    ),
  );
  const camSel = Number(byId<HTMLSelectElement>('cam-class').value);
  const cam = tt.viz.gradCam(model, x, { layer: '3', ...(camSel >= 0 ? { target: camSel } : {}) });
  const over = tt.viz.overlayHeatmap(x.squeeze(0), cam.upsampled, { alpha: 0.45 });
  const canvas = byId<HTMLCanvasElement>('cam-canvas');
  drawTensor(canvas, tt.mul(tt.viz.upscaleNearest(over, 6), 255));
  renderLayers();
  if (selected) trace(selected.layer, selected.map);
}

function mapCanvas(data: ArrayLike<number>, h: number, w: number, signed = false): HTMLCanvasElement {
  const c = el('canvas');
  drawPlane(c, data, h, w, signed);
  return c;
}

function renderLayers(): void {
  if (!acts || !model) return;
  const box = byId('layers');
  const sections: HTMLElement[] = [];
  const w1 = (model.at(0) as tt.nn.Conv2d).weight.toTypedArray();
  const filters = el(
    'div',
    { class: 'maps' },
    ...Array.from({ length: 32 }, (_, j) => mapCanvas(w1.subarray(j * 9, j * 9 + 9), 3, 3, true)),
  );
  sections.push(el('div', { class: 'layer' }, el('h3', {}, 'conv1 filters (32 × 3×3; red > 0 > blue)'), filters));
  for (const [name, label] of LAYERS) {
    const a = acts.get(name)!;
    const [, C, h, w] = a.shape;
    const data = a.toTypedArray();
    const maps = el('div', { class: 'maps', role: 'group', 'aria-label': `${label} feature maps` });
    for (let j = 0; j < C; j++) {
      const b = el(
        'button',
        {
          type: 'button',
          'aria-label': `${label} map ${j}: show what produced it`,
          'aria-pressed': String(selected?.layer === name && selected.map === j),
          'data-layer': name,
          'data-map': String(j),
        },
        mapCanvas(data.subarray(j * h * w, (j + 1) * h * w), h, w),
      );
      b.addEventListener('click', () => {
        selected = { layer: name, map: j };
        renderLayers();
        trace(name, j);
      });
      maps.append(b);
    }
    sections.push(el('div', { class: 'layer' }, el('h3', {}, `layer ${name} · ${label} → ${C}×${h}×${w}`), maps));
  }
  box.replaceChildren(...sections);
}

/** Shows where map `j` of `layer` came from: back to its convolution, then that convolution's inputs and filters. */
function trace(layer: string, j: number): void {
  if (!acts || !model) return;
  const out = byId('trace');
  const conv = Number(layer) >= 3 ? '3' : '0';
  const chain = LAYERS.filter(([n]) => Number(n) >= Number(conv) && Number(n) <= Number(layer))
    .map(([, l]) => l)
    .join(' → ');
  const weight = (model.at(Number(conv)) as tt.nn.Conv2d).weight;
  const bias = (model.at(Number(conv)) as tt.nn.Conv2d).bias!.toTypedArray()[j];
  if (conv === '0') {
    const w = weight.toTypedArray().subarray(j * 9, j * 9 + 9);
    out.replaceChildren(
      el('h3', {}, `Map ${j} of layer ${layer}: ${chain}`),
      el('p', {}, `conv1 map ${j} = input ⋆ filter ${j} + bias ${bias.toFixed(3)}:`),
      el(
        'div',
        { class: 'maps' },
        mapCanvas(pixels, 28, 28),
        mapCanvas(w, 3, 3, true),
        mapCanvas(acts.get('0')!.narrow(1, j, 1).toTypedArray(), 28, 28),
      ),
    );
    return;
  }
  // conv2 map j = bias + Σ_i pool1[i] ⋆ W[j, i]: every term in one grouped convolution, then ranked by size.
  const src = acts.get('2')!;
  const Cin = src.shape[1];
  const wj = weight.narrow(0, j, 1).reshape([Cin, 1, 3, 3]);
  const parts = tt.noGrad(() => tt.F.conv2d(src, wj, null, { padding: 1, groups: Cin }));
  const pd = parts.toTypedArray();
  const sd = src.toTypedArray();
  const wd = wj.toTypedArray();
  const score = Array.from({ length: Cin }, (_, i) => {
    let s = 0;
    for (let p = 0; p < 196; p++) s += pd[i * 196 + p];
    return { i, s };
  }).sort((a, b) => Math.abs(b.s) - Math.abs(a.s));
  const rows = score
    .slice(0, 8)
    .map(({ i, s }) =>
      el(
        'figure',
        {},
        el(
          'div',
          { class: 'maps' },
          mapCanvas(sd.subarray(i * 196, (i + 1) * 196), 14, 14),
          mapCanvas(wd.subarray(i * 9, i * 9 + 9), 3, 3, true),
          mapCanvas(pd.subarray(i * 196, (i + 1) * 196), 14, 14, true),
        ),
        el('figcaption', {}, `pool1 map ${i} ⋆ W[${j},${i}] (sum ${s.toFixed(2)})`),
      ),
    );
  out.replaceChildren(
    el('h3', {}, `Map ${j} of layer ${layer}: ${chain}`),
    el(
      'p',
      {},
      `conv2 map ${j} = bias ${bias.toFixed(3)} + Σ over the 32 pool1 maps of (map ⋆ its 3×3 filter). The 8 largest terms (input map, filter, contribution):`,
    ),
    el('div', { class: 'maps' }, ...rows),
  );
}

/** Pointer and keyboard drawing on the canvas (white on black, like Fashion-MNIST). */
function initDrawing(): void {
  const c = byId<HTMLCanvasElement>('draw');
  const ctx = c.getContext('2d')!;
  let down = false;
  let cursor = { x: c.width / 2, y: c.height / 2 };
  const dab = (x: number, y: number) => {
    ctx.fillStyle = '#fff';
    ctx.beginPath();
    ctx.arc(x, y, 11, 0, 2 * Math.PI);
    ctx.fill();
  };
  const pos = (e: PointerEvent) => {
    const r = c.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * c.width, y: ((e.clientY - r.top) / r.height) * c.height };
  };
  c.addEventListener('pointerdown', (e) => {
    down = true;
    c.setPointerCapture(e.pointerId);
    cursor = pos(e);
    dab(cursor.x, cursor.y);
  });
  c.addEventListener('pointermove', (e) => {
    if (!down) return;
    const p = pos(e);
    // Fill the gap between pointer events so fast strokes stay continuous.
    const n = Math.ceil(Math.hypot(p.x - cursor.x, p.y - cursor.y) / 4);
    for (let s = 1; s <= n; s++) dab(cursor.x + ((p.x - cursor.x) * s) / n, cursor.y + ((p.y - cursor.y) * s) / n);
    cursor = p;
  });
  const end = () => {
    if (down) {
      down = false;
      readDrawing();
      run();
    }
  };
  c.addEventListener('pointerup', end);
  c.addEventListener('pointercancel', end);
  // Keyboard: arrows move the brush and paint, Enter classifies.
  c.addEventListener('keydown', (e) => {
    const d: Record<string, [number, number]> = {
      ArrowLeft: [-8, 0],
      ArrowRight: [8, 0],
      ArrowUp: [0, -8],
      ArrowDown: [0, 8],
    };
    if (d[e.key]) {
      e.preventDefault();
      cursor = {
        x: Math.min(c.width, Math.max(0, cursor.x + d[e.key][0])),
        y: Math.min(c.height, Math.max(0, cursor.y + d[e.key][1])),
      };
      dab(cursor.x, cursor.y);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      readDrawing();
      run();
    }
  });
  byId('draw-clear').addEventListener('click', () => {
    pixels = new Float32Array(784);
    paintInput();
    run();
  });
}

export async function initCnn(): Promise<void> {
  const camSel = byId<HTMLSelectElement>('cam-class');
  CLASSES.forEach((name, k) => camSel.append(el('option', { value: String(k) }, name)));
  camSel.addEventListener('change', run);
  byId('weights').addEventListener('change', () => {
    applyWeights();
    run();
  });
  initDrawing();
  const res = await fetch('assets/small-cnn-fmnist.safetensors');
  if (!res.ok) throw new Error(`playground: could not fetch the small CNN's weights (HTTP ${res.status})`);
  shipped = tt.parseSafetensors(new Uint8Array(await res.arrayBuffer()), 'small-cnn-fmnist.safetensors').tensors;
  applyWeights();
  test = await loadSplit('t10k');
  const input = byId<HTMLInputElement>('sample');
  input.addEventListener('input', () => sample(intValue('sample', 0, test!.n - 1)));
  byId('sample-random').addEventListener('click', () => {
    input.value = String(Math.floor(Math.random() * test!.n));
    sample(Number(input.value));
  });
  sample(0);
}

/** Kernel presets of the convolution section (3×3; a 5×5 version is given where it differs from the 3×3 one embedded in zeros). */

export interface Preset {
  name: string;
  k3: number[];
  k5?: number[];
}

const binomial5 = [1, 4, 6, 4, 1];
const gauss5 = binomial5.flatMap((a) => binomial5.map((b) => (a * b) / 256));
const delta5 = Array.from({ length: 25 }, (_, i) => (i === 12 ? 1 : 0));

export const PRESETS: Preset[] = [
  { name: 'identity', k3: [0, 0, 0, 0, 1, 0, 0, 0, 0] },
  { name: 'box blur', k3: new Array(9).fill(1 / 9), k5: new Array(25).fill(1 / 25) },
  { name: 'Gaussian blur', k3: [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16), k5: gauss5 },
  // 5×5 sharpen: unsharp masking, 2·identity − Gaussian.
  { name: 'sharpen', k3: [0, -1, 0, -1, 5, -1, 0, -1, 0], k5: delta5.map((d, i) => 2 * d - gauss5[i]) },
  { name: 'Laplacian', k3: [0, 1, 0, 1, -4, 1, 0, 1, 0] },
  { name: 'Sobel x', k3: [-1, 0, 1, -2, 0, 2, -1, 0, 1] },
  { name: 'Sobel y', k3: [-1, -2, -1, 0, 0, 0, 1, 2, 1] },
  { name: 'emboss', k3: [-2, -1, 0, -1, 1, 1, 0, 1, 2] },
  { name: 'outline', k3: [-1, -1, -1, -1, 8, -1, -1, -1, -1] },
];

/** The preset's k×k weights (row-major); 3×3 presets without a 5×5 form are embedded in the middle of zeros. */
export function presetWeights(p: Preset, k: 3 | 5): number[] {
  if (k === 3) return [...p.k3];
  if (p.k5) return [...p.k5];
  const out = new Array<number>(25).fill(0);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) out[(r + 1) * 5 + c + 1] = p.k3[r * 3 + c];
  return out;
}

/**
 * Measures of a generator from features of its samples and of real images: the Fréchet distance between Gaussians
 * fitted to the two feature sets (FID, Heusel et al. 2017, on Inception v3 pool features — or, offline, on the
 * penultimate features of any trained classifier), the kernel inception distance (KID, Bińkowski et al. 2018: an
 * unbiased MMD² with the cubic polynomial kernel, averaged over subsets) and a classifier score
 * exp(E_x KL(p(y|x) ‖ p(y))) (the Inception Score of Salimans et al. 2016, with any classifier's probabilities).
 *
 * All statistics are accumulated in float64. The matrix square root of FID is done as pytorch-fid's
 * tr√(Σ₁Σ₂) but through symmetric eigendecompositions, which stay real and exact for positive semi-definite
 * covariances (also when there are fewer samples than dimensions): Σ₁ = V diag(λ) Vᵀ, A = Σ₁^½ = V diag(√λ) Vᵀ,
 * tr√(Σ₁Σ₂) = Σᵢ √μᵢ with μ the eigenvalues of the symmetric A Σ₂ A (similar to Σ₁Σ₂).
 */
import { noGrad } from '../autograd/grad-mode.js';
import { formatShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';

/** Row-major float64 copy of a [N, D] tensor. */
function rows(op: string, x: Tensor): { data: Float64Array; n: number; d: number } {
  if (x.shape.length !== 2 || x.shape[0] < 1 || x.shape[1] < 1)
    throw new Error(`${op}: expected features [N, D] with N, D ≥ 1, got ${formatShape(x.shape)}`);
  const data = Float64Array.from(noGrad(() => x.contiguous()).dataView());
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i])) throw new Error(`${op}: features contain ${data[i]} at flat index ${i}`);
  return { data, n: x.shape[0], d: x.shape[1] };
}

/** Mean and covariance of a feature set (as numpy.cov(rowvar=False): unbiased, divisor N − 1). */
export interface FeatureStatistics {
  /** [D] mean. */
  mu: Float64Array;
  /** [D × D] covariance, row-major. */
  sigma: Float64Array;
  dim: number;
  count: number;
}

/** The mean and unbiased covariance of features [N, D] (N ≥ 2), in float64. */
export function featureStatistics(features: Tensor): FeatureStatistics {
  const { data, n, d } = rows('featureStatistics', features);
  if (n < 2) throw new Error(`featureStatistics: need at least 2 feature vectors for a covariance, got ${n}`);
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mu[j] /= n;
  const c = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) c[i * d + j] = data[i * d + j] - mu[j];
  const sigma = new Float64Array(d * d);
  // Σ = CᵀC/(N − 1), upper triangle then mirrored
  for (let i = 0; i < n; i++) {
    const r = i * d;
    for (let a = 0; a < d; a++) {
      const v = c[r + a];
      if (v === 0) continue;
      const row = a * d;
      for (let b = a; b < d; b++) sigma[row + b] += v * c[r + b];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = sigma[a * d + b] / (n - 1);
      sigma[a * d + b] = v;
      sigma[b * d + a] = v;
    }
  }
  return { mu, sigma, dim: d, count: n };
}

/**
 * Eigenvalues (ascending) and, if asked, eigenvectors (columns of `vectors`, row-major n × n) of a symmetric
 * n × n matrix (row-major; only symmetric input is meaningful): Householder reduction to tridiagonal form, then
 * implicit QR steps with Wilkinson shifts (Golub & Van Loan, Matrix Computations, §8.3), all in float64.
 */
export function symmetricEigen(
  matrix: Float64Array,
  n: number,
  opts: { vectors?: boolean } = {},
): { values: Float64Array; vectors: Float64Array | null } {
  if (matrix.length !== n * n)
    throw new Error(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${matrix.length}`);
  const A = Float64Array.from(matrix);
  const wantV = opts.vectors ?? false;
  const Q = wantV ? new Float64Array(n * n) : null;
  if (Q) for (let i = 0; i < n; i++) Q[i * n + i] = 1;
  const v = new Float64Array(n),
    p = new Float64Array(n);
  // Householder: T = Pₖ…P₀ A P₀…Pₖ, Q = P₀…Pₖ
  for (let k = 0; k < n - 2; k++) {
    const m = n - k - 1;
    let norm2 = 0;
    for (let j = 0; j < m; j++) {
      v[j] = A[(k + 1 + j) * n + k];
      norm2 += v[j] * v[j];
    }
    const tail = norm2 - v[0] * v[0];
    if (tail === 0) continue; // column already tridiagonal
    const alpha = v[0] >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    v[0] -= alpha;
    const vv = tail + v[0] * v[0];
    const beta = 2 / vv;
    // p = β B v, K = β/2 pᵀv, w = p − K v; B ← B − v wᵀ − w vᵀ on the trailing block B = A[k+1:, k+1:]
    let pv = 0;
    for (let i = 0; i < m; i++) {
      const row = (k + 1 + i) * n + k + 1;
      let s = 0;
      for (let j = 0; j < m; j++) s += A[row + j] * v[j];
      p[i] = beta * s;
      pv += p[i] * v[i];
    }
    const K = (beta / 2) * pv;
    for (let i = 0; i < m; i++) p[i] -= K * v[i];
    for (let i = 0; i < m; i++) {
      const row = (k + 1 + i) * n + k + 1,
        vi = v[i],
        wi = p[i];
      for (let j = 0; j < m; j++) A[row + j] -= vi * p[j] + wi * v[j];
    }
    A[(k + 1) * n + k] = alpha;
    A[k * n + k + 1] = alpha;
    for (let j = 1; j < m; j++) {
      A[(k + 1 + j) * n + k] = 0;
      A[k * n + k + 1 + j] = 0;
    }
    if (Q) {
      for (let i = 0; i < n; i++) {
        const row = i * n + k + 1;
        let s = 0;
        for (let j = 0; j < m; j++) s += Q[row + j] * v[j];
        s *= beta;
        if (s !== 0) for (let j = 0; j < m; j++) Q[row + j] -= s * v[j];
      }
    }
  }
  const d = new Float64Array(n),
    e = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i < n; i++) d[i] = A[i * n + i];
  for (let i = 0; i < n - 1; i++) e[i] = A[(i + 1) * n + i];
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(d[i]) + (i < n - 1 ? Math.abs(e[i]) : 0));
  const eps = Number.EPSILON;
  const small = (i: number) =>
    Math.abs(e[i]) <= eps * (Math.abs(d[i]) + Math.abs(d[i + 1])) || Math.abs(e[i]) <= eps * eps * scale;
  let hi = n - 1,
    iter = 0;
  while (hi > 0) {
    if (small(hi - 1)) {
      e[hi - 1] = 0;
      hi--;
      iter = 0;
      continue;
    }
    if (++iter > 60) throw new Error(`symmetricEigen: no convergence after 60 QR steps at row ${hi} of ${n}`);
    let lo = hi - 1;
    while (lo > 0 && !small(lo - 1)) lo--;
    // Wilkinson shift: the eigenvalue of the trailing 2×2 block closer to d[hi]
    const delta = (d[hi - 1] - d[hi]) / 2,
      b = e[hi - 1];
    const mu = d[hi] - (b * b) / (delta + (delta >= 0 ? 1 : -1) * Math.hypot(delta, b));
    let x = d[lo] - mu,
      z = e[lo];
    for (let k = lo; k < hi; k++) {
      const r = Math.hypot(x, z);
      const c = r === 0 ? 1 : x / r,
        s = r === 0 ? 0 : z / r;
      if (k > lo) e[k - 1] = r;
      const a = d[k],
        bb = e[k],
        cc = d[k + 1];
      d[k] = c * c * a + 2 * c * s * bb + s * s * cc;
      d[k + 1] = s * s * a - 2 * c * s * bb + c * c * cc;
      e[k] = c * s * (cc - a) + (c * c - s * s) * bb;
      if (k < hi - 1) {
        x = e[k];
        z = s * e[k + 1]; // the bulge at (k, k + 2)
        e[k + 1] *= c;
      }
      if (Q) {
        for (let i = 0; i < n; i++) {
          const qi = i * n;
          const q0 = Q[qi + k],
            q1 = Q[qi + k + 1];
          Q[qi + k] = c * q0 + s * q1;
          Q[qi + k + 1] = -s * q0 + c * q1;
        }
      }
    }
  }
  // ascending order, vectors permuted alongside
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[i] - d[j]);
  const values = Float64Array.from(order, (i) => d[i]);
  let vectors: Float64Array | null = null;
  if (Q) {
    vectors = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vectors[i * n + j] = Q[i * n + order[j]];
  }
  return { values, vectors };
}

/** C = A·B for row-major n × n matrices. */
function matmulSquare(A: Float64Array, B: Float64Array, n: number): Float64Array {
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const a = A[ci + k];
      if (a === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) C[ci + j] += a * B[bk + j];
    }
  }
  return C;
}

/**
 * tr √(Σ₁Σ₂) for symmetric positive semi-definite Σ₁, Σ₂ (row-major n × n): Σᵢ √max(μᵢ, 0) over the
 * eigenvalues μ of Σ₁^½ Σ₂ Σ₁^½ (negative round-off clipped).
 */
export function traceSqrtProduct(sigma1: Float64Array, sigma2: Float64Array, n: number): number {
  const { values, vectors } = symmetricEigen(sigma1, n, { vectors: true });
  const V = vectors!;
  // A = V diag(√λ) Vᵀ
  const VS = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) VS[i * n + j] = V[i * n + j] * Math.sqrt(Math.max(0, values[j]));
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += VS[i * n + k] * V[j * n + k];
      A[i * n + j] = s;
      A[j * n + i] = s;
    }
  }
  const M = matmulSquare(matmulSquare(A, sigma2, n), A, n);
  // symmetrise the round-off before the symmetric solver
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = (M[i * n + j] + M[j * n + i]) / 2;
      M[i * n + j] = s;
      M[j * n + i] = s;
    }
  }
  const mu = symmetricEigen(M, n).values;
  let tr = 0;
  for (const m of mu) tr += Math.sqrt(Math.max(0, m));
  return tr;
}

/** ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2√(Σ₁Σ₂)): the Fréchet distance between two Gaussians (Dowson & Landau 1982). */
export function frechetDistance(a: FeatureStatistics, b: FeatureStatistics): number {
  if (a.dim !== b.dim)
    throw new Error(`frechetDistance: the statistics have different dimensions (${a.dim} and ${b.dim})`);
  const n = a.dim;
  let diff = 0,
    tr = 0;
  for (let i = 0; i < n; i++) {
    diff += (a.mu[i] - b.mu[i]) ** 2;
    tr += a.sigma[i * n + i] + b.sigma[i * n + i];
  }
  // exact arithmetic gives ≥ 0; round-off on identical sets may give −1e-12
  return Math.max(0, diff + tr - 2 * traceSqrtProduct(a.sigma, b.sigma, n));
}

/**
 * FID between two feature sets [N, D] and [M, D] (e.g. Inception v3 `forwardFeatures` of real and generated
 * images, 2048-d; any feature extractor gives a "Fréchet distance in its feature space", comparable only between
 * runs that use the same extractor, sample counts and preprocessing).
 */
export function fid(realFeatures: Tensor, fakeFeatures: Tensor): number {
  return frechetDistance(featureStatistics(realFeatures), featureStatistics(fakeFeatures));
}

/** Options of `kid`. */
export interface KidOptions {
  /** Number of random subsets averaged (default 100, as torch-fidelity). */
  subsets?: number;
  /** Samples per subset from each set (default 1000, capped at the smaller set size). */
  subsetSize?: number;
  /** The polynomial kernel (γ xᵀy + coef)^degree: degree (default 3), γ (default 1/D), coef (default 1). */
  degree?: number;
  gamma?: number;
  coef?: number;
  generator?: Generator;
}

/**
 * Kernel inception distance: the unbiased estimate of MMD² with the kernel k(x, y) = (γ xᵀy + c)^degree
 * (γ = 1/D, c = 1, degree 3), on `subsets` random subsets (drawn without replacement within each subset) of
 * `subsetSize` samples of each set; returns the mean and the standard deviation over subsets. Unlike FID it is
 * unbiased in the sample count, so small sample sets compare fairly.
 */
export function kid(realFeatures: Tensor, fakeFeatures: Tensor, opts: KidOptions = {}): { mean: number; std: number } {
  const op = 'kid';
  const X = rows(op, realFeatures),
    Y = rows(op, fakeFeatures);
  if (X.d !== Y.d) throw new Error(`${op}: the feature sets have different dimensions (${X.d} and ${Y.d})`);
  const d = X.d;
  const m = Math.min(opts.subsetSize ?? 1000, X.n, Y.n);
  if (m < 2) throw new Error(`${op}: need at least 2 samples in each set, got ${X.n} and ${Y.n}`);
  const subsets = opts.subsets ?? 100;
  if (!Number.isInteger(subsets) || subsets < 1)
    throw new Error(`${op}: subsets must be a positive integer, got ${subsets}`);
  const degree = opts.degree ?? 3,
    gamma = opts.gamma ?? 1 / d,
    coef = opts.coef ?? 1;
  const gen = opts.generator ?? defaultGenerator;
  const k = (A: Float64Array, i: number, B: Float64Array, j: number) => {
    let s = 0;
    for (let t = 0; t < d; t++) s += A[i * d + t] * B[j * d + t];
    return (gamma * s + coef) ** degree;
  };
  const pick = (n: number) => {
    // partial Fisher–Yates: m distinct indices
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < m; i++) {
      const j = i + gen.randint(0, n - i);
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    return idx.slice(0, m);
  };
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const xi = pick(X.n),
      yi = pick(Y.n);
    let kxx = 0,
      kyy = 0,
      kxy = 0;
    for (let a = 0; a < m; a++) {
      for (let b = a + 1; b < m; b++) {
        kxx += k(X.data, xi[a], X.data, xi[b]);
        kyy += k(Y.data, yi[a], Y.data, yi[b]);
      }
      for (let b = 0; b < m; b++) kxy += k(X.data, xi[a], Y.data, yi[b]);
    }
    values.push((2 * kxx + 2 * kyy) / (m * (m - 1)) - (2 * kxy) / (m * m));
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, std };
}

/**
 * exp(E_x KL(p(y|x) ‖ p(y))) from class probabilities [N, C] of generated samples (rows summing to 1): high when
 * each sample is confidently one class and the classes are spread — the Inception Score with any classifier.
 * Between 1 and C. With `splits` > 1 it is computed on that many equal parts and averaged (Salimans et al. used 10).
 */
export function classifierScore(probs: Tensor, opts: { splits?: number } = {}): { mean: number; std: number } {
  const op = 'classifierScore';
  const { data, n, d } = rows(op, probs);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      if (data[i * d + j] < 0) throw new Error(`${op}: probabilities must be ≥ 0, got ${data[i * d + j]} in row ${i}`);
      s += data[i * d + j];
    }
    if (Math.abs(s - 1) > 1e-3)
      throw new Error(`${op}: row ${i} sums to ${s}, expected probabilities (apply softmax to logits)`);
  }
  const splits = opts.splits ?? 1;
  if (!Number.isInteger(splits) || splits < 1 || splits > n)
    throw new Error(`${op}: splits must be an integer in [1, ${n}], got ${splits}`);
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const lo = Math.floor((s * n) / splits),
      hi = Math.floor(((s + 1) * n) / splits);
    const py = new Float64Array(d);
    for (let i = lo; i < hi; i++) for (let j = 0; j < d; j++) py[j] += data[i * d + j] / (hi - lo);
    let kl = 0;
    for (let i = lo; i < hi; i++) {
      for (let j = 0; j < d; j++) {
        const p = data[i * d + j];
        if (p > 0) kl += p * (Math.log(p) - Math.log(py[j]));
      }
    }
    scores.push(Math.exp(kl / (hi - lo)));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  return { mean, std: Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits) };
}

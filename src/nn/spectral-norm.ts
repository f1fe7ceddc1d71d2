/**
 * Spectral normalisation (Miyato et al. 2018) as PyTorch's `torch.nn.utils.spectral_norm` (the hook-based
 * version, 1.13): the weight W is re-parameterised as W_orig / σ(W_orig), where σ is the largest singular value of
 * W_orig reshaped to a matrix [size(dim), rest], estimated by power iteration with persistent vectors u and v. Each
 * forward in training mode first runs `nPowerIterations` steps (v ← normalize(Wᵀu), u ← normalize(Wv), without
 * gradient, updating the `weight_u`/`weight_v` buffers in place); σ = uᵀ W v is then differentiated through W only
 * (u and v are constants, as PyTorch). In eval mode the stored u and v are used as they are. The discriminator of
 * a GAN is thus 1-Lipschitz per layer, which keeps its gradients informative (Miyato & Koyama 2018 use it with the
 * projection discriminator).
 *
 * State dict, as PyTorch: `weight_orig` (the parameter), `weight_u`, `weight_v` (buffers); `weight` is a plain
 * attribute recomputed by a forward pre-hook.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { div, maximum, mul, sqrt, square } from '../ops/elementwise.js';
import { copy_ } from '../ops/inplace.js';
import { matmul } from '../ops/matmul.js';
import { sum } from '../ops/reduce.js';
import { permute, reshape } from '../ops/shape.js';
import { randn } from '../tensor/creation.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { ConvTranspose2d } from './conv.js';
import { ConvTranspose1d, ConvTranspose3d } from './convnd.js';
import { type AnyModule, type RemovableHandle } from './module.js';
import { Parameter } from './parameter.js';

/** Options of spectralNorm (PyTorch's keyword arguments). */
export interface SpectralNormOptions {
  /** Name of the weight parameter (default 'weight'). */
  name?: string;
  /** Power-iteration steps per training forward (default 1). */
  nPowerIterations?: number;
  /** Floor of the norms in the normalisations (default 1e-12). */
  eps?: number;
  /** The output dimension of the weight (default 0; 1 for ConvTranspose1d/2d/3d, whose weight is [in, out, …]). */
  dim?: number;
  /** Draws the initial u and v (default: the global generator). */
  generator?: Generator;
}

/** What spectralNorm keeps on a module, for removeSpectralNorm. */
interface SpectralNormState {
  name: string;
  handle: RemovableHandle;
  dim: number;
  eps: number;
}

const STATE = new WeakMap<AnyModule, SpectralNormState[]>();

/** x / max(‖x‖₂, eps) (F.normalize of a vector). */
function normalize(x: Tensor, eps: number): Tensor {
  return div(x, maximum(sqrt(sum(square(x))), eps));
}

/** The weight as a matrix [size(dim), rest], `dim` moved to the front as PyTorch's reshape_weight_to_matrix. */
function weightMatrix(w: Tensor, dim: number): Tensor {
  let m = w;
  if (dim !== 0) {
    const order = [dim, ...w.shape.map((_, i) => i).filter((i) => i !== dim)];
    m = permute(w, order);
  }
  return reshape(m, [w.shape[dim], -1]);
}

/** W_orig / σ with σ = uᵀ W v; in training mode u and v first take `iters` power-iteration steps. */
function computeWeight(module: AnyModule, name: string, dim: number, eps: number, iters: number): Tensor {
  const m = module as unknown as Record<string, Tensor>;
  const w = m[`${name}_orig`];
  const u = m[`${name}_u`],
    v = m[`${name}_v`];
  const mat = weightMatrix(w, dim);
  let uNow = u,
    vNow = v;
  if (module.training && iters > 0) {
    noGrad(() => {
      const wd = mat.detach();
      for (let i = 0; i < iters; i++) {
        copy_(v, normalize(reshape(matmul(reshape(u, [1, -1]), wd), [-1]), eps)); // Wᵀu
        copy_(u, normalize(reshape(matmul(wd, reshape(v, [-1, 1])), [-1]), eps)); // W v
      }
    });
    // clones, as PyTorch: the graph must keep this step's u and v, not the buffers the next forward overwrites
    uNow = u.clone();
    vNow = v.clone();
  }
  const sigma = sum(mul(uNow, reshape(matmul(mat, reshape(vNow, [-1, 1])), [-1])));
  return div(w, sigma);
}

/**
 * Applies spectral normalisation to `module`'s parameter `name` (PyTorch's `torch.nn.utils.spectral_norm`):
 * registers `<name>_orig` (the old parameter), the buffers `<name>_u` and `<name>_v` (random unit vectors of
 * lengths size(dim) and numel / size(dim)), and a forward pre-hook that sets `module.<name>` to W_orig / σ before
 * every call. Returns the module.
 *
 *   const D = new nn.Sequential(nn.utils.spectralNorm(new nn.Conv2d(1, 64, 4, { stride: 2, padding: 1 })), …);
 */
export function spectralNorm<M extends AnyModule>(module: M, opts: SpectralNormOptions = {}): M {
  const name = opts.name ?? 'weight';
  const iters = opts.nPowerIterations ?? 1;
  const eps = opts.eps ?? 1e-12;
  const op = 'spectralNorm';
  if (!Number.isInteger(iters) || iters < 0)
    throw new Error(`${op}: nPowerIterations must be a non-negative integer, got ${iters}`);
  if (!(eps > 0)) throw new Error(`${op}: eps must be > 0, got ${eps}`);
  if ((STATE.get(module) ?? []).some((s) => s.name === name))
    throw new Error(`${op}: cannot register two spectral_norm hooks on the same parameter '${name}'`);
  const params = new Map(module.namedParameters('', false));
  const w = params.get(name);
  if (!(w instanceof Parameter))
    throw new Error(
      `${op}: ${module.constructor.name} has no parameter '${name}' (parameters: ${[...params.keys()].join(', ') || 'none'})`,
    );
  const transposed =
    module instanceof ConvTranspose1d || module instanceof ConvTranspose2d || module instanceof ConvTranspose3d;
  const dim = opts.dim ?? (transposed ? 1 : 0);
  if (!Number.isInteger(dim) || dim < 0 || dim >= w.shape.length)
    throw new Error(`${op}: dim must be in [0, ${w.shape.length}) for a weight of rank ${w.shape.length}, got ${dim}`);
  const h = w.shape[dim],
    cols = w.numel() / h;
  const gen = opts.generator ?? defaultGenerator;
  const u = noGrad(() => normalize(randn([h], { dtype: w.dtype, generator: gen }), eps));
  const v = noGrad(() => normalize(randn([cols], { dtype: w.dtype, generator: gen }), eps));
  // PyTorch: del module._parameters[name]; register name_orig, name_u, name_v; setattr(module, name, weight.data)
  const reg = module as unknown as {
    _parameters: Map<string, Parameter | null>;
  } & Record<string, unknown>;
  reg['_parameters'].delete(name);
  delete reg[name];
  module.registerParameter(`${name}_orig`, w);
  module.registerBuffer(`${name}_u`, u);
  module.registerBuffer(`${name}_v`, v);
  Object.defineProperty(module, name, { value: w.detach(), writable: true, configurable: true, enumerable: false });
  const handle = module.registerForwardPreHook((mod) => {
    (mod as unknown as Record<string, Tensor>)[name] = computeWeight(mod, name, dim, eps, iters);
  });
  STATE.set(module, [...(STATE.get(module) ?? []), { name, handle, dim, eps }]);
  return module;
}

/**
 * Undoes spectralNorm (PyTorch's `remove_spectral_norm`): the hook and the buffers go, and `<name>` becomes a
 * parameter again holding W_orig / σ with the current u and v. Returns the module.
 */
export function removeSpectralNorm<M extends AnyModule>(module: M, name = 'weight'): M {
  const states = STATE.get(module) ?? [];
  const s = states.find((t) => t.name === name);
  if (!s) throw new Error(`removeSpectralNorm: spectral_norm of '${name}' not found in ${module.constructor.name}`);
  s.handle.remove();
  const w = noGrad(() => computeWeight(module, name, s.dim, s.eps, 0));
  const reg = module as unknown as {
    _parameters: Map<string, Parameter | null>;
    _buffers: Map<string, Tensor | null>;
  } & Record<string, unknown>;
  for (const [map, key] of [
    [reg['_parameters'], `${name}_orig`],
    [reg['_buffers'], `${name}_u`],
    [reg['_buffers'], `${name}_v`],
  ] as const) {
    map.delete(key);
    delete reg[key];
    const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    if (camel !== key) delete reg[camel];
  }
  delete reg[name];
  module.registerParameter(name, new Parameter(w.detach().clone()));
  STATE.set(
    module,
    states.filter((t) => t !== s),
  );
  return module;
}

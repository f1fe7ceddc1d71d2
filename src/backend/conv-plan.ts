/**
 * The conv planner seen from TypeScript. Which convolution algorithm runs is decided in one C function,
 * `conv_plan` (native/src/kernels/conv_plan.inc.c), from the geometry, the direction and the build (its thresholds
 * depend on the build's vector width and register tile, so builds may choose differently). This module names its
 * answers, asks an accelerated backend for them (`convPlanOf`, `tatami info --conv-plan`), and logs each choice
 * once per geometry to stderr when `TATAMI_LOG_CONV_PLAN=1`.
 */
import type { Backend, Conv2dGeometry } from './types.js';

/** Convolution algorithms of the conv planner, in the order of TT_PLAN_* in native/src/tt.h. */
export const CONV_PLANS = [
  'depthwise',
  'dense',
  'batched',
  'winograd',
  'padded-width',
  'im2col',
  'weight-gemm',
  'dot',
  'pointwise',
  'tapwise',
  'implicit-gemm',
] as const;
export type ConvPlan = (typeof CONV_PLANS)[number];
/**
 * Convolution directions, in the order of TT_CONV_* in native/src/tt.h: output, input gradient, weight gradient, the
 * output when the weights come transformed once (`Backend.packConv2dWeights`, inference), and the channels-last
 * inference output (`Backend.conv2dNhwc`).
 */
export const CONV_DIRECTIONS = ['forward', 'input', 'weight', 'forward-packed', 'forward-nhwc'] as const;
export type ConvDirection = (typeof CONV_DIRECTIONS)[number];

/** A build's planner: (geometry, direction) → algorithm. */
export type ConvPlanner = (g: Conv2dGeometry, direction: ConvDirection) => ConvPlan;

const planners = new WeakMap<Backend, ConvPlanner>();

/** Attaches a build's planner to the backend made from it (accel.ts does this for every native and wasm build). */
export function registerConvPlanner(b: Backend, planner: ConvPlanner): void {
  planners.set(b, planner);
}

/**
 * The algorithm `b` would run for this convolution and direction, or null for a backend without a planner (the
 * reference backend has one algorithm per direction). Float32 only: other dtypes run on the reference kernels.
 */
export function convPlanOf(b: Backend, g: Conv2dGeometry, direction: ConvDirection): ConvPlan | null {
  const planner = planners.get(b);
  return planner ? planner(g, direction) : null;
}

/** Maps a planner's code to its name; an unknown code means the C and TypeScript tables disagree. */
export function convPlanName(build: string, code: number): ConvPlan {
  const plan = CONV_PLANS[code];
  if (plan === undefined)
    throw new Error(`${build}: conv planner returned unknown algorithm ${code} (expected 0…${CONV_PLANS.length - 1})`);
  return plan;
}

/** One line naming a geometry: `n8 c64 32×32 → oc64 32×32, k3×3 s1×1 p1×1 d1×1 g1`. */
export function describeConvGeometry(g: Conv2dGeometry): string {
  return (
    `n${g.n} c${g.c} ${g.h}×${g.w} → oc${g.oc} ${g.oh}×${g.ow}, k${g.kh}×${g.kw} s${g.strideH}×${g.strideW} ` +
    `p${g.padH}×${g.padW} d${g.dilationH}×${g.dilationW} g${g.groups}`
  );
}

/** Whether TATAMI_LOG_CONV_PLAN asks for the planner's choices on stderr (read when a backend is made). */
export function convPlanLogging(): boolean {
  const v = typeof process !== 'undefined' ? process.env?.TATAMI_LOG_CONV_PLAN : undefined;
  return v !== undefined && v !== '' && v !== '0';
}

/**
 * A function that writes `tatami: conv plan <build> <direction> <geometry>: <algorithm>` to stderr the first time it
 * sees a (direction, geometry) pair, and nothing after (training calls the same layers every step).
 */
export function convPlanLogger(
  build: string,
  planner: ConvPlanner,
): (g: Conv2dGeometry, direction: ConvDirection) => void {
  const seen = new Set<string>();
  return (g, direction) => {
    const key = `${direction} ${describeConvGeometry(g)}`;
    if (seen.has(key)) return;
    seen.add(key);
    process.stderr.write(`tatami: conv plan ${build} ${key}: ${planner(g, direction)}\n`);
  };
}

/** Sizes of a convolution as `tatami info --conv-plan` takes them; stride, padding, dilation default to 1, 0, 1. */
export interface ConvPlanSpec {
  n: number;
  c: number;
  h: number;
  w: number;
  oc: number;
  kh: number;
  kw: number;
  stride?: number;
  padding?: number;
  dilation?: number;
  groups?: number;
}

/**
 * The full geometry of a convolution given its sizes, with PyTorch's output size
 * ⌊(in + 2·pad − dil·(k − 1) − 1) / stride⌋ + 1; throws naming the field that is not a valid size.
 */
export function convGeometryOf(s: ConvPlanSpec): Conv2dGeometry {
  const stride = s.stride ?? 1,
    pad = s.padding ?? 0,
    dil = s.dilation ?? 1,
    groups = s.groups ?? 1;
  const check = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new Error(`conv plan: ${name} must be an integer ≥ ${min}, got ${v}`);
  };
  for (const k of ['n', 'c', 'h', 'w', 'oc', 'kh', 'kw'] as const) check(k, s[k], 1);
  check('stride', stride, 1);
  check('padding', pad, 0);
  check('dilation', dil, 1);
  check('groups', groups, 1);
  if (s.c % groups !== 0 || s.oc % groups !== 0)
    throw new Error(`conv plan: groups ${groups} must divide c ${s.c} and oc ${s.oc}`);
  const oh = Math.floor((s.h + 2 * pad - dil * (s.kh - 1) - 1) / stride) + 1;
  const ow = Math.floor((s.w + 2 * pad - dil * (s.kw - 1) - 1) / stride) + 1;
  if (oh < 1 || ow < 1)
    throw new Error(
      `conv plan: a ${s.kh}×${s.kw} kernel (dilation ${dil}, padding ${pad}) does not fit a ${s.h}×${s.w} input`,
    );
  return {
    n: s.n,
    c: s.c,
    h: s.h,
    w: s.w,
    oc: s.oc,
    kh: s.kh,
    kw: s.kw,
    oh,
    ow,
    strideH: stride,
    strideW: stride,
    padH: pad,
    padW: pad,
    dilationH: dil,
    dilationW: dil,
    groups,
  };
}

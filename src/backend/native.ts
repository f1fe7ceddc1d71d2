/**
 * The native backend: a Node-API addon (native/src, built by `npm ci` through scripts/build-native.mjs into
 * build/Release/tatami.node) holding one kernel build per instruction set — AVX-512F, AVX2+FMA and portable code
 * at 4, 8 and 16 floats per vector — and a pthread pool (TATAMI_NUM_THREADS, default: all cores). Kernels work on
 * the tensors' own typed arrays, in place.
 *
 * Which build runs is decided here, once: `TATAMI_ISA` when set, else the fastest build the CPU supports that
 * passes its self-check (src/backend/selfcheck.ts) against the float64 reference; a build that fails is refused
 * with a warning naming it and the next one is tried. Every build is also reachable by name for tests and
 * benchmarks (`loadNativeVariant`, or the backends 'native-avx512', 'native-avx2', … registered in index.ts).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setLargeBufferAdvice, setStorageAlignment } from '../tensor/storage.js';
import type { Backend, Conv2dGeometry } from './types.js';
import { convGeom, makeAcceleratedBackend, type RawKernels } from './accel.js';
import { selfCheck } from './selfcheck.js';
import { CONV_DIRECTIONS, convPlanName, type ConvDirection, type ConvPlan } from './conv-plan.js';

/** Instruction-set builds in the addon; generic16/generic8 are the AVX-512/AVX2 kernel shapes in portable code. */
export const NATIVE_ISAS = ['avx512', 'avx2', 'generic', 'generic16', 'generic8'] as const;
export type NativeIsa = (typeof NATIVE_ISAS)[number];
/** The builds that may be chosen by default, fastest first (the portable wide builds exist for the tests). */
const DEFAULT_ORDER: readonly NativeIsa[] = ['avx512', 'avx2', 'generic'];

export { CONV_PLANS, CONV_DIRECTIONS, type ConvPlan, type ConvDirection } from './conv-plan.js';

interface NativeKernels extends RawKernels {
  /** 'native-avx512' | 'native-avx2' | 'native-generic' | 'native-generic16' | 'native-generic8' */
  readonly name: string;
}

interface NativeAddon {
  /** The builds this CPU can run, fastest first. */
  readonly isas: readonly string[];
  kernels(isa: string): NativeKernels;
  setNumThreads(n: number): number;
  getNumThreads(): number;
  /** Asks Linux for transparent huge pages behind a fresh buffer (advice only; false where not taken). */
  adviseHugePages(buffer: ArrayBuffer): boolean;
  /** Bytes from the buffer's start to its first 64-byte boundary. */
  alignmentSkip(buffer: ArrayBuffer): number;
}

let addon: NativeAddon | null = null;
let backendCache: Backend | null = null;
const variants = new Map<NativeIsa, { kernels: NativeKernels; backend: Backend }>();

/**
 * Path of the compiled addon (same relative place from src/ and from dist/); TATAMI_NATIVE_ADDON points elsewhere
 * (scripts/sanitize.sh loads a sanitizer build this way).
 */
export const NATIVE_ADDON_PATH =
  (typeof process !== 'undefined' && process.env?.TATAMI_NATIVE_ADDON) ||
  fileURLToPath(new URL('../../build/Release/tatami.node', import.meta.url));

function load(): NativeAddon {
  if (addon) return addon;
  if (typeof process === 'undefined' || !process.versions?.node) throw new Error('the native addon needs Node.js');
  if (!existsSync(NATIVE_ADDON_PATH))
    throw new Error(`addon not built (${NATIVE_ADDON_PATH} missing; run npm run build:native)`);
  const require = createRequire(import.meta.url);
  const a = require(NATIVE_ADDON_PATH) as NativeAddon;
  addon = a;
  // (an addon built before adviseHugePages existed, e.g. a stale TATAMI_NATIVE_ADDON build, just goes without)
  if (typeof a.adviseHugePages === 'function') setLargeBufferAdvice((buffer) => a.adviseHugePages(buffer));
  if (typeof a.alignmentSkip === 'function') setStorageAlignment((buffer) => a.alignmentSkip(buffer));
  return a;
}

function isNativeIsa(s: string): s is NativeIsa {
  return (NATIVE_ISAS as readonly string[]).includes(s);
}

/** The instruction sets whose builds run on this CPU (fastest first); empty when the addon is unavailable. */
export function nativeIsas(): NativeIsa[] {
  try {
    return load().isas.filter(isNativeIsa);
  } catch {
    return [];
  }
}

function variant(isa: NativeIsa): { kernels: NativeKernels; backend: Backend } {
  let v = variants.get(isa);
  if (!v) {
    const m = load();
    if (!m.isas.includes(isa))
      throw new Error(`native-${isa}: this CPU does not support it (supported: ${m.isas.join(', ')})`);
    const kernels = m.kernels(isa);
    v = { kernels, backend: makeAcceleratedBackend(kernels.name, kernels) };
    variants.set(isa, v);
  }
  return v;
}

/** The backend of one instruction-set build, without the self-check (tests and benchmarks compare them). */
export function loadNativeVariant(isa: NativeIsa): Backend {
  return variant(isa).backend;
}

/**
 * Loads the addon and returns the backend of the build chosen for this machine; throws saying why when the addon
 * is unavailable. TATAMI_ISA=avx512|avx2|generic|generic16|generic8 forces a build (no self-check: tests use it
 * to run a suspect build); an unsupported or unknown name is an error, not a silent fallback.
 */
export function loadNativeBackend(): Backend {
  if (backendCache) return backendCache;
  const m = load();
  const requested = typeof process !== 'undefined' ? process.env?.TATAMI_ISA : undefined;
  if (requested) {
    if (!isNativeIsa(requested))
      throw new Error(`TATAMI_ISA=${requested}: unknown instruction set (expected one of ${NATIVE_ISAS.join(', ')})`);
    if (!m.isas.includes(requested))
      throw new Error(`TATAMI_ISA=${requested}: this CPU does not support it (supported: ${m.isas.join(', ')})`);
    return (backendCache = variant(requested).backend);
  }
  const refused: string[] = [];
  const portable = variant('generic').backend;
  for (const isa of DEFAULT_ORDER) {
    if (!m.isas.includes(isa)) continue;
    const b = variant(isa).backend;
    const problem = selfCheck(b, portable);
    if (problem === null) {
      if (refused.length) console.warn(`tatami: using ${b.name} (${refused.join('; ')})`);
      return (backendCache = b);
    }
    refused.push(`${b.name} refused: its self-check disagrees with the reference kernels — ${problem}`);
  }
  throw new Error(`no native kernel build passed its self-check: ${refused.join('; ')}`);
}

/** The algorithm the native conv planner picks for a geometry and direction on one build (for tests and `tatami info`). */
export function nativeConvPlan(isa: NativeIsa, g: Conv2dGeometry, direction: ConvDirection): ConvPlan {
  return convPlanName(`native-${isa}`, variant(isa).kernels.convPlan(convGeom(g), CONV_DIRECTIONS.indexOf(direction)));
}

/** Sets the native thread-pool size (0 = default: TATAMI_NUM_THREADS or all cores); returns the size in effect. */
export function setNativeThreads(n: number): number {
  return load().setNumThreads(Math.max(0, Math.floor(n)));
}

/** Current native thread-pool size (1 when the addon is not available). */
export function getNativeThreads(): number {
  try {
    return load().getNumThreads();
  } catch {
    return 1;
  }
}

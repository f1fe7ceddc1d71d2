/**
 * Seedable random numbers. The generator is xoshiro128** (Blackman & Vigna), seeded from a 32-bit or 53-bit
 * integer through SplitMix32, so the same seed always yields the same stream on every platform.
 * Uniform floats take the top 24 bits (float32-exact in [0, 1)); normals use the Box–Muller transform.
 * The numbers differ from PyTorch's (a different algorithm); tests compare against PyTorch through fixtures.
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;
  private seedValue = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Resets the stream to the one determined by `seed`. */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new Error(`manualSeed: seed must be a finite number, got ${seed}`);
    this.seedValue = seed;
    let x = (Math.floor(Math.abs(seed)) ^ Math.floor(Math.abs(seed) / 4294967296)) >>> 0;
    if (seed < 0) x = ~x >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spareNormal = null;
    return this;
  }

  /** The seed last passed to manualSeed. */
  initialSeed(): number {
    return this.seedValue;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 24 random bits. */
  random(): number {
    return (this.nextUint32() >>> 8) / 16777216;
  }

  /** Standard normal sample (Box–Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = this.random();
    // u = 0 has probability 2⁻²⁴ per draw; a valid xoshiro state never yields 0 forever, but a corrupt one
    // could, so the retry is bounded instead of spinning.
    for (let tries = 0; u === 0; tries++) {
      if (tries >= 64)
        throw new Error(
          'Generator.normal: the generator returned 0 64 times in a row; its state is corrupt (reseed it with manualSeed)',
        );
      u = this.random();
    }
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [low, high). */
  randint(low: number, high: number): number {
    const range = high - low;
    if (!(range > 0)) throw new Error(`randint: high (${high}) must be greater than low (${low})`);
    return low + Math.floor(this.random() * range);
  }

  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** Throws a clear error unless `state` is a valid getState() result (see setState). */
  static checkState(state: unknown): asserts state is number[] {
    if (!Array.isArray(state))
      throw new Error(
        `Generator.setState: expected an array of 6 numbers, got ${state === null ? 'null' : typeof state}`,
      );
    if (state.length !== 6) throw new Error(`Generator.setState: expected 6 numbers, got ${state.length}`);
    for (let i = 0; i < 4; i++) {
      const v = state[i];
      // getState's words are the xor-shift registers as JavaScript leaves them: signed or unsigned 32-bit.
      if (!(typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff)) {
        throw new Error(`Generator.setState: state word ${i} must be a 32-bit integer, got ${JSON.stringify(v)}`);
      }
    }
    if ((state[0] | state[1] | state[2] | state[3]) === 0) {
      throw new Error(
        'Generator.setState: the four state words are all zero, which xoshiro128** can never leave (every draw would be 0)',
      );
    }
    if (typeof state[4] !== 'number' || !(Number.isNaN(state[4]) || Number.isFinite(state[4]))) {
      throw new Error(
        `Generator.setState: the spare normal must be a finite number or NaN (none), got ${JSON.stringify(state[4])}`,
      );
    }
    if (typeof state[5] !== 'number' || !Number.isFinite(state[5]))
      throw new Error(`Generator.setState: the seed must be a finite number, got ${JSON.stringify(state[5])}`);
  }

  /** Full internal state, for checkpoints that must resume the exact stream. */
  getState(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.spareNormal ?? Number.NaN, this.seedValue];
  }

  /**
   * Restores a state from getState(). Validated first, since it usually comes from a file: four 32-bit unsigned
   * integers not all zero (xoshiro's all-zero state only ever yields 0 — `randn` would spin), a spare normal
   * that is NaN (none) or finite, and a finite seed.
   */
  setState(state: readonly number[]): this {
    Generator.checkState(state);
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0);
    this.spareNormal = Number.isNaN(state[4]) ? null : state[4];
    this.seedValue = state[5];
    return this;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The process-wide default generator used when no generator is passed. */
export const defaultGenerator = new Generator(0);

/** Seeds the default generator (PyTorch's torch.manual_seed). */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}

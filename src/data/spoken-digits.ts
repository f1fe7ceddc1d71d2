/**
 * Spoken digits "zero" … "nine" synthesised offline with the eSpeak NG formant synthesiser (Debian package
 * `espeak-ng`): many voices (accent × voice variant), random speaking rates and pitches, added white noise, 1 s
 * clips at 8 kHz. The train/test split is by voice variant — every test clip is spoken by variants (male, female,
 * whispering, croaking … timbres) never heard in training, in every accent — so accuracy measures generalisation
 * to new speakers, as the Free Spoken Digit Dataset's per-speaker splits do.
 *
 * `SpokenDigits.generate({ root })` writes the WAVs and a manifest once (about 3 minutes on one core);
 * `new SpokenDigits({ split })` then reads them: [waveform float32 [1, 8000], digit int].
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator } from '../tensor/random.js';
import { narrow } from '../ops/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { decodeWav, encodeWav } from '../io/wav.js';
import { padOrCrop, resample } from './audio.js';
import { Dataset } from './dataset.js';
import { cacheDir } from './locate.js';
import { transformPair, type TransformLike } from './transform-base.js';

export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;

/** eSpeak NG accents used for every variant. */
export const SPOKEN_DIGIT_ACCENTS = [
  'en-us',
  'en-gb',
  'en-gb-scotland',
  'en-gb-x-rp',
  'en-gb-x-gbclan',
  'en-gb-x-gbcwmd',
  'en-029',
] as const;
/** Voice variants heard in training. */
export const SPOKEN_DIGIT_TRAIN_VARIANTS = [
  'm1',
  'm2',
  'm3',
  'm4',
  'm5',
  'm6',
  'f1',
  'f2',
  'f3',
  'f4',
  'klatt',
  'klatt2',
  'klatt3',
  'croak',
  'whisper',
  'adam',
  'Alex',
  'Andy',
  'aunty',
  'boris',
  'david',
  'ed',
  'edward',
  'iven',
  'john',
  'linda',
  'max',
  'paul',
  'robert',
  'steph',
] as const;
/** Held-out voice variants: the test set. */
export const SPOKEN_DIGIT_TEST_VARIANTS = [
  'm7',
  'f5',
  'klatt4',
  'whisperf',
  'grandpa',
  'Annie',
  'benjamin',
  'quincy',
] as const;

/** One clip of the manifest. */
export interface SpokenDigitClip {
  file: string;
  digit: number;
  accent: string;
  variant: string;
  split: 'train' | 'test';
  wordsPerMinute: number;
  pitch: number;
  snrDb: number;
}

/** Options of SpokenDigits.generate. */
export interface SpokenDigitsGenerateOptions {
  /** Output folder (default: the cache, TATAMI_CACHE or ~/.cache/tatami/datasets/spoken-digits). */
  root?: string;
  /** Renditions (random rate, pitch, noise) of each digit per voice (default 2). */
  renditions?: number;
  sampleRate?: number;
  seed?: number;
  /** The espeak-ng executable (default 'espeak-ng' on PATH). */
  espeak?: string;
  /** Accents and voice variants to use (default: all of SPOKEN_DIGIT_ACCENTS / _TRAIN_VARIANTS / _TEST_VARIANTS). */
  accents?: readonly string[];
  trainVariants?: readonly string[];
  testVariants?: readonly string[];
  /** Called after each voice with the number done and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Options of the SpokenDigits dataset. */
export interface SpokenDigitsOptions {
  root?: string;
  split?: 'train' | 'test';
  transform?: TransformLike<Tensor, Tensor>;
}

const MANIFEST = 'manifest.json';

/**
 * Splits a waveform that speaks the ten digits with long pauses into ten [start, end) sample ranges: runs of
 * samples whose 10 ms envelope stays below 1 % of the peak for ≥ 200 ms separate the words (eSpeak's inter-word
 * gap is set to 700 ms; no digit has an internal silence that long).
 */
function splitWords(x: Float32Array, rate: number): [number, number][] {
  const hop = Math.round(rate / 100);
  const frames = Math.floor(x.length / hop);
  const env = new Float32Array(frames);
  let peak = 0;
  for (let f = 0; f < frames; f++) {
    let m = 0;
    for (let i = f * hop; i < (f + 1) * hop; i++) m = Math.max(m, Math.abs(x[i]));
    env[f] = m;
    peak = Math.max(peak, m);
  }
  const loud = Array.from(env, (e) => e > 0.01 * peak);
  const words: [number, number][] = [];
  let f = 0;
  while (f < frames) {
    while (f < frames && !loud[f]) f++;
    if (f >= frames) break;
    const start = f;
    let quiet = 0;
    let end = f;
    for (; f < frames; f++) {
      if (loud[f]) {
        quiet = 0;
        end = f + 1;
      } else if (++quiet >= 20) break;
    }
    words.push([Math.max(0, start - 2) * hop, Math.min(frames, end + 2) * hop]);
  }
  return words;
}

/** Spoken digits synthesised by eSpeak NG (see the module comment). */
export class SpokenDigits extends Dataset<[Tensor, number]> {
  readonly root: string;
  readonly split: 'train' | 'test';
  readonly clips: SpokenDigitClip[];
  readonly sampleRate: number;
  private readonly transform?: TransformLike<Tensor, Tensor>;
  private readonly cache = new Map<number, Tensor>();

  constructor(opts: SpokenDigitsOptions = {}) {
    super();
    this.root = opts.root ?? cacheDir('spoken-digits');
    this.split = opts.split ?? 'train';
    if (this.split !== 'train' && this.split !== 'test')
      throw new Error(`SpokenDigits: split must be 'train' or 'test', got ${JSON.stringify(this.split)}`);
    const manifest = join(this.root, MANIFEST);
    if (!existsSync(manifest)) {
      throw new Error(
        `SpokenDigits: no ${MANIFEST} in ${this.root}. Generate the set once (needs espeak-ng: apt-get install espeak-ng) with ` +
          `\`npx tsx tools/make-spoken-digits.ts [root]\` or \`await tt.data.SpokenDigits.generate({ root })\`.`,
      );
    }
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { sampleRate: number; clips: SpokenDigitClip[] };
    this.sampleRate = m.sampleRate;
    this.clips = m.clips.filter((c) => c.split === this.split);
    this.transform = opts.transform;
  }

  get length(): number {
    return this.clips.length;
  }

  /** [waveform [1, sampleRate] float32, digit]. */
  get(index: number): [Tensor, number] {
    const i = this.checkIndex(index);
    let wave = this.cache.get(i);
    if (!wave) {
      wave = decodeWav(readFileSync(join(this.root, this.clips[i].file))).waveform;
      this.cache.set(i, wave);
    }
    return transformPair(wave, this.clips[i].digit, this.transform);
  }

  /**
   * Synthesises the set into `root` with espeak-ng: for every accent × variant voice and rendition, one call speaks
   * all ten digits (rate 130–220 words/min, pitch 25–75), the words are cut at the pauses, resampled to
   * `sampleRate`, centred in 1 s, scaled to a random peak in [0.3, 0.9] and mixed with white noise at 10–30 dB SNR.
   */
  static generate(opts: SpokenDigitsGenerateOptions = {}): string {
    const root = opts.root ?? cacheDir('spoken-digits');
    const espeak = opts.espeak ?? 'espeak-ng';
    const probe = spawnSync(espeak, ['--version'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) {
      throw new Error(
        `SpokenDigits.generate: cannot run ${espeak} (${probe.error?.message ?? probe.stderr}); install it with apt-get install espeak-ng`,
      );
    }
    const rate = opts.sampleRate ?? 8000;
    const renditions = opts.renditions ?? 2;
    const g = new Generator(opts.seed ?? 0);
    const clips: SpokenDigitClip[] = [];
    const voices: [string, string, 'train' | 'test'][] = [];
    for (const accent of opts.accents ?? SPOKEN_DIGIT_ACCENTS) {
      for (const v of opts.trainVariants ?? SPOKEN_DIGIT_TRAIN_VARIANTS) voices.push([accent, v, 'train']);
      for (const v of opts.testVariants ?? SPOKEN_DIGIT_TEST_VARIANTS) voices.push([accent, v, 'test']);
    }
    mkdirSync(root, { recursive: true });
    voices.forEach(([accent, variant, split], vi) => {
      const dir = `${accent}+${variant}`;
      mkdirSync(join(root, dir), { recursive: true });
      for (let r = 0; r < renditions; r++) {
        const wpm = Math.round(130 + 90 * g.random());
        const pitch = Math.round(25 + 50 * g.random());
        const res = spawnSync(
          espeak,
          [
            '-v',
            `${accent}+${variant}`,
            '-s',
            String(wpm),
            '-p',
            String(pitch),
            '-g',
            '70',
            '--stdout',
            DIGIT_WORDS.join(' '),
          ],
          { maxBuffer: 64 << 20 },
        );
        if (res.status !== 0)
          throw new Error(`SpokenDigits.generate: espeak-ng failed for voice ${accent}+${variant}: ${res.stderr}`);
        const wav = decodeWav(new Uint8Array(res.stdout.buffer, res.stdout.byteOffset, res.stdout.byteLength));
        const words = splitWords(wav.waveform.dataView() as Float32Array, wav.sampleRate);
        if (words.length !== 10) continue; // a voice that runs words together: skip this rendition rather than mislabel
        words.forEach(([s, e], digit) => {
          let w = resample(narrow(wav.waveform, 1, s, e - s), wav.sampleRate, rate);
          w = padOrCrop(w, rate);
          const d = w.dataView();
          let peak = 0;
          for (let i = 0; i < d.length; i++) peak = Math.max(peak, Math.abs(d[i]));
          const gain = (0.3 + 0.6 * g.random()) / Math.max(peak, 1e-6);
          let power = 0;
          for (let i = 0; i < d.length; i++) {
            d[i] *= gain;
            power += d[i] * d[i];
          }
          power /= d.length;
          const snrDb = 10 + 20 * g.random();
          const std = Math.sqrt(power / 10 ** (snrDb / 10));
          for (let i = 0; i < d.length; i++) d[i] = Math.max(-1, Math.min(1, d[i] + std * g.normal()));
          const file = `${dir}/${digit}_${r}.wav`;
          writeFileSync(join(root, file), encodeWav(w, rate));
          clips.push({
            file,
            digit,
            accent,
            variant,
            split,
            wordsPerMinute: wpm,
            pitch,
            snrDb: Math.round(snrDb * 10) / 10,
          });
        });
      }
      opts.onProgress?.(vi + 1, voices.length);
    });
    writeFileSync(
      join(root, MANIFEST),
      JSON.stringify({ generator: 'tatami SpokenDigits.generate', sampleRate: rate, clips }, null, 0),
    );
    return root;
  }
}

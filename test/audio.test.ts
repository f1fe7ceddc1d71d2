/** WAV reading/writing, resampling, 1-D augmentations and the espeak-ng SpokenDigits set. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

const { data } = tt;
const hasEspeak = spawnSync('espeak-ng', ['--version']).status === 0;

test('WAV: a hand-built 16-bit stereo file decodes to the expected samples', () => {
  // RIFF header, fmt (PCM, 2 channels, 8000 Hz, 16 bits), an unknown odd-sized chunk to skip, data: 2 frames
  const b: number[] = [];
  const str = (s: string) => {
    for (const ch of s) b.push(ch.charCodeAt(0));
  };
  const u32 = (v: number) => b.push(v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  const u16 = (v: number) => b.push(v & 255, (v >> 8) & 255);
  str('RIFF');
  u32(0);
  str('WAVE');
  str('fmt ');
  u32(16);
  u16(1);
  u16(2);
  u32(8000);
  u32(32000);
  u16(4);
  u16(16);
  str('LIST');
  u32(3);
  b.push(1, 2, 3, 0); // odd size: one pad byte
  str('data');
  u32(8);
  u16(16384);
  u16(0x8000);
  u16(0xffff);
  u16(32767);
  const wav = tt.decodeWav(Uint8Array.from(b));
  assert.equal(wav.sampleRate, 8000);
  assert.equal(wav.bitsPerSample, 16);
  assert.equal(wav.encoding, 'pcm');
  assert.deepEqual(wav.waveform.shape, [2, 2]);
  assert.deepEqual([...wav.waveform.dataView()], [0.5, -1 / 32768, -1, 32767 / 32768]);
});

test('WAV: encode → decode round trips in every format; 24-bit negatives; clipping; errors', () => {
  const x = tt.tensor([
    [0, 0.25, -0.5, 0.999, -1],
    [1.5, -2, 0.125, -0.125, 0.0625],
  ]);
  for (const [bits, encoding, tol] of [
    [8, 'pcm', 1 / 128],
    [16, 'pcm', 1 / 32768],
    [24, 'pcm', 2 ** -23],
    [32, 'pcm', 2 ** -31],
    [32, 'float', 0],
    [64, 'float', 0],
  ] as const) {
    const back = tt.decodeWav(tt.encodeWav(x, 16000, { bitsPerSample: bits, encoding }));
    assert.equal(back.sampleRate, 16000);
    assert.equal(back.bitsPerSample, bits);
    // integer PCM clips to [−1, 1 − 2^−(bits−1)]
    const expected = encoding === 'float' ? x : tt.clamp(x, -1, 1 - 2 ** -(bits - 1));
    assertClose(back.waveform, expected, { atol: tol, rtol: 0, what: `${bits}-bit ${encoding}` });
  }
  const mono = tt.decodeWav(tt.encodeWav(tt.tensor([-0.75, 0.5]), 8000, { bitsPerSample: 24 }));
  assert.deepEqual(mono.waveform.shape, [1, 2]);
  assert.deepEqual([...mono.waveform.dataView()], [-0.75, 0.5]);
  assert.throws(() => tt.decodeWav(new Uint8Array(20)), /decodeWav: not a RIFF\/WAVE file/);
  assert.throws(
    () => tt.encodeWav(x, 8000, { bitsPerSample: 12 }),
    /encodeWav: 12 bits per sample is not supported for pcm/,
  );
  assert.throws(() => tt.encodeWav(tt.zeros([1, 2, 3]), 8000), /encodeWav: expected a waveform/);
});

test(
  'WAV: files written by espeak-ng (22,050 Hz, 16-bit) decode, and writeWav/readWav round trip',
  { skip: hasEspeak ? false : 'espeak-ng not installed' },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tatami-wav-'));
    try {
      spawnSync('espeak-ng', ['-w', join(dir, 'seven.wav'), 'seven']);
      const a = await tt.readWav(join(dir, 'seven.wav'));
      assert.equal(a.sampleRate, 22050);
      assert.equal(a.waveform.shape[0], 1);
      assert.ok(a.waveform.shape[1] > 5000, `${a.waveform.shape[1]} samples`);
      assert.ok(tt.amax(tt.abs(a.waveform)).item() > 0.1);
      await tt.writeWav(join(dir, 'copy.wav'), a.waveform, a.sampleRate);
      const b = await tt.readWav(join(dir, 'copy.wav'));
      assertClose(b.waveform, a.waveform, { atol: 0, rtol: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('resample keeps a tone in band and removes one above the new Nyquist; padOrCrop centres', () => {
  const tone = (f: number, rate: number, n: number) =>
    tt
      .sin(
        tt
          .arange(0, n)
          .float()
          .mul((2 * Math.PI * f) / rate),
      )
      .unsqueeze(0);
  const y = data.resample(tone(440, 22050, 22050), 22050, 8000);
  assert.deepEqual(y.shape, [1, 8000]);
  // middle of the signal (away from edge effects) matches the ideal 8 kHz tone
  assertClose(tt.narrow(y, 1, 1000, 6000), tt.narrow(tone(440, 8000, 8000), 1, 1000, 6000), { atol: 0.01, rtol: 0 });
  const alias = data.resample(tone(6000, 22050, 22050), 22050, 8000); // 6 kHz > 4 kHz Nyquist
  assert.ok(tt.amax(tt.abs(tt.narrow(alias, 1, 1000, 6000))).item() < 0.02);
  assert.deepEqual([...data.padOrCrop(tt.tensor([[1, 2, 3]]), 7).dataView()], [0, 0, 1, 2, 3, 0, 0]);
  assert.deepEqual([...data.padOrCrop(tt.tensor([[1, 2, 3, 4, 5]]), 3).dataView()], [2, 3, 4]);
});

test('1-D augmentations: time shift moves samples, gain and noise hit their targets, specs rebuild', () => {
  const x = tt.tensor([[1, 2, 3, 4, 5, 6]]);
  const shifted = new data.RandomTimeShift(2, { generator: new tt.Generator(3) }).apply(x);
  const v = [...shifted.dataView()];
  const s = v.indexOf(1) >= 0 ? v.indexOf(1) : -(6 - v.filter((q) => q !== 0).length);
  assert.ok(Math.abs(s) <= 2);
  assert.deepEqual(
    v.filter((q) => q !== 0),
    s >= 0 ? [1, 2, 3, 4, 5, 6].slice(0, 6 - s) : [1, 2, 3, 4, 5, 6].slice(-s),
  );
  const g = new data.RandomGain(6, 6).apply(x);
  assertClose(g, tt.mul(x, 10 ** (6 / 20)), { atol: 1e-6 });
  const sig = tt.sin(tt.arange(0, 20000).float().mul(0.05)).unsqueeze(0);
  const noisy = new data.AddNoise(10, 10, { generator: new tt.Generator(1) }).apply(sig);
  const noise = tt.sub(noisy, sig);
  const snr = 10 * Math.log10(tt.mean(tt.square(sig)).item() / tt.mean(tt.square(noise)).item());
  assert.ok(Math.abs(snr - 10) < 0.2, `SNR ${snr} dB`);
  const spec = new data.AddNoise(5, 20).spec();
  assert.equal(tt.data.transformFromSpec(spec).toString(), 'AddNoise(5, 20)');
});

test(
  'SpokenDigits: generates real espeak-ng clips split by voice variant, reads them back',
  { skip: hasEspeak ? false : 'espeak-ng not installed' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'tatami-digits-'));
    try {
      data.SpokenDigits.generate({
        root: dir,
        accents: ['en-us', 'en-gb'],
        trainVariants: ['m1', 'f2'],
        testVariants: ['croak'],
        renditions: 1,
      });
      const train = new data.SpokenDigits({ root: dir, split: 'train' });
      const test = new data.SpokenDigits({ root: dir, split: 'test' });
      assert.equal(train.length, 2 * 2 * 10);
      assert.equal(test.length, 2 * 1 * 10);
      assert.ok(test.clips.every((c) => c.variant === 'croak') && train.clips.every((c) => c.variant !== 'croak'));
      const [w, digit] = train.get(7);
      assert.deepEqual(w.shape, [1, 8000]);
      assert.equal(digit, 7);
      assert.deepEqual(
        train.clips.slice(0, 10).map((c) => c.digit),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
      // a spoken word, not silence: most of the energy sits in the middle of the 1 s clip
      const e = tt.square(w);
      assert.ok(tt.sum(tt.narrow(e, 1, 2000, 4000)).item() > 0.5 * tt.sum(e).item());
      assert.throws(
        () => new data.SpokenDigits({ root: join(dir, 'missing') }),
        /SpokenDigits: no manifest.json .* espeak-ng/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

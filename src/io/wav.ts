/**
 * WAV (RIFF/WAVE) audio: decode and encode PCM (8-bit unsigned, 16/24/32-bit signed) and IEEE float (32/64-bit),
 * plain or WAVE_FORMAT_EXTENSIBLE, any number of channels. Waveforms are float32 tensors [channels, samples] with
 * integer PCM scaled to [−1, 1) by 2^(bits−1) (8-bit: (v − 128)/128), as torchaudio.load returns them; encoding
 * scales back, rounds and clips to the integer range.
 */
import { readFile } from 'node:fs/promises';
import type { Tensor } from '../tensor/tensor.js';
import { tensor } from '../tensor/creation.js';
import { contiguous } from '../ops/shape.js';
import { formatShape } from '../tensor/shape.js';
import { writeFileAtomic } from './atomic.js';

/** A decoded WAV file. */
export interface WavAudio {
  /** float32 [channels, samples]. */
  waveform: Tensor;
  sampleRate: number;
  /** Bits per sample of the stored data (8, 16, 24, 32 or 64). */
  bitsPerSample: number;
  /** 'pcm' (integer) or 'float'. */
  encoding: 'pcm' | 'float';
}

/** Options of encodeWav / writeWav. */
export interface WavEncodeOptions {
  /** Bits per sample (default 16): 8, 16, 24 or 32 for 'pcm'; 32 or 64 for 'float'. */
  bitsPerSample?: number;
  /** Sample encoding (default 'pcm'). */
  encoding?: 'pcm' | 'float';
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;

function fourcc(v: DataView, at: number): string {
  return String.fromCharCode(v.getUint8(at), v.getUint8(at + 1), v.getUint8(at + 2), v.getUint8(at + 3));
}

/** Decodes a WAV file's bytes. Throws naming what is wrong for anything that is not a supported WAV. */
export function decodeWav(bytes: Uint8Array): WavAudio {
  const op = 'decodeWav';
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || fourcc(v, 0) !== 'RIFF' || fourcc(v, 8) !== 'WAVE') {
    throw new Error(
      `${op}: not a RIFF/WAVE file (${bytes.length} bytes, starts with ${JSON.stringify(bytes.length >= 4 ? fourcc(v, 0) : '')})`,
    );
  }
  let fmt: { format: number; channels: number; sampleRate: number; bits: number; blockAlign: number } | null = null;
  let data: { at: number; size: number } | null = null;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = fourcc(v, at);
    const size = v.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16) throw new Error(`${op}: fmt chunk of ${size} bytes is too short (need 16)`);
      let format = v.getUint16(body, true);
      if (format === FORMAT_EXTENSIBLE) {
        if (size < 40)
          throw new Error(`${op}: WAVE_FORMAT_EXTENSIBLE fmt chunk of ${size} bytes is too short (need 40)`);
        format = v.getUint16(body + 24, true); // the sub-format GUID starts with the format code
      }
      fmt = {
        format,
        channels: v.getUint16(body + 2, true),
        sampleRate: v.getUint32(body + 4, true),
        bits: v.getUint16(body + 14, true),
        blockAlign: v.getUint16(body + 12, true),
      };
    } else if (id === 'data') {
      // a streamed file may give a size past the end: take what is there
      data = { at: body, size: Math.min(size, bytes.length - body) };
    }
    at = body + size + (size & 1); // chunks are word-aligned
  }
  if (!fmt) throw new Error(`${op}: no fmt chunk`);
  if (!data) throw new Error(`${op}: no data chunk`);
  const { format, channels, sampleRate, bits } = fmt;
  const pcmOk = format === FORMAT_PCM && [8, 16, 24, 32].includes(bits);
  const floatOk = format === FORMAT_FLOAT && (bits === 32 || bits === 64);
  if (!pcmOk && !floatOk)
    throw new Error(
      `${op}: unsupported sample format ${format} with ${bits} bits (supported: PCM 8/16/24/32, float 32/64)`,
    );
  if (channels < 1) throw new Error(`${op}: fmt chunk says ${channels} channels`);
  const bps = bits / 8;
  const frame = channels * bps;
  const frames = Math.floor(data.size / frame);
  const out = new Float32Array(channels * frames);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      const p = data.at + i * frame + c * bps;
      let s: number;
      if (format === FORMAT_FLOAT) s = bits === 32 ? v.getFloat32(p, true) : v.getFloat64(p, true);
      else if (bits === 8) s = (v.getUint8(p) - 128) / 128;
      else if (bits === 16) s = v.getInt16(p, true) / 32768;
      else if (bits === 24)
        s = (((v.getUint8(p + 2) << 24) | (v.getUint8(p + 1) << 16) | (v.getUint8(p) << 8)) >> 8) / 8388608;
      else s = v.getInt32(p, true) / 2147483648;
      out[c * frames + i] = s;
    }
  }
  return {
    waveform: tensor(out, [channels, frames]),
    sampleRate,
    bitsPerSample: bits,
    encoding: format === FORMAT_FLOAT ? 'float' : 'pcm',
  };
}

/** Encodes a waveform [channels, samples] (or [samples], mono) of values in [−1, 1] as a WAV file. */
export function encodeWav(waveform: Tensor, sampleRate: number, opts: WavEncodeOptions = {}): Uint8Array {
  const op = 'encodeWav';
  const encoding = opts.encoding ?? 'pcm';
  const bits = opts.bitsPerSample ?? (encoding === 'float' ? 32 : 16);
  if (encoding !== 'pcm' && encoding !== 'float')
    throw new Error(`${op}: encoding must be 'pcm' or 'float', got ${JSON.stringify(encoding)}`);
  if (encoding === 'pcm' ? ![8, 16, 24, 32].includes(bits) : bits !== 32 && bits !== 64) {
    throw new Error(
      `${op}: ${bits} bits per sample is not supported for ${encoding} (pcm: 8, 16, 24, 32; float: 32, 64)`,
    );
  }
  if (!Number.isInteger(sampleRate) || sampleRate < 1)
    throw new Error(`${op}: sampleRate must be a positive integer, got ${sampleRate}`);
  if (waveform.shape.length !== 1 && waveform.shape.length !== 2) {
    throw new Error(
      `${op}: expected a waveform [channels, samples] or [samples], got shape ${formatShape(waveform.shape)}`,
    );
  }
  const [channels, frames] = waveform.shape.length === 1 ? [1, waveform.shape[0]] : waveform.shape;
  const src = contiguous(waveform).dataView();
  const bps = bits / 8;
  const dataSize = channels * frames * bps;
  const bytes = new Uint8Array(44 + dataSize + (dataSize & 1));
  const v = new DataView(bytes.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  put(0, 'RIFF');
  v.setUint32(4, bytes.length - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, encoding === 'float' ? FORMAT_FLOAT : FORMAT_PCM, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * channels * bps, true);
  v.setUint16(32, channels * bps, true);
  v.setUint16(34, bits, true);
  put(36, 'data');
  v.setUint32(40, dataSize, true);
  const scale = 2 ** (bits - 1);
  const toInt = (s: number) => Math.max(-scale, Math.min(scale - 1, Math.round((Number.isNaN(s) ? 0 : s) * scale)));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      const p = 44 + (i * channels + c) * bps;
      const s = src[c * frames + i];
      if (encoding === 'float') {
        if (bits === 32) v.setFloat32(p, s, true);
        else v.setFloat64(p, s, true);
      } else if (bits === 8) v.setUint8(p, toInt(s) + 128);
      else if (bits === 16) v.setInt16(p, toInt(s), true);
      else if (bits === 24) {
        const q = toInt(s);
        v.setUint8(p, q & 0xff);
        v.setUint8(p + 1, (q >> 8) & 0xff);
        v.setUint8(p + 2, (q >> 16) & 0xff);
      } else v.setInt32(p, toInt(s), true);
    }
  }
  return bytes;
}

/** Reads and decodes a WAV file (torchaudio.load for WAV). */
export async function readWav(path: string): Promise<WavAudio> {
  return decodeWav(await readFile(path));
}

/** Encodes and writes a WAV file atomically (torchaudio.save for WAV). */
export async function writeWav(
  path: string,
  waveform: Tensor,
  sampleRate: number,
  opts: WavEncodeOptions = {},
): Promise<void> {
  await writeFileAtomic(path, encodeWav(waveform, sampleRate, opts));
}

/**
 * Converts a float32 safetensors file to float16 (IEEE half, round to nearest even) so the playground ships the
 * small CNN's weights at half the size; Tatami's loader reads F16 back as float32.
 * Usage: npx tsx tools/playground/half-weights.ts IN.safetensors OUT.safetensors [key=value metadata…]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import '../../src/index.js';
import { parseSafetensors } from '../../src/io/safetensors.js';

/** float32 → IEEE half bits, round to nearest even (subnormals kept, overflow → ±inf). */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

const [input, output, ...meta] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: half-weights.ts IN.safetensors OUT.safetensors [key=value …]');
const { tensors, metadata } = parseSafetensors(readFileSync(input), input);
const header: Record<string, unknown> = {
  __metadata__: { ...(metadata ?? {}), ...Object.fromEntries(meta.map((kv) => kv.split('='))) },
};
let offset = 0;
const chunks: Uint16Array[] = [];
for (const [name, t] of Object.entries(tensors)) {
  const src = t.contiguous().storage;
  const h = new Uint16Array(t.numel());
  for (let i = 0; i < h.length; i++) h[i] = toHalf(src[i]);
  header[name] = { dtype: 'F16', shape: t.shape, data_offsets: [offset, offset + h.byteLength] };
  offset += h.byteLength;
  chunks.push(h);
}
let json = JSON.stringify(header);
json += ' '.repeat((8 - (json.length % 8)) % 8);
const out = new Uint8Array(8 + json.length + offset);
new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
out.set(new TextEncoder().encode(json), 8);
let at = 8 + json.length;
for (const h of chunks) {
  out.set(new Uint8Array(h.buffer), at);
  at += h.byteLength;
}
writeFileSync(output, out);
console.log(`wrote ${output}: ${Object.keys(tensors).length} tensors, ${out.length} bytes`);

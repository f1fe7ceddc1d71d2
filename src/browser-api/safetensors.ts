/**
 * safetensors in a page: from a URL (fetch), a Response, a File/Blob or bytes, through the same byte parser as
 * Node's loadSafetensors (io/safetensors.ts); and to a Blob for a download link.
 */
import type { Tensor } from '../tensor/tensor.js';
import { parseSafetensors, serializeSafetensors, type SafetensorsContent } from '../io/safetensors.js';

/** Where safetensors bytes come from in a page. */
export type SafetensorsSource = string | URL | Response | Blob | ArrayBuffer | ArrayBufferView;

async function bytesOf(source: SafetensorsSource): Promise<{ bytes: Uint8Array; name: string }> {
  if (typeof source === 'string' || source instanceof URL) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`safetensors: ${String(source)}: HTTP ${response.status}`);
    return { bytes: new Uint8Array(await response.arrayBuffer()), name: String(source) };
  }
  if (typeof Response !== 'undefined' && source instanceof Response)
    return { bytes: new Uint8Array(await source.arrayBuffer()), name: source.url || '<response>' };
  if (typeof Blob !== 'undefined' && source instanceof Blob)
    return { bytes: new Uint8Array(await source.arrayBuffer()), name: (source as File).name ?? '<blob>' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), name: '<ArrayBuffer>' };
  if (ArrayBuffer.isView(source))
    return { bytes: new Uint8Array(source.buffer, source.byteOffset, source.byteLength), name: '<bytes>' };
  throw new Error(
    `safetensors: expected a URL, Response, File/Blob, ArrayBuffer or typed array, got ${Object.prototype.toString.call(source)}`,
  );
}

/** Reads safetensors (tensors and metadata) from a URL, Response, File/Blob or bytes. */
export async function readSafetensors(source: SafetensorsSource): Promise<SafetensorsContent> {
  const { bytes, name } = await bytesOf(source);
  return parseSafetensors(bytes, name);
}

/**
 * Loads the tensors of a safetensors file from a URL, Response, File/Blob or bytes —
 * `model.loadStateDict(await tt.loadSafetensors('/weights/small-cnn.safetensors'))`.
 */
export async function loadSafetensors(source: SafetensorsSource): Promise<Record<string, Tensor>> {
  return (await readSafetensors(source)).tensors;
}

/** Serializes tensors as a safetensors Blob (for `URL.createObjectURL` and a download link). */
export function safetensorsBlob(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Blob {
  return new Blob([serializeSafetensors(tensors, metadata) as Uint8Array<ArrayBuffer>], {
    type: 'application/octet-stream',
  });
}

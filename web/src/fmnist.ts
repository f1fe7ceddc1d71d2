/** The embedded Fashion-MNIST subset (data/fashion-mnist), fetched and gunzipped in the browser (DecompressionStream). */

export const CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

/** Images as uint8 [n, 28, 28] and their labels. */
export interface IdxSplit {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

async function gunzip(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`Fashion-MNIST: could not fetch ${url} (HTTP ${res.status})`);
  const stream = res.body.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Parses an IDX file (magic 0x0801 labels, 0x0803 images) and returns its payload. */
function idxPayload(buf: Uint8Array, url: string, magic: number): { data: Uint8Array; count: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const got = view.getUint32(0);
  if (got !== magic)
    throw new Error(`Fashion-MNIST: ${url} has magic 0x${got.toString(16)}, expected 0x${magic.toString(16)}`);
  const dims = magic & 0xff;
  const count = view.getUint32(4);
  return { data: buf.subarray(4 + 4 * dims), count };
}

/** Loads a split ('train' or 't10k') from the folder URL `base` (default: the repository's data folder). */
export async function loadSplit(
  split: 'train' | 't10k',
  base = new URL('../data/fashion-mnist/', document.baseURI).href,
): Promise<IdxSplit> {
  const iu = `${base}${split}-images-idx3-ubyte.gz`;
  const lu = `${base}${split}-labels-idx1-ubyte.gz`;
  const [ib, lb] = await Promise.all([gunzip(iu), gunzip(lu)]);
  const imgs = idxPayload(ib, iu, 0x803);
  const labs = idxPayload(lb, lu, 0x801);
  if (imgs.count !== labs.count)
    throw new Error(`Fashion-MNIST: ${imgs.count} images but ${labs.count} labels in ${split}`);
  return { images: imgs.data, labels: labs.data, n: imgs.count };
}

/** Images i0…i0+b as float32 [b·784] scaled to [0, 1] (the recipe of the CLI: pixels / 255). */
export function batchPixels(s: IdxSplit, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * 784);
  for (let b = 0; b < idx.length; b++) {
    const off = idx[b] * 784;
    for (let i = 0; i < 784; i++) out[b * 784 + i] = s.images[off + i] / 255;
  }
  return out;
}

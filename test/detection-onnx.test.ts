/**
 * ONNX conformance cases for NonMaxSuppression and RoiAlign (Debian's libonnx-testdata: the ONNX backend node
 * tests), run through tt.ops.nms and tt.ops.roiAlign. The .pb tensors and the model's attributes are read with a
 * minimal protobuf reader below. Skipped with a message when the package is not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as tt from '../src/index.ts';
import { assertClose } from './helpers.ts';

const ROOT = '/usr/share/libonnx-testdata/data/node';
const skip = existsSync(ROOT) ? false : `needs ${ROOT} (apt-get install -y libonnx-testdata)`;

/** Protobuf wire-format fields of one message: field number → raw values (numbers for varint/fixed, bytes otherwise). */
function fields(buf: Uint8Array): Map<number, (number | bigint | Uint8Array)[]> {
  const out = new Map<number, (number | bigint | Uint8Array)[]>();
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[p++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (p < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    let value: number | bigint | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 1) {
      value = view.getFloat64(p, true);
      p += 8;
    } else if (wire === 5) {
      value = view.getFloat32(p, true);
      p += 4;
    } else if (wire === 2) {
      const n = Number(varint());
      value = buf.subarray(p, p + n);
      p += n;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
    if (!out.has(field)) out.set(field, []);
    out.get(field)!.push(value);
  }
  return out;
}

/** Signed int64 varints (two's complement) as numbers. */
const int64 = (v: bigint) => Number(BigInt.asIntN(64, v));

/** Packed or unpacked repeated varints. */
function varints(vals: (number | bigint | Uint8Array)[] | undefined): number[] {
  const out: number[] = [];
  for (const v of vals ?? []) {
    if (v instanceof Uint8Array) {
      const f = fields(concatKey(v));
      out.push(...(f.get(1) ?? []).map((x) => int64(x as bigint)));
    } else out.push(int64(v as bigint));
  }
  return out;
}

/** Reads packed varints by prefixing each with field 1's key — reusing `fields` keeps the reader tiny. */
function concatKey(packed: Uint8Array): Uint8Array {
  const out: number[] = [];
  let p = 0;
  while (p < packed.length) {
    out.push(0x08);
    do out.push(packed[p]);
    while (packed[p++] >= 0x80);
  }
  return Uint8Array.from(out);
}

/** TensorProto (dims 1, data_type 2, float_data 4, int64_data 7, raw_data 9) → tt.Tensor (int64 → int32). */
function readTensor(path: string): tt.Tensor {
  const f = fields(readFileSync(path));
  const dims = varints(f.get(1));
  const type = Number(f.get(2)?.[0] ?? 0);
  const raw = f.get(9)?.[0] as Uint8Array | undefined;
  const n = dims.reduce((a, b) => a * b, 1);
  if (type === 1) {
    let data: Float32Array;
    if (raw) data = new Float32Array(new Uint8Array(raw).buffer);
    else {
      const packed = f.get(4)?.[0];
      data =
        packed instanceof Uint8Array
          ? new Float32Array(new Uint8Array(packed).buffer)
          : Float32Array.from((f.get(4) ?? []) as number[]);
    }
    assert.equal(data.length, n, `${path}: ${data.length} floats for dims ${dims}`);
    return tt.tensor(data, dims);
  }
  if (type === 7) {
    const data = raw ? Array.from(new BigInt64Array(new Uint8Array(raw).buffer), Number) : varints(f.get(7));
    return tt.tensor(Int32Array.from(data), dims, { dtype: 'int32' });
  }
  throw new Error(`${path}: TensorProto data_type ${type} not handled`);
}

/** Attributes of the model's single node: AttributeProto name 1, f 2, i 3, s 4. */
function attributes(dir: string): Record<string, number | string> {
  const model = fields(readFileSync(`${dir}/model.onnx`));
  const graph = fields(model.get(7)![0] as Uint8Array);
  const node = fields(graph.get(1)![0] as Uint8Array);
  const out: Record<string, number | string> = {};
  for (const a of (node.get(5) ?? []) as Uint8Array[]) {
    const af = fields(a);
    const name = new TextDecoder().decode(af.get(1)![0] as Uint8Array);
    if (af.has(2)) out[name] = af.get(2)![0] as number;
    else if (af.has(3)) out[name] = int64(af.get(3)![0] as bigint);
    else if (af.has(4)) out[name] = new TextDecoder().decode(af.get(4)![0] as Uint8Array);
  }
  return out;
}

function cases(prefix: string): string[] {
  return existsSync(ROOT)
    ? readdirSync(ROOT)
        .filter((d) => d.startsWith(prefix))
        .sort()
    : [];
}

/**
 * ONNX NonMaxSuppression through tt.ops.nms: corners may come in either order ([y1, x1, y2, x2] of any diagonal)
 * or as centres (center_point_box = 1); boxes scoring ≤ score_threshold are dropped; each (batch, class) keeps at
 * most max_output_boxes_per_class. IoU is symmetric in x and y, so (y, x) corners go to nms as they are.
 */
function onnxNms(dir: string): tt.Tensor {
  const set = `${dir}/test_data_set_0`;
  const boxes = readTensor(`${set}/input_0.pb`);
  const scores = readTensor(`${set}/input_1.pb`);
  const maxOut = existsSync(`${set}/input_2.pb`) ? readTensor(`${set}/input_2.pb`).item() : 0;
  const iouThr = existsSync(`${set}/input_3.pb`) ? readTensor(`${set}/input_3.pb`).item() : 0;
  const scoreThr = existsSync(`${set}/input_4.pb`) ? readTensor(`${set}/input_4.pb`).item() : -Infinity;
  const centre = (attributes(dir).center_point_box ?? 0) === 1;
  const [nb, nBoxes] = boxes.shape;
  const nc = scores.shape[1];
  const b = boxes.dataView();
  const s = scores.dataView();
  const selected: number[] = [];
  for (let bi = 0; bi < nb; bi++) {
    const xyxy = new Float32Array(4 * nBoxes);
    for (let i = 0; i < nBoxes; i++) {
      const [a0, a1, a2, a3] = b.subarray(4 * (bi * nBoxes + i), 4 * (bi * nBoxes + i) + 4);
      const q = centre
        ? [a0 - a2 / 2, a1 - a3 / 2, a0 + a2 / 2, a1 + a3 / 2]
        : [Math.min(a0, a2), Math.min(a1, a3), Math.max(a0, a2), Math.max(a1, a3)];
      xyxy.set(q, 4 * i);
    }
    for (let c = 0; c < nc; c++) {
      const idx: number[] = [];
      for (let i = 0; i < nBoxes; i++) if (s[(bi * nc + c) * nBoxes + i] > scoreThr) idx.push(i);
      const sub = new Float32Array(4 * idx.length);
      idx.forEach((i, k) => sub.set(xyxy.subarray(4 * i, 4 * i + 4), 4 * k));
      const sc = Float32Array.from(idx, (i) => s[(bi * nc + c) * nBoxes + i]);
      const keep = tt.ops.nms(tt.tensor(sub, [idx.length, 4]), tt.tensor(sc, [idx.length]), iouThr).dataView();
      for (let k = 0; k < Math.min(keep.length, maxOut); k++) selected.push(bi, c, idx[keep[k]]);
    }
  }
  return tt.tensor(Int32Array.from(selected), [selected.length / 3, 3], { dtype: 'int32' });
}

test(
  'ONNX NonMaxSuppression conformance (center_point_box, flipped, identical, limits, thresholds, batches, classes)',
  { skip },
  () => {
    const dirs = cases('test_nonmaxsuppression_');
    assert.ok(dirs.length >= 9, `expected the 9 NonMaxSuppression cases, found ${dirs.length}`);
    for (const d of dirs) {
      const expected = readTensor(`${ROOT}/${d}/test_data_set_0/output_0.pb`);
      const got = onnxNms(`${ROOT}/${d}`);
      assert.deepEqual(got.shape, expected.shape, d);
      assert.deepEqual(Array.from(got.dataView()), Array.from(expected.dataView()), d);
    }
  },
);

test('ONNX RoiAlign conformance (aligned false = output_half_pixel, aligned true = half_pixel)', { skip }, () => {
  const dirs = cases('test_roialign_');
  assert.ok(dirs.length >= 2, `expected the RoiAlign cases, found ${dirs.length}`);
  for (const d of dirs) {
    const a = attributes(`${ROOT}/${d}`);
    // mode 'max' is ONNX's own (max over bilinear samples), not torchvision's RoIAlign; the package has none.
    assert.notEqual(a.mode, 'max', `${d}: max mode is not RoIAlign`);
    const set = `${ROOT}/${d}/test_data_set_0`;
    const x = readTensor(`${set}/input_0.pb`);
    const rois = readTensor(`${set}/input_1.pb`);
    const batch = readTensor(`${set}/input_2.pb`);
    const k = rois.shape[0];
    const rows = new Float32Array(5 * k);
    for (let i = 0; i < k; i++) {
      rows[5 * i] = batch.dataView()[i];
      rows.set(rois.dataView().subarray(4 * i, 4 * i + 4), 5 * i + 1);
    }
    const y = tt.ops.roiAlign(x, tt.tensor(rows, [k, 5]), [Number(a.output_height ?? 1), Number(a.output_width ?? 1)], {
      spatialScale: Number(a.spatial_scale ?? 1),
      samplingRatio: Number(a.sampling_ratio ?? 0),
      aligned: (a.coordinate_transformation_mode ?? 'half_pixel') === 'half_pixel',
    });
    // The ONNX expected values are printed to 4 decimals (copied from torchvision's output): 1e-4 absolute.
    assertClose(y, readTensor(`${set}/output_0.pb`), { atol: 1e-4, rtol: 0, what: d });
  }
});

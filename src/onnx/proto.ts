/**
 * The ONNX protobuf layer: reading and writing `ModelProto` bytes (messages generated from ONNX 1.12's onnx.proto
 * by protoc-gen-es into `gen/onnx_pb.ts`, see tools/onnx-gen-proto.sh), and converting between `TensorProto` and
 * Tatami tensors. ONNX int64 data becomes int32 (Tatami has no 64-bit integer dtype): values beyond ±2³¹ — the
 * INT64_MAX "to the end" sentinels of Slice — saturate, which keeps their meaning.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import {
  AttributeProto_AttributeType as AttrType,
  AttributeProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType as DataType,
  ValueInfoProtoSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './gen/onnx_pb.js';

export { AttrType, DataType };
export type { AttributeProto, ModelProto, NodeProto, TensorProto, ValueInfoProto };

/** Thrown for an operator, attribute value or element type the importer does not implement. */
export class OnnxUnsupportedError extends Error {
  constructor(op: string, what: string) {
    super(`onnx import: ${op}: ${what} is not supported`);
    this.name = 'OnnxUnsupportedError';
  }
}

/** Parses ONNX model bytes (a .onnx file). */
export function decodeModel(bytes: Uint8Array): ModelProto {
  try {
    return fromBinary(ModelProtoSchema, bytes);
  } catch (e) {
    throw new Error(`onnx: could not parse the model as an ONNX ModelProto (${(e as Error).message})`);
  }
}

/** Serialises a ModelProto to .onnx bytes. */
export function encodeModel(model: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, model);
}

/** Parses a serialised TensorProto (the input_N.pb / output_N.pb files of ONNX's backend tests). */
export function decodeTensorProto(bytes: Uint8Array): TensorProto {
  return fromBinary(TensorProtoSchema, bytes);
}

export function encodeTensorProto(t: TensorProto): Uint8Array {
  return toBinary(TensorProtoSchema, t);
}

const INT32_MAX = 2147483647,
  INT32_MIN = -2147483648;
/** int64 → JS number, saturating to the int32 range Tatami's integer tensors hold. */
export function saturateInt(v: bigint | number): number {
  const n = typeof v === 'bigint' ? (v > 2147483647n ? INT32_MAX : v < -2147483648n ? INT32_MIN : Number(v)) : v;
  return Math.max(INT32_MIN, Math.min(INT32_MAX, n));
}

/** The Tatami dtype an ONNX element type is read into. */
export function dtypeOfOnnx(dt: number, what = 'tensor'): DType {
  switch (dt) {
    case DataType.FLOAT:
      return 'float32';
    case DataType.DOUBLE:
      return 'float64';
    case DataType.INT32:
    case DataType.INT64:
    case DataType.INT16:
    case DataType.INT8:
    case DataType.UINT16:
    case DataType.UINT32:
      return 'int32';
    case DataType.UINT8:
      return 'uint8';
    case DataType.BOOL:
      return 'bool';
    default:
      throw new OnnxUnsupportedError(
        what,
        `element type ${DataType[dt] ?? dt} (Tatami holds FLOAT, DOUBLE, INT8–INT64, UINT8–UINT32, BOOL)`,
      );
  }
}

/** Reads a TensorProto into a new contiguous Tatami tensor. External data is not supported (models over 2 GB). */
export function tensorFromProto(tp: TensorProto): Tensor {
  if (tp.dataLocation === 1)
    throw new Error(`onnx: tensor '${tp.name}' keeps its data in an external file, which Tatami does not read`);
  const shape = tp.dims.map((d) => Number(d));
  const dtype = dtypeOfOnnx(tp.dataType, `tensor '${tp.name}'`);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = Tensor.empty(shape, dtype);
  const dst = out.storage;
  const raw = tp.rawData;
  if (raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = bytesPerElement(tp.dataType);
    if (raw.length !== n * size)
      throw new Error(
        `onnx: tensor '${tp.name}' of shape [${shape}] has ${raw.length} raw bytes, expected ${n * size}`,
      );
    for (let i = 0; i < n; i++) dst[i] = readRaw(view, tp.dataType, i * size);
    return out;
  }
  let src: ArrayLike<number | bigint>;
  switch (tp.dataType) {
    case DataType.FLOAT:
      src = tp.floatData;
      break;
    case DataType.DOUBLE:
      src = tp.doubleData;
      break;
    case DataType.INT64:
      src = tp.int64Data;
      break;
    case DataType.UINT32:
    case DataType.UINT64:
      src = tp.uint64Data;
      break;
    default:
      src = tp.int32Data; // INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16 are stored as int32_data
  }
  if (src.length !== n)
    throw new Error(`onnx: tensor '${tp.name}' of shape [${shape}] holds ${src.length} values, expected ${n}`);
  for (let i = 0; i < n; i++) {
    const v = src[i];
    dst[i] = typeof v === 'bigint' ? saturateInt(v) : v;
  }
  return out;
}

function bytesPerElement(dt: number): number {
  switch (dt) {
    case DataType.DOUBLE:
    case DataType.INT64:
    case DataType.UINT64:
      return 8;
    case DataType.FLOAT:
    case DataType.INT32:
    case DataType.UINT32:
      return 4;
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.FLOAT16:
      return 2;
    default:
      return 1;
  }
}

function readRaw(v: DataView, dt: number, o: number): number {
  switch (dt) {
    case DataType.FLOAT:
      return v.getFloat32(o, true);
    case DataType.DOUBLE:
      return v.getFloat64(o, true);
    case DataType.INT64:
      return saturateInt(v.getBigInt64(o, true));
    case DataType.UINT64:
      return saturateInt(v.getBigUint64(o, true));
    case DataType.INT32:
      return v.getInt32(o, true);
    case DataType.UINT32:
      return saturateInt(v.getUint32(o, true));
    case DataType.INT16:
      return v.getInt16(o, true);
    case DataType.UINT16:
      return v.getUint16(o, true);
    case DataType.INT8:
      return v.getInt8(o);
    default:
      return v.getUint8(o);
  }
}

/** ONNX element type of a Tatami dtype; int32 tensors are written as INT64 when `int64` (ONNX's index type). */
export function onnxTypeOf(dtype: DType, int64 = false): DataType {
  switch (dtype) {
    case 'float32':
      return DataType.FLOAT;
    case 'float64':
      return DataType.DOUBLE;
    case 'int32':
      return int64 ? DataType.INT64 : DataType.INT32;
    case 'uint8':
      return DataType.UINT8;
    case 'bool':
      return DataType.BOOL;
  }
}

/** Writes a Tatami tensor as a TensorProto with little-endian raw_data. */
export function tensorToProto(t: Tensor, name: string, opts: { int64?: boolean } = {}): TensorProto {
  const dataType = onnxTypeOf(t.dtype, opts.int64);
  const data = t.toTypedArray();
  const size = bytesPerElement(dataType);
  const raw = new Uint8Array(data.length * size);
  const v = new DataView(raw.buffer);
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    switch (dataType) {
      case DataType.FLOAT:
        v.setFloat32(i * size, x, true);
        break;
      case DataType.DOUBLE:
        v.setFloat64(i * size, x, true);
        break;
      case DataType.INT64:
        v.setBigInt64(i * size, BigInt(x), true);
        break;
      case DataType.INT32:
        v.setInt32(i * size, x, true);
        break;
      default:
        v.setUint8(i, x);
    }
  }
  return create(TensorProtoSchema, { name, dims: t.shape.map((d) => BigInt(d)), dataType, rawData: raw });
}

/** An int64 1-D TensorProto from plain numbers (shapes, axes, pads). */
export function int64Proto(name: string, values: readonly number[]): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dims: [BigInt(values.length)],
    dataType: DataType.INT64,
    int64Data: values.map((x) => BigInt(x)),
  });
}

/** A value of an attribute as JS data. */
export type AttrValue = number | string | number[] | string[] | Tensor | null;

/** Reads an AttributeProto into plain JS (ints saturate to int32; graphs are not supported). */
export function attrValue(a: AttributeProto): AttrValue {
  switch (a.type) {
    case AttrType.FLOAT:
      return a.f;
    case AttrType.INT:
      return saturateInt(a.i);
    case AttrType.STRING:
      return new TextDecoder().decode(a.s);
    case AttrType.TENSOR:
      return a.t ? tensorFromProto(a.t) : null;
    case AttrType.FLOATS:
      return [...a.floats];
    case AttrType.INTS:
      return a.ints.map(saturateInt);
    case AttrType.STRINGS:
      return a.strings.map((s) => new TextDecoder().decode(s));
    default:
      return null;
  }
}

/** Builds an AttributeProto from a JS value: integers → INT(S) unless `float`, other numbers → FLOAT(S). */
export function makeAttr(
  name: string,
  value: number | string | readonly number[] | TensorProto,
  float = false,
): AttributeProto {
  if (typeof value === 'string')
    return create(AttributeProtoSchema, { name, type: AttrType.STRING, s: new TextEncoder().encode(value) });
  if (typeof value === 'number') {
    return float || !Number.isInteger(value)
      ? create(AttributeProtoSchema, { name, type: AttrType.FLOAT, f: value })
      : create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(value) });
  }
  if (Array.isArray(value)) {
    const arr = value as readonly number[];
    return float || arr.some((x) => !Number.isInteger(x))
      ? create(AttributeProtoSchema, { name, type: AttrType.FLOATS, floats: [...arr] })
      : create(AttributeProtoSchema, { name, type: AttrType.INTS, ints: arr.map((x) => BigInt(x)) });
  }
  return create(AttributeProtoSchema, { name, type: AttrType.TENSOR, t: value as TensorProto });
}

/** A NodeProto. Attribute values that are undefined are left out. */
export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attrs: Record<string, number | string | readonly number[] | TensorProto | undefined> = {},
  floatAttrs: readonly string[] = [],
): NodeProto {
  const attribute = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => makeAttr(k, v as number, floatAttrs.includes(k)));
  return create(NodeProtoSchema, { opType, input: inputs, output: outputs, name, attribute });
}

/** A graph input/output declaration; a string dim is symbolic (dynamic). */
export function makeValueInfo(name: string, elemType: DataType, shape: readonly (number | string)[]): ValueInfoProto {
  const dim = shape.map((d) =>
    create(
      TensorShapeProto_DimensionSchema,
      typeof d === 'string'
        ? { value: { case: 'dimParam', value: d } }
        : { value: { case: 'dimValue', value: BigInt(d) } },
    ),
  );
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, { elemType, shape: create(TensorShapeProtoSchema, { dim }) }),
      },
    }),
  });
}

export { create, ModelProtoSchema };

/**
 * Tensor methods that mirror PyTorch's (`x.add(y)`, `x.sum([1])`, `x.reshape(2, -1)` …). Each delegates to the
 * module-level op of the same name, so the two spellings can never disagree.
 */
import * as ew from './elementwise.js';
import * as red from './reduce.js';
import * as sh from './shape.js';
import * as mm from './matmul.js';
import * as sm from './softmax.js';
import * as act from './activation.js';
import * as ip from './inplace.js';
import type { TensorLike } from './util.js';
import type { Dims, ValuesIndices, VarOptions } from './reduce.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    add(other: TensorLike, opts?: { alpha?: number }): Tensor;
    sub(other: TensorLike, opts?: { alpha?: number }): Tensor;
    mul(other: TensorLike): Tensor;
    div(other: TensorLike): Tensor;
    pow(exponent: TensorLike): Tensor;
    neg(): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    square(): Tensor;
    reciprocal(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    floor(): Tensor;
    ceil(): Tensor;
    round(): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    maximum(other: TensorLike): Tensor;
    minimum(other: TensorLike): Tensor;
    eq(other: TensorLike): Tensor;
    ne(other: TensorLike): Tensor;
    lt(other: TensorLike): Tensor;
    le(other: TensorLike): Tensor;
    gt(other: TensorLike): Tensor;
    ge(other: TensorLike): Tensor;
    sum(dims?: Dims, keepdim?: boolean): Tensor;
    mean(dims?: Dims, keepdim?: boolean): Tensor;
    var(dims?: Dims, opts?: VarOptions): Tensor;
    std(dims?: Dims, opts?: VarOptions): Tensor;
    prod(dims?: Dims, keepdim?: boolean): Tensor;
    max(): Tensor;
    max(dim: number, keepdim?: boolean): ValuesIndices;
    min(): Tensor;
    min(dim: number, keepdim?: boolean): ValuesIndices;
    amax(dims?: Dims, keepdim?: boolean): Tensor;
    amin(dims?: Dims, keepdim?: boolean): Tensor;
    argmax(dim?: number, keepdim?: boolean): Tensor;
    argmin(dim?: number, keepdim?: boolean): Tensor;
    logsumexp(dims: Dims, keepdim?: boolean): Tensor;
    matmul(other: Tensor): Tensor;
    mm(other: Tensor): Tensor;
    bmm(other: Tensor): Tensor;
    reshape(...shape: (number | readonly number[])[]): Tensor;
    view(...shape: (number | readonly number[])[]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    unflatten(dim: number, sizes: readonly number[]): Tensor;
    permute(...dims: (number | readonly number[])[]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    t(): Tensor;
    readonly T: Tensor;
    squeeze(dims?: number | readonly number[]): Tensor;
    unsqueeze(dim: number): Tensor;
    expand(...shape: (number | readonly number[])[]): Tensor;
    expandAs(other: Tensor): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor;
    select(dim: number, index: number): Tensor;
    contiguous(): Tensor;
    clone(): Tensor;
    to(dtype: DType): Tensor;
    float(): Tensor;
    double(): Tensor;
    int(): Tensor;
    bool(): Tensor;
    split(sizeOrSections: number | readonly number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    gather(dim: number, index: Tensor): Tensor;
    indexSelect(dim: number, index: Tensor): Tensor;
    repeat(...reps: (number | readonly number[])[]): Tensor;
    flip(dims: number | readonly number[]): Tensor;
    maskedFill(mask: Tensor, value: number): Tensor;
    softmax(dim: number): Tensor;
    logSoftmax(dim: number): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    /** In-place `this += alpha·other`; `{ alpha }` as `add` takes it (a bare number is accepted too). */
    add_(other: TensorLike, opts?: { alpha?: number } | number): Tensor;
    /** In-place `this −= alpha·other`; `{ alpha }` as `sub` takes it (a bare number is accepted too). */
    sub_(other: TensorLike, opts?: { alpha?: number } | number): Tensor;
    mul_(other: TensorLike): Tensor;
    div_(other: TensorLike): Tensor;
    fill_(value: number): Tensor;
    /** max(x, 0) in place. */
    relu_(): Tensor;
    zero_(): Tensor;
    copy_(src: Tensor): Tensor;
  }
}

const P = Tensor.prototype;
P.add = function (o, opts) {
  return ew.add(this, o, opts);
};
P.sub = function (o, opts) {
  return ew.sub(this, o, opts);
};
P.mul = function (o) {
  return ew.mul(this, o);
};
P.div = function (o) {
  return ew.div(this, o);
};
P.pow = function (e) {
  return ew.pow(this, e);
};
P.neg = function () {
  return ew.neg(this);
};
P.abs = function () {
  return ew.abs(this);
};
P.sign = function () {
  return ew.sign(this);
};
P.exp = function () {
  return ew.exp(this);
};
P.log = function () {
  return ew.log(this);
};
P.sqrt = function () {
  return ew.sqrt(this);
};
P.rsqrt = function () {
  return ew.rsqrt(this);
};
P.square = function () {
  return ew.square(this);
};
P.reciprocal = function () {
  return ew.reciprocal(this);
};
P.sin = function () {
  return ew.sin(this);
};
P.cos = function () {
  return ew.cos(this);
};
P.floor = function () {
  return ew.floor(this);
};
P.ceil = function () {
  return ew.ceil(this);
};
P.round = function () {
  return ew.round(this);
};
P.clamp = function (lo, hi) {
  return ew.clamp(this, lo, hi);
};
P.maximum = function (o) {
  return ew.maximum(this, o);
};
P.minimum = function (o) {
  return ew.minimum(this, o);
};
P.eq = function (o) {
  return ew.eq(this, o);
};
P.ne = function (o) {
  return ew.ne(this, o);
};
P.lt = function (o) {
  return ew.lt(this, o);
};
P.le = function (o) {
  return ew.le(this, o);
};
P.gt = function (o) {
  return ew.gt(this, o);
};
P.ge = function (o) {
  return ew.ge(this, o);
};
P.sum = function (d, k) {
  return red.sum(this, d, k);
};
P.mean = function (d, k) {
  return red.mean(this, d, k);
};
P.var = function (d, o) {
  return red.variance(this, d, o);
};
P.std = function (d, o) {
  return red.std(this, d, o);
};
P.prod = function (d, k) {
  return red.prod(this, d, k);
};
P.max = function (this: Tensor, dim?: number, keepdim?: boolean) {
  return dim === undefined ? red.max(this) : red.max(this, dim, keepdim);
} as Tensor['max'];
P.min = function (this: Tensor, dim?: number, keepdim?: boolean) {
  return dim === undefined ? red.min(this) : red.min(this, dim, keepdim);
} as Tensor['min'];
P.amax = function (d, k) {
  return red.amax(this, d, k);
};
P.amin = function (d, k) {
  return red.amin(this, d, k);
};
P.argmax = function (d, k) {
  return red.argmax(this, d, k);
};
P.argmin = function (d, k) {
  return red.argmin(this, d, k);
};
P.logsumexp = function (d, k) {
  return red.logsumexp(this, d, k);
};
P.matmul = function (o) {
  return mm.matmul(this, o);
};
P.mm = function (o) {
  return mm.mm(this, o);
};
P.bmm = function (o) {
  return mm.bmm(this, o);
};
P.reshape = function (...s) {
  return sh.reshape(this, ...s);
};
P.view = function (...s) {
  return sh.view(this, ...s);
};
P.flatten = function (s, e) {
  return sh.flatten(this, s, e);
};
P.unflatten = function (d, s) {
  return sh.unflatten(this, d, s);
};
P.permute = function (...d) {
  return sh.permute(this, ...d);
};
P.transpose = function (a, b) {
  return sh.transpose(this, a, b);
};
P.t = function () {
  return sh.t(this);
};
Object.defineProperty(P, 'T', {
  get(this: Tensor) {
    return sh.permute(
      this,
      this.shape.map((_, i) => this.shape.length - 1 - i),
    );
  },
});
P.squeeze = function (d) {
  return sh.squeeze(this, d);
};
P.unsqueeze = function (d) {
  return sh.unsqueeze(this, d);
};
P.expand = function (...s) {
  return sh.expand(this, ...s);
};
P.expandAs = function (o) {
  return sh.expandAs(this, o);
};
P.narrow = function (d, s, l) {
  return sh.narrow(this, d, s, l);
};
P.slice = function (d, s, e, st) {
  return sh.slice(this, d, s, e, st);
};
P.select = function (d, i) {
  return sh.select(this, d, i);
};
P.contiguous = function () {
  return sh.contiguous(this);
};
P.clone = function () {
  return sh.clone(this);
};
P.to = function (d) {
  return sh.to(this, d);
};
P.float = function () {
  return sh.to(this, 'float32');
};
P.double = function () {
  return sh.to(this, 'float64');
};
P.int = function () {
  return sh.to(this, 'int32');
};
P.bool = function () {
  return sh.to(this, 'bool');
};
P.split = function (s, d) {
  return sh.split(this, s, d);
};
P.chunk = function (c, d) {
  return sh.chunk(this, c, d);
};
P.gather = function (d, i) {
  return sh.gather(this, d, i);
};
P.indexSelect = function (d, i) {
  return sh.indexSelect(this, d, i);
};
P.repeat = function (...r) {
  return sh.repeat(this, ...r);
};
P.flip = function (d) {
  return sh.flip(this, d);
};
P.maskedFill = function (m, v) {
  return sh.maskedFill(this, m, v);
};
P.softmax = function (d) {
  return sm.softmax(this, d);
};
P.logSoftmax = function (d) {
  return sm.logSoftmax(this, d);
};
P.relu = function () {
  return act.relu(this);
};
P.sigmoid = function () {
  return act.sigmoid(this);
};
P.tanh = function () {
  return act.tanh(this);
};
P.add_ = function (o, a) {
  return ip.add_(this, o, a);
};
P.sub_ = function (o, a) {
  return ip.sub_(this, o, a);
};
P.mul_ = function (o) {
  return ip.mul_(this, o);
};
P.div_ = function (o) {
  return ip.div_(this, o);
};
P.fill_ = function (v) {
  return ip.fill_(this, v);
};
P.relu_ = function () {
  return ip.relu_(this);
};
P.zero_ = function () {
  return ip.zero_(this);
};
P.copy_ = function (s) {
  return ip.copy_(this, s);
};

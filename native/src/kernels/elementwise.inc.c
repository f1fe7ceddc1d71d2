/* ------------------------------------------------------------------------------------------------------------
 * Elementwise: unary, relu gradient, binary with scalar / middle-axis broadcast, sum, axpy.
 * Large arrays are split into contiguous chunks across the pool.
 * ---------------------------------------------------------------------------------------------------------- */
#define EW_CHUNK 65536
typedef struct { int op; const float *x, *y; float *out; long n; float a, b; } ew_job;

static inline vf unary_v(int op, vf x, float a, float b) {
  (void)b;
  switch (op) {
    case U_RELU: return vrelu(x); /* NaN and −0 pass through, as PyTorch */
    case U_NEG: return -x;
    case U_ABS: return (vf)((vi)x & 0x7fffffff);
    case U_SQUARE: return x * x;
    case U_EXP: return vexp(x);
    case U_SIGMOID: {
      /* 1/(1+e^-x) for x ≥ 0, e^x/(1+e^x) otherwise: no overflow, exact limits */
      vf e = vexp(vsel(x > 0, -x, x));
      vf r = 1.0f / (1.0f + e);
      return vsel(x > 0, r, e * r);
    }
    case U_ADDS: return x + a;
    case U_MULS: return x * a;
    case U_LEAKY: return vsel(x > 0, x, x * a);
    case U_RELU6: return act_v(x, ACT_RELU6);
    case U_SILU: {
      vf e = vexp(vsel(x > 0, -x, x));
      vf r = 1.0f / (1.0f + e);
      return x * vsel(x > 0, r, e * r);
    }
  }
  return x;
}

static void unary_task(void *ctx, long t, int tid) {
  (void)tid;
  const ew_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK), i = s;
  const float *x = j->x;
  float *o = j->out;
  if (j->op == U_SQRT) { for (; i < e; i++) o[i] = __builtin_sqrtf(x[i]); return; }
#define UNARY_LOOP(OPC) for (; i + TT_VL <= e; i += TT_VL) vstore(o + i, unary_v(OPC, vload(x + i), j->a, j->b));
  switch (j->op) {
    case U_RELU: UNARY_LOOP(U_RELU) break;
    case U_NEG: UNARY_LOOP(U_NEG) break;
    case U_ABS: UNARY_LOOP(U_ABS) break;
    case U_SQUARE: UNARY_LOOP(U_SQUARE) break;
    case U_EXP: UNARY_LOOP(U_EXP) break;
    case U_SIGMOID: UNARY_LOOP(U_SIGMOID) break;
    case U_ADDS: UNARY_LOOP(U_ADDS) break;
    case U_MULS: UNARY_LOOP(U_MULS) break;
    case U_LEAKY: UNARY_LOOP(U_LEAKY) break;
    case U_RELU6: UNARY_LOOP(U_RELU6) break;
    case U_SILU: UNARY_LOOP(U_SILU) break;
  }
  if (i < e) {
    float t0[TT_VL] = {0};
    for (long q = i; q < e; q++) t0[q - i] = x[q];
    vf r = unary_v(j->op, vload(t0), j->a, j->b);
    for (long q = i; q < e; q++) o[q] = r[q - i];
  }
}

static void run_chunks(long n, tt_task_fn fn, void *ctx) {
  long chunks = (n + EW_CHUNK - 1) / EW_CHUNK;
  if (tt_num_threads() > 1 && chunks > 1) tt_parallel(chunks, fn, ctx);
  else for (long t = 0; t < chunks; t++) fn(ctx, t, 0);
}

static int op_unary(int op, const float *x, float *out, long n, float a, float b) {
  if (op < 0 || op >= U_COUNT) return 0;
  ew_job j = { op, x, 0, out, n, a, b };
  run_chunks(n, unary_task, &j);
  return 1;
}

static void relu_grad_task(void *ctx, long t, int tid) {
  (void)tid;
  const ew_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK), i = s;
  /* PyTorch's threshold_backward: zero where the input is ≤ 0 (a NaN input passes its gradient) */
  for (; i + TT_VL <= e; i += TT_VL) vstore(j->out + i, vsel(vload(j->x + i) <= 0, (vf){0}, vload(j->y + i)));
  for (; i < e; i++) j->out[i] = j->x[i] <= 0 ? 0.0f : j->y[i];
}

static void silu_grad_task(void *ctx, long t, int tid) {
  (void)tid;
  const ew_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK), i = s;
  /* PyTorch's silu_backward: gy·σ(x)·(1 + x·(1 − σ(x))); NaN at ±∞ (∞·0), as torch */
  for (; i + TT_VL <= e; i += TT_VL) {
    vf x = vload(j->x + i), sg = unary_v(U_SIGMOID, x, 0, 0);
    vstore(j->out + i, vload(j->y + i) * (sg * (1.0f + x * (1.0f - sg))));
  }
  if (i < e) {
    float tx[TT_VL] = {0}, tg[TT_VL] = {0};
    for (long q = i; q < e; q++) { tx[q - i] = j->x[q]; tg[q - i] = j->y[q]; }
    vf x = vload(tx), sg = unary_v(U_SIGMOID, x, 0, 0), r = vload(tg) * (sg * (1.0f + x * (1.0f - sg)));
    for (long q = i; q < e; q++) j->out[q] = r[q - i];
  }
}

static int op_unary_grad(int op, const float *in, const float *gy, float *gx, long n, float a, float b) {
  if (op != U_RELU && op != U_SILU) return 0;
  ew_job j = { op, in, gy, gx, n, a, b };
  run_chunks(n, op == U_RELU ? relu_grad_task : silu_grad_task, &j);
  return 1;
}

/* per: rows of `inner` elements per task in the row modes (MID, ROW) */
typedef struct { int op, mode; const float *a, *b; float *out; long outer, mid, inner, per; } bin_job;

/* Elements per task in the row modes, at least: a task per row of a small map was a thread-pool round trip per 49
 * elements (squeeze-excitation's [8, 960, 7, 7] · [8, 960, 1, 1]: 0.8 ms on one thread, 7.4 on two). */
#define EW_ROWS_MIN 8192

static inline vf bin_v(int op, vf a, vf b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MAX: { vf r = vsel(a > b, a, b); r = vsel(a != a, a, r); return vsel(b != b, b, r); }
    case B_MIN: { vf r = vsel(a < b, a, b); r = vsel(a != a, a, r); return vsel(b != b, b, r); }
  }
  return a;
}

/* out[0..n) = a op b where a/b either advance (stride 1) or stay (scalar): sa/sb ∈ {0, 1}. */
static void bin_span(int op, const float *a, int sa, const float *b, int sb, float *o, long n) {
  long i = 0;
#define BIN_LOOP(OPC)                                                                                     \
  if (sa && sb) for (; i + TT_VL <= n; i += TT_VL) vstore(o + i, bin_v(OPC, vload(a + i), vload(b + i))); \
  else if (sa) { vf bv = vsplat(b[0]); for (; i + TT_VL <= n; i += TT_VL) vstore(o + i, bin_v(OPC, vload(a + i), bv)); } \
  else if (sb) { vf av = vsplat(a[0]); for (; i + TT_VL <= n; i += TT_VL) vstore(o + i, bin_v(OPC, av, vload(b + i))); }
  switch (op) {
    case B_ADD: BIN_LOOP(B_ADD) break;
    case B_SUB: BIN_LOOP(B_SUB) break;
    case B_MUL: BIN_LOOP(B_MUL) break;
    case B_DIV: BIN_LOOP(B_DIV) break;
    case B_MAX: BIN_LOOP(B_MAX) break;
    case B_MIN: BIN_LOOP(B_MIN) break;
  }
  if (i < n) {
    float ta[TT_VL] = {0}, tb[TT_VL] = {0};
    for (long q = i; q < n; q++) { ta[q - i] = a[sa ? q : 0]; tb[q - i] = b[sb ? q : 0]; }
    vf r = bin_v(op, vload(ta), vload(tb));
    for (long q = i; q < n; q++) o[q] = r[q - i];
  }
}

static void bin_task(void *ctx, long t, int tid) {
  (void)tid;
  const bin_job *j = ctx;
  switch (j->mode) {
    case BM_SAME: case BM_BSCALAR: case BM_ASCALAR: {
      long n = j->outer * j->mid * j->inner, s = t * EW_CHUNK, e = MINI(n, s + EW_CHUNK);
      int sa = j->mode != BM_ASCALAR, sb = j->mode != BM_BSCALAR;
      bin_span(j->op, j->a + (sa ? s : 0), sa, j->b + (sb ? s : 0), sb, j->out + s, e - s);
      break;
    }
    case BM_BMID: case BM_AMID: {
      /* rows of [outer*mid, inner]; the broadcast operand holds one value per mid index */
      for (long r = t * j->per, r1 = MINI(j->outer * j->mid, r + j->per); r < r1; r++) {
        long m = r % j->mid, off = r * j->inner;
        if (j->mode == BM_BMID) bin_span(j->op, j->a + off, 1, j->b + m, 0, j->out + off, j->inner);
        else bin_span(j->op, j->a + m, 0, j->b + off, 1, j->out + off, j->inner);
      }
      break;
    }
    case BM_BROW: case BM_AROW: {
      for (long r = t * j->per, r1 = MINI(j->outer, r + j->per); r < r1; r++) {
        long off = r * j->inner;
        if (j->mode == BM_BROW) bin_span(j->op, j->a + off, 1, j->b, 1, j->out + off, j->inner);
        else bin_span(j->op, j->a, 1, j->b + off, 1, j->out + off, j->inner);
      }
      break;
    }
  }
}

static int op_binary(int op, int mode, const float *a, const float *b, float *out, long outer, long mid, long inner) {
  if (op < 0 || op >= B_COUNT) return 0;
  long n = outer * mid * inner;
  long rows = (mode == BM_BMID || mode == BM_AMID) ? outer * mid : (mode == BM_BROW || mode == BM_AROW) ? outer : 0;
  long per = rows ? MAXI(1, EW_ROWS_MIN / MAXI(1, inner)) : 0;
  bin_job j = { op, mode, a, b, out, outer, mid, inner, per };
  long tasks = rows ? (rows + per - 1) / per : (n + EW_CHUNK - 1) / EW_CHUNK;
  if (tt_num_threads() > 1 && tasks > 1 && n > 2 * EW_CHUNK) tt_parallel(tasks, bin_task, &j);
  else for (long t = 0; t < tasks; t++) bin_task(&j, t, 0);
  return 1;
}

typedef struct { const float *x; float *out; long outer, size, inner; } red_job;

static void reduce_task(void *ctx, long o, int tid) {
  const red_job *j = ctx;
  const float *x = j->x + o * j->size * j->inner;
  if (j->inner == 1) { j->out[o] = (float)row_sum(x, j->size); return; }
  /* columns: accumulate blocks of rows in float vectors, then in double */
  double *acc = tt_scratch(tid, SLOT_TMP, sizeof(double) * j->inner);
  for (long i = 0; i < j->inner; i++) acc[i] = 0;
  long iv = j->inner / TT_VL * TT_VL;
  for (long s0 = 0; s0 < j->size; s0 += 64) {
    long s1 = MINI(j->size, s0 + 64);
    for (long i = 0; i < iv; i += TT_VL) {
      vf v = (vf){0};
      for (long s = s0; s < s1; s++) v += vload(x + s * j->inner + i);
      for (int q = 0; q < TT_VL; q++) acc[i + q] += v[q];
    }
    for (long i = iv; i < j->inner; i++) {
      float v = 0;
      for (long s = s0; s < s1; s++) v += x[s * j->inner + i];
      acc[i] += v;
    }
  }
  for (long i = 0; i < j->inner; i++) j->out[o * j->inner + i] = (float)acc[i];
}

static void op_reduce_sum(const float *x, float *out, long outer, long size, long inner) {
  red_job j = { x, out, outer, size, inner };
  if (tt_num_threads() > 1 && outer > 1 && outer * size * inner > 65536) tt_parallel(outer, reduce_task, &j);
  else for (long o = 0; o < outer; o++) reduce_task(&j, o, 0);
}

static void axpy_task(void *ctx, long t, int tid) {
  (void)tid;
  const ew_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK), i = s;
  vf av = vsplat(j->a);
  for (; i + TT_VL <= e; i += TT_VL) vstore(j->out + i, vload(j->out + i) + av * vload(j->x + i));
  for (; i < e; i++) j->out[i] += j->a * j->x[i];
}

static void op_axpy(long n, float alpha, const float *x, float *y) {
  ew_job j = { 0, x, 0, y, n, alpha, 0 };
  run_chunks(n, axpy_task, &j);
}

typedef struct { const float *src; long offset; const int32_t *strides, *shape; float *out; int rank; long rows, inner; } copy_job;

/* Rows of the last dimension, [t*rows_per_task, ...): each row is a fill (stride 0), a copy (stride 1) or a gather. */
static void copy_task(void *ctx, long t, int tid) {
  (void)tid;
  const copy_job *j = ctx;
  long per = (j->rows + 63) / 64, r0 = t * per, r1 = MINI(j->rows, r0 + per);
  int last = j->rank - 1;
  long st = j->strides[last], n = j->inner;
  for (long r = r0; r < r1; r++) {
    long rem = r, off = j->offset;
    for (int d = last - 1; d >= 0; d--) { long i = rem % j->shape[d]; rem /= j->shape[d]; off += i * j->strides[d]; }
    const float *s = j->src + off;
    float *o = j->out + r * n;
    if (st == 1) memcpy(o, s, sizeof(float) * n);
    else if (st == 0) { float v = s[0]; for (long i = 0; i < n; i++) o[i] = v; }
    else for (long i = 0; i < n; i++) o[i] = s[i * st];
  }
}

static void op_copy_strided(const float *src, long offset, const int32_t *strides, float *out, const int32_t *shape, int rank) {
  if (rank == 0) { out[0] = src[offset]; return; }
  long rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  copy_job j = { src, offset, strides, shape, out, rank, rows, shape[rank - 1] };
  if (rows == 0 || j.inner == 0) return;
  long tasks = rows < 64 ? rows : 64;
  if (tt_num_threads() > 1 && rows * j.inner > 65536) tt_parallel(tasks, copy_task, &j);
  else { copy_job k = j; for (long t = 0; t < tasks; t++) copy_task(&k, t, 0); }
}

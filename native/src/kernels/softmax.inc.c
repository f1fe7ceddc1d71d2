/* ------------------------------------------------------------------------------------------------------------
 * Softmax over the middle axis of [outer, size, inner].
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct { const float *x, *gy; float *out; long outer, size, inner; int log; } sm_job;

static void softmax_row(const float *x, float *o, long size, int lg) {
  long i = 0;
  vf mv = vsplat(-__builtin_inff());
  float m = -__builtin_inff();
  for (; i + TT_VL <= size; i += TT_VL) { vf v = vload(x + i); mv = vsel(v > mv, v, mv); }
  m = hmax(mv);
  for (; i < size; i++) if (x[i] > m) m = x[i];
  vf ms = vsplat(m), acc = (vf){0};
  double sum = 0;
  for (i = 0; i + TT_VL <= size; i += TT_VL) { vf e = vexp(vload(x + i) - ms); acc += e; if (!lg) vstore(o + i, e); }
  if (i < size) {
    float t[TT_VL] = {0};
    for (long q = i; q < size; q++) t[q - i] = x[q];
    vf e = vexp(vload(t) - ms);
    for (long q = i; q < size; q++) { sum += e[q - i]; if (!lg) o[q] = e[q - i]; }
  }
  sum += hsum(acc);
  if (lg) {
    /* (x − max) − log Σ, as PyTorch: folding max into the log term first would round it away when |max| ≫ log Σ */
    float ls = (float)tt_log(sum);
    vf l = vsplat(ls);
    for (i = 0; i + TT_VL <= size; i += TT_VL) vstore(o + i, (vload(x + i) - ms) - l);
    for (; i < size; i++) o[i] = (x[i] - m) - ls;
  } else {
    vf inv = vsplat((float)(1.0 / sum));
    for (i = 0; i + TT_VL <= size; i += TT_VL) vstore(o + i, vload(o + i) * inv);
    for (; i < size; i++) o[i] = (float)(o[i] / sum);
  }
}

/* inner > 1: vectors run along inner, one block of columns at a time. */
static void softmax_cols(const float *x, float *o, long size, long inner, int lg, int tid) {
  float *tmp = tt_scratch(tid, SLOT_TMP, sizeof(float) * 2 * (inner + TT_VL));
  float *mx = tmp, *sm = tmp + inner + TT_VL;
  for (long i = 0; i < inner; i++) { mx[i] = -__builtin_inff(); sm[i] = 0; }
  for (long s = 0; s < size; s++) for (long i = 0; i < inner; i++) { float v = x[s * inner + i]; mx[i] = v > mx[i] ? v : mx[i]; }
  long iv = inner / TT_VL * TT_VL;
  for (long s = 0; s < size; s++) {
    const float *xr = x + s * inner;
    float *orow = o + s * inner;
    for (long i = 0; i < iv; i += TT_VL) {
      vf e = vexp(vload(xr + i) - vload(mx + i));
      vstore(sm + i, vload(sm + i) + e);
      if (!lg) vstore(orow + i, e);
    }
    if (iv < inner) {
      float t[TT_VL] = {0}, mm[TT_VL] = {0};
      for (long i = iv; i < inner; i++) { t[i - iv] = xr[i]; mm[i - iv] = mx[i]; }
      vf e = vexp(vload(t) - vload(mm));
      for (long i = iv; i < inner; i++) { sm[i] += e[i - iv]; if (!lg) orow[i] = e[i - iv]; }
    }
  }
  if (lg) {
    for (long i = 0; i < inner; i++) sm[i] = (float)tt_log(sm[i]);
    for (long s = 0; s < size; s++) for (long i = 0; i < inner; i++) o[s * inner + i] = (x[s * inner + i] - mx[i]) - sm[i];
  } else {
    for (long i = 0; i < inner; i++) sm[i] = 1.0f / sm[i];
    for (long s = 0; s < size; s++) for (long i = 0; i < inner; i++) o[s * inner + i] *= sm[i];
  }
}

static void softmax_task(void *ctx, long r, int tid) {
  const sm_job *j = ctx;
  long off = r * j->size * j->inner;
  if (j->inner == 1) softmax_row(j->x + off, j->out + off, j->size, j->log);
  else softmax_cols(j->x + off, j->out + off, j->size, j->inner, j->log, tid);
}

static void op_softmax(const float *x, float *out, long outer, long size, long inner, int lg) {
  sm_job j = { x, 0, out, outer, size, inner, lg };
  if (tt_num_threads() > 1 && outer > 1 && outer * size * inner > 32768) tt_parallel(outer, softmax_task, &j);
  else for (long r = 0; r < outer; r++) softmax_task(&j, r, 0);
}

static void softmax_grad_task(void *ctx, long r, int tid) {
  (void)tid;
  const sm_job *j = ctx;
  long size = j->size, inner = j->inner, off = r * size * inner;
  const float *y = j->x + off, *g = j->gy + off;
  float *o = j->out + off;
  for (long i = 0; i < inner; i++) {
    double acc = 0;
    if (j->log) {
      for (long s = 0; s < size; s++) acc += g[s * inner + i];
      float a = (float)acc;
      if (inner == 1) {
        long q = 0;
        vf av = vsplat(a);
        for (; q + TT_VL <= size; q += TT_VL) vstore(o + q, vload(g + q) - vexp(vload(y + q)) * av);
        for (; q < size; q++) {
          float t[TT_VL] = {0};
          t[0] = y[q];
          o[q] = g[q] - vexp(vload(t))[0] * a;
        }
      } else {
        for (long s = 0; s < size; s++) {
          float t[TT_VL] = {0};
          t[0] = y[s * inner + i];
          o[s * inner + i] = g[s * inner + i] - vexp(vload(t))[0] * a;
        }
      }
    } else {
      for (long s = 0; s < size; s++) acc += (double)g[s * inner + i] * y[s * inner + i];
      float d = (float)acc;
      for (long s = 0; s < size; s++) o[s * inner + i] = y[s * inner + i] * (g[s * inner + i] - d);
    }
  }
}

static void op_softmax_grad(const float *y, const float *gy, float *gx, long outer, long size, long inner, int lg) {
  sm_job j = { y, gy, gx, outer, size, inner, lg };
  if (tt_num_threads() > 1 && outer > 1 && outer * size * inner > 32768) tt_parallel(outer, softmax_grad_task, &j);
  else for (long r = 0; r < outer; r++) softmax_grad_task(&j, r, 0);
}

/* ------------------------------------------------------------------------------------------------------------
 * Normalisation over [n, c, hw] (parallel over channels). Row sums are vector float sums, combined in double.
 * ---------------------------------------------------------------------------------------------------------- */
static double row_sum(const float *x, long len) {
  double total = 0;
  for (long s0 = 0; s0 < len; s0 += 1024) {
    long e = MINI(len, s0 + 1024), i = s0;
    vf a0 = (vf){0}, a1 = (vf){0};
    for (; i + 2 * TT_VL <= e; i += 2 * TT_VL) { a0 += vload(x + i); a1 += vload(x + i + TT_VL); }
    float s = hsum(a0 + a1);
    for (; i < e; i++) s += x[i];
    total += s;
  }
  return total;
}
static double row_sqdev(const float *x, long len, float m) {
  double total = 0;
  vf mv = vsplat(m);
  for (long s0 = 0; s0 < len; s0 += 1024) {
    long e = MINI(len, s0 + 1024), i = s0;
    vf a0 = (vf){0};
    for (; i + TT_VL <= e; i += TT_VL) { vf d = vload(x + i) - mv; a0 += d * d; }
    float s = hsum(a0);
    for (; i < e; i++) { float d = x[i] - m; s += d * d; }
    total += s;
  }
  return total;
}
/* Σ g and Σ g·(x − m) over a row. */
static void row_bn_sums(const float *x, const float *g, long len, float m, double *sg, double *sgx) {
  vf mv = vsplat(m);
  double t0 = 0, t1 = 0;
  for (long s0 = 0; s0 < len; s0 += 1024) {
    long e = MINI(len, s0 + 1024), i = s0;
    vf a0 = (vf){0}, a1 = (vf){0};
    for (; i + TT_VL <= e; i += TT_VL) { vf gv = vload(g + i); a0 += gv; a1 += gv * (vload(x + i) - mv); }
    float s = hsum(a0), q = hsum(a1);
    for (; i < e; i++) { s += g[i]; q += g[i] * (x[i] - m); }
    t0 += s; t1 += q;
  }
  *sg += t0; *sgx += t1;
}

typedef struct {
  const float *x, *gy, *mean, *invstd, *weight, *scale, *shift;
  float *out, *var, *gx, *gw, *gb, *meanOut;
  long n, c, hw;
  int relu;
} norm_job;

static void stats_task(void *ctx, long ch, int tid) {
  (void)tid;
  const norm_job *j = ctx;
  double s = 0;
  for (long b = 0; b < j->n; b++) s += row_sum(j->x + (b * j->c + ch) * j->hw, j->hw);
  double cnt = (double)j->n * j->hw;
  float m = (float)(s / cnt);
  double q = 0;
  for (long b = 0; b < j->n; b++) q += row_sqdev(j->x + (b * j->c + ch) * j->hw, j->hw, m);
  j->meanOut[ch] = m;
  j->var[ch] = (float)(q / cnt);
}

static void op_channel_stats(const float *x, float *mean, float *var, long n, long c, long hw) {
  norm_job j = { .x = x, .meanOut = mean, .var = var, .n = n, .c = c, .hw = hw };
  if (tt_num_threads() > 1 && c > 1 && n * c * hw > 32768) tt_parallel(c, stats_task, &j);
  else for (long ch = 0; ch < c; ch++) stats_task(&j, ch, 0);
}

static void affine_task(void *ctx, long r, int tid) {
  (void)tid;
  const norm_job *j = ctx;
  long ch = r % j->c;
  const float *x = j->x + r * j->hw;
  float *o = j->out + r * j->hw;
  vf s = vsplat(j->scale[ch]), t = vsplat(j->shift[ch]);
  long i = 0, hw = j->hw;
  if (j->relu) {
    for (; i + TT_VL <= hw; i += TT_VL) { vf v = vload(x + i) * s + t; vstore(o + i, vrelu(v)); }
    for (; i < hw; i++) { float v = x[i] * j->scale[ch] + j->shift[ch]; o[i] = v < 0 ? 0.0f : v; }
  } else {
    for (; i + TT_VL <= hw; i += TT_VL) vstore(o + i, vload(x + i) * s + t);
    for (; i < hw; i++) o[i] = x[i] * j->scale[ch] + j->shift[ch];
  }
}

static void op_channel_affine(const float *x, const float *scale, const float *shift, float *out, long n, long c, long hw, int relu) {
  norm_job j = { .x = x, .scale = scale, .shift = shift, .out = out, .n = n, .c = c, .hw = hw, .relu = relu };
  long rows = n * c;
  par_rows(rows, hw, affine_task, &j);
}

static void bn_bwd_task(void *ctx, long ch, int tid) {
  (void)tid;
  const norm_job *j = ctx;
  float m = j->mean[ch], is = j->invstd[ch];
  double sg = 0, sgx = 0;
  for (long b = 0; b < j->n; b++) {
    long base = (b * j->c + ch) * j->hw;
    row_bn_sums(j->x + base, j->gy + base, j->hw, m, &sg, &sgx);
  }
  sgx *= is; /* Σ gy·x̂ */
  if (j->gw) j->gw[ch] = (float)sgx;
  if (j->gb) j->gb[ch] = (float)sg;
  if (!j->gx) return;
  double cnt = (double)j->n * j->hw;
  float wv = j->weight ? j->weight[ch] : 1.0f;
  float k = (float)(wv * is / cnt);
  /* gx = k·(cnt·gy − Σgy − x̂·Σgy·x̂) = A·gy + B·x + C */
  float A = (float)(k * cnt), Bc = (float)(-k * sgx * is), C = (float)(-k * sg + k * sgx * is * m);
  vf av = vsplat(A), bv = vsplat(Bc), cv = vsplat(C);
  for (long b = 0; b < j->n; b++) {
    long base = (b * j->c + ch) * j->hw, i = 0;
    const float *x = j->x + base, *g = j->gy + base;
    float *o = j->gx + base;
    for (; i + TT_VL <= j->hw; i += TT_VL) vstore(o + i, av * vload(g + i) + bv * vload(x + i) + cv);
    for (; i < j->hw; i++) o[i] = A * g[i] + Bc * x[i] + C;
  }
}

static void op_bn_bwd(const float *x, const float *gy, const float *mean, const float *invstd, const float *weight,
                      float *gx, float *gw, float *gb, long n, long c, long hw) {
  norm_job j = { .x = x, .gy = gy, .mean = mean, .invstd = invstd, .weight = weight, .gx = gx, .gw = gw, .gb = gb, .n = n, .c = c, .hw = hw };
  if (tt_num_threads() > 1 && c > 1 && n * c * hw > 32768) tt_parallel(c, bn_bwd_task, &j);
  else for (long ch = 0; ch < c; ch++) bn_bwd_task(&j, ch, 0);
}

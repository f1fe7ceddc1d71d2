/* ------------------------------------------------------------------------------------------------------------
 * Dense form for maps smaller than the filter's reach (ResNet's 2×2 stage: every output pixel sees every input
 * pixel through some tap). The convolution of one image is then a plain matrix product with an unfolded weight
 * Wd[(o, s), (c, s')] = w[o, c, tap(s, s')] (0 where no tap joins output pixel s and input pixel s'): the batch's
 * NCHW input already is the [n, c·h·w] operand and the output the [n, oc·oh·ow] result, so there is no im2col,
 * and it does c·h·w multiply-adds per output instead of c·kh·kw (16 instead of 36 on a 2×2 map with 3×3 taps).
 * ---------------------------------------------------------------------------------------------------------- */


typedef struct {
  const cgeom *g;
  const float *w; /* weights to unfold … */
  float *gw;      /* … or the weight gradient to fold into */
  float *wd;      /* Wd or dWd, [oc·sp, c·spi] */
  int16_t map[MAX_TAPS * MAX_TAPS];
  long sp, spi, rows;
} dense_job;
static dense_job dense; /* one for the three directions (its tap map is 128 KB); kernel calls never overlap */

/* map[s·spi + s'] = the tap joining output pixel s to input pixel s', or -1 */
static void dense_init(dense_job *j, const cgeom *g) {
  j->g = g;
  j->sp = g->oh * g->ow;
  j->spi = g->h * g->w;
  for (long y = 0; y < g->oh; y++)
    for (long x = 0; x < g->ow; x++)
      for (long iy = 0; iy < g->h; iy++)
        for (long ix = 0; ix < g->w; ix++) {
          long di = iy - (y * g->sH - g->pH), dj = ix - (x * g->sW - g->pW);
          int ok = di >= 0 && dj >= 0 && di % g->dH == 0 && dj % g->dW == 0 && di / g->dH < g->kh && dj / g->dW < g->kw;
          j->map[(y * g->ow + x) * j->spi + iy * g->w + ix] = (int16_t)(ok ? di / g->dH * g->kw + dj / g->dW : -1);
        }
  long tasks = MINI(g->oc, 4L * tt_num_threads());
  j->rows = (g->oc + tasks - 1) / tasks;
}

/* Rows (o, ·) of Wd for the task's output channels. */
static void dense_unfold_task(void *ctx, long t, int tid) {
  (void)tid;
  const dense_job *j = ctx;
  const cgeom *g = j->g;
  long khw = g->kh * g->kw, K = g->c * j->spi;
  for (long o = t * j->rows; o < MINI(g->oc, (t + 1) * j->rows); o++)
    for (long s = 0; s < j->sp; s++) {
      float *row = j->wd + (o * j->sp + s) * K;
      const int16_t *m = j->map + s * j->spi;
      int16_t at[MAX_TAPS], tap[MAX_TAPS];
      long nv = 0;
      for (long si = 0; si < j->spi; si++) if (m[si] >= 0) { at[nv] = (int16_t)si; tap[nv++] = m[si]; }
      if (nv < j->spi) memset(row, 0, sizeof(float) * K);
      for (long c = 0; c < g->c; c++) {
        const float *wc = j->w + (o * g->c + c) * khw;
        float *rc = row + c * j->spi;
        for (long v = 0; v < nv; v++) rc[at[v]] = wc[tap[v]];
      }
    }
}

/* The weight gradient folded back: gw[o, c, tap] = Σ over the (s, s') pairs that tap joins of dWd. */
static void dense_fold_task(void *ctx, long t, int tid) {
  (void)tid;
  const dense_job *j = ctx;
  const cgeom *g = j->g;
  long khw = g->kh * g->kw, K = g->c * j->spi;
  float *gw = j->gw;
  long o0 = t * j->rows, o1 = MINI(g->oc, o0 + j->rows);
  if (o0 >= o1) return;
  memset(gw + o0 * g->c * khw, 0, sizeof(float) * (o1 - o0) * g->c * khw);
  for (long o = o0; o < o1; o++)
    for (long s = 0; s < j->sp; s++) {
      const float *row = j->wd + (o * j->sp + s) * K;
      const int16_t *m = j->map + s * j->spi;
      for (long c = 0; c < g->c; c++) {
        float *gc = gw + (o * g->c + c) * khw;
        for (long si = 0; si < j->spi; si++) if (m[si] >= 0) gc[m[si]] += row[c * j->spi + si];
      }
    }
}

static float *dense_unfold(dense_job *j, const cgeom *g, const float *w) {
  dense_init(j, g);
  j->w = w;
  j->wd = tt_shared_scratch(SH_WT, sizeof(float) * g->oc * j->sp * g->c * j->spi);
  par_for((g->oc + j->rows - 1) / j->rows, dense_unfold_task, j);
  return j->wd;
}

static void conv_fwd_dense(const float *x, const float *w, const float *bias, const float *scale, float *out, const cgeom *g, int act) {
  long K = g->c * g->h * g->w, N = g->oc * g->oh * g->ow, sp = g->oh * g->ow;
  const float *wd = dense_unfold(&dense, g, w);
  /* out[n, N] = x[n, K] · Wdᵀ */
  gemm_strided(g->n, N, K, x, K, 1, 0, wd, 1, K, 0, out, N, 0, 1, 0);
  for (long b = 0; b < g->n; b++)
    for (long o = 0; o < g->oc; o++)
      epilogue_plane(out + (b * g->oc + o) * sp, sp, scale ? scale[o] : 1.0f, bias ? bias[o] : 0.0f, act);
}

static void conv_bwd_input_dense(const float *gy, const float *w, float *gx, const cgeom *g) {
  long K = g->c * g->h * g->w, N = g->oc * g->oh * g->ow;
  const float *wd = dense_unfold(&dense, g, w);
  /* gx[n, K] = gy[n, N] · Wd */
  gemm_strided(g->n, K, N, gy, N, 1, 0, wd, K, 1, 0, gx, K, 0, 1, 0);
}

static void conv_bwd_weight_dense(const float *x, const float *gy, float *gw, const cgeom *g) {
  long K = g->c * g->h * g->w, N = g->oc * g->oh * g->ow;
  dense_init(&dense, g);
  dense.gw = gw;
  dense.wd = tt_shared_scratch(SH_WT, sizeof(float) * N * K);
  /* dWd[N, K] = gyᵀ[N, n] · x[n, K] */
  gemm_strided(N, K, g->n, gy, 1, N, 0, x, K, 1, 0, dense.wd, K, 0, 1, 0);
  par_for((g->oc + dense.rows - 1) / dense.rows, dense_fold_task, &dense);
}

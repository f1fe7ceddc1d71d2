/* ------------------------------------------------------------------------------------------------------------
 * Nearest and bilinear resampling of planes (F.interpolate, modes 'nearest' and 'bilinear') and its adjoint.
 * The source taps — index pairs and weights per output row and column — are computed once per call in
 * JavaScript with PyTorch's source-index rules (src/backend/reference/interp.ts, shared with the reference
 * backend), so both backends pick the same source pixels; these bodies only run the O(planes·oh·ow) loops.
 * Nearest uses iy0/ix0 only. Every index is in [0, h) × [0, w): the caller builds them from the geometry.
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct {
  int bilinear;
  const float *src;
  float *dst;
  long h, w, oh, ow, row_blocks, rows_per_block;
  const int32_t *iy0, *iy1, *ix0, *ix1;
  const float *ly0, *ly1, *lx0, *lx1;
} resample_job;

/* The horizontal pass of one source row: hr[x] = w0·r[c0] + w1·r[c1] over the output's columns. */
static void resample_hrow(const resample_job *j, const float *r, float *hr) {
  for (long xo = 0; xo < j->ow; xo++) hr[xo] = j->lx0[xo] * r[j->ix0[xo]] + j->lx1[xo] * r[j->ix1[xo]];
}

/* Forward, one (plane, block of output rows) per task: out = h0·(w0·a + w1·b) + h1·(w0·c + w1·d), the
 * reference's order. Bilinear runs separably: the horizontal pass w0·a + w1·b is computed once per source row (kept
 * in one of two buffers; output rows visit source rows in order) and each output row is then a vector blend of two
 * such rows — an upsampling by s gathers s times less than per output pixel (DeepLab's ×8 output: 5.5 MB written
 * at streaming speed instead of four gathers a pixel). */
static void resample_fwd_task(void *ctx, long t, int tid) {
  const resample_job *j = ctx;
  long p = t / j->row_blocks, y0 = (t % j->row_blocks) * j->rows_per_block;
  long y1 = MINI(j->oh, y0 + j->rows_per_block);
  const float *x = j->src + p * j->h * j->w;
  float *o = j->dst + p * j->oh * j->ow;
  /* the two horizontal rows in the thread's scratch (any width; a stack buffer would bound it, and the wasm
   * main thread's stack is small); the per-pixel loop below only if that allocation fails */
  float *sep = j->bilinear ? tt_scratch(tid, SLOT_TMP, sizeof(float) * 2 * j->ow) : 0;
  if (sep) {
    float *buf[2] = { sep, sep + j->ow };
    long held[2] = { -1, -1 }; /* the source row each buffer holds */
    for (long y = y0; y < y1; y++) {
      const float *hrow[2];
      for (int k = 0; k < 2; k++) {
        long iy = k ? j->iy1[y] : j->iy0[y];
        int slot = held[0] == iy ? 0 : held[1] == iy ? 1 : -1;
        if (slot < 0) {
          /* replace the buffer the other tap of this row does not use */
          long other = k ? j->iy0[y] : -1;
          slot = held[0] == other ? 1 : 0;
          resample_hrow(j, x + iy * j->w, buf[slot]);
          held[slot] = iy;
        }
        hrow[k] = buf[slot];
      }
      float *orow = o + y * j->ow;
      const float h0 = j->ly0[y], h1 = j->ly1[y];
      const float *a = hrow[0], *b = hrow[1];
      vf v0 = vsplat(h0), v1 = vsplat(h1);
      long xo = 0;
      for (; xo + TT_VL <= j->ow; xo += TT_VL) vstore(orow + xo, v0 * vload(a + xo) + v1 * vload(b + xo));
      for (; xo < j->ow; xo++) orow[xo] = h0 * a[xo] + h1 * b[xo];
    }
    return;
  }
  for (long y = y0; y < y1; y++) {
    float *orow = o + y * j->ow;
    const float *r0 = x + (long)j->iy0[y] * j->w;
    if (!j->bilinear) {
      for (long xo = 0; xo < j->ow; xo++) orow[xo] = r0[j->ix0[xo]];
      continue;
    }
    const float *r1 = x + (long)j->iy1[y] * j->w;
    const float h0 = j->ly0[y], h1 = j->ly1[y];
    for (long xo = 0; xo < j->ow; xo++) {
      const int32_t c0 = j->ix0[xo], c1 = j->ix1[xo];
      const float w0 = j->lx0[xo], w1 = j->lx1[xo];
      orow[xo] = h0 * (w0 * r0[c0] + w1 * r0[c1]) + h1 * (w0 * r1[c0] + w1 * r1[c1]);
    }
  }
}

/* Adjoint, one plane per task (each output row scatters into up to two source rows shared with its neighbours,
 * so planes are the unit of parallelism: deterministic, no atomics). */
static void resample_bwd_task(void *ctx, long p, int tid) {
  (void)tid;
  const resample_job *j = ctx;
  const float *gy = j->src + p * j->oh * j->ow;
  float *gx = j->dst + p * j->h * j->w;
  memset(gx, 0, sizeof(float) * j->h * j->w);
  for (long y = 0; y < j->oh; y++) {
    const float *grow = gy + y * j->ow;
    float *r0 = gx + (long)j->iy0[y] * j->w;
    if (!j->bilinear) {
      for (long xo = 0; xo < j->ow; xo++) r0[j->ix0[xo]] += grow[xo];
      continue;
    }
    float *r1 = gx + (long)j->iy1[y] * j->w;
    const float h0 = j->ly0[y], h1 = j->ly1[y];
    for (long xo = 0; xo < j->ow; xo++) {
      const float v = grow[xo];
      const int32_t c0 = j->ix0[xo], c1 = j->ix1[xo];
      const float w0 = j->lx0[xo], w1 = j->lx1[xo];
      r0[c0] += h0 * w0 * v;
      r0[c1] += h0 * w1 * v;
      r1[c0] += h1 * w0 * v;
      r1[c1] += h1 * w1 * v;
    }
  }
}

static resample_job resample_job_of(int bilinear, const float *src, float *dst, long planes, long h, long w, long oh,
                                    long ow, const int32_t *iy0, const int32_t *iy1, const float *ly0,
                                    const float *ly1, const int32_t *ix0, const int32_t *ix1, const float *lx0,
                                    const float *lx1) {
  (void)planes;
  /* ~16k outputs per forward task: enough to amortise a task, fine enough to split one big plane */
  long rows = MAXI(1, MINI(oh, 16384 / MAXI(ow, 1)));
  resample_job j = { bilinear, src, dst, h, w, oh, ow, (oh + rows - 1) / rows, rows,
                     iy0, bilinear ? iy1 : 0, ix0, bilinear ? ix1 : 0,
                     bilinear ? ly0 : 0, bilinear ? ly1 : 0, bilinear ? lx0 : 0, bilinear ? lx1 : 0 };
  return j;
}

static void op_resample2d(int bilinear, const float *x, float *out, long planes, long h, long w, long oh, long ow,
                          const int32_t *iy0, const int32_t *iy1, const float *ly0, const float *ly1,
                          const int32_t *ix0, const int32_t *ix1, const float *lx0, const float *lx1) {
  if (planes <= 0 || oh <= 0 || ow <= 0) return;
  resample_job j = resample_job_of(bilinear, x, out, planes, h, w, oh, ow, iy0, iy1, ly0, ly1, ix0, ix1, lx0, lx1);
  long tasks = planes * j.row_blocks;
  if (tt_num_threads() > 1 && tasks > 1 && planes * oh * ow > 16384) tt_parallel(tasks, resample_fwd_task, &j);
  else for (long t = 0; t < tasks; t++) resample_fwd_task(&j, t, 0);
}

static void op_resample2d_bwd(int bilinear, const float *gy, float *gx, long planes, long h, long w, long oh,
                              long ow, const int32_t *iy0, const int32_t *iy1, const float *ly0, const float *ly1,
                              const int32_t *ix0, const int32_t *ix1, const float *lx0, const float *lx1) {
  if (planes <= 0 || h <= 0 || w <= 0) return;
  resample_job j = resample_job_of(bilinear, gy, gx, planes, h, w, oh, ow, iy0, iy1, ly0, ly1, ix0, ix1, lx0, lx1);
  if (tt_num_threads() > 1 && planes > 1 && planes * oh * ow > 16384) tt_parallel(planes, resample_bwd_task, &j);
  else for (long p = 0; p < planes; p++) resample_bwd_task(&j, p, 0);
}

/* ------------------------------------------------------------------------------------------------------------
 * Batched lowering for small feature maps (late ResNet stages, 8×8 down to 1×1, and most of CIFAR-sized nets).
 * Per image, those GEMMs have a tiny N (forward, backward-to-input) or K (weight gradient), and the padded-width
 * trick spends most of its columns on padding. Here the im2col columns of nb images sit side by side,
 * col[kdim, nb·sp], so each group is one well-shaped GEMM with N (or K) = nb·sp, threaded inside the GEMM.
 * ---------------------------------------------------------------------------------------------------------- */
#define BATCHED_COL_FLOATS (4L << 20) /* cap on one chunk's col buffer (16 MB): larger batches go in chunks */




/*
 * Taps that read only padding for every output pixel (a 3×3 filter on a 1×1 map has one live tap, a stride-2
 * 3×3 on 2×2 → 1×1 has four) are dropped from the lowering: their columns would be all zeros, so skipping them
 * divides the GEMM's work by up to kh·kw. Returns the live count and marks them in `live` (kh·kw ≤ MAX_TAPS).
 */

typedef struct {
  const cgeom *g;
  const float *x, *gy, *bias, *scale;
  float *col, *gyt, *gx, *out;
  long b0, gr, ld;
  int act;
  const uint8_t *live; /* NULL: every tap */
} batch_job;

/* The lowering's shape: K = cg · live taps, and the live mask (NULL when all taps are live). */
typedef struct { long cg, ocg, khw, ntaps, kd, sp; uint8_t mask[MAX_TAPS]; const uint8_t *live; int16_t tap[MAX_TAPS]; } lowering;

static void lowering_init(lowering *l, const cgeom *g) {
  l->cg = g->c / g->groups;
  l->ocg = g->oc / g->groups;
  l->khw = g->kh * g->kw;
  l->sp = g->oh * g->ow;
  l->ntaps = l->khw <= MAX_TAPS ? live_taps(g, l->mask) : l->khw;
  if (l->ntaps == 0) l->ntaps = l->khw; /* padding only: keep the plain lowering (its columns are all zero) */
  l->live = l->ntaps < l->khw ? l->mask : NULL;
  if (l->live) for (long t = 0, u = 0; t < l->khw; t++) if (l->live[t]) l->tap[u++] = (int16_t)t;
  l->kd = l->cg * l->ntaps;
}

static void par_for(long n, tt_task_fn fn, void *ctx) {
  if (tt_num_threads() > 1 && n > 1) tt_parallel(n, fn, ctx);
  else for (long t = 0; t < n; t++) fn(ctx, t, 0);
}

/* Moving weights between the full [ocg, cg·khw] layout and the live-tap one [ocg, kd] (kd = cg·ntaps) reads or
 * writes every tap of a late-stage layer (9.4 MB for 512×512×3×3) to use a ninth of it: memory-bound, so both
 * threads take a share of the output channels. */
typedef struct { const lowering *l; const float *src; float *dst; long rows_per_task; } taps_job;

/* dst[o, c·ntaps + t'] = w[o, c, tap[t']] for the task's rows of one group. */
static void gather_taps_task(void *ctx, long t, int tid) {
  (void)tid;
  const taps_job *j = ctx;
  const lowering *l = j->l;
  for (long o = t * j->rows_per_task; o < MINI(l->ocg, (t + 1) * j->rows_per_task); o++)
    for (long c = 0; c < l->cg; c++) {
      const float *src = j->src + (o * l->cg + c) * l->khw;
      float *d = j->dst + o * l->kd + c * l->ntaps;
      for (long u = 0; u < l->ntaps; u++) d[u] = src[l->tap[u]];
    }
}

/* The inverse for a gradient: dst[o, c, tap[t']] = src[o, c·ntaps + t'], zero at the dead taps. */
static void scatter_taps_task(void *ctx, long t, int tid) {
  (void)tid;
  const taps_job *j = ctx;
  const lowering *l = j->l;
  long o0 = t * j->rows_per_task, o1 = MINI(l->ocg, o0 + j->rows_per_task);
  if (o0 >= o1) return;
  memset(j->dst + o0 * l->cg * l->khw, 0, sizeof(float) * (o1 - o0) * l->cg * l->khw);
  for (long o = o0; o < o1; o++)
    for (long c = 0; c < l->cg; c++) {
      float *d = j->dst + (o * l->cg + c) * l->khw;
      const float *src = j->src + o * l->kd + c * l->ntaps;
      for (long u = 0; u < l->ntaps; u++) d[l->tap[u]] = src[u];
    }
}

static void run_taps(const lowering *l, const float *src, float *dst, tt_task_fn fn) {
  long tasks = MINI(l->ocg, 4L * tt_num_threads());
  taps_job j = { l, src, dst, (l->ocg + tasks - 1) / tasks };
  par_for((l->ocg + j.rows_per_task - 1) / j.rows_per_task, fn, &j);
}

static void batch_im2col_task(void *ctx, long b, int tid) {
  (void)tid;
  const batch_job *j = ctx;
  const cgeom *g = j->g;
  long cg = g->c / g->groups;
  im2col(j->x + (j->b0 + b) * g->c * g->h * g->w, j->gr * cg, cg, g, j->col + b * g->oh * g->ow, j->ld, j->live);
}

static void batch_col2im_task(void *ctx, long b, int tid) {
  (void)tid;
  const batch_job *j = ctx;
  const cgeom *g = j->g;
  long cg = g->c / g->groups;
  col2im(j->col + b * g->oh * g->ow, j->gr * cg, cg, g, j->gx + (j->b0 + b) * g->c * g->h * g->w, j->ld, j->live);
}

/* gyt[o, b·sp + s] = gy[b0 + b, gr·ocg + o, s] */
static void batch_gather_task(void *ctx, long b, int tid) {
  (void)tid;
  const batch_job *j = ctx;
  const cgeom *g = j->g;
  long ocg = g->oc / g->groups, sp = g->oh * g->ow;
  const float *src = j->gy + ((j->b0 + b) * g->oc + j->gr * ocg) * sp;
  for (long o = 0; o < ocg; o++) memcpy(j->gyt + o * j->ld + b * sp, src + o * sp, sizeof(float) * sp);
}

/* out[b0 + b, gr·ocg + o, s] = act(res[o, b·sp + s] + bias) */
static void batch_scatter_task(void *ctx, long b, int tid) {
  (void)tid;
  const batch_job *j = ctx;
  const cgeom *g = j->g;
  long ocg = g->oc / g->groups, sp = g->oh * g->ow;
  for (long o = 0; o < ocg; o++) {
    long oc = j->gr * ocg + o;
    float *dst = j->out + ((j->b0 + b) * g->oc + oc) * sp;
    memcpy(dst, j->gyt + o * j->ld + b * sp, sizeof(float) * sp);
    epilogue_plane(dst, sp, j->scale ? j->scale[oc] : 1.0f, j->bias ? j->bias[oc] : 0.0f, j->act);
  }
}

static long batched_images(const cgeom *g, long kd) {
  long nb = BATCHED_COL_FLOATS / (kd * g->oh * g->ow);
  return nb < 1 ? 1 : MINI(nb, g->n);
}

/* Weights of group gr as the GEMM sees them: in place, or restricted to the live taps in scratch. */
static const float *lowered_weights(const lowering *l, const float *w, long gr) {
  if (!l->live) return w + gr * l->ocg * l->kd;
  float *wl = tt_shared_scratch(SH_WPACK, sizeof(float) * l->ocg * l->kd);
  run_taps(l, w + gr * l->ocg * l->cg * l->khw, wl, gather_taps_task);
  return wl;
}

/* Shape of the lowering, the job's shared parts and its scratch; returns how many images one chunk holds. */
static long batch_begin(lowering *l, batch_job *j, const cgeom *g) {
  lowering_init(l, g);
  long nbmax = batched_images(g, l->kd);
  j->g = g;
  j->live = l->live;
  j->col = tt_shared_scratch(SH_XPAD, sizeof(float) * l->kd * nbmax * l->sp);
  j->gyt = tt_shared_scratch(SH_GYPAD, sizeof(float) * l->ocg * nbmax * l->sp);
  return nbmax;
}

static void conv_fwd_batched(const float *x, const float *w, const float *bias, const float *scale, float *out, const cgeom *g, int act) {
  lowering l;
  batch_job j = { .x = x, .bias = bias, .scale = scale, .out = out, .act = act };
  long nbmax = batch_begin(&l, &j, g);
  for (j.gr = 0; j.gr < g->groups; j.gr++) {
    const float *wg = lowered_weights(&l, w, j.gr);
    for (j.b0 = 0; j.b0 < g->n; j.b0 += nbmax) {
      long nb = MINI(nbmax, g->n - j.b0);
      j.ld = nb * l.sp;
      par_for(nb, batch_im2col_task, &j);
      gemm_strided(l.ocg, j.ld, l.kd, wg, l.kd, 1, 0, j.col, j.ld, 1, 0, j.gyt, j.ld, 0, 1, 0);
      par_for(nb, batch_scatter_task, &j);
    }
  }
}

static void conv_bwd_input_batched(const float *gy, const float *w, float *gx, const cgeom *g) {
  lowering l;
  batch_job j = { .gy = gy, .gx = gx };
  long nbmax = batch_begin(&l, &j, g);
  memset(gx, 0, sizeof(float) * g->n * g->c * g->h * g->w);
  for (j.gr = 0; j.gr < g->groups; j.gr++) {
    const float *wg = lowered_weights(&l, w, j.gr);
    for (j.b0 = 0; j.b0 < g->n; j.b0 += nbmax) {
      long nb = MINI(nbmax, g->n - j.b0);
      j.ld = nb * l.sp;
      par_for(nb, batch_gather_task, &j);
      /* col [kd, nb·sp] = W_gᵀ · gyt */
      gemm_strided(l.kd, j.ld, l.ocg, wg, 1, l.kd, 0, j.gyt, j.ld, 1, 0, j.col, j.ld, 0, 1, 0);
      par_for(nb, batch_col2im_task, &j);
    }
  }
}

static void conv_bwd_weight_batched(const float *x, const float *gy, float *gw, const cgeom *g) {
  lowering l;
  batch_job j = { .x = x, .gy = gy };
  long nbmax = batch_begin(&l, &j, g);
  /* with dead taps the GEMM fills a compact [ocg, kd] block per group, scattered into gw at the end */
  float *gl = l.live ? tt_shared_scratch(SH_WPACK, sizeof(float) * l.ocg * l.kd) : NULL;
  for (j.gr = 0; j.gr < g->groups; j.gr++) {
    float *dst = gl ? gl : gw + j.gr * l.ocg * l.kd;
    for (j.b0 = 0; j.b0 < g->n; j.b0 += nbmax) {
      long nb = MINI(nbmax, g->n - j.b0);
      j.ld = nb * l.sp;
      par_for(nb, batch_im2col_task, &j);
      par_for(nb, batch_gather_task, &j);
      /* gW_g [ocg, kd] (+)= gyt [ocg, nb·sp] · colᵀ */
      gemm_strided(l.ocg, l.kd, j.ld, j.gyt, j.ld, 1, 0, j.col, 1, j.ld, 0, dst, l.kd, 0, 1, j.b0 > 0);
    }
    if (gl) run_taps(&l, gl, gw + j.gr * l.ocg * l.cg * l.khw, scatter_taps_task);
  }
}

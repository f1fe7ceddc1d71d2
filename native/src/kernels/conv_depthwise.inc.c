/* ------------------------------------------------------------------------------------------------------------
 * Depthwise convolution forward (groups = c = oc, any kernel size, stride, dilation and padding), with the
 * epilogue act(scale·acc + bias) fused: MobileNet's 3×3 stride-1 and stride-2 layers.
 *
 * Each plane is copied once into a zero-padded polyphase grid in thread scratch (as conv_grid.inc.c does for a
 * whole image): phase (a, b) holds padded rows a, a+sH, … and columns b, b+sW, …, each phase HP×WP with
 * WP = ow + (kw−1)·dW/sW. Output pixel (y, x) is then column s = y·WP + x of a flat grid, and tap (i, j) reads
 * the phase (i·dH mod sH, j·dW mod sW) at s + ⌊i·dH/sH⌋·WP + ⌊j·dW/sW⌋: consecutive outputs read consecutive
 * floats for every stride, so one vector FMA per tap serves TT_VL outputs, across row ends too (a 7×7 map with a
 * 3×3 kernel computes 7 of every 9 columns instead of 7 of every 16 lanes). The taps of a 3×3 kernel stay in
 * registers; the accumulators never leave them until the epilogue, so the output is written once and the input
 * read once from memory: the kernel is bound by memory traffic, not by FMAs (9 per output).
 * ---------------------------------------------------------------------------------------------------------- */
/* More taps than this run through the general path without the offsets table in the job (none of the models). */
#define DW_MAX_TAPS 64
/* Planes per task: the grid's zero border is written once per task, and the scratch looked up once. */
#define DW_PLANES_PER_TASK 16

typedef struct {
  const float *x, *w, *bias, *scale;
  float *out;
  cgeom g;
  int act;
  long HP, WP, phase, ns; /* phase plane rows and width, floats per phase, flat columns computed (oh·WP rounded) */
  long gridn, slack, planes, tasks, per;
  long off[DW_MAX_TAPS];         /* each tap's offset in the grid */
  long r0[4], r1[4], q0[4], q1[4]; /* per row / column phase: the grid rows and columns that hold input pixels */
} dw_job;

/* Plane xp (h×w) into the interior of its padded polyphase grid at dst, whose border is already zero. */
static void dw_fill(const dw_job *j, const float *xp, float *dst) {
  const cgeom *g = &j->g;
  long WP = j->WP;
  for (long a = 0; a < g->sH; a++)
    for (long b = 0; b < g->sW; b++) {
      float *ph = dst + (a * g->sW + b) * j->phase;
      long q0 = j->q0[b], q1 = j->q1[b];
      for (long r = j->r0[a]; r < j->r1[a]; r++) {
        const float *src = xp + (r * g->sH + a - g->pH) * g->w + b - g->pW;
        float *row = ph + r * WP;
        /* constant strides, so the compiler vectorises them (stride 2: two loads and a lane permutation) */
        if (g->sW == 1) for (long q = q0; q < q1; q++) row[q] = src[q];
        else if (g->sW == 2) for (long q = q0; q < q1; q++) row[q] = src[2 * q];
        else for (long q = q0; q < q1; q++) row[q] = src[q * g->sW];
      }
    }
}

/* The grid rows (columns) of phase a that hold input rows (columns): [lo, hi) with 0 ≤ r·s + a − pad < n. */
static void dw_range(long n, long s, long a, long pad, long len, long *lo, long *hi) {
  long l = pad > a ? (pad - a + s - 1) / s : 0, last = n - 1 + pad - a;
  long h = last < 0 ? 0 : MINI(len, last / s + 1);
  *lo = MINI(l, len);
  *hi = MAXI(h, *lo);
}

/* acc[s] for s in [0, ns): the 3×3 case with its nine taps in registers, two vectors per step. */
static void dw_flat3x3(const float *grid, const long *off, const float *wk, float *acc, long ns) {
  vf w0 = vsplat(wk[0]), w1 = vsplat(wk[1]), w2 = vsplat(wk[2]), w3 = vsplat(wk[3]), w4 = vsplat(wk[4]),
     w5 = vsplat(wk[5]), w6 = vsplat(wk[6]), w7 = vsplat(wk[7]), w8 = vsplat(wk[8]);
  const float *t0 = grid + off[0], *t1 = grid + off[1], *t2 = grid + off[2], *t3 = grid + off[3], *t4 = grid + off[4],
              *t5 = grid + off[5], *t6 = grid + off[6], *t7 = grid + off[7], *t8 = grid + off[8];
#define DW_TAPS(s)                                                                                                   \
  vfma(vfma(vfma(vfma(vfma(vfma(vfma(vfma(w0 * vload(t0 + (s)), w1, vload(t1 + (s))), w2, vload(t2 + (s))), w3,      \
                                vload(t3 + (s))), w4, vload(t4 + (s))), w5, vload(t5 + (s))), w6, vload(t6 + (s))), \
            w7, vload(t7 + (s))), w8, vload(t8 + (s)))
  long s = 0;
  for (; s + 2 * TT_VL <= ns; s += 2 * TT_VL) {
    vf a = DW_TAPS(s), b = DW_TAPS(s + TT_VL);
    vstore(acc + s, a);
    vstore(acc + s + TT_VL, b);
  }
  for (; s < ns; s += TT_VL) vstore(acc + s, DW_TAPS(s));
#undef DW_TAPS
}

/* acc[s] for s in [0, ns), any number of taps: four vectors of outputs per pass over the taps. */
static void dw_flat(const float *grid, const long *off, const float *wk, long taps, float *acc, long ns) {
  long s = 0;
  for (; s + 4 * TT_VL <= ns; s += 4 * TT_VL) {
    vf a0 = vsplat(0.0f), a1 = a0, a2 = a0, a3 = a0;
    for (long t = 0; t < taps; t++) {
      const float *p = grid + off[t] + s;
      vf wv = vsplat(wk[t]);
      a0 = vfma(a0, wv, vload(p));
      a1 = vfma(a1, wv, vload(p + TT_VL));
      a2 = vfma(a2, wv, vload(p + 2 * TT_VL));
      a3 = vfma(a3, wv, vload(p + 3 * TT_VL));
    }
    vstore(acc + s, a0);
    vstore(acc + s + TT_VL, a1);
    vstore(acc + s + 2 * TT_VL, a2);
    vstore(acc + s + 3 * TT_VL, a3);
  }
  for (; s < ns; s += TT_VL) {
    vf a0 = vsplat(0.0f);
    for (long t = 0; t < taps; t++) a0 = vfma(a0, vsplat(wk[t]), vload(grid + off[t] + s));
    vstore(acc + s, a0);
  }
}

static void dw_task(void *ctx, long t, int tid) {
  const dw_job *j = ctx;
  const cgeom *g = &j->g;
  long taps = g->kh * g->kw, WP = j->WP;
  float *grid = tt_scratch(tid, SLOT_COL, sizeof(float) * (j->gridn + j->slack));
  float *acc = tt_scratch(tid, SLOT_TILE, sizeof(float) * j->ns);
  /* the border (and the slack the last vectors read past the grid) is zero for every plane */
  memset(grid, 0, sizeof(float) * (j->gridn + j->slack));
  long p1 = MINI(j->planes, (t + 1) * j->per);
  for (long p = t * j->per; p < p1; p++) {
    long c = p % g->c;
    dw_fill(j, j->x + p * g->h * g->w, grid);
    const float *wk = j->w + c * taps;
    if (taps == 9) dw_flat3x3(grid, j->off, wk, acc, j->ns);
    else dw_flat(grid, j->off, wk, taps, acc, j->ns);
    /* epilogue on the flat columns in vectors (small maps have rows shorter than a vector), then the first ow
     * of every WP columns are an output row */
    float sv = j->scale ? j->scale[c] : 1.0f, bv = j->bias ? j->bias[c] : 0.0f;
    vf vs = vsplat(sv), vb = vsplat(bv);
    long used = g->oh * WP;
    for (long s = 0; s < used; s += TT_VL) vstore(acc + s, act_v(vload(acc + s) * vs + vb, j->act));
    float *op = j->out + p * g->oh * g->ow;
    if (WP == g->ow) memcpy(op, acc, sizeof(float) * used);
    else
      for (long y = 0; y < g->oh; y++) {
        const float *src = acc + y * WP;
        float *dst = op + y * g->ow;
        for (long x = 0; x < g->ow; x++) dst[x] = src[x];
      }
  }
}

/* ------------------------------------------------------------------------------------------------------------
 * Small maps (at most DW_CB_MAX_PIXELS input pixels and DW_CB_MAX_OUTPUTS outputs: MobileNet's 7×7 stage and
 * the stride-2 layers into it) turn the vectors around:
 * a vector holds one pixel of TT_VL channels instead of TT_VL pixels of one channel. Per plane, the grid fill, the
 * copy-out and the loop set-up of the path above cost more than its nine vector FMAs there (a 7×7 plane of 49
 * outputs took ~90 ns, 17 % of a copy's bytes/s at 960 channels, batch 8); here a block of TT_VL planes is
 * interleaved once into a zero-padded [rows][columns][TT_VL] grid, every output pixel is kh·kw vector FMAs whose
 * weights, scales and biases are per-lane vectors held across the block, and the block is de-interleaved into the
 * TT_VL output planes at the end. Any kernel size, stride, dilation and padding.
 * ---------------------------------------------------------------------------------------------------------- */
#define DW_CB_MAX_PIXELS 256
/* Measured against the path above (3×3, 2 threads, AVX-512; batch 8 and 1): 1.6–1.8× faster on 7×7 outputs (960
 * channels at 7×7, 576 at 14×14 stride 2), even at 14×14 stride 1, 2× slower at 28×28 — the interleaving is scalar */
#define DW_CB_MAX_OUTPUTS 64

typedef struct {
  const float *x, *w, *bias, *scale;
  float *out;
  cgeom g;
  int act;
  long HG, WG;          /* grid rows and columns: the padded input extent the outputs read */
  long blocks, per, tasks; /* channel blocks per image; (image, block) units per task; tasks */
} dwcb_job;

/* The outputs of one block: act(scale·Σ_taps w·x + bias) for every output pixel, into res[pixel][TT_VL]. KH and KW
 * are constants where the caller passes them so (3×3), so the tap loops unroll. */
static inline __attribute__((always_inline)) void dwcb_outputs(const dwcb_job *j, const float *grid, const vf *wv,
                                                               vf vs, vf vb, float *res, long KH, long KW) {
  const cgeom *g = &j->g;
  long WG = j->WG;
  for (long y = 0; y < g->oh; y++)
    for (long x = 0; x < g->ow; x++) {
      const float *p = grid + (y * g->sH * WG + x * g->sW) * TT_VL;
      vf acc = vsplat(0.0f);
      for (long i = 0; i < KH; i++)
        for (long k = 0; k < KW; k++) acc = vfma(acc, wv[i * KW + k], vload(p + (i * g->dH * WG + k * g->dW) * TT_VL));
      vstore(res + (y * g->ow + x) * TT_VL, act_v(acc * vs + vb, j->act));
    }
}

static void dwcb_task(void *ctx, long t, int tid) {
  const dwcb_job *j = ctx;
  const cgeom *g = &j->g;
  long taps = g->kh * g->kw, HG = j->HG, WG = j->WG, hw = g->h * g->w, ohw = g->oh * g->ow;
  long gridn = HG * WG * TT_VL;
  float *grid = tt_scratch(tid, SLOT_COL, sizeof(float) * gridn);
  float *res = tt_scratch(tid, SLOT_TILE, sizeof(float) * ohw * TT_VL);
  /* input rows and columns that land inside the grid (stride 2 on an even size leaves the last one unread) */
  long rows = MINI(g->h, HG - g->pH), cols = MINI(g->w, WG - g->pW);
  vf wv[DW_MAX_TAPS];
  float lane[TT_VL] __attribute__((aligned(64)));
  long u1 = MINI(g->n * j->blocks, (t + 1) * j->per);
  for (long u = t * j->per; u < u1; u++) {
    long b = u / j->blocks, c0 = (u % j->blocks) * TT_VL, lanes = MINI(TT_VL, g->c - c0);
    memset(grid, 0, sizeof(float) * gridn);
    for (long l = 0; l < lanes; l++) {
      const float *src = j->x + (b * g->c + c0 + l) * hw;
      for (long r = 0; r < rows; r++) {
        float *row = grid + ((r + g->pH) * WG + g->pW) * TT_VL + l;
        for (long q = 0; q < cols; q++) row[q * TT_VL] = src[r * g->w + q];
      }
    }
    /* per-lane weights, scales and biases; lanes past the last channel compute zeros nobody reads */
    for (long k = 0; k < taps; k++) {
      for (long l = 0; l < TT_VL; l++) lane[l] = l < lanes ? j->w[(c0 + l) * taps + k] : 0.0f;
      wv[k] = vload(lane);
    }
    for (long l = 0; l < TT_VL; l++) lane[l] = j->scale && l < lanes ? j->scale[c0 + l] : 1.0f;
    vf vs = vload(lane);
    for (long l = 0; l < TT_VL; l++) lane[l] = j->bias && l < lanes ? j->bias[c0 + l] : 0.0f;
    vf vb = vload(lane);
    if (g->kh == 3 && g->kw == 3) dwcb_outputs(j, grid, wv, vs, vb, res, 3, 3);
    else dwcb_outputs(j, grid, wv, vs, vb, res, g->kh, g->kw);
    for (long l = 0; l < lanes; l++) {
      float *dst = j->out + (b * g->c + c0 + l) * ohw;
      for (long q = 0; q < ohw; q++) dst[q] = res[q * TT_VL + l];
    }
  }
}

/* Whether the channel-blocked path takes a depthwise forward: a small map and channels enough to fill a vector. */
static int dwcb_applies(const cgeom *g) {
  return g->oh * g->ow <= DW_CB_MAX_OUTPUTS && g->h * g->w <= DW_CB_MAX_PIXELS && g->c >= TT_VL &&
         g->kh * g->kw <= DW_MAX_TAPS;
}

static void conv_fwd_depthwise_cblock(const float *x, const float *w, const float *bias, const float *scale,
                                      float *out, const cgeom *g, int act) {
  dwcb_job j = { .x = x, .w = w, .bias = bias, .scale = scale, .out = out, .g = *g, .act = act };
  j.HG = (g->oh - 1) * g->sH + (g->kh - 1) * g->dH + 1;
  j.WG = (g->ow - 1) * g->sW + (g->kw - 1) * g->dW + 1;
  j.blocks = (g->c + TT_VL - 1) / TT_VL;
  long units = g->n * j.blocks;
  int T = tt_num_threads();
  j.per = MAXI(1, MINI(4, units / (4 * T)));
  j.tasks = (units + j.per - 1) / j.per;
  if (T > 1 && j.tasks > 1) tt_parallel(j.tasks, dwcb_task, &j);
  else for (long t = 0; t < j.tasks; t++) dwcb_task(&j, t, 0);
}

/* Depthwise forward (groups = c = oc): one task per (image, channel) plane, or per block of TT_VL channels on
 * small maps. */
static void conv_fwd_depthwise(const float *x, const float *w, const float *bias, const float *scale, float *out,
                               const cgeom *g, int act) {
  if (dwcb_applies(g)) {
    conv_fwd_depthwise_cblock(x, w, bias, scale, out, g, act);
    return;
  }
  dw_job j = { .x = x, .w = w, .bias = bias, .scale = scale, .out = out, .g = *g, .act = act };
  j.HP = g->oh + (g->kh - 1) * g->dH / g->sH;
  j.WP = g->ow + (g->kw - 1) * g->dW / g->sW;
  j.phase = j.HP * j.WP;
  j.ns = ROUNDUP(g->oh * j.WP, 2 * TT_VL);
  j.gridn = g->sH * g->sW * j.phase;
  /* the flat columns' last vectors read up to ns − 1 + the largest tap offset within a phase, (HP − oh)·WP +
   * WP − ow: at most ns − oh·WP + WP past the end of the last phase */
  j.slack = j.ns - g->oh * j.WP + j.WP;
  for (long i = 0; i < g->kh; i++)
    for (long jj = 0; jj < g->kw; jj++) {
      long ri = i * g->dH, cj = jj * g->dW;
      j.off[i * g->kw + jj] = ((ri % g->sH) * g->sW + cj % g->sW) * j.phase + ri / g->sH * j.WP + cj / g->sW;
    }
  for (long a = 0; a < g->sH; a++) dw_range(g->h, g->sH, a, g->pH, j.HP, &j.r0[a], &j.r1[a]);
  for (long b = 0; b < g->sW; b++) dw_range(g->w, g->sW, b, g->pW, j.WP, &j.q0[b], &j.q1[b]);
  j.planes = g->n * g->c;
  int T = tt_num_threads();
  /* enough tasks for an even share on T threads, each of up to DW_PLANES_PER_TASK planes */
  j.per = MAXI(1, MINI(DW_PLANES_PER_TASK, j.planes / (4 * T)));
  j.tasks = (j.planes + j.per - 1) / j.per;
  if (T > 1 && j.tasks > 1) tt_parallel(j.tasks, dw_task, &j);
  else for (long t = 0; t < j.tasks; t++) dw_task(&j, t, 0);
}

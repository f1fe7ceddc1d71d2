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

/* Depthwise forward (groups = c = oc): one task per (image, channel) plane. */
static void conv_fwd_depthwise(const float *x, const float *w, const float *bias, const float *scale, float *out,
                               const cgeom *g, int act) {
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

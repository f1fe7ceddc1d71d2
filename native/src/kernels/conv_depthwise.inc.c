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
typedef struct {
  const float *x, *w, *bias, *scale;
  float *out;
  cgeom g;
  int act;
  long HP, WP, phase, ns; /* phase plane rows and width, floats per phase, flat columns computed (oh·WP rounded) */
} dw_job;

/* Plane xp (h×w) into its padded polyphase grid at dst (sH·sW phases of HP×WP floats). */
static void dw_pad(const dw_job *j, const float *xp, float *dst) {
  const cgeom *g = &j->g;
  long HP = j->HP, WP = j->WP;
  for (long a = 0; a < g->sH; a++)
    for (long b = 0; b < g->sW; b++) {
      float *ph = dst + (a * g->sW + b) * j->phase;
      for (long r = 0; r < HP; r++) {
        long iy = r * g->sH + a - g->pH;
        float *row = ph + r * WP;
        if (iy < 0 || iy >= g->h) { memset(row, 0, sizeof(float) * WP); continue; }
        const float *src = xp + iy * g->w;
        /* columns q with 0 ≤ q·sW + b − pW < w are copied, the rest are padding */
        long q0 = g->pW > b ? (g->pW - b + g->sW - 1) / g->sW : 0;
        long last = g->w - 1 + g->pW - b; /* the last copied column is ⌊last/sW⌋, when last ≥ 0 */
        long q1 = last < 0 ? 0 : MINI(WP, last / g->sW + 1);
        if (q1 < q0) q1 = q0;
        if (q0 > 0) memset(row, 0, sizeof(float) * MINI(q0, WP));
        if (g->sW == 1) memcpy(row + q0, src + q0 - g->pW, sizeof(float) * (q1 - q0));
        else for (long q = q0; q < q1; q++) row[q] = src[q * g->sW + b - g->pW];
        if (q1 < WP) memset(row + q1, 0, sizeof(float) * (WP - q1));
      }
    }
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

/* The taps of one plane: more than this many run through a heap array (7×7 and 5×5 fit on the stack). */
#define DW_MAX_STACK_TAPS 64

static void dw_plane_task(void *ctx, long p, int tid) {
  const dw_job *j = ctx;
  const cgeom *g = &j->g;
  long c = p % g->c, taps = g->kh * g->kw, WP = j->WP;
  long gridn = g->sH * g->sW * j->phase;
  /* slack past the grid: the flat columns' last vectors read up to ns − 1 + the largest tap offset within a phase,
   * (HP − oh)·WP + WP − ow, which is at most ns − oh·WP + WP past the end of the last phase */
  long slack = j->ns - g->oh * WP + WP;
  float *grid = tt_scratch(tid, SLOT_COL, sizeof(float) * (gridn + slack));
  float *acc = tt_scratch(tid, SLOT_TILE, sizeof(float) * j->ns);
  long offs_stack[DW_MAX_STACK_TAPS];
  long *off = taps <= DW_MAX_STACK_TAPS ? offs_stack : tt_scratch(tid, SLOT_TMP, sizeof(long) * taps);
  dw_pad(j, j->x + p * g->h * g->w, grid);
  memset(grid + gridn, 0, sizeof(float) * slack);
  for (long i = 0; i < g->kh; i++)
    for (long jj = 0; jj < g->kw; jj++) {
      long ri = i * g->dH, cj = jj * g->dW;
      off[i * g->kw + jj] = ((ri % g->sH) * g->sW + cj % g->sW) * j->phase + ri / g->sH * WP + cj / g->sW;
    }
  const float *wk = j->w + c * taps;
  if (taps == 9) dw_flat3x3(grid, off, wk, acc, j->ns);
  else dw_flat(grid, off, wk, taps, acc, j->ns);
  /* epilogue: the first ow of every WP flat columns are the output row */
  float sv = j->scale ? j->scale[c] : 1.0f, bv = j->bias ? j->bias[c] : 0.0f;
  vf vs = vsplat(sv), vb = vsplat(bv);
  float *op = j->out + p * g->oh * g->ow;
  for (long y = 0; y < g->oh; y++) {
    const float *src = acc + y * WP;
    float *dst = op + y * g->ow;
    long x = 0;
    for (; x + TT_VL <= g->ow; x += TT_VL) vstore(dst + x, act_v(vload(src + x) * vs + vb, j->act));
    for (; x < g->ow; x++) dst[x] = act_s(src[x] * sv + bv, j->act);
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
  long planes = g->n * g->c;
  if (tt_num_threads() > 1 && planes > 1) tt_parallel(planes, dw_plane_task, &j);
  else for (long p = 0; p < planes; p++) dw_plane_task(&j, p, 0);
}

/* ------------------------------------------------------------------------------------------------------------
 * Tap-wise convolution for dilated filters on maps not much larger than their reach (DeepLab's ASPP: 3×3 at
 * dilation 12, 24, 36 on a 32×32 map at output stride 8). There, most of the kh·kw taps read zero padding for
 * most outputs: tap (i, j) reads a real input pixel only for the outputs in one rectangle, and at dilation 24 on
 * 32×32 the rectangles cover a quarter of the dense work (a ninth at 36). The padded-width grid computes every tap
 * over every column of a grid 2·dilation wider than the map, and the im2col lowering keeps every tap that is live
 * anywhere, so both pay for the dead products. Here each live tap contributes only over its rectangle:
 *   out[:, rect] += W_t [oc × c] · X[:, rect shifted by the tap's offset]
 * A task owns a band of output rows of one image and accumulates every live tap into it before writing the band
 * once (tapwise_task): the GEMM reads each tap's input window in place, the weights are GEMM
 * panels per tap (packed once per model for inference, else once per call). It replaced one GEMM call per tap over
 * the whole map (a gather of the window, a GEMM that packed all of W_t again in each thread, and a pass adding the
 * result into the output — three barriers a tap), which ran ASPP's dilation 12 at half the FMA ceiling on 2 threads.
 * Stride 1, one group; the input gradient of such a convolution is the same
 * computation on the output gradient with flipped weights.
 * ---------------------------------------------------------------------------------------------------------- */

/* The outputs [y0, y1) × [x0, x1) for which tap (i, j) of a stride-1 convolution reads inside the input. */
typedef struct { long y0, y1, x0, x1, dy, dx; } tap_rect;

static tap_rect tapwise_rect(const cgeom *g, long i, long j) {
  tap_rect r;
  r.dy = i * g->dH - g->pH;
  r.dx = j * g->dW - g->pW;
  r.y0 = MAXI(0, -r.dy);
  r.y1 = MINI(g->oh, g->h - r.dy);
  r.x0 = MAXI(0, -r.dx);
  r.x1 = MINI(g->ow, g->w - r.dx);
  return r;
}

static int tapwise_rect_empty(const tap_rect *r) { return r->y0 >= r->y1 || r->x0 >= r->x1; }

/* Share of the dense work (every tap at every output) whose products read a real input pixel. */
static double tapwise_live_fraction(const cgeom *g) {
  double live = 0;
  for (long i = 0; i < g->kh; i++)
    for (long j = 0; j < g->kw; j++) {
      tap_rect r = tapwise_rect(g, i, j);
      if (!tapwise_rect_empty(&r)) live += (double)(r.y1 - r.y0) * (double)(r.x1 - r.x0);
    }
  return live / ((double)g->kh * g->kw * g->oh * g->ow);
}

/* Whether the planner sends a forward (or, swapped, input-gradient) convolution here: dilated, stride 1, one
 * group, channels enough for [oc × c] GEMMs, and at most three quarters of the dense work live (ASPP at dilation
 * 12 on 32×32 keeps 56 %, 24 keeps 25 %; DeepLab's backbone at dilation 2 and 4 keeps 92 % and 84 % and stays on
 * the padded-width grid, which wastes less than that there). */
static int tapwise_applies(const cgeom *g) {
  if (g->groups != 1 || g->sH != 1 || g->sW != 1 || (g->dH == 1 && g->dW == 1) || g->kh * g->kw < 2) return 0;
  if (g->c < 16 || g->oc < 8) return 0;
  return tapwise_live_fraction(g) <= 0.75;
}

static void tapwise_par(long n, tt_task_fn fn, void *ctx) {
  if (tt_num_threads() > 1 && n > 1) tt_parallel(n, fn, ctx);
  else for (long t = 0; t < n; t++) fn(ctx, t, 0);
}

/* The weights of the taps `taps[0..nlive)` as GEMM A panels, one set per tap: tap u's panel pi holds output
 * channels [pi·MR, pi·MR + MR) p-major over all c input channels (zero rows past oc), so a block of channels
 * [pc, pc + kc) of it is contiguous at pc·MR and feeds the micro-kernel as it lies. */
typedef struct {
  const cgeom *g;
  const float *w;
  float *dst;
  const int16_t *taps;
  long panels;
} tapwise_pack_job;

static long tapwise_panel_floats(const cgeom *g) { return MR * g->c; }

static void tapwise_pack_task(void *ctx, long t, int tid) {
  (void)tid;
  const tapwise_pack_job *j = ctx;
  long u = t / j->panels, pi = t % j->panels, C = j->g->c, OC = j->g->oc, khw = j->g->kh * j->g->kw;
  float *d = j->dst + (u * j->panels + pi) * tapwise_panel_floats(j->g);
  for (int i = 0; i < MR; i++) {
    long o = pi * MR + i;
    if (o >= OC) {
      for (long c = 0; c < C; c++) d[c * MR + i] = 0;
      continue;
    }
    const float *src = j->w + o * C * khw + j->taps[u];
    for (long c = 0; c < C; c++) d[c * MR + i] = src[c * khw];
  }
}

static void tapwise_pack_taps(const float *w, float *dst, const cgeom *g, const int16_t *taps, long nlive) {
  tapwise_pack_job j = { g, w, dst, taps, (g->oc + MR - 1) / MR };
  tapwise_par(nlive * j.panels, tapwise_pack_task, &j);
}

/* Floats of tapwise_pack's layout: every tap of the filter, in panels. */
static long tapwise_packed_floats(const cgeom *g) { return g->kh * g->kw * ((g->oc + MR - 1) / MR) * tapwise_panel_floats(g); }

/* Every tap's panels, once, for inference (conv2d_pack); tapwise_run then indexes them by tap. */
static void tapwise_pack(const float *w, float *packed, const cgeom *g) {
  int16_t taps[256];
  long khw = MINI(g->kh * g->kw, 256);
  for (long t = 0; t < khw; t++) taps[t] = (int16_t)t;
  tapwise_pack_taps(w, packed, g, taps, khw);
}

#ifndef TAP_BAND_PX
#define TAP_BAND_PX 256 /* outputs per task (whole rows) */
#endif
#ifndef TAP_KC
#define TAP_KC 256 /* input channels per block */
#endif

/* Output rows per task: a band of about TAP_BAND_PX outputs. At ASPP's 256 output channels its accumulator, one
 * tap's products, a block of the tap's weights (oc × TAP_KC) and of its input window (TAP_KC × band) are ~256 KB
 * each, about Zen 5's L2, and at 32 columns a band of 8 rows makes the 20- and 8-column rectangles of ASPP's taps
 * whole multiples of NR outputs. Measured on 2048→256 at 32² (AVX-512, 1 / 2 threads, ms): d12 36.7 / 21.4,
 * d24 14.3 / 9.3, d36 5.3 / 3.0 (KC 128 or 512, bands of 128 or 512 outputs: the same or slower). */
static long tapwise_band_rows(const cgeom *g) { return MAXI(1, MINI(g->oh, TAP_BAND_PX / MAXI(g->ow, 1))); }

typedef struct {
  const cgeom *g;
  const float *x, *bias, *scale;
  float *out;
  const float *a;        /* the weights' panels: of the live taps in the order of taps[], or of every tap */
  const int16_t *taps;   /* live tap indices (i·kw + j) */
  long nlive, panels, band_rows, bands;
  int act, every_tap;    /* every_tap: `a` holds every tap's panels (tapwise_pack), indexed by tap */
} tapwise_job;

static inline void tapwise_copy(float *restrict d, const float *restrict s, long n) {
  long i = 0;
  for (; i + TT_VL <= n; i += TT_VL) vstore(d + i, vload(s + i));
  for (; i < n; i++) d[i] = s[i];
}

static inline void tapwise_add(float *restrict d, const float *restrict s, long n) {
  long i = 0;
  for (; i + TT_VL <= n; i += TT_VL) vstore(d + i, vload(d + i) + vload(s + i));
  for (; i < n; i++) d[i] += s[i];
}

/* One (image, band of output rows). For each live tap, the band's outputs it reaches form a rectangle of P outputs;
 * per block of kc input channels its input window is copied row by row into win[kc][PP] (PP = P rounded up to NR),
 * and every NR outputs × MR output channels of tmp[oc][PP] (+)= the tap's weight panel · win's columns, reading win
 * in place (uk_indirect: no B packing). The tap's products are then added into the band's accumulator where its
 * rectangle lies, and after the last tap the epilogue writes the band. */
static void tapwise_task(void *ctx, long t, int tid) {
  const tapwise_job *j = ctx;
  const cgeom *g = j->g;
  long b = t / j->bands, by0 = (t % j->bands) * j->band_rows, by1 = MINI(g->oh, by0 + j->band_rows);
  long C = g->c, OC = g->oc, HW = g->h * g->w, OHW = g->oh * g->ow, ow = g->ow, BP = (by1 - by0) * ow;
  long PP = ROUNDUP(BP, NR), kcap = MINI(TAP_KC, C), OCR = j->panels * MR;
  const float *xb = j->x + b * C * HW;
  float *acc = tt_scratch(tid, SLOT_TMP, sizeof(float) * (OC * BP + OCR * PP));
  float *win = tt_scratch(tid, SLOT_PACK_B, sizeof(float) * kcap * PP);
  int32_t *boff = tt_scratch(tid, SLOT_COL, sizeof(int32_t) * kcap);
  if (!acc || !win || !boff) {
    /* no scratch memory: NaN, not whatever the output held */
    for (long o = 0; o < OC; o++)
      for (long q = 0; q < BP; q++) j->out[b * OC * OHW + o * OHW + by0 * ow + q] = __builtin_nanf("");
    return;
  }
  float *tmp = acc + OC * BP;
  memset(acc, 0, sizeof(float) * OC * BP);
  for (long u = 0; u < j->nlive; u++) {
    tap_rect r = tapwise_rect(g, j->taps[u] / g->kw, j->taps[u] % g->kw);
    long ry0 = MAXI(r.y0, by0), ry1 = MINI(r.y1, by1), rw = r.x1 - r.x0;
    if (ry0 >= ry1 || rw <= 0) continue;
    long P = (ry1 - ry0) * rw, pp = ROUNDUP(P, NR);
    for (long p = 0; p < kcap; p++) boff[p] = (int32_t)(p * pp);
    const float *au = j->a + (j->every_tap ? j->taps[u] : u) * j->panels * tapwise_panel_floats(g);
    for (long pc = 0; pc < C; pc += TAP_KC) {
      long kc = MINI(TAP_KC, C - pc);
      for (long p = 0; p < kc; p++) {
        const float *src = xb + (pc + p) * HW + (ry0 + r.dy) * g->w + r.x0 + r.dx;
        float *d = win + p * pp;
        /* rows copied inline (a libc call per 20-float run of ASPP's side taps cost more than a tenth of the
         * convolution) */
        for (long yy = 0; yy < ry1 - ry0; yy++) tapwise_copy(d + yy * rw, src + yy * g->w, rw);
        for (long q = P; q < pp; q++) d[q] = 0;
      }
      for (long q0 = 0; q0 < P; q0 += NR)
        for (long pi = 0; pi < j->panels; pi++)
          uk_indirect(kc, au + pi * tapwise_panel_floats(g) + pc * MR, 0, win + q0, boff, tmp + pi * MR * pp + q0,
                      pp, pc > 0);
    }
    for (long o = 0; o < OC; o++) {
      const float *src = tmp + o * pp;
      float *dst = acc + o * BP + (ry0 - by0) * ow + r.x0;
      for (long yy = 0; yy < ry1 - ry0; yy++) tapwise_add(dst + yy * ow, src + yy * rw, rw);
    }
  }
  /* epilogue: out[o, band] = act(scale[o]·acc + bias[o]) */
  for (long o = 0; o < OC; o++) {
    const float *src = acc + o * BP;
    float *dst = j->out + b * OC * OHW + o * OHW + by0 * ow;
    float bv = j->bias ? j->bias[o] : 0.0f, sv = j->scale ? j->scale[o] : 1.0f;
    vf vs = vsplat(sv), vb = vsplat(bv);
    long q = 0;
    for (; q + TT_VL <= BP; q += TT_VL) vstore(dst + q, act_v(vload(src + q) * vs + vb, j->act));
    for (; q < BP; q++) dst[q] = act_s(src[q] * sv + bv, j->act);
  }
}

/* Forward of a convolution tapwise_applies accepts; weights [oc, c, kh, kw] at w, packed per call into `wslot`
 * scratch for the live taps (the input gradient passes flipped weights that already sit in SH_WT), or given packed
 * for every tap (`packed`, tapwise_pack's layout; then w is not read). Tasks are (image, band of output rows), each
 * accumulating every live tap before writing its band once: no pass over the output per tap, no barrier between
 * taps, and the weights are packed once rather than by each GEMM call. */
static void tapwise_run(const float *x, const float *w, const float *packed, const float *bias, const float *scale,
                        float *out, const cgeom *g, int act, int wslot) {
  int16_t taps[256];
  long nlive = 0;
  for (long i = 0; i < g->kh; i++)
    for (long jx = 0; jx < g->kw; jx++) {
      tap_rect r = tapwise_rect(g, i, jx);
      if (tapwise_rect_empty(&r) || nlive >= 256) continue;
      taps[nlive++] = (int16_t)(i * g->kw + jx);
    }
  long panels = (g->oc + MR - 1) / MR;
  tapwise_job job = { .g = g, .x = x, .bias = bias, .scale = scale, .out = out, .taps = taps, .nlive = nlive,
                      .panels = panels, .act = act };
  if (packed) {
    job.a = packed;
    job.every_tap = 1;
  } else {
    float *a = tt_shared_scratch(wslot, sizeof(float) * (nlive ? nlive : 1) * panels * tapwise_panel_floats(g));
    if (!a) {
      /* no scratch memory: NaN, not whatever the output held */
      for (long q = 0; q < g->n * g->oc * g->oh * g->ow; q++) out[q] = __builtin_nanf("");
      return;
    }
    tapwise_pack_taps(w, a, g, taps, nlive);
    job.a = a;
  }
  job.band_rows = tapwise_band_rows(g);
  job.bands = (g->oh + job.band_rows - 1) / job.band_rows;
  tapwise_par(g->n * job.bands, tapwise_task, &job);
}

static void conv_fwd_tapwise(const float *x, const float *w, const float *bias, const float *scale, float *out, const cgeom *g, int act) {
  tapwise_run(x, w, 0, bias, scale, out, g, act, SH_WT);
}

/* The input-gradient geometry of a stride-1 convolution as a forward one: gx = conv(gy, flip(w)ᵀ) with padding
 * dil·(k − 1) − pad (non-negative when the caller checked it). */
static cgeom tapwise_swapped(const cgeom *g) {
  cgeom s = *g;
  s.c = g->oc; s.h = g->oh; s.w = g->ow;
  s.oc = g->c; s.oh = g->h; s.ow = g->w;
  s.pH = g->dH * (g->kh - 1) - g->pH;
  s.pW = g->dW * (g->kw - 1) - g->pW;
  return s;
}

static void conv_bwd_input_tapwise(const float *gy, const float *w, float *gx, const cgeom *g) {
  cgeom s = tapwise_swapped(g);
  tapwise_run(gy, conv_flip_weights(w, g), 0, 0, 0, gx, &s, ACT_NONE, SH_WPACK);
}

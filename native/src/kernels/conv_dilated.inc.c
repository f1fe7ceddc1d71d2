/* ------------------------------------------------------------------------------------------------------------
 * Tap-wise convolution for dilated filters on maps not much larger than their reach (DeepLab's ASPP: 3×3 at
 * dilation 12, 24, 36 on a 32×32 map at output stride 8). There, most of the kh·kw taps read zero padding for
 * most outputs: tap (i, j) reads a real input pixel only for the outputs in one rectangle, and at dilation 24 on
 * 32×32 the rectangles cover a quarter of the dense work (a ninth at 36). The padded-width grid computes every tap
 * over every column of a grid 2·dilation wider than the map, and the im2col lowering keeps every tap that is live
 * anywhere, so both pay for the dead products. Here each live tap is one GEMM over its rectangle only:
 *   out[:, rect] += W_t [oc × c] · X[:, rect shifted by the tap's offset]
 * Rectangles spanning whole rows (the taps of the centre column when the map keeps its width) read the image and
 * write the output in place; the others gather their window of the input (c × rect floats, a fraction of one
 * im2col column block) and add the GEMM's result into the output. The weights are transposed once per call into
 * one [oc, c] matrix per live tap. Stride 1, one group; the input gradient of such a convolution is the same
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

typedef struct {
  const cgeom *g;
  const float *x, *w, *bias, *scale;
  float *out, *wt, *win, *tmp;
  const int16_t *taps; /* live tap indices (i·kw + j) */
  long nlive;
  tap_rect r;
  int act;
} tapwise_job;

/* wt[u, o, c] = w[o, c, taps[u]] for output channel o = t. */
static void tapwise_wt_task(void *ctx, long o, int tid) {
  (void)tid;
  const tapwise_job *j = ctx;
  long C = j->g->c, OC = j->g->oc, khw = j->g->kh * j->g->kw;
  for (long c = 0; c < C; c++) {
    const float *src = j->w + (o * C + c) * khw;
    for (long u = 0; u < j->nlive; u++) j->wt[(u * OC + o) * C + c] = src[j->taps[u]];
  }
}

/* The tap's input window for channel c: win[c, yy·rw + xx] = x[c, y0 + dy + yy, x0 + dx + xx]. */
static void tapwise_gather_task(void *ctx, long c, int tid) {
  (void)tid;
  const tapwise_job *j = ctx;
  const tap_rect *r = &j->r;
  long rh = r->y1 - r->y0, rw = r->x1 - r->x0;
  const float *src = j->x + c * j->g->h * j->g->w + (r->y0 + r->dy) * j->g->w + r->x0 + r->dx;
  float *dst = j->win + c * rh * rw;
  for (long yy = 0; yy < rh; yy++) memcpy(dst + yy * rw, src + yy * j->g->w, sizeof(float) * rw);
}

/* out[o, rect] += tmp[o, :] for output channel o. */
static void tapwise_add_task(void *ctx, long o, int tid) {
  (void)tid;
  const tapwise_job *j = ctx;
  const tap_rect *r = &j->r;
  long rh = r->y1 - r->y0, rw = r->x1 - r->x0;
  const float *src = j->tmp + o * rh * rw;
  float *dst = j->out + o * j->g->oh * j->g->ow + r->y0 * j->g->ow + r->x0;
  for (long yy = 0; yy < rh; yy++)
    for (long xx = 0; xx < rw; xx++) dst[yy * j->g->ow + xx] += src[yy * rw + xx];
}

/* out[o] = act(scale[o]·out[o] + bias[o]) over one output channel's plane. */
static void tapwise_epilogue_task(void *ctx, long o, int tid) {
  (void)tid;
  const tapwise_job *j = ctx;
  long ohw = j->g->oh * j->g->ow;
  float *p = j->out + o * ohw;
  float bv = j->bias ? j->bias[o] : 0.0f, sv = j->scale ? j->scale[o] : 1.0f;
  for (long q = 0; q < ohw; q++) p[q] = act_s(p[q] * sv + bv, j->act);
}

/* wt[t, o, c] = w[o, c, t] for every tap t: the per-tap matrices of tapwise_run made once (conv2d_pack), for
 * inference. */
static void tapwise_pack(const float *w, float *wt, const cgeom *g) {
  int16_t taps[256];
  long khw = g->kh * g->kw;
  for (long t = 0; t < khw && t < 256; t++) taps[t] = (int16_t)t;
  tapwise_job job = { .g = g, .w = w, .wt = wt, .taps = taps, .nlive = MINI(khw, 256) };
  tapwise_par(g->oc, tapwise_wt_task, &job);
}

/* Forward of a convolution tapwise_applies accepts; weights [oc, c, kh, kw] at w, stored in `wslot` scratch
 * transposed per tap (the input gradient passes flipped weights that already sit in SH_WT), or given so already
 * for every tap (`packed`, tapwise_pack's layout; then w is not read). */
static void tapwise_run(const float *x, const float *w, const float *packed, const float *bias, const float *scale,
                        float *out, const cgeom *g, int act, int wslot) {
  long C = g->c, OC = g->oc, HW = g->h * g->w, OHW = g->oh * g->ow, khw = g->kh * g->kw;
  int16_t taps[256];
  long nlive = 0, maxrect = 0;
  for (long i = 0; i < g->kh; i++)
    for (long j = 0; j < g->kw; j++) {
      tap_rect r = tapwise_rect(g, i, j);
      if (tapwise_rect_empty(&r) || nlive >= 256) continue;
      taps[nlive++] = (int16_t)(i * g->kw + j);
      maxrect = MAXI(maxrect, (r.y1 - r.y0) * (r.x1 - r.x0));
    }
  tapwise_job job = { .g = g, .w = w, .bias = bias, .scale = scale, .taps = taps, .nlive = nlive, .act = act };
  job.win = tt_shared_scratch(SH_XPAD, sizeof(float) * (C * maxrect + 1));
  job.tmp = tt_shared_scratch(SH_GYPAD, sizeof(float) * (OC * maxrect + 1));
  if (!packed) {
    job.wt = tt_shared_scratch(wslot, sizeof(float) * (nlive ? nlive : 1) * OC * C);
    tapwise_par(OC, tapwise_wt_task, &job);
  }
  (void)khw;
  for (long b = 0; b < g->n; b++) {
    const float *xb = x + b * C * HW;
    float *ob = out + b * OC * OHW;
    memset(ob, 0, sizeof(float) * OC * OHW);
    job.x = xb;
    job.out = ob;
    for (long u = 0; u < nlive; u++) {
      tap_rect r = tapwise_rect(g, taps[u] / g->kw, taps[u] % g->kw);
      long rh = r.y1 - r.y0, rw = r.x1 - r.x0;
      const float *wu = packed ? packed + taps[u] * OC * C : job.wt + u * OC * C;
      if (rw == g->ow && rw == g->w) {
        /* whole rows (then dx = 0): the window is rows of the image, the result rows of the output */
        gemm_strided(OC, rh * rw, C, wu, C, 1, 0, xb + (r.y0 + r.dy) * g->w, HW, 1, 0, ob + r.y0 * g->ow, OHW, 0, 1, 1);
        continue;
      }
      job.r = r;
      tapwise_par(C, tapwise_gather_task, &job);
      gemm_strided(OC, rh * rw, C, wu, C, 1, 0, job.win, rh * rw, 1, 0, job.tmp, rh * rw, 0, 1, 0);
      tapwise_par(OC, tapwise_add_task, &job);
    }
    if (bias || scale || act != ACT_NONE) tapwise_par(OC, tapwise_epilogue_task, &job);
  }
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

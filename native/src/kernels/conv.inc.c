/* ------------------------------------------------------------------------------------------------------------
 * The three convolution entry points: each asks the planner (conv_plan.inc.c) for an algorithm and dispatches; the
 * algorithms live in conv_grid (padded width), conv_im2col (im2col), conv_depthwise, conv_pointwise (1×1),
 * conv_batched, conv_winograd, conv_dilated (tap-wise GEMMs),
 * conv_dense and conv_wgrad (weight-gradient GEMM and dot forms).
 * ---------------------------------------------------------------------------------------------------------- */
/* Whether a convolution has no output elements (or no input channels to sum): the algorithms divide by these
 * sizes, so the entry points handle empty geometries before planning (a zero-height output used to raise SIGFPE). */
static int conv_empty(const cgeom *g) {
  return g->n <= 0 || g->c <= 0 || g->oc <= 0 || g->oh <= 0 || g->ow <= 0 || g->h <= 0 || g->w <= 0 || g->kh <= 0 || g->kw <= 0;
}

/* out = act(out + res) in place, in parallel chunks: the residual of a fused block for the plans whose epilogue
 * does not take it (the pointwise plan adds it on each tile while it is in L1). The plan ran without its
 * activation, so this is the unfused block's order: (scale·conv + bias) + res, then act. */
typedef struct { float *out; const float *res; long n; int act; } resact_job;
#define RESACT_CHUNK 65536
static void resact_task(void *ctx, long t, int tid) {
  (void)tid;
  const resact_job *j = ctx;
  long i = t * RESACT_CHUNK, e = MINI(j->n, i + RESACT_CHUNK);
  float *o = j->out;
  const float *r = j->res;
  for (; i + TT_VL <= e; i += TT_VL) vstore(o + i, act_v(vload(o + i) + vload(r + i), j->act));
  for (; i < e; i++) o[i] = act_s(o[i] + r[i], j->act);
}
static void conv_residual_act(float *out, const float *res, const cgeom *g, int act) {
  resact_job j = { out, res, g->n * g->oc * g->oh * g->ow, act };
  long chunks = (j.n + RESACT_CHUNK - 1) / RESACT_CHUNK;
  if (tt_num_threads() > 1 && chunks > 1) tt_parallel(chunks, resact_task, &j);
  else for (long t = 0; t < chunks; t++) resact_task(&j, t, 0);
}

/* out = act(scale·(w ⊛ x) + bias + res); scale, bias and res may be NULL (1, 0, 0). */
static void op_conv2d(const float *x, const float *w, const float *bias, const float *scale, const float *res,
                      float *out, const int32_t *gi, int act) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) return; /* an empty output, or an empty sum that TypeScript never sends */
  int plan = conv_plan(&g, TT_CONV_FWD);
  if (plan == TT_PLAN_POINTWISE) {
    conv_fwd_pointwise(x, w, bias, scale, res, out, &g, act);
    return;
  }
  int a = res ? ACT_NONE : act; /* with a residual, the activation comes after its add */
  switch (plan) {
  case TT_PLAN_DEPTHWISE: conv_fwd_depthwise(x, w, bias, scale, out, &g, a); break;
  case TT_PLAN_DENSE: conv_fwd_dense(x, w, bias, scale, out, &g, a); break;
  case TT_PLAN_BATCHED: conv_fwd_batched(x, w, bias, scale, out, &g, a); break;
  case TT_PLAN_WINOGRAD:
    wino_conv(x, w, 0, bias, scale, out, g.n, g.c, g.h, g.w, g.oc, g.oh, g.ow, g.pH, g.pW, g.dH, g.dW, a);
    break;
  case TT_PLAN_PADDED_WIDTH: conv_fwd_padded_width(x, w, bias, scale, out, &g, a); break;
  case TT_PLAN_TAPWISE: conv_fwd_tapwise(x, w, bias, scale, out, &g, a); break;
  default: conv_fwd_im2col(x, w, bias, scale, out, &g, a); break;
  }
  if (res) conv_residual_act(out, res, &g, act);
}

/* Floats of the transformed weights conv2d_pack writes for g on this build (the layout is the packed plan's, and
 * Winograd's depends on the build's GEMM tile), 0 when the packed forward of g would not use any: Winograd's
 * filters in GEMM panels, or the tap-wise plan's per-tap weight panels (at ASPP's 2048→256 channels a per-call
 * transposition of 19 MB). */
static int op_conv2d_packed_size(const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) return 0;
  long floats;
  switch (conv_plan(&g, TT_CONV_FWD_PACKED)) {
  case TT_PLAN_WINOGRAD: floats = wino_packed_floats(g.oc, g.c); break;
  case TT_PLAN_TAPWISE: floats = g.kh * g.kw <= 256 ? tapwise_packed_floats(&g) : 0; break;
  default: return 0;
  }
  return floats <= INT32_MAX ? (int)floats : 0; /* a larger transform than an int counts is not worth caching */
}

/* packed = the weights w transformed for the packed forward of g (op_conv2d_packed_size floats). */
static void op_conv2d_pack(const float *w, float *packed, const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (op_conv2d_packed_size(gi) <= 0) return;
  if (conv_plan(&g, TT_CONV_FWD_PACKED) == TT_PLAN_WINOGRAD) wino_weights_panels(w, packed, g.oc, g.c);
  else tapwise_pack(w, packed, &g);
}

/* conv2d with the weights also given transformed (conv2d_pack of the same w, for a geometry with the same packed
 * plan — the caller checks): an inference forward that no longer pays the per-call weight transform, so the
 * planner's packed direction sends more geometries to Winograd. Other plans run op_conv2d on w. */
static void op_conv2d_packed(const float *x, const float *w, const float *packed, const float *bias, const float *scale,
                             const float *res, float *out, const int32_t *gi, int act) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) return;
  int a = res ? ACT_NONE : act;
  switch (conv_plan(&g, TT_CONV_FWD_PACKED)) {
  case TT_PLAN_WINOGRAD:
    wino_conv(x, w, packed, bias, scale, out, g.n, g.c, g.h, g.w, g.oc, g.oh, g.ow, g.pH, g.pW, g.dH, g.dW, a);
    break;
  case TT_PLAN_TAPWISE: tapwise_run(x, w, packed, bias, scale, out, &g, a, SH_WT); break;
  default: op_conv2d(x, w, bias, scale, res, out, gi, act); return;
  }
  if (res) conv_residual_act(out, res, &g, act);
}

static void op_conv2d_bwd_input(const float *gy, const float *w, float *gx, const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) {
    if (g.n > 0 && g.c > 0 && g.h > 0 && g.w > 0) memset(gx, 0, sizeof(float) * g.n * g.c * g.h * g.w);
    return;
  }
  switch (conv_plan(&g, TT_CONV_BWD_INPUT)) {
  case TT_PLAN_DENSE: conv_bwd_input_dense(gy, w, gx, &g); return;
  case TT_PLAN_BATCHED: conv_bwd_input_batched(gy, w, gx, &g); return;
  case TT_PLAN_WINOGRAD: {
    /* gx = conv(gy, flip(w)ᵀ) with complementary padding */
    long padT = g.dH * (g.kh - 1) - g.pH, padL = g.dW * (g.kw - 1) - g.pW;
    wino_conv(gy, conv_flip_weights(w, &g), 0, 0, 0, gx, g.n, g.oc, g.oh, g.ow, g.c, g.h, g.w, padT, padL, g.dH, g.dW, 0);
    return;
  }
  case TT_PLAN_PADDED_WIDTH: conv_bwd_input_padded_width(gy, conv_flip_weights(w, &g), gx, &g); return;
  case TT_PLAN_TAPWISE: conv_bwd_input_tapwise(gy, w, gx, &g); return;
  default: conv_bwd_input_im2col(gy, w, gx, &g); return;
  }
}

static void op_conv2d_bwd_weight(const float *x, const float *gy, float *gw, const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) {
    long wsize = g.groups > 0 && g.c > 0 ? (long)g.oc * (g.c / g.groups) * g.kh * g.kw : 0;
    if (wsize > 0) memset(gw, 0, sizeof(float) * wsize);
    return;
  }
  switch (conv_plan(&g, TT_CONV_BWD_WEIGHT)) {
  case TT_PLAN_DENSE: conv_bwd_weight_dense(x, gy, gw, &g); return;
  case TT_PLAN_BATCHED: conv_bwd_weight_batched(x, gy, gw, &g); return;
  case TT_PLAN_WINOGRAD: wino_conv_bwd_weight(x, gy, gw, g.n, g.c, g.h, g.w, g.oc, g.oh, g.ow, g.pH, g.pW); return;
  case TT_PLAN_WEIGHT_GEMM: conv_bwd_weight_gemm(x, gy, gw, &g); return;
  case TT_PLAN_DOT: conv_bwd_weight_dot(x, gy, gw, &g); return;
  default: conv_bwd_weight_im2col(x, gy, gw, &g); return;
  }
}

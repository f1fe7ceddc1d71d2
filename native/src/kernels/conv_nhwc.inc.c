/* ------------------------------------------------------------------------------------------------------------
 * Channels-last (NHWC) inference convolutions: the pointwise and depthwise layers of the MobileNets, which make up
 * all of their blocks. In NCHW a batch-1 pointwise convolution is a GEMM whose columns are the pixels of one map:
 * 7×7 maps fill 49 of 64 tile columns, and a depthwise convolution is one small plane per channel with padding and
 * stride handled at every plane's edges. In NHWC the pixels of the whole batch are the GEMM's rows (196, 3136 and
 * 12544 are multiples of the 14-row AVX-512 tile), the weights are packed once into NR-column panels, and the
 * epilogue (folded batch norm, activation, residual) runs along the channels of each row; a depthwise convolution
 * is one vector of channels per pixel and tap, the same work at every pixel (ONNX Runtime's NCHWc and XNNPACK's
 * NHWC kernels get their MobileNet speed the same way). x is [n, h, w, c], out [n, oh, ow, oc]; the weights are
 * packed by conv2d_nhwc_pack (pointwise: Wᵀ in NR-column panels; depthwise: [tap][channel]).
 * ---------------------------------------------------------------------------------------------------------- */
enum { NHWC_NONE, NHWC_POINTWISE, NHWC_DEPTHWISE };

static int nhwc_kind(const cgeom *g) {
  if (g->groups == 1 && g->kh == 1 && g->kw == 1 && g->sH == 1 && g->sW == 1 && g->pH == 0 && g->pW == 0 &&
      g->oh == g->h && g->ow == g->w)
    return NHWC_POINTWISE;
  if (g->groups > 1 && g->groups == g->c && g->oc == g->c) return NHWC_DEPTHWISE;
  return NHWC_NONE;
}

/* Pointwise panels: panel j holds columns [nhwc_panel_col(j), +NR) of Wᵀ (c rows of NR floats). The last panel
 * ends at oc (it overlaps the one before when NR does not divide oc); with oc < NR one zero-padded panel. */
static long nhwc_panels(long oc) { return oc <= NR ? 1 : (oc + NR - 1) / NR; }
static long nhwc_panel_col(long j, long oc) { return oc <= NR ? 0 : MINI(j * NR, oc - NR); }

static long nhwc_packed_floats(const cgeom *g) {
  switch (nhwc_kind(g)) {
  case NHWC_POINTWISE: return nhwc_panels(g->oc) * g->c * NR;
  case NHWC_DEPTHWISE: return g->kh * g->kw * g->c;
  default: return 0;
  }
}

static int op_conv2d_nhwc_packed_size(const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) return 0;
  long floats = nhwc_packed_floats(&g);
  return floats <= INT32_MAX ? (int)floats : 0;
}

static void op_conv2d_nhwc_pack(const float *w, float *packed, const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (op_conv2d_nhwc_packed_size(gi) <= 0) return;
  if (nhwc_kind(&g) == NHWC_POINTWISE) {
    long c = g.c, oc = g.oc;
    for (long j = 0; j < nhwc_panels(oc); j++) {
      long n0 = nhwc_panel_col(j, oc);
      float *p = packed + j * c * NR;
      for (long k = 0; k < c; k++)
        for (long q = 0; q < NR; q++) p[k * NR + q] = n0 + q < oc ? w[(n0 + q) * c + k] : 0.0f;
    }
    return;
  }
  long taps = g.kh * g.kw;
  for (long ch = 0; ch < g.c; ch++)
    for (long t = 0; t < taps; t++) packed[t * g.c + ch] = w[ch * taps + t];
}

typedef struct {
  const float *x, *wp, *bias, *scale, *res;
  float *out;
  long m, c, oc, tiles, tpc, chunks, pgroups, ppt;
  int act;
} nhwc_pw_job;

/* act(scale·t + bias + res) of rows [r0, mr) × columns [q0, NR) of the tile t (NR floats a row) into out at row m0,
 * column n0 (the columns past oc are the zero padding of a narrow panel: at most oc − n0 of them are written). */
static void nhwc_pw_store(const nhwc_pw_job *j, const float *t, long m0, long n0, int r0, int mr, int q0) {
  long oc = j->oc;
  int nq = (int)MINI(NR, oc - n0), act = j->act;
  const float *scale = j->scale ? j->scale + n0 : 0, *bias = j->bias ? j->bias + n0 : 0;
  for (int i = r0; i < mr; i++) {
    const float *src = t + i * NR;
    float *dst = j->out + (m0 + i) * oc + n0;
    const float *rr = j->res ? j->res + (m0 + i) * oc + n0 : 0;
    int q = q0;
    for (; q + TT_VL <= nq; q += TT_VL) {
      vf v = vload(src + q);
      if (scale) v *= vload(scale + q);
      if (bias) v += vload(bias + q);
      if (rr) v += vload(rr + q);
      vstore(dst + q, act_v(v, act));
    }
    for (; q < nq; q++) {
      float v = src[q];
      if (scale) v *= scale[q];
      if (bias) v += bias[q];
      if (rr) v += rr[q];
      dst[q] = act_s(v, act);
    }
  }
}

/* A full MR×NR tile with its epilogue applied in registers: act(acc·scale + bias (+ res)) stored straight into out
 * (rows ldo apart). At the expansions' sums of 16–24 channels a round trip through a scratch tile cost a third
 * of the tile's time. */
static void uk_nhwc_pw(long kc, const float *restrict a, long lda, const float *restrict b, float *restrict out,
                       long ldo, const float *scale, const float *bias, const float *res, int act) {
  vf cr[MR][TT_NV];
  UNROLL for (int i = 0; i < MR; i++) UNROLL for (int q = 0; q < TT_NV; q++) cr[i][q] = (vf){0};
  for (long p = 0; p < kc; p++) {
    vf bv[TT_NV];
    UNROLL for (int q = 0; q < TT_NV; q++) bv[q] = vload(b + q * TT_VL);
    UNROLL for (int i = 0; i < MR; i++) {
      vf av = vsplat(a[i * lda]);
      UNROLL for (int q = 0; q < TT_NV; q++) cr[i][q] = vfma(cr[i][q], av, bv[q]);
    }
    a += 1;
    b += NR;
  }
  vf sv[TT_NV], bb[TT_NV];
  UNROLL for (int q = 0; q < TT_NV; q++) {
    sv[q] = scale ? vload(scale + q * TT_VL) : vsplat(1.0f);
    bb[q] = bias ? vload(bias + q * TT_VL) : vsplat(0.0f);
  }
  UNROLL for (int i = 0; i < MR; i++) UNROLL for (int q = 0; q < TT_NV; q++) {
    vf v = cr[i][q] * sv[q] + bb[q];
    if (res) v += vload(res + i * ldo + q * TT_VL);
    vstore(out + i * ldo + q * TT_VL, act_v(v, act));
  }
}

/* One task: tiles [tc·tpc, …) of MR pixel rows against panels [pp·ppt, …). Full tiles store their epilogue from
 * registers; the last row tile (rows M − MR … M, its first rows already another tile's) and the last panel
 * (columns oc − NR … oc) recompute overlapping outputs in a scratch tile and write only their own, so every output
 * is written once, by one task. */
static void nhwc_pw_task(void *ctx, long t, int tid) {
  (void)tid;
  const nhwc_pw_job *j = ctx;
  long tc = t / j->pgroups, pp = t % j->pgroups;
  long t0 = tc * j->tpc, t1 = MINI(j->tiles, t0 + j->tpc);
  long p0 = pp * j->ppt, p1 = MINI(nhwc_panels(j->oc), p0 + j->ppt);
  float tile[MR * NR] __attribute__((aligned(64)));
  for (long p = p0; p < p1; p++) {
    long n0 = nhwc_panel_col(p, j->oc);
    int q0 = (int)(p * NR - n0); /* columns the panel before already wrote (0 but for an overlapping last panel) */
    const float *b = j->wp + p * j->c * NR;
    for (long ti = t0; ti < t1; ti++) {
      long m0 = ti * MR;
      int r0 = 0;
      if (m0 + MR > j->m) { /* the last tile ends at row M (M ≥ MR here) */
        r0 = (int)(m0 - (j->m - MR));
        m0 = j->m - MR;
      }
      if (r0 == 0 && q0 == 0 && n0 + NR <= j->oc) {
        long o = m0 * j->oc + n0;
        uk_nhwc_pw(j->c, j->x + m0 * j->c, j->c, b, j->out + o, j->oc, j->scale ? j->scale + n0 : 0,
                   j->bias ? j->bias + n0 : 0, j->res ? j->res + o : 0, j->act);
        continue;
      }
      uk_pw_rows(j->c, j->x + m0 * j->c, j->c, b, NR, tile, NR, 0);
      nhwc_pw_store(j, tile, m0, n0, r0, MR, q0);
    }
  }
}

static void nhwc_pointwise(const float *x, const float *wp, const float *bias, const float *scale, const float *res,
                           float *out, const cgeom *g, int act) {
  long m = g->n * g->h * g->w, c = g->c;
  if (m < MR) {
    /* fewer pixels than a tile has rows: through a zero-padded copy of them */
    float *xp = tt_shared_scratch(SH_XPAD, sizeof(float) * MR * c);
    memcpy(xp, x, sizeof(float) * m * c);
    memset(xp + m * c, 0, sizeof(float) * (MR - m) * c);
    float tile[MR * NR] __attribute__((aligned(64)));
    nhwc_pw_job j = { .bias = bias, .scale = scale, .res = res, .out = out, .m = m, .c = c, .oc = g->oc, .act = act };
    for (long p = 0; p < nhwc_panels(g->oc); p++) {
      long n0 = nhwc_panel_col(p, g->oc);
      uk_pw_rows(c, xp, c, wp + p * c * NR, NR, tile, NR, 0);
      nhwc_pw_store(&j, tile, 0, n0, 0, (int)m, (int)(p * NR - n0));
    }
    return;
  }
  nhwc_pw_job j = { .x = x, .wp = wp, .bias = bias, .scale = scale, .res = res, .out = out, .m = m, .c = c,
                    .oc = g->oc, .act = act };
  j.tiles = (m + MR - 1) / MR;
  /* a chunk of rows stays in L2 (~256 KB) while each panel passes over it */
  j.tpc = MAXI(1, 65536 / (MR * c));
  j.chunks = (j.tiles + j.tpc - 1) / j.tpc;
  long np = nhwc_panels(g->oc);
  int T = tt_num_threads();
  long groups = 1;
  /* too few row chunks to share out: split the panels too (7×7 maps at batch 1 are 4 tiles) */
  if (T > 1 && j.chunks < 4 * T) groups = MINI(np, (4 * T + j.chunks - 1) / j.chunks);
  j.ppt = (np + groups - 1) / groups;
  j.pgroups = (np + j.ppt - 1) / j.ppt;
  long tasks = j.chunks * j.pgroups;
  if (T > 1 && tasks > 1 && m * c * g->oc >= (1L << 16)) tt_parallel(tasks, nhwc_pw_task, &j);
  else
    for (long t = 0; t < tasks; t++) nhwc_pw_task(&j, t, 0);
}

typedef struct {
  const float *x, *wp, *bias, *scale;
  float *out;
  const cgeom *g;
  int act;
} nhwc_dw_job;

/* act(scale·v + bias) for channels [c0, c0 + TT_VL) */
static inline vf nhwc_dw_epi(const nhwc_dw_job *j, vf v, long c0) {
  if (j->scale) v *= vload(j->scale + c0);
  if (j->bias) v += vload(j->bias + c0);
  return act_v(v, j->act);
}

/* One output row of one image (task = b·oh + oy). Channel vectors start at 0, TT_VL, …, and the last at c − TT_VL
 * (overlapping the one before when TT_VL does not divide c: the same values written twice, nothing read back);
 * fewer channels than a vector run scalar. Four output pixels share each tap's weight vector where all their taps
 * are inside the image; the border pixels check each tap. */
static void nhwc_dw_task(void *ctx, long t, int tid) {
  (void)tid;
  const nhwc_dw_job *j = ctx;
  const cgeom *g = j->g;
  long c = g->c, oy = t % g->oh, b = t / g->oh, kw = g->kw;
  long ky0 = 0, ky1 = g->kh; /* kernel rows inside the image */
  long iy0 = oy * g->sH - g->pH;
  while (ky0 < ky1 && iy0 + ky0 * g->dH < 0) ky0++;
  while (ky1 > ky0 && iy0 + (ky1 - 1) * g->dH >= g->h) ky1--;
  /* output columns whose every tap is inside: [ox0, ox1) */
  long ox0 = g->pW > 0 ? (g->pW + g->sW - 1) / g->sW : 0;
  long span = (kw - 1) * g->dW; /* ix0 + span < w */
  long ox1 = g->w - 1 - span + g->pW >= 0 ? (g->w - 1 - span + g->pW) / g->sW + 1 : 0;
  ox0 = MINI(ox0, g->ow);
  ox1 = MAXI(ox0, MINI(ox1, g->ow));
  const float *xb = j->x + b * g->h * g->w * c;
  float *orow = j->out + (b * g->oh + oy) * g->ow * c;
  long xs = g->sW * c, nvec = c >= TT_VL ? (c + TT_VL - 1) / TT_VL : 0;
  for (long ox = 0; ox < g->ow;) {
    long ix0 = ox * g->sW - g->pW;
    if (nvec > 0 && ox >= ox0 && ox + 4 <= ox1) {
      for (long v = 0; v < nvec; v++) {
        long c0 = MINI(v * TT_VL, c - TT_VL);
        vf a0 = (vf){0}, a1 = (vf){0}, a2 = (vf){0}, a3 = (vf){0};
        for (long ky = ky0; ky < ky1; ky++) {
          const float *xr = xb + ((iy0 + ky * g->dH) * g->w + ix0) * c + c0;
          const float *wr = j->wp + ky * kw * c + c0;
          for (long kx = 0; kx < kw; kx++) {
            vf wv = vload(wr + kx * c);
            const float *p = xr + kx * g->dW * c;
            a0 = vfma(a0, wv, vload(p));
            a1 = vfma(a1, wv, vload(p + xs));
            a2 = vfma(a2, wv, vload(p + 2 * xs));
            a3 = vfma(a3, wv, vload(p + 3 * xs));
          }
        }
        float *o = orow + ox * c + c0;
        vstore(o, nhwc_dw_epi(j, a0, c0));
        vstore(o + c, nhwc_dw_epi(j, a1, c0));
        vstore(o + 2 * c, nhwc_dw_epi(j, a2, c0));
        vstore(o + 3 * c, nhwc_dw_epi(j, a3, c0));
      }
      ox += 4;
      continue;
    }
    /* one pixel, each tap checked */
    long kx0 = 0, kx1 = kw;
    while (kx0 < kx1 && ix0 + kx0 * g->dW < 0) kx0++;
    while (kx1 > kx0 && ix0 + (kx1 - 1) * g->dW >= g->w) kx1--;
    float *o = orow + ox * c;
    for (long v = 0; v < nvec; v++) {
      long c0 = MINI(v * TT_VL, c - TT_VL);
      vf a = (vf){0};
      for (long ky = ky0; ky < ky1; ky++) {
        const float *xr = xb + ((iy0 + ky * g->dH) * g->w + ix0) * c + c0;
        const float *wr = j->wp + ky * kw * c + c0;
        for (long kx = kx0; kx < kx1; kx++) a = vfma(a, vload(wr + kx * c), vload(xr + kx * g->dW * c));
      }
      vstore(o + c0, nhwc_dw_epi(j, a, c0));
    }
    if (nvec == 0)
      for (long ch = 0; ch < c; ch++) {
        float a = 0.0f;
        for (long ky = ky0; ky < ky1; ky++)
          for (long kx = kx0; kx < kx1; kx++)
            a += j->wp[(ky * kw + kx) * c + ch] * xb[((iy0 + ky * g->dH) * g->w + ix0 + kx * g->dW) * c + ch];
        if (j->scale) a *= j->scale[ch];
        if (j->bias) a += j->bias[ch];
        o[ch] = act_s(a, j->act);
      }
    ox++;
  }
}

static void nhwc_depthwise(const float *x, const float *wp, const float *bias, const float *scale, float *out,
                           const cgeom *g, int act) {
  nhwc_dw_job j = { .x = x, .wp = wp, .bias = bias, .scale = scale, .out = out, .g = g, .act = act };
  long tasks = g->n * g->oh;
  if (tt_num_threads() > 1 && tasks > 1 && tasks * g->ow * g->c * g->kh * g->kw >= (1L << 15))
    tt_parallel(tasks, nhwc_dw_task, &j);
  else
    for (long t = 0; t < tasks; t++) nhwc_dw_task(&j, t, 0);
}

/* out = act(scale ⊙ conv(x, w) + bias (+ res)) in NHWC, the weights as conv2d_nhwc_pack wrote them. Depthwise takes
 * no residual (the caller checks; no MobileNet adds one there). */
static void op_conv2d_nhwc(const float *x, const float *packed, const float *bias, const float *scale,
                           const float *res, float *out, const int32_t *gi, int act) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) return;
  switch (nhwc_kind(&g)) {
  case NHWC_POINTWISE: nhwc_pointwise(x, packed, bias, scale, res, out, &g, act); return;
  case NHWC_DEPTHWISE: nhwc_depthwise(x, packed, bias, scale, out, &g, act); return;
  default: return;
  }
}

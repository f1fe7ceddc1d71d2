/* ------------------------------------------------------------------------------------------------------------
 * Pooling (parallel over planes).
 * ---------------------------------------------------------------------------------------------------------- */
/* pgeom / parse_pg: generated into kernels.gen.h from native/kernels.table.mjs. */
typedef struct { pgeom g; const float *x; float *out; int32_t *idx; const float *gy; float *gx; int cip, div; } pool_job;



/* Taps [*lo, *hi) of a window of k taps d apart starting at i0 that fall inside [0, n) (none: *lo ≥ *hi). */
static inline void window_taps(long i0, long k, long d, long n, long *lo, long *hi) {
  *lo = i0 >= 0 ? 0 : (-i0 + d - 1) / d;
  *hi = i0 > n - 1 ? 0 : MINI(k, (n - 1 - i0) / d + 1);
}

/* The running max takes v when v is larger, or v is NaN and the max is not yet (the first NaN wins, as PyTorch). */
#define MAX_TAKE(v, best) ((v) > (best) || ((v) != (v) && (best) == (best)))

/* MAX_TAKE on vectors: the lanes where the running max takes v. */
static inline vi vtake(vf best, vf v) { return (vi)((v > best) | ((v != v) & (best == best))); }
/* The running max after seeing v … */
static inline vf vmax_take(vf best, vf v) { return vsel(vtake(best, v), v, best); }
/* … and with the argmax: lanes that take v take its flat index `at` too. */
static inline void vmax_take_at(vf *best, vi *bi, vf v, vi at) {
  vi t = vtake(*best, v);
  *best = vsel(t, v, *best);
  *bi = (t & at) | (~t & *bi);
}

/* Up to TT_VL outputs of a 2×2 / stride-2 row pair starting at output xo, with vector selects: a full vector reads
 * its taps deinterleaved; a shorter one (n valid lanes, the others repeating the last, so nothing past the row is
 * read) gathers them. */
static inline void maxpool2x2_vec(const float *r0, const float *r1, long xo, long n, int32_t base, int32_t w, float *orow,
                                  int32_t *irow) {
  vf t00, t01, t10, t11; /* the window's taps (row, column) for n outputs */
  if (n == TT_VL) {
    load_deinterleaved(r0 + 2 * xo, &t00, &t01);
    load_deinterleaved(r1 + 2 * xo, &t10, &t11);
  } else {
    t00 = vgather_n(r0 + 2 * xo, 2, n);
    t01 = vgather_n(r0 + 2 * xo + 1, 2, n);
    t10 = vgather_n(r1 + 2 * xo, 2, n);
    t11 = vgather_n(r1 + 2 * xo + 1, 2, n);
  }
  vf best = t00;
  if (!irow) {
    best = vmax_take(vmax_take(vmax_take(best, t01), t10), t11);
    if (n == TT_VL) vstore(orow + xo, best);
    else for (long l = 0; l < n; l++) orow[xo + l] = best[l];
    return;
  }
  vi even; /* flat index of each lane's top-left tap */
  UNROLL for (int l = 0; l < TT_VL; l++) even[l] = 2 * (l < n ? l : (int)n - 1);
  even += base + (int32_t)(2 * xo);
  vi bi = even;
  vmax_take_at(&best, &bi, t01, even + 1);
  vmax_take_at(&best, &bi, t10, even + w);
  vmax_take_at(&best, &bi, t11, even + (w + 1));
  if (n == TT_VL) {
    vstore(orow + xo, best);
    memcpy(irow + xo, &bi, sizeof bi);
  } else {
    for (long l = 0; l < n; l++) { orow[xo + l] = best[l]; irow[xo + l] = bi[l]; }
  }
}

/* 2×2 windows, stride 2, no padding (the classic CNN pool), branch-free (a branch per tap mispredicts on real data). */
static void maxpool2x2_plane(const float *xp, float *op, int32_t *ip, const pgeom *g) {
  for (long y = 0; y < g->oh; y++) {
    const float *r0 = xp + 2 * y * g->w, *r1 = r0 + g->w;
    float *orow = op + y * g->ow;
    int32_t *irow = ip ? ip + y * g->ow : NULL;
    int32_t base = (int32_t)(2 * y * g->w), w = (int32_t)g->w;
    long xo = 0;
    for (; xo + TT_VL <= g->ow; xo += TT_VL) maxpool2x2_vec(r0, r1, xo, TT_VL, base, w, orow, irow);
    if (xo < g->ow) maxpool2x2_vec(r0, r1, xo, g->ow - xo, base, w, orow, irow);
  }
}

/* Values only (inference), any window: separable. For each output row, the element-wise max of the window's rows
 * (contiguous, vectorised), then the max along x over that row framed by -inf where the padding is. The max is
 * order-free here (a NaN anywhere wins), so taking rows before columns gives the values the tap order gives. */
static void maxpool_values_plane(const float *xp, float *op, const pgeom *g, int tid) {
  long left = g->pW, span = (g->ow - 1) * g->sW + (g->kw - 1) * g->dW + 1; /* columns -pW … span−pW−1 */
  long cw = MAXI(0, MINI(g->w, span - left));                             /* image columns any window reads */
  long tlen = span + TT_VL * g->sW; /* the last vector of outputs may read past span: -inf there */
  float *t = tt_scratch(tid, SLOT_TMP, sizeof(float) * tlen);
  const float ninf = -__builtin_inff();
  for (long c = 0; c < tlen; c++) t[c] = ninf;
  float *mid = t + left;
  for (long y = 0; y < g->oh; y++) {
    long iy0 = y * g->sH - g->pH;
    long ilo, ihi;
    window_taps(iy0, g->kh, g->dH, g->h, &ilo, &ihi);
    float *orow = op + y * g->ow;
    if (ilo >= ihi) { for (long xo = 0; xo < g->ow; xo++) orow[xo] = ninf; continue; }
    memcpy(mid, xp + (iy0 + ilo * g->dH) * g->w, sizeof(float) * cw);
    for (long i = ilo + 1; i < ihi; i++) {
      const float *r = xp + (iy0 + i * g->dH) * g->w;
      long c = 0;
      for (; c + TT_VL <= cw; c += TT_VL) vstore(mid + c, vmax_take(vload(mid + c), vload(r + c)));
      for (; c < cw; c++) mid[c] = MAX_TAKE(r[c], mid[c]) ? r[c] : mid[c];
    }
    /* along x: lanes gathered at stride sW, so the selects stay vector selects (a scalar select becomes a branch) */
    for (long xo = 0; xo < g->ow; xo += TT_VL) {
      const float *w0 = t + xo * g->sW;
      vf best = vgather(w0, g->sW);
      for (long jj = 1; jj < g->kw; jj++) best = vmax_take(best, vgather(w0 + jj * g->dW, g->sW));
      if (xo + TT_VL <= g->ow) vstore(orow + xo, best);
      else for (long l = 0; l < g->ow - xo; l++) orow[xo + l] = best[l];
    }
  }
}

/* One output with indices whose window is clipped (or empty: -inf and index -1) by the image border. */
static void maxpool_border(const float *xp, const pgeom *g, long iy0, long ilo, long ihi, long xo, float *orow, int32_t *irow) {
  long ix0 = xo * g->sW - g->pW;
  long jlo, jhi;
  window_taps(ix0, g->kw, g->dW, g->w, &jlo, &jhi);
  float best = -__builtin_inff();
  long bi = -1;
  for (long i = ilo; i < ihi; i++) {
    const float *row = xp + (iy0 + i * g->dH) * g->w;
    for (long jj = jlo; jj < jhi; jj++) {
      long ix = ix0 + jj * g->dW;
      float v = row[ix];
      if (bi < 0 || MAX_TAKE(v, best)) { best = v; bi = (iy0 + i * g->dH) * g->w + ix; }
    }
  }
  orow[xo] = best;
  irow[xo] = (int32_t)bi;
}

static void maxpool_task(void *ctx, long p, int tid) {
  const pool_job *j = ctx;
  const pgeom *g = &j->g;
  const float *xp = j->x + p * g->h * g->w;
  float *op = j->out + p * g->oh * g->ow;
  int32_t *ip = j->idx ? j->idx + p * g->oh * g->ow : NULL; /* NULL: values only (inference) */
  if (g->kh == 2 && g->kw == 2 && g->sH == 2 && g->sW == 2 && g->pH == 0 && g->pW == 0 && g->dH == 1 && g->dW == 1 &&
      2 * g->oh <= g->h && 2 * g->ow <= g->w) {
    maxpool2x2_plane(xp, op, ip, g);
    return;
  }
  if (!ip) {
    maxpool_values_plane(xp, op, g, tid);
    return;
  }
  /* Outputs whose window lies inside the image along x: [xlo, xhi). There a vector of outputs runs at once (the
   * last one clamped) from gathered taps, with vector selects for value and index; the border outputs clip their
   * tap ranges. */
  long xlo = MINI(g->ow, (g->pW + g->sW - 1) / g->sW);
  long reach = (g->kw - 1) * g->dW;
  long xhi = g->w - 1 - reach + g->pW < 0 ? 0 : (g->w - 1 - reach + g->pW) / g->sW + 1;
  xhi = MAXI(xlo, MINI(xhi, g->ow));
  for (long y = 0; y < g->oh; y++) {
    long iy0 = y * g->sH - g->pH;
    /* taps inside the image: iy0 + i·dH ∈ [0, h) */
    long ilo, ihi;
    window_taps(iy0, g->kh, g->dH, g->h, &ilo, &ihi);
    float *orow = op + y * g->ow;
    int32_t *irow = ip + y * g->ow;
    long xo = 0;
    if (ilo < ihi) {
      for (; xo < xlo; xo++) maxpool_border(xp, g, iy0, ilo, ihi, xo, orow, irow);
      for (; xo < xhi; xo += TT_VL) {
        long n = MINI(TT_VL, xhi - xo), ix0 = xo * g->sW - g->pW;
        vi lane;
        UNROLL for (int l = 0; l < TT_VL; l++) lane[l] = (l < n ? l : (int32_t)n - 1) * (int32_t)g->sW;
        vf best = vsplat(-__builtin_inff());
        vi bi = lane + (int32_t)((iy0 + ilo * g->dH) * g->w + ix0);
        for (long i = ilo; i < ihi; i++) {
          long rbase = (iy0 + i * g->dH) * g->w + ix0;
          for (long jj = 0; jj < g->kw; jj++)
            vmax_take_at(&best, &bi, vgather_n(xp + rbase + jj * g->dW, g->sW, n), lane + (int32_t)(rbase + jj * g->dW));
        }
        for (long l = 0; l < n; l++) { orow[xo + l] = best[l]; irow[xo + l] = bi[l]; }
      }
      xo = xhi; /* the last vector may have stepped past it */
    }
    for (; xo < g->ow; xo++) maxpool_border(xp, g, iy0, ilo, ihi, xo, orow, irow);
  }
}

static void op_max_pool2d(const float *x, float *out, int32_t *idx, const int32_t *gi) {
  pool_job j = { parse_pg(gi), x, out, idx };
  long planes = j.g.n * j.g.c;
  par_rows(planes, j.g.h * j.g.w, maxpool_task, &j);
}

typedef struct { const float *gy; const int32_t *idx; float *gx; long in_plane, out_plane; } maxpool_bwd_job;

static void maxpool_bwd_task(void *ctx, long p, int tid) {
  (void)tid;
  const maxpool_bwd_job *j = ctx;
  float *g = j->gx + p * j->in_plane;
  const float *s = j->gy + p * j->out_plane;
  const int32_t *ip = j->idx + p * j->out_plane;
  memset(g, 0, sizeof(float) * j->in_plane);
  for (long k = 0; k < j->out_plane; k++) if (ip[k] >= 0) g[ip[k]] += s[k];
}

static void op_max_pool2d_bwd(const float *gy, const int32_t *idx, float *gx, long planes, long in_plane, long out_plane) {
  maxpool_bwd_job j = { gy, idx, gx, in_plane, out_plane };
  par_rows(planes, in_plane, maxpool_bwd_task, &j);
}

static inline void avg_window(const pgeom *g, long y, long xo, int cip, int divisor, long *y0, long *x0, long *y1, long *x1, float *inv) {
  long a0 = y * g->sH - g->pH, b0 = xo * g->sW - g->pW;
  long a1 = MINI(a0 + g->kh, g->h + g->pH), b1 = MINI(b0 + g->kw, g->w + g->pW);
  long pool = (a1 - a0) * (b1 - b0);
  a0 = MAXI(a0, 0); b0 = MAXI(b0, 0); a1 = MINI(a1, g->h); b1 = MINI(b1, g->w);
  long dv = divisor != 0 ? divisor : cip ? pool : (a1 - a0) * (b1 - b0);
  *y0 = a0; *x0 = b0; *y1 = a1; *x1 = b1; *inv = (float)dv;
}

static void avgpool_task(void *ctx, long p, int tid) {
  (void)tid;
  const pool_job *j = ctx;
  const pgeom *g = &j->g;
  const float *xp = j->x + p * g->h * g->w;
  float *op = j->out + p * g->oh * g->ow;
  for (long y = 0; y < g->oh; y++)
    for (long xo = 0; xo < g->ow; xo++) {
      long y0, x0, y1, x1; float dv;
      avg_window(g, y, xo, j->cip, j->div, &y0, &x0, &y1, &x1, &dv);
      float s = 0;
      for (long iy = y0; iy < y1; iy++) for (long ix = x0; ix < x1; ix++) s += xp[iy * g->w + ix];
      op[y * g->ow + xo] = s / dv;
    }
}

static void avgpool_bwd_task(void *ctx, long p, int tid) {
  (void)tid;
  const pool_job *j = ctx;
  const pgeom *g = &j->g;
  float *gp = j->gx + p * g->h * g->w;
  const float *sp = j->gy + p * g->oh * g->ow;
  memset(gp, 0, sizeof(float) * g->h * g->w);
  for (long y = 0; y < g->oh; y++)
    for (long xo = 0; xo < g->ow; xo++) {
      long y0, x0, y1, x1; float dv;
      avg_window(g, y, xo, j->cip, j->div, &y0, &x0, &y1, &x1, &dv);
      float v = sp[y * g->ow + xo] / dv;
      for (long iy = y0; iy < y1; iy++) for (long ix = x0; ix < x1; ix++) gp[iy * g->w + ix] += v;
    }
}

static void op_avg_pool2d(const float *x, float *out, const int32_t *gi, int cip, int div) {
  pool_job j = { parse_pg(gi), x, out, 0, 0, 0, cip, div };
  long planes = j.g.n * j.g.c;
  par_rows(planes, j.g.h * j.g.w, avgpool_task, &j);
}

static void op_avg_pool2d_bwd(const float *gy, float *gx, const int32_t *gi, int cip, int div) {
  pool_job j = { parse_pg(gi), 0, 0, 0, gy, gx, cip, div };
  long planes = j.g.n * j.g.c;
  par_rows(planes, j.g.h * j.g.w, avgpool_bwd_task, &j);
}

/* Max pooling channels last (the channels-last ResNet program's 3×3 / 2 after its stem): out [n, oh, ow, c] from
 * x [n, h, w, c], one vector of channels per pixel and tap — the same running max as op_max_pool2d's (NaN taken),
 * no indices (inference). A task is one output row; each pixel's window is clipped to the image once. Channel
 * vectors start at 0, TT_VL, …, the last at c − TT_VL (overlapping the one before); fewer channels than a vector
 * run scalar. */
#define POOL_NV 4
static void maxpool_nhwc_task(void *ctx, long t, int tid) {
  (void)tid;
  const pool_job *j = ctx;
  const pgeom *g = &j->g;
  long c = g->c, b = t / g->oh, oy = t % g->oh, iy0 = oy * g->sH - g->pH;
  long ky0, ky1, kx0, kx1; /* kernel rows and columns inside the image */
  window_taps(iy0, g->kh, g->dH, g->h, &ky0, &ky1);
  const float *xb = j->x + b * g->h * g->w * c;
  float *orow = j->out + t * g->ow * c;
  for (long ox = 0; ox < g->ow; ox++) {
    long ix0 = ox * g->sW - g->pW;
    window_taps(ix0, g->kw, g->dW, g->w, &kx0, &kx1);
    float *o = orow + ox * c;
    if (c >= TT_VL) {
      long ch = 0;
      /* POOL_NV vectors at once: each running max is a chain of compare-and-select, several cycles a tap, so one
       * vector of channels at a time left the core waiting (3×3 / 2 on 64 channels at 112², one thread: 0.31 → 0.15 ms) */
      for (; ch + POOL_NV * TT_VL <= c; ch += POOL_NV * TT_VL) {
        vf best[POOL_NV];
        vi nan[POOL_NV];
        UNROLL for (int q = 0; q < POOL_NV; q++) best[q] = vsplat(-__builtin_inff()), nan[q] = (vi){0};
        for (long ky = ky0; ky < ky1; ky++)
          for (long kx = kx0; kx < kx1; kx++) {
            const float *p = xb + ((iy0 + ky * g->dH) * g->w + ix0 + kx * g->dW) * c + ch;
            UNROLL for (int q = 0; q < POOL_NV; q++) {
              vf v = vload(p + q * TT_VL);
              nan[q] |= (vi)(v != v);
              best[q] = vsel((vi)(v > best[q]), v, best[q]); /* a plain max instruction: NaN kept aside */
            }
          }
        UNROLL for (int q = 0; q < POOL_NV; q++) vstore(o + ch + q * TT_VL, vsel(nan[q], vsplat(__builtin_nanf("")), best[q]));
      }
      for (; ch < c; ch += TT_VL) {
        long c0 = MINI(ch, c - TT_VL);
        vf best = vsplat(-__builtin_inff());
        for (long ky = ky0; ky < ky1; ky++)
          for (long kx = kx0; kx < kx1; kx++)
            best = vmax_take(best, vload(xb + ((iy0 + ky * g->dH) * g->w + ix0 + kx * g->dW) * c + c0));
        vstore(o + c0, best);
      }
    } else
      for (long ch = 0; ch < c; ch++) {
        float best = -__builtin_inff();
        for (long ky = ky0; ky < ky1; ky++)
          for (long kx = kx0; kx < kx1; kx++) {
            float v = xb[((iy0 + ky * g->dH) * g->w + ix0 + kx * g->dW) * c + ch];
            if (MAX_TAKE(v, best)) best = v;
          }
        o[ch] = best;
      }
  }
}

static void op_max_pool2d_nhwc(const float *x, float *out, const int32_t *gi) {
  pool_job j = { parse_pg(gi), x, out, 0 };
  par_rows(j.g.n * j.g.oh, j.g.ow * j.g.c * j.g.kh * j.g.kw, maxpool_nhwc_task, &j);
}

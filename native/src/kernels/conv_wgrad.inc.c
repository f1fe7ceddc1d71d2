
/* Weight gradient, stride 1: gw[o, p] = Σ_b Σ_s gy'[b, o, s] · xpad[b, off[p] + s] over padded-width columns s,
 * with gy' zero in the dropped columns. Both operands are contiguous along s, so a dot-product micro-kernel
 * (vectors along s, a TT_DMR×TT_DNR block of outputs) reads them in place. */
static void dot_kernel(long len, const float *const *ar, const float *const *br, float *res) {
  vf acc[TT_DMR][TT_DNR];
  UNROLL for (int i = 0; i < TT_DMR; i++) UNROLL for (int j = 0; j < TT_DNR; j++) acc[i][j] = (vf){0};
  for (long s = 0; s < len; s += TT_VL) {
    vf bv[TT_DNR];
    UNROLL for (int j = 0; j < TT_DNR; j++) bv[j] = vload(br[j] + s);
    UNROLL for (int i = 0; i < TT_DMR; i++) {
      vf av = vload(ar[i] + s);
      UNROLL for (int j = 0; j < TT_DNR; j++) acc[i][j] = vfma(acc[i][j], av, bv[j]);
    }
  }
  UNROLL for (int i = 0; i < TT_DMR; i++) UNROLL for (int j = 0; j < TT_DNR; j++) res[i * TT_DNR + j] = hsum(acc[i][j]);
}

#ifndef TAP9_SCHUNK
#define TAP9_SCHUNK 4096
#endif
#ifdef TT_TAP9
/* 3×3 filters: the nine taps of one channel read three rows of xpad at shifts of 0/1/2, so a 3×9 tile of
 * (output channel × tap) outputs needs only three gy rows and three (L1-resident) xpad rows per step. */
static void dot_kernel_tap9(long len, const float *const *ar, const float *x0, long WP, long dil_h, long dil_w, float *res) {
  vf acc[3][9];
  UNROLL for (int i = 0; i < 3; i++) UNROLL for (int j = 0; j < 9; j++) acc[i][j] = (vf){0};
  const float *a0 = ar[0], *a1 = ar[1], *a2 = ar[2];
  for (long s = 0; s < len; s += TT_VL) {
    vf av0 = vload(a0 + s), av1 = vload(a1 + s), av2 = vload(a2 + s);
    UNROLL for (int j = 0; j < 9; j++) {
      vf bv = vload(x0 + (j / 3) * dil_h * WP + (j % 3) * dil_w + s);
      acc[0][j] = vfma(acc[0][j], av0, bv);
      acc[1][j] = vfma(acc[1][j], av1, bv);
      acc[2][j] = vfma(acc[2][j], av2, bv);
    }
  }
  UNROLL for (int i = 0; i < 3; i++) UNROLL for (int j = 0; j < 9; j++) res[i * 9 + j] = hsum(acc[i][j]);
}
#endif

typedef struct {
  dconv d;
  const float *gy;
  float *gyp, *gw;
  long NpR, pchunk, npch, ochunk, noch;
} wgrad_job;

static void wgrad_pad_task(void *ctx, long b, int tid) {
  (void)tid;
  const wgrad_job *j = ctx;
  const dconv *d = &j->d;
  grid_pad(d, d->x + b * d->cin * d->h * d->w, d->xpad + b * d->imgP);
  for (long o = 0; o < d->cout; o++) {
    const float *s = j->gy + (b * d->cout + o) * d->oh * d->ow;
    float *t = j->gyp + (b * d->cout + o) * j->NpR;
    for (long y = 0; y < d->oh; y++) {
      memcpy(t + y * d->WP, s + y * d->ow, sizeof(float) * d->ow);
      if (d->WP > d->ow) memset(t + y * d->WP + d->ow, 0, sizeof(float) * (d->WP - d->ow));
    }
    if (j->NpR > d->Np) memset(t + d->Np, 0, sizeof(float) * (j->NpR - d->Np));
  }
}

#define WG_SCHUNK 1024

static void wgrad_task(void *ctx, long t, int tid) {
  (void)tid;
  const wgrad_job *j = ctx;
  const dconv *d = &j->d;
  long oq = t % j->noch;
  t /= j->noch;
  long gr = t / j->npch, pc = t % j->npch;
  long p0 = pc * j->pchunk, p1 = MINI(d->kdim, p0 + j->pchunk);
  long o0 = oq * j->ochunk, o1 = MINI(d->ocg, o0 + j->ochunk);
  if (p0 >= p1 || o0 >= o1) return;
  long kdim = d->kdim;
  float *gwg = j->gw + gr * d->ocg * kdim;
  for (long o = o0; o < o1; o++) memset(gwg + o * kdim + p0, 0, sizeof(float) * (p1 - p0));
  float res[TT_DMR * TT_DNR];
  const float *ar[TT_DMR], *br[TT_DNR];
#ifdef TT_TAP9
  if (d->kh == 3 && d->kw == 3 && p0 % 9 == 0 && (p1 % 9 == 0 || p1 == kdim)) {
    float r9[27];
    for (long b = 0; b < d->n; b++) {
      const float *xb = d->xpad + b * d->imgP + gr * d->cg * d->planeP;
      const float *gb = j->gyp + (b * d->cout + gr * d->ocg) * j->NpR;
      /* s in chunks, so one channel's xpad rows and three gy rows stay in L1 across the output-channel tiles */
      for (long sc = 0; sc < j->NpR; sc += TAP9_SCHUNK)
      for (long c = p0 / 9; c < p1 / 9; c++) {
        long len = MINI(TAP9_SCHUNK, j->NpR - sc);
        for (long ot = o0; ot < o1; ot += 3) {
          int mr = (int)MINI(3, o1 - ot);
          for (int q = 0; q < 3; q++) ar[q] = gb + (ot + (q < mr ? q : 0)) * j->NpR + sc;
          dot_kernel_tap9(len, ar, xb + c * d->planeP + sc, d->WP, d->dilH, d->dilW, r9);
          for (int q = 0; q < mr; q++)
            for (int r = 0; r < 9; r++) gwg[(ot + q) * kdim + c * 9 + r] += r9[q * 9 + r];
        }
      }
    }
    return;
  }
#endif
  for (long b = 0; b < d->n; b++) {
    const float *xb = d->xpad + b * d->imgP + gr * d->cg * d->planeP;
    const float *gb = j->gyp + (b * d->cout + gr * d->ocg) * j->NpR;
    for (long sc = 0; sc < j->NpR; sc += WG_SCHUNK) {
      long len = MINI(WG_SCHUNK, j->NpR - sc);
      for (long pt = p0; pt < p1; pt += TT_DNR) {
        int nr = (int)MINI(TT_DNR, p1 - pt);
        for (int q = 0; q < TT_DNR; q++) br[q] = xb + d->offs[pt + (q < nr ? q : 0)] + sc;
        for (long ot = o0; ot < o1; ot += TT_DMR) {
          int mr = (int)MINI(TT_DMR, o1 - ot);
          for (int q = 0; q < TT_DMR; q++) ar[q] = gb + (ot + (q < mr ? q : 0)) * j->NpR + sc;
          dot_kernel(len, ar, br, res);
          for (int q = 0; q < mr; q++)
            for (int r = 0; r < nr; r++) gwg[(ot + q) * kdim + pt + r] += res[q * TT_DNR + r];
        }
      }
    }
  }
}


/* Weight gradient, stride 1, as a packed GEMM over the padded-width grid:
 *   gwᵀ[p, o] = Σ_b Σ_s xpad_b[off[p] + s] · gy'_b[o, s]      (s = y·WP + x, gy' zero where x ≥ ow)
 * A's rows (taps) are read in place from the padded image through MR row pointers; B is gy repacked per image into
 * NR-wide panels of output channels, so the outer-product micro-kernel runs at full width (the dot-product form
 * above needs a horizontal sum per output and more loads per FMA). Threads split the taps; images go in chunks. */
#define WGEMM_PACK_FLOATS (4L << 20)

typedef struct {
  dconv d;
  const float *gy;
  float *bpack, *gwt;
  long npan, ocgR, mtiles, mchunk, b0, nb;
} wgemm_job;

static void wgemm_pack_task(void *ctx, long bl, int tid) {
  (void)tid;
  const wgemm_job *j = ctx;
  const dconv *d = &j->d;
  long b = j->b0 + bl, ohw = d->oh * d->ow;
  grid_pad(d, d->x + b * d->cin * d->h * d->w, d->xpad + bl * d->imgP);
  for (long jp = 0; jp < j->npan; jp++) {
    float *dst = j->bpack + (bl * j->npan + jp) * d->Np * NR;
    long o0 = jp * NR, nr = MINI(NR, d->cout - o0);
    const float *src = j->gy + (b * d->cout + o0) * ohw;
    for (long y = 0; y < d->oh; y++)
      for (long x = 0; x < d->WP; x++) {
        float *t = dst + (y * d->WP + x) * NR;
        if (x < d->ow && nr == NR) { UNROLL for (int q = 0; q < NR; q++) t[q] = src[q * ohw + y * d->ow + x]; }
        else if (x < d->ow) { for (int q = 0; q < NR; q++) t[q] = q < nr ? src[q * ohw + y * d->ow + x] : 0.0f; }
        else memset(t, 0, sizeof(float) * NR);
      }
  }
}

static void wgemm_task(void *ctx, long t, int tid) {
  (void)tid;
  const wgemm_job *j = ctx;
  const dconv *d = &j->d;
  long mt0 = t * j->mchunk, mt1 = MINI(j->mtiles, mt0 + j->mchunk);
  for (long bl = 0; bl < j->nb; bl++) {
    const float *xb = d->xpad + bl * d->imgP;
    for (long kb = 0; kb < d->Np; kb += KC_CONV) {
      long kc = MINI(KC_CONV, d->Np - kb);
      for (long mt = mt0; mt < mt1; mt++) {
        const float *rows[MR];
        /* rows past the last tap repeat it; their results land in padding rows of gwt */
        UNROLL for (int i = 0; i < MR; i++) rows[i] = xb + d->offs[MINI(mt * MR + i, d->kdim - 1)] + kb;
        for (long jp = 0; jp < j->npan; jp++)
          uk_rows_ptr(kc, 0, rows, j->bpack + ((bl * j->npan + jp) * d->Np + kb) * NR, j->gwt + mt * MR * j->ocgR + jp * NR, j->ocgR, 1);
      }
    }
  }
}


static void conv_bwd_weight_gemm(const float *x, const float *gy, float *gw, const cgeom *g) {
  wgemm_job j;
  dconv *d = &j.d;
  *d = (dconv){ g->n, g->c, g->h, g->w, g->oc, g->oh, g->ow, g->kh, g->kw, g->pH, g->pW, g->dH, g->dW, 1, g->sH, g->sW };
  d->x = x;
  d->cg = g->c; d->ocg = g->oc; d->kdim = g->c * g->kh * g->kw;
  grid_init(d);
  j.gy = gy;
  j.npan = (g->oc + NR - 1) / NR;
  j.ocgR = j.npan * NR;
  j.mtiles = (d->kdim + MR - 1) / MR;
  long nbmax = WGEMM_PACK_FLOATS / (j.npan * d->Np * NR);
  if (nbmax < 1) nbmax = 1;
  nbmax = MINI(nbmax, g->n);
  long slack = (g->kw - 1) * g->dW + 2 * NR;
  d->xpad = tt_shared_scratch(SH_XPAD, sizeof(float) * (nbmax * d->imgP + slack));
  memset(d->xpad + nbmax * d->imgP, 0, sizeof(float) * slack);
  j.bpack = tt_shared_scratch(SH_GYPAD, sizeof(float) * nbmax * j.npan * d->Np * NR);
  j.gwt = tt_shared_scratch(SH_WT, sizeof(float) * j.mtiles * MR * j.ocgR);
  memset(j.gwt, 0, sizeof(float) * j.mtiles * MR * j.ocgR);
  int32_t *offs = tt_shared_scratch(SH_WPACK, sizeof(int32_t) * d->kdim);
  grid_offsets(d, g->c, offs);
  d->offs = offs;
  int T = tt_num_threads();
  long tasks = MINI(j.mtiles, 4 * T);
  j.mchunk = (j.mtiles + tasks - 1) / tasks;
  tasks = (j.mtiles + j.mchunk - 1) / j.mchunk;
  for (j.b0 = 0; j.b0 < g->n; j.b0 += nbmax) {
    j.nb = MINI(nbmax, g->n - j.b0);
    par_for(j.nb, wgemm_pack_task, &j);
    par_for(tasks, wgemm_task, &j);
  }
  for (long o = 0; o < g->oc; o++)
    for (long p = 0; p < d->kdim; p++) gw[o * d->kdim + p] = j.gwt[p * j.ocgR + o];
}

/* Weight gradient, stride 1, by the dot-product micro-kernel over the padded-width grid (grouped convolutions and
 * layers with too few taps for the GEMM form): threads split the taps, or the output channels when taps are few. */
static void conv_bwd_weight_dot(const float *x, const float *gy, float *gw, const cgeom *gp) {
  const cgeom g = *gp;
  long cg = g.c / g.groups, ocg = g.oc / g.groups, kdim = cg * g.kh * g.kw;
  int T = tt_num_threads();
  wgrad_job j;
  dconv *d = &j.d;
  *d = (dconv){ g.n, g.c, g.h, g.w, g.oc, g.oh, g.ow, g.kh, g.kw, g.pH, g.pW, g.dH, g.dW, g.groups, 1, 1 };
  d->x = x;
  d->cg = cg; d->ocg = ocg; d->kdim = kdim;
  grid_init(d);
  j.NpR = ROUNDUP(d->Np, TT_VL);
  long slack = j.NpR - d->Np + (g.kw - 1) * g.dW + 2 * TT_VL;
  d->xpad = tt_shared_scratch(SH_XPAD, sizeof(float) * (g.n * d->imgP + slack));
  memset(d->xpad + g.n * d->imgP, 0, sizeof(float) * slack);
  j.gy = gy;
  j.gyp = tt_shared_scratch(SH_GYPAD, sizeof(float) * g.n * g.oc * j.NpR);
  j.gw = gw;
  int32_t *offs = tt_shared_scratch(SH_WPACK, sizeof(int32_t) * kdim);
  grid_offsets(d, cg, offs);
  d->offs = offs;
  if (T > 1 && g.n > 1) tt_parallel(g.n, wgrad_pad_task, &j);
  else for (long b = 0; b < g.n; b++) wgrad_pad_task(&j, b, 0);
  j.npch = 1;
  if (T > 1 && g.groups % T != 0 && g.groups < 4 * T) j.npch = (4 * T + g.groups - 1) / g.groups;
  j.pchunk = ROUNDUP((kdim + j.npch - 1) / j.npch, (g.kh == 3 && g.kw == 3) ? 9 * TT_DNR : TT_DNR);
  j.npch = (kdim + j.pchunk - 1) / j.pchunk;
  /* few taps (a first layer's 1×3×3) leave the threads idle: split the output channels as well */
  long units = g.groups * j.npch;
  j.ochunk = ocg;
  if (T > 1 && units < 2 * T) j.ochunk = ROUNDUP((ocg * units + 4 * T - 1) / (4 * T), 3 * TT_DMR);
  j.noch = (ocg + j.ochunk - 1) / j.ochunk;
  long tasks = units * j.noch;
  if (T > 1 && tasks > 1) tt_parallel(tasks, wgrad_task, &j);
  else for (long t = 0; t < tasks; t++) wgrad_task(&j, t, 0);
}

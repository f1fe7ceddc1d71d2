/* ------------------------------------------------------------------------------------------------------------
 * Convolution, stride 1: "padded-width implicit GEMM". The input is copied once into a zero-padded buffer of
 * width WP = ow + (kw-1)·dil. Output pixel (y, x) becomes column s = y·WP + x; then for filter tap p = (c,i,j)
 * the needed inputs of consecutive columns are consecutive floats at xpad + off[p] + s, so the micro-kernel reads
 * B rows straight from the image: no im2col, no B packing. Columns with x ≥ ow are computed and dropped
 * (WP−ow of every WP). Backward-to-input of a stride-1 conv is the same computation with flipped weights.
 * Strided convolutions use the same grid after a polyphase split: each channel becomes sH·sW phase planes,
 * phase (a, b) holding padded rows a, a+sH, … and columns b, b+sW, …; tap (i, j) reads phase
 * (i·dH mod sH, j·dW mod sW) shifted by (⌊i·dH/sH⌋, ⌊j·dW/sW⌋), so consecutive output columns again read
 * consecutive floats and no tap does wasted work.
 * ---------------------------------------------------------------------------------------------------------- */
/* The conv geometry (cgeom, parse_cg) is generated into kernels.gen.h from native/kernels.table.mjs. */

typedef struct {
  long n, cin, h, w, cout, oh, ow, kh, kw, padT, padL, dilH, dilW, groups, sH, sW;
  long cg, ocg, ocgR, kdim, HP, WP, phaseP, planeP, imgP, Np, chunk, nchunks, mpart, mparts;
  const float *x;
  float *xpad;
  const float *wrows; /* [groups·ocg, kdim] row-major weights, read in place by full MR-row tiles */
  const float *apack; /* per group, the last ocg % MR rows packed and zero-padded to MR */
  int32_t *offs;
  const float *bias, *scale; /* epilogue: out = act(scale[oc]·acc + bias[oc]) (scale NULL: 1) */
  float *out;
  int act;
} dconv;

/* Copies channels of one image into a zero-padded HP×WP grid (top/left padding padT/padL). */
static void pad_planes(const float *x, float *xp, long C, long h, long w, long HP, long WP, long padT, long padL) {
  long cw = MINI(w, WP - padL); /* copied width */
  for (long c = 0; c < C; c++) {
    const float *s = x + c * h * w;
    float *d = xp + c * HP * WP;
    for (long r = 0; r < HP; r++) {
      long iy = r - padT;
      float *dr = d + r * WP;
      if (iy < 0 || iy >= h || cw <= 0) { memset(dr, 0, sizeof(float) * WP); continue; }
      if (padL > 0) memset(dr, 0, sizeof(float) * padL);
      memcpy(dr + padL, s + iy * w, sizeof(float) * cw);
      if (padL + cw < WP) memset(dr + padL + cw, 0, sizeof(float) * (WP - padL - cw));
    }
  }
}

/* Sizes of the padded grid: phase planes HP×WP (the whole padded plane when the stride is 1), Np columns. */
static void grid_init(dconv *d) {
  d->HP = d->oh + (d->kh - 1) * d->dilH / d->sH;
  d->WP = d->ow + (d->kw - 1) * d->dilW / d->sW;
  d->phaseP = d->HP * d->WP;
  d->planeP = d->sH * d->sW * d->phaseP;
  d->imgP = d->cin * d->planeP;
  d->Np = d->oh * d->WP;
}

/* Writes image x (cin×h×w) into its grid at dst: zero padding, and the phase split when strided. */
static void grid_pad(const dconv *d, const float *x, float *dst) {
  if (d->sH == 1 && d->sW == 1) {
    pad_planes(x, dst, d->cin, d->h, d->w, d->HP, d->WP, d->padT, d->padL);
    return;
  }
  for (long c = 0; c < d->cin; c++)
    for (long a = 0; a < d->sH; a++)
      for (long bp = 0; bp < d->sW; bp++) {
        const float *src = x + c * d->h * d->w;
        float *ph = dst + c * d->planeP + (a * d->sW + bp) * d->phaseP;
        for (long r = 0; r < d->HP; r++) {
          long iy = r * d->sH + a - d->padT;
          float *row = ph + r * d->WP;
          if (iy < 0 || iy >= d->h) { memset(row, 0, sizeof(float) * d->WP); continue; }
          const float *srow = src + iy * d->w;
          for (long q = 0; q < d->WP; q++) {
            long ix = q * d->sW + bp - d->padL;
            row[q] = ix >= 0 && ix < d->w ? srow[ix] : 0.0f;
          }
        }
      }
}

/* Offset of each of the cg·kh·kw taps in the grid of a channel group (see grid_pad). */
static void grid_offsets(const dconv *d, long cg, int32_t *offs) {
  long k = 0;
  for (long c = 0; c < cg; c++)
    for (long i = 0; i < d->kh; i++)
      for (long j = 0; j < d->kw; j++) {
        long ri = i * d->dilH, cj = j * d->dilW;
        offs[k++] = (int32_t)(c * d->planeP + ((ri % d->sH) * d->sW + cj % d->sW) * d->phaseP + ri / d->sH * d->WP + cj / d->sW);
      }
}

static void dconv_pad_task(void *ctx, long b, int tid) {
  (void)tid;
  const dconv *d = ctx;
  grid_pad(d, d->x + b * d->cin * d->h * d->w, d->xpad + b * d->imgP);
}

#define KC_CONV 256
/* Columns per block: a KC_CONV × DCONV_NCB slice of the input (~128 KB) stays in L2 while every row tile of the
 * weights passes over it, so the weights stream from memory once per block instead of once per column tile.
 * The block must be a whole number of NR-wide column tiles: the micro-kernel always writes NR columns, so a
 * block edge inside a tile (128 columns against AVX-512's NR = 48) let the next block's first tile start
 * mid-tile and write past the end of the row, into the next output channel's row and past the tile buffer. */
#define DCONV_NCB ROUNDUP(128, NR)

static void dconv_task(void *ctx, long t, int tid) {
  const dconv *d = ctx;
  long mp = t % d->mparts;
  t /= d->mparts;
  long ci = t % d->nchunks, bg = t / d->nchunks;
  long gr = bg % d->groups, b = bg / d->groups;
  long s0 = ci * d->chunk, s1 = MINI(d->Np, s0 + d->chunk);
  long m0 = mp * d->mpart, m1 = MINI(d->ocg, m0 + d->mpart);
  if (s0 >= s1 || m0 >= m1) return;
  long len = s1 - s0, lenR = ROUNDUP(len, NR);
  float *cb = tt_scratch(tid, SLOT_TILE, sizeof(float) * ROUNDUP(m1 - m0, MR) * lenR);
  const float *xb = d->xpad + b * d->imgP + gr * d->cg * d->planeP + s0;
  long kdim = d->kdim, full = MINI(m1, d->ocg / MR * MR);
  const float *wg = d->wrows + gr * d->ocg * kdim;
  const float *rem = d->apack + gr * MR * kdim;
  for (long jc = 0; jc < lenR; jc += DCONV_NCB) {
    long je = MINI(lenR, jc + DCONV_NCB);
    for (long kb = 0; kb < kdim; kb += KC_CONV) {
      long kc = MINI(KC_CONV, kdim - kb);
      for (long mt = m0; mt < full; mt += MR)
        for (long jt = jc; jt < je; jt += NR)
          uk_indirect_rows(kc, wg + mt * kdim + kb, kdim, xb + jt, d->offs + kb, cb + (mt - m0) * lenR + jt, lenR, kb > 0);
      if (full < m1)
        for (long jt = jc; jt < je; jt += NR)
          uk_indirect(kc, rem + kb * MR, 0, xb + jt, d->offs + kb, cb + (full - m0) * lenR + jt, lenR, kb > 0);
    }
  }
  long WP = d->WP, ow = d->ow, ohw = d->oh * d->ow;
  for (long o = m0; o < m1; o++) {
    long oc = gr * d->ocg + o;
    const float *cr = cb + (o - m0) * lenR - s0;
    float *orow = d->out + (b * d->cout + oc) * ohw;
    float bv = d->bias ? d->bias[oc] : 0.0f, sv = d->scale ? d->scale[oc] : 1.0f;
    vf vs = vsplat(sv), vb = vsplat(bv);
    for (long y = s0 / WP; y * WP < s1; y++) {
      long xs = MAXI(s0 - y * WP, 0), xe = MINI(s1 - y * WP, ow);
      const float *src = cr + y * WP;
      float *dst = orow + y * ow;
      /* in vectors: a scalar act_s per pixel branches on every sign and cost 3 ms of MobileNetV2's ReLU6 stem
       * (8× the convolution itself) */
      long xo = xs;
      for (; xo + TT_VL <= xe; xo += TT_VL) vstore(dst + xo, act_v(vload(src + xo) * vs + vb, d->act));
      for (; xo < xe; xo++) dst[xo] = act_s(src[xo] * sv + bv, d->act);
    }
  }
}

/* Sets derived sizes, pads the input and builds the tap offsets; weights must be packed by the caller. */
static void dconv_prepare(dconv *d) {
  d->cg = d->cin / d->groups;
  d->ocg = d->cout / d->groups;
  d->ocgR = ROUNDUP(d->ocg, MR);
  d->kdim = d->cg * d->kh * d->kw;
  grid_init(d);
  long slack = ROUNDUP(d->Np, NR) - d->Np + (d->kw - 1) * d->dilW + 2 * NR;
  d->xpad = tt_shared_scratch(SH_XPAD, sizeof(float) * (d->n * d->imgP + slack));
  memset(d->xpad + d->n * d->imgP, 0, sizeof(float) * slack);
  int T = tt_num_threads();
  if (T > 1 && d->n > 1) tt_parallel(d->n, dconv_pad_task, d);
  else for (long b = 0; b < d->n; b++) dconv_pad_task(d, b, 0);
  /* Too few images (× groups) to share out evenly: split each into parts. Short rows of outputs against many
   * channels (late stages, one image) split the output channels, so each thread reads its share of the weights
   * once; otherwise the columns are split and each part reads all of them. */
  long units = d->n * d->groups, parts = 1;
  if (T > 1 && units % T != 0 && units < 4 * T) parts = (4 * T + units - 1) / units;
  d->nchunks = d->mparts = 1;
  d->mpart = d->ocgR;
  if (parts > 1 && d->Np <= 4 * DCONV_NCB && d->ocg >= 4 * MR * parts) {
    d->mpart = ROUNDUP((d->ocg + parts - 1) / parts, MR);
    d->mparts = (d->ocg + d->mpart - 1) / d->mpart;
  } else {
    d->nchunks = parts;
  }
  d->chunk = ROUNDUP((d->Np + d->nchunks - 1) / d->nchunks, NR);
  d->nchunks = (d->Np + d->chunk - 1) / d->chunk;
}

/* Runs the prepared convolution with row-major weights w [groups·ocg, kdim]. */
static void dconv_run(dconv *d, const float *w) {
  long rows = d->ocg % MR;
  float *ap = tt_shared_scratch(SH_WPACK, sizeof(float) * d->groups * MR * d->kdim + sizeof(int32_t) * (d->kdim + 64));
  if (rows)
    for (long gr = 0; gr < d->groups; gr++)
      pack_a(rows, d->kdim, w + (gr * d->ocg + d->ocg - rows) * d->kdim, d->kdim, 1, ap + gr * MR * d->kdim);
  d->wrows = w;
  d->apack = ap;
  int32_t *offs = (int32_t *)(ap + d->groups * MR * d->kdim);
  grid_offsets(d, d->cg, offs);
  d->offs = offs;
  long tasks = d->n * d->groups * d->nchunks * d->mparts;
  if (tt_num_threads() > 1 && tasks > 1) tt_parallel(tasks, dconv_task, d);
  else for (long t = 0; t < tasks; t++) dconv_task(d, t, 0);
}

/* Forward on the padded-width grid (stride 1, or strided after the polyphase split). */
static void conv_fwd_padded_width(const float *x, const float *w, const float *bias, const float *scale, float *out, const cgeom *g, int act) {
  dconv d = { .n = g->n, .cin = g->c, .h = g->h, .w = g->w, .cout = g->oc, .oh = g->oh, .ow = g->ow, .kh = g->kh, .kw = g->kw,
              .padT = g->pH, .padL = g->pW, .dilH = g->dH, .dilW = g->dW, .groups = g->groups, .sH = g->sH, .sW = g->sW,
              .x = x, .bias = bias, .scale = scale, .out = out, .act = act };
  dconv_prepare(&d);
  dconv_run(&d, w);
}

/* wt[g·cg + ci, o, k] = w[g·ocg + o, ci, khw − 1 − k]: the flipped, transposed weights with which the input gradient
 * of a stride-1 convolution is a forward convolution of gy (roles of c and oc swapped). */
static float *conv_flip_weights(const float *w, const cgeom *g) {
  long cg = g->c / g->groups, ocg = g->oc / g->groups, khw = g->kh * g->kw;
  float *wt = tt_shared_scratch(SH_WT, sizeof(float) * g->c * ocg * khw);
  for (long gr = 0; gr < g->groups; gr++)
    for (long ci = 0; ci < cg; ci++)
      for (long o = 0; o < ocg; o++)
        for (long k = 0; k < khw; k++)
          wt[(gr * cg + ci) * ocg * khw + o * khw + (khw - 1 - k)] = w[((gr * ocg + o) * cg + ci) * khw + k];
  return wt;
}

/* Input gradient of a stride-1 convolution on the padded-width grid: gx = conv(gy, wt) with complementary padding
 * dil·(k − 1) − pad, wt from conv_flip_weights. */
static void conv_bwd_input_padded_width(const float *gy, const float *wt, float *gx, const cgeom *g) {
  long padT = g->dH * (g->kh - 1) - g->pH, padL = g->dW * (g->kw - 1) - g->pW;
  dconv d = { .n = g->n, .cin = g->oc, .h = g->oh, .w = g->ow, .cout = g->c, .oh = g->h, .ow = g->w, .kh = g->kh, .kw = g->kw,
              .padT = padT, .padL = padL, .dilH = g->dH, .dilW = g->dW, .groups = g->groups, .sH = 1, .sW = 1,
              .x = gy, .out = gx, .act = ACT_NONE };
  dconv_prepare(&d); /* d.kdim = ocg·khw, d.ocg = cg */
  dconv_run(&d, wt);
}

/* ------------------------------------------------------------------------------------------------------------
 * im2col / col2im for the strided cases (the depthwise forward is in conv_depthwise.inc.c).
 * ---------------------------------------------------------------------------------------------------------- */

/* One row of col: tap (i, j) of one input plane over every output pixel (zero where it reads padding). */
static void im2col_tap(const float *plane, const cgeom *g, long i, long j, float *dst) {
  long x0 = j * g->dW - g->pW, y0 = i * g->dH - g->pH;
  /* a tap that reads the plane as it lies (stride 1, no padding in its reach, output as wide as the input: a 1×1
   * convolution's only tap), one copy: element by element with its bounds checked, the batched plan's copy of a
   * 960-channel 7×7 batch took a fifth of that 1×1 convolution's time */
  if (g->sH == 1 && g->sW == 1 && x0 == 0 && g->ow == g->w && y0 >= 0 && y0 + g->oh <= g->h) {
    memcpy(dst, plane + y0 * g->w, sizeof(float) * g->oh * g->ow);
    return;
  }
  for (long y = 0; y < g->oh; y++) {
    long iy = y * g->sH - g->pH + i * g->dH;
    float *dr = dst + y * g->ow;
    if (iy < 0 || iy >= g->h) { memset(dr, 0, sizeof(float) * g->ow); continue; }
    const float *src = plane + iy * g->w;
    for (long xo = 0; xo < g->ow; xo++) {
      long ix = xo * g->sW + x0;
      dr[xo] = (ix >= 0 && ix < g->w) ? src[ix] : 0.0f;
    }
  }
}

/* Rows of col (row stride ld) for channels [c0, c0+cg) × taps; with `live`, only the taps marked there. */
static void im2col(const float *x, long c0, long cg, const cgeom *g, float *col, long ld, const uint8_t *live) {
  long row = 0;
  for (long c = c0; c < c0 + cg; c++)
    for (long i = 0; i < g->kh; i++)
      for (long j = 0; j < g->kw; j++) {
        if (live && !live[i * g->kw + j]) continue;
        im2col_tap(x + c * g->h * g->w, g, i, j, col + (row++) * ld);
      }
}

/* im2col of one image across the thread pool, one (channel, kernel row) per task: large single images (stems). */
typedef struct { const float *x; const cgeom *g; long c0; float *col; long ld; } im2col_rows_job;
static void im2col_rows_task(void *ctx, long t, int tid) {
  (void)tid;
  const im2col_rows_job *r = ctx;
  const cgeom *g = r->g;
  long c = t / g->kh, i = t % g->kh;
  for (long j = 0; j < g->kw; j++)
    im2col_tap(r->x + (r->c0 + c) * g->h * g->w, g, i, j, r->col + ((c * g->kh + i) * g->kw + j) * r->ld);
}

static void col2im(const float *col, long c0, long cg, const cgeom *g, float *gx, long ld, const uint8_t *live) {
  long row = 0;
  for (long c = c0; c < c0 + cg; c++) {
    float *plane = gx + c * g->h * g->w;
    for (long i = 0; i < g->kh; i++)
      for (long j = 0; j < g->kw; j++) {
        if (live && !live[i * g->kw + j]) continue;
        const float *src = col + (row++) * ld;
        for (long y = 0; y < g->oh; y++) {
          long iy = y * g->sH - g->pH + i * g->dH;
          if (iy < 0 || iy >= g->h) continue;
          float *dr = plane + iy * g->w;
          long x0 = j * g->dW - g->pW;
          for (long xo = 0; xo < g->ow; xo++) {
            long ix = xo * g->sW + x0;
            if (ix >= 0 && ix < g->w) dr[ix] += src[y * g->ow + xo];
          }
        }
      }
  }
}

/* The convolution epilogue on one output plane: o = act(sv·o + bv) (act: ACT_* of simd.inc.c). */
static void epilogue_plane(float *o, long sp, float sv, float bv, int act) {
  if (act == ACT_NONE && sv == 1.0f && bv == 0.0f) return;
  long s = 0;
  vf vs = vsplat(sv), vb = vsplat(bv);
  for (; s + TT_VL <= sp; s += TT_VL) vstore(o + s, act_v(vload(o + s) * vs + vb, act));
  for (; s < sp; s++) o[s] = act_s(o[s] * sv + bv, act);
}

typedef struct { const float *x, *w, *bias, *scale; float *out; cgeom g; int act; } im2col_job;

static void epilogue_channel(const im2col_job *j, float *o, long sp, long oc) {
  epilogue_plane(o, sp, j->scale ? j->scale[oc] : 1.0f, j->bias ? j->bias[oc] : 0.0f, j->act);
}

typedef struct { const im2col_job *j; long b; } epilogue_job;
static void epilogue_task(void *ctx, long o, int tid) {
  (void)tid;
  const epilogue_job *e = ctx;
  long sp = e->j->g.oh * e->j->g.ow;
  epilogue_channel(e->j, e->j->out + (e->b * e->j->g.oc + o) * sp, sp, o);
}

static void im2col_fwd_image(const im2col_job *j, long b, int tid, int parallel_gemm) {
  const cgeom *g = &j->g;
  long cg = g->c / g->groups, ocg = g->oc / g->groups, kdim = cg * g->kh * g->kw, sp = g->oh * g->ow;
  float *col = parallel_gemm ? tt_shared_scratch(SH_WT, sizeof(float) * kdim * sp) : tt_scratch(tid, SLOT_COL, sizeof(float) * kdim * sp);
  const float *xb = j->x + b * g->c * g->h * g->w;
  for (long gr = 0; gr < g->groups; gr++) {
    float *ob = j->out + (b * g->oc + gr * ocg) * sp;
    const float *wg = j->w + gr * ocg * kdim;
    if (g->kh == 1 && g->kw == 1 && g->pH == 0 && g->pW == 0 && g->sH == 1 && g->sW == 1) {
      const float *xs = xb + gr * cg * sp;
      if (parallel_gemm) gemm_strided(ocg, sp, kdim, wg, kdim, 1, 0, xs, sp, 1, 0, ob, sp, 0, 1, 0);
      else gemm_serial(tid, ocg, sp, kdim, wg, kdim, 1, xs, sp, 1, ob, sp, 0);
    } else {
      if (parallel_gemm) {
        im2col_rows_job r = { xb, g, gr * cg, col, sp };
        tt_parallel(cg * g->kh, im2col_rows_task, &r);
      } else {
        im2col(xb, gr * cg, cg, g, col, sp, NULL);
      }
      if (parallel_gemm) gemm_strided(ocg, sp, kdim, wg, kdim, 1, 0, col, sp, 1, 0, ob, sp, 0, 1, 0);
      else gemm_serial(tid, ocg, sp, kdim, wg, kdim, 1, col, sp, 1, ob, sp, 0);
    }
  }
  if (parallel_gemm) {
    epilogue_job e = { j, b };
    tt_parallel(g->oc, epilogue_task, &e);
  } else {
    for (long o = 0; o < g->oc; o++) epilogue_channel(j, j->out + (b * g->oc + o) * sp, sp, o);
  }
}

static void im2col_fwd_task(void *ctx, long b, int tid) { im2col_fwd_image(ctx, b, tid, 0); }

/* Which taps (i, j) read at least one real input pixel for some output pixel (live[i·kw + j]); their number. */
#define MAX_TAPS 256
static long live_taps(const cgeom *g, uint8_t *live) {
  long n = 0;
  for (long i = 0; i < g->kh; i++) {
    int row = 0;
    for (long y = 0; y < g->oh && !row; y++) { long iy = y * g->sH - g->pH + i * g->dH; row = iy >= 0 && iy < g->h; }
    for (long j = 0; j < g->kw; j++) {
      int col = 0;
      for (long x = 0; x < g->ow && !col; x++) { long ix = x * g->sW - g->pW + j * g->dW; col = ix >= 0 && ix < g->w; }
      live[i * g->kw + j] = (uint8_t)(row && col);
      n += row && col;
    }
  }
  return n;
}

/* im2col + packed GEMM per image: images split between threads, or the GEMM threaded when there are few. */
static void conv_fwd_im2col(const float *x, const float *w, const float *bias, const float *scale, float *out, const cgeom *g, int act) {
  im2col_job j = { .x = x, .w = w, .bias = bias, .scale = scale, .out = out, .g = *g, .act = act };
  int T = tt_num_threads();
  if (T > 1 && g->n >= T) tt_parallel(g->n, im2col_fwd_task, &j);
  else for (long b = 0; b < g->n; b++) im2col_fwd_image(&j, b, 0, T > 1);
}

/* Input gradient by GEMM + col2im: col = W_gᵀ·gy_g per image and group, scattered back onto the input. */
static void conv_bwd_input_im2col(const float *gy, const float *w, float *gx, const cgeom *g) {
  long cg = g->c / g->groups, ocg = g->oc / g->groups, kdim = cg * g->kh * g->kw, sp = g->oh * g->ow;
  memset(gx, 0, sizeof(float) * g->n * g->c * g->h * g->w);
  float *col = tt_shared_scratch(SH_WT, sizeof(float) * kdim * sp);
  for (long b = 0; b < g->n; b++)
    for (long gr = 0; gr < g->groups; gr++) {
      /* col [kdim, sp] = W_gᵀ · gy_g */
      gemm_strided(kdim, sp, ocg, w + gr * ocg * kdim, 1, kdim, 0, gy + (b * g->oc + gr * ocg) * sp, sp, 1, 0, col, sp, 0, 1, 0);
      col2im(col, gr * cg, cg, g, gx + b * g->c * g->h * g->w, sp, NULL);
    }
}

/* Weight gradient by im2col + GEMM: gW_g += gy_g·colᵀ summed over images. */
static void conv_bwd_weight_im2col(const float *x, const float *gy, float *gw, const cgeom *g) {
  long cg = g->c / g->groups, ocg = g->oc / g->groups, kdim = cg * g->kh * g->kw, sp = g->oh * g->ow;
  memset(gw, 0, sizeof(float) * g->oc * kdim);
  float *col = tt_shared_scratch(SH_WT, sizeof(float) * kdim * sp);
  for (long b = 0; b < g->n; b++)
    for (long gr = 0; gr < g->groups; gr++) {
      im2col(x + b * g->c * g->h * g->w, gr * cg, cg, g, col, sp, NULL);
      /* gW_g [ocg, kdim] += gy_g [ocg, sp] · colᵀ */
      gemm_strided(ocg, kdim, sp, gy + (b * g->oc + gr * ocg) * sp, sp, 1, 0, col, 1, sp, 0, gw + gr * ocg * kdim, kdim, 0, 1, 1);
    }
}

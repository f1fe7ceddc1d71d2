/* ------------------------------------------------------------------------------------------------------------
 * Pointwise convolution forward (1×1, stride 1, no padding, one group): out_b = act(scale ⊙ (W · X_b) + bias + res_b),
 * a GEMM whose B operand is the image itself — row p of B is input channel p, oh·ow contiguous floats — and whose
 * A operand is the weight matrix [oc, c] read in place. Nothing is copied: no padded grid, no im2col, no packing
 * of either operand per call (only the last oc mod MR weight rows go into a zero-padded panel), and the epilogue
 * runs on each register tile right after it is stored, while it is in L1, so the output is written once. This is
 * the expansion and projection of every MobileNet block and three of ResNet-50's four convolutions per block. The
 * optional residual `res` (same layout as out) is the shortcut of a residual block, added on each tile in the same
 * epilogue, so a block's relu(bn(conv(·)) + identity) costs no pass of its own over the output.
 * ---------------------------------------------------------------------------------------------------------- */
/* B rows ldb apart (the image's channels); A in place (MR weight rows lda apart) or packed in an MR-row panel. */
UK_DEFINE(uk_pw_rows, MR, long lda, a[i * lda], a += 1, const float *restrict b COMMA long ldb, b, b += ldb)
/* … the same prefetching a later panel as it goes (uk_prefetch_step at every step) … */
UK_DEFINE(uk_pw_rows_pf, MR, long lda, a[i * lda], a += 1,
          const float *restrict b COMMA long ldb COMMA const float *pf COMMA long pfs, b,
          b += ldb; uk_prefetch_step(&pf COMMA pfs))
/* … and MR / 2 such rows: the last rows of a Winograd task's tiles when they fit half a tile (49 tiles of a 14² map
 * at batch 1 are 8 AVX2 tiles of 6 and one tile left). */
UK_DEFINE(uk_pw_rows_half, MR / 2, long lda, a[i * lda], a += 1, const float *restrict b COMMA long ldb, b, b += ldb)
UK_DEFINE(uk_pw_packed, MR, long lda, a[i], (void)lda COMMA a += MR, const float *restrict b COMMA long ldb, b, b += ldb)

typedef struct {
  const float *x, *w, *bias, *scale, *res;
  float *out;
  const float *rem; /* the last oc mod MR weight rows, packed and zero-padded to MR (NULL when none) */
  long n, k, oc, sp, ncb, nblocks, mpart, mparts;
  int act;
} pw_job;

/* act(scale·t + bias + res) over rows [o0, o0 + mr) × nr columns of a tile stored at c (row stride ldc), c a
 * place in out (the residual is read at the same offset). */
static void pw_epilogue(const pw_job *j, float *c, long ldc, long o0, int mr, int nr) {
  if (j->act == ACT_NONE && !j->scale && !j->bias && !j->res) return;
  const float *r0 = j->res ? j->res + (c - j->out) : 0;
  for (int i = 0; i < mr; i++) {
    float sv = j->scale ? j->scale[o0 + i] : 1.0f, bv = j->bias ? j->bias[o0 + i] : 0.0f;
    float *row = c + i * ldc;
    vf vs = vsplat(sv), vb = vsplat(bv);
    int x = 0;
    if (r0) {
      /* (scale·t + bias) + res: the unfused block's order (the folded BN's output, then the shortcut's add) */
      const float *rr = r0 + i * ldc;
      for (; x + TT_VL <= nr; x += TT_VL) {
        vf t = vload(row + x) * vs + vb;
        vstore(row + x, act_v(t + vload(rr + x), j->act));
      }
      for (; x < nr; x++) {
        float t = row[x] * sv + bv;
        row[x] = act_s(t + rr[x], j->act);
      }
      continue;
    }
    for (; x + TT_VL <= nr; x += TT_VL) vstore(row + x, act_v(vload(row + x) * vs + vb, j->act));
    for (; x < nr; x++) row[x] = act_s(row[x] * sv + bv, j->act);
  }
}

/* One task: image b, columns [s0, s1), output rows [m0, m1) (m0 a multiple of MR). */
static void pw_task(void *ctx, long t, int tid) {
  (void)tid;
  const pw_job *j = ctx;
  long mp = t % j->mparts;
  t /= j->mparts;
  long blk = t % j->nblocks, b = t / j->nblocks;
  long s0 = blk * j->ncb, s1 = MINI(j->sp, s0 + j->ncb);
  long m0 = mp * j->mpart, m1 = MINI(j->oc, m0 + j->mpart);
  if (s0 >= s1 || m0 >= m1) return;
  long k = j->k, sp = j->sp, full = j->oc / MR * MR;
  const float *xb = j->x + b * k * sp;
  float *ob = j->out + b * j->oc * sp;
  float tile[MR * NR] __attribute__((aligned(64)));
  for (long o = m0; o < m1; o += MR) {
    int mr = (int)MINI(MR, m1 - o);
    for (long s = s0; s < s1; s += NR) {
      int nr = (int)MINI(NR, s1 - s);
      float *c = ob + o * sp + s;
      if (o < full && nr == NR) {
        uk_pw_rows(k, j->w + o * k, k, xb + s, sp, c, sp, 0);
        pw_epilogue(j, c, sp, o, MR, NR);
        continue;
      }
      /* an edge: a full MR×NR tile into scratch, then its valid corner. The last column tile of an image
       * (nr < NR) reads NR columns of each channel row, the surplus from the next row (discarded), except
       * where that would run past the end of the input: those last rows go through a zero-padded copy, 64 at a
       * time, accumulated in the scratch tile. */
      if (nr < NR) {
        float bcol[NR * 64] __attribute__((aligned(64)));
        long total = j->n * k * sp, first = b * k * sp + s;
        long kd = total - first >= NR ? MINI(k, (total - first - NR) / sp + 1) : 0; /* rows read in place */
        if (kd > 0) {
          if (o < full) uk_pw_rows(kd, j->w + o * k, k, xb + s, sp, tile, NR, 0);
          else uk_pw_packed(kd, j->rem, 0, xb + s, sp, tile, NR, 0);
        }
        for (long p0 = kd; p0 < k; p0 += 64) {
          long kc = MINI(64, k - p0);
          for (long p = 0; p < kc; p++) {
            const float *src = xb + (p0 + p) * sp + s;
            float *d = bcol + p * NR;
            int q = 0;
            for (; q < nr; q++) d[q] = src[q];
            for (; q < NR; q++) d[q] = 0.0f;
          }
          if (o < full) uk_pw_rows(kc, j->w + o * k + p0, k, bcol, NR, tile, NR, p0 > 0);
          else uk_pw_packed(kc, j->rem + p0 * MR, 0, bcol, NR, tile, NR, p0 > 0);
        }
      } else {
        uk_pw_packed(k, j->rem, 0, xb + s, sp, tile, NR, 0);
      }
      for (int i = 0; i < mr; i++) memcpy(c + i * sp, tile + i * NR, sizeof(float) * nr);
      pw_epilogue(j, c, sp, o, mr, nr);
    }
  }
}

/* Columns per block: the block of B (k rows × ncb columns) stays in L2 (~128 KB) while every row tile passes. */
static long pw_block_cols(long k, long sp) {
  long ncb = ROUNDUP(MAXI(32768 / MAXI(k, 1), NR), NR);
  return MINI(ncb, ROUNDUP(sp, NR));
}

/* The epilogue over whole output rows, MR channels per task (the GEMM form below): pw_epilogue per row block. */
typedef struct { const pw_job *j; long oc, sp, chunks; } pw_rows_job;
static void pw_rows_task(void *ctx, long t, int tid) {
  (void)tid;
  const pw_rows_job *r = ctx;
  long b = t / r->chunks, o0 = (t % r->chunks) * MR;
  for (long o = o0; o < MINI(r->oc, o0 + MR); o++) pw_epilogue(r->j, r->j->out + (b * r->oc + o) * r->sp, r->sp, o, 1, (int)r->sp);
}

/* Whether one image's 1×1 convolution runs as the packed GEMM (then the epilogue as a pass of its own) rather than
 * in place: with a deep sum over a large map, the in-place form streams the whole weight matrix once per column
 * block (k·oc floats, k ≥ 1024 gives blocks of ≤ 32 columns), and from 8 blocks on that traffic costs more than
 * packing. Measured on AVX-512, 2 threads, ms in place / packed: 2048→512 at 32² 8.8 / 6.3–7.0, 1024→256 at 32²
 * 1.8–2.0 / 1.7–1.8, 2048→256 at 32² 3.3–4.7 / 3.2–3.5 (DeepLabv3's layer3/layer4 and ASPP at output stride 8);
 * 512→2048 at 32² 5.9–6.6 / 7.7–8.7 and ResNet-50 at 224² (≤ 7 blocks) stay in place. */
static int pw_use_gemm(const cgeom *g) {
  long sp = g->oh * g->ow;
  return g->n == 1 && g->c >= 1024 && g->oc * g->c >= (1L << 18) && sp >= 8 * pw_block_cols(g->c, sp);
}

static void conv_fwd_pointwise(const float *x, const float *w, const float *bias, const float *scale,
                               const float *res, float *out, const cgeom *g, int act) {
  if (g->oh * g->ow == 1) {
    /* a 1×1 map (squeeze-excitation): out[b] = W · x[b], n row-dot products against the weight rows (gemv.inc.c),
     * then the epilogue over the n × oc outputs */
    long oc = g->oc;
    rowdot(g->n, oc, g->c, x, g->c, w, g->c, out, oc, 1, 0);
    if (act == ACT_NONE && !scale && !bias && !res) return;
    for (long b = 0; b < g->n; b++)
      for (long o = 0; o < oc; o++) {
        float *v = out + b * oc + o;
        float t = *v * (scale ? scale[o] : 1.0f) + (bias ? bias[o] : 0.0f);
        *v = act_s(res ? t + res[b * oc + o] : t, act);
      }
    return;
  }
  if (pw_use_gemm(g)) {
    long sp = g->oh * g->ow;
    gemm_strided(g->oc, sp, g->c, w, g->c, 1, 0, x, sp, 1, 0, out, sp, 0, 1, 0);
    if (act == ACT_NONE && !scale && !bias && !res) return;
    pw_job ej = { .bias = bias, .scale = scale, .res = res, .out = out, .act = act };
    pw_rows_job rj = { &ej, g->oc, sp, (g->oc + MR - 1) / MR };
    long tasks = g->n * rj.chunks;
    if (tt_num_threads() > 1 && tasks > 1) tt_parallel(tasks, pw_rows_task, &rj);
    else for (long t = 0; t < tasks; t++) pw_rows_task(&rj, t, 0);
    return;
  }
  pw_job j = { .x = x, .w = w, .bias = bias, .scale = scale, .res = res, .out = out, .n = g->n, .k = g->c, .oc = g->oc,
               .sp = g->oh * g->ow, .act = act };
  long full = g->oc / MR * MR;
  if (full < g->oc) {
    float *rem = tt_shared_scratch(SH_WPACK, sizeof(float) * MR * g->c);
    pack_a(g->oc - full, g->c, w + full * g->c, g->c, 1, rem);
    j.rem = rem;
  }
  j.ncb = pw_block_cols(j.k, j.sp);
  j.nblocks = (j.sp + j.ncb - 1) / j.ncb;
  j.mparts = 1;
  j.mpart = ROUNDUP(g->oc, MR);
  int T = tt_num_threads();
  long units = j.n * j.nblocks;
  /* too few (image, block) units to share out evenly: split the output channels too */
  if (T > 1 && units % T != 0 && units < 4 * T) {
    long parts = MINI((4 * T + units - 1) / units, ROUNDUP(g->oc, MR) / MR);
    j.mpart = ROUNDUP((g->oc + parts - 1) / parts, MR);
    j.mparts = (g->oc + j.mpart - 1) / j.mpart;
  }
  long tasks = units * j.mparts;
  if (T > 1 && tasks > 1) tt_parallel(tasks, pw_task, &j);
  else for (long t = 0; t < tasks; t++) pw_task(&j, t, 0);
}

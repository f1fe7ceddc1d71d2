/* ------------------------------------------------------------------------------------------------------------
 * GEMM micro-kernels: C[MR×NR] (+)= Σ_p A[p][0..MR) ⊗ B_p[0..NR), A packed p-major in MR-row panels.
 * The packed variant reads B panels (NR floats per p); the indirect one reads row p of B at b + boff[p], which
 * lets convolution stream its (padded) input without im2col.
 * ---------------------------------------------------------------------------------------------------------- */
/* Part i of n things cut into `parts` balanced ranges: [*lo, *hi), sizes differing by one at most. */
static void split_range(long n, long parts, long i, long *lo, long *hi) {
  *lo = n * i / parts;
  *hi = n * (i + 1) / parts;
}

/* How a GEMM's row tiles (or groups of them) and column panels are shared out among tasks: task t takes chunk
 * t / pgroups of the tiles against panel group t % pgroups, each chunk and group a balanced share (sizes differ by
 * one at most). Used by the channels-last convolutions and by Winograd's forward tasks. */
typedef struct {
  long tiles, chunks, panels, pgroups;
} gemm_split;

/* The split of `tiles` row tiles and `panels` panels into chunks of at most tpc tiles, the panels grouped where the
 * chunks are fewer than `want` tasks — and the task count then made a multiple of the threads. With T = 2, chunks
 * cut by a fixed size (14 tiles as 4 + 4 + 4 + 2, 1024→256 at 14², batch 1) or an odd count of them (13 chunks of
 * ResNet-50's 256→64 at 56²) left one thread a task or a larger share after the other had finished: loads 8:6
 * (that layer 0.52 → 0.46 ms on Zen 4) and 7:6. A product of one chunk (all tiles, so that each panel is read once)
 * rounds its groups up instead of cutting the tiles while it has panels to share. */
static gemm_split gemm_split_plan(long tiles, long tpc, long panels, long want) {
  gemm_split s = { .tiles = tiles, .chunks = (tiles + tpc - 1) / tpc, .panels = panels, .pgroups = 1 };
  int T = tt_num_threads();
  if (T > 1 && s.chunks < want) s.pgroups = MINI(panels, (want + s.chunks - 1) / s.chunks);
  if (T > 1)
    while ((s.chunks * s.pgroups) % T != 0) {
      if (s.chunks == 1 && s.pgroups < panels) s.pgroups++;
      else if (s.chunks < tiles) s.chunks++;
      else break;
    }
  return s;
}

/* Task t's tiles [*t0, *t1) and panels [*p0, *p1). */
static void gemm_split_task(const gemm_split *s, long t, long *t0, long *t1, long *p0, long *p1) {
  split_range(s->tiles, s->chunks, t / s->pgroups, t0, t1);
  split_range(s->panels, s->pgroups, t % s->pgroups, p0, p1);
}

/* One step of a panel prefetch beside a micro-kernel's k loop: the line at *pf (and the next one for pfs > 16 floats)
 * into L2, then *pf moved on by pfs floats; nothing when *pf is null. */
static inline void uk_prefetch_step(const float **pf, long pfs) {
  if (!*pf) return;
  __builtin_prefetch(*pf, 0, 2);
  if (pfs > 16) __builtin_prefetch(*pf + 16, 0, 2);
  *pf += pfs;
}

/* C (+)= the product of ROWS rows of A (ROWS ≤ MR; a tile's whole MR, or the half that a product's last rows fit in)
 * and NR columns of B; A's element (i, p) and B's row p as AELEM and BROW, stepped by ASTEP and BSTEP. */
#define UK_DEFINE(NAME, ROWS, APARAMS, AELEM, ASTEP, BPARAMS, BROW, BSTEP)                                            \
  static void NAME(long kc, const float *restrict a, APARAMS, BPARAMS, float *restrict c, long ldc, int acc) {        \
    vf cr[ROWS][TT_NV];                                                                                               \
    UNROLL for (int i = 0; i < ROWS; i++) UNROLL for (int j = 0; j < TT_NV; j++) cr[i][j] = (vf){0};                  \
    for (long p = 0; p < kc; p++) {                                                                                   \
      const float *bp = BROW;                                                                                         \
      vf bv[TT_NV];                                                                                                   \
      UNROLL for (int j = 0; j < TT_NV; j++) bv[j] = vload(bp + j * TT_VL);                                           \
      UNROLL for (int i = 0; i < ROWS; i++) {                                                                         \
        vf av = vsplat(AELEM);                                                                                        \
        UNROLL for (int j = 0; j < TT_NV; j++) cr[i][j] = vfma(cr[i][j], av, bv[j]);                                  \
      }                                                                                                               \
      ASTEP;                                                                                                          \
      BSTEP;                                                                                                          \
    }                                                                                                                 \
    if (acc) {                                                                                                        \
      UNROLL for (int i = 0; i < ROWS; i++) UNROLL for (int j = 0; j < TT_NV; j++)                                    \
        vstore(c + i * ldc + j * TT_VL, vload(c + i * ldc + j * TT_VL) + cr[i][j]);                                   \
    } else {                                                                                                          \
      UNROLL for (int i = 0; i < ROWS; i++) UNROLL for (int j = 0; j < TT_NV; j++)                                    \
        vstore(c + i * ldc + j * TT_VL, cr[i][j]);                                                                    \
    }                                                                                                                 \
  }

/* A packed p-major in MR-row panels (lda unused) … */
UK_DEFINE(uk_packed, MR, long lda, a[i], (void)lda COMMA a += MR, const float *restrict b, b, b += NR)
UK_DEFINE(uk_indirect, MR, long lda, a[i], (void)lda COMMA a += MR, const float *restrict b COMMA const int32_t *restrict boff, b + boff[p], (void)0)
/* … or read in place: MR rows of a row-major matrix, lda apart (convolution weights need no packing). */
UK_DEFINE(uk_indirect_rows, MR, long lda, a[i * lda], a += 1, const float *restrict b COMMA const int32_t *restrict boff, b + boff[p], (void)0)
/* … or from MR row pointers (the weight gradient reads its A rows straight from the padded image, one per tap). */
UK_DEFINE(uk_rows_ptr, MR, const float *const *restrict ar, ar[i][p], (void)0, const float *restrict b, b, b += NR)

/* Partial tile: compute into a full scratch tile, then merge the valid mr×nr corner. */
static void uk_packed_edge(long kc, const float *a, const float *b, float *c, long ldc, int acc, int mr, int nr) {
  float t[MR * NR] __attribute__((aligned(64)));
  uk_packed(kc, a, 0, b, t, NR, 0);
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + t[i * NR + j] : t[i * NR + j];
}

/* ------------------------------------------------------------------------------------------------------------
 * Packing. Operand elements: A(i,p) = a[i*ars + p*acs], B(p,j) = b[p*brs + j*bcs] (transposes are strides).
 * ---------------------------------------------------------------------------------------------------------- */
/* Lo/hi halves of the lane interleave of a‖b: (a0 b0 a1 b1 …) from the first and from the second half of each. */
#if TT_VL == 4
#define ILV_LO 0, 4, 1, 5
#define ILV_HI 2, 6, 3, 7
#elif TT_VL == 8
#define ILV_LO 0, 8, 1, 9, 2, 10, 3, 11
#define ILV_HI 4, 12, 5, 13, 6, 14, 7, 15
#else
#define ILV_LO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define ILV_HI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#endif

/* In-register transpose of a TT_VL×TT_VL block (r[i] = row i). Interleaving row k with row k + VL/2 into rows 2k and
 * 2k + 1 rotates the bits of (row, lane) left by one; log2(VL) such stages swap row and lane bits. */
static inline void vtranspose(vf r[TT_VL]) {
  for (int s = 1; s < TT_VL; s *= 2) {
    vf t[TT_VL];
    UNROLL for (int k = 0; k < TT_VL / 2; k++) {
      t[2 * k] = __builtin_shufflevector(r[k], r[k + TT_VL / 2], ILV_LO);
      t[2 * k + 1] = __builtin_shufflevector(r[k], r[k + TT_VL / 2], ILV_HI);
    }
    UNROLL for (int k = 0; k < TT_VL; k++) r[k] = t[k];
  }
}

/* Transposed packing of one MR-row panel of A whose rows are contiguous (acs = 1): dst[p·MR + i] = rows[i][p] for
 * p in [0, kc). Blocks of TT_VL p are loaded as vectors (rows past MR repeat the last), transposed in registers and
 * stored a p at a time in ascending address order, so each store's spill past MR lanes is overwritten by the next;
 * the last block stops one p short of kc at the latest (its spill, at most VL − MR ≤ MR floats, stays inside the
 * panel) and the tail is copied by scalars. */
static void pack_a_rows_t(long kc, const float *const *rows, float *dst) {
  enum { NG = (MR + TT_VL - 1) / TT_VL };
  long p = 0;
  for (; p + TT_VL < kc; p += TT_VL) {
    vf r[NG][TT_VL];
    UNROLL for (int g = 0; g < NG; g++) {
      UNROLL for (int i = 0; i < TT_VL; i++) r[g][i] = vload(rows[MINI(g * TT_VL + i, MR - 1)] + p);
      vtranspose(r[g]);
    }
    UNROLL for (int l = 0; l < TT_VL; l++) UNROLL for (int g = 0; g < NG; g++) vstore(dst + (p + l) * MR + g * TT_VL, r[g][l]);
  }
  for (; p < kc; p++) UNROLL for (int i = 0; i < MR; i++) dst[p * MR + i] = rows[i][p];
}

/* Transposed packing of one full NR-column panel of B whose columns are contiguous (brs = 1): dst[p·NR + j] =
 * cols[j][p], TT_VL×TT_VL blocks transposed in registers (NR is a multiple of TT_VL: no spill). */
static void pack_b_cols_t(long kc, const float *b, long bcs, float *dst) {
  long p = 0;
  for (; p + TT_VL <= kc; p += TT_VL)
    UNROLL for (int g = 0; g < TT_NV; g++) {
      vf r[TT_VL];
      UNROLL for (int i = 0; i < TT_VL; i++) r[i] = vload(b + (g * TT_VL + i) * bcs + p);
      vtranspose(r);
      UNROLL for (int l = 0; l < TT_VL; l++) vstore(dst + (p + l) * NR + g * TT_VL, r[l]);
    }
  for (; p < kc; p++) UNROLL for (int j = 0; j < NR; j++) dst[p * NR + j] = b[j * bcs + p];
}
static void pack_a(long mc, long kc, const float *a, long ars, long acs, float *dst) {
  for (long i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    int mr = (int)MINI(MR, mc - i0);
    if (acs == 1 && mr == MR) {
      /* MR row streams read in step, transposed in registers, one sequential write stream */
      const float *rows[MR];
      UNROLL for (int i = 0; i < MR; i++) rows[i] = a + (i0 + i) * ars;
      pack_a_rows_t(kc, rows, dst);
    } else if (acs == 1) {
      for (int i = 0; i < mr; i++) {
        const float *src = a + (i0 + i) * ars;
        for (long p = 0; p < kc; p++) dst[p * MR + i] = src[p];
      }
      for (int i = mr; i < MR; i++) for (long p = 0; p < kc; p++) dst[p * MR + i] = 0;
    } else {
      for (long p = 0; p < kc; p++) {
        const float *src = a + p * acs + i0 * ars;
        float *d = dst + p * MR;
        if (ars == 1 && mr == MR) { UNROLL for (int i = 0; i < MR; i++) d[i] = src[i]; }
        else {
          for (int i = 0; i < mr; i++) d[i] = src[i * ars];
          for (int i = mr; i < MR; i++) d[i] = 0;
        }
      }
    }
  }
}

static void pack_b(long kc, long nc, const float *b, long brs, long bcs, float *dst) {
  for (long j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
    int nr = (int)MINI(NR, nc - j0);
    if (bcs == 1) {
      if (nr == NR) {
        for (long p = 0; p < kc; p++) {
          const float *src = b + p * brs + j0;
          UNROLL for (int j = 0; j < TT_NV; j++) vstore(dst + p * NR + j * TT_VL, vload(src + j * TT_VL));
        }
      } else {
        for (long p = 0; p < kc; p++) {
          const float *src = b + p * brs + j0;
          float *d = dst + p * NR;
          for (int j = 0; j < nr; j++) d[j] = src[j];
          for (int j = nr; j < NR; j++) d[j] = 0;
        }
      }
    } else if (brs == 1 && nr == NR) {
      pack_b_cols_t(kc, b + j0 * bcs, bcs, dst);
    } else {
      for (int j = 0; j < nr; j++) {
        const float *src = b + (j0 + j) * bcs;
        for (long p = 0; p < kc; p++) dst[p * NR + j] = src[p * brs];
      }
      for (int j = nr; j < NR; j++) for (long p = 0; p < kc; p++) dst[p * NR + j] = 0;
    }
  }
}

#ifndef TT_KC
#define TT_KC 256
#endif
#ifndef TT_MC
#define TT_MC 240
#endif
#ifndef TT_NC
#define TT_NC 2016
#endif
#define KC TT_KC
#define MC ROUNDUP(TT_MC, MR)
#define NC ROUNDUP(TT_NC, NR)

/* One thread's GEMM on a sub-problem: C(m×n, ldc) (+)= A(m×k) · B(k×n). */
static void gemm_serial(int tid, long m, long n, long k, const float *a, long ars, long acs, const float *b, long brs,
                        long bcs, float *c, long ldc, int acc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!acc) for (long i = 0; i < m; i++) for (long j = 0; j < n; j++) c[i * ldc + j] = 0;
    return;
  }
  long kcap = MINI(KC, k);
  float *bp = tt_scratch(tid, SLOT_PACK_B, sizeof(float) * kcap * ROUNDUP(MINI(NC, n), NR));
  float *ap = tt_scratch(tid, SLOT_PACK_A, sizeof(float) * kcap * ROUNDUP(MINI(MC, m), MR));
  for (long jc = 0; jc < n; jc += NC) {
    long nc = MINI(NC, n - jc);
    for (long pc = 0; pc < k; pc += KC) {
      long kc = MINI(KC, k - pc);
      int accf = acc || pc > 0;
      pack_b(kc, nc, b + pc * brs + jc * bcs, brs, bcs, bp);
      for (long ic = 0; ic < m; ic += MC) {
        long mc = MINI(MC, m - ic);
        pack_a(mc, kc, a + ic * ars + pc * acs, ars, acs, ap);
        for (long jr = 0; jr < nc; jr += NR) {
          int nr = (int)MINI(NR, nc - jr);
          for (long ir = 0; ir < mc; ir += MR) {
            int mr = (int)MINI(MR, mc - ir);
            float *cp = c + (ic + ir) * ldc + jc + jr;
            if (mr == MR && nr == NR) uk_packed(kc, ap + ir * kc, 0, bp + jr * kc, cp, ldc, accf);
            else uk_packed_edge(kc, ap + ir * kc, bp + jr * kc, cp, ldc, accf, mr, nr);
          }
        }
      }
    }
  }
}

typedef struct {
  long m, n, k, ars, acs, brs, bcs, ldc;
  const float *a, *b;
  float *c;
  long sa, sb, sc;
  int acc, batch;
  long mchunk, nchunk, mtiles, ntiles;
} gemm_job;

static void gemm_task(void *ctx, long t, int tid) {
  const gemm_job *j = ctx;
  long per = j->mtiles * j->ntiles;
  long bi = t / per, r = t % per;
  long mi = r / j->ntiles, ni = r % j->ntiles;
  long m0 = mi * j->mchunk, n0 = ni * j->nchunk;
  long mm = MINI(j->mchunk, j->m - m0), nn = MINI(j->nchunk, j->n - n0);
  gemm_serial(tid, mm, nn, j->k, j->a + bi * j->sa + m0 * j->ars, j->ars, j->acs, j->b + bi * j->sb + n0 * j->bcs, j->brs,
              j->bcs, j->c + bi * j->sc + m0 * j->ldc + n0, j->ldc, j->acc);
}

/* Strided GEMM driver: splits the batch, or else the larger of M and N, across the thread pool. */
static void gemm_strided(long m, long n, long k, const float *a, long ars, long acs, long sa, const float *b, long brs,
                         long bcs, long sb, float *c, long ldc, long sc, int batch, int acc) {
  gemm_job j = { m, n, k, ars, acs, brs, bcs, ldc, a, b, c, sa, sb, sc, acc, batch, m, n, 1, 1 };
  int T = tt_num_threads();
  double work = (double)m * n * k * batch;
  if (T > 1 && batch < T && work > 2e5) {
    long want = (T + batch - 1) / batch;
    if (n >= m) {
      long chunk = ROUNDUP((n + want - 1) / want, NR);
      j.nchunk = chunk; j.ntiles = (n + chunk - 1) / chunk;
    } else {
      long chunk = ROUNDUP((m + want - 1) / want, MR);
      j.mchunk = chunk; j.mtiles = (m + chunk - 1) / chunk;
    }
  }
  long tasks = (long)batch * j.mtiles * j.ntiles;
  if (tasks == 1 || work < 2e5 || T == 1) for (long t = 0; t < tasks; t++) gemm_task(&j, t, 0);
  else tt_parallel(tasks, gemm_task, &j);
}

static void op_gemm(int ta, int tb, int m, int n, int k, const float *a, long sa, const float *b, long sb, float *c, long sc,
                    int batch, int acc) {
  /* GEMV shapes — few rows of A against a transposed B (Linear at small batch), or a single column of B — are row
   * dot products over memory as it lies: no packing (gemv.inc.c) */
  if (!ta && tb && m <= ROWDOT_MAX_M) {
    for (int i = 0; i < batch; i++) rowdot(m, n, k, a + i * sa, k, b + i * sb, k, c + i * sc, n, 1, acc);
    return;
  }
  if (!ta && !tb && n == 1) {
    for (int i = 0; i < batch; i++) rowdot(1, m, k, b + i * sb, k, a + i * sa, k, c + i * sc, 0, 1, acc);
    return;
  }
  long ars = ta ? 1 : k, acs = ta ? m : 1;
  long brs = tb ? 1 : n, bcs = tb ? k : 1;
  gemm_strided(m, n, k, a, ars, acs, sa, b, brs, bcs, sb, c, n, sc, batch, acc);
}

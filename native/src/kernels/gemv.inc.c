/* ------------------------------------------------------------------------------------------------------------
 * Row-dot products: C[i·csx + j·csw] (+)= Σ_p X[i][p] · W[j][p], for a few rows of X (m ≤ ROWDOT_MAX_M) against
 * many rows of W, both rows contiguous. This is the GEMV shape of inference at small batch: Linear at batch ≤ 8
 * (x · Wᵀ, the classifier's 1280→1000 or 2048→1000) and a 1×1 convolution on a 1×1 map (squeeze-excitation's two
 * convolutions). The packed GEMM handles these shapes badly: it packs the whole weight matrix on every call (the
 * one pass GEMV has to make anyway, plus a write), and its MR-row tiles carry m live rows out of MR. Here each
 * weight row is read once, straight from where it lies, while the few rows of X stay in L1; each register tile
 * holds independent vector accumulators (1 × 8, or up to 4 × 4), reduced horizontally at the end of the row.
 * ---------------------------------------------------------------------------------------------------------- */
#define ROWDOT_MAX_M 8

/* One tile: mx rows of X × nw rows of W (compile-time constants where inlined: the unused lanes of acc vanish). */
static inline __attribute__((always_inline)) void rowdot_tile(int mx, int nw, long k, const float *restrict x, long ldx,
                                                               const float *restrict w, long ldw, float *c, long csx,
                                                               long csw, int acc) {
  vf s[4][8];
  UNROLL for (int i = 0; i < 4; i++) UNROLL for (int j = 0; j < 8; j++) s[i][j] = (vf){0};
  long p = 0;
  for (; p + TT_VL <= k; p += TT_VL) {
    vf wv[8];
    UNROLL for (int j = 0; j < 8; j++) if (j < nw) wv[j] = vload(w + j * ldw + p);
    UNROLL for (int i = 0; i < 4; i++) {
      if (i >= mx) continue;
      vf xv = vload(x + i * ldx + p);
      UNROLL for (int j = 0; j < 8; j++) if (j < nw) s[i][j] = vfma(s[i][j], xv, wv[j]);
    }
  }
  UNROLL for (int i = 0; i < 4; i++) {
    if (i >= mx) continue;
    UNROLL for (int j = 0; j < 8; j++) {
      if (j >= nw) continue;
      float t = hsum(s[i][j]);
      for (long q = p; q < k; q++) t += x[i * ldx + q] * w[j * ldw + q];
      float *cp = c + i * csx + j * csw;
      *cp = acc ? *cp + t : t;
    }
  }
}

typedef struct {
  long m, n, k, ldx, ldw, csx, csw, chunk;
  const float *x, *w;
  float *c;
  int acc;
} rowdot_job;

/* W rows [j0, j1) against every row of X: W in blocks (8 rows for one X row, else 4), X in groups of up to 4 per
 * block, so each block of weights is read from memory once and then from L1. */
static void rowdot_range(const rowdot_job *jb, long j0, long j1) {
  const long k = jb->k, ldx = jb->ldx, ldw = jb->ldw, csx = jb->csx, csw = jb->csw;
  const int acc = jb->acc;
  if (jb->m == 1) {
    long j = j0;
    for (; j + 8 <= j1; j += 8) rowdot_tile(1, 8, k, jb->x, ldx, jb->w + j * ldw, ldw, jb->c + j * csw, csx, csw, acc);
    for (; j < j1; j++) rowdot_tile(1, 1, k, jb->x, ldx, jb->w + j * ldw, ldw, jb->c + j * csw, csx, csw, acc);
    return;
  }
  for (long j = j0; j < j1; j += 4) {
    int nw = (int)MINI(4, j1 - j);
    const float *w = jb->w + j * ldw;
    for (long i = 0; i < jb->m; i += 4) {
      int mx = (int)MINI(4, jb->m - i);
      const float *x = jb->x + i * ldx;
      float *c = jb->c + i * csx + j * csw;
      if (nw == 4) {
        switch (mx) {
          case 4: rowdot_tile(4, 4, k, x, ldx, w, ldw, c, csx, csw, acc); break;
          case 3: rowdot_tile(3, 4, k, x, ldx, w, ldw, c, csx, csw, acc); break;
          case 2: rowdot_tile(2, 4, k, x, ldx, w, ldw, c, csx, csw, acc); break;
          default: rowdot_tile(1, 4, k, x, ldx, w, ldw, c, csx, csw, acc); break;
        }
      } else {
        for (int q = 0; q < nw; q++)
          for (int r = 0; r < mx; r++)
            rowdot_tile(1, 1, k, x + r * ldx, ldx, w + q * ldw, ldw, c + r * csx + q * csw, csx, csw, acc);
      }
    }
  }
}

static void rowdot_task(void *ctx, long t, int tid) {
  (void)tid;
  const rowdot_job *jb = ctx;
  long j0 = t * jb->chunk;
  rowdot_range(jb, j0, MINI(jb->n, j0 + jb->chunk));
}

/* The driver: m ≤ ROWDOT_MAX_M rows of X (ldx apart) against n rows of W (ldw apart), k long; W's rows are shared
 * out across the thread pool in chunks of whole 8-row blocks when there is enough work. */
static void rowdot(long m, long n, long k, const float *x, long ldx, const float *w, long ldw, float *c, long csx,
                   long csw, int acc) {
  if (m <= 0 || n <= 0) return;
  rowdot_job jb = { m, n, k, ldx, ldw, csx, csw, n, x, w, c, acc };
  int T = tt_num_threads();
  if (T > 1 && (double)m * n * k > 2e5) {
    jb.chunk = ROUNDUP((n + 4 * T - 1) / (4 * T), 8);
    long tasks = (n + jb.chunk - 1) / jb.chunk;
    if (tasks > 1) {
      tt_parallel(tasks, rowdot_task, &jb);
      return;
    }
  }
  rowdot_range(&jb, 0, n);
}

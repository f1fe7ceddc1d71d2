/* ------------------------------------------------------------------------------------------------------------
 * Row-dot products: C[i·csx + j·csw] (+)= Σ_p X[i][p] · W[j][p], for a few rows of X (m ≤ ROWDOT_MAX_M) against
 * many rows of W, both rows contiguous. This is the GEMV shape of inference at small batch: Linear at batch ≤ 8
 * (x · Wᵀ, the classifier's 1280→1000 or 2048→1000) and a 1×1 convolution on a 1×1 map (squeeze-excitation's two
 * convolutions). The packed GEMM handles these shapes badly: it packs the whole weight matrix on every call (the
 * one pass GEMV has to make anyway, plus a write), and its MR-row tiles carry m live rows out of MR. Here each
 * weight row is read once, straight from where it lies, while the few rows of X stay in L1; each register tile
 * holds independent vector accumulators (1 × 8, or the width's dot tile), reduced horizontally at the end of the row.
 * ---------------------------------------------------------------------------------------------------------- */
#define ROWDOT_MAX_M 8
/* W of more floats than this (2 MB) is prefetched a block ahead (rowdot_tile's pf): such weights come from L3 or
 * memory, and a prefetch that finds its line in cache cost 4–5 % (batch 8, 1000×1280 in cache; cold, it saved 30 %). */
#define ROWDOT_FAR (512 * 1024)
/* The tile for several rows of X: the width's dot tile (rowdot_tile holds at most 4 × 8) */
#define RD_MX MINI(TT_DMR, 4)
#define RD_NW MINI(TT_DNR, 8)

/* One tile: mx rows of X × nw rows of W (compile-time constants where inlined: the unused lanes of acc vanish).
 * pf, when not null, is the next block of W rows (ldw apart), asked into L2 as this one is read: in a network the
 * classifier's weights come from memory (at batch 8 the maps before them fill L3), and without it a batch-8
 * 1280→1000 layer ran at 15 GB/s on two threads where one row alone streams at 24 (400 → 273 µs, AVX2 build). */
static inline __attribute__((always_inline)) void rowdot_tile(int mx, int nw, long k, const float *restrict x, long ldx,
                                                               const float *restrict w, long ldw, float *c, long csx,
                                                               long csw, int acc, const float *pf) {
  vf s[4][8];
  UNROLL for (int i = 0; i < 4; i++) UNROLL for (int j = 0; j < 8; j++) s[i][j] = (vf){0};
  long p = 0;
  for (; p + TT_VL <= k; p += TT_VL) {
    vf wv[8];
    UNROLL for (int j = 0; j < 8; j++) if (j < nw) wv[j] = vload(w + j * ldw + p);
    if (pf) UNROLL for (int j = 0; j < 8; j++) if (j < nw) __builtin_prefetch(pf + j * ldw + p, 0, 2);
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

/* tile(mx, NW) for mx = 1…TT_DMR rows of X, each case with its constant shape */
#define ROWDOT_TILE_ROWS(mx, NW, ...)                                                                              \
  switch (mx) {                                                                                                    \
    case 4: rowdot_tile(4, NW, __VA_ARGS__); break;                                                               \
    case 3: rowdot_tile(3, NW, __VA_ARGS__); break;                                                               \
    case 2: rowdot_tile(2, NW, __VA_ARGS__); break;                                                               \
    default: rowdot_tile(1, NW, __VA_ARGS__); break;                                                              \
  }

/* W rows [j0, j1) against every row of X: W in blocks (8 rows for one X row, else the dot tile's TT_DNR), X in
 * groups of up to TT_DMR per block, so each block of weights is read from memory once and then from L1. The tile
 * is the width's dot tile (width8.h: 4 × 3 on sixteen registers; 4 × 4 there spilled its accumulators and ran a
 * batch-8 classifier at half the AVX-512 build's speed, 53 against 98 GFLOP/s). */
static void rowdot_range(const rowdot_job *jb, long j0, long j1) {
  const long k = jb->k, ldx = jb->ldx, ldw = jb->ldw, csx = jb->csx, csw = jb->csw;
  const int acc = jb->acc;
  /* weights larger than L2 (ROWDOT_FAR) most likely come from L3 or memory: those are prefetched */
  const int far = jb->n * jb->k > ROWDOT_FAR;
  if (jb->m == 1) {
    long j = j0;
    /* (no prefetch: one row of X makes this a stream the hardware follows, and the weights of a batch-1
     * network's classifier are in L3, where eight prefetches a step slowed 1000×1280 by half) */
    for (; j + 8 <= j1; j += 8)
      rowdot_tile(1, 8, k, jb->x, ldx, jb->w + j * ldw, ldw, jb->c + j * csw, csx, csw, acc, 0);
    for (; j < j1; j++) rowdot_tile(1, 1, k, jb->x, ldx, jb->w + j * ldw, ldw, jb->c + j * csw, csx, csw, acc, 0);
    return;
  }
  for (long j = j0; j < j1; j += RD_NW) {
    int nw = (int)MINI(RD_NW, j1 - j);
    for (long i = 0; i < jb->m; i += RD_MX) {
      int mx = (int)MINI(RD_MX, jb->m - i);
      const float *x = jb->x + i * ldx;
      float *c = jb->c + i * csx + j * csw;
      /* the next block is fetched during the first group of X rows (the others find this one in cache) */
      const float *pf = far && i == 0 && j + 2 * RD_NW <= j1 ? jb->w + (j + RD_NW) * ldw : 0;
      if (nw == RD_NW) {
        ROWDOT_TILE_ROWS(mx, RD_NW, k, x, ldx, jb->w + j * ldw, ldw, c, csx, csw, acc, pf)
      } else
        for (int q = 0; q < nw; q++)
          ROWDOT_TILE_ROWS(mx, 1, k, x, ldx, jb->w + (j + q) * ldw, ldw, c + q * csw, csx, csw, acc, 0)
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

/*
 * Instruction-set-generic kernels. Included once per target by isa_*.c / wasm_api.c with:
 *   TT_VL      floats per SIMD vector (16 AVX-512, 8 AVX2, 4 SSE2 / wasm SIMD128)
 *   TT_MR, TT_NV   GEMM micro-tile: TT_MR rows × TT_NV vectors of C held in registers
 *   TT_DMR, TT_DNR dot-product micro-tile (conv weight gradient)
 *   TT_NAME    backend name, TT_OPS_SYMBOL  name of the exported ops table
 * Everything else is static, so each inclusion is self-contained. Vector code uses GCC/Clang vector
 * extensions only; the compiler maps them onto the target's registers and, with -ffp-contract=fast, FMA.
 */
#include "tt.h"

#define NR (TT_NV * TT_VL)
#define MR TT_MR
#define MINI(a, b) ((a) < (b) ? (a) : (b))
#define MAXI(a, b) ((a) > (b) ? (a) : (b))
#define COMMA ,
#define ROUNDUP(a, b) (((a) + (b) - 1) / (b) * (b))

#if defined(__clang__)
#define UNROLL _Pragma("unroll")
#else
#define UNROLL _Pragma("GCC unroll 32")
#endif

typedef float vf __attribute__((vector_size(TT_VL * 4)));
typedef float vfu __attribute__((vector_size(TT_VL * 4), aligned(4)));
typedef int32_t vi __attribute__((vector_size(TT_VL * 4)));

static inline vf vload(const float *p) { return *(const vfu *)p; }
static inline void vstore(float *p, vf v) { *(vfu *)p = v; }
#if TT_VL == 4
#define SPLAT_INIT(x) { x, x, x, x }
#elif TT_VL == 8
#define SPLAT_INIT(x) { x, x, x, x, x, x, x, x }
#elif TT_VL == 16
#define SPLAT_INIT(x) { x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x }
#endif
static inline vf vsplat(float x) { return (vf)SPLAT_INIT(x); }
/* acc + a·b. x86 builds contract it to FMA (-ffp-contract=fast); wasm SIMD128 has no fused form, so the relaxed
 * build asks for relaxed_madd, which the runtime maps to FMA where the CPU has one. */
#if defined(__wasm_relaxed_simd__)
static inline vf vfma(vf acc, vf a, vf b) { return __builtin_wasm_relaxed_madd_f32x4(a, b, acc); }
#else
static inline vf vfma(vf acc, vf a, vf b) { return acc + a * b; }
#endif
static inline vf vsel(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }
/* TT_VL floats from p, s apart. */
static inline vf vgather(const float *p, long s) {
  vf r;
  UNROLL for (int l = 0; l < TT_VL; l++) r[l] = p[l * s];
  return r;
}
/* The first n (1 ≤ n ≤ TT_VL) of them; the other lanes repeat the last, so nothing past p[(n−1)·s] is read. */
static inline vf vgather_n(const float *p, long s, long n) {
  vf r;
  UNROLL for (int l = 0; l < TT_VL; l++) r[l] = p[(l < n ? l : n - 1) * s];
  return r;
}
/* Horizontal sum as a halving tree (log2 VL dependent adds instead of VL). */
typedef float vhalf4 __attribute__((vector_size(16)));
typedef float vhalf2 __attribute__((vector_size(8)));
static inline float hsum(vf v) {
#if TT_VL == 16
  typedef float v8 __attribute__((vector_size(32)));
  v8 h8 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  vhalf4 h4 = __builtin_shufflevector(h8, h8, 0, 1, 2, 3) + __builtin_shufflevector(h8, h8, 4, 5, 6, 7);
#elif TT_VL == 8
  vhalf4 h4 = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
#else
  vhalf4 h4 = v;
#endif
  vhalf2 h2 = __builtin_shufflevector(h4, h4, 0, 1) + __builtin_shufflevector(h4, h4, 2, 3);
  return h2[0] + h2[1];
}
static inline float hmax(vf v) {
  float s = v[0];
  UNROLL for (int i = 1; i < TT_VL; i++) s = v[i] > s ? v[i] : s;
  return s;
}

/* ------------------------------------------------------------------------------------------------------------
 * exp / log
 * ---------------------------------------------------------------------------------------------------------- */
/* Cephes-style expf on vectors: |rel err| ≲ 2 ulp, exact overflow to +inf, underflow to 0 (via denormals), NaN kept. */
static inline vf vexp(vf x) {
  const vf hi = vsplat(88.7228394f), lo = vsplat(-103.972084f);
  vf xc = vsel(x > hi, hi, x);
  xc = vsel(xc < lo, lo, xc);
  vf t = xc * 1.44269504088896341f;
  const vf magic = vsplat(12582912.0f); /* 1.5 * 2^23: round to nearest */
  vf n = (t + magic) - magic;
  vf r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = vsplat(1.9875691500E-4f);
  p = p * r + 1.3981999507E-3f;
  p = p * r + 8.3334519073E-3f;
  p = p * r + 4.1665795894E-2f;
  p = p * r + 1.6666665459E-1f;
  p = p * r + 5.0000001201E-1f;
  p = p * r * r + r + 1.0f;
  vi ni = __builtin_convertvector(n, vi);
  vi n1 = ni >> 1, n2 = ni - n1;
  vf s1 = (vf)((n1 + 127) << 23), s2 = (vf)((n2 + 127) << 23);
  vf y = p * s1 * s2;
  y = vsel(x > hi, vsplat(__builtin_inff()), y);
  y = vsel(x < lo, vsplat(0.0f), y);
  return vsel(x != x, x, y);
}

/* Natural log in double for per-row scalars (log-softmax); no libm in the wasm build. */
static double tt_log(double x) {
  if (!(x > 0)) return x == 0 ? -__builtin_inf() : __builtin_nan("");
  if (x == __builtin_inf()) return x;
  union { double d; uint64_t u; } v = { x };
  int e = (int)((v.u >> 52) & 0x7ff);
  if (e == 0) { v.d = x * 18014398509481984.0; e = (int)((v.u >> 52) & 0x7ff) - 54; }
  e -= 1022;
  v.u = (v.u & 0x800fffffffffffffULL) | 0x3fe0000000000000ULL; /* m in [0.5, 1) */
  double m = v.d;
  if (m < 0.70710678118654752) { m *= 2; e -= 1; }
  double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
  for (int k = 1; k < 40; k += 2) { sum += term / k; term *= s2; if (term < 1e-18 && term > -1e-18) break; }
  return 2 * sum + e * 0.69314718055994530942;
}

/* ------------------------------------------------------------------------------------------------------------
 * GEMM micro-kernels: C[MR×NR] (+)= Σ_p A[p][0..MR) ⊗ B_p[0..NR), A packed p-major in MR-row panels.
 * The packed variant reads B panels (NR floats per p); the indirect one reads row p of B at b + boff[p], which
 * lets convolution stream its (padded) input without im2col.
 * ---------------------------------------------------------------------------------------------------------- */
#define UK_DEFINE(NAME, APARAMS, AELEM, ASTEP, BPARAMS, BROW, BSTEP)                                           \
  static void NAME(long kc, const float *restrict a, APARAMS, BPARAMS, float *restrict c, long ldc, int acc) { \
    vf cr[MR][TT_NV];                                                                                          \
    UNROLL for (int i = 0; i < MR; i++) UNROLL for (int j = 0; j < TT_NV; j++) cr[i][j] = (vf){0};            \
    for (long p = 0; p < kc; p++) {                                                                            \
      const float *bp = BROW;                                                                                  \
      vf bv[TT_NV];                                                                                            \
      UNROLL for (int j = 0; j < TT_NV; j++) bv[j] = vload(bp + j * TT_VL);                                    \
      UNROLL for (int i = 0; i < MR; i++) {                                                                    \
        vf av = vsplat(AELEM);                                                                                 \
        UNROLL for (int j = 0; j < TT_NV; j++) cr[i][j] = vfma(cr[i][j], av, bv[j]);                            \
      }                                                                                                        \
      ASTEP;                                                                                                   \
      BSTEP;                                                                                                   \
    }                                                                                                          \
    if (acc) {                                                                                                 \
      UNROLL for (int i = 0; i < MR; i++) UNROLL for (int j = 0; j < TT_NV; j++)                              \
        vstore(c + i * ldc + j * TT_VL, vload(c + i * ldc + j * TT_VL) + cr[i][j]);                            \
    } else {                                                                                                   \
      UNROLL for (int i = 0; i < MR; i++) UNROLL for (int j = 0; j < TT_NV; j++)                              \
        vstore(c + i * ldc + j * TT_VL, cr[i][j]);                                                             \
    }                                                                                                          \
  }

/* A packed p-major in MR-row panels (lda unused) … */
UK_DEFINE(uk_packed, long lda, a[i], (void)lda COMMA a += MR, const float *restrict b, b, b += NR)
UK_DEFINE(uk_indirect, long lda, a[i], (void)lda COMMA a += MR, const float *restrict b COMMA const int32_t *restrict boff, b + boff[p], (void)0)
/* … or read in place: MR rows of a row-major matrix, lda apart (convolution weights need no packing). */
UK_DEFINE(uk_indirect_rows, long lda, a[i * lda], a += 1, const float *restrict b COMMA const int32_t *restrict boff, b + boff[p], (void)0)
/* … or from MR row pointers (the weight gradient reads its A rows straight from the padded image, one per tap). */
UK_DEFINE(uk_rows_ptr, const float *const *restrict ar, ar[i][p], (void)0, const float *restrict b, b, b += NR)

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
static void pack_a(long mc, long kc, const float *a, long ars, long acs, float *dst) {
  for (long i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    int mr = (int)MINI(MR, mc - i0);
    if (acs == 1 && mr == MR) {
      /* MR row streams read in step, one sequential write stream */
      const float *rows[MR];
      UNROLL for (int i = 0; i < MR; i++) rows[i] = a + (i0 + i) * ars;
      for (long p = 0; p < kc; p++) UNROLL for (int i = 0; i < MR; i++) dst[p * MR + i] = rows[i][p];
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
  long ars = ta ? 1 : k, acs = ta ? m : 1;
  long brs = tb ? 1 : n, bcs = tb ? k : 1;
  gemm_strided(m, n, k, a, ars, acs, sa, b, brs, bcs, sb, c, n, sc, batch, acc);
}

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
  int relu;
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
    for (long y = s0 / WP; y * WP < s1; y++) {
      long xs = MAXI(s0 - y * WP, 0), xe = MINI(s1 - y * WP, ow);
      const float *src = cr + y * WP;
      float *dst = orow + y * ow;
      if (d->relu) for (long xo = xs; xo < xe; xo++) { float v = src[xo] * sv + bv; dst[xo] = (v > 0 || v != v) ? v : 0.0f; }
      else for (long xo = xs; xo < xe; xo++) dst[xo] = src[xo] * sv + bv;
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

/* ------------------------------------------------------------------------------------------------------------
 * im2col / col2im for the strided cases.
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct { long n, c, h, w, oc, kh, kw, oh, ow, sH, sW, pH, pW, dH, dW, groups; } cgeom;

static cgeom parse_cg(const int32_t *g) {
  cgeom r = { g[CG_N], g[CG_C], g[CG_H], g[CG_W], g[CG_OC], g[CG_KH], g[CG_KW], g[CG_OH], g[CG_OW],
              g[CG_SH], g[CG_SW], g[CG_PH], g[CG_PW], g[CG_DH], g[CG_DW], g[CG_GROUPS] };
  return r;
}

/* One row of col: tap (i, j) of one input plane over every output pixel (zero where it reads padding). */
static void im2col_tap(const float *plane, const cgeom *g, long i, long j, float *dst) {
  long x0 = j * g->dW - g->pW;
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

/* The convolution epilogue on one output plane: o = act(sv·o + bv). */
static void epilogue_plane(float *o, long sp, float sv, float bv, int relu) {
  if (relu) for (long s = 0; s < sp; s++) { float v = o[s] * sv + bv; o[s] = (v > 0 || v != v) ? v : 0.0f; }
  else if (sv != 1.0f || bv != 0.0f) for (long s = 0; s < sp; s++) o[s] = o[s] * sv + bv;
}

typedef struct { const float *x, *w, *bias, *scale; float *out; cgeom g; int relu; } im2col_job;

static void epilogue_channel(const im2col_job *j, float *o, long sp, long oc) {
  epilogue_plane(o, sp, j->scale ? j->scale[oc] : 1.0f, j->bias ? j->bias[oc] : 0.0f, j->relu);
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

/* Depthwise (groups == c == oc): a direct stencil per plane, vectorised along output rows by the compiler. */
static void dw_fwd_task(void *ctx, long p, int tid) {
  (void)tid;
  const im2col_job *j = ctx;
  const cgeom *g = &j->g;
  long c = p % g->c;
  const float *xp = j->x + p * g->h * g->w;
  const float *wk = j->w + c * g->kh * g->kw;
  float *op = j->out + p * g->oh * g->ow;
  memset(op, 0, sizeof(float) * g->oh * g->ow);
  for (long i = 0; i < g->kh; i++)
    for (long jj = 0; jj < g->kw; jj++) {
      float wv = wk[i * g->kw + jj];
      long off = jj * g->dW - g->pW;
      /* valid output columns: 0 <= xo*sW + off < w */
      long xlo = off >= 0 ? 0 : (-off + g->sW - 1) / g->sW;
      long xhi = (g->w - 1 - off) < 0 ? 0 : MINI(g->ow, (g->w - 1 - off) / g->sW + 1);
      for (long y = 0; y < g->oh; y++) {
        long iy = y * g->sH - g->pH + i * g->dH;
        if (iy < 0 || iy >= g->h) continue;
        const float *src = xp + iy * g->w + off;
        float *dst = op + y * g->ow;
        if (g->sW == 1) for (long xo = xlo; xo < xhi; xo++) dst[xo] += wv * src[xo];
        else for (long xo = xlo; xo < xhi; xo++) dst[xo] += wv * src[xo * g->sW];
      }
    }
  epilogue_channel(j, op, g->oh * g->ow, c);
}

/* ------------------------------------------------------------------------------------------------------------
 * Batched lowering for small feature maps (late ResNet stages, 8×8 down to 1×1, and most of CIFAR-sized nets).
 * Per image, those GEMMs have a tiny N (forward, backward-to-input) or K (weight gradient), and the padded-width
 * trick spends most of its columns on padding. Here the im2col columns of nb images sit side by side,
 * col[kdim, nb·sp], so each group is one well-shaped GEMM with N (or K) = nb·sp, threaded inside the GEMM.
 * ---------------------------------------------------------------------------------------------------------- */
#define BATCHED_COL_FLOATS (4L << 20) /* cap on one chunk's col buffer (16 MB): larger batches go in chunks */

/* Fraction of the padded-width GEMM's columns that are real outputs (the rest is padding and tile rounding). */
static double dconv_efficiency(const cgeom *g) {
  long wp = g->ow + (g->kw - 1) * g->dW / g->sW;
  return (double)(g->oh * g->ow) / (double)ROUNDUP(g->oh * wp, NR);
}

/* Thresholds measured on W3/W4 shapes (AVX2, 2 threads): the padded-width kernels win from 8×8 up in the forward
 * and backward-to-input directions; strided convs otherwise run per-image im2col, which the batched form beats
 * whenever maps are small. */
static int wgemm_applies(const cgeom *g);

static int conv_use_batched(const cgeom *g, int weight_grad) {
  if (g->groups > 1 && g->groups == g->c) return 0; /* depthwise has its own kernels */
  long sp = g->oh * g->ow;
  if (g->sH != 1 || g->sW != 1) {
    if (weight_grad) return wgemm_applies(g) ? sp <= 4 : sp <= 256;
    return g->kh * g->kw == 1 ? sp <= 256 : dconv_efficiency(g) < 0.6;
  }
  /* the weight gradient's GEMM form wins from 4×4 up; maps it does not serve stay batched up to 8×8 */
  if (weight_grad) return sp <= 4 || (!wgemm_applies(g) && sp <= 64);
  return dconv_efficiency(g) < 0.6;
}

/*
 * Taps that read only padding for every output pixel (a 3×3 filter on a 1×1 map has one live tap, a stride-2
 * 3×3 on 2×2 → 1×1 has four) are dropped from the lowering: their columns would be all zeros, so skipping them
 * divides the GEMM's work by up to kh·kw. Returns the live count and marks them in `live` (kh·kw ≤ MAX_TAPS).
 */
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

typedef struct {
  const cgeom *g;
  const float *x, *gy, *bias, *scale;
  float *col, *gyt, *gx, *out;
  long b0, gr, ld;
  int relu;
  const uint8_t *live; /* NULL: every tap */
} batch_job;

/* The lowering's shape: K = cg · live taps, and the live mask (NULL when all taps are live). */
typedef struct { long cg, ocg, khw, ntaps, kd, sp; uint8_t mask[MAX_TAPS]; const uint8_t *live; int16_t tap[MAX_TAPS]; } lowering;

static void lowering_init(lowering *l, const cgeom *g) {
  l->cg = g->c / g->groups;
  l->ocg = g->oc / g->groups;
  l->khw = g->kh * g->kw;
  l->sp = g->oh * g->ow;
  l->ntaps = l->khw <= MAX_TAPS ? live_taps(g, l->mask) : l->khw;
  if (l->ntaps == 0) l->ntaps = l->khw; /* padding only: keep the plain lowering (its columns are all zero) */
  l->live = l->ntaps < l->khw ? l->mask : NULL;
  if (l->live) for (long t = 0, u = 0; t < l->khw; t++) if (l->live[t]) l->tap[u++] = (int16_t)t;
  l->kd = l->cg * l->ntaps;
}

static void par_for(long n, tt_task_fn fn, void *ctx) {
  if (tt_num_threads() > 1 && n > 1) tt_parallel(n, fn, ctx);
  else for (long t = 0; t < n; t++) fn(ctx, t, 0);
}

/* Moving weights between the full [ocg, cg·khw] layout and the live-tap one [ocg, kd] (kd = cg·ntaps) reads or
 * writes every tap of a late-stage layer (9.4 MB for 512×512×3×3) to use a ninth of it: memory-bound, so both
 * threads take a share of the output channels. */
typedef struct { const lowering *l; const float *src; float *dst; long rows_per_task; } taps_job;

/* dst[o, c·ntaps + t'] = w[o, c, tap[t']] for the task's rows of one group. */
static void gather_taps_task(void *ctx, long t, int tid) {
  (void)tid;
  const taps_job *j = ctx;
  const lowering *l = j->l;
  for (long o = t * j->rows_per_task; o < MINI(l->ocg, (t + 1) * j->rows_per_task); o++)
    for (long c = 0; c < l->cg; c++) {
      const float *src = j->src + (o * l->cg + c) * l->khw;
      float *d = j->dst + o * l->kd + c * l->ntaps;
      for (long u = 0; u < l->ntaps; u++) d[u] = src[l->tap[u]];
    }
}

/* The inverse for a gradient: dst[o, c, tap[t']] = src[o, c·ntaps + t'], zero at the dead taps. */
static void scatter_taps_task(void *ctx, long t, int tid) {
  (void)tid;
  const taps_job *j = ctx;
  const lowering *l = j->l;
  long o0 = t * j->rows_per_task, o1 = MINI(l->ocg, o0 + j->rows_per_task);
  if (o0 >= o1) return;
  memset(j->dst + o0 * l->cg * l->khw, 0, sizeof(float) * (o1 - o0) * l->cg * l->khw);
  for (long o = o0; o < o1; o++)
    for (long c = 0; c < l->cg; c++) {
      float *d = j->dst + (o * l->cg + c) * l->khw;
      const float *src = j->src + o * l->kd + c * l->ntaps;
      for (long u = 0; u < l->ntaps; u++) d[l->tap[u]] = src[u];
    }
}

static void run_taps(const lowering *l, const float *src, float *dst, tt_task_fn fn) {
  long tasks = MINI(l->ocg, 4L * tt_num_threads());
  taps_job j = { l, src, dst, (l->ocg + tasks - 1) / tasks };
  par_for((l->ocg + j.rows_per_task - 1) / j.rows_per_task, fn, &j);
}

static void batch_im2col_task(void *ctx, long b, int tid) {
  (void)tid;
  const batch_job *j = ctx;
  const cgeom *g = j->g;
  long cg = g->c / g->groups;
  im2col(j->x + (j->b0 + b) * g->c * g->h * g->w, j->gr * cg, cg, g, j->col + b * g->oh * g->ow, j->ld, j->live);
}

static void batch_col2im_task(void *ctx, long b, int tid) {
  (void)tid;
  const batch_job *j = ctx;
  const cgeom *g = j->g;
  long cg = g->c / g->groups;
  col2im(j->col + b * g->oh * g->ow, j->gr * cg, cg, g, j->gx + (j->b0 + b) * g->c * g->h * g->w, j->ld, j->live);
}

/* gyt[o, b·sp + s] = gy[b0 + b, gr·ocg + o, s] */
static void batch_gather_task(void *ctx, long b, int tid) {
  (void)tid;
  const batch_job *j = ctx;
  const cgeom *g = j->g;
  long ocg = g->oc / g->groups, sp = g->oh * g->ow;
  const float *src = j->gy + ((j->b0 + b) * g->oc + j->gr * ocg) * sp;
  for (long o = 0; o < ocg; o++) memcpy(j->gyt + o * j->ld + b * sp, src + o * sp, sizeof(float) * sp);
}

/* out[b0 + b, gr·ocg + o, s] = act(res[o, b·sp + s] + bias) */
static void batch_scatter_task(void *ctx, long b, int tid) {
  (void)tid;
  const batch_job *j = ctx;
  const cgeom *g = j->g;
  long ocg = g->oc / g->groups, sp = g->oh * g->ow;
  for (long o = 0; o < ocg; o++) {
    long oc = j->gr * ocg + o;
    float *dst = j->out + ((j->b0 + b) * g->oc + oc) * sp;
    memcpy(dst, j->gyt + o * j->ld + b * sp, sizeof(float) * sp);
    epilogue_plane(dst, sp, j->scale ? j->scale[oc] : 1.0f, j->bias ? j->bias[oc] : 0.0f, j->relu);
  }
}

static long batched_images(const cgeom *g, long kd) {
  long nb = BATCHED_COL_FLOATS / (kd * g->oh * g->ow);
  return nb < 1 ? 1 : MINI(nb, g->n);
}

/* Weights of group gr as the GEMM sees them: in place, or restricted to the live taps in scratch. */
static const float *lowered_weights(const lowering *l, const float *w, long gr) {
  if (!l->live) return w + gr * l->ocg * l->kd;
  float *wl = tt_shared_scratch(SH_WPACK, sizeof(float) * l->ocg * l->kd);
  run_taps(l, w + gr * l->ocg * l->cg * l->khw, wl, gather_taps_task);
  return wl;
}

/* Shape of the lowering, the job's shared parts and its scratch; returns how many images one chunk holds. */
static long batch_begin(lowering *l, batch_job *j, const cgeom *g) {
  lowering_init(l, g);
  long nbmax = batched_images(g, l->kd);
  j->g = g;
  j->live = l->live;
  j->col = tt_shared_scratch(SH_XPAD, sizeof(float) * l->kd * nbmax * l->sp);
  j->gyt = tt_shared_scratch(SH_GYPAD, sizeof(float) * l->ocg * nbmax * l->sp);
  return nbmax;
}

static void conv_fwd_batched(const float *x, const float *w, const float *bias, const float *scale, float *out, const cgeom *g, int relu) {
  lowering l;
  batch_job j = { .x = x, .bias = bias, .scale = scale, .out = out, .relu = relu };
  long nbmax = batch_begin(&l, &j, g);
  for (j.gr = 0; j.gr < g->groups; j.gr++) {
    const float *wg = lowered_weights(&l, w, j.gr);
    for (j.b0 = 0; j.b0 < g->n; j.b0 += nbmax) {
      long nb = MINI(nbmax, g->n - j.b0);
      j.ld = nb * l.sp;
      par_for(nb, batch_im2col_task, &j);
      gemm_strided(l.ocg, j.ld, l.kd, wg, l.kd, 1, 0, j.col, j.ld, 1, 0, j.gyt, j.ld, 0, 1, 0);
      par_for(nb, batch_scatter_task, &j);
    }
  }
}

static void conv_bwd_input_batched(const float *gy, const float *w, float *gx, const cgeom *g) {
  lowering l;
  batch_job j = { .gy = gy, .gx = gx };
  long nbmax = batch_begin(&l, &j, g);
  memset(gx, 0, sizeof(float) * g->n * g->c * g->h * g->w);
  for (j.gr = 0; j.gr < g->groups; j.gr++) {
    const float *wg = lowered_weights(&l, w, j.gr);
    for (j.b0 = 0; j.b0 < g->n; j.b0 += nbmax) {
      long nb = MINI(nbmax, g->n - j.b0);
      j.ld = nb * l.sp;
      par_for(nb, batch_gather_task, &j);
      /* col [kd, nb·sp] = W_gᵀ · gyt */
      gemm_strided(l.kd, j.ld, l.ocg, wg, 1, l.kd, 0, j.gyt, j.ld, 1, 0, j.col, j.ld, 0, 1, 0);
      par_for(nb, batch_col2im_task, &j);
    }
  }
}

static void conv_bwd_weight_batched(const float *x, const float *gy, float *gw, const cgeom *g) {
  lowering l;
  batch_job j = { .x = x, .gy = gy };
  long nbmax = batch_begin(&l, &j, g);
  /* with dead taps the GEMM fills a compact [ocg, kd] block per group, scattered into gw at the end */
  float *gl = l.live ? tt_shared_scratch(SH_WPACK, sizeof(float) * l.ocg * l.kd) : NULL;
  for (j.gr = 0; j.gr < g->groups; j.gr++) {
    float *dst = gl ? gl : gw + j.gr * l.ocg * l.kd;
    for (j.b0 = 0; j.b0 < g->n; j.b0 += nbmax) {
      long nb = MINI(nbmax, g->n - j.b0);
      j.ld = nb * l.sp;
      par_for(nb, batch_im2col_task, &j);
      par_for(nb, batch_gather_task, &j);
      /* gW_g [ocg, kd] (+)= gyt [ocg, nb·sp] · colᵀ */
      gemm_strided(l.ocg, l.kd, j.ld, j.gyt, j.ld, 1, 0, j.col, 1, j.ld, 0, dst, l.kd, 0, 1, j.b0 > 0);
    }
    if (gl) run_taps(&l, gl, gw + j.gr * l.ocg * l.cg * l.khw, scatter_taps_task);
  }
}

/* ------------------------------------------------------------------------------------------------------------
 * Winograd F(2×2, 3×3) for stride-1, undilated, ungrouped 3×3 convolutions (Lavin & Gray 2016): each 2×2 block of
 * outputs is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over a 4×4 input tile d, so the channel sums become 16 independent GEMMs
 * with 16 multiplies per 4 outputs instead of 36: 2.25× fewer, less the transforms. A task takes whole rows of
 * tiles, about WINO_TILES, so its transformed input and products stay in cache.
 * ---------------------------------------------------------------------------------------------------------- */
#define WINO_TILES 96 /* tiles per task, at least: whole rows of tiles */
typedef struct {
  const float *xpad, *u, *bias, *scale;
  float *out;
  long c, oc, oh, ow, HP, WP, th, tw, rows, blocks;
  int relu;
} wino_job;

/* Even and odd lanes of the 2·TT_VL floats a‖b. */
#if TT_VL == 4
#define EVEN_LANES 0, 2, 4, 6
#define ODD_LANES 1, 3, 5, 7
#elif TT_VL == 8
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14
#define ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15
#else
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#endif

/* Even and odd floats of p[0 .. 2·TT_VL): two loads and two shuffles instead of 2·TT_VL scalar loads. */
static inline void load_deinterleaved(const float *p, vf *even, vf *odd) {
  vf a = vload(p), b = vload(p + TT_VL);
  *even = __builtin_shufflevector(a, b, EVEN_LANES);
  *odd = __builtin_shufflevector(a, b, ODD_LANES);
}

/* U[ξ][ci][o] = (G g Gᵀ)[ξ] with G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], ξ = 4·row + column of the 4×4 result. */
static void wino_weights(const float *w, float *u, long oc, long c) {
  long plane = oc * c;
  for (long ci = 0; ci < c; ci++) /* o innermost: the 16 output planes are written along their rows */
    for (long o = 0; o < oc; o++) {
      const float *g = w + (o * c + ci) * 9;
      float t[4][3];
      for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
      }
      for (int i = 0; i < 4; i++) {
        float *d = u + (long)(4 * i) * plane + ci * oc + o;
        d[0] = t[i][0];
        d[plane] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        d[2 * plane] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        d[3 * plane] = t[i][2];
      }
    }
}

/* Input transform of tiles (ty, tx … tx+TT_VL) of one channel: V[ξ] at v + ξ·cT, lanes = tiles. Reads the 4 rows
 * from column 2·tx as two stride-2 deinterleaves (columns 0/1 of each tile, then 2/3 two floats on). */
static inline void wino_in_vec(const float *d, long WP, float *v, long cT) {
  vf r[4][4];
  UNROLL for (int i = 0; i < 4; i++) {
    const float *row = d + i * WP;
    vf c0, c1, c2, c3;
    load_deinterleaved(row, &c0, &c1);
    load_deinterleaved(row + 2, &c2, &c3);
    r[i][0] = c0 - c2; r[i][1] = c1 + c2; r[i][2] = c2 - c1; r[i][3] = c1 - c3;
  }
  UNROLL for (int q = 0; q < 4; q++) {
    vstore(v + (0 + q) * cT, r[0][q] - r[2][q]);
    vstore(v + (4 + q) * cT, r[1][q] + r[2][q]);
    vstore(v + (8 + q) * cT, r[2][q] - r[1][q]);
    vstore(v + (12 + q) * cT, r[1][q] - r[3][q]);
  }
}

/* The same for one tile (rows narrower than a vector). */
static inline void wino_in_one(const float *d, long WP, float *v, long cT) {
  float r[4][4];
  for (int i = 0; i < 4; i++) {
    const float *row = d + i * WP;
    r[i][0] = row[0] - row[2]; r[i][1] = row[1] + row[2]; r[i][2] = row[2] - row[1]; r[i][3] = row[1] - row[3];
  }
  for (int q = 0; q < 4; q++) {
    v[(0 + q) * cT] = r[0][q] - r[2][q];
    v[(4 + q) * cT] = r[1][q] + r[2][q];
    v[(8 + q) * cT] = r[2][q] - r[1][q];
    v[(12 + q) * cT] = r[1][q] - r[3][q];
  }
}

/* V[ξ][ci][tile] = (Bᵀ d B)[ξ] for the tile rows ty0 … ty0+rows of one image (xb: its padded channels), tiles
 * numbered along the rows; Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]. A row's last vector overlaps the one
 * before it rather than running past the row (the overlap is computed twice, identically). */
static void wino_input_block(const wino_job *j, const float *xb, float *v, long ty0, long rows) {
  long tw = j->tw, T = rows * tw, WP = j->WP, plane = j->HP * WP, cT = j->c * T;
  for (long ci = 0; ci < j->c; ci++) {
    const float *xc = xb + ci * plane;
    for (long r = 0; r < rows; r++) {
      const float *d = xc + 2 * (ty0 + r) * WP;
      float *vr = v + ci * T + r * tw;
      if (tw < TT_VL) {
        for (long tx = 0; tx < tw; tx++) wino_in_one(d + 2 * tx, WP, vr + tx, cT);
        continue;
      }
      for (long tx = 0;; tx += TT_VL) {
        if (tx + TT_VL > tw) tx = tw - TT_VL;
        wino_in_vec(d + 2 * tx, WP, vr + tx, cT);
        if (tx + TT_VL >= tw) break;
      }
    }
  }
}

static void wino_task(void *ctx, long t, int tid) {
  const wino_job *j = ctx;
  long b = t / j->blocks, ty0 = (t % j->blocks) * j->rows, rows = MINI(j->rows, j->th - ty0), tw = j->tw, T = rows * tw;
  long c = j->c, oc = j->oc, WP = j->WP, plane = j->HP * WP, cT = c * T, oT = oc * T;
  float *v = tt_scratch(tid, SLOT_COL, sizeof(float) * 16 * cT);
  float *m = tt_scratch(tid, SLOT_TILE, sizeof(float) * 16 * oT);
  const float *xb = j->xpad + b * c * plane;
  wino_input_block(j, xb, v, ty0, rows);
  /* Mᵀ[ξ] (tiles × oc) = V[ξ]ᵀ (tiles × c) · U[ξ] (c × oc): tiles as GEMM rows and channels as columns, so the
   * register tiles are full (channel counts are multiples of the vector width, rarely of the row block) */
  for (int xi = 0; xi < 16; xi++)
    gemm_serial(tid, T, oc, c, v + xi * cT, 1, T, j->u + xi * c * oc, oc, 1, m + xi * oT, oc, 0);
  /* Y = Aᵀ M A, Aᵀ = [1 1 1 0; 0 1 −1 −1], vectorised over output channels, then the epilogue */
  long ow = j->ow, oh = j->oh, ohw = oh * ow;
  int relu = j->relu;
  float *ob = j->out + b * oc * ohw;
  vf zero = vsplat(0.0f);
  for (long k = 0; k < T; k++) {
    long ty = ty0 + k / tw, tx = k % tw, oy = 2 * ty, ox = 2 * tx;
    long pos[4] = { oy * ow + ox, oy * ow + ox + 1, (oy + 1) * ow + ox, (oy + 1) * ow + ox + 1 };
    int valid[4] = { 1, ox + 1 < ow, oy + 1 < oh, ox + 1 < ow && oy + 1 < oh };
    const float *mk = m + k * oc;
    long o = 0;
    for (; o + TT_VL <= oc; o += TT_VL) {
      vf s0[4], s1[4];
      UNROLL for (int q = 0; q < 4; q++) {
        vf e0 = vload(mk + q * oT + o), e1 = vload(mk + (4 + q) * oT + o), e2 = vload(mk + (8 + q) * oT + o),
           e3 = vload(mk + (12 + q) * oT + o);
        s0[q] = e0 + e1 + e2;
        s1[q] = e1 - e2 - e3;
      }
      vf y[4] = { s0[0] + s0[1] + s0[2], s0[1] - s0[2] - s0[3], s1[0] + s1[1] + s1[2], s1[1] - s1[2] - s1[3] };
      vf sv = j->scale ? vload(j->scale + o) : vsplat(1.0f), bv = j->bias ? vload(j->bias + o) : zero;
      UNROLL for (int q = 0; q < 4; q++) {
        if (!valid[q]) continue;
        vf val = y[q] * sv + bv;
        if (relu) val = vsel(val <= zero, zero, val); /* NaN passes, as PyTorch */
        float *dst = ob + o * ohw + pos[q];
        UNROLL for (int l = 0; l < TT_VL; l++) dst[l * ohw] = val[l];
      }
    }
    for (; o < oc; o++) {
      float e[16];
      for (int xi = 0; xi < 16; xi++) e[xi] = mk[xi * oT + o];
      float s0[4], s1[4];
      for (int q = 0; q < 4; q++) {
        s0[q] = e[q] + e[4 + q] + e[8 + q];
        s1[q] = e[4 + q] - e[8 + q] - e[12 + q];
      }
      float y[4] = { s0[0] + s0[1] + s0[2], s0[1] - s0[2] - s0[3], s1[0] + s1[1] + s1[2], s1[1] - s1[2] - s1[3] };
      float scale = j->scale ? j->scale[o] : 1.0f, bias = j->bias ? j->bias[o] : 0.0f;
      for (int q = 0; q < 4; q++) {
        if (!valid[q]) continue;
        float val = y[q] * scale + bias;
        if (relu && !(val > 0 || val != val)) val = 0.0f;
        ob[o * ohw + pos[q]] = val;
      }
    }
  }
}

/* Weight gradient in the same transform space: since U = G g Gᵀ and M = U ⊙ V, dg = Gᵀ (Σ_tiles (A dY Aᵀ) ⊙ V) G,
 * so the sum over every tile of the batch becomes 16 GEMMs dU[ξ] (oc × c) += Ĝ[ξ] (oc × tiles) · V[ξ]ᵀ with the
 * tiles as the reduction: long, cache-friendly K, 2.25× fewer multiplies than the direct sum. The (image, row
 * block) items are split into `parts` fixed, contiguous ranges, each summed into its own dU in item order; the
 * parts are added in part order and transformed back once at the end. The ranges do not depend on which thread
 * runs them, so the result is bit-identical from run to run for a given thread count (an earlier version summed
 * into one dU per thread, and the dynamic task queue made the order of the sum, hence its rounding, vary). */
typedef struct {
  wino_job f; /* the forward job's geometry and padded input (u, bias, scale, out unused) */
  const float *gy;
  float *du;  /* [parts][16][oc][c] */
  long items, per;
} wino_wg_job;

/* Ĝ = A dY Aᵀ for one 2×2 block of dY (rows g0, g1): A = [1 0; 1 1; 1 −1; 0 −1]. */
#define WINO_GY_ROWS(R, g0, g1) \
  R[0] = g0; R[1] = g0 + g1; R[2] = g0 - g1; R[3] = -(g1);

static void wino_wg_item(const wino_wg_job *wj, long t, int tid, float *du) {
  const wino_job *j = &wj->f;
  long b = t / j->blocks, ty0 = (t % j->blocks) * j->rows, rows = MINI(j->rows, j->th - ty0), tw = j->tw, T = rows * tw;
  long c = j->c, oc = j->oc, WP = j->WP, plane = j->HP * WP, cT = c * T, oT = oc * T, ow = j->ow, oh = j->oh;
  float *v = tt_scratch(tid, SLOT_COL, sizeof(float) * 16 * cT);
  float *gt = tt_scratch(tid, SLOT_TILE, sizeof(float) * 16 * oT);
  const float *xb = j->xpad + b * c * plane;
  wino_input_block(j, xb, v, ty0, rows);
  /* Ĝ[ξ][o][tile]: a vector of tiles where both rows and both columns of their blocks are inside dY */
  for (long o = 0; o < oc; o++) {
    const float *gp = wj->gy + (b * oc + o) * oh * ow;
    for (long r = 0; r < rows; r++) {
      long y0 = 2 * (ty0 + r);
      float *gr = gt + o * T + r * tw;
      long tx = 0;
      if (y0 + 1 < oh)
        for (; tx + TT_VL <= tw && 2 * (tx + TT_VL) <= ow; tx += TT_VL) {
          const float *p0 = gp + y0 * ow + 2 * tx, *p1 = p0 + ow;
          vf g00, g01, g10, g11;
          load_deinterleaved(p0, &g00, &g01);
          load_deinterleaved(p1, &g10, &g11);
          vf c0[4], c1[4];
          WINO_GY_ROWS(c0, g00, g10) /* column 0 of the block down A */
          WINO_GY_ROWS(c1, g01, g11)
          UNROLL for (int i = 0; i < 4; i++) {
            vf e[4];
            WINO_GY_ROWS(e, c0[i], c1[i]) /* then row i across Aᵀ */
            UNROLL for (int q = 0; q < 4; q++) vstore(gr + (4 * i + q) * oT + tx, e[q]);
          }
        }
      for (; tx < tw; tx++) {
        long x0 = 2 * tx;
        float g00 = gp[y0 * ow + x0];
        float g01 = x0 + 1 < ow ? gp[y0 * ow + x0 + 1] : 0.0f;
        float g10 = y0 + 1 < oh ? gp[(y0 + 1) * ow + x0] : 0.0f;
        float g11 = y0 + 1 < oh && x0 + 1 < ow ? gp[(y0 + 1) * ow + x0 + 1] : 0.0f;
        float c0[4], c1[4];
        WINO_GY_ROWS(c0, g00, g10)
        WINO_GY_ROWS(c1, g01, g11)
        for (int i = 0; i < 4; i++) {
          float e[4];
          WINO_GY_ROWS(e, c0[i], c1[i])
          for (int q = 0; q < 4; q++) gr[(4 * i + q) * oT + tx] = e[q];
        }
      }
    }
  }
  for (int xi = 0; xi < 16; xi++)
    gemm_serial(tid, oc, c, T, gt + xi * oT, T, 1, v + xi * cT, 1, T, du + xi * oc * c, c, 1);
}

/* Part p: items [p·per, (p+1)·per) in order, into dU part p. */
static void wino_wg_task(void *ctx, long p, int tid) {
  const wino_wg_job *wj = ctx;
  float *du = wj->du + p * 16 * wj->f.oc * wj->f.c;
  for (long t = p * wj->per; t < MINI(wj->items, (p + 1) * wj->per); t++) wino_wg_item(wj, t, tid, du);
}

/* gw [oc][c][3][3] = Gᵀ dU G summed over the threads' dU, Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]. */
static void wino_wg_finish(const float *du, long parts, float *gw, long oc, long c) {
  long plane = oc * c;
  for (long o = 0; o < oc; o++)
    for (long ci = 0; ci < c; ci++) {
      float e[16];
      for (int xi = 0; xi < 16; xi++) {
        float acc = 0.0f;
        for (long p = 0; p < parts; p++) acc += du[(p * 16 + xi) * plane + o * c + ci];
        e[xi] = acc;
      }
      float t[3][4];
      for (int q = 0; q < 4; q++) {
        t[0][q] = e[q] + 0.5f * (e[4 + q] + e[8 + q]);
        t[1][q] = 0.5f * (e[4 + q] - e[8 + q]);
        t[2][q] = 0.5f * (e[4 + q] + e[8 + q]) + e[12 + q];
      }
      float *d = gw + (o * c + ci) * 9;
      for (int i = 0; i < 3; i++) {
        d[3 * i] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
        d[3 * i + 1] = 0.5f * (t[i][1] - t[i][2]);
        d[3 * i + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
      }
    }
}

/* Pads x into the Winograd tile grid for an oh×ow output and fills the geometry of a wino_job. */
static void wino_prepare(wino_job *j, const float *x, long n, long c, long h, long wd, long oc, long oh, long ow,
                         long padT, long padL) {
  long th = (oh + 1) / 2, tw = (ow + 1) / 2;
  dconv d = { n, c, h, wd, oc, 2 * th, 2 * tw, 3, 3, padT, padL, 1, 1, 1, 1, 1 };
  d.x = x;
  d.HP = 2 * th + 2;
  d.WP = 2 * tw + 2;
  d.imgP = c * d.HP * d.WP;
  d.xpad = tt_shared_scratch(SH_XPAD, sizeof(float) * n * d.imgP);
  if (tt_num_threads() > 1 && n > 1) tt_parallel(n, dconv_pad_task, &d);
  else for (long b = 0; b < n; b++) dconv_pad_task(&d, b, 0);
  long rows = MAXI(1, WINO_TILES / tw);
  *j = (wino_job){ d.xpad, 0, 0, 0, 0, c, oc, oh, ow, d.HP, d.WP, th, tw, rows, (th + rows - 1) / rows, 0 };
}

static void wino_conv_bwd_weight(const float *x, const float *gy, float *gw, long n, long c, long h, long wd, long oc,
                                 long oh, long ow, long padT, long padL) {
  wino_wg_job wj;
  wino_prepare(&wj.f, x, n, c, h, wd, oc, oh, ow, padT, padL);
  int T = tt_num_threads();
  wj.items = n * wj.f.blocks;
  long parts = T > 1 && wj.items > 1 ? MINI(T, wj.items) : 1;
  wj.per = (wj.items + parts - 1) / parts;
  parts = (wj.items + wj.per - 1) / wj.per;
  wj.gy = gy;
  wj.du = tt_shared_scratch(SH_GYPAD, sizeof(float) * parts * 16 * oc * c);
  memset(wj.du, 0, sizeof(float) * parts * 16 * oc * c);
  if (parts > 1) tt_parallel(parts, wino_wg_task, &wj);
  else wino_wg_task(&wj, 0, 0);
  wino_wg_finish(wj.du, parts, gw, oc, c);
}

/* ------------------------------------------------------------------------------------------------------------
 * Dense form for maps smaller than the filter's reach (ResNet's 2×2 stage: every output pixel sees every input
 * pixel through some tap). The convolution of one image is then a plain matrix product with an unfolded weight
 * Wd[(o, s), (c, s')] = w[o, c, tap(s, s')] (0 where no tap joins output pixel s and input pixel s'): the batch's
 * NCHW input already is the [n, c·h·w] operand and the output the [n, oc·oh·ow] result, so there is no im2col,
 * and it does c·h·w multiply-adds per output instead of c·kh·kw (16 instead of 36 on a 2×2 map with 3×3 taps).
 * ---------------------------------------------------------------------------------------------------------- */
#define DENSE_MAX_FLOATS (4L << 20) /* unfolded weights of at most 16 MB */

/* Whether the dense form serves g: fewer input pixels than live taps, one group, unfolded weights in bounds. */
static int dense_applies(const cgeom *g) {
  long spi = g->h * g->w, sp = g->oh * g->ow;
  if (g->groups != 1 || g->kh * g->kw > MAX_TAPS || spi > MAX_TAPS || sp > MAX_TAPS || g->oc * sp * g->c * spi > DENSE_MAX_FLOATS) return 0;
  uint8_t live[MAX_TAPS];
  return spi < live_taps(g, live);
}

typedef struct {
  const cgeom *g;
  const float *w; /* weights to unfold … */
  float *gw;      /* … or the weight gradient to fold into */
  float *wd;      /* Wd or dWd, [oc·sp, c·spi] */
  int16_t map[MAX_TAPS * MAX_TAPS];
  long sp, spi, rows;
} dense_job;
static dense_job dense; /* one for the three directions (its tap map is 128 KB); kernel calls never overlap */

/* map[s·spi + s'] = the tap joining output pixel s to input pixel s', or -1 */
static void dense_init(dense_job *j, const cgeom *g) {
  j->g = g;
  j->sp = g->oh * g->ow;
  j->spi = g->h * g->w;
  for (long y = 0; y < g->oh; y++)
    for (long x = 0; x < g->ow; x++)
      for (long iy = 0; iy < g->h; iy++)
        for (long ix = 0; ix < g->w; ix++) {
          long di = iy - (y * g->sH - g->pH), dj = ix - (x * g->sW - g->pW);
          int ok = di >= 0 && dj >= 0 && di % g->dH == 0 && dj % g->dW == 0 && di / g->dH < g->kh && dj / g->dW < g->kw;
          j->map[(y * g->ow + x) * j->spi + iy * g->w + ix] = (int16_t)(ok ? di / g->dH * g->kw + dj / g->dW : -1);
        }
  long tasks = MINI(g->oc, 4L * tt_num_threads());
  j->rows = (g->oc + tasks - 1) / tasks;
}

/* Rows (o, ·) of Wd for the task's output channels. */
static void dense_unfold_task(void *ctx, long t, int tid) {
  (void)tid;
  const dense_job *j = ctx;
  const cgeom *g = j->g;
  long khw = g->kh * g->kw, K = g->c * j->spi;
  for (long o = t * j->rows; o < MINI(g->oc, (t + 1) * j->rows); o++)
    for (long s = 0; s < j->sp; s++) {
      float *row = j->wd + (o * j->sp + s) * K;
      const int16_t *m = j->map + s * j->spi;
      int16_t at[MAX_TAPS], tap[MAX_TAPS];
      long nv = 0;
      for (long si = 0; si < j->spi; si++) if (m[si] >= 0) { at[nv] = (int16_t)si; tap[nv++] = m[si]; }
      if (nv < j->spi) memset(row, 0, sizeof(float) * K);
      for (long c = 0; c < g->c; c++) {
        const float *wc = j->w + (o * g->c + c) * khw;
        float *rc = row + c * j->spi;
        for (long v = 0; v < nv; v++) rc[at[v]] = wc[tap[v]];
      }
    }
}

/* The weight gradient folded back: gw[o, c, tap] = Σ over the (s, s') pairs that tap joins of dWd. */
static void dense_fold_task(void *ctx, long t, int tid) {
  (void)tid;
  const dense_job *j = ctx;
  const cgeom *g = j->g;
  long khw = g->kh * g->kw, K = g->c * j->spi;
  float *gw = j->gw;
  long o0 = t * j->rows, o1 = MINI(g->oc, o0 + j->rows);
  if (o0 >= o1) return;
  memset(gw + o0 * g->c * khw, 0, sizeof(float) * (o1 - o0) * g->c * khw);
  for (long o = o0; o < o1; o++)
    for (long s = 0; s < j->sp; s++) {
      const float *row = j->wd + (o * j->sp + s) * K;
      const int16_t *m = j->map + s * j->spi;
      for (long c = 0; c < g->c; c++) {
        float *gc = gw + (o * g->c + c) * khw;
        for (long si = 0; si < j->spi; si++) if (m[si] >= 0) gc[m[si]] += row[c * j->spi + si];
      }
    }
}

static float *dense_unfold(dense_job *j, const cgeom *g, const float *w) {
  dense_init(j, g);
  j->w = w;
  j->wd = tt_shared_scratch(SH_WT, sizeof(float) * g->oc * j->sp * g->c * j->spi);
  par_for((g->oc + j->rows - 1) / j->rows, dense_unfold_task, j);
  return j->wd;
}

static void conv_fwd_dense(const float *x, const float *w, const float *bias, const float *scale, float *out, const cgeom *g, int relu) {
  long K = g->c * g->h * g->w, N = g->oc * g->oh * g->ow, sp = g->oh * g->ow;
  const float *wd = dense_unfold(&dense, g, w);
  /* out[n, N] = x[n, K] · Wdᵀ */
  gemm_strided(g->n, N, K, x, K, 1, 0, wd, 1, K, 0, out, N, 0, 1, 0);
  for (long b = 0; b < g->n; b++)
    for (long o = 0; o < g->oc; o++)
      epilogue_plane(out + (b * g->oc + o) * sp, sp, scale ? scale[o] : 1.0f, bias ? bias[o] : 0.0f, relu);
}

static void conv_bwd_input_dense(const float *gy, const float *w, float *gx, const cgeom *g) {
  long K = g->c * g->h * g->w, N = g->oc * g->oh * g->ow;
  const float *wd = dense_unfold(&dense, g, w);
  /* gx[n, K] = gy[n, N] · Wd */
  gemm_strided(g->n, K, N, gy, N, 1, 0, wd, K, 1, 0, gx, K, 0, 1, 0);
}

static void conv_bwd_weight_dense(const float *x, const float *gy, float *gw, const cgeom *g) {
  long K = g->c * g->h * g->w, N = g->oc * g->oh * g->ow;
  dense_init(&dense, g);
  dense.gw = gw;
  dense.wd = tt_shared_scratch(SH_WT, sizeof(float) * N * K);
  /* dWd[N, K] = gyᵀ[N, n] · x[n, K] */
  gemm_strided(N, K, g->n, gy, 1, N, 0, x, K, 1, 0, dense.wd, K, 0, 1, 0);
  par_for((g->oc + dense.rows - 1) / dense.rows, dense_fold_task, &dense);
}

/* Whether Winograd serves this convolution: 3×3, stride 1, undilated, one group, enough channels for the GEMMs,
 * maps of 12×12 and up with at least 144 tiles in the batch (fewer leave the transforms and the GEMMs' edges too
 * large a share: 8×8 maps lose even at 32 images, 14×14 at 64 images gains 1.4×), and at most 128×128 channels
 * (beyond, transforming the weights on every call costs more than it saves at the map sizes those layers have). */
static int wino_applies(long n, long c, long oc, long kh, long kw, long oh, long ow, long dH, long dW, long groups) {
  return kh == 3 && kw == 3 && dH == 1 && dW == 1 && groups == 1 && c >= 16 && oc >= 16 && c * oc <= 128 * 128 &&
         oh >= 12 && ow >= 12 && n * ((oh + 1) / 2) * ((ow + 1) / 2) >= 144;
}

/* out = act(scale·conv3×3(x, w) + bias) with stride 1 and padding (padT, padL) on a c×h×w input, oh×ow output. */
static void wino_conv(const float *x, const float *w, const float *bias, const float *scale, float *out, long n, long c,
                      long h, long wd, long oc, long oh, long ow, long padT, long padL, int relu) {
  wino_job j;
  wino_prepare(&j, x, n, c, h, wd, oc, oh, ow, padT, padL);
  float *u = tt_shared_scratch(SH_WPACK, sizeof(float) * 16 * oc * c);
  wino_weights(w, u, oc, c);
  j.u = u; j.bias = bias; j.scale = scale; j.out = out; j.relu = relu;
  long tasks = n * j.blocks;
  if (tt_num_threads() > 1 && tasks > 1) tt_parallel(tasks, wino_task, &j);
  else for (long t = 0; t < tasks; t++) wino_task(&j, t, 0);
}

/*
 * The conv planner: the one place that maps (geometry, direction) to an algorithm for this build (the thresholds
 * depend on the tile shape, so each instruction set may choose differently). The three op_conv2d* entry points
 * only dispatch on its answer, and tests read it through tt_ops.conv_plan to check that each algorithm is
 * exercised on every build.
 */
static int conv_plan(const cgeom *g, int dir) {
  int s1 = g->sH == 1 && g->sW == 1;
  if (dir == TT_CONV_FWD) {
    if (g->groups == g->c && g->oc == g->c && g->groups > 1) return TT_PLAN_DEPTHWISE;
    if (dense_applies(g)) return TT_PLAN_DENSE;
    if (conv_use_batched(g, 0)) return TT_PLAN_BATCHED;
    if (s1 && wino_applies(g->n, g->c, g->oc, g->kh, g->kw, g->oh, g->ow, g->dH, g->dW, g->groups)) return TT_PLAN_WINOGRAD;
    /* a strided 1×1 conv reads one phase of the grid: im2col's subsampling copies less */
    if (s1 || g->kh * g->kw > 1) return TT_PLAN_PADDED_WIDTH;
    return TT_PLAN_IM2COL;
  }
  if (dir == TT_CONV_BWD_INPUT) {
    long padT = g->dH * (g->kh - 1) - g->pH, padL = g->dW * (g->kw - 1) - g->pW;
    if (dense_applies(g)) return TT_PLAN_DENSE;
    if (conv_use_batched(g, 0)) return TT_PLAN_BATCHED;
    if (s1 && padT >= 0 && padL >= 0) {
      /* gx = conv(gy, flip(w)ᵀ) with complementary padding: a forward convolution with the roles swapped */
      if (wino_applies(g->n, g->oc, g->c, g->kh, g->kw, g->h, g->w, g->dH, g->dW, g->groups)) return TT_PLAN_WINOGRAD;
      return TT_PLAN_PADDED_WIDTH;
    }
    return TT_PLAN_IM2COL;
  }
  if (dense_applies(g)) return TT_PLAN_DENSE;
  if (conv_use_batched(g, 1)) return TT_PLAN_BATCHED;
  if (s1 && wino_applies(g->n, g->c, g->oc, g->kh, g->kw, g->oh, g->ow, g->dH, g->dW, g->groups)) return TT_PLAN_WINOGRAD;
  if (wgemm_applies(g)) return TT_PLAN_WEIGHT_GEMM;
  if (s1) return TT_PLAN_DOT;
  return TT_PLAN_IM2COL;
}

static int op_conv_plan(const int32_t *gi, int dir) {
  cgeom g = parse_cg(gi);
  return conv_plan(&g, dir);
}

/* Whether a convolution has no output elements (or no input channels to sum): the algorithms divide by these
 * sizes, so the entry points handle empty geometries before planning (a zero-height output used to raise SIGFPE). */
static int conv_empty(const cgeom *g) {
  return g->n <= 0 || g->c <= 0 || g->oc <= 0 || g->oh <= 0 || g->ow <= 0 || g->h <= 0 || g->w <= 0 || g->kh <= 0 || g->kw <= 0;
}

static void op_conv2d(const float *x, const float *w, const float *bias, const float *scale, float *out, const int32_t *gi, int relu) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) return; /* an empty output, or an empty sum that TypeScript never sends */
  int T = tt_num_threads();
  im2col_job j = { x, w, bias, scale, out, g, relu };
  switch (conv_plan(&g, TT_CONV_FWD)) {
  case TT_PLAN_DEPTHWISE: {
    long planes = g.n * g.c;
    if (T > 1 && planes > 1) tt_parallel(planes, dw_fwd_task, &j);
    else for (long p = 0; p < planes; p++) dw_fwd_task(&j, p, 0);
    return;
  }
  case TT_PLAN_DENSE: conv_fwd_dense(x, w, bias, scale, out, &g, relu); return;
  case TT_PLAN_BATCHED: conv_fwd_batched(x, w, bias, scale, out, &g, relu); return;
  case TT_PLAN_WINOGRAD: wino_conv(x, w, bias, scale, out, g.n, g.c, g.h, g.w, g.oc, g.oh, g.ow, g.pH, g.pW, relu); return;
  case TT_PLAN_PADDED_WIDTH: {
    dconv d = { g.n, g.c, g.h, g.w, g.oc, g.oh, g.ow, g.kh, g.kw, g.pH, g.pW, g.dH, g.dW, g.groups, g.sH, g.sW };
    d.x = x; d.bias = bias; d.scale = scale; d.out = out; d.relu = relu;
    dconv_prepare(&d);
    dconv_run(&d, w);
    return;
  }
  default:
    if (T > 1 && g.n >= T) tt_parallel(g.n, im2col_fwd_task, &j);
    else for (long b = 0; b < g.n; b++) im2col_fwd_image(&j, b, 0, T > 1);
  }
}

static void op_conv2d_bwd_input(const float *gy, const float *w, float *gx, const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) {
    if (g.n > 0 && g.c > 0 && g.h > 0 && g.w > 0) memset(gx, 0, sizeof(float) * g.n * g.c * g.h * g.w);
    return;
  }
  long cg = g.c / g.groups, ocg = g.oc / g.groups, khw = g.kh * g.kw, kdim = cg * khw, sp = g.oh * g.ow;
  long padT = g.dH * (g.kh - 1) - g.pH, padL = g.dW * (g.kw - 1) - g.pW;
  int plan = conv_plan(&g, TT_CONV_BWD_INPUT);
  if (plan == TT_PLAN_DENSE) {
    conv_bwd_input_dense(gy, w, gx, &g);
    return;
  }
  if (plan == TT_PLAN_BATCHED) {
    conv_bwd_input_batched(gy, w, gx, &g);
    return;
  }
  if (plan == TT_PLAN_WINOGRAD || plan == TT_PLAN_PADDED_WIDTH) {
    /* gx = conv(gy, flip(w)ᵀ) with complementary padding */
    float *wt = tt_shared_scratch(SH_WT, sizeof(float) * g.c * ocg * khw);
    for (long gr = 0; gr < g.groups; gr++)
      for (long ci = 0; ci < cg; ci++)
        for (long o = 0; o < ocg; o++)
          for (long k = 0; k < khw; k++)
            wt[(gr * cg + ci) * ocg * khw + o * khw + (khw - 1 - k)] = w[((gr * ocg + o) * cg + ci) * khw + k];
    if (plan == TT_PLAN_WINOGRAD) {
      wino_conv(gy, wt, 0, 0, gx, g.n, g.oc, g.oh, g.ow, g.c, g.h, g.w, padT, padL, 0);
      return;
    }
    dconv d = { g.n, g.oc, g.oh, g.ow, g.c, g.h, g.w, g.kh, g.kw, padT, padL, g.dH, g.dW, g.groups, 1, 1 };
    d.x = gy; d.bias = 0; d.scale = 0; d.out = gx; d.relu = 0;
    dconv_prepare(&d); /* d.kdim = ocg*khw, d.ocg = cg */
    dconv_run(&d, wt);
    return;
  }
  memset(gx, 0, sizeof(float) * g.n * g.c * g.h * g.w);
  float *col = tt_shared_scratch(SH_WT, sizeof(float) * kdim * sp);
  for (long b = 0; b < g.n; b++)
    for (long gr = 0; gr < g.groups; gr++) {
      /* col [kdim, sp] = W_gᵀ · gy_g */
      gemm_strided(kdim, sp, ocg, w + gr * ocg * kdim, 1, kdim, 0, gy + (b * g.oc + gr * ocg) * sp, sp, 1, 0, col, sp, 0, 1, 0);
      col2im(col, gr * cg, cg, &g, gx + b * g.c * g.h * g.w, sp, NULL);
    }
}

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

/* Whether the GEMM form applies and pays: one group, enough taps and output channels to fill tiles. */
static int wgemm_applies(const cgeom *g) {
  long kdim = g->c * g->kh * g->kw;
  return g->groups == 1 && kdim >= 8 * MR && g->oc >= NR;
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

static void op_conv2d_bwd_weight(const float *x, const float *gy, float *gw, const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) {
    long wsize = g.groups > 0 && g.c > 0 ? (long)g.oc * (g.c / g.groups) * g.kh * g.kw : 0;
    if (wsize > 0) memset(gw, 0, sizeof(float) * wsize);
    return;
  }
  long cg = g.c / g.groups, ocg = g.oc / g.groups, kdim = cg * g.kh * g.kw, sp = g.oh * g.ow;
  int T = tt_num_threads();
  int plan = conv_plan(&g, TT_CONV_BWD_WEIGHT);
  if (plan == TT_PLAN_DENSE) {
    conv_bwd_weight_dense(x, gy, gw, &g);
    return;
  }
  if (plan == TT_PLAN_BATCHED) {
    conv_bwd_weight_batched(x, gy, gw, &g);
    return;
  }
  if (plan == TT_PLAN_WINOGRAD) {
    wino_conv_bwd_weight(x, gy, gw, g.n, g.c, g.h, g.w, g.oc, g.oh, g.ow, g.pH, g.pW);
    return;
  }
  if (plan == TT_PLAN_WEIGHT_GEMM) {
    conv_bwd_weight_gemm(x, gy, gw, &g);
    return;
  }
  if (plan == TT_PLAN_DOT) {
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
    return;
  }
  memset(gw, 0, sizeof(float) * g.oc * kdim);
  float *col = tt_shared_scratch(SH_WT, sizeof(float) * kdim * sp);
  for (long b = 0; b < g.n; b++)
    for (long gr = 0; gr < g.groups; gr++) {
      im2col(x + b * g.c * g.h * g.w, gr * cg, cg, &g, col, sp, NULL);
      /* gW_g [ocg, kdim] += gy_g [ocg, sp] · colᵀ */
      gemm_strided(ocg, kdim, sp, gy + (b * g.oc + gr * ocg) * sp, sp, 1, 0, col, 1, sp, 0, gw + gr * ocg * kdim, kdim, 0, 1, 1);
    }
}

/* ------------------------------------------------------------------------------------------------------------
 * Pooling (parallel over planes).
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct { long n, c, h, w, oh, ow, kh, kw, sH, sW, pH, pW, dH, dW; } pgeom;
static pgeom parse_pg(const int32_t *g) {
  pgeom r = { g[PG_N], g[PG_C], g[PG_H], g[PG_W], g[PG_OH], g[PG_OW], g[PG_KH], g[PG_KW], g[PG_SH], g[PG_SW], g[PG_PH], g[PG_PW], g[PG_DH], g[PG_DW] };
  return r;
}
typedef struct { pgeom g; const float *x; float *out; int32_t *idx; const float *gy; float *gx; int cip, div; } pool_job;

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
    long ilo = iy0 >= 0 ? 0 : (-iy0 + g->dH - 1) / g->dH;
    long ihi = iy0 > g->h - 1 ? 0 : MINI(g->kh, (g->h - 1 - iy0) / g->dH + 1);
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
  long jlo = ix0 >= 0 ? 0 : (-ix0 + g->dW - 1) / g->dW;
  long jhi = ix0 > g->w - 1 ? 0 : MINI(g->kw, (g->w - 1 - ix0) / g->dW + 1);
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
    long ilo = iy0 >= 0 ? 0 : (-iy0 + g->dH - 1) / g->dH;
    long ihi = iy0 > g->h - 1 ? 0 : MINI(g->kh, (g->h - 1 - iy0) / g->dH + 1);
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
  if (tt_num_threads() > 1 && planes * j.g.oh * j.g.ow > 16384) tt_parallel(planes, maxpool_task, &j);
  else for (long p = 0; p < planes; p++) maxpool_task(&j, p, 0);
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
  if (tt_num_threads() > 1 && planes > 1 && planes * in_plane > 16384) tt_parallel(planes, maxpool_bwd_task, &j);
  else for (long p = 0; p < planes; p++) maxpool_bwd_task(&j, p, 0);
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
  if (tt_num_threads() > 1 && planes * j.g.oh * j.g.ow > 16384) tt_parallel(planes, avgpool_task, &j);
  else for (long p = 0; p < planes; p++) avgpool_task(&j, p, 0);
}

static void op_avg_pool2d_bwd(const float *gy, float *gx, const int32_t *gi, int cip, int div) {
  pool_job j = { parse_pg(gi), 0, 0, 0, gy, gx, cip, div };
  long planes = j.g.n * j.g.c;
  if (tt_num_threads() > 1 && planes * j.g.h * j.g.w > 16384) tt_parallel(planes, avgpool_bwd_task, &j);
  else for (long p = 0; p < planes; p++) avgpool_bwd_task(&j, p, 0);
}

/* ------------------------------------------------------------------------------------------------------------
 * Normalisation over [n, c, hw] (parallel over channels). Row sums are vector float sums, combined in double.
 * ---------------------------------------------------------------------------------------------------------- */
static double row_sum(const float *x, long len) {
  double total = 0;
  for (long s0 = 0; s0 < len; s0 += 1024) {
    long e = MINI(len, s0 + 1024), i = s0;
    vf a0 = (vf){0}, a1 = (vf){0};
    for (; i + 2 * TT_VL <= e; i += 2 * TT_VL) { a0 += vload(x + i); a1 += vload(x + i + TT_VL); }
    float s = hsum(a0 + a1);
    for (; i < e; i++) s += x[i];
    total += s;
  }
  return total;
}
static double row_sqdev(const float *x, long len, float m) {
  double total = 0;
  vf mv = vsplat(m);
  for (long s0 = 0; s0 < len; s0 += 1024) {
    long e = MINI(len, s0 + 1024), i = s0;
    vf a0 = (vf){0};
    for (; i + TT_VL <= e; i += TT_VL) { vf d = vload(x + i) - mv; a0 += d * d; }
    float s = hsum(a0);
    for (; i < e; i++) { float d = x[i] - m; s += d * d; }
    total += s;
  }
  return total;
}
/* Σ g and Σ g·(x − m) over a row. */
static void row_bn_sums(const float *x, const float *g, long len, float m, double *sg, double *sgx) {
  vf mv = vsplat(m);
  double t0 = 0, t1 = 0;
  for (long s0 = 0; s0 < len; s0 += 1024) {
    long e = MINI(len, s0 + 1024), i = s0;
    vf a0 = (vf){0}, a1 = (vf){0};
    for (; i + TT_VL <= e; i += TT_VL) { vf gv = vload(g + i); a0 += gv; a1 += gv * (vload(x + i) - mv); }
    float s = hsum(a0), q = hsum(a1);
    for (; i < e; i++) { s += g[i]; q += g[i] * (x[i] - m); }
    t0 += s; t1 += q;
  }
  *sg += t0; *sgx += t1;
}

typedef struct {
  const float *x, *gy, *mean, *invstd, *weight, *scale, *shift;
  float *out, *var, *gx, *gw, *gb, *meanOut;
  long n, c, hw;
  int relu;
} norm_job;

static void stats_task(void *ctx, long ch, int tid) {
  (void)tid;
  const norm_job *j = ctx;
  double s = 0;
  for (long b = 0; b < j->n; b++) s += row_sum(j->x + (b * j->c + ch) * j->hw, j->hw);
  double cnt = (double)j->n * j->hw;
  float m = (float)(s / cnt);
  double q = 0;
  for (long b = 0; b < j->n; b++) q += row_sqdev(j->x + (b * j->c + ch) * j->hw, j->hw, m);
  j->meanOut[ch] = m;
  j->var[ch] = (float)(q / cnt);
}

static void op_channel_stats(const float *x, float *mean, float *var, long n, long c, long hw) {
  norm_job j = { .x = x, .meanOut = mean, .var = var, .n = n, .c = c, .hw = hw };
  if (tt_num_threads() > 1 && c > 1 && n * c * hw > 32768) tt_parallel(c, stats_task, &j);
  else for (long ch = 0; ch < c; ch++) stats_task(&j, ch, 0);
}

static void affine_task(void *ctx, long r, int tid) {
  (void)tid;
  const norm_job *j = ctx;
  long ch = r % j->c;
  const float *x = j->x + r * j->hw;
  float *o = j->out + r * j->hw;
  vf s = vsplat(j->scale[ch]), t = vsplat(j->shift[ch]);
  long i = 0, hw = j->hw;
  if (j->relu) {
    for (; i + TT_VL <= hw; i += TT_VL) { vf v = vload(x + i) * s + t; vstore(o + i, vsel(v <= 0, (vf){0}, v)); }
    for (; i < hw; i++) { float v = x[i] * j->scale[ch] + j->shift[ch]; o[i] = v <= 0 ? 0.0f : v; }
  } else {
    for (; i + TT_VL <= hw; i += TT_VL) vstore(o + i, vload(x + i) * s + t);
    for (; i < hw; i++) o[i] = x[i] * j->scale[ch] + j->shift[ch];
  }
}

static void op_channel_affine(const float *x, const float *scale, const float *shift, float *out, long n, long c, long hw, int relu) {
  norm_job j = { .x = x, .scale = scale, .shift = shift, .out = out, .n = n, .c = c, .hw = hw, .relu = relu };
  long rows = n * c;
  if (tt_num_threads() > 1 && rows > 1 && rows * hw > 32768) tt_parallel(rows, affine_task, &j);
  else for (long r = 0; r < rows; r++) affine_task(&j, r, 0);
}

static void bn_bwd_task(void *ctx, long ch, int tid) {
  (void)tid;
  const norm_job *j = ctx;
  float m = j->mean[ch], is = j->invstd[ch];
  double sg = 0, sgx = 0;
  for (long b = 0; b < j->n; b++) {
    long base = (b * j->c + ch) * j->hw;
    row_bn_sums(j->x + base, j->gy + base, j->hw, m, &sg, &sgx);
  }
  sgx *= is; /* Σ gy·x̂ */
  if (j->gw) j->gw[ch] = (float)sgx;
  if (j->gb) j->gb[ch] = (float)sg;
  if (!j->gx) return;
  double cnt = (double)j->n * j->hw;
  float wv = j->weight ? j->weight[ch] : 1.0f;
  float k = (float)(wv * is / cnt);
  /* gx = k·(cnt·gy − Σgy − x̂·Σgy·x̂) = A·gy + B·x + C */
  float A = (float)(k * cnt), Bc = (float)(-k * sgx * is), C = (float)(-k * sg + k * sgx * is * m);
  vf av = vsplat(A), bv = vsplat(Bc), cv = vsplat(C);
  for (long b = 0; b < j->n; b++) {
    long base = (b * j->c + ch) * j->hw, i = 0;
    const float *x = j->x + base, *g = j->gy + base;
    float *o = j->gx + base;
    for (; i + TT_VL <= j->hw; i += TT_VL) vstore(o + i, av * vload(g + i) + bv * vload(x + i) + cv);
    for (; i < j->hw; i++) o[i] = A * g[i] + Bc * x[i] + C;
  }
}

static void op_bn_bwd(const float *x, const float *gy, const float *mean, const float *invstd, const float *weight,
                      float *gx, float *gw, float *gb, long n, long c, long hw) {
  norm_job j = { .x = x, .gy = gy, .mean = mean, .invstd = invstd, .weight = weight, .gx = gx, .gw = gw, .gb = gb, .n = n, .c = c, .hw = hw };
  if (tt_num_threads() > 1 && c > 1 && n * c * hw > 32768) tt_parallel(c, bn_bwd_task, &j);
  else for (long ch = 0; ch < c; ch++) bn_bwd_task(&j, ch, 0);
}

/* ------------------------------------------------------------------------------------------------------------
 * Softmax over the middle axis of [outer, size, inner].
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct { const float *x, *gy; float *out; long outer, size, inner; int log; } sm_job;

static void softmax_row(const float *x, float *o, long size, int lg) {
  long i = 0;
  vf mv = vsplat(-__builtin_inff());
  float m = -__builtin_inff();
  for (; i + TT_VL <= size; i += TT_VL) { vf v = vload(x + i); mv = vsel(v > mv, v, mv); }
  m = hmax(mv);
  for (; i < size; i++) if (x[i] > m) m = x[i];
  vf ms = vsplat(m), acc = (vf){0};
  double sum = 0;
  for (i = 0; i + TT_VL <= size; i += TT_VL) { vf e = vexp(vload(x + i) - ms); acc += e; if (!lg) vstore(o + i, e); }
  if (i < size) {
    float t[TT_VL] = {0};
    for (long q = i; q < size; q++) t[q - i] = x[q];
    vf e = vexp(vload(t) - ms);
    for (long q = i; q < size; q++) { sum += e[q - i]; if (!lg) o[q] = e[q - i]; }
  }
  sum += hsum(acc);
  if (lg) {
    /* (x − max) − log Σ, as PyTorch: folding max into the log term first would round it away when |max| ≫ log Σ */
    float ls = (float)tt_log(sum);
    vf l = vsplat(ls);
    for (i = 0; i + TT_VL <= size; i += TT_VL) vstore(o + i, (vload(x + i) - ms) - l);
    for (; i < size; i++) o[i] = (x[i] - m) - ls;
  } else {
    vf inv = vsplat((float)(1.0 / sum));
    for (i = 0; i + TT_VL <= size; i += TT_VL) vstore(o + i, vload(o + i) * inv);
    for (; i < size; i++) o[i] = (float)(o[i] / sum);
  }
}

/* inner > 1: vectors run along inner, one block of columns at a time. */
static void softmax_cols(const float *x, float *o, long size, long inner, int lg, int tid) {
  float *tmp = tt_scratch(tid, SLOT_TMP, sizeof(float) * 2 * (inner + TT_VL));
  float *mx = tmp, *sm = tmp + inner + TT_VL;
  for (long i = 0; i < inner; i++) { mx[i] = -__builtin_inff(); sm[i] = 0; }
  for (long s = 0; s < size; s++) for (long i = 0; i < inner; i++) { float v = x[s * inner + i]; mx[i] = v > mx[i] ? v : mx[i]; }
  long iv = inner / TT_VL * TT_VL;
  for (long s = 0; s < size; s++) {
    const float *xr = x + s * inner;
    float *orow = o + s * inner;
    for (long i = 0; i < iv; i += TT_VL) {
      vf e = vexp(vload(xr + i) - vload(mx + i));
      vstore(sm + i, vload(sm + i) + e);
      if (!lg) vstore(orow + i, e);
    }
    if (iv < inner) {
      float t[TT_VL] = {0}, mm[TT_VL] = {0};
      for (long i = iv; i < inner; i++) { t[i - iv] = xr[i]; mm[i - iv] = mx[i]; }
      vf e = vexp(vload(t) - vload(mm));
      for (long i = iv; i < inner; i++) { sm[i] += e[i - iv]; if (!lg) orow[i] = e[i - iv]; }
    }
  }
  if (lg) {
    for (long i = 0; i < inner; i++) sm[i] = (float)tt_log(sm[i]);
    for (long s = 0; s < size; s++) for (long i = 0; i < inner; i++) o[s * inner + i] = (x[s * inner + i] - mx[i]) - sm[i];
  } else {
    for (long i = 0; i < inner; i++) sm[i] = 1.0f / sm[i];
    for (long s = 0; s < size; s++) for (long i = 0; i < inner; i++) o[s * inner + i] *= sm[i];
  }
}

static void softmax_task(void *ctx, long r, int tid) {
  const sm_job *j = ctx;
  long off = r * j->size * j->inner;
  if (j->inner == 1) softmax_row(j->x + off, j->out + off, j->size, j->log);
  else softmax_cols(j->x + off, j->out + off, j->size, j->inner, j->log, tid);
}

static void op_softmax(const float *x, float *out, long outer, long size, long inner, int lg) {
  sm_job j = { x, 0, out, outer, size, inner, lg };
  if (tt_num_threads() > 1 && outer > 1 && outer * size * inner > 32768) tt_parallel(outer, softmax_task, &j);
  else for (long r = 0; r < outer; r++) softmax_task(&j, r, 0);
}

static void softmax_grad_task(void *ctx, long r, int tid) {
  (void)tid;
  const sm_job *j = ctx;
  long size = j->size, inner = j->inner, off = r * size * inner;
  const float *y = j->x + off, *g = j->gy + off;
  float *o = j->out + off;
  for (long i = 0; i < inner; i++) {
    double acc = 0;
    if (j->log) {
      for (long s = 0; s < size; s++) acc += g[s * inner + i];
      float a = (float)acc;
      if (inner == 1) {
        long q = 0;
        vf av = vsplat(a);
        for (; q + TT_VL <= size; q += TT_VL) vstore(o + q, vload(g + q) - vexp(vload(y + q)) * av);
        for (; q < size; q++) {
          float t[TT_VL] = {0};
          t[0] = y[q];
          o[q] = g[q] - vexp(vload(t))[0] * a;
        }
      } else {
        for (long s = 0; s < size; s++) {
          float t[TT_VL] = {0};
          t[0] = y[s * inner + i];
          o[s * inner + i] = g[s * inner + i] - vexp(vload(t))[0] * a;
        }
      }
    } else {
      for (long s = 0; s < size; s++) acc += (double)g[s * inner + i] * y[s * inner + i];
      float d = (float)acc;
      for (long s = 0; s < size; s++) o[s * inner + i] = y[s * inner + i] * (g[s * inner + i] - d);
    }
  }
}

static void op_softmax_grad(const float *y, const float *gy, float *gx, long outer, long size, long inner, int lg) {
  sm_job j = { y, gy, gx, outer, size, inner, lg };
  if (tt_num_threads() > 1 && outer > 1 && outer * size * inner > 32768) tt_parallel(outer, softmax_grad_task, &j);
  else for (long r = 0; r < outer; r++) softmax_grad_task(&j, r, 0);
}

/* ------------------------------------------------------------------------------------------------------------
 * Elementwise: unary, relu gradient, binary with scalar / middle-axis broadcast, sum, axpy.
 * Large arrays are split into contiguous chunks across the pool.
 * ---------------------------------------------------------------------------------------------------------- */
#define EW_CHUNK 65536
typedef struct { int op; const float *x, *y; float *out; long n; float a, b; } ew_job;

static inline vf unary_v(int op, vf x, float a, float b) {
  (void)b;
  switch (op) {
    case U_RELU: return vsel(x <= 0, (vf){0}, x); /* NaN passes through, as PyTorch */
    case U_NEG: return -x;
    case U_ABS: return (vf)((vi)x & 0x7fffffff);
    case U_SQUARE: return x * x;
    case U_EXP: return vexp(x);
    case U_SIGMOID: {
      /* 1/(1+e^-x) for x ≥ 0, e^x/(1+e^x) otherwise: no overflow, exact limits */
      vf e = vexp(vsel(x > 0, -x, x));
      vf r = 1.0f / (1.0f + e);
      return vsel(x > 0, r, e * r);
    }
    case U_ADDS: return x + a;
    case U_MULS: return x * a;
    case U_LEAKY: return vsel(x > 0, x, x * a);
    case U_RELU6: { vf r = vsel(x <= 0, (vf){0}, x); return vsel(r > 6.0f, vsplat(6.0f), r); }
    case U_SILU: {
      vf e = vexp(vsel(x > 0, -x, x));
      vf r = 1.0f / (1.0f + e);
      return x * vsel(x > 0, r, e * r);
    }
  }
  return x;
}

static void unary_task(void *ctx, long t, int tid) {
  (void)tid;
  const ew_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK), i = s;
  const float *x = j->x;
  float *o = j->out;
  if (j->op == U_SQRT) { for (; i < e; i++) o[i] = __builtin_sqrtf(x[i]); return; }
#define UNARY_LOOP(OPC) for (; i + TT_VL <= e; i += TT_VL) vstore(o + i, unary_v(OPC, vload(x + i), j->a, j->b));
  switch (j->op) {
    case U_RELU: UNARY_LOOP(U_RELU) break;
    case U_NEG: UNARY_LOOP(U_NEG) break;
    case U_ABS: UNARY_LOOP(U_ABS) break;
    case U_SQUARE: UNARY_LOOP(U_SQUARE) break;
    case U_EXP: UNARY_LOOP(U_EXP) break;
    case U_SIGMOID: UNARY_LOOP(U_SIGMOID) break;
    case U_ADDS: UNARY_LOOP(U_ADDS) break;
    case U_MULS: UNARY_LOOP(U_MULS) break;
    case U_LEAKY: UNARY_LOOP(U_LEAKY) break;
    case U_RELU6: UNARY_LOOP(U_RELU6) break;
    case U_SILU: UNARY_LOOP(U_SILU) break;
  }
  if (i < e) {
    float t0[TT_VL] = {0};
    for (long q = i; q < e; q++) t0[q - i] = x[q];
    vf r = unary_v(j->op, vload(t0), j->a, j->b);
    for (long q = i; q < e; q++) o[q] = r[q - i];
  }
}

static void run_chunks(long n, tt_task_fn fn, void *ctx) {
  long chunks = (n + EW_CHUNK - 1) / EW_CHUNK;
  if (tt_num_threads() > 1 && chunks > 1) tt_parallel(chunks, fn, ctx);
  else for (long t = 0; t < chunks; t++) fn(ctx, t, 0);
}

static int op_unary(int op, const float *x, float *out, long n, float a, float b) {
  if (op < 0 || op >= U_COUNT) return 0;
  ew_job j = { op, x, 0, out, n, a, b };
  run_chunks(n, unary_task, &j);
  return 1;
}

static void relu_grad_task(void *ctx, long t, int tid) {
  (void)tid;
  const ew_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK), i = s;
  /* PyTorch's threshold_backward: zero where the input is ≤ 0 (a NaN input passes its gradient) */
  for (; i + TT_VL <= e; i += TT_VL) vstore(j->out + i, vsel(vload(j->x + i) <= 0, (vf){0}, vload(j->y + i)));
  for (; i < e; i++) j->out[i] = j->x[i] <= 0 ? 0.0f : j->y[i];
}

static int op_unary_grad(int op, const float *in, const float *gy, float *gx, long n, float a, float b) {
  if (op != U_RELU) return 0;
  ew_job j = { op, in, gy, gx, n, a, b };
  run_chunks(n, relu_grad_task, &j);
  return 1;
}

typedef struct { int op, mode; const float *a, *b; float *out; long outer, mid, inner; } bin_job;

static inline vf bin_v(int op, vf a, vf b) {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MAX: { vf r = vsel(a > b, a, b); r = vsel(a != a, a, r); return vsel(b != b, b, r); }
    case B_MIN: { vf r = vsel(a < b, a, b); r = vsel(a != a, a, r); return vsel(b != b, b, r); }
  }
  return a;
}

/* out[0..n) = a op b where a/b either advance (stride 1) or stay (scalar): sa/sb ∈ {0, 1}. */
static void bin_span(int op, const float *a, int sa, const float *b, int sb, float *o, long n) {
  long i = 0;
#define BIN_LOOP(OPC)                                                                                     \
  if (sa && sb) for (; i + TT_VL <= n; i += TT_VL) vstore(o + i, bin_v(OPC, vload(a + i), vload(b + i))); \
  else if (sa) { vf bv = vsplat(b[0]); for (; i + TT_VL <= n; i += TT_VL) vstore(o + i, bin_v(OPC, vload(a + i), bv)); } \
  else if (sb) { vf av = vsplat(a[0]); for (; i + TT_VL <= n; i += TT_VL) vstore(o + i, bin_v(OPC, av, vload(b + i))); }
  switch (op) {
    case B_ADD: BIN_LOOP(B_ADD) break;
    case B_SUB: BIN_LOOP(B_SUB) break;
    case B_MUL: BIN_LOOP(B_MUL) break;
    case B_DIV: BIN_LOOP(B_DIV) break;
    case B_MAX: BIN_LOOP(B_MAX) break;
    case B_MIN: BIN_LOOP(B_MIN) break;
  }
  if (i < n) {
    float ta[TT_VL] = {0}, tb[TT_VL] = {0};
    for (long q = i; q < n; q++) { ta[q - i] = a[sa ? q : 0]; tb[q - i] = b[sb ? q : 0]; }
    vf r = bin_v(op, vload(ta), vload(tb));
    for (long q = i; q < n; q++) o[q] = r[q - i];
  }
}

static void bin_task(void *ctx, long t, int tid) {
  (void)tid;
  const bin_job *j = ctx;
  switch (j->mode) {
    case BM_SAME: case BM_BSCALAR: case BM_ASCALAR: {
      long n = j->outer * j->mid * j->inner, s = t * EW_CHUNK, e = MINI(n, s + EW_CHUNK);
      int sa = j->mode != BM_ASCALAR, sb = j->mode != BM_BSCALAR;
      bin_span(j->op, j->a + (sa ? s : 0), sa, j->b + (sb ? s : 0), sb, j->out + s, e - s);
      break;
    }
    case BM_BMID: case BM_AMID: {
      /* row t of [outer*mid, inner]; the broadcast operand holds one value per mid index */
      long m = t % j->mid, off = t * j->inner;
      if (j->mode == BM_BMID) bin_span(j->op, j->a + off, 1, j->b + m, 0, j->out + off, j->inner);
      else bin_span(j->op, j->a + m, 0, j->b + off, 1, j->out + off, j->inner);
      break;
    }
    case BM_BROW: case BM_AROW: {
      long off = t * j->inner;
      if (j->mode == BM_BROW) bin_span(j->op, j->a + off, 1, j->b, 1, j->out + off, j->inner);
      else bin_span(j->op, j->a, 1, j->b + off, 1, j->out + off, j->inner);
      break;
    }
  }
}

static int op_binary(int op, int mode, const float *a, const float *b, float *out, long outer, long mid, long inner) {
  if (op < 0 || op >= B_COUNT) return 0;
  bin_job j = { op, mode, a, b, out, outer, mid, inner };
  long n = outer * mid * inner;
  long tasks = (mode == BM_BMID || mode == BM_AMID) ? outer * mid
             : (mode == BM_BROW || mode == BM_AROW) ? outer : (n + EW_CHUNK - 1) / EW_CHUNK;
  if (tt_num_threads() > 1 && tasks > 1 && n > 2 * EW_CHUNK) tt_parallel(tasks, bin_task, &j);
  else for (long t = 0; t < tasks; t++) bin_task(&j, t, 0);
  return 1;
}

typedef struct { const float *x; float *out; long outer, size, inner; } red_job;

static void reduce_task(void *ctx, long o, int tid) {
  const red_job *j = ctx;
  const float *x = j->x + o * j->size * j->inner;
  if (j->inner == 1) { j->out[o] = (float)row_sum(x, j->size); return; }
  /* columns: accumulate blocks of rows in float vectors, then in double */
  double *acc = tt_scratch(tid, SLOT_TMP, sizeof(double) * j->inner);
  for (long i = 0; i < j->inner; i++) acc[i] = 0;
  long iv = j->inner / TT_VL * TT_VL;
  for (long s0 = 0; s0 < j->size; s0 += 64) {
    long s1 = MINI(j->size, s0 + 64);
    for (long i = 0; i < iv; i += TT_VL) {
      vf v = (vf){0};
      for (long s = s0; s < s1; s++) v += vload(x + s * j->inner + i);
      for (int q = 0; q < TT_VL; q++) acc[i + q] += v[q];
    }
    for (long i = iv; i < j->inner; i++) {
      float v = 0;
      for (long s = s0; s < s1; s++) v += x[s * j->inner + i];
      acc[i] += v;
    }
  }
  for (long i = 0; i < j->inner; i++) j->out[o * j->inner + i] = (float)acc[i];
}

static void op_reduce_sum(const float *x, float *out, long outer, long size, long inner) {
  red_job j = { x, out, outer, size, inner };
  if (tt_num_threads() > 1 && outer > 1 && outer * size * inner > 65536) tt_parallel(outer, reduce_task, &j);
  else for (long o = 0; o < outer; o++) reduce_task(&j, o, 0);
}

static void axpy_task(void *ctx, long t, int tid) {
  (void)tid;
  const ew_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK), i = s;
  vf av = vsplat(j->a);
  for (; i + TT_VL <= e; i += TT_VL) vstore(j->out + i, vload(j->out + i) + av * vload(j->x + i));
  for (; i < e; i++) j->out[i] += j->a * j->x[i];
}

static void op_axpy(long n, float alpha, const float *x, float *y) {
  ew_job j = { 0, x, 0, y, n, alpha, 0 };
  run_chunks(n, axpy_task, &j);
}


/* ------------------------------------------------------------------------------------------------------------
 * Optimiser updates: one pass over parameter, gradient and state (PyTorch's arithmetic, in float32).
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct { long n; float *w; const float *g; float *s1, *s2, *s3; float h[8]; int flags; } opt_job;

static void sgd_task(void *ctx, long t, int tid) {
  (void)tid;
  const opt_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK);
  float lr = j->h[0], mom = j->h[1], keep = 1.0f - j->h[2], wd = j->h[3], sign = (j->flags & 4) ? -1.0f : 1.0f;
  float *w = j->w, *buf = j->s1;
  const float *g = j->g;
  if (!buf) {
    for (long i = s; i < e; i++) w[i] -= lr * (sign * g[i] + wd * w[i]);
  } else if (j->flags & 2) {
    if (j->flags & 1) for (long i = s; i < e; i++) { float d = sign * g[i] + wd * w[i]; buf[i] = d; w[i] -= lr * (d + mom * d); }
    else for (long i = s; i < e; i++) { float d = sign * g[i] + wd * w[i]; buf[i] = d; w[i] -= lr * d; }
  } else if (j->flags & 1) {
    for (long i = s; i < e; i++) { float d = sign * g[i] + wd * w[i]; float b = mom * buf[i] + keep * d; buf[i] = b; w[i] -= lr * (d + mom * b); }
  } else {
    for (long i = s; i < e; i++) { float d = sign * g[i] + wd * w[i]; float b = mom * buf[i] + keep * d; buf[i] = b; w[i] -= lr * b; }
  }
}

static void op_sgd_step(long n, float *w, const float *g, float *buf, float lr, float momentum, float dampening, float wd, int flags) {
  opt_job j = { n, w, g, buf, 0, 0, { lr, momentum, dampening, wd }, flags };
  run_chunks(n, sgd_task, &j);
}

static void adam_task(void *ctx, long t, int tid) {
  (void)tid;
  const opt_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK);
  float b1 = j->h[0], b2 = j->h[1], eps = j->h[2], decay = j->h[3], l2 = j->h[4], step = j->h[5], bc2 = j->h[6], sign = j->h[7];
  float c1 = 1.0f - b1, c2 = 1.0f - b2, inv_bc2 = 1.0f / bc2;
  float *w = j->w, *m = j->s1, *v = j->s2, *vmax = j->s3;
  const float *g = j->g;
  if (vmax) {
    for (long i = s; i < e; i++) {
      float wi = w[i] * decay, gi = sign * g[i] + l2 * w[i];
      float mi = m[i] * b1 + c1 * gi, vi = v[i] * b2 + c2 * gi * gi;
      float vm = vmax[i] > vi ? vmax[i] : vi;
      m[i] = mi; v[i] = vi; vmax[i] = vm;
      w[i] = wi - step * mi / (__builtin_sqrtf(vm) * inv_bc2 + eps);
    }
  } else {
    for (long i = s; i < e; i++) {
      float wi = w[i] * decay, gi = sign * g[i] + l2 * w[i];
      float mi = m[i] * b1 + c1 * gi, vi = v[i] * b2 + c2 * gi * gi;
      m[i] = mi; v[i] = vi;
      w[i] = wi - step * mi / (__builtin_sqrtf(vi) * inv_bc2 + eps);
    }
  }
}

static void op_adam_step(long n, float *w, const float *g, float *m, float *v, float *vmax, float beta1, float beta2, float eps,
                         float decay, float l2, float step_size, float bc2_sqrt, float sign) {
  opt_job j = { n, w, g, m, v, vmax, { beta1, beta2, eps, decay, l2, step_size, bc2_sqrt, sign }, 0 };
  run_chunks(n, adam_task, &j);
}

typedef struct { const float *src; long offset; const int32_t *strides, *shape; float *out; int rank; long rows, inner; } copy_job;

/* Rows of the last dimension, [t*rows_per_task, ...): each row is a fill (stride 0), a copy (stride 1) or a gather. */
static void copy_task(void *ctx, long t, int tid) {
  (void)tid;
  const copy_job *j = ctx;
  long per = (j->rows + 63) / 64, r0 = t * per, r1 = MINI(j->rows, r0 + per);
  int last = j->rank - 1;
  long st = j->strides[last], n = j->inner;
  for (long r = r0; r < r1; r++) {
    long rem = r, off = j->offset;
    for (int d = last - 1; d >= 0; d--) { long i = rem % j->shape[d]; rem /= j->shape[d]; off += i * j->strides[d]; }
    const float *s = j->src + off;
    float *o = j->out + r * n;
    if (st == 1) memcpy(o, s, sizeof(float) * n);
    else if (st == 0) { float v = s[0]; for (long i = 0; i < n; i++) o[i] = v; }
    else for (long i = 0; i < n; i++) o[i] = s[i * st];
  }
}

static void op_copy_strided(const float *src, long offset, const int32_t *strides, float *out, const int32_t *shape, int rank) {
  if (rank == 0) { out[0] = src[offset]; return; }
  long rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  copy_job j = { src, offset, strides, shape, out, rank, rows, shape[rank - 1] };
  if (rows == 0 || j.inner == 0) return;
  long tasks = rows < 64 ? rows : 64;
  if (tt_num_threads() > 1 && rows * j.inner > 65536) tt_parallel(tasks, copy_task, &j);
  else { copy_job k = j; for (long t = 0; t < tasks; t++) copy_task(&k, t, 0); }
}

const tt_ops TT_OPS_SYMBOL = {
  TT_NAME, TT_VL, MR, NR,
  op_gemm, op_conv2d, op_conv2d_bwd_input, op_conv2d_bwd_weight,
  op_max_pool2d, op_max_pool2d_bwd, op_avg_pool2d, op_avg_pool2d_bwd,
  op_channel_stats, op_channel_affine, op_bn_bwd,
  op_softmax, op_softmax_grad,
  op_unary, op_unary_grad, op_binary, op_reduce_sum, op_axpy, op_copy_strided,
  op_sgd_step, op_adam_step,
  op_conv_plan,
};

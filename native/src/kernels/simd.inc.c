/* Shared by every kernel family: tile sizes, vector types and helpers (loads, splat, FMA, select, gather,
 * horizontal sums), a vector exp and a scalar log. */
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
/* for (int i = 0; i < n; i++) where n ≤ N and n is a constant only once its always_inline function is inlined: the
 * loop runs to the constant N with its body guarded by i < n. clang (the wasm builds) optimises such a function's
 * own body before inlining it, and unrolled a loop to a parameter by 4 with a run-time count, marking the remainder
 * loop not to unroll; inlined with n = 2 that loop stayed, indexing its accumulators, which then lived in memory —
 * the channels-last tiles ran 3.4× slower with relaxed madds (64→384 at 14², one thread, Node 20, Zen 4), the depthwise
 * rows ~25 % slower. GCC inlines first; the guards fold there as well. */
#define UNROLL_TO(i, n, N) UNROLL for (int i = 0; i < (N); i++) if (i < (n))
/* A function GCC must not clone per call site or inline (noipa); clang (the wasm builds) keeps its own choice. */
#if defined(__clang__)
#define NO_CLONE
#else
#define NO_CLONE __attribute__((noipa))
#endif

typedef float vf __attribute__((vector_size(TT_VL * 4)));
typedef float vfu __attribute__((vector_size(TT_VL * 4), aligned(4)));
typedef int32_t vi __attribute__((vector_size(TT_VL * 4)));

static inline vf vload(const float *p) { return *(const vfu *)p; }
static inline void vstore(float *p, vf v) { *(vfu *)p = v; }
/* vstore bypassing the caches (a non-temporal store) where the build has one, p aligned to a vector: for outputs
 * too large to stay in cache, whose lines a plain store would first read from memory. Non-temporal stores are not
 * ordered by the pool's release/acquire handshake: a task that streams ends with vstream_fence(). */
static inline void vstream(float *p, vf v) {
#if defined(__AVX512F__) && TT_VL == 16
  __builtin_ia32_movntps512(p, v);
#elif defined(__AVX__) && TT_VL == 8
  __builtin_ia32_movntps256(p, v);
#else
  vstore(p, v);
#endif
}
/* Lanes [lo, hi) of v stored at p + lo …, and loaded from p (the other lanes zero): nothing outside them is read or
 * written — a tile's columns that another tile owns or that lie past the output's channels. AVX-512 masks them. */
#if defined(__AVX512F__) && TT_VL == 16
static inline unsigned short lane_mask(int lo, int hi) {
  return (unsigned short)(((1u << hi) - 1) & ~((1u << lo) - 1));
}
#endif
static inline void vstore_lanes(float *p, vf v, int lo, int hi) {
#if defined(__AVX512F__) && TT_VL == 16
  __builtin_ia32_storeups512_mask(p, v, lane_mask(lo, hi));
#else
  /* through a local array: a vector indexed by a variable lane made clang (wasm) keep vectors in memory */
  float t[TT_VL];
  vstore(t, v);
  for (int l = lo; l < hi; l++) p[l] = t[l];
#endif
}
static inline vf vload_lanes(const float *p, int lo, int hi) {
#if defined(__AVX512F__) && TT_VL == 16
  return __builtin_ia32_loadups512_mask(p, (vf){ 0 }, lane_mask(lo, hi));
#else
  float t[TT_VL] = { 0 };
  for (int l = lo; l < hi; l++) t[l] = p[l];
  return vload(t);
#endif
}
static inline void vstream_fence(void) {
#if (defined(__AVX512F__) && TT_VL == 16) || (defined(__AVX__) && TT_VL == 8)
  __builtin_ia32_sfence();
#endif
}
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
 * Convolution epilogue activations (the `act` argument of conv2d: codes shared with src/backend/accel.ts).
 * NaN passes through each of them, as in PyTorch and the reference backend.
 * ---------------------------------------------------------------------------------------------------------- */
enum { ACT_NONE = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_HARDSWISH = 3 };
static inline float act_s(float v, int act) {
  switch (act) {
    case ACT_RELU: return v < 0 ? 0.0f : v;
    case ACT_RELU6: return v < 0 ? 0.0f : v > 6.0f ? 6.0f : v;
    /* hardswish (Howard et al. 2019): x·relu6(x + 3)/6, the /6 as ·(1/6) (within an ulp of the division), as the
     * vector form below: min(relu(x), x·(x + 3)·(1/6)) */
    case ACT_HARDSWISH: {
      float f = v * (v + 3.0f) * (1.0f / 6.0f), m = v < 0 ? 0.0f : v;
      return m < f ? m : f;
    }
  }
  return v;
}
/* a < b ? a : b and a > b ? a : b: x86's min(a, b) and max(a, b) exactly (NaN and signed zeros included — each
 * returns b when they compare false), one instruction where a compare and a select took two */
static inline vf vminx(vf a, vf b) {
#if defined(__AVX512F__) && TT_VL == 16
  return __builtin_ia32_minps512_mask(a, b, b, (unsigned short)-1, 4);
#elif defined(__AVX__) && TT_VL == 8
  return __builtin_ia32_minps256(a, b);
#else
  return vsel(a < b, a, b);
#endif
}
static inline vf vmaxx(vf a, vf b) {
#if defined(__AVX512F__) && TT_VL == 16
  return __builtin_ia32_maxps512_mask(a, b, b, (unsigned short)-1, 4);
#elif defined(__AVX__) && TT_VL == 8
  return __builtin_ia32_maxps256(a, b);
#else
  return vsel(a > b, a, b);
#endif
}
/* max(x, 0) with x's own NaN and −0 (as torch.relu): max(0, x), where a compare and a select gave +0 for −0.
 * MobileNetV2's 3×3 depthwise layers with ReLU6, AVX2, one thread, Zen 4 (C harness, interleaved): 960 ch at 7²
 * 67.5–68.0 → 69.5–70.7 GFLOP/s, 384 at 14² 58.7–59.0 → 61.8–62.9, 144 at 56² 65.0 → 67.3. */
static inline vf vrelu(vf v) { return vmaxx(vsplat(0.0f), v); }
static inline vf act_v(vf v, int act) {
  switch (act) {
    case ACT_RELU: return vrelu(v);
    /* MobileNetV2's expansion and depthwise epilogues, b1 and b8 −1 % with the upper clamp one min instruction */
    case ACT_RELU6: return vminx(vsplat(6.0f), vrelu(v));
    case ACT_HARDSWISH: {
      /* a multiply, not a division: vdivps took 10 cycles a zmm on Zen 4, a seventh of MobileNetV3's stem. As rounded
       * in float32 (checked for every float) the product f = x·(x + 3)·(1/6) is at least x past 3, at most x between 0
       * and 3, negative between −3 and 0 and at least 0 from −3 down, so hardswish is min(relu(x), f): five
       * operations where two compares and two selects made seven, the same bits but −0 for −3 (as PyTorch's
       * x·relu6(x + 3)/6), NaN passed on (f is NaN, and min returns its second operand). MobileNetV3's 3→16 stem at
       * batch 8, one thread, Zen 4 (C harness, interleaved): AVX2 1.25 → 1.21–1.23 ms, AVX-512 1.22–1.23 → 1.18; its
       * hardswish over no activation 9–11 % → 6 %. */
      return vminx(vrelu(v), v * (v + 3.0f) * (1.0f / 6.0f));
    }
  }
  return v;
}

/* STMT(A) for the activation act, A the constant ACT_… in each case: a loop or an epilogue that calls act_v with A
 * compiled once per activation, where act_v(v, act) with act a variable tested it for every vector — up to three
 * compares and branches each, as many as the arithmetic in a micro-kernel tile's epilogue at 16–24 channels
 * (docs/kernels.md, fortieth session). STMT ends with its own semicolon. */
#define ACT_DISPATCH(act, STMT)                                                                                  \
  switch (act) {                                                                                                 \
  case ACT_RELU: STMT(ACT_RELU) break;                                                                           \
  case ACT_RELU6: STMT(ACT_RELU6) break;                                                                         \
  case ACT_HARDSWISH: STMT(ACT_HARDSWISH) break;                                                                 \
  default: STMT(ACT_NONE)                                                                                        \
  }

/* ------------------------------------------------------------------------------------------------------------
 * fn(ctx, r) for rows r = 0 … rows−1 (planes, channels), in parallel runs of rows of at least PAR_ROWS_MIN
 * elements when there are two runs or more. A task per row of a small map was a thread-pool round trip per 49
 * elements: global pooling over [8, 960, 7, 7] (squeeze-excitation, the classifier's pool) ran no faster on two
 * threads than on one. Rows must be independent (the result does not depend on the split).
 * ---------------------------------------------------------------------------------------------------------- */
#define PAR_ROWS_MIN 16384
typedef struct { tt_task_fn fn; void *ctx; long per, rows; } par_rows_job;

static void par_rows_task(void *ctx, long t, int tid) {
  const par_rows_job *c = ctx;
  for (long r = t * c->per, r1 = MINI(c->rows, r + c->per); r < r1; r++) c->fn(c->ctx, r, tid);
}

static void par_rows(long rows, long row_elems, tt_task_fn fn, void *ctx) {
  long per = MAXI(1, PAR_ROWS_MIN / MAXI(1, row_elems)), tasks = (rows + per - 1) / per;
  if (tt_num_threads() > 1 && tasks > 1) {
    par_rows_job c = { fn, ctx, per, rows };
    tt_parallel(tasks, par_rows_task, &c);
  } else {
    for (long r = 0; r < rows; r++) fn(ctx, r, 0);
  }
}

/* ------------------------------------------------------------------------------------------------------------
 * Channels-last (NHWC) inference convolutions: the pointwise and depthwise layers of the MobileNets, which make up
 * all of their blocks. In NCHW a batch-1 pointwise convolution is a GEMM whose columns are the pixels of one map:
 * 7×7 maps fill 49 of 64 tile columns, and a depthwise convolution is one small plane per channel with padding and
 * stride handled at every plane's edges. In NHWC the pixels of the whole batch are the GEMM's rows (196, 3136 and
 * 12544 are multiples of the 14-row AVX-512 tile), the weights are packed once into NR-column panels, and the
 * epilogue (folded batch norm, activation, residual) runs along the channels of each row; a depthwise convolution
 * is one vector of channels per pixel and tap, the same work at every pixel (ONNX Runtime's NCHWc and XNNPACK's
 * NHWC kernels get their MobileNet speed the same way). x is [n, h, w, c], out [n, oh, ow, oc]; the weights are
 * packed by conv2d_nhwc_pack (pointwise: Wᵀ in NR-column panels; depthwise: [tap][channel]).
 * ---------------------------------------------------------------------------------------------------------- */
/* NHWC_DENSE: any other one-group convolution (from an NHWC input, or from an NCHW one by conv2d_nchw_to_nhwc). */
enum { NHWC_NONE, NHWC_POINTWISE, NHWC_DEPTHWISE, NHWC_DENSE };

static int nhwc_kind(const cgeom *g) {
  if (g->groups == 1 && g->kh == 1 && g->kw == 1 && g->sH == 1 && g->sW == 1 && g->pH == 0 && g->pW == 0 &&
      g->oh == g->h && g->ow == g->w)
    return NHWC_POINTWISE;
  if (g->groups > 1 && g->groups == g->c && g->oc == g->c) return NHWC_DEPTHWISE;
  if (g->groups == 1) return NHWC_DENSE;
  return NHWC_NONE;
}

/* A dense geometry that runs Winograd (conv_plan's channels-last answer): its weights packed as the NCHW Winograd's. */
static int nhwc_winograd(const cgeom *g) {
  return nhwc_kind(g) == NHWC_DENSE && conv_plan(g, TT_CONV_FWD_NHWC) == TT_PLAN_WINOGRAD;
}

/* The output columns of g whose every tap is inside the image's width: [*ox0, *ox1), within [0, ow). */
static void nhwc_inner_cols(const cgeom *g, long *ox0, long *ox1) {
  long lo = g->pW > 0 ? (g->pW + g->sW - 1) / g->sW : 0;
  long span = (g->kw - 1) * g->dW; /* ix0 + span < w */
  long hi = g->w - 1 - span + g->pW >= 0 ? (g->w - 1 - span + g->pW) / g->sW + 1 : 0;
  *ox0 = MINI(lo, g->ow);
  *ox1 = MAXI(*ox0, MINI(hi, g->ow));
}

/* Pointwise panels: panel j holds columns [nhwc_panel_col(j), +NR) of Wᵀ (c rows of NR floats). The last panel
 * ends at oc (it overlaps the one before when NR does not divide oc); with oc < NR one zero-padded panel. */
static long nhwc_panels(long oc) { return oc <= NR ? 1 : (oc + NR - 1) / NR; }
static long nhwc_panel_col(long j, long oc) { return oc <= NR ? 0 : MINI(j * NR, oc - NR); }

/* The row stride, in floats, of a tile's rows of k floats read by uk_nhwc_conv: its MR broadcast streams, rows a
 * multiple of 4 KB apart (k = 1024, 2048), all fall in one set of the L1 data cache (64 sets: 8 ways on Zen 4, 12 on
 * Zen 5) and evict each other's lines before their 16 floats are used — 1024→256 at 14², batch 1, two threads, Zen
 * 4: 146 GFLOP/s at c = 1024 against 203 at c = 1008 or 1040. Such rows are copied one cache line apart. */
static long nhwc_row_ld(long k) { return (k & 1023) == 0 ? k + 16 : k; }

/* Planes of a channels-last Winograd layer's transformed weights: 36 for F(4×4, 3×3), else 16. */
static int nhwc_wino_planes(const cgeom *g) { return wino43_applies(g) ? 36 : 16; }

/* A channels-last Winograd layer (nhwc_winograd) on its packed weights: F(4×4, 3×3) or F(2×2, 3×3) as packed, from an
 * NHWC input or (the program's first layer) an NCHW one, res added before the activation (or null). */
static void nhwc_winograd_run(const float *x, const float *packed, const float *bias, const float *scale,
                              const float *res, float *out, const cgeom *g, int in_nhwc, int act) {
  if (nhwc_wino_planes(g) == 36)
    wino43_conv_nhwc(x, packed, bias, scale, res, out, g->n, g->c, g->h, g->w, g->oc, g->oh, g->ow, g->pH, g->pW,
                     !in_nhwc, act);
  else
    wino_conv_nhwc(x, packed, bias, scale, res, out, g->n, g->c, g->h, g->w, g->oc, g->oh, g->ow, g->pH, g->pW,
                   in_nhwc, act);
}

static long nhwc_packed_floats(const cgeom *g) {
  if (nhwc_winograd(g)) return wino_packed_floats_planes(g->oc, g->c, nhwc_wino_planes(g));
  switch (nhwc_kind(g)) {
  case NHWC_POINTWISE:
  case NHWC_DENSE: return nhwc_panels(g->oc) * g->c * g->kh * g->kw * NR;
  case NHWC_DEPTHWISE: return g->kh * g->kw * g->c;
  default: return 0;
  }
}

static int op_conv2d_nhwc_packed_size(const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) return 0;
  long floats = nhwc_packed_floats(&g);
  return floats <= INT32_MAX ? (int)floats : 0;
}

static void op_conv2d_nhwc_pack(const float *w, float *packed, const int32_t *gi) {
  cgeom g = parse_cg(gi);
  if (op_conv2d_nhwc_packed_size(gi) <= 0) return;
  if (nhwc_winograd(&g)) {
    wino_weights_panels_planes(w, packed, g.oc, g.c, nhwc_wino_planes(&g));
    return;
  }
  if (nhwc_kind(&g) != NHWC_DEPTHWISE) {
    /* Wᵀ [kh·kw·c, oc] in panels, rows in (ky, kx, ci) order: a tap's rows are one input pixel's channels */
    long taps = g.kh * g.kw, K = g.c * taps, oc = g.oc;
    for (long j = 0; j < nhwc_panels(oc); j++) {
      long n0 = nhwc_panel_col(j, oc);
      float *p = packed + j * K * NR;
      for (long t = 0; t < taps; t++)
        for (long ci = 0; ci < g.c; ci++) {
          float *row = p + (t * g.c + ci) * NR;
          for (long q = 0; q < NR; q++) row[q] = n0 + q < oc ? w[(n0 + q) * K + ci * taps + t] : 0.0f;
        }
    }
    return;
  }
  long taps = g.kh * g.kw;
  for (long ch = 0; ch < g.c; ch++)
    for (long t = 0; t < taps; t++) packed[t * g.c + ch] = w[ch * taps + t];
}

typedef struct {
  const float *x, *wp, *bias, *scale, *res;
  float *out;
  long m, c, oc;
  /* The K rows of each panel summed: [k0, k0 + kc) of its c (kc 0: all), the rows of x holding those channels
   * only — a partial product of nhwc_block_channels, one part of the hidden channels. */
  long k0, kc;
  gemm_split split;
  int act;
  int stream; /* whole tiles store their outputs with vstream (nhwc_streams) */
} nhwc_pw_job;

/* The K rows of each panel j sums (nhwc_pw_job.kc). */
static inline long nhwc_pw_kc(const nhwc_pw_job *j) { return j->kc ? j->kc : j->c; }

/* Outputs (floats) from which a layer's whole tiles store past the caches: maps that do not stay in cache, where
 * each plain store first read its line from memory. The next layer reads them from memory either way. ResNet-50 at
 * batch 8 (expansions of 6.4 M floats, 25 MB, and their residual): 283.9 → 275.6 ms, Zen 4, two threads
 * (interleaved, medians of 10); a bound of 4 M floats gained less (0.976 against 0.969 at this one), 0.4 M the same
 * (0.972). Batch 1 has no such layer. */
#define NHWC_STREAM_FLOATS (1L << 20)

/* Whether a layer of `floats` outputs at out, rows of oc channels, streams them: large, every whole tile's vectors
 * aligned (out on a cache line — unfilled storage is — and rows a whole number of vectors), and not written over
 * its residual: there each line was just read (the tile's residual prefetch), a plain store finds it in cache, and
 * the line stays in the last-level cache for the next block's first layer, where a streamed one left for memory —
 * ResNet-50 at batch 8, 64→256 at 56² in place, 4.9 → 4.7 ms; 256→1024 at 14² 4.35 → 4.05 (Zen 4, two threads). */
static int nhwc_streams(const float *out, const float *res, long floats, long oc) {
  return floats >= NHWC_STREAM_FLOATS && ((uintptr_t)out & 63) == 0 && oc % TT_VL == 0 && res != out;
}

/* The first c floats of `rows` pixel rows of x (ldx floats apart) into a, nhwc_row_ld(c) floats apart. */
static void nhwc_copy_rows(const float *x, long ldx, long c, long rows, float *a) {
  long ld = nhwc_row_ld(c);
  for (long r = 0; r < rows; r++) memcpy(a + r * ld, x + r * ldx, sizeof(float) * c);
}

/* act(scale·t + bias + res) of rows [r0, mr) × columns [q0, NR) of the tile t (NR floats a row) into out at row m0,
 * column n0 (the columns past oc are the zero padding of a narrow panel: at most oc − n0 of them are written). */
static void nhwc_pw_store(const nhwc_pw_job *j, const float *t, long m0, long n0, int r0, int mr, int q0) {
  long oc = j->oc;
  int nq = (int)MINI(NR, oc - n0), act = j->act;
  const float *scale = j->scale ? j->scale + n0 : 0, *bias = j->bias ? j->bias + n0 : 0;
  for (int i = r0; i < mr; i++) {
    const float *src = t + i * NR;
    float *dst = j->out + (m0 + i) * oc + n0;
    const float *rr = j->res ? j->res + (m0 + i) * oc + n0 : 0;
    int q = q0;
    for (; q + TT_VL <= nq; q += TT_VL) {
      vf v = vload(src + q);
      if (scale) v *= vload(scale + q);
      if (bias) v += vload(bias + q);
      if (rr) v += vload(rr + q);
      vstore(dst + q, act_v(v, act));
    }
    for (; q < nq; q++) {
      float v = src[q];
      if (scale) v *= scale[q];
      if (bias) v += bias[q];
      if (rr) v += rr[q];
      dst[q] = act_s(v, act);
    }
  }
}

/* A panel's scale and bias where the layer has none (uk_nhwc_conv_rows, uk_nhwc_narrow, and the half-vector tiles
 * through nhwc_tile). */
static const float nhwc_ones[NR] __attribute__((aligned(64))) = { [0 ... NR - 1] = 1.0f };
static const float nhwc_zeros[NR] __attribute__((aligned(64))) = { 0 };

/* A full MR×NR tile with its epilogue applied in registers: act(acc·scale + bias (+ res)) stored straight into out
 * (rows ldo apart). At the expansions' sums of 16–24 channels a round trip through a scratch tile cost a third
 * of the tile's time. The sum runs over `taps` runs of kc: run t reads rows a + toff[t] (lda apart) against the
 * next kc rows of b — a pointwise convolution is one run at offset 0, a dense one a run per kernel tap (its pixels
 * in place or in a gathered patch). With scale, bias and res null and act NONE it is a plain tile (the callers'
 * partial tiles). With pf set, each step also prefetches (into L2) the line at pf and, for pfs > 16, the next one,
 * then moves pf on by pfs floats: a later panel fetched alongside this one's use. res may be out itself (each
 * vector is read before its own store; out is not restrict for that reason).
 * The tile spans nv ≤ TT_NV vectors of b's rows (still NR floats apart); the first vector's lanes from lo and the
 * last one's up to hi are the tile's own (scale, bias and res are read and out written there only): the columns a
 * panel leaves when it overlaps the one before or passes the output's channels. */
static inline __attribute__((always_inline)) void
uk_nhwc_conv_rows(const int rows, const int nv, int lo, int hi, long taps, const long *toff, long kc,
                  const float *restrict a, long lda, const float *restrict b, float *out, long ldo,
                  const float *scale, const float *bias, const float *res, int act, const float *pf, long pfs,
                  int stream) {
  vf cr[MR][TT_NV];
  UNROLL_TO(i, rows, MR) UNROLL_TO(q, nv, TT_NV) cr[i][q] = (vf){0};
  /* Row i is read through base pointer i / 4 at 0, lda, 2·lda or 3·lda: four bases and two strides in registers,
   * all addressing modes (base + index · 4 or 8). With a register per row (i·lda) the 14 rows of an AVX-512 tile
   * left too few general registers, and the compiler reloaded row offsets from the stack at every step. */
  const long l3 = 3 * lda;
  /* Lines from memory that the tile would otherwise wait for: its residual, read only in the epilogue (requested
   * now, it arrives during the sum), and, for a single run without a panel prefetch, the next tile's rows of a
   * (the rows after these, one line a step: kc·16 floats, past the next MR rows of kc). At batch 8 a ResNet-50
   * expansion's residual and a reduction's input come from memory, and each tile stalled on them — Zen 4, two
   * threads, single layers with maps as large as the network's: 64→256 at 56² with its residual in place 6.0 →
   * 4.9 ms, 256→64 at 56² 5.3 → 4.3, 256→1024 at 14² 4.7 → 4.35; batch 1, maps in cache, unchanged. */
  if (res)
    UNROLL_TO(i, rows, MR) UNROLL_TO(q, nv, TT_NV) __builtin_prefetch(res + i * ldo + q * TT_VL, 0, 3);
  const float *pa = !pf && taps == 1 ? a + rows * lda : 0;
  for (long t = 0; t < taps; t++) {
    const float *ab[(MR + 3) / 4];
    UNROLL_TO(g, (rows + 3) / 4, (MR + 3) / 4) ab[g] = a + toff[t] + 4 * g * lda;
    for (long p = 0; p < kc; p++) {
      vf bv[TT_NV];
      UNROLL_TO(q, nv, TT_NV) bv[q] = vload(b + q * TT_VL);
      UNROLL_TO(i, rows, MR) {
        const float *r = ab[i / 4];
        vf av = vsplat(i % 4 == 0 ? r[0] : i % 4 == 1 ? r[lda] : i % 4 == 2 ? r[2 * lda] : r[l3]);
        UNROLL_TO(q, nv, TT_NV) cr[i][q] = vfma(cr[i][q], av, bv[q]);
      }
      uk_prefetch_step(&pf, pfs);
      if (pa) {
        __builtin_prefetch(pa, 0, 3);
        pa += 16;
      }
      UNROLL_TO(g, (rows + 3) / 4, (MR + 3) / 4) ab[g] += 1;
      b += NR;
    }
  }
#define UK_LO(q) ((q) == 0 ? lo : 0)
#define UK_HI(q) ((q) == nv - 1 ? hi : TT_VL)
#define UK_WHOLE(q) (UK_LO(q) == 0 && UK_HI(q) == TT_VL)
#define UK_LOAD(p, q) (UK_WHOLE(q) ? vload(p) : vload_lanes(p, UK_LO(q), UK_HI(q)))
  /* absent scale and bias read as ones and zeros (nhwc_ones): a select between a load and a constant was a branch,
   * and with it between the product and the sum GCC did not contract them into one FMA */
  const float *sp = scale ? scale : nhwc_ones, *bp = bias ? bias : nhwc_zeros;
  vf sv[TT_NV], bb[TT_NV];
  UNROLL_TO(q, nv, TT_NV) {
    sv[q] = UK_LOAD(sp + q * TT_VL, q);
    bb[q] = UK_LOAD(bp + q * TT_VL, q);
  }
  /* The epilogue once per activation, each a constant in its copy: act_v per vector with act a variable compiled
   * to up to three compares and branches a vector — 36 for AVX2's 6×16 tile against ~100–150 cycles of FMAs at
   * the expansions' 16–24 channels. (All the tile's sums, then all its activations, then its stores, with one
   * test, ran ReLU6 5 % slower than this.) */
#define UK_EPILOGUE(ACT)                                                                                        \
  UNROLL_TO(i, rows, MR) UNROLL_TO(q, nv, TT_NV) {                                                              \
    float *o = out + i * ldo + q * TT_VL;                                                                       \
    vf v = cr[i][q] * sv[q] + bb[q];                                                                            \
    if (UK_WHOLE(q)) {                                                                                          \
      if (res) v += vload(res + i * ldo + q * TT_VL);                                                           \
      if (stream) vstream(o, act_v(v, ACT));                                                                    \
      else vstore(o, act_v(v, ACT));                                                                            \
    } else {                                                                                                    \
      if (res) v += vload_lanes(res + i * ldo + q * TT_VL, UK_LO(q), UK_HI(q));                                 \
      vstore_lanes(o, act_v(v, ACT), UK_LO(q), UK_HI(q));                                                       \
    }                                                                                                           \
  }
  ACT_DISPATCH(act, UK_EPILOGUE)
#undef UK_EPILOGUE
#undef UK_LO
#undef UK_HI
#undef UK_WHOLE
#undef UK_LOAD
}

static const long nhwc_no_offset[1] = { 0 };

#define UK_NHWC_ARGS                                                                                              \
  long taps, const long *toff, long kc, const float *restrict a, long lda, const float *restrict b,              \
      float *out, long ldo, const float *scale, const float *bias, const float *res, int act,          \
      const float *pf, long pfs, int stream
static void uk_nhwc_conv(UK_NHWC_ARGS) {
  uk_nhwc_conv_rows(MR, TT_NV, 0, TT_VL, taps, toff, kc, a, lda, b, out, ldo, scale, bias, res, act, pf, pfs, stream);
}
/* Half a tile: the last rows of a product whose row count leaves at most MR/2 past the whole tiles (7×7 maps at
 * batch 1, 49 = 3·14 + 7), where a whole overlapping tile would recompute MR/2 rows or more. */
static void uk_nhwc_conv_half(UK_NHWC_ARGS) {
  uk_nhwc_conv_rows(MR / 2, TT_NV, 0, TT_VL, taps, toff, kc, a, lda, b, out, ldo, scale, bias, res, act, pf, pfs,
                    stream);
}
/* A tile of MR rows over one (cols1) or TT_NV vectors of columns, lanes [lo, hi) of the first and last its own (no
 * stream, no prefetch: the last panel of a product). Two functions, not one taking nv: merged, GCC compiled the
 * one-vector epilogue differently (results 1 ulp apart from the separate build's). */
#define UK_NHWC_COLS_ARGS                                                                                         \
  long taps, const long *toff, long kc, const float *restrict a, long lda, const float *restrict b, float *out,  \
      long ldo, const float *scale, const float *bias, const float *res, int act, int lo, int hi
static NO_CLONE void uk_nhwc_conv_cols1(UK_NHWC_COLS_ARGS) {
  uk_nhwc_conv_rows(MR, 1, lo, hi, taps, toff, kc, a, lda, b, out, ldo, scale, bias, res, act, 0, 0, 0);
}
static NO_CLONE void uk_nhwc_conv_cols(UK_NHWC_COLS_ARGS) {
  uk_nhwc_conv_rows(MR, TT_NV, lo, hi, taps, toff, kc, a, lda, b, out, ldo, scale, bias, res, act, 0, 0, 0);
}

#if TT_VL == 16
/* Tiles whose own columns are 8 + 16·z (z = 0 or 1): an output whose channels leave 8 past a multiple of 16 — 24
 * (MobileNetV2's and V3's projections at 56²), 40, 72, 120, 184 and 200 (V3's) — computed, through the masked
 * columns path, as 16 or 32 lanes of which 8 were discarded: a quarter to a half of those tiles' FMAs. Here the 8
 * columns take a 256-bit accumulator a row beside the 512-bit one (a ymm FMA is one of Zen 4's two 256-bit FMA
 * issues, a zmm one both); each lane sums its K steps in the same order as the wide tile's, so the outputs are the
 * same bits. The 8 columns sit at o8 and the whole vector at o16 from b, out, scale, bias and res (the panel's rows
 * NR floats apart as packed). The portable 16-wide build (generic16) takes these tiles too: until it did, they ran
 * only on AVX-512 CPUs, and a change to them (or to the epilogue they share with the wide tile) went untested on
 * every other machine. */
typedef float v8f __attribute__((vector_size(32)));
typedef float v8fu __attribute__((vector_size(32), aligned(4)));
static inline v8f v8load(const float *p) { return *(const v8fu *)p; }
static inline void v8store(float *p, v8f v) { *(v8fu *)p = v; }
static inline v8f v8lo(vf v) { return __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7); }
/* act_v on 8 lanes (through a whole vector: once a row, in the epilogue). */
static inline v8f act_v8(v8f v, int act) {
  return act == ACT_NONE ? v : v8lo(act_v(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7), act));
}
static inline __attribute__((always_inline)) void
uk_nhwc_conv_h8_rows(const int z, long taps, const long *toff, long kc, const float *restrict a, long lda,
                     const float *restrict b, long o8, long o16, float *out, long ldo, const float *scale,
                     const float *bias, const float *res, int act) {
  vf cz[MR];
  v8f ch[MR];
  UNROLL for (int i = 0; i < MR; i++) cz[i] = (vf){ 0 }, ch[i] = (v8f){ 0 };
  const long l3 = 3 * lda;
  for (long t = 0; t < taps; t++) {
    const float *ab[(MR + 3) / 4];
    UNROLL for (int g = 0; g < (MR + 3) / 4; g++) ab[g] = a + toff[t] + 4 * g * lda;
    for (long p = 0; p < kc; p++) {
      vf bz = z ? vload(b + o16) : (vf){ 0 };
      v8f bh = v8load(b + o8);
      UNROLL for (int i = 0; i < MR; i++) {
        const float *r = ab[i / 4];
        vf av = vsplat(i % 4 == 0 ? r[0] : i % 4 == 1 ? r[lda] : i % 4 == 2 ? r[2 * lda] : r[l3]);
        if (z) cz[i] = vfma(cz[i], av, bz);
        ch[i] = ch[i] + v8lo(av) * bh;
      }
      UNROLL for (int g = 0; g < (MR + 3) / 4; g++) ab[g] += 1;
      b += NR;
    }
  }
  /* scale and bias are never null here (the caller passes nhwc_ones and nhwc_zeros for absent ones, through this
   * function's noipa boundary): a null test between product and sum — or GCC's view of the constant arrays behind
   * one — left them a multiply and an add where uk_nhwc_conv_rows fuses them. One epilogue copy per activation. */
  vf sz = z ? vload(scale + o16) : (vf){ 0 }, bz = z ? vload(bias + o16) : (vf){ 0 };
  v8f sh = v8load(scale + o8), bh = v8load(bias + o8);
#define UK_EPILOGUE(ACT)                                                                                        \
  UNROLL for (int i = 0; i < MR; i++) {                                                                         \
    if (z) {                                                                                                    \
      vf v = cz[i] * sz + bz;                                                                                   \
      if (res) v += vload(res + i * ldo + o16);                                                                 \
      vstore(out + i * ldo + o16, act_v(v, ACT));                                                               \
    }                                                                                                           \
    v8f v = ch[i] * sh + bh;                                                                                    \
    if (res) v += v8load(res + i * ldo + o8);                                                                   \
    v8store(out + i * ldo + o8, act_v8(v, ACT));                                                                \
  }
  ACT_DISPATCH(act, UK_EPILOGUE)
#undef UK_EPILOGUE
}
static NO_CLONE void uk_nhwc_conv_h8(long taps, const long *toff, long kc, const float *a, long lda, const float *b,
                                     long o8, float *out, long ldo, const float *scale, const float *bias,
                                     const float *res, int act) {
  uk_nhwc_conv_h8_rows(0, taps, toff, kc, a, lda, b, o8, 0, out, ldo, scale, bias, res, act);
}
static NO_CLONE void uk_nhwc_conv_h24(long taps, const long *toff, long kc, const float *a, long lda, const float *b,
                                      long o8, long o16, float *out, long ldo, const float *scale, const float *bias,
                                      const float *res, int act) {
  uk_nhwc_conv_h8_rows(1, taps, toff, kc, a, lda, b, o8, o16, out, ldo, scale, bias, res, act);
}
#endif

/* uk_nhwc_conv over `n` whole tiles of MR rows one after another (rows a + t·MR·lda, out and res + t·MR·ldo): one call
 * for a run of a panel's tiles. At the expansions' sums of 16 channels a tile is ~100 cycles of FMAs on AVX2 (6×16),
 * and the call per tile through nhwc_tile cost a third as much again (16→64 at 112², AVX2 0.198 ms against
 * AVX-512's 0.147). Not cloned, as nhwc_tile: a specialised copy with the micro-kernel inlined was once half speed. */
#define NHWC_TILE_RUNS (MR * NR <= 128) /* AVX2's 6×16 and narrower; AVX-512's 14×32 tiles showed no gain */
static NO_CLONE void uk_nhwc_conv_tiles(long n, long kc, const float *a, long lda, const float *b, float *out,
                                        long ldo, const float *scale, const float *bias, const float *res, int act,
                                        int stream) {
  for (long t = 0; t < n; t++)
    uk_nhwc_conv_rows(MR, TT_NV, 0, TT_VL, 1, nhwc_no_offset, kc, a + t * MR * lda, lda, b, out + t * MR * ldo, ldo,
                      scale, bias, res ? res + t * MR * ldo : 0, act, 0, 0, stream);
}

/* uk_nhwc_conv_half when half, else uk_nhwc_conv (direct calls, which the compiler specialises per caller). */
static inline void nhwc_uk(int half, UK_NHWC_ARGS) {
  if (half) uk_nhwc_conv_half(taps, toff, kc, a, lda, b, out, ldo, scale, bias, res, act, pf, pfs, stream);
  else uk_nhwc_conv(taps, toff, kc, a, lda, b, out, ldo, scale, bias, res, act, pf, pfs, stream);
}

/* Rows of the narrow micro-kernel: twice the NR-wide one's, as its accumulators are one vector a row. */
#define MR2 (2 * MR)

/* A tile of MR2 rows for a panel whose live columns fit one vector (oc ≤ TT_VL): one accumulator vector a row,
 * where the NR-wide kernel spends half its FMAs on the panel's zero columns — MobileNetV2's first projection (32 → 16
 * at 112², batch 1), V3's (16 → 16) and V3's 16-channel stem. Row i's p-th value is a[i·lda + p] (koff null: a
 * pointwise product) or a[i·lda + koff[p]] (the stem's taps in its padded row copies); b is the panel as packed
 * (rows NR floats apart, the first TT_VL used). act(scale·acc + bias + res) is stored at out, rows ldo apart (scale,
 * bias and res null and act none for a plain tile).
 * Rows are addressed as in uk_nhwc_conv_rows: a base pointer per four rows, at 0, lda, 2·lda and 3·lda from it —
 * with one pointer per row (28 of them) GCC kept most on the stack and reloaded one before every FMA. The stem
 * passes its stride as a constant (nhwc_stem_narrow): offsets i·lda are then immediates from one pointer. */
static inline __attribute__((always_inline)) void
uk_nhwc_narrow(long kc, const float *restrict a, long lda, const int32_t *restrict koff, const float *restrict b,
               float *out, long ldo, const float *scale, const float *bias, const float *res, int act) {
  vf cr[MR2];
  UNROLL for (int i = 0; i < MR2; i++) cr[i] = (vf){0};
  if (koff)
    for (long p = 0; p < kc; p++) {
      vf bv = vload(b);
      const float *ap = a + koff[p];
      UNROLL for (int i = 0; i < MR2; i++) cr[i] = vfma(cr[i], vsplat(ap[i * lda]), bv);
      b += NR;
    }
  else {
    const long l3 = 3 * lda;
    const float *ab[MR2 / 4];
    UNROLL for (int g = 0; g < MR2 / 4; g++) ab[g] = a + 4 * g * lda;
    for (long p = 0; p < kc; p++) {
      vf bv = vload(b);
      UNROLL for (int i = 0; i < MR2; i++) {
        const float *r = ab[i / 4];
        cr[i] = vfma(cr[i], vsplat(i % 4 == 0 ? r[0] : i % 4 == 1 ? r[lda] : i % 4 == 2 ? r[2 * lda] : r[l3]), bv);
      }
      UNROLL for (int g = 0; g < MR2 / 4; g++) ab[g] += 1;
      b += NR;
    }
  }
  vf sv = vload(scale ? scale : nhwc_ones), bb = vload(bias ? bias : nhwc_zeros);
  /* one copy of the epilogue per activation, as uk_nhwc_conv_rows's */
#define UK_EPILOGUE(ACT)                                                                                        \
  UNROLL for (int i = 0; i < MR2; i++) {                                                                        \
    vf v = cr[i] * sv + bb;                                                                                     \
    if (res) v += vload(res + i * ldo);                                                                         \
    vstore(out + i * ldo, act_v(v, ACT));                                                                       \
  }
  ACT_DISPATCH(act, UK_EPILOGUE)
#undef UK_EPILOGUE
}

/* The first output row of row tile ti of an m-row product: ti·MR, but the last tile ends at row m (overlapping the
 * one before), and with fewer than MR rows the one tile starts at 0. */
static long nhwc_tile_row(long ti, long m) { return m >= MR ? MINI(ti * MR, m - MR) : 0; }

/* Output rows [m0, m0 + MR) × panel columns [n0, n0 + NR) of j's product from uk_nhwc_conv's runs: a whole tile
 * (r0 = q0 = 0, mr = MR, inside oc) takes its epilogue in registers straight into out; any other goes through a
 * scratch tile of which nhwc_pw_store writes rows [r0, mr) from column q0. The last tile of a product whose rows
 * left fit its last MR/2 (r0 ≥ MR − MR/2) computes only those: at 7×7, batch 1, four whole tiles computed 56 rows
 * for 49 — 2048→512 0.57 → 0.52 ms, 3×3 512→512 1.29 → 1.22 (Zen 4, two threads, cold weights).
 * Not cloned: GCC specialised a copy for the pointwise caller (one tap, offset 0) with the micro-kernels inlined,
 * and on the AVX2 build that copy ran at half speed — every pointwise layer at 97 GFLOP/s on two Zen 4 cores
 * against 210 through the shared micro-kernels (ResNet-50 b1 1.5× ORT on AVX2, 0.9× on AVX-512). */
static NO_CLONE void nhwc_tile(const nhwc_pw_job *j, long taps, const long *toff, long kc, const float *a, long lda,
                               const float *b, long m0, long n0, int r0, int mr, int q0, const float *pf, long pfs) {
  const int h0 = MR - MR / 2;
  const int half = mr == MR && r0 >= h0; /* the rows left to write fit the tile's last MR/2: only those */
  if (half) {
    a += h0 * lda;
    m0 += h0;
    r0 -= h0;
    mr = MR / 2;
  }
  if (mr == (half ? MR / 2 : MR) && r0 == 0 && q0 == 0 && n0 + NR <= j->oc) {
    long o = m0 * j->oc + n0;
    nhwc_uk(half, taps, toff, kc, a, lda, b, j->out + o, j->oc, j->scale ? j->scale + n0 : 0,
            j->bias ? j->bias + n0 : 0, j->res ? j->res + o : 0, j->act, pf, pfs, j->stream);
    return;
  }
  if (!half && mr == MR && r0 == 0) {
    /* whole rows of the panel's columns [q0, qe) — an overlapping last panel's new ones, or all of an output
     * narrower than a panel: only the vectors holding them, epilogue in registers, lanes masked. 24→72 at 56²
     * (a last panel of 8 new columns) took longer than 24→96 through the scratch tile and its scalar tail. */
    long qe = MINI(NR, j->oc - n0);
    int qf = q0 / TT_VL, ql = (int)((qe + TT_VL - 1) / TT_VL), lo = q0 - qf * TT_VL, hi = (int)(qe - (ql - 1) * TT_VL);
    long col = n0 + qf * TT_VL, o = m0 * j->oc + col;
    const float *sc = j->scale ? j->scale + col : 0, *bi = j->bias ? j->bias + col : 0, *rs = j->res ? j->res + o : 0;
    _Static_assert(TT_NV == 2, "a panel's columns are one vector or all of them");
#if TT_VL == 16
    /* 8 columns on a half of a vector (lanes [0, 8) or [8, 16)), with or without a whole vector beside them */
    const float *bq = b + qf * TT_VL;
    /* the tiles read up to o8 + 8 and o16 + TT_VL floats from these: at most NR, inside nhwc_ones / nhwc_zeros */
    const float *sc1 = sc ? sc : nhwc_ones, *bi0 = bi ? bi : nhwc_zeros;
    if (ql - qf == 1 && hi - lo == 8 && lo % 8 == 0) {
      uk_nhwc_conv_h8(taps, toff, kc, a, lda, bq, lo, j->out + o, j->oc, sc1, bi0, rs, j->act);
      return;
    }
    if (ql - qf == 2 && ((lo == 0 && hi == 8) || (lo == 8 && hi == TT_VL))) {
      uk_nhwc_conv_h24(taps, toff, kc, a, lda, bq, lo == 0 ? TT_VL : 8, lo == 0 ? 0 : TT_VL, j->out + o, j->oc, sc1,
                       bi0, rs, j->act);
      return;
    }
#endif
    if (ql - qf == 1)
      uk_nhwc_conv_cols1(taps, toff, kc, a, lda, b + qf * TT_VL, j->out + o, j->oc, sc, bi, rs, j->act, lo, hi);
    else
      uk_nhwc_conv_cols(taps, toff, kc, a, lda, b, j->out + o, j->oc, sc, bi, rs, j->act, lo, hi);
    return;
  }
  float tile[MR * NR] __attribute__((aligned(64)));
  nhwc_uk(half, taps, toff, kc, a, lda, b, tile, NR, 0, 0, 0, ACT_NONE, pf, pfs, 0);
  nhwc_pw_store(j, tile, m0, n0, r0, mr, q0);
}

/* Output rows [m0, m0 + MR2) × columns [col, oc) of a pointwise product, at most a vector of them (b: their first
 * column in the panel): the whole product where oc ≤ TT_VL (col 0), or the last vector of the last panel. A whole
 * vector (col + TT_VL = oc) takes the epilogue in registers straight into out, fewer columns go through a scratch
 * tile of which the first oc are stored. */
static void nhwc_tile_narrow(const nhwc_pw_job *j, const float *a, long lda, const float *b, long m0, long col) {
  long kc = nhwc_pw_kc(j);
  if (col + TT_VL == j->oc) {
    long o = m0 * j->oc + col;
    uk_nhwc_narrow(kc, a, lda, 0, b, j->out + o, j->oc, j->scale ? j->scale + col : 0, j->bias ? j->bias + col : 0,
                   j->res ? j->res + o : 0, j->act);
    return;
  }
  float tile[MR2 * NR] __attribute__((aligned(64)));
  uk_nhwc_narrow(kc, a, lda, 0, b, tile, NR, 0, 0, 0, ACT_NONE);
  nhwc_pw_store(j, tile, m0, 0, 0, MR2, 0);
}

/* Row tiles [ta, tb) of panel p of j's product (x: the rows from r0 on, lda floats apart). Full tiles store their
 * epilogue from registers; the last row tile (rows M − MR … M, its first rows already another tile's) and the last
 * panel (columns oc − NR … oc) recompute overlapping outputs in a scratch tile and write only their own, so every
 * output is written once, by one task. While a panel is in use the next one is prefetched into L2, half of it during
 * each of the first two tiles — past the task's own panels too, as the next task of the thread's range (tt_parallel)
 * most often starts there: at batch 1 the weights of a 7² or 14² layer are read once from memory, and as a cold
 * stream they cost 8–12 % of such a layer (2048→512 at 7², two threads, weights cycled among 16 copies: 0.42 →
 * 0.38 ms; 1024→256 at 14² 0.35 → 0.32). */
static void nhwc_pw_panel(const nhwc_pw_job *j, const float *x, long lda, long r0, long p, long ta, long tb) {
  long n0 = nhwc_panel_col(p, j->oc);
  int q0 = (int)(p * NR - n0); /* columns the panel before already wrote (0 but for an overlapping last panel) */
  const float *b = j->wp + p * j->c * NR + j->k0 * NR;
  long kc = nhwc_pw_kc(j);
  long passes = MINI(2, tb - ta), pfs = NR / passes;
  for (long ti = ta; ti < tb; ti++) { /* M ≥ MR here */
    long m0 = nhwc_tile_row(ti, j->m);
    /* a narrow product takes two whole tiles at a time (not the last, overlapping one), and so does the last panel
     * of a product whose columns leave one whole vector past the panels before (q0 = NR − TT_VL: 24, 40, 72, 120,
     * 184, 200 on AVX2): one tile of MR rows had MR accumulators, 6 on AVX2, fewer than its two FMA pipes' latency
     * keeps busy. Same sums in the same order. C harness, one thread, Zen 4 AVX2, blocks at batch 8 (minimum of
     * interleaved runs): 24→72→24 at 56² 2.38 → 2.24 ms, 24→72→40 5×5 gated 1.82 → 1.77, 24→144→24 4.73 → 4.59;
     * AVX-512 (80, 112, 240 columns) unchanged. */
    int pair = ti + 1 < tb && m0 == ti * MR && nhwc_tile_row(ti + 1, j->m) == m0 + MR;
    if (pair && (j->oc <= TT_VL || (q0 == NR - TT_VL && n0 + NR == j->oc))) {
      nhwc_tile_narrow(j, x + (m0 - r0) * lda, lda, b + q0, m0, n0 + q0);
      ti++;
      continue;
    }
    /* whole tiles past the prefetching ones: one call, where a tile is small enough for the call to show */
    if (NHWC_TILE_RUNS && ti - ta >= passes && q0 == 0 && n0 + NR <= j->oc) {
      long te = ti;
      while (te < tb && nhwc_tile_row(te, j->m) == te * MR) te++;
      if (te - ti >= 2) {
        long o = ti * MR * j->oc + n0;
        uk_nhwc_conv_tiles(te - ti, kc, x + (ti * MR - r0) * lda, lda, b, j->out + o, j->oc,
                           j->scale ? j->scale + n0 : 0, j->bias ? j->bias + n0 : 0, j->res ? j->res + o : 0, j->act,
                           j->stream);
        ti = te - 1;
        continue;
      }
    }
    const float *pf = p + 1 < j->split.panels && ti - ta < passes ? b + j->c * NR + (ti - ta) * kc * pfs : 0;
    nhwc_tile(j, 1, nhwc_no_offset, kc, x + (m0 - r0) * lda, lda, b, m0, n0, (int)(ti * MR - m0), MR, q0, pf, pfs);
  }
}

/* One task. A product of one chunk (all its row tiles: the maps of batch 1 at 14² and 7²) is cut into balanced
 * ranges of (panel, tile) pairs, panel by panel: whole panels but for a task's first and last. Cut into groups of
 * whole panels, 5 panels (160 channels) on four tasks left one thread 3 of them and the other 2 — MobileNetV2's
 * 960→160 at 7², batch 1, took 0.080 ms on two threads against 0.132 on one; 960→320 (10 panels) 0.136 against
 * 0.262. Otherwise the task takes a chunk of tiles against a group of panels (gemm_split_task). */
static void nhwc_pw_task(void *ctx, long t, int tid) {
  const nhwc_pw_job *j = ctx;
  const gemm_split *s = &j->split;
  long t0, t1, p0, p1, u0 = 0, u1 = 0, tiles = s->tiles;
  if (s->chunks == 1) {
    split_range(s->panels * tiles, s->pgroups, t, &u0, &u1);
    if (u0 >= u1) return;
    p0 = u0 / tiles;
    p1 = (u1 - 1) / tiles + 1;
    t0 = p1 - p0 == 1 ? u0 % tiles : 0; /* the tiles the task's rows span */
    t1 = p1 - p0 == 1 ? (u1 - 1) % tiles + 1 : tiles;
  } else
    gemm_split_task(s, t, &t0, &t1, &p0, &p1);
  /* the chunk's rows in place, or copied apart when their stride would alias (nhwc_row_ld) */
  const float *x = j->x;
  long lda = nhwc_row_ld(j->c), r0 = 0;
  if (lda != j->c) {
    r0 = nhwc_tile_row(t0, j->m);
    long r1 = nhwc_tile_row(t1 - 1, j->m) + MR;
    float *a = tt_scratch(tid, SLOT_PACK_A, sizeof(float) * (r1 - r0) * lda);
    nhwc_copy_rows(j->x + r0 * j->c, j->c, j->c, r1 - r0, a);
    x = a;
  }
  for (long p = p0; p < p1; p++) {
    if (s->chunks == 1) nhwc_pw_panel(j, x, lda, r0, p, MAXI(t0, u0 - p * tiles), MINI(t1, u1 - p * tiles));
    else nhwc_pw_panel(j, x, lda, r0, p, t0, t1);
  }
  if (j->stream) vstream_fence();
}

/* m < MR pixels: through a zero-padded copy of their kc channels in xp (MR·kc floats), panels [pa, pb). */
static void nhwc_pw_few_rows(const nhwc_pw_job *j, float *xp, long pa, long pb) {
  long kc = nhwc_pw_kc(j);
  for (long r = 0; r < j->m; r++) memcpy(xp + r * kc, j->x + r * j->c, sizeof(float) * kc);
  memset(xp + j->m * kc, 0, sizeof(float) * (MR - j->m) * kc);
  for (long p = pa; p < pb; p++) {
    long n0 = nhwc_panel_col(p, j->oc);
    nhwc_tile(j, 1, nhwc_no_offset, kc, xp, kc, j->wp + (p * j->c + j->k0) * NR, 0, n0, 0, (int)j->m,
              (int)(p * NR - n0), 0, 0);
  }
}

/* Panels [pa, pb) of j's product over all its rows on the calling task, with thread tid's scratch: the bands of a
 * fused block (all panels), or a part of nhwc_block_channels (its output channels of the expansion, its K rows of
 * the projection). */
static void nhwc_pw_serial_part(nhwc_pw_job *j, long pa, long pb, int tid) {
  if (j->m <= 0) return;
  long kc = nhwc_pw_kc(j);
  if (j->m < MR) {
    nhwc_pw_few_rows(j, tt_scratch(tid, SLOT_PACK_A, sizeof(float) * MR * kc), pa, pb);
    return;
  }
  long tiles = (j->m + MR - 1) / MR;
  j->split = (gemm_split){ .tiles = tiles, .chunks = 1, .panels = nhwc_panels(j->oc), .pgroups = 1 };
  /* the rows in place, or copied apart when their stride would alias (nhwc_row_ld) */
  const float *x = j->x;
  long lda = j->c;
  if (nhwc_row_ld(j->c) != j->c) {
    lda = nhwc_row_ld(kc);
    float *a = tt_scratch(tid, SLOT_PACK_A, sizeof(float) * j->m * lda);
    nhwc_copy_rows(j->x, j->c, kc, j->m, a);
    x = a;
  }
  for (long p = pa; p < pb; p++) nhwc_pw_panel(j, x, lda, 0, p, 0, tiles);
}

/* The whole pointwise product on the calling task, with thread tid's scratch: the bands of a fused block. */
static void nhwc_pw_serial(const float *x, const float *wp, const float *bias, const float *scale, const float *res,
                           float *out, long m, long c, long oc, int act, int tid) {
  nhwc_pw_job j = { .x = x, .wp = wp, .bias = bias, .scale = scale, .res = res, .out = out, .m = m, .c = c,
                    .oc = oc, .act = act };
  nhwc_pw_serial_part(&j, 0, nhwc_panels(oc), tid);
}

static void nhwc_pointwise(const float *x, const float *wp, const float *bias, const float *scale, const float *res,
                           float *out, const cgeom *g, int act) {
  long m = g->n * g->h * g->w, c = g->c;
  nhwc_pw_job j = { .x = x, .wp = wp, .bias = bias, .scale = scale, .res = res, .out = out, .m = m, .c = c,
                    .oc = g->oc, .act = act, .stream = nhwc_streams(out, res, m * g->oc, g->oc) };
  if (m < MR) {
    nhwc_pw_few_rows(&j, tt_shared_scratch(SH_XPAD, sizeof(float) * MR * c), 0, nhwc_panels(g->oc));
    return;
  }
  long tiles = (m + MR - 1) / MR;
  /* a chunk of rows stays in L2 (~256 KB) while each panel passes over it; weights that outweigh the pixels
   * (2048→512 at 7², batch 1: 4 MB against 4 tiles) would stream from memory once per chunk, so there one chunk
   * takes all rows while they fit 1 MB */
  long tpc = MAXI(1, 65536 / (MR * c));
  if (c * g->oc >= (1L << 19) && tiles * MR * c <= (1L << 18)) tpc = tiles;
  /* too few row chunks to share out: split the panels too (7×7 maps at batch 1 are 4 tiles) — into fewer tasks
   * where the weights outweigh the pixels (oc ≥ m): a task's run of panels is then longer, and all but its first
   * arrive from memory while the one before is in use (nhwc_pw_task's prefetch) */
  int T = tt_num_threads();
  j.split = gemm_split_plan(tiles, tpc, nhwc_panels(g->oc), (g->oc >= m ? 2 : 4) * T);
  long tasks = j.split.chunks * j.split.pgroups;
  if (T > 1 && tasks > 1 && m * c * g->oc >= (1L << 16)) tt_parallel(tasks, nhwc_pw_task, &j);
  else
    for (long t = 0; t < tasks; t++) nhwc_pw_task(&j, t, 0);
}

typedef struct {
  const float *x, *wp, *bias, *scale;
  float *out;
  const cgeom *g;
  int act;
  long c_lo, c_hi; /* the channels computed: [c_lo, c_hi), or all of them when c_hi is 0 (nhwc_block_channels) */
} nhwc_dw_job;

/* The first channel of j's range and its count (the map's pixels stay g->c floats apart). */
static inline long nhwc_dw_range(const nhwc_dw_job *j, long *cn) {
  *cn = (j->c_hi ? j->c_hi : j->g->c) - j->c_lo;
  return j->c_lo;
}

/* act(scale·v + bias) for channels [c0, c0 + TT_VL) */
static inline vf nhwc_dw_epi(const nhwc_dw_job *j, vf v, long c0) {
  if (j->scale) v *= vload(j->scale + c0);
  if (j->bias) v += vload(j->bias + c0);
  return act_v(v, j->act);
}

/* A border pixel's sum over kernel rows [r0, r1) of the R from rows[0], its kernel columns [kx0, kx1) only (those
 * inside the image; the input column of tap kx is ix0 + kx), with the weight vectors in registers: the same products
 * in the same order as an interior pixel's (by kernel row, the first tap a product, the row sums added in order to
 * acc — the rows before r0 — or, from row 0, starting with the first). */
static inline __attribute__((always_inline)) vf nhwc_dw_edge(const float *const *rows, vf wv[5][5], const int r0,
                                                             const int r1, const int KW, long kx0, long kx1, long ix0,
                                                             long c, long c0, vf acc) {
  UNROLL_TO(r, r1, 5) if (r >= r0) {
    vf part = vsplat(0.0f);
    UNROLL_TO(kx, KW, 5) {
      if (kx < kx0 || kx >= kx1) continue;
      vf xv = vload(rows[r] + (ix0 + kx) * c + c0);
      part = kx == kx0 ? wv[r][kx] * xv : vfma(part, wv[r][kx], xv);
    }
    acc = r == 0 ? part : acc + part;
  }
  return acc;
}

/* Border pixel ox of one channel vector for kernel rows [r0, r1) (nhwc_dw_run's pass), its kernel columns
 * [kx0, kx1): its sum from nhwc_dw_edge, added to the rows before r0 kept in the output, and the epilogue on the
 * last pass. */
static inline __attribute__((always_inline)) void nhwc_dw_pixel(const nhwc_dw_job *j, const float *const *rows,
                                                              vf wv[5][5], const int r0, const int r1, const int KW,
                                                              int last, vf sc, vf bi, long c0, float *orow, long ox,
                                                              long kx0, long kx1) {
  const cgeom *g = j->g;
  long c = g->c;
  float *o = orow + ox * c + c0;
  vf acc = nhwc_dw_edge(rows, wv, r0, r1, KW, kx0, kx1, ox * g->sW - g->pW, c, c0, r0 ? vload(o) : vsplat(0.0f));
  vstore(o, last ? act_v(acc * sc + bi, j->act) : acc);
}

/* Border pixels [oxa, oxb), their kernel columns inside the image found at run time (nhwc_dw_run with SW = 0). */
static inline __attribute__((always_inline)) void nhwc_dw_border(const nhwc_dw_job *j, const float *const *rows,
                                                               vf wv[5][5], const int r0, const int r1, const int KW,
                                                               int last, vf sc, vf bi, long c0, float *orow,
                                                               long oxa, long oxb) {
  const cgeom *g = j->g;
  for (long ox = oxa; ox < oxb; ox++) {
    long ix0 = ox * g->sW - g->pW;
    nhwc_dw_pixel(j, rows, wv, r0, r1, KW, last, sc, bi, c0, orow, ox, ix0 < 0 ? -ix0 : 0, MINI((long)KW, g->w - ix0));
  }
}

/* Whether a layer's border columns are the ones nhwc_dw_run's constant-column path takes for stride SW: padding
 * KW/2 each side, so left pixel i has kernel columns [KW/2 − i·SW, KW), and the first right pixel [0, dr) with
 * dr = w − ox1·SW + KW/2 in [1, KW) (the next [0, dr − SW)); no pixel short on both sides. */
static int nhwc_dw_const_cols(const cgeom *g, int SW, long ox0, long ox1) {
  long pw = g->kw / 2, dr = g->w - ox1 * SW + pw;
  return g->sW == SW && g->pW == pw && ox0 == (pw + SW - 1) / SW && ox1 > ox0 &&
         (ox1 == g->ow || (dr >= 1 && dr < g->kw && (g->ow - ox1 - 1) * SW < dr));
}

/* Kernel rows a pass of nhwc_dw_run takes: all of them, but 5×5 kernels on the AVX2 build two at a time (2 + 2 + 1)
 * — 25 weight vectors do not fit its 16 registers, and the compiler's spills cost a load per tap on top of the
 * input's: the 5×5 layers ran 1.23–1.44× the AVX-512 build's time (Zen 4, one thread, in-process pairs). Passes of
 * 3 + 2 rows beat 2 + 2 + 1 by 2–5 % while the border pixels tested each tap and ReLU took a compare and a select;
 * with both gone (nhwc_dw_const_cols, vrelu) 2 + 2 + 1 is ahead again (C harness, one thread, interleaved, with
 * scale, hardswish / ReLU: 960 ch at 7² 66–69 → 70–73 GFLOP/s, 120 at 28² 72 → 77–78 / equal, 72 at 56² stride 2
 * 63–69 → 67–71, 672 at 14² stride 2 equal), and 5 at once is 7–26 % slower. */
#if defined(__AVX2__) && !defined(__AVX512F__)
#define NHWC_DW_ROWS(KW) ((KW) == 5 ? 2 : 5)
#else
#define NHWC_DW_ROWS(KW) 5
#endif

/* Pieces of the interior [ox0, ox1) that nhwc_dw_run walks with all channel vectors before the next: where a vector
 * is less than a cache line (AVX2, the wasm build), neighbouring channel vectors share their lines, and a walk of a
 * whole wide row — R kernel rows of input pixels and the output row, one line a pixel each — passed L1 before the
 * next vector came back for the other half of each line, so every tap's line came from L2 twice. Pieces keep a
 * walk within ~12 KB (192 lines). Same products in the same order, so the same bits. C harness, one thread, Zen 4
 * AVX2, whole blocks at batch 8 (minimum of interleaved runs): MobileNetV3-Large's 16→64→24 (3×3 stride 2 from
 * 112²) 4.00 → 3.75–3.78 ms, MobileNetV2's 16→96→24 6.00 → 5.69 (batch 1 0.721 → 0.696), V3's 16-channel 112²
 * block 1.147 → 1.114; 56² blocks (one piece) unchanged. Vectors of a whole line (AVX-512) share none.
 * Where a pixel is a whole number of lines (c a multiple of 16), every pixel's lines fall in only
 * 64 / gcd(lines, 64) of L1's 64 sets (8 ways each, as on Zen 3/4; 12 on recent Intel): 64 channels, 4 lines a
 * pixel, use 16 sets, and 192 lines over them is 12 a set — the lines the next vector comes back for were evicted
 * first. There a piece keeps to ~6 lines a set (nhwc_dw_set_pixels). C harness, one thread, Zen 3, layers on
 * L2-resident maps, µs: 128 ch at 112² stride 2 57 → 38, at 56² stride 1 59 → 43.5, 64 ch stride 2 14.2 → 13.6,
 * 576 ch at 14² 48 → 46; whole blocks at batch 8: V3-Large's 16→64→24 4.70 → 4.61 ms, 32→128→32 at 56² 6.64 →
 * 6.28, 32→256→64 at 28² 4.45 → 4.23; channel counts of odd line multiples (72, 120, 144, 240) unchanged. */
static long nhwc_dw_set_pixels(long c, int R) {
  long bytes = c * (long)sizeof(float);
  if (bytes % 64) return 0; /* lines shared between pixels: spread over every set */
  long a = bytes / 64, b = 64; /* gcd(lines a pixel, 64) */
  while (b) {
    long t = a % b;
    a = b;
    b = t;
  }
  return 6 * (64 / a) / R; /* input pixels a kernel row may take (0: no bound) */
}
static inline long nhwc_dw_segments(const cgeom *g, int R, long nvec, long ox0, long ox1) {
  if (TT_VL * sizeof(float) >= 64 || nvec < 2 || ox1 <= ox0) return 1;
  long most = MAXI(8, 192 / (R * g->sW + 1)), px = nhwc_dw_set_pixels(g->c, R);
  if (px) most = MINI(most, MAXI(4, (px - g->kw) / g->sW + 1));
  return (ox1 - ox0 + most - 1) / most;
}

/* n interior pixels of one channel vector (c0) for kernel rows [r0, r1), from input column ix (the first pixel's
 * first tap) and output o on, pixels xs floats apart in the input and c in the output: one pointer per kernel row
 * walks its row, and each pixel's sum splits by kernel row into short FMA chains that the next pixels' chains
 * overlap; the sum of the rows before r0 is read back from o, and the last pass (last) applies the epilogue. The
 * activation is a constant here (nhwc_dw_run calls a copy per activation): tested per pixel it was two to four
 * compares and branches a pixel, against ~7 cycles of arithmetic for a 3×3 tap set — 3×3 layers with ReLU alone
 * 8–18 % faster, blocks 1–3 % (C harness, one thread, Zen 3). The same operations per pixel, so the same bits. */
static inline __attribute__((always_inline)) void nhwc_dw_walk(const float *const *rows, vf wv[5][5], const int r0,
                                                               const int r1, const int KW, const int last,
                                                               const int act, vf sc, vf bi, long c, long xs, long ix,
                                                               long c0, float *o, long n) {
  const float *xr[5];
  UNROLL_TO(r, r1, 5) if (r >= r0) xr[r] = rows[r] + ix * c + c0;
  for (long i = 0; i < n; i++) {
    vf part[5];
    UNROLL_TO(r, r1, 5) if (r >= r0) {
      part[r] = wv[r][0] * vload(xr[r]);
      UNROLL_TO(kx, KW, 5) if (kx > 0) part[r] = vfma(part[r], wv[r][kx], vload(xr[r] + kx * c));
      xr[r] += xs;
    }
    vf acc = r0 ? vload(o) + part[r0] : part[0];
    UNROLL_TO(r, r1, 5) if (r > r0) acc += part[r];
    vstore(o, last ? act_v(acc * sc + bi, act) : acc);
    o += c;
  }
}

/* One output row for a kernel KW×KW (3×3 or 5×5), dilation 1, whose kernel rows inside the image are the R from
 * rows[0] (rows[r]: that image row at column 0): channel vector by channel vector, the weight vectors stay in
 * registers for the whole row — its border pixels [0, ox0) and [ox1, ow), each tap checked, and its interior
 * [ox0, ox1), where one pointer per kernel row walks the row (a tap is a pointer plus a multiple of c: cheap
 * addressing, few live registers) and each pixel's sum splits by kernel row into R short FMA chains that the next
 * pixels' chains overlap. Pixel groups outside with the weights reloaded per tap (the general loop of
 * nhwc_dw_task) ran at 30–40 GFLOP/s, a fifth of one core's ceiling; the border pixels as calls of their own, each
 * loading the weights again, were a sixth of a 14² layer and a third of a 7² one. Inlined with constant R and KW
 * (nhwc_dw_fast) so that the weight array is registers and every loop unrolls. Where the weights outnumber the
 * registers (NHWC_DW_ROWS) the row is walked once per group of kernel rows, the sum of the rows so far kept in the
 * output between walks: the same additions in the same order, so the same bits. With SW (1 or 2: the layer's
 * stride, its padding KW/2 — nhwc_dw_const_cols) the border pixels' kernel columns are constants — the left ones
 * unrolled, the right ones a case per first column count — where the general path tests each tap at run time:
 * at 7² and 14² two to four of a row's 7–14 pixels are border pixels (C harness, one thread, Zen 4: AVX2 960 ch
 * 3×3 at 7² 52–57 → 66–67 GFLOP/s, 5×5 65 → 69, 672 at 14² 5×5 stride 2 53 → 57, 384 at 14² 3×3 56 → 59–60;
 * AVX-512 960 at 7² 3×3 71–73 → 79–82, 5×5 89 → 94–98; maps of 28² and up unchanged). */
static inline __attribute__((always_inline)) void nhwc_dw_run(const nhwc_dw_job *j, const float *const *rows,
                                                              const float *wk, const int R, const int KW, const int SW,
                                                              long ox0, long ox1, float *orow) {
  const cgeom *g = j->g;
  long c = g->c, xs = g->sW * c, cn, clo = nhwc_dw_range(j, &cn), nvec = (cn + TT_VL - 1) / TT_VL;
  long dr = ox1 < g->ow ? g->w - ox1 * g->sW + KW / 2 : 0; /* the first right pixel's kernel columns (SW set) */
  const int G = NHWC_DW_ROWS(KW);
  long segs = nhwc_dw_segments(g, R, nvec, ox0, ox1);
  for (long sg = 0; sg < segs; sg++) {
    long sa = ox0 + sg * (ox1 - ox0) / segs, sb = ox0 + (sg + 1) * (ox1 - ox0) / segs; /* interior [sa, sb) */
    for (long v = 0; v < nvec; v++) {
      long c0 = clo + MINI(v * TT_VL, cn - TT_VL);
      vf sc = j->scale ? vload(j->scale + c0) : vsplat(1.0f), bi = j->bias ? vload(j->bias + c0) : vsplat(0.0f);
      UNROLL for (int r0 = 0; r0 < 5; r0 += G) if (r0 < R) {
        const int r1 = MINI(r0 + G, R), last = r1 == R;
        vf wv[5][5];
        UNROLL_TO(r, r1, 5) if (r >= r0) UNROLL_TO(kx, KW, 5) wv[r][kx] = vload(wk + (r * KW + kx) * c + c0);
        if (sg == 0) {
          if (SW) /* left pixel i: kernel columns [KW/2 − i·SW, KW), constants */
            UNROLL for (int i = 0; i < (KW / 2 + SW - 1) / MAXI(SW, 1); i++)
              nhwc_dw_pixel(j, rows, wv, r0, r1, KW, last, sc, bi, c0, orow, i, KW / 2 - i * SW, KW);
          else nhwc_dw_border(j, rows, wv, r0, r1, KW, last, sc, bi, c0, orow, 0, ox0);
        }
        long ix = sa * g->sW - g->pW;
        float *o = orow + sa * c + c0;
#define NHWC_DW_WALK(ACT) nhwc_dw_walk(rows, wv, r0, r1, KW, last, ACT, sc, bi, c, xs, ix, c0, o, sb - sa);
        if (!last) NHWC_DW_WALK(ACT_NONE)
        else ACT_DISPATCH(j->act, NHWC_DW_WALK)
#undef NHWC_DW_WALK
        if (sg < segs - 1) continue;
        if (SW) { /* right pixel ox1 + q: kernel columns [0, dr − q·SW), a constant in each case */
#define NHWC_DW_RIGHT(DR)                                                                                     \
  case DR:                                                                                                    \
    UNROLL for (int q = 0; q < 4; q++) if (DR - q * SW > 0 && ox1 + q < g->ow)                                \
      nhwc_dw_pixel(j, rows, wv, r0, r1, KW, last, sc, bi, c0, orow, ox1 + q, 0, DR - q * SW);              \
    break;
          switch (dr) { NHWC_DW_RIGHT(1) NHWC_DW_RIGHT(2) NHWC_DW_RIGHT(3) NHWC_DW_RIGHT(4) default: break; }
#undef NHWC_DW_RIGHT
        } else nhwc_dw_border(j, rows, wv, r0, r1, KW, last, sc, bi, c0, orow, ox1, g->ow);
      }
    }
  }
}

/* nhwc_dw_run for a row whose R = nrows kernel rows are inside the image, its interior [ox0, ox1); 0 when no
 * inlined copy serves it (another kernel size, dilation, fewer channels than a vector): then the caller's general
 * loop runs. */
static int nhwc_dw_fast(const nhwc_dw_job *j, const float *const *rows, const float *wk, long nrows, long ox0,
                        long ox1, float *orow) {
  const cgeom *g = j->g;
  long cn;
  nhwc_dw_range(j, &cn);
  if (g->dH != 1 || g->dW != 1 || g->kh != g->kw || cn < TT_VL) return 0;
  int sw = nhwc_dw_const_cols(g, 1, ox0, ox1) ? 1 : nhwc_dw_const_cols(g, 2, ox0, ox1) ? 2 : 0;
#define NHWC_DW(R, KW)                                                                                        \
  case (KW) * 8 + (R):                                                                                        \
    if (sw == 1) nhwc_dw_run(j, rows, wk, R, KW, 1, ox0, ox1, orow);                                          \
    else if (sw == 2) nhwc_dw_run(j, rows, wk, R, KW, 2, ox0, ox1, orow);                                     \
    else nhwc_dw_run(j, rows, wk, R, KW, 0, ox0, ox1, orow);                                                  \
    return 1;
  switch (g->kw * 8 + nrows) {
    NHWC_DW(3, 3) NHWC_DW(2, 3) NHWC_DW(1, 3)
    NHWC_DW(5, 5) NHWC_DW(4, 5) NHWC_DW(3, 5) NHWC_DW(2, 5) NHWC_DW(1, 5)
  default: return 0;
  }
#undef NHWC_DW
}

/* One output row of one image (task = b·oh + oy), the job's channels. Channel vectors start at 0, TT_VL, …, and the
 * last at c − TT_VL (overlapping the one before when TT_VL does not divide c: the same values written twice,
 * nothing read back); fewer channels than a vector run scalar. Four output pixels share each tap's weight vector where all their taps
 * are inside the image; the border pixels check each tap. */
static void nhwc_dw_task(void *ctx, long t, int tid) {
  (void)tid;
  const nhwc_dw_job *j = ctx;
  const cgeom *g = j->g;
  long c = g->c, oy = t % g->oh, b = t / g->oh, kw = g->kw;
  long ky0 = 0, ky1 = g->kh; /* kernel rows inside the image */
  long iy0 = oy * g->sH - g->pH;
  while (ky0 < ky1 && iy0 + ky0 * g->dH < 0) ky0++;
  while (ky1 > ky0 && iy0 + (ky1 - 1) * g->dH >= g->h) ky1--;
  long ox0, ox1; /* output columns whose every tap is inside */
  nhwc_inner_cols(g, &ox0, &ox1);
  const float *xb = j->x + b * g->h * g->w * c;
  float *orow = j->out + (b * g->oh + oy) * g->ow * c;
  long cn, clo = nhwc_dw_range(j, &cn), xs = g->sW * c, nvec = cn >= TT_VL ? (cn + TT_VL - 1) / TT_VL : 0;
  const float *rows[5];
  for (long r = 0; r < ky1 - ky0 && r < 5; r++) rows[r] = xb + (iy0 + ky0 + r) * g->w * c;
  if (nhwc_dw_fast(j, rows, j->wp + ky0 * kw * c, ky1 - ky0, ox0, ox1, orow)) return;
  for (long ox = 0; ox < g->ow;) {
    long ix0 = ox * g->sW - g->pW;
    long kx0 = 0, kx1 = kw; /* kernel columns inside the image */
    while (kx0 < kx1 && ix0 + kx0 * g->dW < 0) kx0++;
    while (kx1 > kx0 && ix0 + (kx1 - 1) * g->dW >= g->w) kx1--;
    if (nvec > 0 && ox >= ox0 && ox + 4 <= ox1) {
      for (long v = 0; v < nvec; v++) {
        long c0 = clo + MINI(v * TT_VL, cn - TT_VL);
        vf a0 = (vf){0}, a1 = (vf){0}, a2 = (vf){0}, a3 = (vf){0};
        for (long ky = ky0; ky < ky1; ky++) {
          const float *xr = xb + ((iy0 + ky * g->dH) * g->w + ix0) * c + c0;
          const float *wr = j->wp + ky * kw * c + c0;
          for (long kx = 0; kx < kw; kx++) {
            vf wv = vload(wr + kx * c);
            const float *p = xr + kx * g->dW * c;
            a0 = vfma(a0, wv, vload(p));
            a1 = vfma(a1, wv, vload(p + xs));
            a2 = vfma(a2, wv, vload(p + 2 * xs));
            a3 = vfma(a3, wv, vload(p + 3 * xs));
          }
        }
        float *o = orow + ox * c + c0;
        vstore(o, nhwc_dw_epi(j, a0, c0));
        vstore(o + c, nhwc_dw_epi(j, a1, c0));
        vstore(o + 2 * c, nhwc_dw_epi(j, a2, c0));
        vstore(o + 3 * c, nhwc_dw_epi(j, a3, c0));
      }
      ox += 4;
      continue;
    }
    /* one pixel, each tap checked */
    float *o = orow + ox * c;
    for (long v = 0; v < nvec; v++) {
      long c0 = clo + MINI(v * TT_VL, cn - TT_VL);
      vf a = (vf){0};
      for (long ky = ky0; ky < ky1; ky++) {
        const float *xr = xb + ((iy0 + ky * g->dH) * g->w + ix0) * c + c0;
        const float *wr = j->wp + ky * kw * c + c0;
        for (long kx = kx0; kx < kx1; kx++) a = vfma(a, vload(wr + kx * c), vload(xr + kx * g->dW * c));
      }
      vstore(o + c0, nhwc_dw_epi(j, a, c0));
    }
    if (nvec == 0)
      for (long ch = clo; ch < clo + cn; ch++) {
        float a = 0.0f;
        for (long ky = ky0; ky < ky1; ky++)
          for (long kx = kx0; kx < kx1; kx++)
            a += j->wp[(ky * kw + kx) * c + ch] * xb[((iy0 + ky * g->dH) * g->w + ix0 + kx * g->dW) * c + ch];
        if (j->scale) a *= j->scale[ch];
        if (j->bias) a += j->bias[ch];
        o[ch] = act_s(a, j->act);
      }
    ox++;
  }
}

static void nhwc_depthwise(const float *x, const float *wp, const float *bias, const float *scale, float *out,
                           const cgeom *g, int act) {
  nhwc_dw_job j = { .x = x, .wp = wp, .bias = bias, .scale = scale, .out = out, .g = g, .act = act };
  long tasks = g->n * g->oh;
  if (tt_num_threads() > 1 && tasks > 1 && tasks * g->ow * g->c * g->kh * g->kw >= (1L << 15))
    tt_parallel(tasks, nhwc_dw_task, &j);
  else
    for (long t = 0; t < tasks; t++) nhwc_dw_task(&j, t, 0);
}

/* ------------------------------------------------------------------------------------------------------------
 * Dense one-group convolutions channels last: the ResNets' 3×3 layers, their strided 1×1 shortcuts, any other
 * kernel. An implicit GEMM whose rows are the output pixels of the whole batch (tiles of MR), whose columns are
 * the output channels (NR-column panels) and whose K = kh·kw·c runs in (ky, kx, ci) order, so a tap's slice of a
 * pixel's row is one input pixel's c contiguous channels. A tile whose MR pixels lie in one output row with every
 * tap inside the image reads them in place — pixel i's tap t at a + i·sW·c + toff[t] — and needs no copy; any
 * other (the borders, the rows the padding reaches, tiles across rows: a 7×7 map is 49 pixels) gathers its MR × K
 * patch once, zeros for the padding, and every panel reuses it. Both accumulate in the same order.
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct {
  const float *x, *wp, *bias, *scale, *res;
  float *out;
  cgeom g;
  long m, K;
  gemm_split split;
  int act, stream; /* stream: as nhwc_pw_job's */
  float *patches;   /* all tiles' patches, gathered before the tasks (nhwc_dense: weight-heavy layers), or null */
} nhwc_dense_job;

/* The first row of a tile of pixels [m0, m0 + MR) read in place (its pixel 0's input at tap (0, 0)), or null when
 * they are not one output row's interior columns [ox0, ox1) with every kernel row inside the image. */
static const float *nhwc_dense_in_place(const nhwc_dense_job *j, long m0, long ox0, long ox1) {
  const cgeom *g = &j->g;
  long ohw = g->oh * g->ow, b = m0 / ohw, oy = m0 % ohw / g->ow, ox = m0 % g->ow;
  long iy0 = oy * g->sH - g->pH;
  if (ox < ox0 || ox + MR > ox1 || iy0 < 0 || iy0 + (g->kh - 1) * g->dH >= g->h) return 0;
  if (nhwc_row_ld(g->sW * g->c) != g->sW * g->c) return 0; /* pixels whose rows alias in L1: gathered apart */
  return j->x + ((b * g->h + iy0) * g->w + ox * g->sW - g->pW) * g->c;
}

/* The patch of pixels [m0, m0 + rows): A[i][(ky·kw + kx)·c + ci], rows nhwc_row_ld(K) apart, zeros outside the
 * image and in rows past `rows` (up to MR). */
static void nhwc_dense_gather(const nhwc_dense_job *j, long m0, long rows, float *a) {
  const cgeom *g = &j->g;
  long c = g->c, K = nhwc_row_ld(j->K), ohw = g->oh * g->ow;
  for (long i = 0; i < rows; i++) {
    long px = m0 + i, b = px / ohw, oy = px % ohw / g->ow, ox = px % g->ow;
    long iy0 = oy * g->sH - g->pH, ix0 = ox * g->sW - g->pW;
    float *ai = a + i * K;
    for (long ky = 0; ky < g->kh; ky++) {
      long iy = iy0 + ky * g->dH;
      for (long kx = 0; kx < g->kw; kx++) {
        long ix = ix0 + kx * g->dW;
        float *dst = ai + (ky * g->kw + kx) * c;
        if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w)
          memcpy(dst, j->x + ((b * g->h + iy) * g->w + ix) * c, sizeof(float) * c);
        else
          memset(dst, 0, sizeof(float) * c);
      }
    }
  }
  if (rows < MR) memset(a + rows * K, 0, sizeof(float) * (MR - rows) * K);
}

/* One task: its tiles against its panels (gemm_split_task), as nhwc_pw_task (full tiles store from registers, the
 * overlapping last tile and panel through a scratch tile, the next panel prefetched). The chunk's gathered patches
 * are made once, before the panels pass over them. 512→512 3×3 at 7², batch 1, two threads, weights cycled among 64
 * copies (9.4 MB each, as cold as in the network): 0.93 → 0.82 ms with the prefetch (medians of 5). */
static void nhwc_dense_task(void *ctx, long t, int tid) {
  const nhwc_dense_job *j = ctx;
  const cgeom *g = &j->g;
  long K = j->K, ldp = nhwc_row_ld(K), c = g->c, oc = g->oc, taps = g->kh * g->kw;
  long t0, t1, p0, p1, np = j->split.panels;
  gemm_split_task(&j->split, t, &t0, &t1, &p0, &p1);
  long nt = t1 - t0;
  float *patch = j->patches ? j->patches + t0 * MR * ldp : tt_scratch(tid, SLOT_COL, sizeof(float) * nt * MR * ldp);
  /* per tile its rows (in place or its patch) and whether gathered; the tap offsets of each kind */
  const float **rows = tt_scratch(tid, SLOT_PACK_B, (sizeof(const float *) + sizeof(long)) * nt + sizeof(long) * 2 * taps);
  long *gathered = (long *)(rows + nt), *toff_in = gathered + nt, *toff_patch = toff_in + taps;
  for (long ky = 0; ky < g->kh; ky++)
    for (long kx = 0; kx < g->kw; kx++) {
      toff_in[ky * g->kw + kx] = (ky * g->dH * g->w + kx * g->dW) * c;
      toff_patch[ky * g->kw + kx] = (ky * g->kw + kx) * c;
    }
  long ox0, ox1, mr = MINI(MR, j->m);
  nhwc_inner_cols(g, &ox0, &ox1);
  for (long ti = t0; ti < t1; ti++) {
    long m0 = nhwc_tile_row(ti, j->m);
    const float *in = j->m >= MR ? nhwc_dense_in_place(j, m0, ox0, ox1) : 0;
    gathered[ti - t0] = in == 0;
    if (!in) {
      float *a = patch + (ti - t0) * MR * ldp;
      if (!j->patches) nhwc_dense_gather(j, m0, mr, a);
      in = a;
    }
    rows[ti - t0] = in;
  }
  nhwc_pw_job pj = { .bias = j->bias, .scale = j->scale, .res = j->res, .out = j->out, .m = j->m, .oc = oc,
                     .act = j->act, .stream = j->stream };
  for (long p = p0; p < p1; p++) {
    long n0 = nhwc_panel_col(p, oc);
    int q0 = (int)(p * NR - n0);
    const float *b = j->wp + p * K * NR;
    long passes = MINI(2, nt), pfs = NR / passes;
    for (long ti = t0; ti < t1; ti++) {
      long m0 = nhwc_tile_row(ti, j->m), lda = gathered[ti - t0] ? ldp : g->sW * c;
      const long *toff = gathered[ti - t0] ? toff_patch : toff_in;
      const float *pf = p + 1 < np && ti - t0 < passes ? b + K * NR + (ti - t0) * K * pfs : 0;
      nhwc_tile(&pj, taps, toff, c, rows[ti - t0], lda, b, m0, n0, (int)(ti * MR - m0), (int)mr, q0, pf, pfs);
    }
  }
  if (j->stream) vstream_fence();
}

/* The first pass of a weight-heavy layer: tile t's patch into j->patches (tiles read in place need none). */
static void nhwc_dense_gather_task(void *ctx, long t, int tid) {
  (void)tid;
  const nhwc_dense_job *j = ctx;
  long ox0, ox1, m0 = nhwc_tile_row(t, j->m);
  nhwc_inner_cols(&j->g, &ox0, &ox1);
  if (j->m < MR || !nhwc_dense_in_place(j, m0, ox0, ox1))
    nhwc_dense_gather(j, m0, MINI(MR, j->m), j->patches + t * MR * nhwc_row_ld(j->K));
}

static void nhwc_dense(const float *x, const float *wp, const float *bias, const float *scale, const float *res,
                       float *out, const cgeom *g, int act) {
  nhwc_dense_job j = { .x = x, .wp = wp, .bias = bias, .scale = scale, .res = res, .out = out, .g = *g,
                       .m = g->n * g->oh * g->ow, .K = g->c * g->kh * g->kw, .act = act,
                       .stream = nhwc_streams(out, res, g->n * g->oh * g->ow * g->oc, g->oc) };
  long tiles = (j.m + MR - 1) / MR;
  /* a chunk's gathered patches stay in L2 (~256 KB) while each panel passes over them */
  long ldp = nhwc_row_ld(j.K);
  long tpc = MAXI(1, 65536 / (MR * ldp));
  int T = tt_num_threads();
  /* Weights that outweigh the pixels (512→512 3×3 at 7², batch 1: 9.4 MB against 49 pixels, 4 tiles) would stream
   * from memory once per chunk of one tile: when all patches fit 1 MB they are gathered first, in parallel, and
   * every task then takes all tiles against its own panels, so each panel is read once. */
  if (tpc < tiles && j.K * g->oc >= (1L << 19) && tiles * MR * ldp <= (1L << 18)) {
    j.patches = tt_shared_scratch(SH_XPAD, sizeof(float) * tiles * MR * ldp);
    if (T > 1 && tiles > 1) tt_parallel(tiles, nhwc_dense_gather_task, &j);
    else
      for (long t = 0; t < tiles; t++) nhwc_dense_gather_task(&j, t, 0);
    tpc = tiles;
  }
  j.split = gemm_split_plan(tiles, tpc, nhwc_panels(g->oc), 4 * T);
  long tasks = j.split.chunks * j.split.pgroups;
  if (T > 1 && tasks > 1 && j.m * j.K * g->oc >= (1L << 16)) tt_parallel(tasks, nhwc_dense_task, &j);
  else
    for (long t = 0; t < tasks; t++) nhwc_dense_task(&j, t, 0);
}

/* out = act(scale ⊙ conv(x, w) + bias (+ res)) in NHWC, the weights as conv2d_nhwc_pack wrote them. Depthwise takes
 * no residual (the caller checks; no MobileNet adds one there). */
static void op_conv2d_nhwc(const float *x, const float *packed, const float *bias, const float *scale,
                           const float *res, float *out, const int32_t *gi, int act) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g)) return;
  switch (nhwc_kind(&g)) {
  case NHWC_POINTWISE: nhwc_pointwise(x, packed, bias, scale, res, out, &g, act); return;
  case NHWC_DEPTHWISE: nhwc_depthwise(x, packed, bias, scale, out, &g, act); return;
  case NHWC_DENSE:
    if (nhwc_winograd(&g)) nhwc_winograd_run(x, packed, bias, scale, res, out, &g, 1, act);
    else
      nhwc_dense(x, packed, bias, scale, res, out, &g, act);
    return;
  default: return;
  }
}

/* ------------------------------------------------------------------------------------------------------------
 * A dense convolution from an NCHW input to an NHWC output: the MobileNets' stem (3 → 16 or 32 channels, 3×3,
 * stride 2 on the image), which the channels-last program otherwise ran as an NCHW convolution — im2col of 27
 * rows per pixel through memory at 3 input channels, ~15–30 GFLOP/s — followed by a transpose of its output.
 * Here a task is one output row, and tiles of MR pixels read their taps in place (uk_stem_rows: tap k of pixel i at
 * a + i·sW + koff[k]) — from the image, or from a zero-padded copy where a tile reaches into the padding
 * (nhwc_stem_taps) — so a pixel two tiles share gets the same bits from each.
 * ---------------------------------------------------------------------------------------------------------- */
UK_DEFINE(uk_stem_rows, MR, long sx COMMA const int32_t *restrict koff, a[i * sx + koff[p]], (void)0,
          const float *restrict b, b, b += NR)

typedef struct {
  const float *x, *wp, *bias, *scale;
  float *out;
  cgeom g;
  int act;
  int stream; /* the wide tiles store past the caches (op_conv2d_nchw_to_nhwc) */
} nhwc_stem_job;

/* uk_nhwc_narrow on the stem's row copies (taps at koff), its pixel stride sx a constant where it is 1 or 2. */
static void nhwc_stem_narrow(long kc, const float *a, long sx, const int32_t *koff, const float *b, float *out,
                             long ldo, const float *scale, const float *bias, int act) {
  if (sx == 2) uk_nhwc_narrow(kc, a, 2, koff, b, out, ldo, scale, bias, 0, act);
  else if (sx == 1) uk_nhwc_narrow(kc, a, 1, koff, b, out, ldo, scale, bias, 0, act);
  else uk_nhwc_narrow(kc, a, sx, koff, b, out, ldo, scale, bias, 0, act);
}

/* Pixels of a stem tile: MR2 on uk_nhwc_narrow (oc ≤ TT_VL), else MR. */
static long nhwc_stem_tile(const cgeom *g) { return g->oc <= TT_VL ? MR2 : MR; }

/* Columns of the stem's padded row copies: the image's width with its padding, and at least the span of one tile
 * (an output row narrower than a tile computes a whole tile and stores its own pixels). */
static long nhwc_stem_cols(const cgeom *g) {
  return MAXI(g->w + 2 * g->pW, (MAXI(g->ow, nhwc_stem_tile(g)) - 1) * g->sW + (g->kw - 1) * g->dW + 1);
}

/* Into L2, the image rows task t (the next of a thread's range) reads past row `done` of the same image: they
 * arrive from memory while this task computes, where its row copies waited for them. Images cycled among 16
 * copies, two threads, Zen 4: MobileNetV3's 3→16 stem at batch 1 0.119–0.125 → 0.100–0.107 ms, MobileNetV2's
 * 3→32 0.190 → 0.175; batch 8 −3 % (its output's stores then bound it); ResNet's 7×7 unchanged. */
static void nhwc_stem_prefetch(const cgeom *g, const float *x, long t, long done) {
  if (t >= g->n * g->oh) return;
  long b = t / g->oh, oy = t % g->oh;
  if (oy == 0) done = -1;
  for (long ci = 0; ci < g->c; ci++)
    for (long ky = 0; ky < g->kh; ky++) {
      long iy = oy * g->sH - g->pH + ky * g->dH;
      if (iy <= done || iy >= g->h) continue;
      const char *r = (const char *)(x + ((b * g->c + ci) * g->h + iy) * g->w);
      for (long o = 0; o < g->w * (long)sizeof(float); o += 64) __builtin_prefetch(r + o, 0, 2);
    }
}

/* Where a stem tile reads its taps: a, with tap k of pixel i at a + i·sW + ko[k] (and to[k], the same as longs, for
 * uk_nhwc_conv's runs). A row whose kernel rows all lie in the image reads a tile inside its columns in place
 * (kimg / timg, offsets from the tile's first tap in the NCHW image); a tile that reaches into the padding — the
 * first of a row, the last where the kernel passes the right edge — reads a zero-padded copy of the columns it
 * spans, built in `rows`; a row touching the top or bottom padding reads the copy of its whole kernel rows that
 * nhwc_stem_row made (koff / toff). The same values in the same order either way, so the same bits. */
typedef struct {
  const float *xrow; /* a row inside the image: its first kernel row's start in image ci = 0, else 0 */
  float *rows;       /* the whole rows' copy, or scratch for a border tile's columns */
  int32_t *koff, *kimg;
  long *toff, *timg;
} nhwc_stem_src;

/* koff[k] and toff[k] (the same offset as a long) for tap k = (ky·kw + kx)·c + ci of a stem tile whose input rows lie
 * cs floats apart per input channel and ks per kernel row: ci·cs + ky·ks + kx·dW. */
static void nhwc_stem_offsets(const cgeom *g, long cs, long ks, int32_t *koff, long *toff) {
  for (long ci = 0; ci < g->c; ci++)
    for (long ky = 0; ky < g->kh; ky++)
      for (long kx = 0; kx < g->kw; kx++) {
        long k = (ky * g->kw + kx) * g->c + ci;
        koff[k] = (int32_t)(ci * cs + ky * ks + kx * g->dW);
        toff[k] = koff[k];
      }
}

static void nhwc_stem_taps(const cgeom *g, const nhwc_stem_src *s, long s0, const float **a, const int32_t **ko,
                           const long **to) {
  if (!s->xrow) {
    *a = s->rows + s0 * g->sW, *ko = s->koff, *to = s->toff;
    return;
  }
  long lo = s0 * g->sW - g->pW, hi = lo + (nhwc_stem_tile(g) - 1) * g->sW + (g->kw - 1) * g->dW;
  if (lo >= 0 && hi < g->w) {
    *a = s->xrow + lo, *ko = s->kimg, *to = s->timg;
    return;
  }
  long span = hi - lo + 1, c0 = MAXI(lo, 0), c1 = MINI(hi + 1, g->w);
  for (long ci = 0; ci < g->c; ci++)
    for (long ky = 0; ky < g->kh; ky++) {
      float *r = s->rows + (ci * g->kh + ky) * span;
      const float *src = s->xrow + (ci * g->h + ky * g->dH) * g->w;
      for (long q = lo; q <= hi; q++) r[q - lo] = q >= c0 && q < c1 ? src[q] : 0.0f;
    }
  nhwc_stem_offsets(g, g->kh * span, span, s->koff, s->toff);
  *a = s->rows, *ko = s->koff, *to = s->toff;
}

/* Output row oy of image b (ow pixels of oc channels) into orow, with thread tid's scratch slots `srows` (the row
 * copies) and `stoff` (the wide tiles' tap offsets). The next row's image rows are prefetched (nhwc_stem_prefetch):
 * a task's next row, or the next task's first. */
static void nhwc_stem_row(const nhwc_stem_job *j, long b, long oy, float *orow, int tid, int srows, int stoff) {
  const cgeom *g = &j->g;
  long t = b * g->oh + oy, K = g->c * g->kh * g->kw, ow = g->ow, oc = g->oc, wp = nhwc_stem_cols(g);
  long iy0 = oy * g->sH - g->pH;
  const float *xb = j->x + b * g->c * g->h * g->w;
  nhwc_pw_job pj = { .bias = j->bias, .scale = j->scale, .out = orow, .m = ow, .c = K, .oc = oc, .act = j->act };
  /* Taps read in place where the row's kernel rows lie in the image: the row copies of before (all kernel rows
   * zero-padded, every tile reading them) waited for the image's lines — a fifth of the stem's time at batch 8
   * (prefetching two to four rows ahead instead of one did not help). Only border tiles, and rows reaching into the
   * top or bottom padding, read copies. C harness, one thread, Zen 4, batch 8, minimum of interleaved runs: V3's
   * 3→16 stem AVX2 1.30 → 1.21 ms, AVX-512 1.18 → 1.12, with its first block (nhwc_stem_block) AVX2 2.38 → 2.22;
   * V2's 3→32 AVX2 2.22 → 2.13, with its block 5.61 → 5.18. */
  nhwc_stem_src s = { 0 };
  s.rows = tt_scratch(tid, srows, sizeof(float) * g->c * g->kh * wp + 2 * sizeof(int32_t) * K);
  s.koff = (int32_t *)(s.rows + g->c * g->kh * wp);
  s.kimg = s.koff + K;
  s.toff = tt_scratch(tid, stoff, 2 * sizeof(long) * K);
  s.timg = s.toff + K;
  if (iy0 >= 0 && iy0 + (g->kh - 1) * g->dH < g->h && g->c * g->h * g->w <= INT32_MAX) {
    s.xrow = xb + iy0 * g->w;
    nhwc_stem_offsets(g, g->h * g->w, g->dH * g->w, s.kimg, s.timg);
  } else {
    /* the row's kernel rows, copied zero-padded ([ci][ky][wp]; padding left pW, right to wp) */
    for (long ci = 0; ci < g->c; ci++)
      for (long ky = 0; ky < g->kh; ky++) {
        long iy = iy0 + ky * g->dH;
        float *r = s.rows + (ci * g->kh + ky) * wp;
        if (iy < 0 || iy >= g->h) memset(r, 0, sizeof(float) * wp);
        else {
          memset(r, 0, sizeof(float) * g->pW);
          memcpy(r + g->pW, xb + (ci * g->h + iy) * g->w, sizeof(float) * g->w);
          memset(r + g->pW + g->w, 0, sizeof(float) * (wp - g->pW - g->w));
        }
      }
    nhwc_stem_offsets(g, g->kh * wp, wp, s.koff, s.toff);
  }
  nhwc_stem_prefetch(g, j->x, t + 1, iy0 + (g->kh - 1) * g->dH);
  const float *a;
  const int32_t *ko;
  const long *to;
  if (oc <= TT_VL) {
    /* one narrow panel, tiles of MR2 pixels (the last one overlapping the one before); whole tiles of exactly TT_VL
     * channels take their epilogue in registers straight into out, any other through a scratch tile */
    float tile[MR2 * NR] __attribute__((aligned(64)));
    long mr = MINI(MR2, ow);
    for (long ti = 0; ti * MR2 < ow; ti++) {
      long s0 = ow >= MR2 ? MINI(ti * MR2, ow - MR2) : 0;
      nhwc_stem_taps(g, &s, s0, &a, &ko, &to);
      if (oc == TT_VL && s0 == ti * MR2 && mr == MR2)
        nhwc_stem_narrow(K, a, g->sW, ko, j->wp, pj.out + s0 * TT_VL, TT_VL, j->scale, j->bias, j->act);
      else {
        nhwc_stem_narrow(K, a, g->sW, ko, j->wp, tile, NR, 0, 0, ACT_NONE);
        nhwc_pw_store(&pj, tile, s0, 0, (int)(ti * MR2 - s0), (int)mr, 0);
      }
    }
    return;
  }
  /* Whole tiles of whole panels take their epilogue in registers straight into out: uk_nhwc_conv with each tap a
   * run of one step (run t reads pixel i at a + to[t] + i·sW). Through the scratch tile, the store and a second
   * pass for the epilogue weighed on a sum of 27 taps: MobileNetV2's 3→32 stem at 224², two threads, Zen 4, batch 1
   * 0.146 → 0.129 ms (AVX2 0.182 → 0.139; batch 8 1.19 → 1.07, AVX2 1.47 → 1.12), ResNet's 7×7 1.13 → 1.09. */
  float tile[MR * NR] __attribute__((aligned(64)));
  long mr = MINI(MR, ow);
  for (long ti = 0; ti * MR < ow; ti++) {
    long s0 = nhwc_tile_row(ti, ow);
    nhwc_stem_taps(g, &s, s0, &a, &ko, &to);
    for (long p = 0; p < nhwc_panels(oc); p++) {
      long n0 = nhwc_panel_col(p, oc);
      const float *b = j->wp + p * K * NR;
      if (mr == MR && s0 == ti * MR && n0 == p * NR && n0 + NR <= oc)
        uk_nhwc_conv(K, to, 1, a, g->sW, b, pj.out + s0 * oc + n0, oc, j->scale ? j->scale + n0 : 0,
                     j->bias ? j->bias + n0 : 0, 0, j->act, 0, 0, j->stream);
      else {
        uk_stem_rows(K, a, g->sW, ko, b, tile, NR, 0);
        nhwc_pw_store(&pj, tile, s0, n0, (int)(ti * MR - s0), (int)mr, (int)(p * NR - n0));
      }
    }
  }
}

/* One task of the stem: output row t. */
static void nhwc_stem_task(void *ctx, long t, int tid) {
  const nhwc_stem_job *j = ctx;
  nhwc_stem_row(j, t / j->g.oh, t % j->g.oh, j->out + t * j->g.ow * j->g.oc, tid, SLOT_COL, SLOT_TMP);
  if (j->stream) vstream_fence();
}

/* ------------------------------------------------------------------------------------------------------------
 * A whole inverted-residual block in one pass (MobileNetV2/V3): expansion 1×1 → depthwise → projection 1×1
 * (+ the block's input), each with its folded batch norm and activation. Run layer by layer, the expanded map —
 * 6× the block's input channels over the whole batch, 1.2–4.8 MB at MobileNetV2's 112² and 56² maps — is written
 * out by the expansion and read back by the depthwise layer from L3 or memory, and so is the depthwise output
 * before the projection. Here a task walks a band of one image's output rows a few rows (a chunk) at a time: it
 * expands the input rows the chunk's taps reach into a per-thread buffer (rows shared with the chunk before are
 * kept, not recomputed), runs the depthwise rows from it into a second buffer, and projects those into the output —
 * both buffers stay in L2 (NHWC_BLOCK_FLOATS). At batch 1 the output rows are split into one band per thread; only
 * a band's first chunk recomputes the few rows its neighbour also expands.
 * A block with a squeeze-excitation gate (V3) needs the whole depthwise output before its projection: the first
 * pass writes it whole (and each task's channel sums), the gate is computed per image — mean over pixels, fc1,
 * its activation, fc2, hardsigmoid: a few hundred numbers, which as five tensor ops per block cost more in
 * JavaScript than in arithmetic — and a second pass projects the map's rows scaled by the gate. With no projection
 * weights the kernel stops after the depthwise layer and writes its output to out.
 * ---------------------------------------------------------------------------------------------------------- */
enum { NHWC_BLOCK_FLOATS = 96 * 1024 }; /* both buffers of a chunk together: 384 KB of the 1 MB L2 of Zen 4/5 */
/* Output maps up to this size, with fewer images than threads, run as three balanced layers (nhwc_block_layers);
 * so do blocks from maps up to this size whose expanded map over the whole batch is at most NHWC_LAYERS_MAX_FLOATS
 * (2 MB), whatever the thread count, where the tiles are AVX2's 6×16 or narrower (NHWC_LAYERS_BATCH). Chunk by
 * chunk, each image's products at 7² are 49 rows — nine 6-row tiles — against the whole of the weights (960→160
 * and 160→960: 1.2 MB, from L3, eight times a forward at batch 8); as layers each weight panel meets all the
 * batch's rows. C harness, AVX2, batch 8 (minimum of interleaved runs), one / two threads: MobileNetV3-Large's
 * gated 160→960→160 (5×5) 2.84 → 2.69 / 1.44 → 1.39 ms, MobileNetV2's 160→960→160 2.44 → 2.27 / 1.23 → 1.15 and
 * 160→960→320 3.56 → 3.33 / 1.81 → 1.68; batch 1 and 4 1–4 % faster. At 14² and batch 8 (4.2 MB for 672 channels)
 * the layers were 3–4 % slower: the expanded map left L2. AVX-512's 14×32 tiles: 0–1.5 % slower, left as chunks. */
enum { NHWC_LAYERS_MAX_MAP = 14, NHWC_LAYERS_MAX_FLOATS = 1 << 19 };
#define NHWC_LAYERS_BATCH (MR * NR <= 128)

/* What a task of the block does: the whole block; the first pass of a gated one (expansion and depthwise into the
 * whole map d, with the task's channel sums); its second pass (d's rows scaled by the gate, projected). */
enum { NHWC_BLOCK_ALL, NHWC_BLOCK_GATHER, NHWC_BLOCK_PROJECT };

typedef struct {
  const float *x, *we, *eb, *es, *wd, *db, *ds, *wp, *pb, *ps;
  float *out;
  cgeom g; /* the depthwise layer: c = oc = groups = the expanded channels */
  long cin, cout, bands, rows, erows;
  int acte, actd, actp, residual, pass;
  float *d, *sums;   /* a gated block: its depthwise output [n, oh, ow, hid]; channel sums [tasks][hid] */
  const float *gate; /* a gated block's second pass: [n][hid] */
  const nhwc_stem_job *stem; /* a block fed by the stem (nhwc_stem_block): x is the stem's image, e its output */
  long parts;  /* split by hidden channels (nhwc_block_channels): tasks are image × part; 0 or 1: not split */
  float *part; /* then each part's projection sums over its channels, [parts][n·oh·ow][cout] */
} nhwc_block_job;

/* Part q of `parts` of the hidden channels: the expansion's panels [pa, pb), channels [h0, h1) (the last panel ends
 * at hid, nhwc_panel_col). */
static void nhwc_block_part(long hid, long q, long parts, long *pa, long *pb, long *h0, long *h1) {
  long pe = nhwc_panels(hid);
  *pa = q * pe / parts;
  *pb = (q + 1) * pe / parts;
  *h0 = *pa * NR;
  *h1 = *pb == pe ? hid : *pb * NR;
}

/* Image rows [lo, hi) that output rows [oy0, oy1) of g's depthwise layer read (empty when all their taps fall in
 * the padding). */
static void nhwc_rows_read(const cgeom *g, long oy0, long oy1, long *lo, long *hi) {
  *lo = MAXI(0, oy0 * g->sH - g->pH);
  *hi = MAXI(*lo, MINI(g->h, (oy1 - 1) * g->sH - g->pH + (g->kh - 1) * g->dH + 1));
}

/* sum[ch] += Σ over `pixels` rows of c channels of a */
static void nhwc_add_channel_sums(float *sum, const float *a, long pixels, long c) {
  for (long p = 0; p < pixels; p++, a += c) {
    long ch = 0;
    for (; ch + TT_VL <= c; ch += TT_VL) vstore(sum + ch, vload(sum + ch) + vload(a + ch));
    for (; ch < c; ch++) sum[ch] += a[ch];
  }
}

/* dst = src · gate per channel, over `pixels` rows of c channels (dst may be src) */
static void nhwc_scale_channels(float *dst, const float *src, long pixels, long c, const float *gate) {
  for (long p = 0; p < pixels; p++, dst += c, src += c) {
    long ch = 0;
    for (; ch + TT_VL <= c; ch += TT_VL) vstore(dst + ch, vload(src + ch) * vload(gate + ch));
    for (; ch < c; ch++) dst[ch] = src[ch] * gate[ch];
  }
}

/* One task: output rows [band·oh/bands, (band + 1)·oh/bands) of image t / bands, for the job's pass. */
static void nhwc_block_task(void *ctx, long t, int tid) {
  const nhwc_block_job *j = ctx;
  const cgeom *g = &j->g;
  long hid = g->c, w = g->w, q = 0, pa = 0, pb = nhwc_panels(hid), h0 = 0, h1 = 0;
  if (j->parts > 1) { /* a part of the hidden channels: its expansion panels, depthwise channels, projection's K */
    q = t % j->parts;
    t /= j->parts;
    nhwc_block_part(hid, q, j->parts, &pa, &pb, &h0, &h1);
  }
  long b = t / j->bands, band = t % j->bands;
  long oys = band * g->oh / j->bands, oye = (band + 1) * g->oh / j->bands;
  const float *xb = j->stem ? 0 : j->x + b * g->h * w * j->cin;
  int expand = (j->we || j->stem) && j->pass != NHWC_BLOCK_PROJECT, project = j->wp && j->pass != NHWC_BLOCK_GATHER;
  float *ebuf = expand ? tt_scratch(tid, SLOT_COL, sizeof(float) * j->erows * w * hid) : 0;
  float *dbuf = project ? tt_scratch(tid, SLOT_TMP, sizeof(float) * j->rows * g->ow * hid) : 0;
  float *sums = j->pass == NHWC_BLOCK_GATHER ? j->sums + t * hid : 0;
  if (sums) memset(sums, 0, sizeof(float) * hid);
  long blo = 0, bhi = 0; /* the image rows ebuf holds */
  for (long oy0 = oys; oy0 < oye; oy0 += j->rows) {
    long oy1 = MINI(oye, oy0 + j->rows), pixels = (oy1 - oy0) * g->ow;
    if (j->pass == NHWC_BLOCK_PROJECT) { /* d's rows times the gate, into the chunk buffer */
      nhwc_scale_channels(dbuf, j->d + (b * g->oh + oy0) * g->ow * hid, pixels, hid, j->gate + b * hid);
    } else {
      long lo, hi;
      nhwc_rows_read(g, oy0, oy1, &lo, &hi);
      const float *src = xb + lo * w * hid;
      if (expand) {
        long from = lo;
        if (lo < bhi) { /* rows the chunk before expanded: moved to the front (lo only grows) */
          memmove(ebuf, ebuf + (lo - blo) * w * hid, sizeof(float) * (bhi - lo) * w * hid);
          from = bhi;
        }
        if (j->stem) /* the stem's rows, with the two scratch slots the block leaves free */
          for (long iy = from; iy < hi; iy++)
            nhwc_stem_row(j->stem, b, iy, ebuf + (iy - lo) * w * hid, tid, SLOT_PACK_B, SLOT_TILE);
        else {
          nhwc_pw_job je = { .x = xb + from * w * j->cin, .wp = j->we, .bias = j->eb, .scale = j->es,
                             .out = ebuf + (from - lo) * w * hid, .m = (hi - from) * w, .c = j->cin, .oc = hid,
                             .act = j->acte };
          nhwc_pw_serial_part(&je, pa, pb, tid);
        }
        blo = lo;
        bhi = MAXI(hi, from);
        src = ebuf;
      }
      /* the chunk's depthwise rows as a convolution of its own: rows [lo, hi) of the image, the top padding what is
       * left of it above lo, the rows past hi outside (below the image, or not read by these outputs) */
      cgeom gc = *g;
      gc.n = 1;
      gc.h = hi - lo;
      gc.oh = oy1 - oy0;
      gc.pH = g->pH + lo - oy0 * g->sH;
      float *dst = project ? dbuf : (j->d ? j->d : j->out) + (b * g->oh + oy0) * g->ow * hid;
      nhwc_dw_job dj = { .x = src, .wp = j->wd, .bias = j->db, .scale = j->ds, .out = dst, .g = &gc, .act = j->actd,
                         .c_lo = h0, .c_hi = h1 };
      for (long r = 0; r < gc.oh; r++) nhwc_dw_task(&dj, r, tid);
      if (sums) nhwc_add_channel_sums(sums, dst, pixels, hid);
    }
    if (project && j->parts > 1) { /* this part's sums over its channels, no epilogue (nhwc_chan_sum_task) */
      long mout = g->n * g->oh * g->ow;
      nhwc_pw_job jp = { .x = dbuf + h0, .wp = j->wp, .out = j->part + (q * mout + (b * g->oh + oy0) * g->ow) * j->cout,
                         .m = pixels, .c = hid, .oc = j->cout, .act = ACT_NONE, .k0 = h0, .kc = h1 - h0 };
      nhwc_pw_serial_part(&jp, 0, nhwc_panels(j->cout), tid);
    } else if (project) {
      /* the residual's rows: the block's input, or (fed by the stem, stride 1) the stem's rows in ebuf */
      const float *res = !j->residual ? 0 : j->stem ? ebuf + (oy0 - blo) * w * hid : xb + oy0 * w * j->cin;
      nhwc_pw_serial(dbuf, j->wp, j->pb, j->ps, res, j->out + (b * g->oh + oy0) * g->ow * j->cout, pixels, hid,
                     j->cout, j->actp, tid);
    }
  }
}

/* Σ_k a[k]·b[k] over n floats, in four independent sums: with one, each FMA waited for the one before (4 cycles on
 * Zen 4), and with weights in cache the AVX2 build's gate products ran at half the AVX-512 build's speed. */
static float nhwc_dot(const float *a, const float *b, long n) {
  vf s0 = vsplat(0.0f), s1 = vsplat(0.0f), s2 = vsplat(0.0f), s3 = vsplat(0.0f);
  long k = 0;
  for (; k + 4 * TT_VL <= n; k += 4 * TT_VL) {
    s0 = vfma(s0, vload(a + k), vload(b + k));
    s1 = vfma(s1, vload(a + k + TT_VL), vload(b + k + TT_VL));
    s2 = vfma(s2, vload(a + k + 2 * TT_VL), vload(b + k + 2 * TT_VL));
    s3 = vfma(s3, vload(a + k + 3 * TT_VL), vload(b + k + 3 * TT_VL));
  }
  for (; k + TT_VL <= n; k += TT_VL) s0 = vfma(s0, vload(a + k), vload(b + k));
  float s = hsum((s0 + s1) + (s2 + s3));
  for (; k < n; k++) s += a[k] * b[k];
  return s;
}

typedef struct {
  const float *a, *b;
  float *out;
  long lda, n, rows, tasks;
} nhwc_dots_job;

static void nhwc_dots_task(void *ctx, long t, int tid) {
  (void)tid;
  const nhwc_dots_job *j = ctx;
  long r0, r1;
  split_range(j->rows, j->tasks, t, &r0, &r1);
  for (long r = r0; r < r1; r++) j->out[r] = nhwc_dot(j->a + r * j->lda, j->b, j->n);
}

/* out[r] = nhwc_dot(a + r·lda, b, n) for rows r < rows, in as many contiguous row ranges as threads where the matrix
 * is large. The gate's weights (672×168 and 960×240 matrices, two a block, in MobileNetV3-Large's last blocks)
 * arrive from memory on every call: one sequential stream a thread keeps the prefetchers on them (rowdot's eight
 * interleaved rows ran 6–11 % slower with cold weights), and two threads fetch twice as much at a time. Whole blocks,
 * gate weights cycled among 32 copies, two threads, Zen 4 (with the parallel sums and scaling of nhwc_block_layers):
 * 160→960→160 at 7² (gate 240) 0.27 → 0.25 ms, 112→672→112 at 14² (gate 168) 0.36 → 0.34, on AVX2 0.48 → 0.44. */
static void nhwc_dots(const float *a, long lda, const float *b, long n, long rows, float *out) {
  nhwc_dots_job j = { .a = a, .b = b, .out = out, .lda = lda, .n = n, .rows = rows, .tasks = tt_num_threads() };
  if (j.tasks > 1 && rows * n >= (1L << 15)) tt_parallel(j.tasks, nhwc_dots_task, &j);
  else {
    j.tasks = 1;
    nhwc_dots_task(&j, 0, 0);
  }
}

/* The hardsigmoid module's value (x/6 + 1/2 in double, rounded once to float; 0 from −3 down, 1 from 3 up) on a
 * vector: x·(1/6) + 1/2 in double — the product and sum fused or not — rounds to the same float as the division for
 * every float in (−3, 3) (tools/hardsigmoid-check.c checks each), and needs no scalar division an element: a
 * 960-channel gate's 7,680 at batch 8 took 11–14 µs on one thread while the other waited. */
static inline vf nhwc_hardsigmoid_v(vf v) {
  typedef double vdf __attribute__((vector_size(TT_VL * sizeof(double))));
  vf t = __builtin_convertvector(__builtin_convertvector(v, vdf) * (1.0 / 6.0) + 0.5, vf);
  return vsel(v <= vsplat(-3.0f), vsplat(0.0f), vsel(v >= vsplat(3.0f), vsplat(1.0f), t));
}

/* gate[b] = hardsigmoid(w2 · act1(w1 · mean_b + b1) + b2) for each image, mean_b from the tasks' channel sums; tmp
 * holds n·(hid + sq) floats. One image: the two products as nhwc_dots (a sequential stream of the weights a
 * thread). More: all images' products at once (rowdot, up to 8 images a pass), so that each weight row is read once
 * for them, not once an image — at batch 8 the 960-channel gates' 1.8 MB of weights came from L3 eight times a
 * block. */
static void nhwc_block_gates(const nhwc_block_job *j, const float *w1, const float *b1, const float *w2,
                             const float *b2, long sq, int act1, float *gate, float *tmp) {
  long hid = j->g.c, n = j->g.n;
  float *mean = tmp, *s1 = tmp + n * hid;
  float inv = 1.0f / (float)(j->g.oh * j->g.ow);
  for (long b = 0; b < n; b++) { /* channels inner (vectors), each channel's bands added in band order */
    float *m = mean + b * hid;
    for (long ch = 0; ch < hid; ch++) m[ch] = 0.0f;
    for (long band = 0; band < j->bands; band++) {
      const float *sb = j->sums + (b * j->bands + band) * hid;
      for (long ch = 0; ch < hid; ch++) m[ch] += sb[ch];
    }
    for (long ch = 0; ch < hid; ch++) m[ch] *= inv;
  }
  if (n == 1) nhwc_dots(w1, hid, mean, hid, sq, s1);
  else
    for (long b = 0; b < n; b += ROWDOT_MAX_M)
      rowdot(MINI(ROWDOT_MAX_M, n - b), sq, hid, mean + b * hid, hid, w1, hid, s1 + b * sq, sq, 1, 0);
  /* the epilogues image by image: an index modulo the row length was an integer division an element, 40 k of
   * them a batch-8 forward of V3-Large's gates (a 960-channel gate's hardsigmoid at batch 8: 17.4 → 14.4 µs) */
  for (long b = 0; b < n; b++)
    for (long o = 0; o < sq; o++) s1[b * sq + o] = act_s(s1[b * sq + o] + (b1 ? b1[o] : 0.0f), act1);
  if (n == 1) nhwc_dots(w2, sq, s1, sq, hid, gate);
  else
    for (long b = 0; b < n; b += ROWDOT_MAX_M)
      rowdot(MINI(ROWDOT_MAX_M, n - b), hid, sq, s1 + b * sq, sq, w2, sq, gate + b * hid, hid, 1, 0);
  for (long b = 0; b < n; b++) {
    float *g = gate + b * hid;
    long o = 0;
    for (; o + TT_VL <= hid; o += TT_VL)
      vstore(g + o, nhwc_hardsigmoid_v(vload(g + o) + (b2 ? vload(b2 + o) : vsplat(0.0f))));
    if (o < hid) { /* the last channels, fewer than a vector: their lanes only */
      int l = (int)(hid - o);
      vf v = vload_lanes(g + o, 0, l) + (b2 ? vload_lanes(b2 + o, 0, l) : vsplat(0.0f));
      vstore_lanes(g + o, nhwc_hardsigmoid_v(v), 0, l);
    }
  }
}

/* The gate of a block run as layers over its whole depthwise map d: task t is part t % parts of image t / parts's
 * pixels. */
typedef struct {
  nhwc_block_job j; /* bands = parts; sums [n·parts][hid] */
  float *d, *gate;    /* the depthwise map, scaled in place; the gates [n][hid] */
  long pix, parts;
} nhwc_gate_job;

static void nhwc_gate_range(const nhwc_gate_job *k, long t, float **a, long *pixels) {
  long hid = k->j.g.c, b = t / k->parts, p0, p1;
  split_range(k->pix, k->parts, t % k->parts, &p0, &p1);
  *a = k->d + (b * k->pix + p0) * hid;
  *pixels = p1 - p0;
}

static void nhwc_gate_sums_task(void *ctx, long t, int tid) {
  (void)tid;
  const nhwc_gate_job *k = ctx;
  long hid = k->j.g.c, pixels;
  float *a, *sum = k->j.sums + t * hid;
  nhwc_gate_range(k, t, &a, &pixels);
  memset(sum, 0, sizeof(float) * hid);
  nhwc_add_channel_sums(sum, a, pixels, hid);
}

static void nhwc_gate_scale_task(void *ctx, long t, int tid) {
  (void)tid;
  const nhwc_gate_job *k = ctx;
  long hid = k->j.g.c, pixels;
  float *a;
  nhwc_gate_range(k, t, &a, &pixels);
  nhwc_scale_channels(a, a, pixels, hid, k->gate + t / k->parts * hid);
}

/* The block as three layers, each split evenly over the threads: the expansion over every pixel into a whole map e,
 * the depthwise layer into a whole map d (then the gate's channel sums, the gates, d scaled), the projection with
 * its residual. For a batch smaller than the thread count on a small map. The row bands (one per thread at batch
 * 1) expand the rows their depthwise windows share once each: at 7² with a 5×5 kernel two bands expanded 11 rows
 * for 7 and split the rest 3 : 4 (MobileNetV3-Large's last blocks: 0.45–0.56 ms on two threads, ORT's three
 * layers 0.40–0.45). The maps fit in cache at these sizes, which is what the bands are for at larger ones. */
static void nhwc_block_layers(const nhwc_block_job *j, const float *w1, const float *b1, const float *w2,
                              const float *b2, long sq, int act1) {
  const cgeom *g = &j->g;
  long hid = g->c, n = g->n, pix = g->oh * g->ow;
  cgeom pe = { .n = n, .c = j->cin, .h = g->h, .w = g->w, .oc = hid, .kh = 1, .kw = 1, .oh = g->h, .ow = g->w,
               .sH = 1, .sW = 1, .dH = 1, .dW = 1, .groups = 1 };
  float *e = tt_shared_scratch(SH_EXPAND, sizeof(float) * n * g->h * g->w * hid);
  nhwc_pointwise(j->x, j->we, j->eb, j->es, 0, e, &pe, j->acte);
  float *d = tt_shared_scratch(SH_GYPAD, sizeof(float) * n * pix * hid);
  nhwc_depthwise(e, j->wd, j->db, j->ds, d, g, j->actd);
  if (w1) {
    /* the channel sums and the scaling in T parts of each image's pixels (the sums per part, added in part order by
     * nhwc_block_gates): serial, they were 10–25 µs of a 14² block with the other thread idle */
    int T = tt_num_threads();
    long parts = T > 1 && pix * hid >= (1L << 14) ? MINI(T, pix) : 1;
    float *small = tt_shared_scratch(SH_WT, sizeof(float) * ((parts + 2) * n * hid + n * sq));
    nhwc_gate_job k = { .j = *j, .d = d, .gate = small + parts * n * hid, .pix = pix, .parts = parts };
    k.j.bands = parts;
    k.j.sums = small;
    if (parts > 1) tt_parallel(n * parts, nhwc_gate_sums_task, &k);
    else
      for (long t = 0; t < n; t++) nhwc_gate_sums_task(&k, t, 0);
    nhwc_block_gates(&k.j, w1, b1, w2, b2, sq, act1, k.gate, k.gate + n * hid);
    if (parts > 1) tt_parallel(n * parts, nhwc_gate_scale_task, &k);
    else
      for (long t = 0; t < n; t++) nhwc_gate_scale_task(&k, t, 0);
  }
  cgeom pp = { .n = n, .c = hid, .h = g->oh, .w = g->ow, .oc = j->cout, .kh = 1, .kw = 1, .oh = g->oh, .ow = g->ow,
               .sH = 1, .sW = 1, .dH = 1, .dW = 1, .groups = 1 };
  nhwc_pointwise(d, j->wp, j->pb, j->ps, j->residual ? j->x : 0, j->out, &pp, j->actp);
}

/* What adds the parts of nhwc_block_channels: the block, its part count and output pixels. */
typedef struct {
  const nhwc_block_job *j;
  long parts, mout;
} nhwc_chan_job;

/* out = actp(ps·(Σ parts, in part order) + pb (+ x)) over pixel range t of `parts`: the projection's epilogue on
 * the summed partial products (the same expression as uk_nhwc_conv_rows's, scale 1 and bias 0 when absent). */
static void nhwc_chan_sum_task(void *ctx, long t, int tid) {
  (void)tid;
  const nhwc_chan_job *k = ctx;
  const nhwc_block_job *j = k->j;
  long oc = j->cout, stride = k->mout * oc, p0, p1;
  const float *part = j->part;
  split_range(k->mout, k->parts, t, &p0, &p1);
  const float *res = j->residual ? j->x : 0;
  for (long px = p0; px < p1; px++) {
    long o = px * oc;
    if (oc >= TT_VL)
      for (long q = 0; q < oc; q += TT_VL) {
        long c0 = MINI(q, oc - TT_VL); /* the last vector overlaps the one before: the same values again */
        vf v = vload(part + o + c0);
        for (long pt = 1; pt < k->parts; pt++) v += vload(part + pt * stride + o + c0);
        vf sv = j->ps ? vload(j->ps + c0) : vsplat(1.0f), bb = j->pb ? vload(j->pb + c0) : vsplat(0.0f);
        v = v * sv + bb;
        if (res) v += vload(res + o + c0);
        vstore(j->out + o + c0, act_v(v, j->actp));
      }
    else
      for (long q = 0; q < oc; q++) {
        float v = part[o + q];
        for (long pt = 1; pt < k->parts; pt++) v += part[pt * stride + o + q];
        v = v * (j->ps ? j->ps[q] : 1.0f) + (j->pb ? j->pb[q] : 0.0f);
        if (res) v += res[o + q];
        j->out[o + q] = act_s(v, j->actp);
      }
  }
}

/* The block split by hidden channels, one part a thread (j->parts): each part runs the block's chunks of rows as a
 * band does (nhwc_block_task: the expanded rows and the depthwise rows in the thread's own chunk buffers) on its
 * share of the hidden channels — its panels of the expansion, the depthwise layer on those channels (a channel's
 * depthwise output needs that channel only), the projection's sums over them as K into its own buffer — and the
 * parts' sums are then added in part order with the projection's epilogue (nhwc_chan_sum_task). As three layers
 * each split evenly (nhwc_block_layers) the depthwise layer read rows whose channels the other thread had expanded,
 * the projection rows it had filtered, through maps as large as the block (300 KB at 14², 384 channels) rather
 * than chunk buffers, and the threads met three times: on two threads MobileNetV2's 14² blocks ran at 1.6× their
 * one-thread speed. 0 when it does not apply (fewer expansion panels than two, or no memory). The sums' order
 * depends on the thread count (docs/kernels.md, "Reproducibility"). */
static int nhwc_block_channels(nhwc_block_job *j) {
  const cgeom *g = &j->g;
  long parts = MINI(tt_num_threads(), nhwc_panels(g->c)), mout = g->n * g->oh * g->ow;
  if (parts < 2) return 0;
  j->part = tt_shared_scratch(SH_WT, sizeof(float) * parts * mout * j->cout);
  if (!j->part) return 0;
  j->parts = parts;
  j->bands = 1;
  j->pass = NHWC_BLOCK_ALL;
  tt_parallel(g->n * parts, nhwc_block_task, j);
  nhwc_chan_job k = { .j = j, .parts = parts, .mout = mout };
  tt_parallel(parts, nhwc_chan_sum_task, &k);
  return 1;
}

/* The most image rows r output rows of g's depthwise layer read (a chunk's expanded rows). */
static long nhwc_rows_in(const cgeom *g, long r) { return MINI(g->h, (r - 1) * g->sH + (g->kh - 1) * g->dH + 1); }

/* The most output rows of g's depthwise layer a chunk takes (at least one) with the buffers it fills within
 * NHWC_BLOCK_FLOATS: per_in floats an image row it expands, per_out an output row it keeps for the projection.
 * Each pass of a gated block counts only its own buffer: the first pass expands rows and writes the depthwise
 * rows to the whole map, the second scales the map's rows into the chunk buffer and projects them. Counted as
 * one (both buffers, as the ungated pass holds them) the passes took half the rows they could: a quarter of the
 * 14² layers' chunks were the 2-row tails of 4-row chunks, each re-reading the 300–430 KB of weights of its
 * product. C harness, one thread, AVX2, batch 8 (minimum of interleaved runs): MobileNetV3-Large's 112→672→160
 * (5×5 stride 2 from 14²) 3.69 → 3.46 ms, 112→672→112 5.13 → 4.98, 80→480→112 3.09 → 3.03, 40→120→40 at 28²
 * 1.91 → 1.88; the same products in the same order, so the same bits. */
static long nhwc_block_rows(const cgeom *g, long per_in, long per_out) {
  long rows = 1;
  while (rows < g->oh) {
    long r = rows + 1;
    if (nhwc_rows_in(g, r) * per_in + r * per_out > NHWC_BLOCK_FLOATS) break;
    rows = r;
  }
  return rows;
}

/* The block job j (its layers' operands, geometry, channels and activations set) over its tasks: the chunk size,
 * the bands, and then the layers (nhwc_block_layers), one pass, or a gated block's two passes around its gates
 * (w1, b1, w2, b2, sq, act1; w1 null without a gate). */
static void nhwc_block_run(nhwc_block_job *j, const float *w1, const float *b1, const float *w2, const float *b2,
                           long sq, int act1) {
  const cgeom g = j->g;
  long cin = j->cin, cout = j->cout;
  /* a block without an expansion reads its input rows in place but counts them as if buffered, as the stem-fed
   * block buffers them: the same chunks, so the same bits (the projection's last tile of a chunk overlaps the one
   * before it). A gated block's first pass writes its depthwise rows to the whole map, not to a chunk buffer:
   * its chunks count the expanded rows only (nhwc_block_rows). */
  long per_in = g.w * g.c, per_out = j->wp ? g.ow * g.c : 0;
  j->rows = nhwc_block_rows(&g, per_in, w1 ? 0 : per_out);
  j->erows = nhwc_rows_in(&g, j->rows);
  int T = tt_num_threads();
  j->bands = g.n >= T ? 1 : MINI(g.oh, (T + g.n - 1) / g.n);
  long tasks = g.n * j->bands;
  long feed = j->we ? cin : j->stem ? j->stem->g.c * j->stem->g.kh * j->stem->g.kw : 0;
  long work = g.n * g.oh * g.ow * g.c * (g.kh * g.kw + feed + (j->wp ? cout : 0));
  int par = T > 1 && tasks > 1 && work >= (1L << 16);
  /* as layers (NHWC_LAYERS_MAX_MAP): fewer images than threads (an ungated block split by channels where it can),
   * or a small map whose whole-batch expansion fits NHWC_LAYERS_MAX_FLOATS */
  int few = par && g.n < T;
  int fits = NHWC_LAYERS_BATCH && g.h <= NHWC_LAYERS_MAX_MAP && g.n * g.h * g.w * g.c <= NHWC_LAYERS_MAX_FLOATS;
  if (j->we && j->wp && g.oh <= NHWC_LAYERS_MAX_MAP && (few || fits)) {
    if (few && !w1 && nhwc_block_channels(j)) return;
    nhwc_block_layers(j, w1, b1, w2, b2, sq, act1);
    return;
  }
  if (!w1) {
    j->pass = NHWC_BLOCK_ALL;
    if (par) tt_parallel(tasks, nhwc_block_task, j);
    else
      for (long t = 0; t < tasks; t++) nhwc_block_task(j, t, 0);
    return;
  }
  j->d = tt_shared_scratch(SH_GYPAD, sizeof(float) * g.n * g.oh * g.ow * g.c);
  float *small = tt_shared_scratch(SH_WT, sizeof(float) * ((tasks + 2 * g.n) * g.c + g.n * sq));
  j->sums = small;
  float *gate = small + tasks * g.c;
  for (int pass = NHWC_BLOCK_GATHER; pass <= NHWC_BLOCK_PROJECT; pass++) {
    j->pass = pass;
    if (pass == NHWC_BLOCK_PROJECT) {
      nhwc_block_gates(j, w1, b1, w2, b2, sq, act1, gate, gate + g.n * g.c);
      j->gate = gate;
      j->rows = nhwc_block_rows(&g, 0, per_out);
    }
    if (par) tt_parallel(tasks, nhwc_block_task, j);
    else
      for (long t = 0; t < tasks; t++) nhwc_block_task(j, t, 0);
  }
}

/* out = the block of x [n, h, w, cin]: with we, e = acte(es·(x·weᵀ) + eb) [n, h, w, hid], else e = x (cin = hid);
 * d = actd(ds·dw(e) + db) on gi's depthwise geometry; with w1 (a squeeze-excitation gate: w1 [sq, hid],
 * w2 [hid, sq], biases b1, b2 or null), d = d · hardsigmoid(w2·act1(w1·mean(d) + b1) + b2) per image; with wp,
 * out = actp(ps·(d·wpᵀ) + pb (+ x when residual)) [n, oh, ow, cout], else out = d (no gate then). Weights packed by
 * conv2d_nhwc_pack for their own geometries; the caller checks the shapes (a residual needs oh = h, ow = w,
 * cout = cin). */
static void op_conv2d_nhwc_block(const float *x, const float *we, const float *eb, const float *es, const float *wd,
                                 const float *db, const float *ds, const float *w1, const float *b1, const float *w2,
                                 const float *b2, const float *wp, const float *pb, const float *ps, float *out,
                                 const int32_t *gi, int cin, int cout, int sq, int acte, int actd, int act1, int actp,
                                 int residual) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g) || nhwc_kind(&g) != NHWC_DEPTHWISE || cin <= 0 || (wp && cout <= 0)) return;
  if (w1 && (!w2 || !wp || sq <= 0)) return;
  nhwc_block_job j = { .x = x, .we = we, .eb = eb, .es = es, .wd = wd, .db = db, .ds = ds, .wp = wp, .pb = pb,
                       .ps = ps, .out = out, .g = g, .cin = cin, .cout = cout, .acte = acte, .actd = actd,
                       .actp = actp, .residual = wp && residual };
  nhwc_block_run(&j, w1, b1, w2, b2, sq, act1);
}

/* out = the block (no expansion, no gate, a projection) of the stem's output, the stem (stem_gi, its packed
 * weights, bias and scale, activation acts) on the NCHW image x: the same rows as conv2d_nchw_to_nhwc followed by
 * conv2d_nhwc_block, bit for bit, but each task computes the stem's rows its chunks read into the chunk buffer that
 * an expansion would fill, so the stem's map is never written out and read back. At batch 8 that map is 6.4 MB
 * (MobileNetV3's 16 channels at 112²) or 12.8 MB (V2's 32): the stem's stores waited for memory (0.60 ms with its
 * output in cache against 1.06 from memory, V3 at batch 8) and the block read it back from L3 or memory. Called by
 * the channels-last program (nhwc_program.inc.c), which checks the geometries: the stem's output is the block's
 * input, cin = hid. */
static void nhwc_stem_block(const float *x, const float *sw, const float *sb, const float *ss, const int32_t *sgi,
                            int acts, const float *wd, const float *db, const float *ds, const float *wp,
                            const float *pb, const float *ps, float *out, const int32_t *gi, int cout, int actd,
                            int actp, int residual) {
  nhwc_stem_job sj = { .x = x, .wp = sw, .bias = sb, .scale = ss, .out = 0, .g = parse_cg(sgi), .act = acts };
  cgeom g = parse_cg(gi);
  nhwc_block_job j = { .wd = wd, .db = db, .ds = ds, .wp = wp, .pb = pb, .ps = ps, .out = out, .g = g, .cin = g.c,
                       .cout = cout, .actd = actd, .actp = actp, .residual = residual, .stem = &sj };
  nhwc_block_run(&j, 0, 0, 0, 0, 0, 0);
}

/* out [n, oh, ow, oc] = act(scale ⊙ conv(x, w) + bias) for x [n, c, h, w] (NCHW), one group, the weights as
 * conv2d_nhwc_pack wrote them for g. */
static void op_conv2d_nchw_to_nhwc(const float *x, const float *packed, const float *bias, const float *scale,
                                   float *out, const int32_t *gi, int act) {
  cgeom g = parse_cg(gi);
  if (conv_empty(&g) || nhwc_kind(&g) == NHWC_DEPTHWISE || g.groups != 1) return;
  if (nhwc_winograd(&g)) { /* packed for Winograd: it reads NCHW as it is */
    nhwc_winograd_run(x, packed, bias, scale, 0, out, &g, 0, act);
    return;
  }
  /* A wide stem's map too large for the caches (ResNet's 64 channels at 112², batch 8: 25.7 MB) is stored past them:
   * its plain stores each read the line from memory first, and the max pool after it reads the map from memory
   * either way — in the network, Zen 4, two threads: the stem 11.1 → 9.9 ms, the pool 1.14 → 1.02. The narrow stems
   * (the MobileNets') run with their first block in the channels-last program instead (nhwc_stem_block). */
  nhwc_stem_job j = { .x = x, .wp = packed, .bias = bias, .scale = scale, .out = out, .g = g, .act = act,
                      .stream = g.oc > TT_VL && nhwc_streams(out, 0, g.n * g.oh * g.ow * g.oc, g.oc) };
  long tasks = g.n * g.oh;
  if (tt_num_threads() > 1 && tasks > 1 && tasks * g.ow * g.oc * g.c * g.kh * g.kw >= (1L << 16))
    tt_parallel(tasks, nhwc_stem_task, &j);
  else
    for (long t = 0; t < tasks; t++) nhwc_stem_task(&j, t, 0);
}


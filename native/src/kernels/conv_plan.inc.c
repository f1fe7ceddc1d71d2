/* ------------------------------------------------------------------------------------------------------------
 * The conv planner and the thresholds it reads (every choice among the convolution algorithms is made here).
 * ---------------------------------------------------------------------------------------------------------- */
#define DENSE_MAX_FLOATS (4L << 20) /* unfolded weights of at most 16 MB */

/* Fraction of the padded-width GEMM's columns that are real outputs (the rest is padding and tile rounding). */
static double dconv_efficiency(const cgeom *g) {
  long wp = g->ow + (g->kw - 1) * g->dW / g->sW;
  return (double)(g->oh * g->ow) / (double)ROUNDUP(g->oh * wp, NR);
}

/* Whether the GEMM form applies and pays: one group, enough taps and output channels to fill tiles. */
static int wgemm_applies(const cgeom *g) {
  long kdim = g->c * g->kh * g->kw;
  return g->groups == 1 && kdim >= 8 * MR && g->oc >= NR;
}

/* Thresholds measured on W3/W4 shapes (AVX2, 2 threads): the padded-width kernels win from 8×8 up in the forward
 * and backward-to-input directions; strided convs otherwise run per-image im2col, which the batched form beats
 * whenever maps are small. */
static int conv_use_batched(const cgeom *g, int weight_grad) {
  if (g->groups > 1 && g->groups == g->c) return 0; /* depthwise has its own kernels */
  long sp = g->oh * g->ow;
  if (g->sH != 1 || g->sW != 1) {
    if (weight_grad) return wgemm_applies(g) ? sp <= 4 : sp <= 256;
    return g->kh * g->kw == 1 ? sp <= 256 : dconv_efficiency(g) < 0.6;
  }
  /* the weight gradient's GEMM form wins from 4×4 up; maps it does not serve stay batched up to 8×8, and so do
   * layers with a gradient of over 2¹⁹ floats there: the GEMM form re-reads all of it once per image at K = one
   * image's padded pixels (512→512 3×3 at 8×8, batch 4: 63 → 151 GFLOP/s batched on AVX-512, 51 → 87 on AVX2) */
  if (weight_grad)
    return sp <= 4 || (sp <= 64 && (!wgemm_applies(g) || g->c / g->groups * g->kh * g->kw * g->oc >= (1L << 19)));
  return dconv_efficiency(g) < 0.6;
}

/* A 1×1 convolution on a small map (≤ 16×16) over several images runs batched (the images' pixels side by side as
 * one GEMM's columns, conv_batched.inc.c) where its weights outgrow an L2 (2¹⁷ floats, 512 KB): the pointwise plan
 * reads the weights in place once per image and block of columns, so a 2048→512 layer at 7² and batch 8 streamed
 * its 4 MB eight times, where the GEMM packs them once per K block for every image. Zen 3 AVX2, two threads,
 * F.conv2d at batch 8, medians of alternating runs, GFLOP/s in place → batched: 2048→512 at 7² 97 → 155, 512→2048
 * 114 → 163, 960→160 104 → 118, 160→960 125 → 132, 1024→256 at 14² 124 → 142, 256→1024 146 → 149; with smaller
 * weights the copies cost more than they save: 576→96 at 14² 139 → 104, 64→384 141 → 114, 128→128 at 4² 144 → 65. */
#define PW_BATCHED_MAX_SP 256
#define PW_BATCHED_MIN_WEIGHTS (1L << 17)

/* Whether the dense form serves g: fewer input pixels than live taps, one group, unfolded weights in bounds. */
static int dense_applies(const cgeom *g) {
  long spi = g->h * g->w, sp = g->oh * g->ow;
  if (g->groups != 1 || g->kh * g->kw > MAX_TAPS || spi > MAX_TAPS || sp > MAX_TAPS || g->oc * sp * g->c * spi > DENSE_MAX_FLOATS) return 0;
  uint8_t live[MAX_TAPS];
  return spi < live_taps(g, live);
}

/* Whether Winograd serves this convolution: 3×3, stride 1, one group, enough channels for the GEMMs, and a batch of
 * maps with tiles enough to pay for the transforms. A dilated convolution runs as its dH·dW phases
 * (conv_winograd.inc.c), so the map and tile counts are those of the phase images; a forward task runs on across
 * images, so small maps no longer leave most of a GEMM's rows empty. Measured on AVX-512 (2 threads, CPU ms,
 * tools/wino-harness.c against the direct plans): with the weights transformed per call (≈ 6 ns a filter since the
 * transform runs in parallel in the panel layout), 1×256→256 at 32² 2.7 against 8.0, 1×512→512 at 32² d2/d4
 * 18.9 / 24.5 against 32 / 40, 8×512→512 at 7² 10.3 against 14.3, but 1×256→256 at 14² (49 tiles) 1.03 against
 * 0.93 and 1×512→512 at 14² 8.2 against 3.2: WINO_MIN_TILES. With the weights transformed once (`packed`,
 * conv2d_pack), 1×256→256 at 14² 0.46 against 0.93, 4×512→512 at 7² 2.6 against 3.5, 2×512→512 at 7² even, one
 * 7² image slower: WINO_PACKED_MIN_TILES. */
#define WINO_MIN_TILES 96
#define WINO_PACKED_MIN_TILES 32
#define WINO_MIN_MAP 7
static int wino_applies(long n, long c, long oc, long kh, long kw, long oh, long ow, long dH, long dW, long groups,
                        int packed) {
  if (kh != 3 || kw != 3 || groups != 1 || c < 16 || oc < 16) return 0;
  long ph = (oh + dH - 1) / dH, pw = (ow + dW - 1) / dW, tiles = n * dH * dW * ((ph + 1) / 2) * ((pw + 1) / 2);
  return ph >= WINO_MIN_MAP && pw >= WINO_MIN_MAP && tiles >= (packed ? WINO_PACKED_MIN_TILES : WINO_MIN_TILES);
}

/* Whether a channels-last Winograd convolution (wino_applies with the weights packed) runs F(4×4, 3×3) rather than
 * F(2×2, 3×3): on maps of 24×24 and up, where a 4×4 tile grid wastes little (a 14×14 map computes 16×16), with the
 * transformed weights (36 planes of c·oc floats) at most 9.4 MB, as every task streams them past its tiles. Zen 4,
 * two threads, weights and activations cycled among copies (tools: a single-layer timer), F(2×2) → F(4×4):
 * 64→64 at 56² 0.57 → 0.43 ms (batch 8: 4.83 → 4.49), 128→128 at 28² 0.57 → 0.38 (4.39 → 3.43), 256→256 at 28²
 * 2.41 → 1.75, at 56² 8.97 → 6.05; but 256→256 at 14² 0.60 → 0.93 (batch 8: 4.4 → 6.0) and 128→128 at 14² batch 8
 * 1.12 → 1.60. */
#define WINO43_MIN_MAP 24
static int wino43_applies(const cgeom *g) {
  return g->oh >= WINO43_MIN_MAP && g->ow >= WINO43_MIN_MAP && g->c >= 16 && g->oc >= 16 && g->c * g->oc <= 256 * 256;
}

/* The weight gradient's Winograd (undilated, per-image row blocks, a dU per part): the rule measured for it before
 * the forward's tasks crossed images — maps of 12×12 and up, 144 tiles, and beyond 128×128 channels c·oc/64 tiles
 * (the transform back and the parts' dU are per call). */
static int wino_wgrad_applies(const cgeom *g) {
  if (g->kh != 3 || g->kw != 3 || g->groups != 1 || g->c < 16 || g->oc < 16 || g->dH != 1 || g->dW != 1) return 0;
  long tiles = g->n * ((g->oh + 1) / 2) * ((g->ow + 1) / 2);
  return (g->c * g->oc <= 128 * 128 || tiles >= g->c * g->oc / 64) && g->oh >= 12 && g->ow >= 12 && tiles >= 144;
}

/*
 * The conv planner: the one place that maps (geometry, direction) to an algorithm for this build (the thresholds
 * depend on the tile shape, so each instruction set may choose differently). The three op_conv2d* entry points
 * only dispatch on its answer, and tests read it through tt_ops.conv_plan to check that each algorithm is
 * exercised on every build.
 */
static int conv_plan(const cgeom *g, int dir) {
  int s1 = g->sH == 1 && g->sW == 1;
  if (dir == TT_CONV_FWD_NHWC) {
    /* channels last (conv_nhwc.inc.c): a 1×1 is a GEMM on the pixels as they lie, a depthwise one runs vectors of
     * channels, a 3×3 with tiles enough runs Winograd (its transforms read and write pixels' channel vectors), any
     * other one-group convolution is an implicit GEMM */
    if (g->groups == 1 && g->kh == 1 && g->kw == 1 && s1 && g->pH == 0 && g->pW == 0 && g->oh == g->h && g->ow == g->w)
      return TT_PLAN_POINTWISE;
    if (g->groups > 1 && g->groups == g->c && g->oc == g->c) return TT_PLAN_DEPTHWISE;
    if (s1 && g->dH == 1 && g->dW == 1 &&
        wino_applies(g->n, g->c, g->oc, g->kh, g->kw, g->oh, g->ow, 1, 1, g->groups, 1))
      return TT_PLAN_WINOGRAD;
    return TT_PLAN_IMPLICIT_GEMM;
  }
  if (dir == TT_CONV_FWD_PACKED) {
    /* the ASPP-like geometries whose taps mostly read padding stay tap-wise, and a map too small for a tile grid
     * stays on the direct plans */
    if (s1 && !tapwise_applies(g) && !dense_applies(g) &&
        wino_applies(g->n, g->c, g->oc, g->kh, g->kw, g->oh, g->ow, g->dH, g->dW, g->groups, 1))
      return TT_PLAN_WINOGRAD;
    dir = TT_CONV_FWD;
  }
  if (dir == TT_CONV_FWD) {
    /* an unpadded 1×1 stride-1 conv is a GEMM on the image as it lies: no grid to build, nothing to copy out */
    int pointwise = s1 && g->kh == 1 && g->kw == 1 && g->pH == 0 && g->pW == 0 && g->groups == 1 && g->oh == g->h && g->ow == g->w;
    /* depthwise: the polyphase kernel holds up to DW_MAX_TAPS tap offsets and 4 phases a side (others run grouped) */
    if (g->groups == g->c && g->oc == g->c && g->groups > 1 && g->kh * g->kw <= DW_MAX_TAPS && g->sH <= 4 && g->sW <= 4)
      return TT_PLAN_DEPTHWISE;
    if (dense_applies(g)) return TT_PLAN_DENSE;
    /* segspeed: dilated filters whose taps mostly read padding (ASPP) run one GEMM per live tap (conv_dilated) */
    if (tapwise_applies(g)) return TT_PLAN_TAPWISE;
    /* one image has nothing to batch: small maps too run in place (the batched form joins images' columns) */
    if (pointwise && g->n == 1) return TT_PLAN_POINTWISE;
    /* …and a 1×1 map at any batch is n row-dot products against the weights (squeeze-excitation) */
    if (pointwise && g->oh * g->ow == 1) return TT_PLAN_POINTWISE;
    if (pointwise && g->oh * g->ow <= PW_BATCHED_MAX_SP && (long)g->c * g->oc >= PW_BATCHED_MIN_WEIGHTS)
      return TT_PLAN_BATCHED;
    if (conv_use_batched(g, 0)) return TT_PLAN_BATCHED;
    if (s1 && wino_applies(g->n, g->c, g->oc, g->kh, g->kw, g->oh, g->ow, g->dH, g->dW, g->groups, 0)) return TT_PLAN_WINOGRAD;
    if (pointwise) return TT_PLAN_POINTWISE;
    /* a strided 1×1 conv reads one phase of the grid: im2col's subsampling copies less */
    if (s1 || g->kh * g->kw > 1) return TT_PLAN_PADDED_WIDTH;
    return TT_PLAN_IM2COL;
  }
  if (dir == TT_CONV_BWD_INPUT) {
    long padT = g->dH * (g->kh - 1) - g->pH, padL = g->dW * (g->kw - 1) - g->pW;
    if (dense_applies(g)) return TT_PLAN_DENSE;
    if (s1 && padT >= 0 && padL >= 0) {
      cgeom sw = tapwise_swapped(g); /* segspeed: the same tap-wise form on gy with flipped weights */
      if (tapwise_applies(&sw)) return TT_PLAN_TAPWISE;
    }
    if (conv_use_batched(g, 0)) return TT_PLAN_BATCHED;
    if (s1 && padT >= 0 && padL >= 0) {
      /* gx = conv(gy, flip(w)ᵀ) with complementary padding: a forward convolution with the roles swapped */
      if (wino_applies(g->n, g->oc, g->c, g->kh, g->kw, g->h, g->w, g->dH, g->dW, g->groups, 0)) return TT_PLAN_WINOGRAD;
      return TT_PLAN_PADDED_WIDTH;
    }
    return TT_PLAN_IM2COL;
  }
  if (dense_applies(g)) return TT_PLAN_DENSE;
  if (conv_use_batched(g, 1)) return TT_PLAN_BATCHED;
  /* the weight gradient's transforms are vectors along a row of tiles: below TT_VL tiles a row they run scalar, and
   * on 16-wide builds that costs more than Winograd saves (16×16 maps, batch 8, 32→32: 0.51 ms against the weight
   * GEMM's 0.26 on AVX-512; on AVX2 Winograd still wins there, 0.33 against 0.46) */
  if (s1 && wino_wgrad_applies(g) &&
      (TT_VL < 16 || (g->ow + 1) / 2 >= TT_VL))
    return TT_PLAN_WINOGRAD;
  if (wgemm_applies(g)) return TT_PLAN_WEIGHT_GEMM;
  if (s1) return TT_PLAN_DOT;
  return TT_PLAN_IM2COL;
}

static int op_conv_plan(const int32_t *gi, int dir) {
  cgeom g = parse_cg(gi);
  return conv_plan(&g, dir);
}

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

/* Whether the dense form serves g: fewer input pixels than live taps, one group, unfolded weights in bounds. */
static int dense_applies(const cgeom *g) {
  long spi = g->h * g->w, sp = g->oh * g->ow;
  if (g->groups != 1 || g->kh * g->kw > MAX_TAPS || spi > MAX_TAPS || sp > MAX_TAPS || g->oc * sp * g->c * spi > DENSE_MAX_FLOATS) return 0;
  uint8_t live[MAX_TAPS];
  return spi < live_taps(g, live);
}

/* Whether Winograd serves this convolution: 3×3, stride 1, undilated, one group, enough channels for the GEMMs,
 * maps of 12×12 and up with at least 144 tiles in the batch (fewer leave the transforms and the GEMMs' edges too
 * large a share: 8×8 maps lose even at 32 images, 14×14 at 64 images gains 1.4×), and beyond 128×128 channels
 * at least c·oc/64 tiles: the per-call weight transform and a task's transformed input, which no longer stays in
 * cache, must be paid for by the map (256→256 on AVX-512, 2 threads, one image: 128² 58.6 → 31.0 ms, 64² 14.7 →
 * 10.4, but 32² 4.2 → 5.2, so 32² stays direct; ResNet's 512-channel stage at 7×7–16×16 never qualifies). */
static int wino_applies(long n, long c, long oc, long kh, long kw, long oh, long ow, long dH, long dW, long groups) {
  long tiles = n * ((oh + 1) / 2) * ((ow + 1) / 2);
  return kh == 3 && kw == 3 && dH == 1 && dW == 1 && groups == 1 && c >= 16 && oc >= 16 &&
         (c * oc <= 128 * 128 || tiles >= c * oc / 64) && oh >= 12 && ow >= 12 && tiles >= 144;
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
    if (conv_use_batched(g, 0)) return TT_PLAN_BATCHED;
    if (s1 && wino_applies(g->n, g->c, g->oc, g->kh, g->kw, g->oh, g->ow, g->dH, g->dW, g->groups)) return TT_PLAN_WINOGRAD;
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
      if (wino_applies(g->n, g->oc, g->c, g->kh, g->kw, g->h, g->w, g->dH, g->dW, g->groups)) return TT_PLAN_WINOGRAD;
      return TT_PLAN_PADDED_WIDTH;
    }
    return TT_PLAN_IM2COL;
  }
  if (dense_applies(g)) return TT_PLAN_DENSE;
  if (conv_use_batched(g, 1)) return TT_PLAN_BATCHED;
  /* the weight gradient's transforms are vectors along a row of tiles: below TT_VL tiles a row they run scalar, and
   * on 16-wide builds that costs more than Winograd saves (16×16 maps, batch 8, 32→32: 0.51 ms against the weight
   * GEMM's 0.26 on AVX-512; on AVX2 Winograd still wins there, 0.33 against 0.46) */
  if (s1 && wino_applies(g->n, g->c, g->oc, g->kh, g->kw, g->oh, g->ow, g->dH, g->dW, g->groups) &&
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

/* Kernel shape for 16-float vectors, shared by the AVX-512 build and the portable 16-wide build that tests the
 * same width-dependent logic (tails, remainders, blocking) on machines without AVX-512: a 14×32 GEMM tile (28 of
 * the 32 zmm registers accumulate, two hold B, one the broadcast of A), 4×6 dot tile, the 3×3 nine-tap
 * weight-gradient kernel. The tile was 8×48 until 2026-12: 48 columns divide none of the usual channel counts
 * (64 = 48 + 16, 128 = 96 + 32), so a third of many GEMM tiles went through the edge path; 32 columns divide them
 * all. Single-thread CPU time on Zen 5, 8×48 → 14×32: W1's Winograd 17 → 11 ms, ResNet-18's 512×7×7 conv
 * 4.0 → 1.9 ms, 128×28×28 2.5 → 1.8 ms, W4's 32→64 at 14×14 4.8 → 3.6 ms (12×32 was in between). */
#define TT_VL 16
#define TT_MR 14
#define TT_NV 2
#define TT_DMR 4
#define TT_DNR 6
#define TT_TAP9 1

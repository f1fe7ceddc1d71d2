/* Kernel shape for 16-float vectors, shared by the AVX-512 build and the portable 16-wide build that tests the
 * same width-dependent logic (tails, remainders, blocking) on machines without AVX-512: 8×48 GEMM tile
 * (24 zmm accumulators), 4×6 dot tile, the 3×3 nine-tap weight-gradient kernel. */
#define TT_VL 16
#define TT_MR 8
#define TT_NV 3
#define TT_DMR 4
#define TT_DNR 6
#define TT_TAP9 1

/* Kernel shape for 8-float vectors, shared by the AVX2+FMA build and the portable 8-wide build that tests the
 * same width-dependent logic on any machine: 6×16 GEMM tile (12 ymm accumulators), 4×3 dot tile (12
 * accumulators, 7 loads per 12 FMAs). */
#define TT_VL 8
#define TT_MR 6
#define TT_NV 2
#define TT_DMR 4
#define TT_DNR 3

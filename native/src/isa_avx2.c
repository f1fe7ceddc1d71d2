/* AVX2+FMA build: 8-float vectors, 6×16 GEMM tile (12 ymm accumulators), 4×3 dot tile (12 accumulators, 7 loads per 12 FMAs). */
#define TT_VL 8
#define TT_MR 6
#define TT_NV 2
#define TT_DMR 4
#define TT_DNR 3
#define TT_NAME "native-avx2"
#define TT_OPS_SYMBOL tt_ops_avx2
#include "kernels.inc.c"

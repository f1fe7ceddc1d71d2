/* AVX-512F build: 16-float vectors, 8×48 GEMM tile (24 zmm accumulators), 4×6 dot tile. */
#define TT_VL 16
#define TT_MR 8
#define TT_NV 3
#define TT_DMR 4
#define TT_DNR 6
#define TT_TAP9 1
#define TT_NAME "native-avx512"
#define TT_OPS_SYMBOL tt_ops_avx512
#include "kernels.inc.c"

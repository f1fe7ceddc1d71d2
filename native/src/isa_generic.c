/* Portable build (x86-64 baseline SSE2, or any target the compiler knows): 4-float vectors, 4×8 GEMM tile. */
#define TT_VL 4
#define TT_MR 4
#define TT_NV 2
#define TT_DMR 3
#define TT_DNR 3
#define TT_NAME "native-generic"
#define TT_OPS_SYMBOL tt_ops_generic
#include "kernels.inc.c"

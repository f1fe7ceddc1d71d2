/* AVX2+FMA build (compiled with -mavx2 -mfma). */
#include "width8.h"
#define TT_NAME "native-avx2"
#define TT_OPS_SYMBOL tt_ops_avx2
#include "kernels.inc.c"

/* AVX-512F build (compiled with -mavx512f). */
#include "width16.h"
#define TT_NAME "native-avx512"
#define TT_OPS_SYMBOL tt_ops_avx512
#include "kernels.inc.c"

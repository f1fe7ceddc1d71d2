/* The AVX-512 kernels' shape in portable code (baseline x86-64 / any target): 16-float vectors that the compiler
 * splits into the target's registers. Slow, and not chosen by default; it exists so that every machine tests the
 * 16-wide tiling, tails and blocking that the AVX-512 build uses (the bug of a 128-column block against a
 * 48-column tile showed only on AVX-512 machines until this build ran everywhere). */
#include "width16.h"
#define TT_NAME "native-generic16"
#define TT_OPS_SYMBOL tt_ops_generic16
#include "kernels.inc.c"

/* The AVX2 kernels' shape in portable code: 8-float vectors split into the target's registers, so machines
 * without AVX2 (or with AVX-512, where AVX2 is not the default) still test the 8-wide logic. */
#include "width8.h"
#define TT_NAME "native-generic8"
#define TT_OPS_SYMBOL tt_ops_generic8
#include "kernels.inc.c"

/*
 * Instruction-set-generic kernels. Included once per target by isa_*.c / wasm_api.c with:
 *   TT_VL      floats per SIMD vector (16 AVX-512, 8 AVX2, 4 SSE2 / wasm SIMD128)
 *   TT_MR, TT_NV   GEMM micro-tile: TT_MR rows × TT_NV vectors of C held in registers
 *   TT_DMR, TT_DNR dot-product micro-tile (conv weight gradient)
 *   TT_NAME    backend name, TT_OPS_SYMBOL  name of the exported ops table
 * Everything else is static, so each inclusion is self-contained. Vector code uses GCC/Clang vector
 * extensions only; the compiler maps them onto the target's registers and, with -ffp-contract=fast, FMA.
 *
 * The kernels themselves live in kernels/, one file per family, included here in dependency order (each file
 * uses only what the files before it define); none of them is a compilation unit of its own.
 */
#include "tt.h"

#include "kernels/simd.inc.c"          /* vector types, loads, exp, horizontal sums */
#include "kernels/gemm.inc.c"          /* packed GEMM and its micro-kernels */
#include "kernels/conv_grid.inc.c"     /* conv geometry; padded-width implicit GEMM (stride 1 and polyphase) */
#include "kernels/conv_im2col.inc.c"   /* im2col / col2im, live taps */
#include "kernels/conv_depthwise.inc.c" /* depthwise forward: polyphase grid per plane, fused epilogue */
#include "kernels/conv_pointwise.inc.c" /* 1×1 forward: GEMM on the image in place, fused epilogue */
#include "kernels/conv_plan.inc.c"     /* the conv planner: (geometry, direction, build) → algorithm */
#include "kernels/conv_batched.inc.c"  /* batched lowering for small maps */
#include "kernels/conv_winograd.inc.c" /* Winograd F(2×2, 3×3), forward and weight gradient */
#include "kernels/conv_dense.inc.c"    /* unfolded-weight form for maps smaller than the filter's reach */
#include "kernels/conv_wgrad.inc.c"    /* weight gradient: dot-product and GEMM forms */
#include "kernels/conv.inc.c"          /* the three conv entry points: plan, then dispatch */
#include "kernels/pool.inc.c"          /* max / average pooling and gradients */
#include "kernels/norm.inc.c"          /* channel statistics, affine (+ReLU), batch-norm backward */
#include "kernels/softmax.inc.c"       /* softmax / logSoftmax and gradients */
#include "kernels/elementwise.inc.c"   /* unary, binary, sum, axpy, strided copy */
#include "kernels/optim.inc.c"         /* SGD and Adam(W) updates */

const tt_ops TT_OPS_SYMBOL = { TT_NAME, TT_VL, MR, NR, TT_OPS_ENTRY_POINTS };

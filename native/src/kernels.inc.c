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
 * uses only what the files before it define) through the list generated from the kernel table; none of them is a
 * compilation unit of its own.
 */
#include "tt.h"

/* The families of kernels/, listed with what each holds in `sources` of native/kernels.table.mjs. */
#include "kernels_list.gen.inc"

const tt_ops TT_OPS_SYMBOL = { TT_NAME, TT_VL, MR, NR, TT_OPS_ENTRY_POINTS };

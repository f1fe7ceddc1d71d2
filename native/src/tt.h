/*
 * Tatami native kernels: shared declarations.
 *
 * The same C sources compile to x86 SIMD (one object per instruction set, chosen at run time) and to
 * WebAssembly SIMD128. Each instruction-set build includes kernels.inc.c once, with TT_VL (floats per
 * vector) and the register-block sizes defined, and exports one `tt_ops` table of entry points; kernels.inc.c
 * includes the kernel families of kernels/ (gemm, conv_*, pool, norm, softmax, elementwise, optim).
 */
#ifndef TT_H
#define TT_H
#include <stddef.h>
#include <stdint.h>

/* Geometry layouts (CG_*, PG_*), their structs and the tt_ops table of entry points are generated from
 * native/kernels.table.mjs by scripts/gen-kernels.mjs. */
#include "kernels.gen.h"

/* Convolution directions and the algorithms the conv planner (conv_plan in kernels/conv_plan.inc.c) chooses among;
 * names in the same order in src/backend/conv-plan.ts (CONV_DIRECTIONS, CONV_PLANS). */
/* TT_CONV_FWD_PACKED: the forward when the caller holds the weights already transformed (conv2d_pack);
 * TT_CONV_FWD_NHWC: the channels-last inference forward (conv2d_nhwc, its weights packed by conv2d_nhwc_pack) */
enum { TT_CONV_FWD, TT_CONV_BWD_INPUT, TT_CONV_BWD_WEIGHT, TT_CONV_FWD_PACKED, TT_CONV_FWD_NHWC };
enum { TT_PLAN_DEPTHWISE, TT_PLAN_DENSE, TT_PLAN_BATCHED, TT_PLAN_WINOGRAD, TT_PLAN_PADDED_WIDTH, TT_PLAN_IM2COL,
       TT_PLAN_WEIGHT_GEMM, TT_PLAN_DOT, TT_PLAN_POINTWISE, TT_PLAN_TAPWISE, TT_PLAN_IMPLICIT_GEMM };

/* Unary op codes (kept in sync with the UNARY_CODES table in src/backend/accel.ts). */
enum { U_RELU, U_NEG, U_ABS, U_SQUARE, U_EXP, U_SIGMOID, U_ADDS, U_MULS, U_LEAKY, U_RELU6, U_SILU, U_SQRT, U_COUNT };
/* Binary op codes and broadcast modes. */
enum { B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_COUNT };
/* SAME: both dense; xSCALAR: that operand is one value; xMID: [outer, mid, inner] with that operand one value per
 * mid index; xROW: [outer, inner] with that operand one row of `inner` values repeated over outer. */
enum { BM_SAME, BM_BSCALAR, BM_ASCALAR, BM_BMID, BM_AMID, BM_BROW, BM_AROW };

/* ---- platform layer (pool.c natively, wasm_api.c in WebAssembly) ---- */
typedef void (*tt_task_fn)(void *ctx, long task, int tid);
/* Runs fn(ctx, t, tid) for t in [0, ntasks) on the thread pool; returns when all are done. */
void tt_parallel(long ntasks, tt_task_fn fn, void *ctx);
int tt_num_threads(void);
void tt_set_num_threads(int n);
/* Grow-only, 64-byte aligned scratch memory owned by thread `tid`, one region per slot. Contents undefined. */
void *tt_scratch(int tid, int slot, size_t bytes);
enum { SLOT_PACK_A, SLOT_PACK_B, SLOT_TILE, SLOT_COL, SLOT_TMP, SLOT_COUNT };
/* Shared (not per-thread) scratch used by drivers before they fan out. */
void *tt_shared_scratch(int slot, size_t bytes);
/* SH_PROGRAM_A … D: the slots holding the maps between the steps of nhwc_program, SH_PROGRAM_HEAD its head's
 * vectors (kernels/nhwc_program.inc.c). */
enum { SH_XPAD, SH_GYPAD, SH_WPACK, SH_WT, SH_EXPAND, SH_PROGRAM_A, SH_PROGRAM_B, SH_PROGRAM_C, SH_PROGRAM_D, SH_PROGRAM_HEAD, SH_COUNT };

#if defined(__wasm__)
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int v, size_t n);
void *memmove(void *dst, const void *src, size_t n);
#ifdef TT_THREADS
#define TT_MAX_THREADS 16
#else
#define TT_MAX_THREADS 1
#endif
#else
#include <string.h>
#define TT_MAX_THREADS 64
#endif

#endif

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

/* Geometry arrays passed from JavaScript (Int32Array), field order fixed here and in src/backend/accel.ts. */
enum { CG_N, CG_C, CG_H, CG_W, CG_OC, CG_KH, CG_KW, CG_OH, CG_OW, CG_SH, CG_SW, CG_PH, CG_PW, CG_DH, CG_DW, CG_GROUPS, CG_LEN };
enum { PG_N, PG_C, PG_H, PG_W, PG_OH, PG_OW, PG_KH, PG_KW, PG_SH, PG_SW, PG_PH, PG_PW, PG_DH, PG_DW, PG_LEN };

/* Convolution directions and the algorithms the conv planner (conv_plan in kernels/conv_plan.inc.c) chooses among;
 * names in the same order in src/backend/conv-plan.ts (CONV_DIRECTIONS, CONV_PLANS). */
enum { TT_CONV_FWD, TT_CONV_BWD_INPUT, TT_CONV_BWD_WEIGHT };
enum { TT_PLAN_DEPTHWISE, TT_PLAN_DENSE, TT_PLAN_BATCHED, TT_PLAN_WINOGRAD, TT_PLAN_PADDED_WIDTH, TT_PLAN_IM2COL,
       TT_PLAN_WEIGHT_GEMM, TT_PLAN_DOT };

/* Unary op codes (kept in sync with the UNARY_CODES table in src/backend/accel.ts). */
enum { U_RELU, U_NEG, U_ABS, U_SQUARE, U_EXP, U_SIGMOID, U_ADDS, U_MULS, U_LEAKY, U_RELU6, U_SILU, U_SQRT, U_COUNT };
/* Binary op codes and broadcast modes. */
enum { B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_COUNT };
/* SAME: both dense; xSCALAR: that operand is one value; xMID: [outer, mid, inner] with that operand one value per
 * mid index; xROW: [outer, inner] with that operand one row of `inner` values repeated over outer. */
enum { BM_SAME, BM_BSCALAR, BM_ASCALAR, BM_BMID, BM_AMID, BM_BROW, BM_AROW };

typedef struct tt_ops {
  const char *name;
  int vl, mr, nr;
  void (*gemm)(int ta, int tb, int m, int n, int k, const float *a, long sa, const float *b, long sb, float *c, long sc, int batch, int acc);
  /* out = act(scale[oc]·(w ⊛ x) + bias[oc]); scale and bias may be NULL (1 and 0) */
  void (*conv2d)(const float *x, const float *w, const float *bias, const float *scale, float *out, const int32_t *g, int relu);
  void (*conv2d_bwd_input)(const float *gy, const float *w, float *gx, const int32_t *g);
  void (*conv2d_bwd_weight)(const float *x, const float *gy, float *gw, const int32_t *g);
  void (*max_pool2d)(const float *x, float *out, int32_t *idx, const int32_t *g);
  void (*max_pool2d_bwd)(const float *gy, const int32_t *idx, float *gx, long planes, long in_plane, long out_plane);
  void (*avg_pool2d)(const float *x, float *out, const int32_t *g, int count_include_pad, int divisor);
  void (*avg_pool2d_bwd)(const float *gy, float *gx, const int32_t *g, int count_include_pad, int divisor);
  void (*channel_stats)(const float *x, float *mean, float *var, long n, long c, long hw);
  void (*channel_affine)(const float *x, const float *scale, const float *shift, float *out, long n, long c, long hw, int relu);
  void (*bn_bwd)(const float *x, const float *gy, const float *mean, const float *invstd, const float *weight,
                 float *gx, float *gw, float *gb, long n, long c, long hw);
  void (*softmax)(const float *x, float *out, long outer, long size, long inner, int log);
  void (*softmax_grad)(const float *y, const float *gy, float *gx, long outer, long size, long inner, int log);
  int (*unary)(int op, const float *x, float *out, long n, float a, float b);
  int (*unary_grad)(int op, const float *in, const float *gy, float *gx, long n, float a, float b);
  int (*binary)(int op, int mode, const float *a, const float *b, float *out, long outer, long mid, long inner);
  void (*reduce_sum)(const float *x, float *out, long outer, long size, long inner);
  void (*axpy)(long n, float alpha, const float *x, float *y);
  /* out (contiguous, `shape`) = the strided view of src at offset; 4-byte elements, rank ≤ 8 */
  void (*copy_strided)(const float *src, long offset, const int32_t *strides, float *out, const int32_t *shape, int rank);
  /* flags: 1 nesterov, 2 first step (the buffer takes d), 4 maximize; buf NULL without momentum */
  void (*sgd_step)(long n, float *w, const float *g, float *buf, float lr, float momentum, float dampening, float wd, int flags);
  /* decay = 1 − lr·wd for AdamW else 1; l2 = wd for Adam else 0; step_size = lr/(1 − β₁ᵗ); bc2_sqrt = √(1 − β₂ᵗ) */
  void (*adam_step)(long n, float *w, const float *g, float *m, float *v, float *vmax, float beta1, float beta2, float eps,
                    float decay, float l2, float step_size, float bc2_sqrt, float sign);
  /* the algorithm (TT_PLAN_*) that conv2d / its backward (TT_CONV_*) would use for geometry g */
  int (*conv_plan)(const int32_t *g, int dir);
} tt_ops;

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
enum { SH_XPAD, SH_GYPAD, SH_WPACK, SH_WT, SH_COUNT };

#if defined(__wasm__)
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int v, size_t n);
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

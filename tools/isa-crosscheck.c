/* One kernel build against another, without Node: every entry point of tt_ops (but the channels-last program,
 * whose steps are the block, convolution and pooling kernels checked here one by one) on random operands, the
 * candidate build's answers against the reference build's within float32 rounding of the reduction, with guard
 * zones around every output (a write past either end fails), inputs checked unchanged, and the candidate run twice
 * into zero- and NaN-filled outputs that must come out the same bits (a read of unwritten memory, or a race).
 *
 * Why: the kernel suites (test/kernels-random.test.ts and friends) check each build the machine can run against
 * float64 through the addon, but a build whose instructions the machine lacks is not run at all — on the AVX2
 * machines of sessions 37–41 the AVX-512 object was never executed. This file needs only a C library, so it
 * runs statically linked under an emulator (tools/avx512-emu.sh: Bochs emulating an AVX-512 CPU), and natively in
 * test/isa-crosscheck.test.ts for the builds the machine has. The reference is the portable 4-wide build, itself
 * checked against float64 and PyTorch by the suites on every machine.
 *
 *   gcc -O2 -std=gnu11 -ffp-contract=fast -fno-math-errno -Inative/src tools/isa-crosscheck.c native/src/pool.c \
 *     $(find build/Release/obj.target -name 'isa_*.o') -o /tmp/crosscheck -lm -lpthread
 *   (the objects node-gyp compiled for the addon: the very code it runs; -static for an emulator)
 *   /tmp/crosscheck avx512|avx2|generic16|generic8 [CASES=60] [SEED=1] [THREADS=2] [PERTURB=0]
 * CASES is the number of random cases per family; PERTURB=1 moves one element of each candidate output after its
 * run (by a hundredth of the output's largest value and at least twice the tolerance there, or one bit of an exact
 * output) — every comparison must then fail, and any that does not is printed (the test runs it so: each check
 * reads the candidate's output and has a finite tolerance; that the tolerances are tight was shown by planting
 * bugs in a kernel — a dropped K step, a shifted store, a skipped residual — each caught). Prints
 * the plans each convolution direction ran and "crosscheck: N checks, F failures"; exits 1 on any failure. */
#include "tt.h"
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The builds this binary may hold (weak: link the objects you have; the reference must be among them). */
extern const tt_ops tt_ops_generic, tt_ops_generic8 __attribute__((weak)), tt_ops_generic16 __attribute__((weak)),
    tt_ops_avx2 __attribute__((weak)), tt_ops_avx512 __attribute__((weak));
static const tt_ops *cand, *ref = &tt_ops_generic;

/* ---- random numbers (xorshift32) ---- */
static unsigned rs = 1;
static unsigned rnext(void) {
  rs ^= rs << 13, rs ^= rs >> 17, rs ^= rs << 5;
  return rs;
}
static double runit(void) { return (rnext() >> 8) / 16777216.0; }
static long ri(long lo, long hi) { return lo + (long)(runit() * (double)(hi - lo + 1)); } /* inclusive */
static float rv(void) { return (float)(runit() * 2 - 1); }

/* ---- buffers with guard zones ----
 * Each buffer sits GUARD floats into its allocation, one float further when `mis` (JavaScript's typed arrays start
 * at any 4-byte offset; the addon's own tensors on a 64-byte boundary), with a byte pattern on both sides. */
enum { GUARD = 64 };
typedef struct {
  float *p;
  long n;
  unsigned char *base;
  size_t bytes;
} fbuf;
static int mis_next; /* one buffer (or output's set of three) in three sits a float off a line */
static int next_mis(void) { return mis_next++ % 3 == 2; }
static fbuf fb_at(long n, int mis) {
  fbuf b;
  b.n = n;
  b.bytes = sizeof(float) * (size_t)(n + 2 * GUARD + 16);
  b.base = aligned_alloc(64, (b.bytes + 63) / 64 * 64);
  if (!b.base) {
    fprintf(stderr, "crosscheck: out of memory (%ld floats)\n", n);
    exit(2);
  }
  memset(b.base, 0xa5, b.bytes);
  b.p = (float *)b.base + GUARD + mis;
  return b;
}
static fbuf fb_new(long n) { return fb_at(n, next_mis()); }
static fbuf fb_rand(long n, float scale) {
  fbuf b = fb_new(n);
  for (long i = 0; i < n; i++) b.p[i] = rv() * scale;
  return b;
}
static fbuf fb_fill(long n, float v, int mis) {
  fbuf b = fb_at(n, mis);
  for (long i = 0; i < n; i++) b.p[i] = v;
  return b;
}
static void fb_free(fbuf *b) {
  free(b->base);
  b->base = 0;
}
/* whether the bytes around [p, p + n) still hold the pattern */
static int fb_guards_ok(const fbuf *b) {
  const unsigned char *lo = b->base, *hi = (const unsigned char *)(b->p + b->n), *end = b->base + b->bytes;
  for (const unsigned char *q = lo; q < (const unsigned char *)b->p; q++)
    if (*q != 0xa5) return 0;
  for (const unsigned char *q = hi; q < end; q++)
    if (*q != 0xa5) return 0;
  return 1;
}

/* ---- checks ---- */
static long checks, failures;
static int perturb;
static char what[512];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  failures++;
  if (failures > 40) return; /* the count still says how many */
  printf("FAIL %s: ", what);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}

/* |a − e| ≤ 2·(1e-5 + 2e-6·k) + 2e-4·|e| elementwise (the suites' float64 bound, doubled: both builds round), NaN
 * where NaN; k is the length of the reduction behind an element, 0 for exact ops (pooling's maxima and indices,
 * copies, NMS: then a must be e's bits). */
static long compared, caught; /* outputs compared, and how many of them failed */
static double tolerance(long k, float e) { return 2 * (1e-5 + 2e-6 * (double)k) + 2e-4 * fabs((double)e); }
static void compare(const char *label, const float *a, const float *e, long n, long k) {
  checks++, compared++;
  for (long i = 0; i < n; i++) {
    float x = a[i], y = e[i];
    if (!k ? !memcmp(&x, &y, sizeof x) : x == y || (isnan(x) && isnan(y))) continue;
    if (k && fabs((double)x - y) <= tolerance(k, y)) continue;
    fail("%s element %ld of %ld is %.9g, the reference %.9g", label, i, n, x, y);
    caught++;
    return;
  }
  if (perturb == 1) printf("NOT CAUGHT %s %s (%ld floats, k %ld)\n", what, label, n, k);
}
static void check_guards(const char *label, const fbuf *b) {
  checks++;
  if (!fb_guards_ok(b)) fail("%s: a write outside its %ld floats", label, b->n);
}

/* An input kept with a copy: unchanged() checks the kernel did not write it. */
typedef struct {
  fbuf b;
  float *copy;
} input;
static input in_rand(long n, float scale) {
  input r = { fb_rand(n, scale), malloc(sizeof(float) * (size_t)(n ? n : 1)) };
  memcpy(r.copy, r.b.p, sizeof(float) * (size_t)n);
  return r;
}
static void unchanged(const char *label, input *x) {
  checks++;
  if (memcmp(x->copy, x->b.p, sizeof(float) * (size_t)x->b.n) || !fb_guards_ok(&x->b))
    fail("%s: an input was written", label);
}
static void in_free(input *x) {
  fb_free(&x->b);
  free(x->copy);
}

/* Outputs: the candidate's twice (zero-, then NaN-filled: the same bits both times), the reference's once; each
 * guarded. `acc` gives outputs that are read first (accumulation): each run starts from a copy of it. */
#define MAXOUT 4
typedef struct {
  int count;
  long n[MAXOUT];
  const float *acc[MAXOUT];
  long k[MAXOUT]; /* each output's reduction length, where it differs from outs_check's */
  fbuf c0[MAXOUT], c1[MAXOUT], r[MAXOUT];
} outs;
static void outs_init(outs *o, int count, const long *n, const float *const *acc) {
  o->count = count;
  for (int i = 0; i < count; i++) {
    o->n[i] = n[i];
    o->acc[i] = acc ? acc[i] : 0;
    o->k[i] = -1;
    int mis = next_mis(); /* the same for all three: the candidate's two runs must see the same addresses' alignment */
    o->c0[i] = fb_fill(n[i], 0.0f, mis);
    o->c1[i] = fb_fill(n[i], NAN, mis);
    o->r[i] = fb_fill(n[i], 0.0f, mis);
    if (o->acc[i]) {
      memcpy(o->c0[i].p, o->acc[i], sizeof(float) * (size_t)n[i]);
      memcpy(o->c1[i].p, o->acc[i], sizeof(float) * (size_t)n[i]);
      memcpy(o->r[i].p, o->acc[i], sizeof(float) * (size_t)n[i]);
    }
  }
}
/* after the three runs: guards, the candidate's two runs alike, the candidate against the reference */
static void outs_check(outs *o, long k) {
  char label[64];
  for (int i = 0; i < o->count; i++) {
    snprintf(label, sizeof label, "output %d", i);
    check_guards(label, &o->c0[i]);
    check_guards(label, &o->c1[i]);
    check_guards(label, &o->r[i]);
    checks++;
    if (memcmp(o->c0[i].p, o->c1[i].p, sizeof(float) * (size_t)o->n[i])) {
      long j = 0;
      while (j < o->n[i] && !memcmp(o->c0[i].p + j, o->c1[i].p + j, sizeof(float))) j++;
      fail("output %d element %ld differs between a zeroed and a NaN-filled run (%.9g, %.9g): reads unwritten memory, "
           "or races", i, j, o->c0[i].p[j], o->c1[i].p[j]);
    }
    long ki = o->k[i] >= 0 ? o->k[i] : k;
    if (perturb && o->n[i]) {
      float mx = 0, *q = o->c0[i].p + o->n[i] / 2;
      for (long j = 0; j < o->n[i]; j++)
        if (fabsf(o->r[i].p[j]) > mx) mx = fabsf(o->r[i].p[j]);
      /* a hundredth of the largest output, at least twice the tolerance there; one bit of an exact output */
      if (ki) *q += (float)fmax(mx / 100, 2 * tolerance(ki, o->r[i].p[o->n[i] / 2]));
      else *(uint32_t *)q ^= 1;
    }
    compare(label, o->c0[i].p, o->r[i].p, o->n[i], ki);
  }
}
static void outs_free(outs *o) {
  for (int i = 0; i < o->count; i++) fb_free(&o->c0[i]), fb_free(&o->c1[i]), fb_free(&o->r[i]);
}
/* runs `call(ops, out pointers, ctx)` on the candidate into both of its sets and on the reference */
typedef void (*run_fn)(const tt_ops *ops, float **out, void *ctx);
static void run3(outs *o, run_fn call, void *ctx) {
  float *p[MAXOUT];
  for (int i = 0; i < o->count; i++) p[i] = o->c0[i].p;
  call(cand, p, ctx);
  for (int i = 0; i < o->count; i++) p[i] = o->c1[i].p;
  call(cand, p, ctx);
  for (int i = 0; i < o->count; i++) p[i] = o->r[i].p;
  call(ref, p, ctx);
}

/* ---- convolution ---- */
static const char *const PLAN_NAMES[] = { "depthwise", "dense",  "batched",  "winograd",  "padded-width",  "im2col",
                                          "weight-gemm", "dot", "pointwise", "tapwise", "implicit-gemm" };
enum { NPLANS = sizeof PLAN_NAMES / sizeof *PLAN_NAMES, NDIRS = 5 };
_Static_assert(NPLANS == TT_PLAN_IMPLICIT_GEMM + 1 && NDIRS == TT_CONV_FWD_NHWC + 1, "tt.h's plans or directions moved");
static const char *const DIR_NAMES[NDIRS] = { "forward", "backward-input", "backward-weight", "forward-packed",
                                              "forward-nhwc" };
static long plans_seen[NDIRS][NPLANS];
static void seen(const int32_t *g, int dir) {
  int p = cand->conv_plan(g, dir);
  if (p >= 0 && p < NPLANS) plans_seen[dir][p]++;
}

static void cg_set(int32_t *g, long n, long c, long h, long w, long oc, long kh, long kw, long s, long pt, long pl,
                   long pb, long pr, long d, long groups) {
  long oh = (h + pt + pb - d * (kh - 1) - 1) / s + 1, ow = (w + pl + pr - d * (kw - 1) - 1) / s + 1;
  int32_t v[CG_LEN] = { [CG_N] = n,   [CG_C] = c,   [CG_H] = h,   [CG_W] = w,   [CG_OC] = oc, [CG_KH] = kh,
                        [CG_KW] = kw, [CG_OH] = oh, [CG_OW] = ow, [CG_SH] = s,  [CG_SW] = s,  [CG_PH] = pt,
                        [CG_PW] = pl, [CG_DH] = d,  [CG_DW] = d,  [CG_GROUPS] = groups };
  memcpy(g, v, sizeof v);
}
static void cg_describe(const int32_t *g) {
  snprintf(what + strlen(what), sizeof what - strlen(what),
           " n%d c%d %dx%d oc%d k%dx%d s%d p%d,%d d%d g%d → %dx%d", g[CG_N], g[CG_C], g[CG_H], g[CG_W], g[CG_OC],
           g[CG_KH], g[CG_KW], g[CG_SH], g[CG_PH], g[CG_PW], g[CG_DH], g[CG_GROUPS], g[CG_OH], g[CG_OW]);
}

enum { F_GENERAL, F_WINOGRAD, F_TINY, F_DEPTHWISE, F_WIDE, F_STRIDED, F_POINTWISE, F_DILATED, F_COUNT };
#define MAC_BUDGET 400000L
/* a random geometry of a family (kernels-random's families), 0 when it does not fit */
static int random_conv(int32_t *g, int fam) {
  long n = ri(1, 4), c = ri(1, 48), oc = ri(1, 48), k = (long[]){ 1, 3, 5, 7 }[ri(0, 3)], s = ri(1, 3), d = ri(1, 3),
       groups = 1, h = ri(1, 40), w = ri(1, 40);
  if (fam == F_WINOGRAD) {
    k = 3, s = 1, d = 1, c = ri(16, 24), oc = ri(16, 24), h = ri(12, 26), w = ri(12, 26);
    if (runit() < 0.5) c = ri(16, 20), oc = ri(16, 20), h = ri(18, 26), w = ri(31, 33);
    long t = ((h + 1) / 2) * ((w + 1) / 2);
    n = (144 + t - 1) / t;
  } else if (fam == F_TINY) {
    h = ri(1, 5), w = ri(1, 5), k = ri(0, 1) ? 3 : 5, s = ri(1, 2), d = 1;
  } else if (fam == F_DEPTHWISE) {
    c = oc = groups = ri(2, 70), k = (long[]){ 3, 3, 3, 5, 7, 1 }[ri(0, 5)], s = ri(1, 2), d = ri(1, 2);
    h = ri(3, 32), w = ri(3, 32);
  } else if (fam == F_POINTWISE) {
    k = 1, s = 1, d = 1, c = ri(1, 100), oc = ri(1, 100), h = ri(1, 30), w = ri(1, 30);
  } else if (fam == F_WIDE) {
    oc = ri(48, 70), c = ri(8, 24), k = (long[]){ 3, 1, 5 }[ri(0, 2)], s = 1, d = 1, h = ri(3, 16), w = ri(3, 16);
  } else if (fam == F_DILATED) {
    k = ri(0, 2) ? 3 : 5, s = 1, c = ri(16, 40), oc = ri(16, 40), h = ri(5, 16), w = ri(5, 16);
    long m = h > w ? h : w;
    d = ri((m + 2) / 3, m), n = ri(1, 2);
  } else if (fam == F_STRIDED) {
    s = ri(2, 3), d = 1, k = (long[]){ 1, 3, 7 }[ri(0, 2)], h = ri(4, 40), w = ri(4, 40);
  } else if (runit() < 0.3) {
    long div[6], nd = 0;
    for (long q = 1; q <= 7; q++)
      if (q != 6 && c % q == 0 && oc % q == 0) div[nd++] = q;
    groups = div[ri(0, nd - 1)];
  }
  long reach = d * (k - 1), pt = ri(0, reach), pl = ri(0, reach);
  long pb = runit() < 0.7 ? pt : ri(0, reach), pr = runit() < 0.7 ? pl : ri(0, reach);
  cg_set(g, n, c, h, w, oc, k, k, s, pt, pl, pb, pr, d, groups);
  if (g[CG_OH] < 1 || g[CG_OW] < 1) return 0;
  return n * oc * g[CG_OH] * g[CG_OW] * (c / groups) * k * k <= (fam == F_WINOGRAD ? 8 : 1) * MAC_BUDGET;
}

typedef struct {
  const int32_t *g;
  const float *x, *w, *bias, *scale, *res, *gy;
  int act;
  const float *packed[2]; /* each build's own packing (candidate, reference) */
} conv_ctx;
static int is_ref(const tt_ops *ops) { return ops == ref; }
/* the build an operand pair's index names: 0 the candidate, 1 the reference */
static const tt_ops *build_ops(int b) { return b ? ref : cand; }
/* w transformed by build o for g: channels last (conv2dNhwcPack), or for the packed forward (conv2dPack: nothing
 * written where that form does not apply); *size gets its floats when size is not null */
static float *packed_by(const tt_ops *o, const float *w, const int32_t *g, int nhwc, long *size) {
  long sz = nhwc ? o->conv2d_nhwc_packed_size(g) : o->conv2d_packed_size(g);
  float *p = aligned_alloc(64, (sizeof(float) * (size_t)(sz + 16) + 63) / 64 * 64);
  if (nhwc) o->conv2d_nhwc_pack(w, p, g);
  else if (sz) o->conv2d_pack(w, p, g);
  if (size) *size = sz;
  return p;
}
static void run_fwd(const tt_ops *o, float **out, void *c) {
  conv_ctx *j = c;
  o->conv2d(j->x, j->w, j->bias, j->scale, j->res, out[0], j->g, j->act);
}
static void run_fwd_packed(const tt_ops *o, float **out, void *c) {
  conv_ctx *j = c;
  o->conv2d_packed(j->x, j->w, j->packed[is_ref(o)], j->bias, j->scale, j->res, out[0], j->g, j->act);
}
static void run_bwd_input(const tt_ops *o, float **out, void *c) {
  conv_ctx *j = c;
  o->conv2d_bwd_input(j->gy, j->w, out[0], j->g);
}
static void run_bwd_weight(const tt_ops *o, float **out, void *c) {
  conv_ctx *j = c;
  o->conv2d_bwd_weight(j->x, j->gy, out[0], j->g);
}
static void run_nhwc(const tt_ops *o, float **out, void *c) {
  conv_ctx *j = c;
  o->conv2d_nhwc(j->x, j->packed[is_ref(o)], j->bias, j->scale, j->res, out[0], j->g, j->act);
}
static void run_nchw_to_nhwc(const tt_ops *o, float **out, void *c) {
  conv_ctx *j = c;
  o->conv2d_nchw_to_nhwc(j->x, j->packed[is_ref(o)], j->bias, j->scale, out[0], j->g, j->act);
}
/* each build's packing of the context's weights, the candidate's and the reference's; pack_free releases them */
static void pack_both(conv_ctx *j, int nhwc) {
  for (int b = 0; b < 2; b++) j->packed[b] = packed_by(build_ops(b), j->w, j->g, nhwc, 0);
}
static void pack_free(conv_ctx *j) {
  for (int b = 0; b < 2; b++) free((void *)j->packed[b]);
}

static void one(outs *o, long n, run_fn f, void *ctx, long k) {
  outs_init(o, 1, &n, 0);
  run3(o, f, ctx);
  outs_check(o, k);
  outs_free(o);
}

/* conv2d in its three directions and the packed forward on one geometry, NCHW */
static void conv_case(const int32_t *g, int epi, int with_res) {
  long n = g[CG_N], c = g[CG_C], oc = g[CG_OC], cg = c / g[CG_GROUPS], kk = g[CG_KH] * g[CG_KW];
  long xs = n * c * g[CG_H] * g[CG_W], ys = n * oc * g[CG_OH] * g[CG_OW], ws = oc * cg * kk;
  input x = in_rand(xs, 1), w = in_rand(ws, 1), bias = in_rand(oc, 1), gy = in_rand(ys, 1);
  input scale = in_rand(oc, 4), res = in_rand(ys, 1);
  int act = epi % 4;
  conv_ctx j = { .g = g, .x = x.b.p, .w = w.b.p, .bias = bias.b.p, .scale = act ? scale.b.p : 0,
                 .res = with_res ? res.b.p : 0, .gy = gy.b.p, .act = act };
  outs o;
  size_t base = strlen(what);
  seen(g, TT_CONV_FWD), seen(g, TT_CONV_BWD_INPUT), seen(g, TT_CONV_BWD_WEIGHT), seen(g, TT_CONV_FWD_PACKED);
  snprintf(what + base, sizeof what - base, " forward (act %d%s%s, %s)", act, j.scale ? ", scale" : "",
           j.res ? ", residual" : "", PLAN_NAMES[cand->conv_plan(g, TT_CONV_FWD)]);
  one(&o, ys, run_fwd, &j, cg * kk);
  pack_both(&j, 0);
  snprintf(what + base, sizeof what - base, " forward packed (%s)", PLAN_NAMES[cand->conv_plan(g, TT_CONV_FWD_PACKED)]);
  one(&o, ys, run_fwd_packed, &j, cg * kk);
  pack_free(&j);
  snprintf(what + base, sizeof what - base, " backward input (%s)", PLAN_NAMES[cand->conv_plan(g, TT_CONV_BWD_INPUT)]);
  one(&o, xs, run_bwd_input, &j, oc / g[CG_GROUPS] * kk);
  snprintf(what + base, sizeof what - base, " backward weight (%s)",
           PLAN_NAMES[cand->conv_plan(g, TT_CONV_BWD_WEIGHT)]);
  one(&o, ws, run_bwd_weight, &j, n * g[CG_OH] * g[CG_OW]);
  what[base] = 0;
  unchanged("inputs", &x), unchanged("inputs", &w), unchanged("inputs", &bias), unchanged("inputs", &gy);
  unchanged("inputs", &scale), unchanged("inputs", &res);
  in_free(&x), in_free(&w), in_free(&bias), in_free(&gy), in_free(&scale), in_free(&res);
}

static void conv_cases(long cases) {
  int32_t g[CG_LEN];
  for (long i = 0; i < cases * F_COUNT; i++) {
    int fam = (int)(i % F_COUNT);
    while (!random_conv(g, fam)) {}
    snprintf(what, sizeof what, "conv2d case %ld", i);
    cg_describe(g);
    conv_case(g, (int)(i % 8 < 4 ? 0 : i % 4), i % 8 >= 4 && (i / 8) % 2 == 0);
  }
  /* the forms the random families reach rarely: a deep 1×1 on a large map (the packed-GEMM pointwise form),
   * weights past an L2 on a small map over several images (batched 1×1), dilated Winograd (phases), ASPP tap-wise,
   * Winograd beyond 128×128 channels, dense on maps smaller than the filter's reach */
  static const long special[][12] = {
    /* n, c, h, w, oc, k, s, p, d, groups, epilogue, residual */
    { 1, 1024, 17, 17, 270, 1, 1, 0, 1, 1, 2, 1 }, { 3, 544, 7, 7, 250, 1, 1, 0, 1, 1, 1, 1 },
    { 2, 16, 20, 20, 18, 3, 1, 2, 2, 1, 3, 0 },    { 2, 24, 14, 15, 16, 3, 1, 10, 10, 1, 0, 0 },
    { 1, 160, 40, 40, 144, 3, 1, 1, 1, 1, 2, 0 },  { 2, 300, 9, 9, 20, 3, 1, 7, 7, 1, 1, 1 },
    { 4, 20, 2, 2, 30, 3, 1, 1, 1, 1, 3, 1 },      { 2, 3, 33, 31, 16, 7, 2, 3, 1, 1, 1, 0 },
    { 1, 16, 40, 40, 24, 1, 2, 0, 1, 1, 1, 1 },
  };
  for (size_t i = 0; i < sizeof special / sizeof *special; i++) {
    const long *s = special[i];
    cg_set(g, s[0], s[1], s[2], s[3], s[4], s[5], s[5], s[6], s[7], s[7], s[7], s[7], s[8], s[9]);
    snprintf(what, sizeof what, "conv2d special %zu", i);
    cg_describe(g);
    conv_case(g, (int)s[10], (int)s[11]);
  }
}

/* conv2d_nhwc: channels-last pointwise, implicit-GEMM, Winograd and depthwise; the output widths the 16-wide
 * builds' half-vector tiles serve (24, 40, 72, 120, 184, 200) among them, and one output of over a million floats
 * (the streaming stores) */
static void nhwc_case(const int32_t *g, int act, int with_scale, int with_res) {
  long n = g[CG_N], c = g[CG_C], oc = g[CG_OC], cg = c / g[CG_GROUPS], kk = g[CG_KH] * g[CG_KW];
  long xs = n * c * g[CG_H] * g[CG_W], ys = n * oc * g[CG_OH] * g[CG_OW];
  input x = in_rand(xs, 1), w = in_rand(oc * cg * kk, 1), bias = in_rand(oc, 1), scale = in_rand(oc, 4),
        res = in_rand(ys, 1);
  int depthwise = g[CG_GROUPS] > 1;
  conv_ctx j = { .g = g, .x = x.b.p, .w = w.b.p, .bias = bias.b.p, .scale = with_scale ? scale.b.p : 0,
                 .res = with_res && !depthwise ? res.b.p : 0, .act = act };
  pack_both(&j, 1);
  seen(g, TT_CONV_FWD_NHWC);
  outs o;
  size_t base = strlen(what);
  snprintf(what + base, sizeof what - base, " nhwc (act %d%s%s, %s)", act, j.scale ? ", scale" : "",
           j.res ? ", residual" : "", PLAN_NAMES[cand->conv_plan(g, TT_CONV_FWD_NHWC)]);
  one(&o, ys, run_nhwc, &j, cg * kk);
  if (!depthwise && g[CG_C] <= 4) { /* a stem: the same weights from an NCHW image */
    snprintf(what + base, sizeof what - base, " nchw→nhwc (act %d%s)", act, j.scale ? ", scale" : "");
    one(&o, ys, run_nchw_to_nhwc, &j, cg * kk);
  }
  what[base] = 0;
  pack_free(&j);
  unchanged("inputs", &x), unchanged("inputs", &w);
  in_free(&x), in_free(&w), in_free(&bias), in_free(&scale), in_free(&res);
}

static void nhwc_cases(long cases) {
  int32_t g[CG_LEN];
  static const long widths[] = { 24, 40, 72, 120, 184, 200, 16, 8, 1, 33, 96, 112 };
  for (long i = 0; i < cases * 4; i++) {
    long kind = i % 4, n = ri(1, 3), h = ri(1, 20), w = ri(1, 20), c, oc, k, s, p, groups = 1;
    if (kind == 0) /* pointwise */
      c = ri(1, 80), oc = i % 8 < 4 ? widths[(i / 8) % 12] : ri(1, 130), k = 1, s = 1, p = 0;
    else if (kind == 1) /* depthwise, MobileNet's kernels and strides, "same" padding */
      c = oc = groups = i % 8 < 4 ? widths[(i / 8) % 12] : ri(2, 130), k = ri(0, 2) ? 3 : 5, s = ri(1, 2), p = k / 2,
      h += 2, w += 2;
    else if (kind == 2) /* any other one-group convolution: the implicit GEMM, or a 3-channel stem */
      c = ri(0, 1) ? 3 : ri(1, 40), oc = i % 8 < 4 ? widths[(i / 8) % 12] : ri(1, 70), k = (long[]){ 3, 5, 7, 2 }[ri(0, 3)],
      s = ri(1, 2), p = ri(0, k / 2), h += 4, w += 4;
    else /* 3×3 stride 1 with tiles enough for Winograd */
      c = ri(16, 40), oc = i % 8 < 4 ? widths[(i / 8) % 6] : ri(16, 70), k = 3, s = 1, p = 1, h = ri(8, 20),
      w = ri(8, 20), n = ri(1, 2);
    cg_set(g, n, c, h, w, oc, k, k, s, p, p, p, p, 1, groups);
    if (g[CG_OH] < 1 || g[CG_OW] < 1) continue;
    snprintf(what, sizeof what, "conv2dNhwc case %ld", i);
    cg_describe(g);
    nhwc_case(g, (int)(i / 4 % 4), (i / 16) % 2 == 0, (i / 32) % 2 == 0);
  }
  cg_set(g, 1, 16, 128, 128, 72, 1, 1, 1, 0, 0, 0, 0, 1, 1); /* 1.18 M output floats: streaming stores */
  snprintf(what, sizeof what, "conv2dNhwc large");
  cg_describe(g);
  nhwc_case(g, 2, 1, 1);
}

/* a whole inverted-residual block channels last (op_conv2d_nhwc_block), with and without a gate and residual */
typedef struct {
  const int32_t *gd;
  const float *x, *eb, *es, *db, *ds, *w1, *b1, *w2, *b2, *pb, *ps;
  const float *we[2], *wd[2], *wp[2]; /* each build's packing */
  int cin, cout, sq, acte, actd, actp, residual, expand;
} block_ctx;
static void run_block(const tt_ops *o, float **out, void *c) {
  block_ctx *j = c;
  int r = is_ref(o);
  o->conv2d_nhwc_block(j->x, j->expand ? j->we[r] : 0, j->eb, j->es, j->wd[r], j->db, j->ds, j->w1, j->b1, j->w2, j->b2,
                       j->wp[r], j->pb, j->ps, out[0], j->gd, j->cin, j->cout, j->sq, j->acte, j->actd, 1, j->actp,
                       j->residual);
}
static void block_cases(long cases) {
  static const long shapes[][7] = {
    /* cin, hid, cout, h, k, s, sq: MobileNetV2 / V3-Large blocks, smaller maps */
    { 16, 64, 24, 20, 3, 2, 0 },  { 24, 72, 24, 14, 3, 1, 0 }, { 24, 72, 40, 22, 5, 2, 24 }, { 40, 120, 40, 11, 5, 1, 32 },
    { 80, 200, 80, 7, 3, 1, 0 },  { 80, 184, 80, 7, 3, 1, 0 }, { 112, 672, 160, 9, 5, 2, 168 }, { 32, 192, 32, 9, 3, 1, 0 },
    { 16, 16, 16, 19, 3, 1, 8 },  { 33, 50, 17, 6, 3, 2, 5 },
  };
  int32_t ge[CG_LEN], gd[CG_LEN], gp[CG_LEN];
  long count = (long)(sizeof shapes / sizeof *shapes);
  for (long i = 0; i < (cases / 4 > count ? cases / 4 : count); i++) {
    const long *s = shapes[i % count];
    long n = ri(1, 3), cin = s[0], hid = s[1], cout = s[2], h = s[3] + ri(0, 3), k = s[4], st = s[5], sq = s[6];
    int expand = cin != hid || i % 2;
    if (!expand) cin = hid;
    cg_set(ge, n, cin, h, h, hid, 1, 1, 1, 0, 0, 0, 0, 1, 1);
    cg_set(gd, n, hid, h, h, hid, k, k, st, k / 2, k / 2, k / 2, k / 2, 1, hid);
    cg_set(gp, n, hid, gd[CG_OH], gd[CG_OW], cout, 1, 1, 1, 0, 0, 0, 0, 1, 1);
    input x = in_rand(n * h * h * cin, 1), we = in_rand(hid * cin, 1.5f / sqrtf((float)cin)),
          wd = in_rand(hid * k * k, 1.5f / (float)k), wp = in_rand(cout * hid, 1.5f / sqrtf((float)hid));
    input eb = in_rand(hid, 0.1f), db = in_rand(hid, 0.1f), pb = in_rand(cout, 0.1f), es = in_rand(hid, 2),
          ds = in_rand(hid, 2), ps = in_rand(cout, 2);
    input w1 = in_rand(sq * hid + 1, 0.3f), b1 = in_rand(sq + 1, 0.1f), w2 = in_rand(hid * sq + 1, 0.3f),
          b2 = in_rand(hid, 0.1f);
    int scaled = i % 3 == 0;
    block_ctx j = { .gd = gd, .x = x.b.p, .eb = eb.b.p, .es = scaled ? es.b.p : 0, .db = db.b.p,
                    .ds = scaled ? ds.b.p : 0, .w1 = sq ? w1.b.p : 0, .b1 = sq ? b1.b.p : 0, .w2 = sq ? w2.b.p : 0,
                    .b2 = sq ? b2.b.p : 0, .pb = pb.b.p, .ps = scaled ? ps.b.p : 0, .cin = (int)cin,
                    .cout = (int)cout, .sq = (int)sq, .acte = (int)(1 + i % 3), .actd = (int)(1 + (i + 1) % 3),
                    .actp = i % 5 == 4, .residual = cin == cout && st == 1, .expand = expand };
    for (int b = 0; b < 2; b++)
      j.we[b] = packed_by(build_ops(b), we.b.p, ge, 1, 0), j.wd[b] = packed_by(build_ops(b), wd.b.p, gd, 1, 0),
      j.wp[b] = packed_by(build_ops(b), wp.b.p, gp, 1, 0);
    snprintf(what, sizeof what, "block %ld: n%ld %ld→%ld→%ld %ld² k%ld s%ld sq%ld acts %d/%d/%d%s%s%s", i, n, cin, hid,
             cout, h, k, st, sq, j.acte, j.actd, j.actp, scaled ? " scaled" : "", j.residual ? " residual" : "",
             expand ? "" : " no expansion");
    outs o;
    one(&o, n * gd[CG_OH] * gd[CG_OW] * cout, run_block, &j, cin + k * k + hid);
    unchanged("block input", &x);
    for (int b = 0; b < 2; b++) free((void *)j.we[b]), free((void *)j.wd[b]), free((void *)j.wp[b]);
    input *all[] = { &x, &we, &wd, &wp, &eb, &db, &pb, &es, &ds, &ps, &w1, &b1, &w2, &b2 };
    for (size_t q = 0; q < sizeof all / sizeof *all; q++) in_free(all[q]);
  }
}

/* ---- whole channels-last programs (op_nhwc_program): the steps' kernels chained through the slots, the stem fused
 * with a first block, a classifier head — each build on its own packing of the same weights ---- */
/* nhwc_program.inc.c's step kinds and record fields (its NP_*, private to each build): a change there shows here as
 * a refused step */
enum { NPK_STEM, NPK_BLOCK, NPK_CONV, NPK_LINEAR, NPK_MAXPOOL };
enum { NPF_KIND, NPF_FIRST, NPF_CIN, NPF_COUT, NPF_SQ, NPF_ACTE, NPF_ACTD, NPF_ACT1, NPF_ACTP, NPF_RESIDUAL, NPF_SRC,
       NPF_DST, NPF_RES, NPF_GEOM, NP_REC_LEN = NPF_GEOM + CG_LEN };
typedef struct {
  int32_t code[32 * NP_REC_LEN];
  long steps, map[4]; /* the map the last step wrote: n, h, w, c */
  tt_f32list l[2];    /* operands: the candidate's, the reference's */
  float *owned[TT_LIST_MAX * 2];
  long nowned;
} prog;
static const float *p_keep(prog *p, float *q) { return p->owned[p->nowned++] = q; }
/* the next operand of build b's list */
static void p_put(prog *p, int b, const float *w, long len) {
  tt_f32list *l = &p->l[b];
  l->p[l->count] = w, l->len[l->count++] = len;
}
/* an operand: the same floats for both builds (w null: absent) */
static void p_add(prog *p, const float *w, long len) {
  for (int b = 0; b < 2; b++) p_put(p, b, w, w ? len : 0);
}
static float *p_rand(prog *p, long len, float scale) {
  float *q = malloc(sizeof(float) * (size_t)len);
  for (long i = 0; i < len; i++) q[i] = rv() * scale;
  p_keep(p, q);
  return q;
}
/* each build's packing of w for g as one operand */
static void p_packed(prog *p, const float *w, const int32_t *g) {
  for (int b = 0; b < 2; b++) {
    long sz;
    const float *q = p_keep(p, packed_by(build_ops(b), w, g, 1, &sz));
    p_put(p, b, q, sz);
  }
}
static int32_t *p_step(prog *p, int kind, int src, int dst) {
  int32_t *r = p->code + p->steps++ * NP_REC_LEN;
  memset(r, 0, sizeof(int32_t) * NP_REC_LEN);
  r[NPF_KIND] = kind, r[NPF_FIRST] = (int32_t)p->l[0].count, r[NPF_SRC] = src, r[NPF_DST] = dst, r[NPF_RES] = -1;
  return r;
}
/* a convolution (the stem from the NCHW image when src < 0): k×k, stride s, padding k/2, a residual from slot res */
static void p_conv(prog *p, int src, int dst, long oc, long k, long s, int act, int res) {
  int32_t *r = p_step(p, src < 0 ? NPK_STEM : NPK_CONV, src, dst), *g = r + NPF_GEOM;
  long *m = p->map;
  cg_set(g, m[0], m[3], m[1], m[2], oc, k, k, s, k / 2, k / 2, k / 2, k / 2, 1, 1);
  r[NPF_ACTD] = act, r[NPF_RES] = res;
  p_packed(p, p_rand(p, oc * m[3] * k * k, 2.2f / sqrtf((float)(m[3] * k * k))), g);
  p_add(p, p_rand(p, oc, 0.1f), oc);
  p_add(p, p->steps % 2 ? p_rand(p, oc, 2) : 0, oc);
  m[1] = g[CG_OH], m[2] = g[CG_OW], m[3] = oc;
}
static void p_maxpool(prog *p, int src, int dst) {
  int32_t *r = p_step(p, NPK_MAXPOOL, src, dst), *g = r + NPF_GEOM;
  long *m = p->map, oh = (m[1] + 2 - 3) / 2 + 1, ow = (m[2] + 2 - 3) / 2 + 1;
  int32_t v[PG_LEN] = { [PG_N] = m[0],  [PG_C] = m[3], [PG_H] = m[1], [PG_W] = m[2], [PG_OH] = oh, [PG_OW] = ow,
                        [PG_KH] = 3,    [PG_KW] = 3,   [PG_SH] = 2,   [PG_SW] = 2,   [PG_PH] = 1,  [PG_PW] = 1,
                        [PG_DH] = 1,    [PG_DW] = 1 };
  memcpy(g, v, sizeof v);
  m[1] = oh, m[2] = ow;
}
static void p_block(prog *p, int src, int dst, long hid, long cout, long k, long s, long sq, int acte, int actd) {
  int32_t *r = p_step(p, NPK_BLOCK, src, dst), *g = r + NPF_GEOM, ge[CG_LEN], gp[CG_LEN];
  long *m = p->map, cin = m[3];
  cg_set(g, m[0], hid, m[1], m[2], hid, k, k, s, k / 2, k / 2, k / 2, k / 2, 1, hid);
  cg_set(ge, m[0], cin, m[1], m[2], hid, 1, 1, 1, 0, 0, 0, 0, 1, 1);
  cg_set(gp, m[0], hid, g[CG_OH], g[CG_OW], cout, 1, 1, 1, 0, 0, 0, 0, 1, 1);
  r[NPF_CIN] = cin, r[NPF_COUT] = cout, r[NPF_SQ] = sq, r[NPF_ACTE] = acte, r[NPF_ACTD] = actd, r[NPF_ACT1] = 1;
  r[NPF_RESIDUAL] = cin == cout && s == 1;
  if (cin == hid) p_add(p, 0, 0); /* no expansion */
  else p_packed(p, p_rand(p, hid * cin, 2.2f / sqrtf((float)cin)), ge);
  p_add(p, p_rand(p, hid, 0.1f), hid), p_add(p, p->steps % 3 ? 0 : p_rand(p, hid, 2), hid);
  p_packed(p, p_rand(p, hid * k * k, 2.2f / (float)k), g);
  p_add(p, p_rand(p, hid, 0.1f), hid), p_add(p, 0, 0);
  p_add(p, sq ? p_rand(p, sq * hid, 0.3f) : 0, sq * hid), p_add(p, sq ? p_rand(p, sq, 0.1f) : 0, sq);
  p_add(p, sq ? p_rand(p, hid * sq, 0.3f) : 0, hid * sq), p_add(p, sq ? p_rand(p, hid, 0.1f) : 0, hid);
  p_packed(p, p_rand(p, cout * hid, 2.2f / sqrtf((float)hid)), gp);
  p_add(p, p_rand(p, cout, 0.1f), cout), p_add(p, p->steps % 2 ? p_rand(p, cout, 2) : 0, cout);
  m[1] = g[CG_OH], m[2] = g[CG_OW], m[3] = cout;
}
static void p_linear(prog *p, long out, int hardswish) {
  int32_t *r = p_step(p, NPK_LINEAR, -1, -1);
  r[NPF_CIN] = (int32_t)p->map[3], r[NPF_COUT] = (int32_t)out, r[NPF_ACTD] = hardswish;
  p_add(p, p_rand(p, out * p->map[3], 2.2f / sqrtf((float)p->map[3])), out * p->map[3]);
  p_add(p, p_rand(p, out, 0.1f), out);
  p->map[3] = out;
}
typedef struct {
  prog *p;
  const float *x;
  int rc[2];
} prog_ctx;
static void run_prog(const tt_ops *o, float **out, void *c) {
  prog_ctx *j = c;
  j->rc[is_ref(o)] = o->nhwc_program(j->x, &j->p->l[is_ref(o)], j->p->code, j->p->steps, out[0]);
}
static void program_cases(long cases) {
  for (long i = 0; i < (cases / 10 > 2 ? cases / 10 : 2); i++) {
    prog *p = calloc(1, sizeof *p);
    long n = ri(1, 3), h = ri(24, 40);
    p->map[0] = n, p->map[1] = p->map[2] = h, p->map[3] = 3;
    input x = in_rand(n * 3 * h * h, 1);
    if (i % 2 == 0) { /* MobileNetV3-Large's shape of program, smaller: the stem fused with its first block */
      p_conv(p, -1, 0, 16, 3, 2, 3, -1);
      p_block(p, 0, 1, 16, 16, 3, 1, 0, 1, 1);
      p_block(p, 1, 0, 64, 24, 3, 2, 0, 1, 1);
      p_block(p, 0, 1, 72, 24, 3, 1, 0, 1, 1);
      p_block(p, 1, 0, 72, 40, 5, 2, 24, 1, 1);
      p_block(p, 0, 1, 120, 40, 5, 1, 32, 1, 1);
      p_block(p, 1, 0, 200, 80, 3, 2, 0, 3, 3);
      p_block(p, 0, 1, 184, 80, 3, 1, 0, 3, 3);
      p_conv(p, 1, 0, 96, 1, 1, 3, -1);
      p_linear(p, 64, 1);
      p_linear(p, 10, 0);
    } else { /* a ResNet's: 7×7 stem, max pooling, residual convolutions in place, a strided shortcut, Winograd */
      p_conv(p, -1, 0, 16, 7, 2, 1, -1);
      p_maxpool(p, 0, 1);
      p_conv(p, 1, 2, 16, 3, 1, 1, -1);
      p_conv(p, 2, 1, 16, 3, 1, 1, 1);
      long in[4] = { p->map[0], p->map[1], p->map[2], p->map[3] };
      p_conv(p, 1, 3, 32, 1, 2, 0, -1); /* the downsample: 1×1, stride 2 */
      long dh = p->map[1], dw = p->map[2];
      memcpy(p->map, in, sizeof in); /* the main path from the block's input again */
      p_conv(p, 1, 2, 32, 3, 2, 1, -1);
      if (p->map[1] != dh || p->map[2] != dw) fail("program: the shortcut's map is not the main path's");
      p_conv(p, 2, 3, 32, 3, 1, 1, 3);
    }
    snprintf(what, sizeof what, "program %ld (%s): n%ld %ld², %ld steps → [%ld, %ld]", i,
             i % 2 ? "ResNet" : "MobileNetV3", n, h, p->steps, n, p->map[3]);
    prog_ctx j = { .p = p, .x = x.b.p };
    outs o;
    one(&o, n * p->map[3], run_prog, &j, 16); /* the builds differ by ~1e-6 of the outputs (O(1)) */
    checks++;
    if (j.rc[0] || j.rc[1]) fail("the program was refused at step %d (candidate) / %d (reference)", j.rc[0] - 1, j.rc[1] - 1);
    unchanged("the image", &x);
    in_free(&x);
    for (long q = 0; q < p->nowned; q++) free(p->owned[q]);
    free(p);
  }
}

/* ---- pooling ---- */
typedef struct {
  const int32_t *g;
  const float *x, *gy;
  const int32_t *idx;
  int cip, div;
} pool_ctx;
static void run_maxpool(const tt_ops *o, float **out, void *c) {
  pool_ctx *j = c;
  o->max_pool2d(j->x, out[0], (int32_t *)out[1], j->g);
}
static void run_maxpool_nhwc(const tt_ops *o, float **out, void *c) {
  pool_ctx *j = c;
  o->max_pool2d_nhwc(j->x, out[0], j->g);
}
static void run_maxpool_bwd(const tt_ops *o, float **out, void *c) {
  pool_ctx *j = c;
  long planes = j->g[PG_N] * j->g[PG_C];
  o->max_pool2d_bwd(j->gy, j->idx, out[0], planes, j->g[PG_H] * j->g[PG_W], j->g[PG_OH] * j->g[PG_OW]);
}
static void run_avgpool(const tt_ops *o, float **out, void *c) {
  pool_ctx *j = c;
  o->avg_pool2d(j->x, out[0], j->g, j->cip, j->div);
}
static void run_avgpool_bwd(const tt_ops *o, float **out, void *c) {
  pool_ctx *j = c;
  o->avg_pool2d_bwd(j->gy, out[0], j->g, j->cip, j->div);
}
static void pool_cases(long cases) {
  for (long i = 0; i < cases; i++) {
    long n = ri(1, 3), c = ri(1, 40), h = ri(1, 30), w = ri(1, 30), kh = ri(1, 4), kw = ri(1, 4), s = ri(1, 3),
         d = ri(1, 2), ph = ri(0, kh / 2), pw = ri(0, kw / 2);
    long oh = (h + 2 * ph - d * (kh - 1) - 1) / s + 1, ow = (w + 2 * pw - d * (kw - 1) - 1) / s + 1;
    if (oh < 1 || ow < 1) continue;
    int32_t g[PG_LEN] = { [PG_N] = n,  [PG_C] = c,   [PG_H] = h,   [PG_W] = w,   [PG_OH] = oh, [PG_OW] = ow, [PG_KH] = kh,
                          [PG_KW] = kw, [PG_SH] = s, [PG_SW] = s, [PG_PH] = ph, [PG_PW] = pw, [PG_DH] = d,  [PG_DW] = d };
    long xs = n * c * h * w, ys = n * c * oh * ow;
    input x = in_rand(xs, 1), gy = in_rand(ys, 1);
    pool_ctx j = { .g = g, .x = x.b.p, .gy = gy.b.p, .cip = (int)(i % 2), .div = i % 5 == 0 ? 3 : 0 };
    outs o;
    snprintf(what, sizeof what, "pool %ld: n%ld c%ld %ldx%ld k%ldx%ld s%ld p%ld,%ld d%ld → %ldx%ld", i, n, c, h, w, kh, kw,
             s, ph, pw, d, oh, ow);
    size_t base = strlen(what);
    long sizes[2] = { ys, ys };
    strcat(what, " max (indices)");
    outs_init(&o, 2, sizes, 0);
    run3(&o, run_maxpool, &j);
    outs_check(&o, 0);
    j.idx = (const int32_t *)o.r[1].p;
    what[base] = 0, strcat(what, " max backward");
    one(&(outs){ 0 }, xs, run_maxpool_bwd, &j, kh * kw);
    outs_free(&o);
    what[base] = 0, strcat(what, " max nhwc");
    if (d == 1) one(&o, ys, run_maxpool_nhwc, &j, 0);
    what[base] = 0, strcat(what, " avg");
    if (d == 1) one(&o, ys, run_avgpool, &j, kh * kw);
    what[base] = 0, strcat(what, " avg backward");
    if (d == 1) one(&o, xs, run_avgpool_bwd, &j, kh * kw);
    unchanged("inputs", &x), unchanged("inputs", &gy);
    in_free(&x), in_free(&gy);
  }
}

/* ---- GEMM ---- */
typedef struct {
  int ta, tb, m, n, k, batch, acc;
  long sa, sb, sc;
  const float *a, *b;
} gemm_ctx;
static void run_gemm(const tt_ops *o, float **out, void *c) {
  gemm_ctx *j = c;
  o->gemm(j->ta, j->tb, j->m, j->n, j->k, j->a, j->sa, j->b, j->sb, out[0], j->sc, j->batch, j->acc);
}
static void gemm_cases(long cases) {
  for (long i = 0; i < cases; i++) {
    gemm_ctx j = { .ta = ri(0, 1), .tb = ri(0, 1), .m = (int)ri(1, 150), .n = (int)ri(1, 150), .k = (int)ri(1, 300) };
    j.batch = runit() < 0.2 ? (int)ri(2, 4) : 1, j.acc = runit() < 0.25;
    int share = j.batch > 1 && runit() < 0.5;
    j.sa = (long)j.m * j.k, j.sb = share ? 0 : (long)j.k * j.n, j.sc = (long)j.m * j.n;
    input a = in_rand(j.sa * j.batch, 1), b = in_rand((share ? 1 : j.batch) * (long)j.k * j.n, 1),
          c0 = in_rand(j.sc * j.batch, 1);
    j.a = a.b.p, j.b = b.b.p;
    snprintf(what, sizeof what, "gemm %ld: m%d n%d k%d%s%s batch %d%s%s", i, j.m, j.n, j.k, j.ta ? " Aᵀ" : "",
             j.tb ? " Bᵀ" : "", j.batch, share ? " (B shared)" : "", j.acc ? " accumulate" : "");
    outs o;
    long sz = j.sc * j.batch;
    const float *acc[1] = { j.acc ? c0.b.p : 0 };
    outs_init(&o, 1, &sz, acc);
    run3(&o, run_gemm, &j);
    outs_check(&o, j.k);
    outs_free(&o);
    unchanged("inputs", &a), unchanged("inputs", &b);
    in_free(&a), in_free(&b), in_free(&c0);
  }
}

/* ---- normalization, softmax, elementwise, optimizers ---- */
typedef struct {
  const float *x, *y, *gy, *a, *b, *mean, *inv, *wt, *g;
  long n, c, hw, outer, size, inner;
  int op, mode, flag;
  float pa, pb;
  const double *h;
} misc_ctx;
static void run_stats(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->channel_stats(j->x, out[0], out[1], j->n, j->c, j->hw);
}
static void run_affine(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->channel_affine(j->x, j->a, j->b, out[0], j->n, j->c, j->hw, j->flag);
}
static void run_bn_bwd(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->bn_bwd(j->x, j->gy, j->mean, j->inv, j->wt, out[0], out[1], out[2], j->n, j->c, j->hw);
}
static void run_softmax(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->softmax(j->x, out[0], j->outer, j->size, j->inner, j->flag);
}
static void run_softmax_grad(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->softmax_grad(j->y, j->gy, out[0], j->outer, j->size, j->inner, j->flag);
}
static void run_unary(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  if (!o->unary(j->op, j->x, out[0], j->n, j->pa, j->pb)) memset(out[0], 0, sizeof(float) * (size_t)j->n);
}
static void run_unary_grad(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  if (!o->unary_grad(j->op, j->x, j->gy, out[0], j->n, j->pa, j->pb)) memset(out[0], 0, sizeof(float) * (size_t)j->n);
}
static void run_binary(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->binary(j->op, j->mode, j->a, j->b, out[0], j->outer, j->size, j->inner);
}
static void run_reduce(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->reduce_sum(j->x, out[0], j->outer, j->size, j->inner);
}
static void run_axpy(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->axpy(j->n, j->pa, j->x, out[0]);
}
static void run_sgd(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->sgd_step(j->n, out[0], j->g, j->flag ? out[1] : 0, j->h);
}
static void run_adam(const tt_ops *o, float **out, void *c) {
  misc_ctx *j = c;
  o->adam_step(j->n, out[0], j->g, out[1], out[2], j->flag ? out[3] : 0, j->h);
}

static void misc_cases(long cases) {
  outs o;
  for (long i = 0; i < cases; i++) {
    long n = ri(1, 4), c = ri(1, 40), hw = ri(1, 300);
    input x = in_rand(n * c * hw, 2), gy = in_rand(n * c * hw, 1), a = in_rand(c, 2), b = in_rand(c, 1),
          mean = in_rand(c, 0.3f), inv = in_rand(c, 1);
    misc_ctx j = { .x = x.b.p, .gy = gy.b.p, .a = a.b.p, .b = b.b.p, .mean = mean.b.p, .inv = inv.b.p,
                   .wt = i % 2 ? a.b.p : 0, .n = n, .c = c, .hw = hw, .flag = (int)(i % 2) };
    snprintf(what, sizeof what, "channel stats %ld: n%ld c%ld hw%ld", i, n, c, hw);
    long s2[3] = { c, c, c };
    outs_init(&o, 2, s2, 0), run3(&o, run_stats, &j), outs_check(&o, 8), outs_free(&o);
    snprintf(what, sizeof what, "channel affine %ld: n%ld c%ld hw%ld relu %d", i, n, c, hw, j.flag);
    one(&o, n * c * hw, run_affine, &j, 2);
    snprintf(what, sizeof what, "batch-norm backward %ld: n%ld c%ld hw%ld%s", i, n, c, hw, j.wt ? " weight" : "");
    long s3[3] = { n * c * hw, c, c };
    outs_init(&o, 3, s3, 0), run3(&o, run_bn_bwd, &j);
    o.k[0] = 8; /* gx: gy less two channel means, each O(1) */
    outs_check(&o, n * hw), outs_free(&o);
    unchanged("inputs", &x);
    in_free(&x), in_free(&gy), in_free(&a), in_free(&b), in_free(&mean), in_free(&inv);

    long outer = ri(1, 20), size = ri(1, 300), inner = i % 3 ? 1 : ri(1, 20), t = outer * size * inner;
    input sx = in_rand(t, 8), sgy = in_rand(t, 1);
    fbuf y = fb_new(t);
    misc_ctx k = { .x = sx.b.p, .gy = sgy.b.p, .outer = outer, .size = size, .inner = inner, .flag = (int)(i % 2) };
    ref->softmax(sx.b.p, y.p, outer, size, inner, k.flag);
    k.y = y.p;
    snprintf(what, sizeof what, "softmax %ld: [%ld, %ld, %ld] log %d", i, outer, size, inner, k.flag);
    one(&o, t, run_softmax, &k, 4);
    snprintf(what, sizeof what, "softmax gradient %ld: [%ld, %ld, %ld] log %d", i, outer, size, inner, k.flag);
    one(&o, t, run_softmax_grad, &k, 8);
    snprintf(what, sizeof what, "reduce sum %ld: [%ld, %ld, %ld]", i, outer, size, inner);
    one(&o, outer * inner, run_reduce, &k, size);
    fb_free(&y), in_free(&sx), in_free(&sgy);
  }
  /* elementwise: every unary code and gradient, every binary op in every broadcast mode, on lengths around the
   * vector widths and past the threads' split */
  for (long i = 0; i < cases; i++) {
    long len = i % 4 == 3 ? ri(60000, 140000) : ri(1, 100);
    input x = in_rand(len, 4), gy = in_rand(len, 1);
    for (int op = 0; op < U_COUNT; op++) {
      misc_ctx j = { .x = x.b.p, .gy = gy.b.p, .n = len, .op = op, .pa = 0.37f, .pb = -1.5f };
      if (op == U_SQRT) {
        for (long q = 0; q < len; q++) x.b.p[q] = fabsf(x.copy[q]);
      }
      snprintf(what, sizeof what, "unary %d on %ld", op, len);
      one(&o, len, run_unary, &j, 1);
      snprintf(what, sizeof what, "unary gradient %d on %ld", op, len);
      one(&o, len, run_unary_grad, &j, 1);
      if (op == U_SQRT) memcpy(x.b.p, x.copy, sizeof(float) * (size_t)len);
    }
    unchanged("unary input", &x);
    long outer = ri(1, 30), mid = ri(1, 10), inner = ri(1, 40), t = outer * mid * inner;
    input a = in_rand(t, 2), b = in_rand(t, 2);
    for (long q = 0; q < t; q++) /* division by nothing near zero */
      if (fabsf(b.b.p[q]) < 0.1f) b.b.p[q] = b.copy[q] = 0.5f;
    for (int mode = BM_SAME; mode <= BM_AROW; mode++)
      for (int op = 0; op < B_COUNT; op++) {
        long m = mode >= BM_BROW ? 1 : mid;
        misc_ctx j = { .a = a.b.p, .b = b.b.p, .op = op, .mode = mode, .outer = outer, .size = m, .inner = inner };
        snprintf(what, sizeof what, "binary %d mode %d [%ld, %ld, %ld]", op, mode, outer, m, inner);
        one(&o, outer * m * inner, run_binary, &j, 1);
      }
    misc_ctx j = { .x = x.b.p, .n = len, .pa = -0.7f };
    snprintf(what, sizeof what, "axpy %ld", len);
    const float *acc1[1] = { gy.b.p };
    outs_init(&o, 1, &len, acc1), run3(&o, run_axpy, &j), outs_check(&o, 1), outs_free(&o);
    in_free(&x), in_free(&gy), in_free(&a), in_free(&b);
  }
  /* optimizer steps from the same state on both builds */
  for (long i = 0; i < cases; i++) {
    long len = ri(1, 5000);
    input w = in_rand(len, 1), g = in_rand(len, 1), m1 = in_rand(len, 0.1f), m2 = in_rand(len, 0.01f);
    for (long q = 0; q < len; q++) m2.b.p[q] = m2.copy[q] = fabsf(m2.copy[q]);
    double sgd[7] = { 0.05, i % 2 ? 0.9 : 0, i % 3 == 0 ? 0.1 : 0, 1e-4, i % 4 == 1, i % 5 == 2, i % 6 == 0 };
    /* adam_hyper: β1, β2, eps, AdamW's decay factor 1 − lr·wd, Adam's L2 coefficient, lr / (1 − β1), √(1 − β2), sign */
    double adam[8] = { 0.9, 0.999, 1e-8, i % 2 ? 1 - 1e-3 * 0.01 : 1, i % 2 ? 0 : 1e-4, 1e-3 / (1 - 0.9),
                       sqrt(1 - 0.999), i % 3 == 2 ? -1 : 1 };
    misc_ctx j = { .g = g.b.p, .n = len, .flag = (int)(i % 2), .h = sgd };
    snprintf(what, sizeof what, "sgd %ld on %ld", i, len);
    long s2[2] = { len, len };
    const float *a2[2] = { w.b.p, m1.b.p };
    outs_init(&o, 2, s2, a2), run3(&o, run_sgd, &j), outs_check(&o, 1), outs_free(&o);
    j.h = adam;
    snprintf(what, sizeof what, "adam %ld on %ld%s", i, len, j.flag ? " amsgrad" : "");
    long s4[4] = { len, len, len, len };
    const float *a4[4] = { w.b.p, m1.b.p, m2.b.p, m2.b.p };
    outs_init(&o, 4, s4, a4), run3(&o, run_adam, &j), outs_check(&o, 2), outs_free(&o);
    unchanged("gradient", &g);
    in_free(&w), in_free(&g), in_free(&m1), in_free(&m2);
  }
}

/* ---- strided copies, resampling, RoIAlign, NMS, 3-D Winograd ---- */
typedef struct {
  const float *x, *gy, *rois, *w, *bias;
  const int32_t *g, *st, *shape, *i32[4];
  const float *f32[4];
  long offset, planes, h, w_, oh, ow, nb;
  int rank, bilinear, aligned;
  float scale, thr;
} geo_ctx;
static void run_copy(const tt_ops *o, float **out, void *c) {
  geo_ctx *j = c;
  o->copy_strided(j->x, j->offset, j->st, out[0], j->shape, j->rank);
}
static void run_resample(const tt_ops *o, float **out, void *c) {
  geo_ctx *j = c;
  o->resample2d(j->bilinear, j->x, out[0], j->planes, j->h, j->w_, j->oh, j->ow, j->i32[0], j->i32[1], j->f32[0],
                j->f32[1], j->i32[2], j->i32[3], j->f32[2], j->f32[3]);
}
static void run_resample_bwd(const tt_ops *o, float **out, void *c) {
  geo_ctx *j = c;
  o->resample2d_bwd(j->bilinear, j->gy, out[0], j->planes, j->h, j->w_, j->oh, j->ow, j->i32[0], j->i32[1],
                    j->f32[0], j->f32[1], j->i32[2], j->i32[3], j->f32[2], j->f32[3]);
}
static void run_roi(const tt_ops *o, float **out, void *c) {
  geo_ctx *j = c;
  o->roi_align(j->x, j->rois, out[0], j->g, j->scale, j->aligned);
}
static void run_roi_bwd(const tt_ops *o, float **out, void *c) {
  geo_ctx *j = c;
  o->roi_align_bwd(j->gy, j->rois, out[0], j->g, j->scale, j->aligned);
}
static void run_nms(const tt_ops *o, float **out, void *c) {
  geo_ctx *j = c;
  o->nms(j->nb, j->x, j->thr, (int32_t *)out[0]);
}
static void run_conv3d(const tt_ops *o, float **out, void *c) {
  geo_ctx *j = c;
  if (!o->conv3d_winograd(j->x, j->w, j->bias, out[0], j->g)) fail("conv3dWinograd refused its geometry");
}
/* align_corners = false source taps of one axis (F.interpolate), nearest or linear */
static void taps(long in, long outn, int bilinear, int32_t *i0, int32_t *i1, float *l0, float *l1) {
  for (long o = 0; o < outn; o++) {
    double src = ((double)o + 0.5) * in / outn - 0.5;
    if (!bilinear) {
      long q = (long)floor((double)o * in / outn);
      i0[o] = (int32_t)(q < in ? q : in - 1), i1[o] = i0[o], l0[o] = 1, l1[o] = 0;
      continue;
    }
    if (src < 0) src = 0;
    long q = (long)src, q1 = q + 1 < in ? q + 1 : in - 1;
    double f = src - q;
    i0[o] = (int32_t)q, i1[o] = (int32_t)q1, l0[o] = (float)(1 - f), l1[o] = (float)f;
  }
}
static void geo_cases(long cases) {
  outs o;
  for (long i = 0; i < cases; i++) {
    /* a strided view: a permuted, sliced and stepped window of a larger array (at most 2¹⁹ floats of it from a
     * source of at most 2²¹: one case in four large enough for the threads' split) */
    int rank;
    int32_t shape[8], st[8];
    long off = ri(0, 7), total, reach;
    do {
      long span = 1;
      rank = (int)ri(1, 5), total = 1;
      for (int d = rank - 1; d >= 0; d--) {
        shape[d] = (int32_t)ri(1, i % 4 == 3 && d >= rank - 2 ? 300 : 9), st[d] = (int32_t)(span * ri(1, 2));
        span += (long)(shape[d] - 1) * st[d] + 1, total *= shape[d];
      }
      for (int d = 0; d + 1 < rank; d += 2) /* a transposed pair */
        if (i % 2) {
          int32_t t = st[d];
          st[d] = st[d + 1], st[d + 1] = t;
        }
      reach = off + 1; /* the farthest element read, after the transposition */
      for (int d = 0; d < rank; d++) reach += (long)(shape[d] - 1) * st[d];
    } while (total > 1L << 19 || reach > 1L << 21);
    input src = in_rand(reach, 1);
    geo_ctx j = { .x = src.b.p, .offset = off, .st = st, .shape = shape, .rank = rank };
    snprintf(what, sizeof what, "copy strided %ld: rank %d, %ld floats", i, rank, total);
    one(&o, total, run_copy, &j, 0);
    in_free(&src);

    /* resampling, nearest and bilinear, up and down */
    long planes = ri(1, 8), h = ri(1, 30), w = ri(1, 30), oh = ri(1, 40), ow = ri(1, 40);
    int32_t *iy0 = malloc(4 * (size_t)oh), *iy1 = malloc(4 * (size_t)oh), *ix0 = malloc(4 * (size_t)ow),
            *ix1 = malloc(4 * (size_t)ow);
    float *ly0 = malloc(4 * (size_t)oh), *ly1 = malloc(4 * (size_t)oh), *lx0 = malloc(4 * (size_t)ow),
          *lx1 = malloc(4 * (size_t)ow);
    int bil = (int)(i % 2);
    taps(h, oh, bil, iy0, iy1, ly0, ly1), taps(w, ow, bil, ix0, ix1, lx0, lx1);
    input rx = in_rand(planes * h * w, 1), rgy = in_rand(planes * oh * ow, 1);
    geo_ctx r = { .x = rx.b.p, .gy = rgy.b.p, .planes = planes, .h = h, .w_ = w, .oh = oh, .ow = ow, .bilinear = bil,
                  .i32 = { iy0, iy1, ix0, ix1 }, .f32 = { ly0, ly1, lx0, lx1 } };
    snprintf(what, sizeof what, "resample %ld: %s %ld×%ldx%ld → %ldx%ld", i, bil ? "bilinear" : "nearest", planes, h, w,
             oh, ow);
    one(&o, planes * oh * ow, run_resample, &r, 4);
    strcat(what, " backward");
    one(&o, planes * h * w, run_resample_bwd, &r, 4 * (oh / h + 1) * (ow / w + 1));
    in_free(&rx), in_free(&rgy);
    free(iy0), free(iy1), free(ix0), free(ix1), free(ly0), free(ly1), free(lx0), free(lx1);

    /* RoIAlign on boxes inside and across the map's edge, aligned or not, fixed or adaptive sampling */
    long n = ri(1, 2), c = i % 3 ? ri(1, 20) : ri(32, 80), fh = ri(4, 24), fw = ri(4, 24), nr = ri(1, 12),
         ph = ri(1, 7), pw = ri(1, 7), samp = ri(0, 3);
    int32_t rg[RG_LEN] = { [RG_N] = n,     [RG_C] = c,   [RG_H] = fh, [RG_W] = fw, [RG_ROIS] = nr,
                           [RG_PH] = ph, [RG_PW] = pw, [RG_SAMPLING] = samp };
    input fx = in_rand(n * c * fh * fw, 1), boxes = in_rand(nr * 5, 1), fgy = in_rand(nr * c * ph * pw, 1);
    float sc = i % 2 ? 0.25f : 1.0f;
    for (long q = 0; q < nr; q++) {
      float *b = boxes.b.p + 5 * q, x1 = (float)runit() * fw / sc, y1 = (float)runit() * fh / sc;
      b[0] = (float)ri(0, n - 1), b[1] = x1 - 2, b[2] = y1 - 1, b[3] = x1 + (float)runit() * fw / sc,
      b[4] = y1 + (float)runit() * fh / sc;
      memcpy(boxes.copy + 5 * q, b, 5 * sizeof(float));
    }
    geo_ctx ra = { .x = fx.b.p, .gy = fgy.b.p, .rois = boxes.b.p, .g = rg, .scale = sc, .aligned = (int)(i / 2 % 2) };
    snprintf(what, sizeof what, "roi align %ld: n%ld c%ld %ldx%ld rois %ld → %ldx%ld sampling %ld aligned %d", i, n, c,
             fh, fw, nr, ph, pw, samp, ra.aligned);
    one(&o, nr * c * ph * pw, run_roi, &ra, 16);
    strcat(what, " backward");
    one(&o, n * c * fh * fw, run_roi_bwd, &ra, 4 * nr);
    in_free(&fx), in_free(&boxes), in_free(&fgy);

    /* NMS: clustered boxes so that many overlap */
    long nb = ri(1, 300);
    input bx = in_rand(nb * 4, 1);
    for (long q = 0; q < nb; q++) {
      float *b = bx.b.p + 4 * q, cx = (float)ri(0, 5) * 10 + rv() * 3, cy = (float)ri(0, 5) * 10 + rv() * 3,
            hw2 = 2 + (float)runit() * 6, hh2 = 2 + (float)runit() * 6;
      b[0] = cx - hw2, b[1] = cy - hh2, b[2] = cx + hw2, b[3] = cy + hh2;
      memcpy(bx.copy + 4 * q, b, 4 * sizeof(float));
    }
    geo_ctx nm = { .x = bx.b.p, .nb = nb, .thr = (float)(0.2 + 0.6 * runit()) };
    snprintf(what, sizeof what, "nms %ld: %ld boxes, iou %.3f", i, nb, nm.thr);
    one(&o, nb, run_nms, &nm, 0);
    in_free(&bx);

    /* 3×3×3 Winograd, stride 1 */
    long n3 = ri(1, 2), c3 = ri(1, 12), oc3 = ri(1, 20), d3 = ri(1, 6), h3 = ri(1, 12), w3 = ri(1, 12), p3 = ri(0, 1);
    long od = d3 + 2 * p3 - 2, oh3 = h3 + 2 * p3 - 2, ow3 = w3 + 2 * p3 - 2;
    if (od < 1 || oh3 < 1 || ow3 < 1) continue;
    int32_t g3[C3G_LEN] = { [C3G_N] = n3,  [C3G_C] = c3,   [C3G_D] = d3,   [C3G_H] = h3,  [C3G_W] = w3,  [C3G_OC] = oc3,
                            [C3G_KD] = 3,  [C3G_KH] = 3,   [C3G_KW] = 3,   [C3G_OD] = od, [C3G_OH] = oh3, [C3G_OW] = ow3,
                            [C3G_SD] = 1,  [C3G_SH] = 1,   [C3G_SW] = 1,   [C3G_PD] = p3, [C3G_PH] = p3, [C3G_PW] = p3,
                            [C3G_DD] = 1,  [C3G_DH] = 1,   [C3G_DW] = 1,   [C3G_GROUPS] = 1 };
    input x3 = in_rand(n3 * c3 * d3 * h3 * w3, 1), wt3 = in_rand(oc3 * c3 * 27, 1), b3 = in_rand(oc3, 1);
    geo_ctx v = { .x = x3.b.p, .w = wt3.b.p, .bias = i % 2 ? b3.b.p : 0, .g = g3 };
    snprintf(what, sizeof what, "conv3d winograd %ld: n%ld c%ld %ldx%ldx%ld oc%ld p%ld", i, n3, c3, d3, h3, w3, oc3, p3);
    one(&o, n3 * oc3 * od * oh3 * ow3, run_conv3d, &v, c3 * 27 * 4);
    unchanged("conv3d input", &x3);
    in_free(&x3), in_free(&wt3), in_free(&b3);
  }
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "";
  struct {
    const char *name;
    const tt_ops *ops;
    int runs; /* whether this CPU executes the build's instructions */
  } builds[] = {
#if defined(__x86_64__) || defined(__i386__)
    { "avx512", &tt_ops_avx512, __builtin_cpu_supports("avx512f") },
    { "avx2", &tt_ops_avx2, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") },
#endif
    { "generic16", &tt_ops_generic16, 1 },
    { "generic8", &tt_ops_generic8, 1 },
  };
  for (size_t b = 0; b < sizeof builds / sizeof *builds; b++) {
    if (strcmp(name, builds[b].name)) continue;
    if (!builds[b].ops) {
      fprintf(stderr, "crosscheck: the %s build is not linked into this binary\n", name);
      return 2;
    }
    if (!builds[b].runs) {
      fprintf(stderr, "crosscheck: this CPU cannot run the %s build\n", name);
      return 3;
    }
    cand = builds[b].ops;
  }
  if (!cand) {
    fprintf(stderr, "usage: %s avx512|avx2|generic16|generic8 [CASES=60] [SEED=1] [THREADS=2] [PERTURB=0]\n", argv[0]);
    return 2;
  }
  long cases = argc > 2 ? atol(argv[2]) : 60;
  rs = argc > 3 ? (unsigned)atol(argv[3]) : 1;
  if (!rs) rs = 1;
  int threads = argc > 4 ? atoi(argv[4]) : 2;
  perturb = argc > 5 ? atoi(argv[5]) : 0;
  tt_set_num_threads(threads);
  printf("crosscheck: %s (vector %d, tile %dx%d) against %s, %ld cases a family, seed %u, %d threads%s\n", cand->name,
         cand->vl, cand->mr, cand->nr, ref->name, cases, rs, threads, perturb ? ", outputs perturbed" : "");
  fflush(stdout);
  gemm_cases(cases);
  conv_cases(cases);
  nhwc_cases(cases);
  block_cases(cases);
  program_cases(cases);
  pool_cases(cases);
  misc_cases(cases);
  geo_cases(cases);
  for (int d = 0; d < NDIRS; d++) {
    printf("plans %s:", DIR_NAMES[d]);
    for (int p = 0; p < NPLANS; p++)
      if (plans_seen[d][p]) printf(" %s %ld", PLAN_NAMES[p], plans_seen[d][p]);
    printf("\n");
  }
  /* every algorithm of the planner ran in every direction where it exists (kernels-random's list) */
  static const int expected[NDIRS][NPLANS + 1] = {
    [TT_CONV_FWD] = { TT_PLAN_DEPTHWISE, TT_PLAN_DENSE, TT_PLAN_BATCHED, TT_PLAN_WINOGRAD, TT_PLAN_PADDED_WIDTH,
                      TT_PLAN_IM2COL, TT_PLAN_POINTWISE, TT_PLAN_TAPWISE, -1 },
    [TT_CONV_BWD_INPUT] = { TT_PLAN_DENSE, TT_PLAN_BATCHED, TT_PLAN_WINOGRAD, TT_PLAN_PADDED_WIDTH, TT_PLAN_IM2COL,
                            TT_PLAN_TAPWISE, -1 },
    [TT_CONV_BWD_WEIGHT] = { TT_PLAN_DENSE, TT_PLAN_BATCHED, TT_PLAN_WINOGRAD, TT_PLAN_WEIGHT_GEMM, TT_PLAN_DOT,
                             TT_PLAN_IM2COL, -1 },
    [TT_CONV_FWD_PACKED] = { TT_PLAN_WINOGRAD, TT_PLAN_TAPWISE, -1 },
    [TT_CONV_FWD_NHWC] = { TT_PLAN_POINTWISE, TT_PLAN_DEPTHWISE, TT_PLAN_WINOGRAD, TT_PLAN_IMPLICIT_GEMM, -1 },
  };
  for (int d = 0; d < NDIRS; d++)
    for (const int *p = expected[d]; *p >= 0; p++)
      if (!plans_seen[d][*p]) {
        snprintf(what, sizeof what, "plan coverage");
        fail("no case ran %s %s", DIR_NAMES[d], PLAN_NAMES[*p]);
      }
  if (perturb) printf("perturbed: %ld of %ld comparisons caught\n", caught, compared);
  printf("crosscheck: %ld checks, %ld failures\n", checks, failures);
  return failures ? 1 : 0;
}

/*
 * Node-API binding: exposes every kernel build of the addon (AVX-512F, AVX2+FMA, portable at 4, 8 and 16 floats
 * per vector) as objects of synchronous functions that work on the caller's typed arrays in place
 * (napi_get_typedarray_info, no copies). Which build runs is decided in src/backend/native.ts.
 */
#include <node_api.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "tt.h"

/* Kernels share scratch buffers and the pool: calls from several JS threads (worker_threads) take turns. */
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;
#define LOCKED(stmt) do { pthread_mutex_lock(&call_lock); stmt; pthread_mutex_unlock(&call_lock); } while (0)

extern const tt_ops tt_ops_generic, tt_ops_generic8, tt_ops_generic16;
#if defined(__x86_64__)
extern const tt_ops tt_ops_avx2;
extern const tt_ops tt_ops_avx512;
#endif

/* Every kernel build in this addon, fastest first. The TypeScript side (src/backend/native.ts) picks one:
 * TATAMI_ISA, else the first that the CPU supports and that passes its self-check. generic16 and generic8 are the
 * AVX-512 and AVX2 kernels' shapes in portable code, never a default, there for the tests. */
typedef struct { const char *isa; const tt_ops *ops; } isa_entry;
static const isa_entry isa_table[] = {
#if defined(__x86_64__)
  { "avx512", &tt_ops_avx512 },
  { "avx2", &tt_ops_avx2 },
#endif
  { "generic", &tt_ops_generic },
  { "generic16", &tt_ops_generic16 },
  { "generic8", &tt_ops_generic8 },
};
#define ISA_COUNT (sizeof(isa_table) / sizeof(isa_table[0]))

static int isa_supported(const char *isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!strcmp(isa, "avx512")) return __builtin_cpu_supports("avx512f");
  if (!strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return 1;
}

#define MAXARGS 16
/* Each kernel function is created once per build, with that build's tt_ops table as its callback data. */
#define GETARGS(n)                                                          \
  size_t argc = n;                                                          \
  napi_value argv[MAXARGS];                                                 \
  void *ops_data = NULL;                                                    \
  napi_get_cb_info(env, info, &argc, argv, NULL, &ops_data);                \
  const tt_ops *ops = ops_data;                                             \
  (void)ops;                                                                \
  if (argc < n) { napi_throw_error(env, NULL, "tatami native: too few arguments"); return NULL; }

static int ok = 1;

static void *arr(napi_env env, napi_value v, napi_typedarray_type want) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_null || t == napi_undefined) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok || type != want) {
    if (ok) napi_throw_type_error(env, NULL, want == napi_float32_array ? "tatami native: expected a Float32Array" : "tatami native: expected an Int32Array");
    ok = 0;
    return NULL;
  }
  return data;
}
static float *F32(napi_env env, napi_value v) { return arr(env, v, napi_float32_array); }
static int32_t *I32(napi_env env, napi_value v) { return arr(env, v, napi_int32_array); }
static long I(napi_env env, napi_value v) { int64_t r = 0; napi_get_value_int64(env, v, &r); return (long)r; }
static double D(napi_env env, napi_value v) { double r = 0; napi_get_value_double(env, v, &r); return r; }
static int B(napi_env env, napi_value v) {
  bool r = false;
  if (napi_get_value_bool(env, v, &r) != napi_ok) return I(env, v) != 0;
  return r;
}
static napi_value num(napi_env env, double x) { napi_value r; napi_create_double(env, x, &r); return r; }
#define CHECK if (!ok) { ok = 1; return NULL; }

static napi_value js_gemm(napi_env env, napi_callback_info info) {
  GETARGS(13);
  int ta = B(env, argv[0]), tb = B(env, argv[1]);
  long m = I(env, argv[2]), n = I(env, argv[3]), k = I(env, argv[4]);
  const float *a = F32(env, argv[5]); long sa = I(env, argv[6]);
  const float *b = F32(env, argv[7]); long sb = I(env, argv[8]);
  float *c = F32(env, argv[9]); long sc = I(env, argv[10]);
  int batch = (int)I(env, argv[11]), acc = B(env, argv[12]);
  CHECK
  LOCKED(ops->gemm(ta, tb, (int)m, (int)n, (int)k, a, sa, b, sb, c, sc, batch, acc));
  return NULL;
}

static napi_value js_conv2d(napi_env env, napi_callback_info info) {
  GETARGS(7);
  const float *x = F32(env, argv[0]), *w = F32(env, argv[1]), *bias = F32(env, argv[2]), *scale = F32(env, argv[3]);
  float *out = F32(env, argv[4]);
  const int32_t *g = I32(env, argv[5]);
  int relu = B(env, argv[6]);
  CHECK
  LOCKED(ops->conv2d(x, w, bias, scale, out, g, relu));
  return NULL;
}

static napi_value js_conv2d_bwd_input(napi_env env, napi_callback_info info) {
  GETARGS(4);
  const float *gy = F32(env, argv[0]), *w = F32(env, argv[1]);
  float *gx = F32(env, argv[2]);
  const int32_t *g = I32(env, argv[3]);
  CHECK
  LOCKED(ops->conv2d_bwd_input(gy, w, gx, g));
  return NULL;
}

static napi_value js_conv2d_bwd_weight(napi_env env, napi_callback_info info) {
  GETARGS(4);
  const float *x = F32(env, argv[0]), *gy = F32(env, argv[1]);
  float *gw = F32(env, argv[2]);
  const int32_t *g = I32(env, argv[3]);
  CHECK
  LOCKED(ops->conv2d_bwd_weight(x, gy, gw, g));
  return NULL;
}

static napi_value js_max_pool2d(napi_env env, napi_callback_info info) {
  GETARGS(4);
  const float *x = F32(env, argv[0]);
  float *out = F32(env, argv[1]);
  int32_t *idx = I32(env, argv[2]);
  const int32_t *g = I32(env, argv[3]);
  CHECK
  LOCKED(ops->max_pool2d(x, out, idx, g));
  return NULL;
}

static napi_value js_max_pool2d_bwd(napi_env env, napi_callback_info info) {
  GETARGS(6);
  const float *gy = F32(env, argv[0]);
  const int32_t *idx = I32(env, argv[1]);
  float *gx = F32(env, argv[2]);
  CHECK
  LOCKED(ops->max_pool2d_bwd(gy, idx, gx, I(env, argv[3]), I(env, argv[4]), I(env, argv[5])));
  return NULL;
}

static napi_value js_avg_pool2d(napi_env env, napi_callback_info info) {
  GETARGS(5);
  const float *x = F32(env, argv[0]);
  float *out = F32(env, argv[1]);
  const int32_t *g = I32(env, argv[2]);
  CHECK
  LOCKED(ops->avg_pool2d(x, out, g, B(env, argv[3]), (int)I(env, argv[4])));
  return NULL;
}

static napi_value js_avg_pool2d_bwd(napi_env env, napi_callback_info info) {
  GETARGS(5);
  const float *gy = F32(env, argv[0]);
  float *gx = F32(env, argv[1]);
  const int32_t *g = I32(env, argv[2]);
  CHECK
  LOCKED(ops->avg_pool2d_bwd(gy, gx, g, B(env, argv[3]), (int)I(env, argv[4])));
  return NULL;
}

static napi_value js_channel_stats(napi_env env, napi_callback_info info) {
  GETARGS(6);
  const float *x = F32(env, argv[0]);
  float *mean = F32(env, argv[1]), *var = F32(env, argv[2]);
  CHECK
  LOCKED(ops->channel_stats(x, mean, var, I(env, argv[3]), I(env, argv[4]), I(env, argv[5])));
  return NULL;
}

static napi_value js_channel_affine(napi_env env, napi_callback_info info) {
  GETARGS(8);
  const float *x = F32(env, argv[0]), *s = F32(env, argv[1]), *t = F32(env, argv[2]);
  float *out = F32(env, argv[3]);
  CHECK
  LOCKED(ops->channel_affine(x, s, t, out, I(env, argv[4]), I(env, argv[5]), I(env, argv[6]), B(env, argv[7])));
  return NULL;
}

static napi_value js_bn_bwd(napi_env env, napi_callback_info info) {
  GETARGS(11);
  const float *x = F32(env, argv[0]), *gy = F32(env, argv[1]), *mean = F32(env, argv[2]), *is = F32(env, argv[3]), *w = F32(env, argv[4]);
  float *gx = F32(env, argv[5]), *gw = F32(env, argv[6]), *gb = F32(env, argv[7]);
  CHECK
  LOCKED(ops->bn_bwd(x, gy, mean, is, w, gx, gw, gb, I(env, argv[8]), I(env, argv[9]), I(env, argv[10])));
  return NULL;
}

static napi_value js_softmax(napi_env env, napi_callback_info info) {
  GETARGS(6);
  const float *x = F32(env, argv[0]);
  float *out = F32(env, argv[1]);
  CHECK
  LOCKED(ops->softmax(x, out, I(env, argv[2]), I(env, argv[3]), I(env, argv[4]), B(env, argv[5])));
  return NULL;
}

static napi_value js_softmax_grad(napi_env env, napi_callback_info info) {
  GETARGS(7);
  const float *y = F32(env, argv[0]), *gy = F32(env, argv[1]);
  float *gx = F32(env, argv[2]);
  CHECK
  LOCKED(ops->softmax_grad(y, gy, gx, I(env, argv[3]), I(env, argv[4]), I(env, argv[5]), B(env, argv[6])));
  return NULL;
}

static napi_value js_unary(napi_env env, napi_callback_info info) {
  GETARGS(6);
  int op = (int)I(env, argv[0]);
  const float *x = F32(env, argv[1]);
  float *out = F32(env, argv[2]);
  CHECK
  napi_value r;
  long n = I(env, argv[3]);
  float a = (float)D(env, argv[4]), b = (float)D(env, argv[5]);
  int done;
  LOCKED(done = ops->unary(op, x, out, n, a, b));
  napi_get_boolean(env, done != 0, &r);
  return r;
}

static napi_value js_unary_grad(napi_env env, napi_callback_info info) {
  GETARGS(7);
  int op = (int)I(env, argv[0]);
  const float *in = F32(env, argv[1]), *gy = F32(env, argv[2]);
  float *gx = F32(env, argv[3]);
  CHECK
  napi_value r;
  long n = I(env, argv[4]);
  float a = (float)D(env, argv[5]), b = (float)D(env, argv[6]);
  int done;
  LOCKED(done = ops->unary_grad(op, in, gy, gx, n, a, b));
  napi_get_boolean(env, done != 0, &r);
  return r;
}

static napi_value js_binary(napi_env env, napi_callback_info info) {
  GETARGS(8);
  int op = (int)I(env, argv[0]), mode = (int)I(env, argv[1]);
  const float *a = F32(env, argv[2]), *b = F32(env, argv[3]);
  float *out = F32(env, argv[4]);
  CHECK
  napi_value r;
  long outer = I(env, argv[5]), mid = I(env, argv[6]), inner = I(env, argv[7]);
  int done;
  LOCKED(done = ops->binary(op, mode, a, b, out, outer, mid, inner));
  napi_get_boolean(env, done != 0, &r);
  return r;
}

static napi_value js_reduce_sum(napi_env env, napi_callback_info info) {
  GETARGS(5);
  const float *x = F32(env, argv[0]);
  float *out = F32(env, argv[1]);
  CHECK
  LOCKED(ops->reduce_sum(x, out, I(env, argv[2]), I(env, argv[3]), I(env, argv[4])));
  return NULL;
}

static napi_value js_axpy(napi_env env, napi_callback_info info) {
  GETARGS(4);
  const float *x = F32(env, argv[2]);
  float *y = F32(env, argv[3]);
  CHECK
  LOCKED(ops->axpy(I(env, argv[0]), (float)D(env, argv[1]), x, y));
  return NULL;
}

static napi_value js_sgd_step(napi_env env, napi_callback_info info) {
  GETARGS(9);
  float *w = F32(env, argv[1]), *buf = F32(env, argv[3]);
  const float *g = F32(env, argv[2]);
  CHECK
  LOCKED(ops->sgd_step(I(env, argv[0]), w, g, buf, (float)D(env, argv[4]), (float)D(env, argv[5]), (float)D(env, argv[6]),
                       (float)D(env, argv[7]), (int)I(env, argv[8])));
  return NULL;
}

static napi_value js_adam_step(napi_env env, napi_callback_info info) {
  GETARGS(14);
  float *w = F32(env, argv[1]), *m = F32(env, argv[3]), *v = F32(env, argv[4]), *vmax = F32(env, argv[5]);
  const float *g = F32(env, argv[2]);
  CHECK
  float h[8];
  for (int i = 0; i < 8; i++) h[i] = (float)D(env, argv[6 + i]);
  LOCKED(ops->adam_step(I(env, argv[0]), w, g, m, v, vmax, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]));
  return NULL;
}

static void *any4(napi_env env, napi_value v) {
  napi_typedarray_type type;
  size_t length, off;
  void *data;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok ||
      (type != napi_float32_array && type != napi_int32_array && type != napi_uint32_array)) {
    if (ok) napi_throw_type_error(env, NULL, "tatami native: copyStrided needs 4-byte typed arrays");
    ok = 0;
    return NULL;
  }
  return data;
}

static napi_value js_copy_strided(napi_env env, napi_callback_info info) {
  GETARGS(6);
  const float *src = any4(env, argv[0]);
  const int32_t *strides = I32(env, argv[2]), *shape = I32(env, argv[4]);
  float *out = any4(env, argv[3]);
  CHECK
  LOCKED(ops->copy_strided(src, I(env, argv[1]), strides, out, shape, (int)I(env, argv[5])));
  return NULL;
}

static napi_value js_conv_plan(napi_env env, napi_callback_info info) {
  GETARGS(2);
  const int32_t *g = I32(env, argv[0]);
  int dir = (int)I(env, argv[1]);
  CHECK
  return num(env, ops->conv_plan(g, dir));
}

static napi_value js_set_num_threads(napi_env env, napi_callback_info info) {
  GETARGS(1);
  int n = (int)I(env, argv[0]);
  LOCKED(tt_set_num_threads(n));
  return num(env, tt_num_threads());
}

static napi_value js_get_num_threads(napi_env env, napi_callback_info info) {
  (void)info;
  return num(env, tt_num_threads());
}

/*
 * Tensor storage is malloc'd by Node's ArrayBuffer allocator, a few MB per activation, freed when the GC collects
 * it. glibc serves such blocks with mmap and unmaps them on free, so every training step faults in its fresh
 * activations page by page (~1300 faults, 4–5 ms of a 40 ms small-CNN step). Keeping blocks up to 64 MB in the
 * heap (trimmed when 64 MB lie free at its top) lets the next step reuse the pages PyTorch's allocator would.
 */
static void keep_freed_tensor_pages(void) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

#define KFN(name, f) { name, NULL, f, NULL, NULL, NULL, napi_default, (void *)ops }

/* An object holding every kernel of one build, and its name ('native-avx512' …). */
static napi_value kernels_object(napi_env env, const tt_ops *ops) {
  napi_value obj, name;
  napi_create_object(env, &obj);
  napi_property_descriptor props[] = {
    KFN("gemm", js_gemm), KFN("conv2d", js_conv2d), KFN("conv2dBackwardInput", js_conv2d_bwd_input),
    KFN("conv2dBackwardWeight", js_conv2d_bwd_weight), KFN("maxPool2d", js_max_pool2d), KFN("maxPool2dBackward", js_max_pool2d_bwd),
    KFN("avgPool2d", js_avg_pool2d), KFN("avgPool2dBackward", js_avg_pool2d_bwd), KFN("channelStats", js_channel_stats),
    KFN("channelAffine", js_channel_affine), KFN("batchNormBackward", js_bn_bwd), KFN("softmax", js_softmax),
    KFN("softmaxGrad", js_softmax_grad), KFN("unary", js_unary), KFN("unaryGrad", js_unary_grad), KFN("binary", js_binary),
    KFN("reduceSum", js_reduce_sum), KFN("copyStrided", js_copy_strided), KFN("axpy", js_axpy), KFN("sgdStep", js_sgd_step),
    KFN("adamStep", js_adam_step), KFN("convPlan", js_conv_plan),
  };
  napi_define_properties(env, obj, sizeof(props) / sizeof(props[0]), props);
  napi_create_string_utf8(env, ops->name, NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, obj, "name", name);
  return obj;
}

/* kernels(isa): the kernel object of one build; throws when the CPU lacks its instruction set. */
static napi_value js_kernels(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char isa[32] = "";
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], isa, sizeof(isa), &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "tatami native: kernels(isa) needs an instruction-set name");
    return NULL;
  }
  for (size_t i = 0; i < ISA_COUNT; i++) {
    if (strcmp(isa_table[i].isa, isa)) continue;
    if (!isa_supported(isa)) {
      char msg[96];
      snprintf(msg, sizeof(msg), "tatami native: this CPU does not support %s", isa);
      napi_throw_error(env, NULL, msg);
      return NULL;
    }
    return kernels_object(env, isa_table[i].ops);
  }
  char msg[96];
  snprintf(msg, sizeof(msg), "tatami native: no kernel build named '%s'", isa);
  napi_throw_error(env, NULL, msg);
  return NULL;
}

#define FN(name, f) { name, NULL, f, NULL, NULL, NULL, napi_default, NULL }

static napi_value init(napi_env env, napi_value exports) {
  keep_freed_tensor_pages();
  napi_property_descriptor props[] = {
    FN("kernels", js_kernels), FN("setNumThreads", js_set_num_threads), FN("getNumThreads", js_get_num_threads),
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  /* isas: the builds this CPU runs, fastest first */
  napi_value list;
  napi_create_array(env, &list);
  uint32_t n = 0;
  for (size_t i = 0; i < ISA_COUNT; i++) {
    if (!isa_supported(isa_table[i].isa)) continue;
    napi_value v;
    napi_create_string_utf8(env, isa_table[i].isa, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, list, n++, v);
  }
  napi_set_named_property(env, exports, "isas", list);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

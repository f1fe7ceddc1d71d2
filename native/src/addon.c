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
#if defined(__linux__)
#include <sys/mman.h>
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

/* Each kernel function is created once per build, with that build's tt_ops table as its callback data. argv holds
 * exactly the n arguments napi_get_cb_info may write (a fixed 16 once overflowed at a kernel of 18). */
#define GETARGS(n)                                                          \
  size_t argc = n;                                                          \
  napi_value argv[n];                                                       \
  void *ops_data = NULL;                                                    \
  napi_get_cb_info(env, info, &argc, argv, NULL, &ops_data);                \
  const tt_ops *ops = ops_data;                                             \
  (void)ops;                                                                \
  if (argc < n) { napi_throw_error(env, NULL, "tatami native: too few arguments"); return NULL; }

static int ok = 1;

/* The typed array argument `arg` of `kernel`, or NULL for null/undefined (an error unless the table marks it nullable). */
static void *arr(napi_env env, napi_value v, napi_typedarray_type want, const char *kernel, const char *arg, int required) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  napi_typedarray_type type;
  size_t length;
  void *data = NULL;
  napi_value ab;
  size_t off;
  int absent = t == napi_null || t == napi_undefined;
  if (absent && !required) return NULL;
  if (absent || napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok || type != want) {
    if (ok) {
      char msg[160];
      snprintf(msg, sizeof(msg), "tatami native %s: %s must be %s", kernel, arg, want == napi_float32_array ? "a Float32Array" : "an Int32Array");
      napi_throw_type_error(env, NULL, msg);
    }
    ok = 0;
    return NULL;
  }
  return data;
}
static long I(napi_env env, napi_value v) { int64_t r = 0; napi_get_value_int64(env, v, &r); return (long)r; }
static double D(napi_env env, napi_value v) { double r = 0; napi_get_value_double(env, v, &r); return r; }
static int B(napi_env env, napi_value v) {
  bool r = false;
  if (napi_get_value_bool(env, v, &r) != napi_ok) return I(env, v) != 0;
  return r;
}
static napi_value num(napi_env env, double x) { napi_value r; napi_create_double(env, x, &r); return r; }
static napi_value boolean(napi_env env, int x) { napi_value r; napi_get_boolean(env, x != 0, &r); return r; }
#define CHECK if (!ok) { ok = 1; return NULL; }

/* A 4-byte typed array (Float32Array, Int32Array, Uint32Array): copyStrided moves elements without reading them. */
static void *any4(napi_env env, napi_value v, const char *kernel, const char *arg) {
  napi_typedarray_type type;
  size_t length, off;
  void *data;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok ||
      (type != napi_float32_array && type != napi_int32_array && type != napi_uint32_array)) {
    if (ok) {
      char msg[160];
      snprintf(msg, sizeof(msg), "tatami native %s: %s must be a 4-byte typed array", kernel, arg);
      napi_throw_type_error(env, NULL, msg);
    }
    ok = 0;
    return NULL;
  }
  return data;
}

static void f32list_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* An f32list operand: each entry of the array v a Float32Array (its data and length) or null/undefined (NULL, 0).
 * Read once per array: the first call keeps what it read on v itself (napi_wrap, freed with v), later calls with the
 * same v take that back in one napi_unwrap. Reading the 205 entries of MobileNetV3-Large's program (napi_get_element,
 * napi_typeof, napi_get_typedarray_info each) took 58–64 µs a call, 1.5 % of its batch-1 forward on two threads
 * (Zen 3). The pointers stay valid: v holds its entries, and an array's data no longer moves once
 * napi_get_typedarray_info has returned it (V8 moves a small array's contents off its heap then, for good). So the
 * caller (src/backend/accel.ts, the program's operands) never changes such an array after its first call, and before
 * every call checks each entry's length against the one it had — a detached buffer reads 0. */
static const tt_f32list *f32list(napi_env env, napi_value v, const char *kernel, const char *arg, tt_f32list *l) {
  void *kept = NULL;
  if (napi_unwrap(env, v, &kept) == napi_ok && kept) return kept;
  bool is_array = false;
  uint32_t count = 0;
  const char *why = NULL;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &count) != napi_ok)
    why = "must be an array";
  else if (count > TT_LIST_MAX)
    why = "has too many entries";
  l->count = count;
  for (uint32_t i = 0; !why && i < count; i++) {
    napi_value e;
    napi_valuetype t;
    napi_typedarray_type type;
    size_t length, off;
    void *data = NULL;
    napi_value ab;
    if (napi_get_element(env, v, i, &e) != napi_ok || napi_typeof(env, e, &t) != napi_ok) why = "could not be read";
    else if (t == napi_null || t == napi_undefined) {
      l->p[i] = NULL;
      l->len[i] = 0;
    } else if (napi_get_typedarray_info(env, e, &type, &length, &data, &ab, &off) != napi_ok ||
               type != napi_float32_array)
      why = "must hold Float32Arrays or nulls";
    else {
      l->p[i] = data;
      l->len[i] = (long)length;
    }
  }
  if (why) {
    if (ok) {
      char msg[160];
      snprintf(msg, sizeof(msg), "tatami native %s: %s %s", kernel, arg, why);
      napi_throw_type_error(env, NULL, msg);
    }
    ok = 0;
    return NULL;
  }
  tt_f32list *keep = malloc(sizeof *keep);
  if (keep) {
    memcpy(keep, l, sizeof *keep);
    if (napi_wrap(env, v, keep, f32list_free, NULL, NULL) == napi_ok) return keep;
    free(keep); /* not kept (v wrapped by something else): read again next time */
  }
  return l;
}

#define KFN(name, f) { name, NULL, f, NULL, NULL, NULL, napi_default, (void *)ops }

/* One function per kernel of native/kernels.table.mjs (js_gemm, js_conv2d, …) and KERNEL_FUNCTIONS. */
#include "addon.gen.c"

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
 * activations page by page (~1300 faults, 4–5 ms of a 40 ms small-CNN step). Keeping blocks up to 32 MB (glibc's
 * largest mmap threshold: a larger value is refused and would leave the 128 KB default in force) in the heap,
 * trimmed when 64 MB lie free at its top, lets the next step reuse the pages PyTorch's allocator would.
 */
static void keep_freed_tensor_pages(void) {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

/*
 * adviseHugePages(arrayBuffer): asks Linux to back a fresh, untouched buffer with transparent huge pages where the
 * system allows it on request (THP "madvise" mode). Buffers beyond the mmap threshold above are fresh mappings on
 * every allocation: W7 Faster R-CNN's RoIAlign output (1000 × 256 × 7 × 7 floats, 50 MB) took 12,250 page faults
 * per call, ~7 µs each in a virtual machine; in 2 MB pages it takes ~25. Only advice: true when the kernel
 * accepted it, false elsewhere (other systems, THP off, a buffer smaller than a huge page).
 */
/* The memory of the call's ArrayBuffer argument (NULL when there is none) and its length. */
static void *buffer_arg(napi_env env, napi_callback_info info, size_t *bytes) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  *bytes = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_arraybuffer_info(env, argv[0], &data, bytes) != napi_ok) return NULL;
  return data;
}

static napi_value js_advise_huge_pages(napi_env env, napi_callback_info info) {
  napi_value result;
  size_t bytes;
  void *data = buffer_arg(env, info, &bytes);
  int ok = 0;
  if (data) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    uintptr_t huge = 2u << 20, lo = ((uintptr_t)data + huge - 1) & ~(huge - 1), hi = ((uintptr_t)data + bytes) & ~(huge - 1);
    if (hi > lo) ok = madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0;
#endif
  }
  napi_get_boolean(env, ok, &result);
  return result;
}

/*
 * alignmentSkip(arrayBuffer): the bytes to skip from the buffer's start to a 64-byte boundary (0 … 63). Node's
 * buffers start 32 bytes past one (malloc's header): every 64-byte vector load or store of a kernel reading such
 * a tensor straddles two cache lines — a channels-last depthwise layer ran 26 % slower than on the same data
 * 64-byte aligned. Tensor storage allocates 64 bytes more and starts its view here (tensor/storage.ts).
 */
static napi_value js_alignment_skip(napi_env env, napi_callback_info info) {
  napi_value result;
  size_t bytes;
  void *data = buffer_arg(env, info, &bytes);
  uint32_t skip = data ? (uint32_t)((64 - ((uintptr_t)data & 63)) & 63) : 0;
  napi_create_uint32(env, skip, &result);
  return result;
}

/* An object holding every kernel of one build, and its name ('native-avx512' …). */
static napi_value kernels_object(napi_env env, const tt_ops *ops) {
  napi_value obj, name;
  napi_create_object(env, &obj);
  napi_property_descriptor props[] = { KERNEL_FUNCTIONS };
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
    FN("adviseHugePages", js_advise_huge_pages), FN("alignmentSkip", js_alignment_skip),
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

/*
 * WebAssembly build: the same kernels with 128-bit SIMD. Memory is one linear heap grown on demand; JavaScript
 * asks for an I/O region (tt_io), copies operands in, calls an entry point with offsets, and copies results out
 * (src/backend/wasm.ts).
 *
 * Built four ways (scripts/build-wasm.mjs): with or without relaxed SIMD (fused multiply-add, about twice the GEMM
 * speed where the runtime has it), each single-threaded and with TT_THREADS over a shared, imported memory. In the
 * threaded build the module is instantiated once per thread; the JavaScript thread that calls the kernels is tid 0
 * and each worker (tid 1…) parks in tt_worker, woken by memory.atomic.notify when tt_parallel hands it a job.
 */
#include "tt.h"

#define TT_VL 4
#ifndef TT_MR
#define TT_MR 4
#endif
#ifndef TT_NV
#define TT_NV 2
#endif
#ifndef TT_DMR
#define TT_DMR 3
#endif
#ifndef TT_DNR
#define TT_DNR 3
#endif
#if defined(__wasm_relaxed_simd__)
#define TT_NAME "wasm-relaxed-simd"
#else
#define TT_NAME "wasm-simd"
#endif
#define TT_OPS_SYMBOL tt_ops_wasm
#include "kernels.inc.c"

#define EXPORT(name) __attribute__((export_name(#name)))

extern unsigned char __heap_base;
static uintptr_t heap_top = 0;
#ifdef TT_THREADS
static int heap_lock; /* workers allocate their scratch while the main thread may allocate too */
#endif

static void *bump(size_t bytes) {
#ifdef TT_THREADS
  while (__atomic_exchange_n(&heap_lock, 1, __ATOMIC_ACQUIRE)) {}
#endif
  if (!heap_top) heap_top = ((uintptr_t)&__heap_base + 63) & ~(uintptr_t)63;
  uintptr_t p = heap_top, end = p + ((bytes + 63) & ~(size_t)63);
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (end > have) {
    size_t pages = (end - have + 65535) / 65536;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap();
  }
  heap_top = end;
#ifdef TT_THREADS
  __atomic_store_n(&heap_lock, 0, __ATOMIC_RELEASE);
#endif
  return (void *)p;
}

typedef struct { void *p; size_t cap; } region;
static region scratch[TT_MAX_THREADS][SLOT_COUNT], shared[SH_COUNT], io;

/* Grow-only: a region that must grow is abandoned and re-allocated at the top of the heap with headroom, so the
 * heap is bounded by a small multiple of the largest working set. */
static void *grow(region *r, size_t bytes) {
  if (r->p && bytes <= r->cap) return r->p;
  size_t cap = bytes + bytes / 2 + 4096;
  r->p = bump(cap);
  r->cap = cap;
  return r->p;
}

void *tt_scratch(int tid, int slot, size_t bytes) { return grow(&scratch[tid][slot], bytes); }
void *tt_shared_scratch(int slot, size_t bytes) { return grow(&shared[slot], bytes); }

#ifdef TT_THREADS
/* One cache line per worker: cmd is the job number the main thread handed it, ack the last job it finished,
 * alive whether it has reached tt_worker (a worker still starting up is simply not given work). */
typedef struct { int cmd, ack, alive, part, pad[12]; } worker_slot;
static worker_slot slots[TT_MAX_THREADS];
static int wanted_threads = 1, job_seq, in_job;
static tt_task_fn job_fn;
static void *job_ctx;
/* The job's tasks cut into one contiguous range per taking part thread (part 0: the caller; a worker's part in
 * its slot): each runs its own range first, then what is left of the others', as the native pool (pool.c) — so a
 * thread mostly reads the pixels it wrote in the layer before. */
static struct { long next, end; int pad[14]; } ranges[TT_MAX_THREADS];
static int nparts;

static void run_tasks(int tid, int part) {
  for (int k = 0; k < nparts; k++) {
    int r = (part + k) % nparts;
    for (;;) {
      long t = __atomic_fetch_add(&ranges[r].next, 1, __ATOMIC_RELAXED);
      if (t >= ranges[r].end) break;
      job_fn(job_ctx, t, tid);
    }
  }
}

/* The team as tt_num_threads last reported it: 1 + the highest live worker's tid. Kernels size per-thread
 * buffers by that count, so tt_parallel never hands work to a tid at or beyond it, even if a worker has started
 * since (workers only ever start, so every tid below it that is live stays live). */
static int team;
static int refresh_team(void) {
  int t = 1;
  for (int w = 1; w < wanted_threads; w++)
    if (__atomic_load_n(&slots[w].alive, __ATOMIC_ACQUIRE)) t = w + 1;
  return team = t;
}

/* Nested calls (a task calling a kernel) and calls before any worker is up run serially on the caller. */
void tt_parallel(long ntasks, tt_task_fn fn, void *ctx) {
  if (ntasks <= 0) return;
  int members[TT_MAX_THREADS], count = 0;
  if (!in_job && ntasks > 1) {
    int limit = team ? MINI(team, wanted_threads) : refresh_team();
    for (int w = 1; w < limit; w++)
      if (__atomic_load_n(&slots[w].alive, __ATOMIC_ACQUIRE)) members[count++] = w;
  }
  if (!count) {
    for (long t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  job_fn = fn;
  job_ctx = ctx;
  nparts = count + 1;
  for (int p = 0; p < nparts; p++) {
    __atomic_store_n(&ranges[p].next, ntasks * p / nparts, __ATOMIC_RELAXED);
    ranges[p].end = ntasks * (p + 1) / nparts;
  }
  in_job = 1;
  int seq = ++job_seq;
  for (int i = 0; i < count; i++) {
    slots[members[i]].part = i + 1;
    __atomic_store_n(&slots[members[i]].cmd, seq, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify(&slots[members[i]].cmd, 1);
  }
  run_tasks(0, 0);
  /* Spin: the main thread of a browser page may not block, and the wait is only the other workers' last task. */
  for (int i = 0; i < count; i++)
    while (__atomic_load_n(&slots[members[i]].ack, __ATOMIC_ACQUIRE) != seq) {}
  in_job = 0;
}

int tt_num_threads(void) { return in_job ? 1 : refresh_team(); }
void tt_set_num_threads(int n) { wanted_threads = n < 1 ? 1 : n > TT_MAX_THREADS ? TT_MAX_THREADS : n; }

/* A worker's whole life: announce itself, then run each job it is handed. Spins a while before sleeping, since
 * kernels arrive back to back during a forward or backward pass. Never returns. */
EXPORT(tt_worker) void w_worker(int tid) {
  worker_slot *s = &slots[tid];
  int seen = __atomic_load_n(&s->cmd, __ATOMIC_ACQUIRE);
  __atomic_store_n(&s->ack, seen, __ATOMIC_RELEASE);
  __atomic_store_n(&s->alive, 1, __ATOMIC_SEQ_CST);
  for (;;) {
    int cmd, spins = 0;
    while ((cmd = __atomic_load_n(&s->cmd, __ATOMIC_ACQUIRE)) == seen)
      if (++spins > 200000) __builtin_wasm_memory_atomic_wait32(&s->cmd, seen, -1);
    seen = cmd;
    run_tasks(tid, s->part);
    __atomic_store_n(&s->ack, cmd, __ATOMIC_RELEASE);
  }
}

EXPORT(tt_threads) int w_threads(int n) {
  if (n > 0) tt_set_num_threads(n);
  return wanted_threads;
}
/* Threads taking part in kernels now: the team tt_num_threads would report (workers start in the background). */
EXPORT(tt_live_threads) int w_live_threads(void) { return refresh_team(); }
/* Stack memory for a worker (the module's own stack belongs to the main thread); returns its top. */
EXPORT(tt_stack) void *w_stack(size_t bytes) { return (char *)bump(bytes) + bytes; }
#else
void tt_parallel(long ntasks, tt_task_fn fn, void *ctx) { for (long t = 0; t < ntasks; t++) fn(ctx, t, 0); }
int tt_num_threads(void) { return 1; }
void tt_set_num_threads(int n) { (void)n; }
#endif

void *memcpy(void *dst, const void *src, size_t n) {
  __builtin_memcpy(dst, src, n); /* lowers to memory.copy with bulk memory */
  return dst;
}
void *memset(void *dst, int v, size_t n) {
  __builtin_memset(dst, v, n);
  return dst;
}
void *memmove(void *dst, const void *src, size_t n) {
  __builtin_memmove(dst, src, n); /* memory.copy: overlapping ranges are copied as if through a buffer */
  return dst;
}

EXPORT(tt_io) void *w_io(size_t bytes) { return grow(&io, bytes); }

/* The kernel exports (gemm, conv2d, …): generated from native/kernels.table.mjs. */
#include "wasm_exports.gen.c"

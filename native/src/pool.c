/*
 * Native platform layer: a pthread pool (the calling thread takes part) and per-thread grow-only scratch.
 * Workers spin for new work, then sleep on a condition variable. The spin (200k pauses, ≈ 4 ms on Zen 3) outlasts
 * the JavaScript between two kernels of a training step: a worker woken from sleep starts 50–200 µs late on a
 * virtual machine, which cost W4's step ~8 % with a 0.4 ms spin (OpenMP runtimes spin 1–200 ms by default).
 * Calls from a second JS thread while the pool is busy run serially on the caller.
 */
#include "tt.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sched.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t workers[TT_MAX_THREADS];
static int nworkers = 0;     /* threads besides the caller */
static int nthreads = 1;
static int started = 0;

static atomic_long generation;
static long start_generation;
static atomic_long next_task;
static atomic_int active;    /* workers still running the current job */
static atomic_int quit;
static tt_task_fn job_fn;
static void *job_ctx;
static long job_tasks;
static __thread int serial_tid_override = -1;

static void run_tasks(int tid) {
  for (;;) {
    long t = atomic_fetch_add_explicit(&next_task, 1, memory_order_relaxed);
    if (t >= job_tasks) break;
    job_fn(job_ctx, t, tid);
  }
}

static void *worker_main(void *arg) {
  int tid = (int)(intptr_t)arg;
  serial_tid_override = tid; /* kernels nested in a task stay on this thread */
  /* The generation current when the pool was (re)built, not the one seen on start-up: a job may have been
   * published before this thread first ran, and it must not be mistaken for an old one. */
  long seen = start_generation;
  for (;;) {
    long g;
    int spins = 0;
    while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen && !atomic_load(&quit)) {
      if (++spins < 200000) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        continue;
      }
      pthread_mutex_lock(&lock);
      while (atomic_load(&generation) == seen && !atomic_load(&quit)) pthread_cond_wait(&wake, &lock);
      pthread_mutex_unlock(&lock);
    }
    if (atomic_load(&quit)) return 0;
    seen = g;
    run_tasks(tid);
    atomic_fetch_sub_explicit(&active, 1, memory_order_release);
  }
}

static void stop_workers(void) {
  if (!nworkers) return;
  pthread_mutex_lock(&lock);
  atomic_store(&quit, 1);
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < nworkers; i++) pthread_join(workers[i], 0);
  nworkers = 0;
  atomic_store(&quit, 0);
}

static int default_threads(void) {
  const char *env = getenv("TATAMI_NUM_THREADS");
  if (env && atoi(env) > 0) return atoi(env);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

void tt_set_num_threads(int n) {
  pthread_mutex_lock(&run_lock);
  if (n < 1) n = default_threads();
  if (n > TT_MAX_THREADS) n = TT_MAX_THREADS;
  stop_workers();
  nthreads = n;
  start_generation = atomic_load(&generation);
  for (int i = 1; i < n; i++) {
    if (pthread_create(&workers[nworkers], 0, worker_main, (void *)(intptr_t)i) != 0) break;
    nworkers++;
  }
  nthreads = nworkers + 1;
  started = 1;
  pthread_mutex_unlock(&run_lock);
}

int tt_num_threads(void) {
  if (!started) tt_set_num_threads(0);
  if (serial_tid_override >= 0) return 1;
  return nthreads;
}

void tt_parallel(long ntasks, tt_task_fn fn, void *ctx) {
  if (!started) tt_set_num_threads(0);
  if (ntasks <= 0) return;
  if (nworkers == 0 || ntasks == 1 || pthread_mutex_trylock(&run_lock) != 0) {
    for (long t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  job_fn = fn;
  job_ctx = ctx;
  job_tasks = ntasks;
  atomic_store(&next_task, 0);
  atomic_store(&active, nworkers);
  pthread_mutex_lock(&lock);
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  serial_tid_override = 0; /* nested kernels inside a task run serially */
  run_tasks(0);
  serial_tid_override = -1;
  /* Spin, then yield: when the machine is oversubscribed the worker we wait for may need our core. */
  for (long spins = 0; atomic_load_explicit(&active, memory_order_acquire) > 0; spins++) {
    if (spins > 2000) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
    else __builtin_ia32_pause();
#endif
  }
  pthread_mutex_unlock(&run_lock);
}

typedef struct { void *p; size_t cap; } region;
static region scratch[TT_MAX_THREADS][SLOT_COUNT];
static region shared[SH_COUNT];

static void *grow(region *r, size_t bytes) {
  if (bytes <= r->cap && r->p) return r->p;
  free(r->p);
  size_t cap = (bytes + bytes / 4 + 4095) & ~(size_t)4095;
  r->p = aligned_alloc(64, cap);
  r->cap = r->p ? cap : 0;
  return r->p;
}

void *tt_scratch(int tid, int slot, size_t bytes) { return grow(&scratch[tid][slot], bytes); }
void *tt_shared_scratch(int slot, size_t bytes) { return grow(&shared[slot], bytes); }

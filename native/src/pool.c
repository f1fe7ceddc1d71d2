/*
 * Native platform layer: a pthread pool (the calling thread takes part) and per-thread grow-only scratch.
 *
 * A job is a count of tasks, cut into one contiguous range per thread; each thread runs its own range in order,
 * then takes what is left of the others' (each range is one atomic counter, so a task runs once whoever takes
 * it). Kernels number their tasks along the image (rows, row chunks, tile rows), so a thread mostly reads pixels
 * it wrote itself in the layer before: from one shared counter, which task a thread took varied from layer to
 * layer, and on two threads a ResNet-50 1×1 layer ran 1.6× slower than on its own, each core reading the
 * other's cache (a 64→256 1×1 at 56²: 0.55 ms in the network, 0.28 alone). The caller waits for
 * the tasks to be *done*, never for the workers to show up: on an oversubscribed machine (more runnable threads
 * than cores) a woken worker may not run for a whole scheduler time slice, and a pool that waits for every
 * worker to check in turns each kernel into a wait for that slice (measured: 2 threads trained at 0.4× the speed
 * of 1 thread with the load average at 4). Here a late worker finds the job closed and goes back to waiting, and
 * the caller has done its tasks alone.
 *
 * Entering a job: a worker that sees generation g open counts itself `inside`, then checks that g is still the
 * open job (sequentially consistent atomics), and only then takes tasks. Closing: the caller, once every task is
 * done, moves the generation on (closed) and waits until no worker is inside — only workers that entered before
 * the close, and have at most one failed counter increment left to do. So job fields are never rewritten while a
 * worker may still read them.
 *
 * Workers spin for new work (up to 200k pauses, ≈ 4 ms on Zen 3), then sleep on a condition variable. The spin
 * outlasts the JavaScript between two kernels of a training step: a worker woken from sleep starts 50–200 µs late
 * on a virtual machine, which cost W4's step ~8 % with a 0.4 ms spin (OpenMP runtimes spin 1–200 ms by default).
 * On an oversubscribed machine the spin shrinks (adapt_spin).
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

/* Odd: a job is open; even: none is. */
static atomic_long generation;
static long start_generation;
/* Per thread, its range of the open job's tasks: the next one to take and the end (one cache line each). */
static struct {
  atomic_long next;
  long end;
  char pad[64 - sizeof(atomic_long) - sizeof(long)];
} ranges[TT_MAX_THREADS] __attribute__((aligned(64)));
static atomic_long done_tasks;
static atomic_int inside;    /* workers inside the open job (or about to find it closed) */
static atomic_int quit;
static tt_task_fn job_fn;
static void *job_ctx;
static __thread int serial_tid_override = -1;

/* Pauses a worker spins for the next job before it sleeps; adapted by tt_parallel (see adapt_spin). */
#define SPIN_MAX 200000
#define SPIN_MIN 1000
static atomic_int spin_limit = SPIN_MAX;

/* Runs tasks of the open job until none is left; returns how many this thread ran. */
static long run_tasks(int tid) {
  long ran = 0;
  for (int k = 0; k < nthreads; k++) { /* its own range first, then the others' in turn */
    int r = (tid + k) % nthreads;
    for (;;) {
      long t = atomic_fetch_add_explicit(&ranges[r].next, 1, memory_order_relaxed);
      if (t >= ranges[r].end) break;
      job_fn(job_ctx, t, tid);
      ran++;
      atomic_fetch_add_explicit(&done_tasks, 1, memory_order_release);
    }
  }
  return ran;
}

/*
 * When no worker took a single task of a job with several, the workers were not running (the machine has more
 * runnable threads than cores): their spinning then only takes time slices from the threads doing the work,
 * this process's main thread among them. So the spin halves each time that happens and doubles back each time a
 * worker does take part (measured on W4's training step at load average 16–18 on 2 cores: see bench/README.md).
 */
static void adapt_spin(long ntasks, long ran_by_caller) {
  int s = atomic_load_explicit(&spin_limit, memory_order_relaxed);
  if (ntasks >= 2 && ran_by_caller == ntasks) s = s / 2 > SPIN_MIN ? s / 2 : SPIN_MIN;
  else s = s < SPIN_MAX / 2 ? s * 2 : SPIN_MAX;
  atomic_store_explicit(&spin_limit, s, memory_order_relaxed);
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
    int limit = atomic_load_explicit(&spin_limit, memory_order_relaxed);
    while ((g = atomic_load(&generation)) == seen && !atomic_load(&quit)) {
      if (++spins < limit) {
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
    if (!(g & 1)) continue; /* a job opened and closed while this thread was away */
    atomic_fetch_add(&inside, 1);
    if (atomic_load(&generation) == g) run_tasks(tid);
    atomic_fetch_sub(&inside, 1);
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

/* Spin, then yield: on an oversubscribed machine the thread we wait for may need our core. */
static void backoff(long spins) {
  if (spins > 2000) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
  else __builtin_ia32_pause();
#endif
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
  for (int i = 0; i < nthreads; i++) {
    atomic_store_explicit(&ranges[i].next, ntasks * i / nthreads, memory_order_relaxed);
    ranges[i].end = ntasks * (i + 1) / nthreads;
  }
  atomic_store(&done_tasks, 0);
  pthread_mutex_lock(&lock);
  atomic_fetch_add(&generation, 1); /* open (odd) */
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  serial_tid_override = 0; /* nested kernels inside a task run serially */
  long ran = run_tasks(0);
  serial_tid_override = -1;
  for (long spins = 0; atomic_load_explicit(&done_tasks, memory_order_acquire) < ntasks; spins++) backoff(spins);
  atomic_fetch_add(&generation, 1); /* closed (even) */
  for (long spins = 0; atomic_load(&inside) > 0; spins++) backoff(spins);
  adapt_spin(ntasks, ran);
  pthread_mutex_unlock(&run_lock);
}

typedef struct { void *raw, *p; size_t cap; } region;
static region scratch[TT_MAX_THREADS][SLOT_COUNT];
static region shared[SH_COUNT];

/* Where region k starts within its 4 KB page: a different 64-byte line for each region. Large blocks come from mmap,
 * all at the same offset in their first page, and a kernel that stores into one scratch region while loading from
 * another then had each store and the loads just after it at the same address bits 11:0 — "4K aliasing": the load
 * waits as if it depended on the store. The depthwise layer of a fused MobileNet block (expanded rows in one
 * region, its output in another) ran 5–40 % slower that way (Zen 4, one thread, 384 channels at 14²: 29.3 µs
 * against 17.7 with the output a line further on). 1088 = 17 lines: consecutive regions land far apart. */
static size_t stagger(unsigned k) { return (size_t)(k * 1088u) % 4096u; }

static void *grow(region *r, size_t bytes, unsigned k) {
#ifdef TT_SANITIZE
  /* Sanitizer builds (scripts/sanitize.sh): an exact-size block on every request, so AddressSanitizer sees a
   * write past the size a kernel asked for, which the grow-only slack would otherwise absorb. */
  (void)k;
  free(r->raw);
  if (posix_memalign(&r->raw, 64, bytes ? bytes : 1) != 0) r->raw = NULL;
  r->p = r->raw;
  r->cap = 0;
  return r->p;
#endif
  if (bytes <= r->cap && r->p) return r->p;
  free(r->raw);
  size_t cap = (bytes + bytes / 4 + 4095) & ~(size_t)4095, off = stagger(k);
  r->raw = aligned_alloc(64, cap + off);
  r->p = r->raw ? (char *)r->raw + off : NULL;
  r->cap = r->raw ? cap : 0;
  return r->p;
}

void *tt_scratch(int tid, int slot, size_t bytes) {
  return grow(&scratch[tid][slot], bytes, (unsigned)(tid * SLOT_COUNT + slot));
}
void *tt_shared_scratch(int slot, size_t bytes) { return grow(&shared[slot], bytes, (unsigned)(slot * 3 + 1)); }

/*
 * hide-avx512.so — make a process (and every process it starts) see this CPU without AVX-512.
 *
 * Issue 20 asks for inference ahead of ONNX Runtime "on the default path of an AVX-512 and of an AVX2 machine";
 * the machines here have AVX-512, and TATAMI_ISA=avx2 only moves Tatami to its AVX2 build while ONNX Runtime and
 * PyTorch keep their AVX-512 kernels. Loaded with LD_PRELOAD, this library asks Linux to make the `cpuid`
 * instruction fault (arch_prctl ARCH_SET_CPUID, "CPUID faulting": Intel, AMD Zen 3 and later, and hypervisors
 * that expose it), answers each faulting `cpuid` itself from the real one with the AVX-512 feature bits cleared,
 * and so every engine's own detection — Tatami's addon (__builtin_cpu_supports), ONNX Runtime's MLAS, PyTorch's
 * oneDNN — picks its AVX2 path, as on an AVX2 machine of the same speed otherwise. glibc chose its string
 * functions before any library constructor ran: GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,… hides it from glibc
 * (tools/hide-avx512.ts sets both).
 *
 * The fault is a SIGSEGV at the `cpuid` instruction (0F A2, si_code SI_KERNEL). Node resets every signal handler
 * at start-up and V8 installs its own for WebAssembly traps, so `sigaction(SIGSEGV, …)` is wrapped: the program's
 * handler is recorded and called for every other fault (its SIG_DFL restored and the fault re-raised), while this
 * one stays installed. The setting is per thread, inherited by the threads a process creates and reset by execve:
 * the constructor runs again in each program the process starts (LD_PRELOAD is in their environment).
 *
 * Where the kernel or CPU cannot make `cpuid` fault, the constructor prints why and exits with status 86, so a
 * run never measures the AVX-512 paths while claiming to hide them.
 *
 * Build: cc -O2 -shared -fPIC tools/hide-avx512.c -o hide-avx512.so -ldl
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#if !defined(__x86_64__) || !defined(ARCH_SET_CPUID)
#error "hide-avx512 needs Linux on x86-64 (arch_prctl ARCH_SET_CPUID)"
#endif

/* Exit status when cpuid cannot be made to fault here. */
#define HIDE_UNSUPPORTED 86

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;
/* The SIGSEGV disposition the program asked for (what it would have without this library). */
static struct sigaction app_segv;

static void cpuid_real(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* The AVX-512 bits of leaf 7 (Intel SDM vol. 2A, CPUID, "Structured Extended Feature Flags"). */
static void hide(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  if (leaf == 7 && sub == 0) {
    /* EBX: F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31 */
    r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
    /* ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14 */
    r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
    /* EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, FP16 23 */
    r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 23));
  }
  if (leaf == 7 && sub == 1) r[0] &= ~(1u << 5); /* EAX: AVX512_BF16 */
}

static void on_segv(int sig, siginfo_t *si, void *vctx) {
  ucontext_t *uc = vctx;
  greg_t *gr = uc->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)gr[REG_RIP];
  if (si->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) {
    uint32_t r[4], leaf = (uint32_t)gr[REG_RAX], sub = (uint32_t)gr[REG_RCX];
    /* the real instruction, with faulting off for this thread for its duration */
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
    cpuid_real(leaf, sub, r);
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
    hide(leaf, sub, r);
    gr[REG_RAX] = r[0];
    gr[REG_RBX] = r[1];
    gr[REG_RCX] = r[2];
    gr[REG_RDX] = r[3];
    gr[REG_RIP] += 2;
    return;
  }
  /* any other fault: the program's own disposition */
  if ((app_segv.sa_flags & SA_SIGINFO) && app_segv.sa_sigaction) {
    app_segv.sa_sigaction(sig, si, vctx);
    return;
  }
  if (app_segv.sa_handler == SIG_IGN) return;
  if (app_segv.sa_handler != SIG_DFL) {
    app_segv.sa_handler(sig);
    return;
  }
  /* default action: restore it; returning re-executes the faulting instruction, which now ends the process */
  struct sigaction d;
  memset(&d, 0, sizeof d);
  d.sa_handler = SIG_DFL;
  real_sigaction(SIGSEGV, &d, 0);
}

/* The program's sigaction: SIGSEGV is recorded (and reported back), not installed; other signals pass through. */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!real_sigaction) real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV) return real_sigaction(sig, act, old);
  struct sigaction prev = app_segv;
  if (act) app_segv = *act;
  if (old) *old = prev;
  return 0;
}

__attribute__((constructor)) static void hide_avx512_init(void) {
  real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
  memset(&app_segv, 0, sizeof app_segv);
  app_segv.sa_handler = SIG_DFL;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  real_sigaction(SIGSEGV, &sa, 0);
  if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
    static const char msg[] = "hide-avx512: this kernel or CPU cannot make cpuid fault (arch_prctl ARCH_SET_CPUID "
                              "failed), so AVX-512 cannot be hidden from this process\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(HIDE_UNSUPPORTED);
  }
}

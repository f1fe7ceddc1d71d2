/* Winograd 2-D forward on its own: CPU time of wino_conv for one geometry, and (optionally) its error against a
 * float64 direct convolution on NaN-poisoned outputs. Not part of the build; for A/B runs of kernel changes:
 *   gcc -O3 -std=gnu11 -ffp-contract=fast -fno-math-errno -mavx512f -mavx2 -mfma -Inative/src \
 *     -DISA_FILE='"isa_avx512.c"' tools/wino-harness.c native/src/pool.c -o /tmp/wino.bin -lm -lpthread
 *   NT=1 /tmp/wino.bin N C H W OC [PAD=1] [REPS=5] [CHECK=0]    e.g. /tmp/wino.bin 4 32 128 128 32 1 3 1
 * Prints the best and mean CPU ms of REPS calls and GFLOP/s in direct-convolution FLOPs (2·n·oc·oh·ow·c·9). */
#include ISA_FILE
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
static double cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static float frand(unsigned *s) { *s ^= *s << 13; *s ^= *s >> 17; *s ^= *s << 5; return (*s % 20001) / 10000.0f - 1.0f; }
static void ref(const float *x, const float *w, const float *bias, double *out, long n, long c, long h, long wd, long oc, long oh, long ow, long pt, long pl) {
  for (long b = 0; b < n; b++) for (long o = 0; o < oc; o++) for (long y = 0; y < oh; y++) for (long xx = 0; xx < ow; xx++) {
    double s = bias ? bias[o] : 0;
    for (long ci = 0; ci < c; ci++) for (int i = 0; i < 3; i++) for (int k = 0; k < 3; k++) {
      long iy = y + i - pt, ix = xx + k - pl;
      if (iy >= 0 && iy < h && ix >= 0 && ix < wd) s += (double)x[((b * c + ci) * h + iy) * wd + ix] * w[((o * c + ci) * 3 + i) * 3 + k];
    }
    out[((b * oc + o) * oh + y) * ow + xx] = s;
  }
}
int main(int argc, char **argv) {
  long n = atol(argv[1]), c = atol(argv[2]), h = atol(argv[3]), wd = atol(argv[4]), oc = atol(argv[5]);
  long pad = argc > 6 ? atol(argv[6]) : 1; int reps = argc > 7 ? atoi(argv[7]) : 5; int check = argc > 8 ? atoi(argv[8]) : 0;
  long oh = h + 2 * pad - 2, ow = wd + 2 * pad - 2;
  tt_set_num_threads(getenv("NT") ? atoi(getenv("NT")) : 1);
  unsigned s = 12345;
  float *x = malloc(4 * n * c * h * wd), *w = malloc(4 * oc * c * 9), *bias = malloc(4 * oc), *out = malloc(4 * n * oc * oh * ow);
  for (long i = 0; i < n * c * h * wd; i++) x[i] = frand(&s);
  for (long i = 0; i < oc * c * 9; i++) w[i] = frand(&s) * 0.3f;
  for (long i = 0; i < oc; i++) bias[i] = frand(&s);
  for (long i = 0; i < n * oc * oh * ow; i++) out[i] = NAN;
  wino_conv(x, w, bias, 0, out, n, c, h, wd, oc, oh, ow, pad, pad, 0);
  if (check) {
    double *r = malloc(8 * n * oc * oh * ow), maxe = 0, maxr = 0;
    ref(x, w, bias, r, n, c, h, wd, oc, oh, ow, pad, pad);
    for (long i = 0; i < n * oc * oh * ow; i++) { double e = fabs(out[i] - r[i]); if (!(e <= maxe)) maxe = e; if (fabs(r[i]) > maxr) maxr = fabs(r[i]); }
    printf("check max err %.3g (max |ref| %.3g)\n", maxe, maxr);
  }
  double best = 1e30, tot = 0;
  for (int i = 0; i < reps; i++) { double t0 = cpu_ms(); wino_conv(x, w, bias, 0, out, n, c, h, wd, oc, oh, ow, pad, pad, 0); double t = cpu_ms() - t0; tot += t; if (t < best) best = t; }
  double fl = 2.0 * n * oc * oh * ow * c * 9;
  printf("%ld x %ld@%ldx%ld -> %ld: best %.2f ms (%.1f GFLOP/s), mean %.2f ms (%.1f)\n", n, c, h, wd, oc, best, fl / best / 1e6, tot / reps, fl / (tot / reps) / 1e6);
  return 0;
}

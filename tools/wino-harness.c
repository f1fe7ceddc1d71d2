/* Winograd 2-D forward on its own: CPU time of wino_conv for one geometry, with the weight transform per call and
 * with the weights transformed once (the packed inference path), and (optionally) its error against a float64
 * direct convolution on NaN-poisoned outputs. Not part of the build; for A/B runs of kernel changes:
 *   gcc -O3 -std=gnu11 -ffp-contract=fast -fno-math-errno -mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma \
 *     -Inative/src -DISA_FILE='"isa_avx512.c"' tools/wino-harness.c native/src/pool.c -o /tmp/wino.bin -lm -lpthread
 *   NT=1 /tmp/wino.bin N C H W OC [DIL=1] [REPS=5] [CHECK=0]    e.g. /tmp/wino.bin 1 256 32 32 256 2 5 1
 * Padding is the dilation ('same' output). Prints the best CPU ms of REPS calls each way and GFLOP/s in
 * direct-convolution FLOPs (2·n·oc·oh·ow·c·9). */
#include ISA_FILE
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
static double cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static float frand(unsigned *s) { *s ^= *s << 13; *s ^= *s >> 17; *s ^= *s << 5; return (*s % 20001) / 10000.0f - 1.0f; }
static void ref(const float *x, const float *w, const float *bias, double *out, long n, long c, long h, long wd, long oc, long d) {
  for (long b = 0; b < n; b++) for (long o = 0; o < oc; o++) for (long y = 0; y < h; y++) for (long xx = 0; xx < wd; xx++) {
    double s = bias ? bias[o] : 0;
    for (long ci = 0; ci < c; ci++) for (int i = 0; i < 3; i++) for (int k = 0; k < 3; k++) {
      long iy = y + d * (i - 1), ix = xx + d * (k - 1);
      if (iy >= 0 && iy < h && ix >= 0 && ix < wd) s += (double)x[((b * c + ci) * h + iy) * wd + ix] * w[((o * c + ci) * 3 + i) * 3 + k];
    }
    out[((b * oc + o) * h + y) * wd + xx] = s;
  }
}
int main(int argc, char **argv) {
  long n = atol(argv[1]), c = atol(argv[2]), h = atol(argv[3]), wd = atol(argv[4]), oc = atol(argv[5]);
  long d = argc > 6 ? atol(argv[6]) : 1; int reps = argc > 7 ? atoi(argv[7]) : 5; int check = argc > 8 ? atoi(argv[8]) : 0;
  tt_set_num_threads(getenv("NT") ? atoi(getenv("NT")) : 1);
  unsigned s = 12345;
  float *x = malloc(4 * n * c * h * wd), *w = malloc(4 * oc * c * 9), *bias = malloc(4 * oc), *out = malloc(4 * n * oc * h * wd);
  float *u = malloc(4 * wino_packed_floats(oc, c));
  for (long i = 0; i < n * c * h * wd; i++) x[i] = frand(&s);
  for (long i = 0; i < oc * c * 9; i++) w[i] = frand(&s) * 0.3f;
  for (long i = 0; i < oc; i++) bias[i] = frand(&s);
  wino_weights_panels(w, u, oc, c);
  for (int pass = 0; pass < 2 && check; pass++) {
    for (long i = 0; i < n * oc * h * wd; i++) out[i] = NAN;
    wino_conv(x, w, pass ? u : 0, bias, 0, out, n, c, h, wd, oc, h, wd, d, d, d, d, 0);
    double *r = malloc(8 * n * oc * h * wd), maxe = 0, maxr = 0;
    ref(x, w, bias, r, n, c, h, wd, oc, d);
    for (long i = 0; i < n * oc * h * wd; i++) { double e = fabs(out[i] - r[i]); if (!(e <= maxe)) maxe = e; if (fabs(r[i]) > maxr) maxr = fabs(r[i]); }
    printf("check (%s) max err %.3g (max |ref| %.3g)\n", pass ? "packed" : "per call", maxe, maxr);
    free(r);
  }
  /* the planner's own forward (op_conv2d, whatever it picks) for comparison */
  int32_t gi[CG_LEN] = { [CG_N] = n, [CG_C] = c, [CG_H] = h, [CG_W] = wd, [CG_OC] = oc, [CG_KH] = 3, [CG_KW] = 3,
                         [CG_OH] = h, [CG_OW] = wd, [CG_SH] = 1, [CG_SW] = 1, [CG_PH] = d, [CG_PW] = d, [CG_DH] = d,
                         [CG_DW] = d, [CG_GROUPS] = 1 };
  double best[3] = { 1e30, 1e30, 1e30 };
  for (int i = 0; i < reps; i++)
    for (int pass = 0; pass < 3; pass++) {
      double t0 = cpu_ms();
      if (pass == 2) op_conv2d(x, w, bias, 0, out, gi, 0);
      else wino_conv(x, w, pass ? u : 0, bias, 0, out, n, c, h, wd, oc, h, wd, d, d, d, d, 0);
      double t = cpu_ms() - t0;
      if (t < best[pass]) best[pass] = t;
    }
  double fl = 2.0 * n * oc * h * wd * c * 9;
  cgeom g = parse_cg(gi);
  printf("%ld x %ld@%ldx%ld d%ld -> %ld: per call %.2f ms (%.0f GFLOP/s), packed %.2f ms (%.0f), planner (%d) %.2f ms (%.0f)\n",
         n, c, h, wd, d, oc, best[0], fl / best[0] / 1e6, best[1], fl / best[1] / 1e6, conv_plan(&g, TT_CONV_FWD), best[2],
         fl / best[2] / 1e6);
  return 0;
}

/* Convolution weight gradient on its own: CPU time of one algorithm (or the planner's choice) for one geometry, and
 * optionally its error against a float64 direct sum into a NaN-poisoned gw. Not part of the build; for A/B runs of
 * kernel changes without rebuilding the addon:
 *   gcc -O3 -std=gnu11 -ffp-contract=fast -fno-math-errno -mavx512f -mavx2 -mfma -Inative/src \
 *     -DISA_FILE='"isa_avx512.c"' tools/wgrad-harness.c native/src/pool.c -o /tmp/wgrad.bin -lm -lpthread
 *   NT=1 /tmp/wgrad.bin N C H OC K [STRIDE=1] [PAD=K/2] [REPS=5] [CHECK=0] [ALGO=p]
 * ALGO: p planner, w Winograd, g weight GEMM, d dot product, b batched, i im2col. Prints the plan, the best and mean
 * CPU ms of REPS calls and GFLOP/s in direct-convolution FLOPs (2·n·oc·oh·ow·c·k²). */
#include ISA_FILE
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
static double cpu_ms(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static float frand(unsigned *s) { *s ^= *s << 13; *s ^= *s >> 17; *s ^= *s << 5; return (*s % 20001) / 10000.0f - 1.0f; }
static void run(const float *x, const float *gy, float *gw, const cgeom *g, const int32_t *gi, char algo) {
  switch (algo) {
    case 'w': wino_conv_bwd_weight(x, gy, gw, g->n, g->c, g->h, g->w, g->oc, g->oh, g->ow, g->pH, g->pW); return;
    case 'g': conv_bwd_weight_gemm(x, gy, gw, g); return;
    case 'd': conv_bwd_weight_dot(x, gy, gw, g); return;
    case 'b': conv_bwd_weight_batched(x, gy, gw, g); return;
    case 'i': conv_bwd_weight_im2col(x, gy, gw, g); return;
    default: op_conv2d_bwd_weight(x, gy, gw, gi);
  }
}
int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: N C H OC K [STRIDE] [PAD] [REPS] [CHECK] [ALGO]\n"); return 2; }
  long n = atol(argv[1]), c = atol(argv[2]), h = atol(argv[3]), oc = atol(argv[4]), k = atol(argv[5]);
  long s = argc > 6 ? atol(argv[6]) : 1, pad = argc > 7 ? atol(argv[7]) : k / 2;
  int reps = argc > 8 ? atoi(argv[8]) : 5, check = argc > 9 ? atoi(argv[9]) : 0;
  char algo = argc > 10 ? argv[10][0] : 'p';
  long oh = (h + 2 * pad - k) / s + 1, ow = oh;
  int32_t gi[CG_LEN] = { 0 };
  gi[CG_N] = n; gi[CG_C] = c; gi[CG_H] = h; gi[CG_W] = h; gi[CG_OC] = oc; gi[CG_KH] = k; gi[CG_KW] = k; gi[CG_OH] = oh;
  gi[CG_OW] = ow; gi[CG_SH] = s; gi[CG_SW] = s; gi[CG_PH] = pad; gi[CG_PW] = pad; gi[CG_DH] = 1; gi[CG_DW] = 1; gi[CG_GROUPS] = 1;
  cgeom g = parse_cg(gi);
  tt_set_num_threads(getenv("NT") ? atoi(getenv("NT")) : 1);
  unsigned sd = 12345;
  long nx = n * c * h * h, ny = n * oc * oh * ow, nw = oc * c * k * k;
  float *x = malloc(4 * nx), *gy = malloc(4 * ny), *gw = malloc(4 * nw);
  for (long i = 0; i < nx; i++) x[i] = frand(&sd);
  for (long i = 0; i < ny; i++) gy[i] = frand(&sd);
  for (long i = 0; i < nw; i++) gw[i] = NAN;
  printf("plan %d algo %c: ", conv_plan(&g, TT_CONV_BWD_WEIGHT), algo);
  run(x, gy, gw, &g, gi, algo);
  if (check) {
    double maxe = 0, maxr = 0;
    for (long o = 0; o < oc; o++) for (long ci = 0; ci < c; ci++) for (long i = 0; i < k; i++) for (long j = 0; j < k; j++) {
      double acc = 0;
      for (long b = 0; b < n; b++) for (long y = 0; y < oh; y++) for (long xx = 0; xx < ow; xx++) {
        long iy = y * s - pad + i, ix = xx * s - pad + j;
        if (iy >= 0 && iy < h && ix >= 0 && ix < h)
          acc += (double)gy[((b * oc + o) * oh + y) * ow + xx] * x[((b * c + ci) * h + iy) * h + ix];
      }
      double e = fabs(gw[((o * c + ci) * k + i) * k + j] - acc);
      if (!(e <= maxe)) maxe = e;
      if (fabs(acc) > maxr) maxr = fabs(acc);
    }
    printf("max err %.3g (max |ref| %.3g) ", maxe, maxr);
  }
  double best = 1e30, tot = 0;
  for (int i = 0; i < reps; i++) { double t0 = cpu_ms(); run(x, gy, gw, &g, gi, algo); double t = cpu_ms() - t0; tot += t; if (t < best) best = t; }
  double fl = 2.0 * n * oc * oh * ow * c * k * k;
  printf("%ld x %ld@%ld -> %ld k%ld/%ld: best %.3f ms (%.1f GFLOP/s), mean %.3f ms\n", n, c, h, oc, k, s, best, fl / best / 1e6, tot / reps);
  return 0;
}

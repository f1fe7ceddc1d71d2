/* A MobileNet inverted-residual block (or one of its layers, or the stem) on its own, channels-last with weights
 * packed once, as the inference program runs it: for A/B runs of kernel changes, where a whole-model timing on a
 * shared 2-core VM moves by more than the change (bench/README.md). Not part of the build:
 *   gcc -O3 -std=gnu11 -ffp-contract=fast -fno-math-errno -Wno-psabi -mavx2 -mfma -Inative/src \
 *     -DISA_FILE='"isa_avx2.c"' tools/block-harness.c native/src/pool.c -o /tmp/block.bin -lm -lpthread
 *   (AVX-512: add -mavx512f -mavx512dq -mavx512bw -mavx512vl and isa_avx512.c; portable: isa_generic8.c, no -m)
 *   /tmp/block.bin N CIN HID COUT H K S [SQ=0] [ACT=2] [T=1] [REPS=20] [MODE=block]
 * A block: 1×1 expansion CIN→HID (ACT), K×K depthwise stride S "same" padding (ACT), with SQ > 0 a
 * squeeze-excitation gate (SQ channels, ReLU, hardsigmoid), 1×1 projection HID→COUT (+ the input when CIN = COUT
 * and S = 1), on N images of H×H. ACT: 0 none, 1 ReLU, 2 ReLU6, 3 hardswish. MODE: block (the fused block),
 * expand / dw / project (that layer alone, op_conv2d_nhwc), stem (MobileNet's 3→16 3×3 stride-2 stem from an NCHW
 * N×3×H×H image, hardswish; CIN… are ignored), stemblock (the stem with V3's first block 16→16, no expansion,
 * fused as the program runs it). Prints the best wall ms of REPS calls on T threads, GFLOP/s (the layers' direct
 * FLOPs), and for the block, stem and stemblock modes the largest error against a float64 evaluation, relative to
 * the largest output (the layer modes only time: their operands are random maps, the residual of project too). */
#include ISA_FILE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static float frand(unsigned *s) {
  *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
  return (float)(*s % 20001) / 10000.0f - 1.0f;
}
static float *rnd(long k, unsigned *s, float sc) {
  float *p = aligned_alloc(64, sizeof(float) * ((k + 15) / 16 * 16));
  for (long i = 0; i < k; i++) p[i] = frand(s) * sc;
  return p;
}
/* geometry of a K×K convolution, "same" padding K/2 */
static void geo(int32_t *g, long n, long c, long h, long oc, long k, long s, long groups) {
  long p = k / 2, oh = (h + 2 * p - k) / s + 1;
  int32_t v[CG_LEN] = { [CG_N] = n,  [CG_C] = c,   [CG_H] = h,   [CG_W] = h,   [CG_OC] = oc, [CG_KH] = k,
                        [CG_KW] = k, [CG_OH] = oh, [CG_OW] = oh, [CG_SH] = s,  [CG_SW] = s,  [CG_PH] = p,
                        [CG_PW] = p, [CG_DH] = 1,  [CG_DW] = 1,  [CG_GROUPS] = groups };
  memcpy(g, v, sizeof v);
}
static float *packed(const float *w, const int32_t *g) {
  float *p = aligned_alloc(64, sizeof(float) * (op_conv2d_nhwc_packed_size(g) + 16));
  op_conv2d_nhwc_pack(w, p, g);
  return p;
}
static double act_d(double v, int act) {
  switch (act) {
  case 1: return v < 0 ? 0 : v;
  case 2: return v < 0 ? 0 : v > 6 ? 6 : v;
  case 3: return v <= -3 ? 0 : v >= 3 ? v : v * (v + 3) / 6;
  default: return v;
  }
}

/* The block in float64, NHWC: x [n,h,h,cin] (or, with e_in given, the block's unexpanded input e_in [n,h,h,hid])
 * → out [n,oh,oh,cout]. */
static void ref_block(const float *x, const double *e_in, long n, long cin, long hid, long cout, long h, long k, long s,
                      long sq, int act, const float *we, const float *eb, const float *wd, const float *db,
                      const float *w1, const float *b1, const float *w2, const float *b2, const float *wp,
                      const float *pb, int res, double *out) {
  long oh = (h + 2 * (k / 2) - k) / s + 1, p = k / 2;
  double *e = malloc(sizeof(double) * n * h * h * hid), *d = malloc(sizeof(double) * n * oh * oh * hid);
  for (long i = 0; i < n * h * h; i++)
    for (long o = 0; o < hid; o++) {
      if (e_in) {
        e[i * hid + o] = e_in[i * hid + o];
        continue;
      }
      double t = eb[o];
      for (long c = 0; c < cin; c++) t += (double)x[i * cin + c] * we[o * cin + c];
      e[i * hid + o] = act_d(t, act);
    }
  for (long b = 0; b < n; b++)
    for (long y = 0; y < oh; y++)
      for (long xx = 0; xx < oh; xx++)
        for (long c = 0; c < hid; c++) {
          double t = db[c];
          for (long ky = 0; ky < k; ky++)
            for (long kx = 0; kx < k; kx++) {
              long iy = y * s - p + ky, ix = xx * s - p + kx;
              if (iy >= 0 && iy < h && ix >= 0 && ix < h)
                t += e[((b * h + iy) * h + ix) * hid + c] * wd[c * k * k + ky * k + kx];
            }
          d[((b * oh + y) * oh + xx) * hid + c] = act_d(t, act);
        }
  if (sq)
    for (long b = 0; b < n; b++) {
      double *m = calloc(hid, sizeof(double)), *z = malloc(sizeof(double) * sq);
      for (long i = 0; i < oh * oh; i++)
        for (long c = 0; c < hid; c++) m[c] += d[(b * oh * oh + i) * hid + c] / (double)(oh * oh);
      for (long q = 0; q < sq; q++) {
        double t = b1[q];
        for (long c = 0; c < hid; c++) t += m[c] * w1[q * hid + c];
        z[q] = t < 0 ? 0 : t;
      }
      for (long c = 0; c < hid; c++) {
        double t = b2[c];
        for (long q = 0; q < sq; q++) t += z[q] * w2[c * sq + q];
        double gte = t <= -3 ? 0 : t >= 3 ? 1 : t / 6 + 0.5;
        for (long i = 0; i < oh * oh; i++) d[(b * oh * oh + i) * hid + c] *= gte;
      }
      free(m), free(z);
    }
  for (long i = 0; i < n * oh * oh; i++)
    for (long o = 0; o < cout; o++) {
      double t = pb[o];
      for (long c = 0; c < hid; c++) t += d[i * hid + c] * wp[o * hid + c];
      out[i * cout + o] = t + (res ? (e_in ? e_in[i * cout + o] : x[i * cin + o]) : 0);
    }
  free(e), free(d);
}

/* The stem in float64: NCHW image x [n,3,h,h] → [n,oh,oh,16] NHWC, 3×3 stride 2, hardswish. */
static void ref_stem(const float *x, long n, long h, const float *w, const float *bias, double *out) {
  long oh = (h - 1) / 2 + 1;
  for (long b = 0; b < n; b++)
    for (long y = 0; y < oh; y++)
      for (long xx = 0; xx < oh; xx++)
        for (long o = 0; o < 16; o++) {
          double t = bias[o];
          for (long c = 0; c < 3; c++)
            for (long ky = 0; ky < 3; ky++)
              for (long kx = 0; kx < 3; kx++) {
                long iy = 2 * y - 1 + ky, ix = 2 * xx - 1 + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < h)
                  t += (double)x[((b * 3 + c) * h + iy) * h + ix] * w[((o * 3 + c) * 3 + ky) * 3 + kx];
              }
          out[((b * oh + y) * oh + xx) * 16 + o] = act_d(t, 3);
        }
}

static double rel_err(const float *got, const double *want, long count) {
  double e = 0, m = 0;
  for (long i = 0; i < count; i++) {
    double d = fabs(got[i] - want[i]);
    if (!(d <= e)) e = d; /* NaN counts as the largest */
    if (fabs(want[i]) > m) m = fabs(want[i]);
  }
  return e / (m > 0 ? m : 1);
}

int main(int argc, char **argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: %s N CIN HID COUT H K S [SQ=0] [ACT=2] [T=1] [REPS=20] [MODE=block]\n", argv[0]);
    return 2;
  }
  long n = atol(argv[1]), cin = atol(argv[2]), hid = atol(argv[3]), cout = atol(argv[4]), h = atol(argv[5]),
       k = atol(argv[6]), s = atol(argv[7]), sq = argc > 8 ? atol(argv[8]) : 0;
  int act = argc > 9 ? atoi(argv[9]) : 2, T = argc > 10 ? atoi(argv[10]) : 1, reps = argc > 11 ? atoi(argv[11]) : 20;
  const char *mode = argc > 12 ? argv[12] : "block";
  int stem = !strncmp(mode, "stem", 4), stemblock = !strcmp(mode, "stemblock");
  if (stem) cin = 3, hid = cout = 16, k = 3, s = stemblock ? 1 : 2;
  tt_set_num_threads(T);
  unsigned seed = 7;
  int32_t ge[CG_LEN], gd[CG_LEN], gp[CG_LEN], gs[CG_LEN];
  long hb = stem ? (h - 1) / 2 + 1 : h; /* the block's input size (after the stem) */
  geo(gs, n, 3, h, 16, 3, 2, 1);
  geo(ge, n, cin, hb, hid, 1, 1, 1);
  geo(gd, n, hid, hb, hid, k, s, hid);
  long oh = gd[CG_OH];
  geo(gp, n, hid, oh, cout, 1, 1, 1);
  int res = stemblock || (cin == cout && s == 1); /* V3's first block adds the stem's output */
  float *x = rnd(stem ? n * 3 * h * h : n * hb * hb * cin, &seed, 1), *e = rnd(n * hb * hb * hid, &seed, 1);
  float *d = rnd(n * oh * oh * hid, &seed, 1), *out = rnd(n * oh * oh * cout, &seed, 1);
  float *we = rnd(hid * cin, &seed, 1.5f / sqrtf((float)cin)), *wd = rnd(hid * k * k, &seed, 1.5f / (float)k);
  float *wp = rnd(cout * hid, &seed, 1.5f / sqrtf((float)hid)), *ws = rnd(16 * 27, &seed, 0.3f);
  float *eb = rnd(hid, &seed, 0.1f), *db = rnd(hid, &seed, 0.1f), *pb = rnd(cout, &seed, 0.1f);
  float *sb = rnd(16, &seed, 0.1f);
  float *w1 = sq ? rnd(sq * hid, &seed, 0.3f) : 0, *b1 = sq ? rnd(sq, &seed, 0.1f) : 0;
  float *w2 = sq ? rnd(hid * sq, &seed, 0.3f) : 0, *b2 = sq ? rnd(hid, &seed, 0.1f) : 0;
  float *pe = packed(we, ge), *pd = packed(wd, gd), *pp = packed(wp, gp), *ps = packed(ws, gs);
  double best = 1e30, fl;
  for (int r = 0; r < reps; r++) {
    double t = now_ms();
    if (!strcmp(mode, "block"))
      op_conv2d_nhwc_block(x, pe, eb, 0, pd, db, 0, w1, b1, w2, b2, pp, pb, 0, out, gd, (int)cin, (int)cout, (int)sq,
                           act, act, 1, 0, res);
    else if (!strcmp(mode, "expand")) op_conv2d_nhwc(x, pe, eb, 0, 0, e, ge, act);
    else if (!strcmp(mode, "dw")) op_conv2d_nhwc(e, pd, db, 0, 0, d, gd, act);
    else if (!strcmp(mode, "project")) op_conv2d_nhwc(d, pp, pb, 0, res ? e : 0, out, gp, 0);
    else if (!strcmp(mode, "stem")) op_conv2d_nchw_to_nhwc(x, ps, sb, 0, e, gs, 3);
    else if (stemblock) nhwc_stem_block(x, ps, sb, 0, gs, 3, pd, db, 0, pp, pb, 0, out, gd, 16, act, 0, res);
    else {
      fprintf(stderr, "unknown mode %s\n", mode);
      return 2;
    }
    t = now_ms() - t;
    if (t < best) best = t;
  }
  double px = (double)n * hb * hb, opx = (double)n * oh * oh, stem_fl = 2.0 * n * hb * hb * 16 * 27;
  if (!strcmp(mode, "expand")) fl = 2 * px * cin * hid;
  else if (!strcmp(mode, "dw")) fl = 2 * opx * hid * k * k;
  else if (!strcmp(mode, "project")) fl = 2 * opx * hid * cout;
  else if (!strcmp(mode, "stem")) fl = stem_fl;
  else fl = 2 * ((stemblock ? 0 : px * cin * hid) + opx * hid * k * k + opx * hid * cout) + (stemblock ? stem_fl : 0);
  printf("%s %.3f ms %.1f GFLOP/s", mode, best, fl / best / 1e6);
  if (!strcmp(mode, "block") || stemblock) {
    double *want = malloc(sizeof(double) * n * oh * oh * cout), *se = 0;
    if (stemblock) {
      se = malloc(sizeof(double) * n * hb * hb * 16);
      ref_stem(x, n, h, ws, sb, se);
    }
    ref_block(x, se, n, cin, hid, cout, hb, k, s, sq, act, we, eb, wd, db, w1, b1, w2, b2, wp, pb, res, want);
    printf("  max error / max |out| %.2g", rel_err(out, want, n * oh * oh * cout));
    free(want), free(se);
  }
  if (!strcmp(mode, "stem")) {
    double *want = malloc(sizeof(double) * n * hb * hb * 16);
    ref_stem(x, n, h, ws, sb, want);
    printf("  max error / max |out| %.2g", rel_err(e, want, n * hb * hb * 16));
    free(want);
  }
  printf("\n");
  return 0;
}

/* ------------------------------------------------------------------------------------------------------------
 * A channels-last program in one call: a MobileNet's or a ResNet's features — the stem from the NCHW image, a max
 * pooling, inverted-residual blocks, residual blocks' convolutions, closing 1×1s — and the global average pool of
 * the last map, the same kernels in the same order as one call each (conv2d_nchw_to_nhwc, max_pool2d_nhwc,
 * conv2d_nhwc_block, conv2d_nhwc, reduce_sum), with the maps between them in shared slot buffers. One call per layer
 * cost what the calls cost in JavaScript: each checked its operands, made its geometry, allocated its output and
 * crossed Node-API with up to 24 arguments, ~0.25 ms of a 3.6 ms MobileNetV2 forward at batch 1 on two threads (the
 * pool's worker idle all that time: perf put 3.3 % of both threads' samples in V8, 7.8 % in the worker's wait), and
 * 0.3 of ResNet-18's 11.7 ms (23 calls). The caller checks the program once when it is built (src/backend/accel.ts);
 * every call still checks each step against the operands it is given (lengths, which map each slot holds), so a
 * mismatch is an error code and never a read past an array.
 *
 * `code` holds one record of NP_REC int32 a step, the stem first: the step's kind, the index in `arrays` of its first
 * operand, the block's channels and activations, the slots it reads and writes, and the packed conv geometry (the
 * depthwise layer's for a block, the pooling's for NP_MAXPOOL). A stem or convolution has three operands (packed
 * weights, bias, scale: NP_STEM_ARRAYS), a block thirteen (the expansion's packed weights, bias and scale, the
 * depthwise layer's, the gate's fc1, its bias, fc2, its bias, the projection's: NP_BLOCK_ARRAYS), absent ones null;
 * a max pooling none. A convolution may add a residual from a slot (NP_RES) before its activation, in place when
 * that slot is its destination: a ResNet block is its convolutions as records, the last adding the shortcut.
 *
 * Steps after the convolutions may be a classifier's Linear layers (NP_LINEAR: weight [out, in] as Linear holds it,
 * bias or null; NP_CIN and NP_COUT its features, NP_ACTD the activation module after it): the first of them reads
 * the pooled map, and `out` is then the last one's output [n, out]. They compute what the modules do — the same
 * GEMM (op_gemm), the bias added in float, Hardswish as the module's formula in double — so a program with its head
 * gives the bits of the program without it followed by the modules. At batch 1 the head's calls from JavaScript
 * (a Linear, an activation, a Linear, each allocating its output) cost 60–100 µs of a 3 ms MobileNetV3-Large
 * forward, the cold modules' objects read once a forward.
 * ---------------------------------------------------------------------------------------------------------- */
enum { NP_STEM, NP_BLOCK, NP_CONV, NP_LINEAR, NP_MAXPOOL };
/* A record: kind, first operand, a block's input and output channels and gate width, the activations (a stem's or
 * convolution's own in NP_ACTD), whether a block adds its input, the slots it reads, writes and adds (NP_RES: a
 * convolution's residual, -1 for none), then the geometry (a max pooling's pgeom, PG_LEN of the CG_LEN). */
enum { NP_KIND, NP_FIRST, NP_CIN, NP_COUT, NP_SQ, NP_ACTE, NP_ACTD, NP_ACT1, NP_ACTP, NP_RESIDUAL, NP_SRC, NP_DST,
       NP_RES, NP_GEOM };
enum { NP_REC = NP_GEOM + CG_LEN, NP_STEM_ARRAYS = 3, NP_BLOCK_ARRAYS = 13, NP_LINEAR_ARRAYS = 2 };
/* Maps live in NP_SLOTS buffers, each as large as the largest map a step writes into it: a MobileNet alternates
 * two, a ResNet block keeps its input (or its downsample's output) in one while its convolutions run through two
 * others, the last adding that shortcut in place. */
enum { NP_SLOTS = 4 };
/* A head layer's activation (NP_ACTD of an NP_LINEAR step): none, or the Hardswish module after the Linear. */
enum { NP_HEAD_NONE, NP_HEAD_HARDSWISH };

/* Operand i of the list when it holds at least `need` floats (a required operand: need > 0), or may be absent and
 * is (need ≤ 0 and null), or is present with at least -need floats (need < 0: an optional one); else *bad is set. */
static const float *np_operand(const tt_f32list *l, long i, long need, int *bad) {
  if (i < 0 || i >= l->count) {
    *bad = 1;
    return 0;
  }
  const float *p = l->p[i];
  if (need <= 0 && !p) return 0;
  if (!p || l->len[i] < (need < 0 ? -need : need)) *bad = 1;
  return p;
}

/* The 1×1 geometry c → oc on n×h×w maps (a block's expansion or projection), packed. */
static void np_pointwise_geom(int32_t *gi, long n, long h, long w, long c, long oc) {
  memset(gi, 0, sizeof(int32_t) * CG_LEN);
  gi[CG_N] = (int32_t)n;
  gi[CG_C] = (int32_t)c;
  gi[CG_H] = gi[CG_OH] = (int32_t)h;
  gi[CG_W] = gi[CG_OW] = (int32_t)w;
  gi[CG_OC] = (int32_t)oc;
  gi[CG_KH] = gi[CG_KW] = gi[CG_SH] = gi[CG_SW] = gi[CG_DH] = gi[CG_DW] = gi[CG_GROUPS] = 1;
}

/* The floats conv2d_nhwc_pack writes for gi (0 for a geometry it does not pack). */
static long np_packed_need(const int32_t *gi) { return op_conv2d_nhwc_packed_size(gi); }

/* Checks step r against its operands and the map it reads (`in`: [n, h, w, c], NCHW [n, c, h, w] for the stem, the
 * pooled [n, 1, 1, c] or the layer before's output for a head layer) and sets `out` to the map it writes; 0, or 1 when
 * they do not match. The slots it names are the caller's to check. */
static int np_check(const int32_t *r, const tt_f32list *l, const long *in, long *out) {
  int bad = 0, kind = r[NP_KIND];
  const float *ops[NP_BLOCK_ARRAYS];
  if (kind == NP_LINEAR) { /* the pooled map [n, 1, 1, c] (or the layer before's output) into [n, 1, 1, out] */
    long cin = r[NP_CIN], cout = r[NP_COUT], act = r[NP_ACTD];
    if (cin != in[3] || cout <= 0 || act < NP_HEAD_NONE || act > NP_HEAD_HARDSWISH) return 1;
    np_operand(l, r[NP_FIRST], cin * cout, &bad);
    np_operand(l, r[NP_FIRST] + 1, -cout, &bad);
    out[0] = in[0];
    out[1] = out[2] = 1;
    out[3] = cout;
    return bad;
  }
  if (kind == NP_MAXPOOL) { /* op_max_pool2d_nhwc clips every window to the map: any output size reads inside it */
    pgeom p = parse_pg(r + NP_GEOM);
    if (p.n != in[0] || p.h != in[1] || p.w != in[2] || p.c != in[3] || p.n < 1 || p.c < 1 || p.oh < 1 ||
        p.ow < 1 || p.kh < 1 || p.kw < 1 || p.sH < 1 || p.sW < 1 || p.dH < 1 || p.dW < 1 || p.pH < 0 || p.pW < 0)
      return 1;
    out[0] = p.n;
    out[1] = p.oh;
    out[2] = p.ow;
    out[3] = p.c;
    return 0;
  }
  const int32_t *gi = r + NP_GEOM;
  cgeom g = parse_cg(gi);
  if (conv_empty(&g) || g.sH < 1 || g.sW < 1 || g.dH < 1 || g.dW < 1 || g.pH < 0 || g.pW < 0 || g.groups < 1 ||
      g.n != in[0] || g.h != in[1] || g.w != in[2])
    return 1;
  long i = r[NP_FIRST];
  out[0] = g.n;
  out[1] = g.oh;
  out[2] = g.ow;
  if (kind == NP_STEM || kind == NP_CONV) {
    int k = nhwc_kind(&g);
    if (g.c != in[3] || k == NHWC_NONE || (kind == NP_STEM && (k == NHWC_DEPTHWISE || g.groups != 1))) return 1;
    long need = np_packed_need(gi);
    if (need <= 0) return 1;
    ops[0] = np_operand(l, i, need, &bad);
    ops[1] = np_operand(l, i + 1, -g.oc, &bad);
    ops[2] = np_operand(l, i + 2, -g.oc, &bad);
    out[3] = g.oc;
    return bad;
  }
  if (kind != NP_BLOCK) return 1;
  long cin = r[NP_CIN], cout = r[NP_COUT], sq = r[NP_SQ], hid = g.c;
  if (nhwc_kind(&g) != NHWC_DEPTHWISE || cin != in[3] || cout <= 0 || sq < 0) return 1;
  int32_t pe[CG_LEN], pp[CG_LEN];
  np_pointwise_geom(pe, g.n, g.h, g.w, cin, hid);
  np_pointwise_geom(pp, g.n, g.oh, g.ow, hid, cout);
  /* the expansion may be absent only when cin = hid */
  ops[0] = np_operand(l, i, cin == hid ? -np_packed_need(pe) : np_packed_need(pe), &bad);
  ops[1] = np_operand(l, i + 1, -hid, &bad);
  ops[2] = np_operand(l, i + 2, -hid, &bad);
  ops[3] = np_operand(l, i + 3, np_packed_need(gi), &bad);
  ops[4] = np_operand(l, i + 4, -hid, &bad);
  ops[5] = np_operand(l, i + 5, -hid, &bad);
  ops[6] = np_operand(l, i + 6, sq ? sq * hid : 0, &bad);
  ops[7] = np_operand(l, i + 7, -sq, &bad);
  ops[8] = np_operand(l, i + 8, sq ? hid * sq : 0, &bad);
  ops[9] = np_operand(l, i + 9, -hid, &bad);
  ops[10] = np_operand(l, i + 10, np_packed_need(pp), &bad);
  ops[11] = np_operand(l, i + 11, -cout, &bad);
  ops[12] = np_operand(l, i + 12, -cout, &bad);
  if (!sq && (ops[6] || ops[8])) bad = 1; /* a gate needs its width */
  if (r[NP_RESIDUAL] && (g.oh != g.h || g.ow != g.w || cout != cin)) bad = 1;
  out[3] = cout;
  return bad;
}

/* Whether s names one of the slots. */
static int np_slot(long s) { return s >= 0 && s < NP_SLOTS; }

/* Whether the program's stem (step 0) runs with its first block in one pass (nhwc_stem_block): a block with no
 * expansion (the stem's channels are its own) and no gate — MobileNetV2's 32→32→16 and V3-Large's 16→16→16 — after
 * a stem on the row kernel (not Winograd, which a 3-channel image never takes). The rest np_check has established
 * for every step: the stem is one dense group, a block's projection is present, no gate weights without a width. */
static int np_stem_feeds(const int32_t *code, const tt_f32list *l, long steps) {
  if (steps < 2) return 0;
  const int32_t *rb = code + NP_REC;
  cgeom sg = parse_cg(code + NP_GEOM);
  return rb[NP_KIND] == NP_BLOCK && !l->p[rb[NP_FIRST]] && rb[NP_SQ] == 0 && !nhwc_winograd(&sg);
}

/* y[i][o] = act(Σ_k v[i][k]·w[o][k] + bias[o]) for n rows of v: a head layer as the Linear and activation modules
 * compute it (ops/matmul.ts linearUntracked: op_gemm, then the bias added in float — JavaScript's double sum of two
 * floats rounds to the same float). */
static void np_linear(const float *v, const float *w, const float *bias, long n, long in, long outf, int act,
                      float *y) {
  op_gemm(0, 1, (int)n, (int)outf, (int)in, v, 0, w, 0, y, n * outf, 1, 0);
  for (long b = 0; b < n; b++) /* row by row: no index modulo outf (an integer division an element) */
    for (long o = 0; o < outf; o++) {
      float *yo = y + b * outf + o, t = bias ? *yo + bias[o] : *yo;
      /* Hardswish as the module (the reference kernel's): x·(x + 3)/6 in double, rounded once */
      if (act == NP_HEAD_HARDSWISH)
        t = t <= -3.0f ? 0.0f : t >= 3.0f ? t : (float)((double)t * ((double)t + 3.0) / 6.0);
      *yo = t;
    }
}

#ifdef TT_PROGRAM_PROFILE
/* A developer's timer, in no shipped build: `CFLAGS=-DTT_PROGRAM_PROFILE npm run build:native` makes each program
 * call add up the wall time of its steps (a stem run with the first block it feeds counts as that block's step;
 * the pooling and the head as the last step), and the process print at exit each step's mean over the calls after
 * the first (which grows and faults in the scratch), and its minimum: on a shared machine a few calls that the
 * host paused lift a mean well above a median (the forty-first session read 1.63× from two threads on means where
 * the medians said 1.86×), and the minima are what a change moves. It is how ONNX Runtime's node times
 * (tools/layer-profile.ts, which times Tatami call by call) are set against the program as the benchmark runs it.
 * Steps are summed by index, so a process should run one program (one model at one batch). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
enum { NP_PROFILE_STEPS = 256 };
static double np_prof_ms[NP_PROFILE_STEPS], np_prof_min[NP_PROFILE_STEPS];
static int32_t np_prof_rec[NP_PROFILE_STEPS][NP_REC];
static long np_prof_calls, np_prof_steps;
static double np_prof_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}
static void np_prof_print(void) {
  static const char *kinds[] = { "stem", "block", "conv", "linear", "maxpool" };
  long calls = np_prof_calls - 1;
  if (calls < 1) return;
  double total = 0, total_min = 0;
  for (long s = 0; s < np_prof_steps; s++) {
    const int32_t *r = np_prof_rec[s], *gi = r + NP_GEOM;
    double ms = np_prof_ms[s] / (double)calls;
    total += ms;
    if (ms > 0) {
      total_min += np_prof_min[s];
      fprintf(stderr, "step %3ld %-7s %4d→%-4d @%-3d %8.3f ms (min %.3f)\n", s, kinds[r[NP_KIND]],
              r[NP_KIND] == NP_BLOCK || r[NP_KIND] == NP_LINEAR ? r[NP_CIN] : gi[CG_C],
              r[NP_KIND] == NP_BLOCK || r[NP_KIND] == NP_LINEAR ? r[NP_COUT] : gi[CG_OC],
              r[NP_KIND] == NP_LINEAR ? 1 : gi[CG_H], ms, np_prof_min[s]);
    }
  }
  fprintf(stderr, "program: %ld steps, %8.3f ms a call over %ld calls (steps' minima summed: %.3f)\n", np_prof_steps,
          total, calls, total_min);
}
/* Step s took the time since *t0 (the first call's are not counted); *t0 moves on. */
static void np_prof_step(long s, double *t0) {
  double t = np_prof_now();
  if (np_prof_calls > 1 && s < NP_PROFILE_STEPS) {
    np_prof_ms[s] += t - *t0;
    if (np_prof_calls == 2 || t - *t0 < np_prof_min[s]) np_prof_min[s] = t - *t0;
  }
  *t0 = t;
}
static double np_prof_start(const int32_t *code, long steps) {
  if (!np_prof_calls++) atexit(np_prof_print);
  np_prof_steps = MINI(steps, NP_PROFILE_STEPS);
  memcpy(np_prof_rec, code, sizeof(int32_t) * NP_REC * np_prof_steps);
  return np_prof_now();
}
#endif

static int op_nhwc_program(const float *x, const tt_f32list *arrays, const int32_t *code, long steps, float *out) {
  if (steps < 1 || code[NP_KIND] != NP_STEM) return 1;
  /* first every step against its operands and the maps its slots hold (held[s][0] < 0: none yet), and the largest
   * map each slot takes; the head's layers (NP_LINEAR) come last, the first convolution steps the rest */
  const int32_t *r0 = code + NP_GEOM;
  long held[NP_SLOTS][4], most[NP_SLOTS] = { 0 }, feat[4] = { 0 }, head_most = 0, convs = steps, last = -1;
  for (int k = 0; k < NP_SLOTS; k++) held[k][0] = -1;
  for (long s = 0; s < steps; s++) {
    const int32_t *r = code + s * NP_REC;
    int kind = r[NP_KIND], linear = kind == NP_LINEAR;
    if (linear && convs == steps) convs = s;
    if ((s > 0) == (kind == NP_STEM) || linear != (s >= convs)) return (int)(s + 1);
    long src = r[NP_SRC], dst = r[NP_DST], res = r[NP_RES], in[4], map[4];
    if (linear) memcpy(in, feat, sizeof in);
    else if (kind == NP_STEM) {
      in[0] = r0[CG_N], in[1] = r0[CG_H], in[2] = r0[CG_W], in[3] = r0[CG_C];
      if (src != -1) return (int)(s + 1);
    } else if (np_slot(src) && held[src][0] >= 0)
      memcpy(in, held[src], sizeof in);
    else
      return (int)(s + 1);
    /* a residual (a convolution's, -1 for none) is held, and may be the destination (added in place) */
    if (!linear && (!np_slot(dst) || dst == src)) return (int)(s + 1);
    if (res != -1 && (kind != NP_CONV || !np_slot(res) || held[res][0] < 0 || r[NP_GEOM + CG_GROUPS] != 1))
      return (int)(s + 1);
    if (np_check(r, arrays, in, map)) return (int)(s + 1);
    if (res != -1 && (held[res][0] != map[0] || held[res][1] != map[1] || held[res][2] != map[2] ||
                      held[res][3] != map[3]))
      return (int)(s + 1);
    long size = map[0] * map[1] * map[2] * map[3];
    if (linear) {
      memcpy(feat, map, sizeof feat);
      head_most = MAXI(head_most, size);
    } else {
      memcpy(held[dst], map, sizeof map);
      most[dst] = MAXI(most[dst], size);
      last = dst;
      feat[0] = map[0], feat[1] = feat[2] = 1, feat[3] = map[3];
      head_most = MAXI(head_most, map[0] * map[3]);
    }
  }
  float *slot[NP_SLOTS];
  for (int k = 0; k < NP_SLOTS; k++) {
    slot[k] = most[k] ? tt_shared_scratch(SH_PROGRAM_A + k, sizeof(float) * most[k]) : 0;
    if (most[k] && !slot[k]) return (int)(steps + 1);
  }
  /* then the steps, each on its operands as checked (entries NP_FIRST on of the list) and its slots */
  long n = r0[CG_N];
#ifdef TT_PROGRAM_PROFILE
  double prof_t0 = np_prof_start(code, steps);
#endif
  for (long s = 0; s < convs; s++) {
    const int32_t *r = code + s * NP_REC, *gi = r + NP_GEOM;
    const float *const *o = arrays->p + r[NP_FIRST];
    const float *src = r[NP_SRC] >= 0 ? slot[r[NP_SRC]] : 0;
    float *dst = slot[r[NP_DST]];
    if (s == 0 && np_stem_feeds(code, arrays, steps)) { /* the stem and the first block in one pass */
      const int32_t *rb = r + NP_REC;
      const float *const *ob = arrays->p + rb[NP_FIRST];
      nhwc_stem_block(x, o[0], o[1], o[2], gi, r[NP_ACTD], ob[3], ob[4], ob[5], ob[10], ob[11], ob[12],
                      slot[rb[NP_DST]], rb + NP_GEOM, rb[NP_COUT], rb[NP_ACTD], rb[NP_ACTP], rb[NP_RESIDUAL]);
      s++;
    } else
      switch (r[NP_KIND]) {
      case NP_STEM: op_conv2d_nchw_to_nhwc(x, o[0], o[1], o[2], dst, gi, r[NP_ACTD]); break;
      case NP_CONV:
        op_conv2d_nhwc(src, o[0], o[1], o[2], r[NP_RES] >= 0 ? slot[r[NP_RES]] : 0, dst, gi, r[NP_ACTD]);
        break;
      case NP_MAXPOOL: op_max_pool2d_nhwc(src, dst, gi); break;
      default:
        op_conv2d_nhwc_block(src, o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7], o[8], o[9], o[10], o[11], o[12],
                             dst, gi, r[NP_CIN], r[NP_COUT], r[NP_SQ], r[NP_ACTE], r[NP_ACTD], r[NP_ACT1],
                             r[NP_ACTP], r[NP_RESIDUAL]);
      }
#ifdef TT_PROGRAM_PROFILE
    np_prof_step(s, &prof_t0);
#endif
  }
  /* the global average pool of the last map: per image, the sum over pixels divided by their count (as
   * meanOverPixels in JS), into out, or for a head into the head's buffers; then each head layer from one of them
   * into the other, the last into out */
  long pixels = held[last][1] * held[last][2], c = held[last][3];
  float *a = 0, *b = 0;
  if (convs < steps) {
    a = tt_shared_scratch(SH_PROGRAM_HEAD, sizeof(float) * 2 * head_most);
    if (!a) return (int)(steps + 1);
    b = a + head_most;
  }
  float *pooled = convs == steps ? out : b;
  op_reduce_sum(slot[last], pooled, n, pixels, c);
  for (long i = 0; i < n * c; i++) pooled[i] = (float)((double)pooled[i] / (double)pixels);
  for (long s = convs; s < steps; s++) {
    const int32_t *r = code + s * NP_REC;
    const float *const *o = arrays->p + r[NP_FIRST];
    float *y = s == steps - 1 ? out : a;
    np_linear(b, o[0], o[1], n, r[NP_CIN], r[NP_COUT], r[NP_ACTD], y);
    a = b;
    b = y;
  }
#ifdef TT_PROGRAM_PROFILE
  np_prof_step(steps - 1, &prof_t0);
#endif
  return 0;
}

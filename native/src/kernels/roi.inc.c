/* ------------------------------------------------------------------------------------------------------------
 * RoIAlign (Mask R-CNN, He et al., ICCV 2017) as torchvision.ops.roi_align computes it on the CPU: each output bin
 * of a box averages a grid of bilinear samples (samplingRatio per axis, or ceil(box / bins) when ≤ 0); a sample
 * outside [−1, size] contributes 0, one in [−1, 0] is clamped to 0, one at or past size − 1 reads the last row or
 * column; without `aligned` boxes are at least 1×1 (the Caffe2 legacy), with it they shift by −0.5 pixel. Rows of
 * `rois` are (batch index, x1, y1, x2, y2); the batch indices are checked by the caller (accel.gen.ts).
 *
 * The box geometry is computed in float with torchvision's operation order and no fused multiply-adds (the builds
 * compile with -ffp-contract=fast): a sample landing exactly on −1 or on size must fall on the same side as in
 * PyTorch, or a border bin changes by a whole tap. Samples are separable, so each box's taps are computed once per
 * axis (index pair and weights) and the bins combine them as torchvision's pre-calculated w1…w4 = hy·hx … ly·lx.
 * ---------------------------------------------------------------------------------------------------------- */

/* The taps of one axis of one box: sample k = bin·grid + i reads rows lo[k] and hi[k] with weights wl[k], wh[k];
 * lo[k] < 0 marks a sample outside [−1, size], which adds nothing. */
typedef struct { int *lo, *hi; float *wl, *wh; } roi_axis;

/* The geometry of one box along one axis: its start, bin size and samples per bin, as torchvision computes them. */
typedef struct { float start, bin; int grid; } roi_span;

#if defined(__GNUC__) && !defined(__clang__)
#define ROI_EXACT __attribute__((optimize("fp-contract=off")))
#else
#define ROI_EXACT
#endif

static ROI_EXACT roi_span roi_span_of(float a, float b, float scale, int aligned, long bins, int sampling) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  float offset = aligned ? 0.5f : 0.0f;
  float start = a * scale - offset, end = b * scale - offset;
  float len = end - start;
  if (!aligned && len < 1.0f) len = 1.0f;
  roi_span s = { start, len / (float)bins, 0 };
  s.grid = sampling > 0 ? sampling : (int)__builtin_ceilf(len / (float)bins);
  return s;
}

static ROI_EXACT void roi_axis_taps(roi_span s, long bins, long size, roi_axis t) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  for (long p = 0; p < bins; p++) {
    for (int i = 0; i < s.grid; i++) {
      long k = p * s.grid + i;
      float v = s.start + (float)p * s.bin + (float)(i + .5f) * s.bin / (float)s.grid;
      if (v < -1.0f || v > (float)size) { t.lo[k] = -1; t.hi[k] = 0; t.wl[k] = 0; t.wh[k] = 0; continue; }
      if (v <= 0) v = 0;
      int lo = (int)v, hi;
      if (lo >= size - 1) { hi = lo = (int)size - 1; v = (float)lo; }
      else hi = lo + 1;
      float l = v - (float)lo;
      t.lo[k] = lo; t.hi[k] = hi; t.wl[k] = 1.0f - l; t.wh[k] = l;
    }
  }
}

/* Both axes of box r into scratch of thread tid; false when the scratch could not be had. */
static int roi_taps(const int32_t *g, const float *roi, float scale, int aligned, int tid,
                    roi_span *sy, roi_span *sx, roi_axis *ty, roi_axis *tx) {
  rgeom G = parse_rg(g);
  *sx = roi_span_of(roi[1], roi[3], scale, aligned, G.pw, (int)G.sampling);
  *sy = roi_span_of(roi[2], roi[4], scale, aligned, G.ph, (int)G.sampling);
  long ny = sy->grid > 0 ? G.ph * sy->grid : 0, nx = sx->grid > 0 ? G.pw * sx->grid : 0;
  char *m = tt_scratch(tid, SLOT_TMP, (size_t)(ny + nx) * 16 + 64);
  if (!m) return 0;
  ty->lo = (int *)m; ty->hi = ty->lo + ny; ty->wl = (float *)(ty->hi + ny); ty->wh = ty->wl + ny;
  tx->lo = (int *)(ty->wh + ny); tx->hi = tx->lo + nx; tx->wl = (float *)(tx->hi + nx); tx->wh = tx->wl + nx;
  if (ny) roi_axis_taps(*sy, G.ph, G.h, *ty);
  if (nx) roi_axis_taps(*sx, G.pw, G.w, *tx);
  return 1;
}

typedef struct {
  const float *x, *rois, *gy;
  float *out, *gx;
  const int32_t *g;
  float scale;
  int aligned;
} roi_job;

/* One bilinear sample of a bin: four offsets in the plane and torchvision's weights w1…w4 = hy·hx … ly·lx. */
typedef struct { int p1, p2, p3, p4; float w1, w2, w3, w4; } roi_sample;

/* torchvision's pre_calc for one row py of bins (one row at a time bounds the memory): bin px's valid samples, in
 * (iy, ix) order, are list[start[px] .. start[px + 1]); both forwards sum over them. */
static void roi_row_samples(const roi_axis *ty, const roi_axis *tx, long py, long pw, int gh, int gw, int w,
                            roi_sample *list, long *start) {
  long m = 0;
  for (long px = 0; px < pw; px++) {
    start[px] = m;
    for (int iy = 0; iy < gh; iy++) {
      long a = py * gh + iy;
      if (ty->lo[a] < 0) continue;
      for (int ix = 0; ix < gw; ix++) {
        long b = px * gw + ix;
        if (tx->lo[b] < 0) continue;
        roi_sample *sm = &list[m++];
        sm->p1 = ty->lo[a] * w + tx->lo[b]; sm->p2 = ty->lo[a] * w + tx->hi[b];
        sm->p3 = ty->hi[a] * w + tx->lo[b]; sm->p4 = ty->hi[a] * w + tx->hi[b];
        sm->w1 = ty->wl[a] * tx->wl[b]; sm->w2 = ty->wl[a] * tx->wh[b];
        sm->w3 = ty->wh[a] * tx->wl[b]; sm->w4 = ty->wh[a] * tx->wh[b];
      }
    }
  }
  start[pw] = m;
}

/* Forward of one box, all channels: per row of bins, the valid samples of every bin are listed once (torchvision's
 * pre_calc, one row at a time to bound the memory), then each channel sums its bins over them. */
static void roi_fwd_task(void *ctx, long r, int tid) {
  const roi_job *j = ctx;
  rgeom G = parse_rg(j->g);
  const float *roi = j->rois + 5 * r;
  long bins = G.ph * G.pw, hw = G.h * G.w;
  float *out = j->out + r * G.c * bins;
  roi_span sy, sx;
  roi_axis ty, tx;
  int gh = 0, gw = 0;
  roi_sample *list = NULL;
  if (roi_taps(j->g, roi, j->scale, j->aligned, tid, &sy, &sx, &ty, &tx)) {
    gh = sy.grid > 0 ? sy.grid : 0;
    gw = sx.grid > 0 ? sx.grid : 0;
    list = tt_scratch(tid, SLOT_COL, (size_t)G.pw * gh * gw * sizeof(roi_sample) + 64);
  }
  if (!list) {
    for (long i = 0; i < G.c * bins; i++) out[i] = __builtin_nanf(""); /* out of memory: loud, not silently 0 */
    return;
  }
  int cnt = sy.grid * sx.grid;
  float count = (float)(cnt > 1 ? cnt : 1);
  const float *x = j->x + (long)roi[0] * G.c * hw;
  long *start = tt_scratch(tid, SLOT_TILE, (size_t)(G.pw + 1) * sizeof(long));
  if (!start) {
    for (long i = 0; i < G.c * bins; i++) out[i] = __builtin_nanf("");
    return;
  }
  for (long py = 0; py < G.ph; py++) {
    roi_row_samples(&ty, &tx, py, G.pw, gh, gw, (int)G.w, list, start);
    for (long ch = 0; ch < G.c; ch++) {
      const float *plane = x + ch * hw;
      float *o = out + ch * bins + py * G.pw;
      for (long px = 0; px < G.pw; px++) {
        float acc = 0;
        for (long q = start[px]; q < start[px + 1]; q++) {
          const roi_sample *sm = &list[q];
          acc += sm->w1 * plane[sm->p1] + sm->w2 * plane[sm->p2] + sm->w3 * plane[sm->p3] + sm->w4 * plane[sm->p4];
        }
        o[px] = acc / count;
      }
    }
  }
}

/* ---- the channels-last forward: many boxes over a map of many channels (FPN's RoI pooling) ----
 * The per-plane forward above reads every tap as a scalar from a different plane, one channel at a time, so each
 * box walks its region of the map once per channel row by row. When the boxes' samples together outnumber the
 * map's positions, the map is transposed once to [n, h·w, c] and each sample's four taps become four contiguous
 * runs of c floats: every bin sums its samples' w1·v1 + w2·v2 + w3·v3 + w4·v4 (torchvision's order) a vector of
 * channels at a time, then divides by the count and is written to its place in [rois, c, ph, pw]. Same taps, same
 * weights, same order per channel as the per-plane path; only the contraction of the products may round
 * differently. */

/* Transposes plane rows [y0, y1) of image b from [c, h·w] to [h·w, c]. */
typedef struct { const float *x; float *xt; long c, hw, w; } roi_tr_job;
static void roi_transpose_task(void *ctx, long row, int tid) {
  (void)tid;
  const roi_tr_job *j = ctx;
  long b = row / (j->hw / j->w), y = row % (j->hw / j->w);
  const float *src = j->x + b * j->c * j->hw + y * j->w;
  float *dst = j->xt + (b * j->hw + y * j->w) * j->c;
  for (long c0 = 0; c0 < j->c; c0 += 16) {
    long c1 = MINI(c0 + 16, j->c);
    for (long px = 0; px < j->w; px++)
      for (long ch = c0; ch < c1; ch++) dst[px * j->c + ch] = src[ch * j->hw + px];
  }
}

typedef struct {
  const float *xt, *rois;
  float *out;
  const int32_t *g;
  float scale;
  int aligned;
} roi_cl_job;

/* One bin over channels [c0, c0 + 4·TT_VL): four vectors of accumulators, four taps per sample. */
static inline void roi_cl_bin4(const float *xt, long c, long c0, const roi_sample *sm, long ns, float count, float *o,
                               long ostride) {
  vf a0 = vsplat(0), a1 = vsplat(0), a2 = vsplat(0), a3 = vsplat(0);
  for (long q = 0; q < ns; q++) {
    const float *p1 = xt + (long)sm[q].p1 * c + c0, *p2 = xt + (long)sm[q].p2 * c + c0;
    const float *p3 = xt + (long)sm[q].p3 * c + c0, *p4 = xt + (long)sm[q].p4 * c + c0;
    vf w1 = vsplat(sm[q].w1), w2 = vsplat(sm[q].w2), w3 = vsplat(sm[q].w3), w4 = vsplat(sm[q].w4);
    a0 += w1 * vload(p1) + w2 * vload(p2) + w3 * vload(p3) + w4 * vload(p4);
    a1 += w1 * vload(p1 + TT_VL) + w2 * vload(p2 + TT_VL) + w3 * vload(p3 + TT_VL) + w4 * vload(p4 + TT_VL);
    a2 += w1 * vload(p1 + 2 * TT_VL) + w2 * vload(p2 + 2 * TT_VL) + w3 * vload(p3 + 2 * TT_VL) +
          w4 * vload(p4 + 2 * TT_VL);
    a3 += w1 * vload(p1 + 3 * TT_VL) + w2 * vload(p2 + 3 * TT_VL) + w3 * vload(p3 + 3 * TT_VL) +
          w4 * vload(p4 + 3 * TT_VL);
  }
  vf cnt = vsplat(count);
  a0 /= cnt; a1 /= cnt; a2 /= cnt; a3 /= cnt;
  for (int l = 0; l < TT_VL; l++) {
    o[(c0 + l) * ostride] = a0[l];
    o[(c0 + TT_VL + l) * ostride] = a1[l];
    o[(c0 + 2 * TT_VL + l) * ostride] = a2[l];
    o[(c0 + 3 * TT_VL + l) * ostride] = a3[l];
  }
}

static void roi_cl_task(void *ctx, long r, int tid) {
  const roi_cl_job *j = ctx;
  rgeom G = parse_rg(j->g);
  const float *roi = j->rois + 5 * r;
  long bins = G.ph * G.pw, hw = G.h * G.w, c = G.c;
  float *out = j->out + r * c * bins;
  roi_span sy, sx;
  roi_axis ty, tx;
  roi_sample *list = NULL;
  long *start = NULL;
  int gh = 0, gw = 0;
  if (roi_taps(j->g, roi, j->scale, j->aligned, tid, &sy, &sx, &ty, &tx)) {
    gh = sy.grid > 0 ? sy.grid : 0;
    gw = sx.grid > 0 ? sx.grid : 0;
    list = tt_scratch(tid, SLOT_COL, (size_t)G.pw * gh * gw * sizeof(roi_sample) + 64);
    start = tt_scratch(tid, SLOT_TILE, (size_t)(G.pw + 1) * sizeof(long));
  }
  if (!list || !start) {
    for (long i = 0; i < c * bins; i++) out[i] = __builtin_nanf(""); /* out of memory: loud, not silently 0 */
    return;
  }
  int cnt = sy.grid * sx.grid;
  float count = (float)(cnt > 1 ? cnt : 1);
  const float *xt = j->xt + (long)roi[0] * hw * c;
  long c4 = c / (4 * TT_VL) * (4 * TT_VL);
  for (long py = 0; py < G.ph; py++) {
    roi_row_samples(&ty, &tx, py, G.pw, gh, gw, (int)G.w, list, start);
    for (long px = 0; px < G.pw; px++) {
      const roi_sample *sm = list + start[px];
      long ns = start[px + 1] - start[px];
      float *o = out + py * G.pw + px;
      for (long c0 = 0; c0 < c4; c0 += 4 * TT_VL) roi_cl_bin4(xt, c, c0, sm, ns, count, o, bins);
      for (long ch = c4; ch < c; ch++) {
        float acc = 0;
        for (long q = 0; q < ns; q++)
          acc += sm[q].w1 * xt[(long)sm[q].p1 * c + ch] + sm[q].w2 * xt[(long)sm[q].p2 * c + ch] +
                 sm[q].w3 * xt[(long)sm[q].p3 * c + ch] + sm[q].w4 * xt[(long)sm[q].p4 * c + ch];
        o[ch * bins] = acc / count;
      }
    }
  }
}

/* The channels-last path pays one transpose of the map (n·c·h·w moves) to turn each sample's 4·c scalar gathers
 * into 4·c/VL vector loads: worth it when there are at least 4·TT_VL channels and the boxes' taps (4 per sample)
 * outnumber the map's positions. A function of the geometry and the boxes only, never of the thread count, so one
 * and two threads give the same bits. */
static int roi_use_channels_last(const float *rois, const int32_t *g, float scale, int aligned) {
  rgeom G = parse_rg(g);
  if (G.c < 4 * TT_VL || G.rois == 0) return 0;
  double taps = 0;
  for (long r = 0; r < G.rois; r++) {
    const float *roi = rois + 5 * r;
    roi_span sx = roi_span_of(roi[1], roi[3], scale, aligned, G.pw, (int)G.sampling);
    roi_span sy = roi_span_of(roi[2], roi[4], scale, aligned, G.ph, (int)G.sampling);
    if (sx.grid > 0 && sy.grid > 0) taps += 4.0 * (double)(G.ph * sy.grid) * (double)(G.pw * sx.grid);
  }
  return taps >= (double)(G.n * G.h * G.w);
}

static void op_roi_align(const float *x, const float *rois, float *out, const int32_t *g, float spatial_scale,
                         int aligned) {
  rgeom G = parse_rg(g);
  int threads = tt_num_threads() > 1 && G.rois > 1 && G.rois * G.c * G.ph * G.pw > 4096;
  if (G.h * G.w > 0 && roi_use_channels_last(rois, g, spatial_scale, aligned)) {
    long hw = G.h * G.w;
    float *xt = tt_shared_scratch(SH_XPAD, (size_t)(G.n * hw * G.c) * sizeof(float) + 64);
    if (xt) {
      roi_tr_job tj = { .x = x, .xt = xt, .c = G.c, .hw = hw, .w = G.w };
      if (tt_num_threads() > 1 && G.n * G.h > 1) tt_parallel(G.n * G.h, roi_transpose_task, &tj);
      else for (long row = 0; row < G.n * G.h; row++) roi_transpose_task(&tj, row, 0);
      roi_cl_job j = { .xt = xt, .rois = rois, .out = out, .g = g, .scale = spatial_scale, .aligned = aligned };
      if (threads) tt_parallel(G.rois, roi_cl_task, &j);
      else for (long r = 0; r < G.rois; r++) roi_cl_task(&j, r, 0);
      return;
    }
  }
  roi_job j = { .x = x, .rois = rois, .out = out, .g = g, .scale = spatial_scale, .aligned = aligned };
  if (threads) tt_parallel(G.rois, roi_fwd_task, &j);
  else for (long r = 0; r < G.rois; r++) roi_fwd_task(&j, r, 0);
}

/* Backward of one channel over every box, in box order (deterministic): gx of that channel is zeroed, then each
 * bin's gradient divided by the sample count is spread over its samples' four taps, as torchvision does. */
static void roi_bwd_task(void *ctx, long ch, int tid) {
  const roi_job *j = ctx;
  rgeom G = parse_rg(j->g);
  long hw = G.h * G.w, bins = G.ph * G.pw;
  for (long b = 0; b < G.n; b++) memset(j->gx + (b * G.c + ch) * hw, 0, (size_t)hw * sizeof(float));
  for (long r = 0; r < G.rois; r++) {
    const float *roi = j->rois + 5 * r;
    float *plane = j->gx + ((long)roi[0] * G.c + ch) * hw;
    roi_span sy, sx;
    roi_axis ty, tx;
    if (!roi_taps(j->g, roi, j->scale, j->aligned, tid, &sy, &sx, &ty, &tx)) {
      for (long i = 0; i < hw; i++) plane[i] = __builtin_nanf(""); /* out of memory: loud, not silently 0 */
      continue;
    }
    int gh = sy.grid > 0 ? sy.grid : 0, gw = sx.grid > 0 ? sx.grid : 0;
    int cnt = sy.grid * sx.grid;
    float count = (float)(cnt > 1 ? cnt : 1);
    const float *gy = j->gy + (r * G.c + ch) * bins;
    for (long py = 0; py < G.ph; py++) {
      for (long px = 0; px < G.pw; px++) {
        float go = gy[py * G.pw + px];
        for (int iy = 0; iy < gh; iy++) {
          long a = py * gh + iy;
          if (ty.lo[a] < 0) continue;
          float *r0 = plane + ty.lo[a] * G.w, *r1 = plane + ty.hi[a] * G.w;
          float hy = ty.wl[a], ly = ty.wh[a];
          for (int ix = 0; ix < gw; ix++) {
            long c = px * gw + ix;
            if (tx.lo[c] < 0) continue;
            int xl = tx.lo[c], xh = tx.hi[c];
            float hx = tx.wl[c], lx = tx.wh[c];
            r0[xl] += go * (hy * hx) / count;
            r0[xh] += go * (hy * lx) / count;
            r1[xl] += go * (ly * hx) / count;
            r1[xh] += go * (ly * lx) / count;
          }
        }
      }
    }
  }
}

static void op_roi_align_bwd(const float *gy, const float *rois, float *gx, const int32_t *g, float spatial_scale,
                             int aligned) {
  rgeom G = parse_rg(g);
  roi_job j = { .gy = gy, .rois = rois, .gx = gx, .g = g, .scale = spatial_scale, .aligned = aligned };
  if (tt_num_threads() > 1 && G.c > 1 && G.rois * G.c * G.ph * G.pw > 4096) tt_parallel(G.c, roi_bwd_task, &j);
  else for (long ch = 0; ch < G.c; ch++) roi_bwd_task(&j, ch, 0);
}

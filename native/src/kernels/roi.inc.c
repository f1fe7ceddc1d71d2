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
    long m = 0;
    for (long px = 0; px < G.pw; px++) {
      start[px] = m;
      for (int iy = 0; iy < gh; iy++) {
        long a = py * gh + iy;
        if (ty.lo[a] < 0) continue;
        for (int ix = 0; ix < gw; ix++) {
          long c = px * gw + ix;
          if (tx.lo[c] < 0) continue;
          roi_sample *sm = &list[m++];
          sm->p1 = ty.lo[a] * (int)G.w + tx.lo[c]; sm->p2 = ty.lo[a] * (int)G.w + tx.hi[c];
          sm->p3 = ty.hi[a] * (int)G.w + tx.lo[c]; sm->p4 = ty.hi[a] * (int)G.w + tx.hi[c];
          sm->w1 = ty.wl[a] * tx.wl[c]; sm->w2 = ty.wl[a] * tx.wh[c];
          sm->w3 = ty.wh[a] * tx.wl[c]; sm->w4 = ty.wh[a] * tx.wh[c];
        }
      }
    }
    start[G.pw] = m;
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

static void op_roi_align(const float *x, const float *rois, float *out, const int32_t *g, float spatial_scale,
                         int aligned) {
  rgeom G = parse_rg(g);
  roi_job j = { .x = x, .rois = rois, .out = out, .g = g, .scale = spatial_scale, .aligned = aligned };
  if (tt_num_threads() > 1 && G.rois > 1 && G.rois * G.c * G.ph * G.pw > 4096) tt_parallel(G.rois, roi_fwd_task, &j);
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

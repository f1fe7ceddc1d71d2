/* ------------------------------------------------------------------------------------------------------------
 * Greedy non-maximum suppression as torchvision.ops.nms computes it on the CPU (nms_kernel_impl): boxes visited
 * in the caller's order (descending score); each box not yet suppressed is kept and suppresses every later box
 * whose IoU with it is > the threshold. IoU in float, in torchvision's operation order and without contraction
 * (inter / (area_i + area_j − inter) must round as in PyTorch: a pair exactly at the threshold stays or goes the
 * same way), with std::max / std::min's NaN behaviour (max(a, b) = a < b ? b : a). `iou_threshold` is the largest
 * float32 ≤ PyTorch's double threshold (the caller rounds it down), so ovr > it ⇔ (double)ovr > the threshold.
 *
 * torchvision skips boxes already suppressed; marking one again changes nothing, so the inner loop runs over every
 * later box, branch-free, TT_VL at a time.
 * ---------------------------------------------------------------------------------------------------------- */

typedef int32_t viu __attribute__((vector_size(TT_VL * 4), aligned(4)));

static ROI_EXACT void op_nms(long n, const float *boxes, float iou_threshold, int32_t *keep) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  float *m = tt_scratch(0, SLOT_TMP, (size_t)n * 5 * sizeof(float) + 64);
  if (!m) {
    for (long i = 0; i < n; i++) keep[i] = -1; /* out of memory: the caller throws */
    return;
  }
  float *x1 = m, *y1 = m + n, *x2 = m + 2 * n, *y2 = m + 3 * n, *area = m + 4 * n;
  for (long i = 0; i < n; i++) {
    x1[i] = boxes[4 * i]; y1[i] = boxes[4 * i + 1]; x2[i] = boxes[4 * i + 2]; y2[i] = boxes[4 * i + 3];
    area[i] = (x2[i] - x1[i]) * (y2[i] - y1[i]);
    keep[i] = 0; /* 0 until kept; suppressed boxes hold −2 below, reset to 0 at the end */
  }
  const vf zero = vsplat(0), thr = vsplat(iou_threshold);
  const vi gone = SPLAT_INIT(-2);
  for (long a = 0; a < n; a++) {
    if (keep[a]) continue;
    keep[a] = 1;
    float ix1 = x1[a], iy1 = y1[a], ix2 = x2[a], iy2 = y2[a], iarea = area[a];
    vf vx1 = vsplat(ix1), vy1 = vsplat(iy1), vx2 = vsplat(ix2), vy2 = vsplat(iy2), va = vsplat(iarea);
    long j = a + 1;
    for (; j + TT_VL <= n; j += TT_VL) {
      vf bx1 = vload(x1 + j), by1 = vload(y1 + j), bx2 = vload(x2 + j), by2 = vload(y2 + j);
      vf xx1 = vsel(vx1 < bx1, bx1, vx1), yy1 = vsel(vy1 < by1, by1, vy1);
      vf xx2 = vsel(bx2 < vx2, bx2, vx2), yy2 = vsel(by2 < vy2, by2, vy2);
      vf dw = xx2 - xx1, dh = yy2 - yy1;
      vf w = vsel(zero < dw, dw, zero), h = vsel(zero < dh, dh, zero);
      vf inter = w * h;
      vf den = va + vload(area + j);
      den = den - inter;
      vf ovr = inter / den;
      viu *k = (viu *)(keep + j);
      *k = *k | ((vi)(ovr > thr) & gone);
    }
    for (; j < n; j++) {
      float xx1 = ix1 < x1[j] ? x1[j] : ix1, yy1 = iy1 < y1[j] ? y1[j] : iy1;
      float xx2 = x2[j] < ix2 ? x2[j] : ix2, yy2 = y2[j] < iy2 ? y2[j] : iy2;
      float dw = xx2 - xx1, dh = yy2 - yy1;
      float w = 0 < dw ? dw : 0, h = 0 < dh ? dh : 0;
      float inter = w * h;
      float den = iarea + area[j];
      den = den - inter;
      if (inter / den > iou_threshold) keep[j] |= -2;
    }
  }
  for (long i = 0; i < n; i++) keep[i] = keep[i] == 1;
}

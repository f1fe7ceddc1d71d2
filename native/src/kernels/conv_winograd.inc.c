/* ------------------------------------------------------------------------------------------------------------
 * Winograd F(2×2, 3×3) for stride-1, undilated, ungrouped 3×3 convolutions (Lavin & Gray 2016): each 2×2 block of
 * outputs is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over a 4×4 input tile d, so the channel sums become 16 independent GEMMs
 * with 16 multiplies per 4 outputs instead of 36: 2.25× fewer, less the transforms. A task takes whole rows of
 * tiles, about WINO_TILES, so its transformed input and products stay in cache.
 * ---------------------------------------------------------------------------------------------------------- */
#define WINO_TILES 96 /* tiles per task, at least: whole rows of tiles */
/* A dilated 3×3 convolution (DeepLab's backbone at output stride 8 or 16, its ASPP) is dH·dW undilated ones: output
 * (pi + dH·y, pj + dW·x) reads input rows pi + dH·(y + r) − padT and columns pj + dW·(x + s) − padL, so each of the
 * dH·dW phases (pi, pj) is a valid 3×3 convolution of the phase image P[a][b] = x[dH·a + pi − padT][dW·b + pj − padL]
 * (zero outside x). The forward lays out n·dH·dW phase images, each padded to its tile grid, runs Winograd over all of
 * them as if they were a batch and scatters each phase's outputs back with strides dH, dW (space-to-batch and back,
 * with the gather folded into the padding copy and the scatter into the copy-out). Undilated, the one phase is the
 * padded image. */
typedef struct {
  const float *xpad, *u, *bias, *scale;
  float *out;
  long c, oc, oh, ow, HP, WP, th, tw, rows, blocks; /* oh, ow, th, tw, HP, WP: of one phase image; rows, blocks:
                                                      * the weight gradient's row blocks per image */
  int act;
  long ocp;            /* oc rounded up to NR (the forward's weight panels) */
  long dH, dW, OH, OW; /* dilation and the whole output (oh = ⌈OH/dH⌉, ow = ⌈OW/dW⌉) */
  long n_img;          /* phase images: n·dH·dW */
  gemm_split split;    /* the forward's tasks (split.chunks of them, over all phase images): balanced ranges of the
                        * tile rows, or with a channels-last input of half groups of MR tiles (wino_group_tiles) */
  int out_nhwc;     /* a channels-last output [n, OH, OW, oc] (undilated only) */
  const float *res; /* channels-last output only: added before the activation, shaped as out (or null) */
  const float *xl;  /* a channels-last input [n, h, w, c] read in place (undilated; xpad null), else null */
  long h, w, padT, padL; /* xl's map and padding */
} wino_job;

/* Even and odd lanes of the 2·TT_VL floats a‖b. */
#if TT_VL == 4
#define EVEN_LANES 0, 2, 4, 6
#define ODD_LANES 1, 3, 5, 7
#elif TT_VL == 8
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14
#define ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15
#else
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#endif

/* Even and odd floats of p[0 .. 2·TT_VL): two loads and two shuffles instead of 2·TT_VL scalar loads. */
static inline void load_deinterleaved(const float *p, vf *even, vf *odd) {
  vf a = vload(p), b = vload(p + TT_VL);
  *even = __builtin_shufflevector(a, b, EVEN_LANES);
  *odd = __builtin_shufflevector(a, b, ODD_LANES);
}

/* (G g Gᵀ)[ξ] of one 3×3 filter g, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], ξ = 4·row + column of the 4×4 result. */
static inline void wino_filter(const float *g, float e[16]) {
  float t[4][3];
  for (int j = 0; j < 3; j++) {
    t[0][j] = g[j];
    t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
    t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
    t[3][j] = g[6 + j];
  }
  for (int i = 0; i < 4; i++) {
    e[4 * i] = t[i][0];
    e[4 * i + 1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
    e[4 * i + 2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
    e[4 * i + 3] = t[i][2];
  }
}

/* (G g Gᵀ)[ξ] of one 3×3 filter g for F(4×4, 3×3), G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙;
 * 0 0 1], ξ = 6·row + column of the 6×6 result; in double, rounded once (the fractions are not exact in float). */
static inline void wino43_filter(const float *g, float e[36]) {
  static const double G[6][3] = { { 0.25, 0, 0 },
                                  { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
                                  { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
                                  { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
                                  { 1.0 / 24, -1.0 / 12, 1.0 / 6 },
                                  { 0, 0, 1 } };
  double t[6][3];
  for (int a = 0; a < 6; a++)
    for (int j = 0; j < 3; j++) t[a][j] = G[a][0] * g[j] + G[a][1] * g[3 + j] + G[a][2] * g[6 + j];
  for (int a = 0; a < 6; a++)
    for (int b = 0; b < 6; b++) e[6 * a + b] = (float)(t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2]);
}

/* U[ξ][ci][o] = (G g Gᵀ)[ξ] (the 3-D kernel's layout). */
static void wino_weights(const float *w, float *u, long oc, long c) {
  long plane = oc * c;
  for (long ci = 0; ci < c; ci++) /* o innermost: the 16 output planes are written along their rows */
    for (long o = 0; o < oc; o++) {
      float e[16];
      wino_filter(w + (o * c + ci) * 9, e);
      for (int xi = 0; xi < 16; xi++) u[xi * plane + ci * oc + o] = e[xi];
    }
}

/* The 16 transformed values (Bᵀ d B)[ξ] of tiles (ty, tx … tx+TT_VL) of one channel in registers, lanes = tiles,
 * Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]. Reads the 4 rows from column 2·tx as two stride-2 deinterleaves
 * (columns 0/1 of each tile, then 2/3 two floats on). */
static inline void wino_in_regs(const float *d, long WP, vf v[16]) {
  vf r[4][4];
  UNROLL for (int i = 0; i < 4; i++) {
    const float *row = d + i * WP;
    vf c0, c1, c2, c3;
    load_deinterleaved(row, &c0, &c1);
    load_deinterleaved(row + 2, &c2, &c3);
    r[i][0] = c0 - c2; r[i][1] = c1 + c2; r[i][2] = c2 - c1; r[i][3] = c1 - c3;
  }
  UNROLL for (int q = 0; q < 4; q++) {
    v[0 + q] = r[0][q] - r[2][q];
    v[4 + q] = r[1][q] + r[2][q];
    v[8 + q] = r[2][q] - r[1][q];
    v[12 + q] = r[1][q] - r[3][q];
  }
}

/* The same, stored: V[ξ] at v + ξ·cT. */
static inline void wino_in_vec(const float *d, long WP, float *v, long cT) {
  vf e[16];
  wino_in_regs(d, WP, e);
  UNROLL for (int q = 0; q < 16; q++) vstore(v + q * cT, e[q]);
}

/* The same for one tile (rows narrower than a vector). */
static inline void wino_in_one(const float *d, long WP, float *v, long cT) {
  float r[4][4];
  for (int i = 0; i < 4; i++) {
    const float *row = d + i * WP;
    r[i][0] = row[0] - row[2]; r[i][1] = row[1] + row[2]; r[i][2] = row[2] - row[1]; r[i][3] = row[1] - row[3];
  }
  for (int q = 0; q < 4; q++) {
    v[(0 + q) * cT] = r[0][q] - r[2][q];
    v[(4 + q) * cT] = r[1][q] + r[2][q];
    v[(8 + q) * cT] = r[2][q] - r[1][q];
    v[(12 + q) * cT] = r[1][q] - r[3][q];
  }
}

/* V[ξ][ci][tile] = (Bᵀ d B)[ξ] at v + ξ·cT for the tile rows ty0 … ty0+rows of one image (xb: its padded channels),
 * tiles numbered along the rows; Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]. A row's last vector overlaps the one
 * before it rather than running past the row (the overlap is computed twice, identically). */
static void wino_input_block(const wino_job *j, const float *xb, float *v, long cT, long ty0, long rows) {
  long tw = j->tw, T = rows * tw, WP = j->WP, plane = j->HP * WP;
  for (long ci = 0; ci < j->c; ci++) {
    const float *xc = xb + ci * plane;
    for (long r = 0; r < rows; r++) {
      const float *d = xc + 2 * (ty0 + r) * WP;
      float *vr = v + ci * T + r * tw;
      if (tw < TT_VL) {
        for (long tx = 0; tx < tw; tx++) wino_in_one(d + 2 * tx, WP, vr + tx, cT);
        continue;
      }
      for (long tx = 0;; tx += TT_VL) {
        if (tx + TT_VL > tw) tx = tw - TT_VL;
        wino_in_vec(d + 2 * tx, WP, vr + tx, cT);
        if (tx + TT_VL >= tw) break;
      }
    }
  }
}

/* Output transform of one tile, Y = Aᵀ M A with Aᵀ = [1 1 1 0; 0 1 −1 −1], then act(scale·Y + bias (+ res)): M[ξ]
 * of output channel o at m[ξ·xs + o]; the 2×2 outputs of channel o go to dst + o·sp at offsets 0, cs (where
 * `right`), ld and ld + cs (where `down`) — NCHW: sp a plane, cs 1; channels last: sp 1 (a vector store), cs the
 * channel count, and res (channels last only, else null) read at the same offsets from its own base. Vectorised
 * over output channels. Shared by the 2-D and 3-D kernels (scale, bias: null for none). */
static inline void wino_out_tile(const float *m, long xs, long oc, const float *scale, const float *bias, int act,
                                 float *dst, long sp, long cs, long ld, int right, int down, const float *res) {
  long pos[4] = { 0, cs, ld, ld + cs };
  int valid[4] = { 1, right, down, right && down };
  long o = 0;
  for (; o + TT_VL <= oc; o += TT_VL) {
    vf s0[4], s1[4];
    UNROLL for (int q = 0; q < 4; q++) {
      vf e0 = vload(m + q * xs + o), e1 = vload(m + (4 + q) * xs + o), e2 = vload(m + (8 + q) * xs + o),
         e3 = vload(m + (12 + q) * xs + o);
      s0[q] = e0 + e1 + e2;
      s1[q] = e1 - e2 - e3;
    }
    vf y[4] = { s0[0] + s0[1] + s0[2], s0[1] - s0[2] - s0[3], s1[0] + s1[1] + s1[2], s1[1] - s1[2] - s1[3] };
    vf sv = scale ? vload(scale + o) : vsplat(1.0f), bv = bias ? vload(bias + o) : vsplat(0.0f);
    UNROLL for (int q = 0; q < 4; q++) {
      if (!valid[q]) continue;
      vf val = y[q] * sv + bv;
      float *d = dst + o * sp + pos[q];
      if (sp == 1) { /* channels last */
        if (res) val += vload(res + o + pos[q]);
        vstore(d, act_v(val, act)); /* NaN passes, as PyTorch */
        continue;
      }
      val = act_v(val, act);
      UNROLL for (int l = 0; l < TT_VL; l++) d[l * sp] = val[l];
    }
  }
  for (; o < oc; o++) {
    float e[16];
    for (int xi = 0; xi < 16; xi++) e[xi] = m[xi * xs + o];
    float s0[4], s1[4];
    for (int q = 0; q < 4; q++) {
      s0[q] = e[q] + e[4 + q] + e[8 + q];
      s1[q] = e[4 + q] - e[8 + q] - e[12 + q];
    }
    float y[4] = { s0[0] + s0[1] + s0[2], s0[1] - s0[2] - s0[3], s1[0] + s1[1] + s1[2], s1[1] - s1[2] - s1[3] };
    float sc = scale ? scale[o] : 1.0f, bi = bias ? bias[o] : 0.0f;
    for (int q = 0; q < 4; q++)
      if (valid[q]) dst[o * sp + pos[q]] = act_s(y[q] * sc + bi + (res ? res[o + pos[q]] : 0.0f), act);
  }
}

/* U[ξ][panel][ci][NR] (ξ planes wino_u_stride apart): the weight transform in the GEMM micro-kernel's B-panel
 * layout, columns past oc zero; one
 * task per (panel, block of WINO_WCH input channels), written straight into place. At 512×512 channels this is 2.4 M
 * filters: one pass over the weights on every thread (it was a serial transform into a scratch copy, then a serial
 * repack, ~45 % of a 32×32 map's forward). */
#define WINO_WCH 64
typedef struct { const float *w; float *u; long oc, c, panels, cblocks, xs; int planes; } wino_wpack_job;

static void wino_wpack_task(void *ctx, long t, int tid) {
  (void)tid;
  const wino_wpack_job *j = ctx;
  long p = t / j->cblocks, c = j->c, oc = j->oc, xs = j->xs;
  long c0 = (t % j->cblocks) * WINO_WCH, c1 = MINI(c, c0 + WINO_WCH);
  int planes = j->planes; /* 16: F(2×2, 3×3); 36: F(4×4, 3×3) */
  /* a channel's NR filters at a time, stored as `planes` runs of NR floats */
  for (long ci = c0; ci < c1; ci++) {
    float e[36][NR];
    for (long jj = 0; jj < NR; jj++) {
      long o = p * NR + jj;
      float f[36];
      if (o >= oc) for (int xi = 0; xi < planes; xi++) f[xi] = 0.0f;
      else if (planes == 36) wino43_filter(j->w + (o * c + ci) * 9, f);
      else wino_filter(j->w + (o * c + ci) * 9, f);
      for (int xi = 0; xi < planes; xi++) e[xi][jj] = f[xi];
    }
    float *dst = j->u + (p * c + ci) * NR;
    for (int xi = 0; xi < planes; xi++) memcpy(dst + xi * xs, e[xi], sizeof(float) * NR);
  }
}

/* Floats from one ξ's panels to the next: an odd number of cache lines. At a power-of-two stride (512×512 channels:
 * 1 MB) the 16 stores of each filter's transform all fell into one set of L1 and L2 and evicted each other: the
 * transform ran at 38 ns a filter, 10 ms for one 512→512 layer. */
static long wino_u_stride(long oc, long c) { return ROUNDUP(ROUNDUP(oc, NR) * c, 32) + 16; }

/* Floats of the panel-layout transform of [oc, c, 3, 3] weights on this build: 16 planes, or 36 for F(4×4, 3×3). */
static long wino_packed_floats_planes(long oc, long c, int planes) { return planes * wino_u_stride(oc, c); }
static long wino_packed_floats(long oc, long c) { return wino_packed_floats_planes(oc, c, 16); }

static void wino_weights_panels_planes(const float *w, float *u, long oc, long c, int planes) {
  wino_wpack_job j = { w, u, oc, c, ROUNDUP(oc, NR) / NR, (c + WINO_WCH - 1) / WINO_WCH, wino_u_stride(oc, c), planes };
  long tasks = j.panels * j.cblocks;
  if (tt_num_threads() > 1 && tasks > 1) tt_parallel(tasks, wino_wpack_task, &j);
  else for (long t = 0; t < tasks; t++) wino_wpack_task(&j, t, 0);
}

static void wino_weights_panels(const float *w, float *u, long oc, long c) { wino_weights_panels_planes(w, u, oc, c, 16); }

/* Row r of the tile grid of phase image `img`, channel ci: the top-left input of its first tile. */
static inline const float *wino_row(const wino_job *j, long img, long r, long ci) {
  return j->xpad + (img * j->c + ci) * j->HP * j->WP + 2 * r * j->WP;
}

/* V for a task's tiles straight in the micro-kernel's A-panel layout: the task's T = rows·tw tiles are the global
 * tile rows R0 … R0+rows (global row R = image·th + row, so a task may run on from one phase image into the next),
 * numbered along the rows (tile k at row k / tw, column k % tw) and cut into G groups of MR, V[ξ][g][ci][MR] at
 * v + ξ·vxs, so the K = c operand of one (ξ, group) is one contiguous run and nothing is packed. Groups run on
 * across tile rows (a row of 64 tiles is not a multiple of MR = 14; per-row groups would leave up to a third of
 * each GEMM on empty rows at 64² maps, and an 8×8 phase image is 16 tiles): a vector that crosses into the next row
 * is transformed once per row it touches, at column tx − k·tw of row r + k, and each lane is taken from its own
 * row — the transform is the same linear map on every lane. The columns before a row's start are its image's
 * previous row or, on an image's first row, the end of the previous image's channel: inside xpad either way, and
 * never selected. Lanes past the task's last tile are computed from whatever lies there (the pad slack) and never
 * stored. Stores go in ascending address order per ξ so each one's spill past MR lanes is overwritten by the next
 * (the last lands in the TT_VL floats of slack in vxs). */
static void wino_input_panels(const wino_job *j, float *v, long vxs, long R0, long rows, long G) {
  long tw = j->tw, th = j->th, T = rows * tw, WP = j->WP, c = j->c;
  vi iota;
  UNROLL for (int l = 0; l < TT_VL; l++) iota[l] = l;
  for (long g = 0; g < G; g++)
    for (long l0 = 0; l0 < MR; l0 += TT_VL) {
      long k0 = MINI(g * MR + l0, T - 1), r0 = k0 / tw, tx0 = k0 % tw;
      long R = R0 + r0, img = R / th, r = R % th;
      for (long ci = 0; ci < c; ci++) {
        vf e[16];
        wino_in_regs(wino_row(j, img, r, ci) + 2 * tx0, WP, e);
        for (long k = 1; r0 + k < rows && k * tw - tx0 < TT_VL; k++) {
          vf f[16];
          long Rk = R + k;
          wino_in_regs(wino_row(j, Rk / th, Rk % th, ci) + 2 * (tx0 - k * tw), WP, f);
          vi sel = iota >= (int)(k * tw - tx0);
          UNROLL for (int q = 0; q < 16; q++) e[q] = vsel(sel, f[q], e[q]);
        }
        float *dst = v + (g * c + ci) * MR + l0;
        UNROLL for (int q = 0; q < 16; q++) vstore(dst + q * vxs, e[q]);
      }
    }
}

/* Floats of a task's V per transform position: G groups × c channels × MR tiles, plus the spill of the last store
 * (wino_input_panels), and an odd number of cache lines past that so the 16 planes do not share cache sets. */
static long wino_vstride(long G, long c) { return ROUNDUP(G * c * MR + TT_VL, 32) + 16; }

/* The 16 transformed values of one 4×4 window of channel vectors (d[4·i + j]: row i, column j; lanes = channels):
 * wino_in_regs' arithmetic with the channels, not the tiles, across the lanes. */
static inline void wino_in_channels(const vf d[16], vf v[16]) {
  vf r[4][4];
  UNROLL for (int i = 0; i < 4; i++) {
    const vf *row = d + 4 * i;
    r[i][0] = row[0] - row[2]; r[i][1] = row[1] + row[2]; r[i][2] = row[2] - row[1]; r[i][3] = row[1] - row[3];
  }
  UNROLL for (int q = 0; q < 4; q++) {
    v[0 + q] = r[0][q] - r[2][q];
    v[4 + q] = r[1][q] + r[2][q];
    v[8 + q] = r[2][q] - r[1][q];
    v[12 + q] = r[1][q] - r[3][q];
  }
}

/* V for a task's tiles K0 … K0 + T (of the global grid, row-major over all images) from a channels-last input read
 * in place: V[ξ][k][ci] at v + ξ·vxs (tile-major, the
 * channels of tile k contiguous — the rows of the pointwise micro-kernel's A), a vector of channels at a time
 * (the last overlapping the one before; below one vector, scalar lanes), the window's pixels outside the image
 * zero. Rows T … G·MR are zeroed: the last group's GEMM reads them and its products there are never stored. The
 * NCHW path first copied the input into a padded tile grid — a transpose that took a fifth of a 56² layer on two
 * threads, each thread reading the other's pixels — and transformed it one channel plane at a time. */
static void wino_input_nhwc(const wino_job *j, float *v, long vxs, long K0, long T, long G) {
  long tw = j->tw, th = j->th, c = j->c, h = j->h, w = j->w;
  for (long k = 0; k < T; k++) {
    long R = (K0 + k) / tw, img = R / th, iy0 = 2 * (R % th) - j->padT, ix0 = 2 * ((K0 + k) % tw) - j->padL;
    const float *xb = j->xl + img * h * w * c;
    int inside = iy0 >= 0 && iy0 + 4 <= h && ix0 >= 0 && ix0 + 4 <= w;
    float *vk = v + k * c;
    long cv = c >= TT_VL ? TT_VL : 1;
    for (long ch = 0; ch < c; ch += cv) {
      long c0 = MINI(ch, c - cv);
      vf d[16], e[16];
      UNROLL for (int i = 0; i < 4; i++) UNROLL for (int q = 0; q < 4; q++) {
        long iy = iy0 + i, ix = ix0 + q;
        const float *px = xb + (iy * w + ix) * c + c0;
        if (inside) d[4 * i + q] = vload(px);
        else if (iy < 0 || iy >= h || ix < 0 || ix >= w) d[4 * i + q] = vsplat(0.0f);
        else if (cv == 1) d[4 * i + q] = vsplat(*px);
        else d[4 * i + q] = vload(px);
      }
      wino_in_channels(d, e);
      if (cv == 1) UNROLL for (int q = 0; q < 16; q++) vk[q * vxs + c0] = e[q][0];
      else UNROLL for (int q = 0; q < 16; q++) vstore(vk + q * vxs + c0, e[q]);
    }
  }
  for (int q = 0; q < 16; q++) memset(v + q * vxs + T * c, 0, sizeof(float) * (G * MR - T) * c);
}

/* Copies a task's staged outputs (rows R0 … R1 of the global tile grid; stage [oc][2·(R1 − R0)][ow]) into out: per
 * phase image, its rows go to image b = img / (dH·dW) at rows pi + dH·y and columns pj + dW·x of the whole output —
 * one run per channel and image when undilated. */
static void wino_copy_out(const wino_job *j, const float *stage, long sp, long R0, long R1) {
  long oc = j->oc, oh = j->oh, ow = j->ow, OH = j->OH, OW = j->OW, OHW = OH * OW, phases = j->dH * j->dW;
  for (long R = R0; R < R1;) {
    long img = R / j->th, r = R % j->th, seg = MINI(R1 - R, j->th - r);
    long b = img / phases, pi = (img % phases) / j->dW, pj = img % j->dW;
    long y0 = 2 * r, y1 = MINI(oh, 2 * (r + seg));
    const float *st = stage + 2 * (R - R0) * ow;
    float *ob = j->out + b * oc * OHW;
    if (phases == 1) {
      for (long o = 0; o < oc; o++) memcpy(ob + o * OHW + y0 * OW, st + o * sp, sizeof(float) * (y1 - y0) * OW);
    } else {
      long nx = (OW - pj + j->dW - 1) / j->dW; /* this phase's columns inside the output */
      for (long o = 0; o < oc; o++)
        for (long yp = y0; yp < y1; yp++) {
          long y = pi + j->dH * yp;
          if (y >= OH) break;
          const float *src = st + o * sp + (yp - y0) * ow;
          float *dst = ob + o * OHW + y * OW + pj;
          for (long xp = 0; xp < nx; xp++) dst[xp * j->dW] = src[xp];
        }
    }
    R += seg;
  }
}

/* A channels-last task's tiles [*K0, *K0 + *T) of `tiles`: chunk t of `split`'s, the chunks balanced in units of
 * half a group (MR / 2 tiles), so that a task ends on a whole group or on a half one, which wino_gemm_groups runs
 * on the half-height micro-kernel. Split by tile rows instead, a 7-tile-wide map (28², F(4×4); 14², F(2×2)) put 14
 * or 21 tiles in a task — three or four AVX2 groups of 6 for two or three and a half groups' work; in whole groups,
 * 49 tiles on two AVX2 threads were 5 and 4 groups (the ninth with one tile of 6), now 4 and 4½; on AVX-512, one
 * thread computed 56 rows for 49, now 3½ groups of 14. 256→256 at 14², batch 1, Zen 4, weights in cache: AVX2 0.585
 * → 0.534 ms; one thread, AVX-512, weights cycled among 8 copies: 1.28 → 1.07 (on two 0.66–0.70 → 0.57). (Sharing
 * out a few groups by weight panels instead, each task transforming all tiles' input, gained nothing there.) */
static void wino_group_tiles(const gemm_split *split, long tiles, long t, long *K0, long *T) {
  long half = MR / 2, u0, u1;
  split_range((tiles + half - 1) / half, split->chunks, t, &u0, &u1);
  *K0 = u0 * half;
  *T = MINI(tiles, u1 * half) - *K0;
}

/* M[k][·] (rows of ldm floats) = V[k][0..c) · U's NR-column panel bp for the T tile rows of ap (c floats apart), a
 * group of MR rows at a time; a last group of at most MR / 2 rows runs half the micro-kernel's rows. The first two
 * whole groups prefetch half each of the panel at `next` (c·NR floats; null: none) into L2: at batch 1 the
 * transformed weights (4 MB for 256→256) come from memory once per call, and read on demand by the first group, a
 * 6×16 AVX2 tile wants a line every 6 cycles — more than a core draws from memory. 256→256 at 14², batch 1, weights
 * cycled among 8 copies, two threads, Zen 4: AVX2 0.81–0.87 → 0.60 ms (0.53 with the weights in cache), 128→128 at
 * 28² (F(4×4)) 0.53 → 0.49; AVX-512's 14×32 tile, a line every 14 cycles, within noise either way. */
static void wino_gemm_groups(long T, long c, const float *ap, const float *bp, const float *next, float *cp, long ldm) {
  long whole = T / MR, passes = MINI(2, whole), pfs = passes ? NR / passes : 0;
  for (long r = 0, g = 0; r < T; r += MR, g++) {
    if (T - r <= MR / 2) uk_pw_rows_half(c, ap + r * c, c, bp, NR, cp + r * ldm, ldm, 0);
    else if (next && g < passes) uk_pw_rows_pf(c, ap + r * c, c, bp, NR, next + g * c * pfs, pfs, cp + r * ldm, ldm, 0);
    else uk_pw_rows(c, ap + r * c, c, bp, NR, cp + r * ldm, ldm, 0);
  }
}

/* The panel after panel p of plane xi in a task's walk over `planes` planes of `panels` panels (uxs floats from
 * one plane to the next), or null after the last. */
static const float *wino_next_panel(const float *u, long uxs, long c, long panels, long planes, int xi, long p) {
  if (p + 1 < panels) return u + xi * uxs + (p + 1) * c * NR;
  return xi + 1 < planes ? u + (xi + 1) * uxs : 0;
}

/* One forward task: its tile rows (a range of j->split), or its groups of tiles (wino_group_tiles) from a
 * channels-last input. Input transform into panels, 16 GEMMs
 * M[ξ] (tiles × ocp) = V[ξ] (tiles × c) · U[ξ] (c × ocp) by the micro-kernel on panels in place (U's NR-column panel
 * stays in L1 while the groups stream past it), then the output transform and epilogue tile by tile into `stage`
 * [oc][2·rows][ow] — the task's output rows, contiguous per channel — copied out one run per channel and image.
 * (Storing each tile straight into out scattered every vector over oc planes oh·ow floats apart, a TLB miss per
 * lane.) */
static void wino_task(void *ctx, long t, int tid) {
  const wino_job *j = ctx;
  long tw = j->tw, R0 = 0, rows = 0, K0, T;
  if (j->xl) wino_group_tiles(&j->split, j->n_img * j->th * tw, t, &K0, &T);
  else {
    long R1;
    split_range(j->split.tiles, j->split.chunks, t, &R0, &R1); /* one panel group */
    rows = R1 - R0;
    K0 = R0 * tw;
    T = rows * tw;
  }
  long c = j->c, oc = j->oc, ocp = j->ocp, panels = ocp / NR, G = (T + MR - 1) / MR;
  long vxs = wino_vstride(G, c), mxs = G * MR * ocp, ow = j->ow, oh = j->oh, sp = 2 * rows * ow;
  long uxs = wino_u_stride(oc, c);
  float *v = tt_scratch(tid, SLOT_COL, sizeof(float) * 16 * vxs);
  float *m = tt_scratch(tid, SLOT_TILE, sizeof(float) * 16 * mxs);
  float *stage = j->out_nhwc ? 0 : tt_scratch(tid, SLOT_TMP, sizeof(float) * oc * sp);
  /* a group's V is MR·c floats either way: tile-major rows of c channels from a channels-last input, else the
   * micro-kernel's p-major A panel */
  if (j->xl) wino_input_nhwc(j, v, vxs, K0, T, G);
  else wino_input_panels(j, v, vxs, R0, rows, G);
  for (int xi = 0; xi < 16; xi++)
    for (long p = 0; p < panels; p++) {
      const float *bp = j->u + xi * uxs + p * c * NR, *ap = v + xi * vxs;
      float *cp = m + xi * mxs + p * NR;
      if (j->xl) wino_gemm_groups(T, c, ap, bp, wino_next_panel(j->u, uxs, c, panels, 16, xi, p), cp, ocp);
      else
        for (long g = 0; g < G; g++) uk_packed(c, ap + g * MR * c, 0, bp, cp + g * MR * ocp, ocp, 0);
    }
  if (j->out_nhwc) { /* each tile straight into its pixels: a vector of channels is contiguous there */
    for (long k = 0; k < T; k++) {
      long R = (K0 + k) / tw, oy = 2 * (R % j->th), ox = 2 * ((K0 + k) % tw);
      long o = ((R / j->th * oh + oy) * ow + ox) * oc;
      wino_out_tile(m + k * ocp, mxs, oc, j->scale, j->bias, j->act, j->out + o, 1, oc, ow * oc, ox + 1 < ow,
                    oy + 1 < oh, j->res ? j->res + o : 0);
    }
    return;
  }
  for (long k = 0; k < T; k++) {
    long r = k / tw, oy = 2 * ((R0 + r) % j->th), ox = 2 * (k % tw);
    wino_out_tile(m + k * ocp, mxs, oc, j->scale, j->bias, j->act, stage + 2 * r * ow + ox, sp, 1, ow, ox + 1 < ow,
                  oy + 1 < oh, 0);
  }
  wino_copy_out(j, stage, sp, R0, R0 + rows);
}

/* Weight gradient in the same transform space: since U = G g Gᵀ and M = U ⊙ V, dg = Gᵀ (Σ_tiles (A dY Aᵀ) ⊙ V) G,
 * so the sum over every tile of the batch becomes 16 GEMMs dU[ξ] (oc × c) += Ĝ[ξ] (oc × tiles) · V[ξ]ᵀ with the
 * tiles as the reduction: long, cache-friendly K, 2.25× fewer multiplies than the direct sum. The (image, row
 * block) items are split into `parts` fixed, contiguous ranges, each summed into its own dU in item order; the
 * parts are added in part order and transformed back once at the end. The ranges do not depend on which thread
 * runs them, so the result is bit-identical from run to run for a given thread count (an earlier version summed
 * into one dU per thread, and the dynamic task queue made the order of the sum, hence its rounding, vary). */
typedef struct {
  wino_job f; /* the forward job's geometry and padded input (u, bias, scale, out unused) */
  const float *gy;
  float *du;  /* [parts][16][oc][c] */
  long items, per;
} wino_wg_job;

/* Ĝ = A dY Aᵀ for one 2×2 block of dY (rows g0, g1): A = [1 0; 1 1; 1 −1; 0 −1]. */
#define WINO_GY_ROWS(R, g0, g1) \
  R[0] = g0; R[1] = g0 + g1; R[2] = g0 - g1; R[3] = -(g1);

static void wino_wg_item(const wino_wg_job *wj, long t, int tid, float *du) {
  const wino_job *j = &wj->f;
  long b = t / j->blocks, ty0 = (t % j->blocks) * j->rows, rows = MINI(j->rows, j->th - ty0), tw = j->tw, T = rows * tw;
  long c = j->c, oc = j->oc, WP = j->WP, plane = j->HP * WP, ow = j->ow, oh = j->oh;
  /* ξ strides of an odd number of cache lines: at a multiple of 4 KB (64 channels × 64 tiles) the 16 planes that
   * every tile's transform writes shared one set of L1 and evicted each other (4× slower at 16×16 maps) */
  long cT = ROUNDUP(c * T, 16) + 16, oT = ROUNDUP(oc * T, 16) + 16;
  float *v = tt_scratch(tid, SLOT_COL, sizeof(float) * 16 * cT);
  float *gt = tt_scratch(tid, SLOT_TILE, sizeof(float) * 16 * oT);
  const float *xb = j->xpad + b * c * plane;
  wino_input_block(j, xb, v, cT, ty0, rows);
  /* Ĝ[ξ][o][tile]: a vector of tiles where both rows and both columns of their blocks are inside dY */
  for (long o = 0; o < oc; o++) {
    const float *gp = wj->gy + (b * oc + o) * oh * ow;
    for (long r = 0; r < rows; r++) {
      long y0 = 2 * (ty0 + r);
      float *gr = gt + o * T + r * tw;
      long tx = 0;
      if (y0 + 1 < oh)
        for (; tx + TT_VL <= tw && 2 * (tx + TT_VL) <= ow; tx += TT_VL) {
          const float *p0 = gp + y0 * ow + 2 * tx, *p1 = p0 + ow;
          vf g00, g01, g10, g11;
          load_deinterleaved(p0, &g00, &g01);
          load_deinterleaved(p1, &g10, &g11);
          vf c0[4], c1[4];
          WINO_GY_ROWS(c0, g00, g10) /* column 0 of the block down A */
          WINO_GY_ROWS(c1, g01, g11)
          UNROLL for (int i = 0; i < 4; i++) {
            vf e[4];
            WINO_GY_ROWS(e, c0[i], c1[i]) /* then row i across Aᵀ */
            UNROLL for (int q = 0; q < 4; q++) vstore(gr + (4 * i + q) * oT + tx, e[q]);
          }
        }
      for (; tx < tw; tx++) {
        long x0 = 2 * tx;
        float g00 = gp[y0 * ow + x0];
        float g01 = x0 + 1 < ow ? gp[y0 * ow + x0 + 1] : 0.0f;
        float g10 = y0 + 1 < oh ? gp[(y0 + 1) * ow + x0] : 0.0f;
        float g11 = y0 + 1 < oh && x0 + 1 < ow ? gp[(y0 + 1) * ow + x0 + 1] : 0.0f;
        float c0[4], c1[4];
        WINO_GY_ROWS(c0, g00, g10)
        WINO_GY_ROWS(c1, g01, g11)
        for (int i = 0; i < 4; i++) {
          float e[4];
          WINO_GY_ROWS(e, c0[i], c1[i])
          for (int q = 0; q < 4; q++) gr[(4 * i + q) * oT + tx] = e[q];
        }
      }
    }
  }
  for (int xi = 0; xi < 16; xi++)
    gemm_serial(tid, oc, c, T, gt + xi * oT, T, 1, v + xi * cT, 1, T, du + xi * oc * c, c, 1);
}

/* Part p: items [p·per, (p+1)·per) in order, into dU part p. */
static void wino_wg_task(void *ctx, long p, int tid) {
  const wino_wg_job *wj = ctx;
  float *du = wj->du + p * 16 * wj->f.oc * wj->f.c;
  for (long t = p * wj->per; t < MINI(wj->items, (p + 1) * wj->per); t++) wino_wg_item(wj, t, tid, du);
}

/* gw [oc][c][3][3] = Gᵀ dU G summed over the threads' dU, Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]. */
static void wino_wg_finish(const float *du, long parts, float *gw, long oc, long c) {
  long plane = oc * c;
  for (long o = 0; o < oc; o++)
    for (long ci = 0; ci < c; ci++) {
      float e[16];
      for (int xi = 0; xi < 16; xi++) {
        float acc = 0.0f;
        for (long p = 0; p < parts; p++) acc += du[(p * 16 + xi) * plane + o * c + ci];
        e[xi] = acc;
      }
      float t[3][4];
      for (int q = 0; q < 4; q++) {
        t[0][q] = e[q] + 0.5f * (e[4 + q] + e[8 + q]);
        t[1][q] = 0.5f * (e[4 + q] - e[8 + q]);
        t[2][q] = 0.5f * (e[4 + q] + e[8 + q]) + e[12 + q];
      }
      float *d = gw + (o * c + ci) * 9;
      for (int i = 0; i < 3; i++) {
        d[3 * i] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
        d[3 * i + 1] = 0.5f * (t[i][1] - t[i][2]);
        d[3 * i + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
      }
    }
}

/* Phase image img = (b·dH + pi)·dW + pj, channel ci, padded to the tile grid: P[a][bc] = x[dH·a + pi − padT]
 * [dW·bc + pj − padL], zero outside x and on the grid's margin. */
typedef struct {
  const float *x;
  float *xpad;
  long c, h, w, HP, WP, dH, dW, padT, padL;
} wino_phase_job;

static void wino_phase_task(void *ctx, long t, int tid) {
  (void)tid;
  const wino_phase_job *p = ctx;
  long img = t / p->c, ci = t % p->c, phases = p->dH * p->dW;
  long b = img / phases, pi = (img % phases) / p->dW, pj = img % p->dW;
  const float *src = p->x + (b * p->c + ci) * p->h * p->w;
  float *dst = p->xpad + t * p->HP * p->WP;
  for (long a = 0; a < p->HP; a++) {
    long y = p->dH * a + pi - p->padT;
    float *row = dst + a * p->WP;
    if (y < 0 || y >= p->h) {
      memset(row, 0, sizeof(float) * p->WP);
      continue;
    }
    const float *sr = src + y * p->w;
    for (long bc = 0; bc < p->WP; bc++) {
      long xx = p->dW * bc + pj - p->padL;
      row[bc] = xx >= 0 && xx < p->w ? sr[xx] : 0.0f;
    }
  }
}

/* The padded tile grid of `floats` floats, with a zeroed slack after it: the forward's reads past the last tile row
 * (lanes past a task's last tile, never stored). */
static float *wino_xpad(long floats) {
  long slack = 2 * (MR + 2 * TT_VL) + 16;
  float *xpad = tt_shared_scratch(SH_XPAD, sizeof(float) * (floats + slack));
  memset(xpad + floats, 0, sizeof(float) * slack);
  return xpad;
}

/* Pads x into the Winograd tile grid for an oh×ow output (dilation dH×dW: into its dH·dW phase images, each of
 * ⌈oh/dH⌉×⌈ow/dW⌉ outputs) and fills the geometry of a wino_job, with the forward's tasks. */
static void wino_prepare(wino_job *j, const float *x, long n, long c, long h, long wd, long oc, long OH, long OW,
                         long padT, long padL, long dH, long dW, int in_nhwc) {
  long oh = (OH + dH - 1) / dH, ow = (OW + dW - 1) / dW;
  long th = (oh + 1) / 2, tw = (ow + 1) / 2, HP = 2 * th + 2, WP = 2 * tw + 2, n_img = n * dH * dW;
  int T = tt_num_threads();
  float *xpad = 0;
  if (in_nhwc) {
    /* undilated only: wino_input_nhwc reads the channels-last input in place, no padded copy */
  } else if (dH == 1 && dW == 1) {
    xpad = wino_xpad(n_img * c * HP * WP);
    dconv d = { .n = n, .cin = c, .h = h, .w = wd, .cout = oc, .oh = 2 * th, .ow = 2 * tw, .kh = 3, .kw = 3,
                .padT = padT, .padL = padL, .dilH = 1, .dilW = 1, .groups = 1, .sH = 1, .sW = 1 };
    d.x = x;
    d.xpad = xpad;
    d.HP = HP;
    d.WP = WP;
    d.imgP = c * HP * WP;
    if (T > 1 && n > 1) tt_parallel(n, dconv_pad_task, &d);
    else for (long b = 0; b < n; b++) dconv_pad_task(&d, b, 0);
  } else {
    xpad = wino_xpad(n_img * c * HP * WP);
    wino_phase_job p = { x, xpad, c, h, wd, HP, WP, dH, dW, padT, padL };
    if (T > 1) tt_parallel(n_img * c, wino_phase_task, &p);
    else for (long t = 0; t < n_img * c; t++) wino_phase_task(&p, t, 0);
  }
  long rows = MAXI(1, WINO_TILES / tw);
  *j = (wino_job){ .xpad = xpad, .c = c, .oc = oc, .oh = oh, .ow = ow, .HP = HP, .WP = WP, .th = th, .tw = tw,
                   .rows = rows, .blocks = (th + rows - 1) / rows, .dH = dH, .dW = dW, .OH = OH, .OW = OW,
                   .n_img = n_img, .xl = in_nhwc ? x : 0, .h = h, .w = wd, .padT = padT, .padL = padL };
  /* forward tasks: about WINO_TILES tiles each, over all images' rows (or their groups of MR), a multiple of the
   * threads (3 tasks on 2 threads left one idle for a third of the call) */
  if (in_nhwc) j->split = gemm_split_plan((n_img * th * tw + MR - 1) / MR, MAXI(1, rows * tw / MR), 1, 0);
  else j->split = gemm_split_plan(n_img * th, rows, 1, 0);
}

static void wino_conv_bwd_weight(const float *x, const float *gy, float *gw, long n, long c, long h, long wd, long oc,
                                 long oh, long ow, long padT, long padL) {
  wino_wg_job wj;
  wino_prepare(&wj.f, x, n, c, h, wd, oc, oh, ow, padT, padL, 1, 1, 0);
  int T = tt_num_threads();
  wj.items = n * wj.f.blocks;
  long parts = T > 1 && wj.items > 1 ? MINI(T, wj.items) : 1;
  wj.per = (wj.items + parts - 1) / parts;
  parts = (wj.items + wj.per - 1) / wj.per;
  wj.gy = gy;
  wj.du = tt_shared_scratch(SH_GYPAD, sizeof(float) * parts * 16 * oc * c);
  memset(wj.du, 0, sizeof(float) * parts * 16 * oc * c);
  if (parts > 1) tt_parallel(parts, wino_wg_task, &wj);
  else wino_wg_task(&wj, 0, 0);
  wino_wg_finish(wj.du, parts, gw, oc, c);
}



/* The forward tasks of a prepared job; u null: the weights w transformed here. */
static void wino_run(wino_job *j, const float *w, const float *u, const float *bias, const float *scale, float *out,
                     int act) {
  long oc = j->oc, c = j->c;
  j->ocp = ROUNDUP(oc, NR);
  if (!u) {
    /* not SH_WT: the input gradient passes its flipped weights in it */
    float *up = tt_shared_scratch(SH_WPACK, sizeof(float) * wino_packed_floats(oc, c));
    wino_weights_panels(w, up, oc, c);
    u = up;
  }
  j->u = u; j->bias = bias; j->scale = scale; j->out = out; j->act = act;
  long tasks = j->split.chunks;
  if (tt_num_threads() > 1 && tasks > 1) tt_parallel(tasks, wino_task, j);
  else for (long t = 0; t < tasks; t++) wino_task(j, t, 0);
}

/* out = act(scale·conv3×3(x, w) + bias) with stride 1, padding (padT, padL) and dilation (dH, dW) on a c×h×w input,
 * oh×ow output. u: the weights already in wino_weights_panels' layout, or null to transform w here. */
static void wino_conv(const float *x, const float *w, const float *u, const float *bias, const float *scale, float *out,
                      long n, long c, long h, long wd, long oc, long oh, long ow, long padT, long padL, long dH, long dW,
                      int act) {
  wino_job j;
  wino_prepare(&j, x, n, c, h, wd, oc, oh, ow, padT, padL, dH, dW, 0);
  wino_run(&j, w, u, bias, scale, out, act);
}

/* ------------------------------------------------------------------------------------------------------------
 * Winograd F(4×4, 3×3), channels-last forward (inference: the weights transformed once, by conv2d_nhwc_pack). Each
 * 4×4 block of outputs is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over a 6×6 input window: 36 multiplies per 16 outputs where
 * F(2×2, 3×3) takes 16 per 4 — 4× fewer than direct against 2.25× — and 36 transformed values written and read per
 * 16 outputs instead of 16 per 4. The price is precision: the transforms' constants (up to 8 and 1⁄24) grow the
 * rounding error about tenfold over F(2×2), still ~1e-5 of the output's scale at ResNet sizes; oneDNN and NNPACK
 * use the same tile for float32 inference. Which geometries take it is the planner's answer (wino43_applies).
 * ---------------------------------------------------------------------------------------------------------- */
typedef struct {
  const float *x, *u, *bias, *scale, *res;
  float *out;
  long n, c, h, w, oc, ocp, oh, ow, padT, padL, th, tw;
  gemm_split split; /* the tasks: groups of MR tiles (wino_group_tiles) */
  int act, nchw; /* nchw: x is [n, c, h, w] (the channels-last program's first layer), else [n, h, w, c] */
} wino43_job;

/* Bᵀ z of six vectors z[0], z[zs], …, z[5·zs] into r[0], r[rs], …, Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0;
 * 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]. */
static inline void wino43_bt(const vf *z, int zs, vf *r, int rs) {
  vf z0 = z[0], z1 = z[zs], z2 = z[2 * zs], z3 = z[3 * zs], z4 = z[4 * zs], z5 = z[5 * zs];
  vf four = vsplat(4.0f), five = vsplat(5.0f), two = vsplat(2.0f);
  vf p = z4 - z2, q = two * (z3 - z1);
  r[0] = four * z0 - five * z2 + z4;
  r[rs] = (z3 + z4) - four * (z1 + z2);
  r[2 * rs] = (z4 - z3) + four * (z1 - z2);
  r[3 * rs] = p + q;
  r[4 * rs] = p - q;
  r[5 * rs] = four * z1 - five * z3 + z5;
}

/* Aᵀ m of six vectors m[0], m[ms], … into y[0], y[ys], y[2·ys], y[3·ys], Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0;
 * 0 1 1 4 4 0; 0 1 −1 8 −8 1]. */
static inline void wino43_at(const vf *m, int ms, vf *y, int ys) {
  vf s = m[ms] + m[2 * ms], d = m[ms] - m[2 * ms], s2 = m[3 * ms] + m[4 * ms], d2 = m[3 * ms] - m[4 * ms];
  y[0] = m[0] + s + s2;
  y[ys] = d + vsplat(2.0f) * d2;
  y[2 * ys] = s + vsplat(4.0f) * s2;
  y[3 * ys] = d + vsplat(8.0f) * d2 + m[5 * ms];
}

/* Groups of MR tiles per task: about 640 KB of transformed input and products (36 planes of c and ocp floats per
 * tile) so that both stay in L2 while the weight panels stream past. */
static long wino43_task_groups(long c, long ocp) {
  long tiles = (640L << 10) / (36 * 4 * (c + ocp));
  return MAXI(1, (tiles + MR / 2) / MR);
}

/* V[ξ][k][ci] at v + ξ·vxs (tile-major: tile k's channels contiguous, the pointwise micro-kernel's rows) for the
 * task's tiles K0 … K0 + T of the global grid (row-major over all images), a vector of channels at a time (the last overlapping the one
 * before), the window's pixels outside the image zero; rows T … G·MR zeroed (the last group's GEMM reads them). */
static void wino43_input(const wino43_job *j, float *v, long vxs, long K0, long T, long G) {
  long tw = j->tw, th = j->th, c = j->c, h = j->h, w = j->w;
  for (long k = 0; k < T; k++) {
    long R = (K0 + k) / tw, img = R / th, iy0 = 4 * (R % th) - j->padT, ix0 = 4 * ((K0 + k) % tw) - j->padL;
    int inside = iy0 >= 0 && iy0 + 6 <= h && ix0 >= 0 && ix0 + 6 <= w;
    float *vk = v + k * c;
    for (long ch = 0; ch < c; ch += TT_VL) {
      long c0 = MINI(ch, c - TT_VL); /* c ≥ 16 ≥ TT_VL (wino43_applies) */
      vf d[36], t[36];
      for (int i = 0; i < 6; i++)
        for (int q = 0; q < 6; q++) {
          long iy = iy0 + i, ix = ix0 + q;
          if (!inside && (iy < 0 || iy >= h || ix < 0 || ix >= w)) d[6 * i + q] = vsplat(0.0f);
          else if (!j->nchw) d[6 * i + q] = vload(j->x + ((img * h + iy) * w + ix) * c + c0);
          else { /* channel planes h·w apart: one lane at a time (the first layer only) */
            vf e;
            for (int l = 0; l < TT_VL; l++) e[l] = j->x[((img * c + c0 + l) * h + iy) * w + ix];
            d[6 * i + q] = e;
          }
        }
      UNROLL for (int i = 0; i < 6; i++) wino43_bt(d + 6 * i, 1, t + 6 * i, 1); /* rows: t[i][b] */
      UNROLL for (int b = 0; b < 6; b++) wino43_bt(t + b, 6, d + b, 6);         /* columns: V[a][b] */
      UNROLL for (int q = 0; q < 36; q++) vstore(vk + q * vxs + c0, d[q]);
    }
  }
  for (int q = 0; q < 36; q++) memset(v + q * vxs + T * c, 0, sizeof(float) * (G * MR - T) * c);
}

/* Output transform of tile k (M[ξ] of its channels at m + ξ·mxs), act(scale·Y + bias (+ res)) into the pixels of
 * its 4×4 block inside the output; a vector of channels at a time, the last overlapping the one before. That one
 * stores only its own lanes: with the residual in place (res = out) the lanes before already hold their sums. */
static void wino43_output(const wino43_job *j, const float *m, long mxs, long R, long tx) {
  long oc = j->oc, img = R / j->th, oy = 4 * (R % j->th), ox = 4 * tx;
  long ny = MINI(4, j->oh - oy), nx = MINI(4, j->ow - ox);
  long base = ((img * j->oh + oy) * j->ow + ox) * oc;
  for (long ch = 0; ch < oc; ch += TT_VL) {
    long o = MINI(ch, oc - TT_VL), skip = ch - o;
    vf e[36], t[24], y[16];
    UNROLL for (int q = 0; q < 36; q++) e[q] = vload(m + q * mxs + o);
    UNROLL for (int i = 0; i < 6; i++) wino43_at(e + 6 * i, 1, t + 4 * i, 1); /* rows: t[i][b], b < 4 */
    UNROLL for (int b = 0; b < 4; b++) wino43_at(t + b, 4, y + b, 4);         /* columns: Y[a][b] */
    vf sv = j->scale ? vload(j->scale + o) : vsplat(1.0f), bv = j->bias ? vload(j->bias + o) : vsplat(0.0f);
    for (long a = 0; a < ny; a++)
      for (long b = 0; b < nx; b++) {
        long at = base + (a * j->ow + b) * oc + o;
        vf val = y[4 * a + b] * sv + bv;
        if (j->res) val += vload(j->res + at);
        val = act_v(val, j->act);
        if (skip == 0) vstore(j->out + at, val);
        else vstore_lanes(j->out + at, val, (int)skip, TT_VL);
      }
  }
}

/* One task: its groups of tiles (wino_group_tiles): input transform, 36 GEMMs M[ξ] (tiles × ocp) = V[ξ] (tiles × c) · U[ξ]
 * (c × ocp) on the weight panels in place, output transform tile by tile straight into the pixels. */
static void wino43_task(void *ctx, long t, int tid) {
  const wino43_job *j = ctx;
  long tw = j->tw, K0, T;
  wino_group_tiles(&j->split, j->n * j->th * tw, t, &K0, &T);
  long c = j->c, ocp = j->ocp, panels = ocp / NR, G = (T + MR - 1) / MR;
  long vxs = wino_vstride(G, c), mxs = wino_vstride(G, ocp), uxs = wino_u_stride(j->oc, c);
  float *v = tt_scratch(tid, SLOT_COL, sizeof(float) * 36 * vxs);
  float *m = tt_scratch(tid, SLOT_TILE, sizeof(float) * 36 * mxs);
  wino43_input(j, v, vxs, K0, T, G);
  for (int xi = 0; xi < 36; xi++)
    for (long p = 0; p < panels; p++) {
      const float *bp = j->u + xi * uxs + p * c * NR, *ap = v + xi * vxs;
      float *cp = m + xi * mxs + p * NR;
      wino_gemm_groups(T, c, ap, bp, wino_next_panel(j->u, uxs, c, panels, 36, xi, p), cp, ocp);
    }
  for (long k = 0; k < T; k++) wino43_output(j, m + k * ocp, mxs, (K0 + k) / tw, (K0 + k) % tw);
}

/* out [n, oh, ow, oc] = act(scale·conv3×3(x, w) + bias (+ res)), stride 1, undilated, by F(4×4, 3×3); x channels
 * last, or NCHW when nchw; u from wino_weights_panels_planes(…, 36). */
static void wino43_conv_nhwc(const float *x, const float *u, const float *bias, const float *scale, const float *res,
                             float *out, long n, long c, long h, long w, long oc, long oh, long ow, long padT,
                             long padL, int nchw, int act) {
  wino43_job j = { .x = x, .u = u, .bias = bias, .scale = scale, .res = res, .out = out, .n = n, .c = c, .h = h,
                   .w = w, .oc = oc, .ocp = ROUNDUP(oc, NR), .oh = oh, .ow = ow, .padT = padT, .padL = padL,
                   .th = (oh + 3) / 4, .tw = (ow + 3) / 4, .act = act, .nchw = nchw };
  int T = tt_num_threads();
  j.split = gemm_split_plan((n * j.th * j.tw + MR - 1) / MR, wino43_task_groups(c, j.ocp), 1, 0);
  long tasks = j.split.chunks;
  if (T > 1 && tasks > 1) tt_parallel(tasks, wino43_task, &j);
  else for (long t = 0; t < tasks; t++) wino43_task(&j, t, 0);
}

/* The same convolution (undilated) with a channels-last output — and input, when in_nhwc — adding res (shaped as
 * out, or null) before the activation; u from wino_weights_panels (the channels-last program packs it once). */
static void wino_conv_nhwc(const float *x, const float *u, const float *bias, const float *scale, const float *res,
                           float *out, long n, long c, long h, long wd, long oc, long oh, long ow, long padT, long padL,
                           int in_nhwc, int act) {
  wino_job j;
  wino_prepare(&j, x, n, c, h, wd, oc, oh, ow, padT, padL, 1, 1, in_nhwc);
  j.out_nhwc = 1;
  j.res = res;
  wino_run(&j, 0, u, bias, scale, out, act);
}

/* ------------------------------------------------------------------------------------------------------------
 * Winograd F(2×2, 3×3) for stride-1, undilated, ungrouped 3×3 convolutions (Lavin & Gray 2016): each 2×2 block of
 * outputs is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A over a 4×4 input tile d, so the channel sums become 16 independent GEMMs
 * with 16 multiplies per 4 outputs instead of 36: 2.25× fewer, less the transforms. A task takes whole rows of
 * tiles, about WINO_TILES, so its transformed input and products stay in cache.
 * ---------------------------------------------------------------------------------------------------------- */
#define WINO_TILES 96 /* tiles per task, at least: whole rows of tiles */
typedef struct {
  const float *xpad, *u, *bias, *scale;
  float *out;
  long c, oc, oh, ow, HP, WP, th, tw, rows, blocks;
  int act;
  long ocp; /* oc rounded up to NR (the forward's weight panels) */
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

/* U[ξ][ci][o] = (G g Gᵀ)[ξ] with G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], ξ = 4·row + column of the 4×4 result. */
static void wino_weights(const float *w, float *u, long oc, long c) {
  long plane = oc * c;
  for (long ci = 0; ci < c; ci++) /* o innermost: the 16 output planes are written along their rows */
    for (long o = 0; o < oc; o++) {
      const float *g = w + (o * c + ci) * 9;
      float t[4][3];
      for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
      }
      for (int i = 0; i < 4; i++) {
        float *d = u + (long)(4 * i) * plane + ci * oc + o;
        d[0] = t[i][0];
        d[plane] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        d[2 * plane] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        d[3 * plane] = t[i][2];
      }
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

/* Output transform of one tile, Y = Aᵀ M A with Aᵀ = [1 1 1 0; 0 1 −1 −1], then act(scale·Y + bias): M[ξ] of output
 * channel o at m[ξ·xs + o]; the 2×2 outputs of channel o go to dst + o·sp at offsets 0, 1 (where `right`), ld and
 * ld + 1 (where `down`). Vectorised over output channels. Shared by the 2-D and 3-D kernels (scale, bias: null for
 * none). */
static inline void wino_out_tile(const float *m, long xs, long oc, const float *scale, const float *bias, int act,
                                 float *dst, long sp, long ld, int right, int down) {
  long pos[4] = { 0, 1, ld, ld + 1 };
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
      vf val = act_v(y[q] * sv + bv, act); /* NaN passes, as PyTorch */
      float *d = dst + o * sp + pos[q];
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
      if (valid[q]) dst[o * sp + pos[q]] = act_s(y[q] * sc + bi, act);
  }
}

/* U[ξ][panel][ci][NR]: the weight transform in the GEMM micro-kernel's B-panel layout, columns past oc zero.
 * tmp: 16·c·oc floats. */
static void wino_weights_panels(const float *w, float *u, float *tmp, long oc, long c, long ocp) {
  wino_weights(w, tmp, oc, c);
  long plane = c * oc, panels = ocp / NR;
  for (int xi = 0; xi < 16; xi++)
    for (long p = 0; p < panels; p++)
      for (long ci = 0; ci < c; ci++) {
        float *dst = u + ((xi * panels + p) * c + ci) * NR;
        const float *src = tmp + xi * plane + ci * oc;
        for (long jj = 0; jj < NR; jj++) dst[jj] = p * NR + jj < oc ? src[p * NR + jj] : 0.0f;
      }
}

/* V for a task's tiles straight in the micro-kernel's A-panel layout: the task's T = rows·tw tiles are numbered
 * along its tile rows (tile k at row k / tw, column k % tw) and cut into G groups of MR, V[ξ][g][ci][MR] at
 * v + ξ·vxs, so the K = c operand of one (ξ, group) is one contiguous run and nothing is packed. Groups run on
 * across tile rows (a row of 64 tiles is not a multiple of MR = 14; per-row groups would leave up to a third of
 * each GEMM on empty rows at 64² maps): a vector that crosses into the next row is transformed once per row it
 * touches, at column tx − k·tw of row r + k (inside the padded image: WP > 2·tw), and each lane is taken from its
 * own row — the transform is the same linear map on every lane. Lanes past the task's last tile are computed from
 * whatever lies there (the pad slack) and never stored. Stores go in ascending address order per ξ so each one's
 * spill past MR lanes is overwritten by the next (the last lands in the TT_VL floats of slack in vxs). */
static void wino_input_panels(const wino_job *j, const float *xb, float *v, long vxs, long ty0, long rows, long G) {
  long tw = j->tw, T = rows * tw, WP = j->WP, plane = j->HP * WP, c = j->c;
  vi iota;
  UNROLL for (int l = 0; l < TT_VL; l++) iota[l] = l;
  for (long g = 0; g < G; g++)
    for (long ci = 0; ci < c; ci++) {
      const float *xc = xb + ci * plane + 2 * ty0 * WP;
      for (long l0 = 0; l0 < MR; l0 += TT_VL) {
        long k0 = MINI(g * MR + l0, T - 1), r0 = k0 / tw, tx0 = k0 % tw;
        vf e[16];
        wino_in_regs(xc + 2 * r0 * WP + 2 * tx0, WP, e);
        for (long k = 1; r0 + k < rows && k * tw - tx0 < TT_VL; k++) {
          vf f[16];
          wino_in_regs(xc + 2 * (r0 + k) * WP + 2 * (tx0 - k * tw), WP, f);
          vi sel = iota >= (int)(k * tw - tx0);
          UNROLL for (int q = 0; q < 16; q++) e[q] = vsel(sel, f[q], e[q]);
        }
        float *dst = v + (g * c + ci) * MR + l0;
        UNROLL for (int q = 0; q < 16; q++) vstore(dst + q * vxs, e[q]);
      }
    }
}

/* Floats of a task's V per transform position: G groups × c channels × MR tiles, plus the spill of the last store. */
static long wino_vstride(long G, long c) { return G * c * MR + TT_VL; }

/* One task: the tile rows [ty0, ty0 + rows) of image b. Input transform into panels, 16 GEMMs
 * M[ξ] (tiles × ocp) = V[ξ] (tiles × c) · U[ξ] (c × ocp) by the micro-kernel on panels in place (U's NR-column panel
 * stays in L1 while the groups stream past it), then the output transform and epilogue tile by tile into `stage`
 * [oc][2·rows][ow] — the task's output rows, contiguous per channel — copied out one run per channel. (Storing each
 * tile straight into out scattered every vector over oc planes oh·ow floats apart, a TLB miss per lane.) */
static void wino_task(void *ctx, long t, int tid) {
  const wino_job *j = ctx;
  long b = t / j->blocks, ty0 = (t % j->blocks) * j->rows, rows = MINI(j->rows, j->th - ty0), tw = j->tw, T = rows * tw;
  long c = j->c, oc = j->oc, ocp = j->ocp, panels = ocp / NR, G = (T + MR - 1) / MR;
  long vxs = wino_vstride(G, c), mxs = G * MR * ocp, ow = j->ow, oh = j->oh, ohw = oh * ow, sp = 2 * rows * ow;
  float *v = tt_scratch(tid, SLOT_COL, sizeof(float) * 16 * vxs);
  float *m = tt_scratch(tid, SLOT_TILE, sizeof(float) * 16 * mxs);
  float *stage = tt_scratch(tid, SLOT_TMP, sizeof(float) * oc * sp);
  wino_input_panels(j, j->xpad + b * c * j->HP * j->WP, v, vxs, ty0, rows, G);
  for (int xi = 0; xi < 16; xi++)
    for (long p = 0; p < panels; p++) {
      const float *bp = j->u + (xi * panels + p) * c * NR, *ap = v + xi * vxs;
      float *cp = m + xi * mxs + p * NR;
      for (long g = 0; g < G; g++) uk_packed(c, ap + g * c * MR, 0, bp, cp + g * MR * ocp, ocp, 0);
    }
  for (long k = 0; k < T; k++) {
    long r = k / tw, oy = 2 * (ty0 + r), ox = 2 * (k % tw);
    wino_out_tile(m + k * ocp, mxs, oc, j->scale, j->bias, j->act, stage + 2 * r * ow + ox, sp, ow, ox + 1 < ow, oy + 1 < oh);
  }
  long y0 = 2 * ty0, len = (MINI(oh, 2 * (ty0 + rows)) - y0) * ow;
  float *ob = j->out + b * oc * ohw + y0 * ow;
  for (long o = 0; o < oc; o++) memcpy(ob + o * ohw, stage + o * sp, sizeof(float) * len);
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

/* Pads x into the Winograd tile grid for an oh×ow output and fills the geometry of a wino_job. */
static void wino_prepare(wino_job *j, const float *x, long n, long c, long h, long wd, long oc, long oh, long ow,
                         long padT, long padL) {
  long th = (oh + 1) / 2, tw = (ow + 1) / 2;
  dconv d = { .n = n, .cin = c, .h = h, .w = wd, .cout = oc, .oh = 2 * th, .ow = 2 * tw, .kh = 3, .kw = 3, .padT = padT,
              .padL = padL, .dilH = 1, .dilW = 1, .groups = 1, .sH = 1, .sW = 1 };
  d.x = x;
  d.HP = 2 * th + 2;
  d.WP = 2 * tw + 2;
  d.imgP = c * d.HP * d.WP;
  /* the slack covers the forward's reads past the last tile row: lanes past a task's last tile, never stored */
  long slack = 2 * (MR + 2 * TT_VL) + 16;
  d.xpad = tt_shared_scratch(SH_XPAD, sizeof(float) * (n * d.imgP + slack));
  memset(d.xpad + n * d.imgP, 0, sizeof(float) * slack);
  if (tt_num_threads() > 1 && n > 1) tt_parallel(n, dconv_pad_task, &d);
  else for (long b = 0; b < n; b++) dconv_pad_task(&d, b, 0);
  long rows = MAXI(1, WINO_TILES / tw);
  *j = (wino_job){ d.xpad, 0, 0, 0, 0, c, oc, oh, ow, d.HP, d.WP, th, tw, rows, (th + rows - 1) / rows, 0 };
}

static void wino_conv_bwd_weight(const float *x, const float *gy, float *gw, long n, long c, long h, long wd, long oc,
                                 long oh, long ow, long padT, long padL) {
  wino_wg_job wj;
  wino_prepare(&wj.f, x, n, c, h, wd, oc, oh, ow, padT, padL);
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



/* out = act(scale·conv3×3(x, w) + bias) with stride 1 and padding (padT, padL) on a c×h×w input, oh×ow output. */
static void wino_conv(const float *x, const float *w, const float *bias, const float *scale, float *out, long n, long c,
                      long h, long wd, long oc, long oh, long ow, long padT, long padL, int act) {
  wino_job j;
  wino_prepare(&j, x, n, c, h, wd, oc, oh, ow, padT, padL);
  j.ocp = ROUNDUP(oc, NR);
  float *u = tt_shared_scratch(SH_WPACK, sizeof(float) * 16 * c * j.ocp);
  /* not SH_WT: the input gradient passes its flipped weights in it; SH_GYPAD is free here (only the weight
   * gradient, which never runs inside this call, uses it on this path) */
  wino_weights_panels(w, u, tt_shared_scratch(SH_GYPAD, sizeof(float) * 16 * c * oc), oc, c, j.ocp);
  j.u = u; j.bias = bias; j.scale = scale; j.out = out; j.act = act;
  long tasks = n * j.blocks;
  if (tt_num_threads() > 1 && tasks > 1) tt_parallel(tasks, wino_task, &j);
  else for (long t = 0; t < tasks; t++) wino_task(&j, t, 0);
}

/* ------------------------------------------------------------------------------------------------------------
 * 3×3×3 convolution, stride 1, undilated, one group: Winograd F(2×2, 3×3) over height and width, the depth taps
 * folded into the transform-domain GEMMs. Since out[z] = Σ_kd conv2d₃ₓ₃(x[z + kd − pD], w[:, :, kd]), each of the
 * 16 transform positions ξ gives one GEMM per output depth z,
 *   M[ξ][tile][o] = Σ_{kd, ci} V[ξ][z + kd − pD][tile][ci] · U[ξ][kd][ci][o],
 * whose reduction runs over K = 3·Cin (fewer where z's taps reach into the depth padding). Each input depth slice
 * is transformed once per task and read by the three output depths that use it, and the weights once per call.
 * The transforms are conv_winograd.inc.c's (wino_in_vec, wino_weights, and its output transform wino_out_tile).
 *
 * No packing: the input transform writes V straight in the GEMM micro-kernel's A-panel layout — groups of MR
 * tiles of one tile row, p-major — with the depth slices of a task consecutive in p, so the K = 3·Cin operand of
 * one (ξ, z, group) is one contiguous run that uk_packed reads in place; U is packed once per call in NR-column
 * panels (zero-padded past oc) with the same (kd, ci) order. A task is (image, block of tile rows, block of
 * W3_DEPTHS output depths): its W3_DEPTHS + 2 transformed slices stay in cache while the GEMMs read them.
 * ---------------------------------------------------------------------------------------------------------- */
#define W3_TILES 56 /* tiles per task, at least: whole tile rows */
#define W3_DEPTHS 4  /* output depths per task */

typedef struct {
  const float *xpad, *u, *bias;
  float *out;
  long c, oc, ocp, d, od, oh, ow, pD, HP, WP, th, tw, gpr, rows, blocks, dchunks;
} w3_job;

/* Floats of a task's V per transform position: G groups × S slices × c channels × MR tiles, plus the spill of the
 * last vector store (wino_in_vec writes TT_VL lanes; a group holds MR). */
static long w3_vstride(long G, long S, long c) { return G * S * c * MR + TT_VL; }

/* U[ξ][panel][kd][ci][NR] from w [oc][c][3][3][3], columns past oc zero. tmp: 16·3c·oc floats. */
static void w3_weights(const float *w, float *u, float *tmp, long oc, long c, long ocp) {
  /* w[o][ci][kd] is a 3×3 filter at (o·3c + 3ci + kd)·9: as 2-D weights of 3c input channels */
  wino_weights(w, tmp, oc, 3 * c);
  long plane = 3 * c * oc, panels = ocp / NR;
  for (int xi = 0; xi < 16; xi++)
    for (long p = 0; p < panels; p++)
      for (long kd = 0; kd < 3; kd++)
        for (long ci = 0; ci < c; ci++) {
          float *dst = u + (((xi * panels + p) * 3 + kd) * c + ci) * NR;
          const float *src = tmp + xi * plane + (ci * 3 + kd) * oc;
          for (long jj = 0; jj < NR; jj++) {
            long o = p * NR + jj;
            dst[jj] = o < oc ? src[o] : 0.0f;
          }
        }
}

/* Output transform of depth z for the G groups of a task (tile rows from ty0), plus the bias, as wino_task's. The
 * results of one tile row go to `stage` [oc][2][ow] first and are then copied out two output rows per channel:
 * storing straight into out scattered each vector over oc planes od·oh·ow floats apart — a TLB miss per lane, which
 * made this transform cost as much as the GEMMs. */
static void w3_output(const w3_job *j, const float *m, long mxs, long b, long z, long ty0, long G, float *stage) {
  long oc = j->oc, ocp = j->ocp, ow = j->ow, oh = j->oh, ohw = oh * ow, tw = j->tw, gpr = j->gpr, sp = 2 * ow;
  float *ob = j->out + (b * oc * j->od + z) * ohw;
  for (long g0 = 0; g0 < G; g0 += gpr) {
    long ty = ty0 + g0 / gpr, oy = 2 * ty;
    for (long g = g0; g < g0 + gpr; g++) {
      long tx0 = (g - g0) * MR;
      for (long i = 0; i < MR && tx0 + i < tw; i++) {
        long ox = 2 * (tx0 + i);
        wino_out_tile(m + (g * MR + i) * ocp, mxs, oc, 0, j->bias, 0, stage + ox, sp, 1, ow, ox + 1 < ow, 1, 0);
      }
    }
    /* rows oy and oy + 1 (when inside the output) are contiguous in each output plane */
    long len = MINI(2, oh - oy) * ow;
    for (long o = 0; o < oc; o++) memcpy(ob + o * j->od * ohw + oy * ow, stage + o * sp, sizeof(float) * len);
  }
}

/* Depth z with no tap inside the input (padding deeper than the kernel reaches): the bias alone. */
static void w3_bias_only(const w3_job *j, long b, long z, long ty0, long rows) {
  long ohw = j->oh * j->ow, y0 = 2 * ty0, y1 = MINI(j->oh, 2 * (ty0 + rows));
  for (long o = 0; o < j->oc; o++) {
    float *dst = j->out + ((b * j->oc + o) * j->od + z) * ohw;
    float v = j->bias ? j->bias[o] : 0.0f;
    for (long i = y0 * j->ow; i < y1 * j->ow; i++) dst[i] = v;
  }
}

static void w3_task(void *ctx, long t, int tid) {
  const w3_job *j = ctx;
  long dchunk = t % j->dchunks, blk = (t / j->dchunks) % j->blocks, b = t / (j->dchunks * j->blocks);
  long ty0 = blk * j->rows, rows = MINI(j->rows, j->th - ty0), G = rows * j->gpr;
  long z0 = dchunk * W3_DEPTHS, z1 = MINI(j->od, z0 + W3_DEPTHS);
  long c = j->c, ocp = j->ocp, pD = j->pD, WP = j->WP, sliceP = j->HP * WP;
  /* input depths [izlo, izhi) read by output depths [z0, z1) */
  long izlo = MAXI(0, z0 - pD), izhi = MINI(j->d, z1 - 1 - pD + 3), S = MAXI(0, izhi - izlo);
  long vxs = w3_vstride(G, S, c), mxs = G * MR * ocp, panels = ocp / NR;
  float *v = tt_scratch(tid, SLOT_COL, sizeof(float) * 16 * MAXI(vxs, 1));
  float *m = tt_scratch(tid, SLOT_TILE, sizeof(float) * 16 * mxs);
  float *stage = tt_scratch(tid, SLOT_TMP, sizeof(float) * j->oc * 2 * j->ow);
  /* V[ξ][g][s][ci][MR], in ascending address order per ξ so each store's spill past MR lanes is overwritten by
   * a later store (the last one lands in the slack) */
  for (long g = 0; g < G; g++) {
    long ty = ty0 + g / j->gpr, tx0 = (g % j->gpr) * MR;
    for (long s = 0; s < S; s++)
      for (long ci = 0; ci < c; ci++) {
        const float *src = j->xpad + ((b * c + ci) * j->d + izlo + s) * sliceP + 2 * ty * WP + 2 * tx0;
        float *dst = v + ((g * S + s) * c + ci) * MR;
        for (long l0 = 0; l0 < MR; l0 += TT_VL) wino_in_vec(src + 2 * l0, WP, dst + l0, vxs);
      }
  }
  for (long z = z0; z < z1; z++) {
    long kdlo = MAXI(0, pD - z), kdhi = MINI(3, j->d + pD - z);
    if (kdhi <= kdlo) {
      w3_bias_only(j, b, z, ty0, rows);
      continue;
    }
    long s0 = z - pD + kdlo - izlo, kc = (kdhi - kdlo) * c;
    for (int xi = 0; xi < 16; xi++)
      for (long p = 0; p < panels; p++) {
        const float *bp = j->u + ((xi * panels + p) * 3 + kdlo) * c * NR;
        const float *ap = v + xi * vxs + s0 * c * MR;
        float *cp = m + xi * mxs + p * NR;
        for (long g = 0; g < G; g++) uk_packed(kc, ap + g * S * c * MR, 0, bp, cp + g * MR * ocp, ocp, 0);
      }
    w3_output(j, m, mxs, b, z, ty0, G, stage);
  }
}

/* Padding every plane of x into the tile grid, split into W3_PAD_PARTS ranges of planes for the thread pool. */
#define W3_PAD_PARTS 16
typedef struct {
  const float *x;
  float *xpad;
  long planes, h, w, HP, WP, pH, pW, parts;
} w3_pad_job;

static void w3_pad_task(void *ctx, long t, int tid) {
  (void)tid;
  const w3_pad_job *p = ctx;
  long per = (p->planes + p->parts - 1) / p->parts, a = t * per, e = MINI(p->planes, a + per);
  if (a < e) pad_planes(p->x + a * p->h * p->w, p->xpad + a * p->HP * p->WP, e - a, p->h, p->w, p->HP, p->WP, p->pH, p->pW);
}

/* Whether the kernel serves this geometry (the TypeScript backend runs the lowered 2-D path otherwise). */
static int w3_applies(const c3geom *g) {
  return g->kd == 3 && g->kh == 3 && g->kw == 3 && g->sD == 1 && g->sH == 1 && g->sW == 1 && g->dD == 1 && g->dH == 1 &&
         g->dW == 1 && g->groups == 1 && g->pD >= 0 && g->pH >= 0 && g->pW >= 0 && g->n > 0 && g->c > 0 && g->oc > 0 &&
         g->d > 0 && g->h > 0 && g->w > 0 && g->od > 0 && g->oh > 0 && g->ow > 0;
}

static int op_conv3d_winograd(const float *x, const float *w, const float *bias, float *out, const int32_t *gi) {
  c3geom g = parse_c3g(gi);
  if (!w3_applies(&g)) return 0;
  long c = g.c, oc = g.oc, th = (g.oh + 1) / 2, tw = (g.ow + 1) / 2;
  w3_job j = { 0 };
  j.c = c; j.oc = oc; j.ocp = ROUNDUP(oc, NR); j.d = g.d; j.od = g.od; j.oh = g.oh; j.ow = g.ow; j.pD = g.pD;
  j.th = th; j.tw = tw; j.HP = 2 * th + 2; j.WP = 2 * tw + 2; j.gpr = (tw + MR - 1) / MR;
  j.rows = MAXI(1, W3_TILES / tw); j.blocks = (th + j.rows - 1) / j.rows;
  j.dchunks = (g.od + W3_DEPTHS - 1) / W3_DEPTHS;
  j.bias = bias; j.out = out;
  /* every (image, channel, depth) plane padded into the tile grid; the slack covers the reads of the last row's
   * groups past its end (their lanes are never stored) */
  long planes = g.n * c * g.d, sliceP = j.HP * j.WP, slack = 2 * (MR + 2 * TT_VL) + 16;
  float *xpad = tt_shared_scratch(SH_XPAD, sizeof(float) * (planes * sliceP + slack));
  memset(xpad + planes * sliceP, 0, sizeof(float) * slack);
  w3_pad_job pj = { x, xpad, planes, g.h, g.w, j.HP, j.WP, g.pH, g.pW, tt_num_threads() > 1 && planes >= 64 ? W3_PAD_PARTS : 1 };
  if (pj.parts > 1) tt_parallel(pj.parts, w3_pad_task, &pj);
  else w3_pad_task(&pj, 0, 0);
  j.xpad = xpad;
  float *u = tt_shared_scratch(SH_WPACK, sizeof(float) * 16 * 3 * c * j.ocp);
  w3_weights(w, u, tt_shared_scratch(SH_WT, sizeof(float) * 16 * 3 * c * oc), oc, c, j.ocp);
  j.u = u;
  long tasks = g.n * j.blocks * j.dchunks;
  if (tt_num_threads() > 1 && tasks > 1) tt_parallel(tasks, w3_task, &j);
  else for (long t = 0; t < tasks; t++) w3_task(&j, t, 0);
  return 1;
}

/* ------------------------------------------------------------------------------------------------------------
 * Optimiser updates: one pass over parameter, gradient and state (PyTorch's arithmetic, in float32).
 * ---------------------------------------------------------------------------------------------------------- */
/* The tasks' view of one update: h holds the hyper-parameters in the order each task reads them (SGD: lr, momentum,
 * dampening, weight decay; Adam: the fields of adam_hyper), flags SGD's nesterov (1), first step (2), maximize (4). */
typedef struct { long n; float *w; const float *g; float *s1, *s2, *s3; float h[8]; int flags; } opt_job;

static void sgd_task(void *ctx, long t, int tid) {
  (void)tid;
  const opt_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK);
  float lr = j->h[0], mom = j->h[1], keep = 1.0f - j->h[2], wd = j->h[3], sign = (j->flags & 4) ? -1.0f : 1.0f;
  float *w = j->w, *buf = j->s1;
  const float *g = j->g;
  if (!buf) {
    for (long i = s; i < e; i++) w[i] -= lr * (sign * g[i] + wd * w[i]);
  } else if (j->flags & 2) {
    if (j->flags & 1) for (long i = s; i < e; i++) { float d = sign * g[i] + wd * w[i]; buf[i] = d; w[i] -= lr * (d + mom * d); }
    else for (long i = s; i < e; i++) { float d = sign * g[i] + wd * w[i]; buf[i] = d; w[i] -= lr * d; }
  } else if (j->flags & 1) {
    for (long i = s; i < e; i++) { float d = sign * g[i] + wd * w[i]; float b = mom * buf[i] + keep * d; buf[i] = b; w[i] -= lr * (d + mom * b); }
  } else {
    for (long i = s; i < e; i++) { float d = sign * g[i] + wd * w[i]; float b = mom * buf[i] + keep * d; buf[i] = b; w[i] -= lr * b; }
  }
}

static void op_sgd_step(long n, float *w, const float *g, float *buf, const double *hp) {
  sgd_hyper h = parse_sgd_hyper(hp);
  int flags = (h.nesterov ? 1 : 0) | (h.first_step ? 2 : 0) | (h.maximize ? 4 : 0);
  opt_job j = { n, w, g, buf, 0, 0, { h.lr, h.momentum, h.dampening, h.weight_decay }, flags };
  run_chunks(n, sgd_task, &j);
}

static void adam_task(void *ctx, long t, int tid) {
  (void)tid;
  const opt_job *j = ctx;
  long s = t * EW_CHUNK, e = MINI(j->n, s + EW_CHUNK);
  float b1 = j->h[0], b2 = j->h[1], eps = j->h[2], decay = j->h[3], l2 = j->h[4], step = j->h[5], bc2 = j->h[6], sign = j->h[7];
  float c1 = 1.0f - b1, c2 = 1.0f - b2, inv_bc2 = 1.0f / bc2;
  float *w = j->w, *m = j->s1, *v = j->s2, *vmax = j->s3;
  const float *g = j->g;
  if (vmax) {
    for (long i = s; i < e; i++) {
      float wi = w[i] * decay, gi = sign * g[i] + l2 * w[i];
      float mi = m[i] * b1 + c1 * gi, vi = v[i] * b2 + c2 * gi * gi;
      float vm = vmax[i] > vi ? vmax[i] : vi;
      m[i] = mi; v[i] = vi; vmax[i] = vm;
      w[i] = wi - step * mi / (__builtin_sqrtf(vm) * inv_bc2 + eps);
    }
  } else {
    for (long i = s; i < e; i++) {
      float wi = w[i] * decay, gi = sign * g[i] + l2 * w[i];
      float mi = m[i] * b1 + c1 * gi, vi = v[i] * b2 + c2 * gi * gi;
      m[i] = mi; v[i] = vi;
      w[i] = wi - step * mi / (__builtin_sqrtf(vi) * inv_bc2 + eps);
    }
  }
}

static void op_adam_step(long n, float *w, const float *g, float *m, float *v, float *vmax, const double *hp) {
  adam_hyper h = parse_adam_hyper(hp);
  opt_job j = { n, w, g, m, v, vmax, { h.beta1, h.beta2, h.eps, h.decay, h.l2, h.step_size, h.bc2_sqrt, h.sign }, 0 };
  run_chunks(n, adam_task, &j);
}

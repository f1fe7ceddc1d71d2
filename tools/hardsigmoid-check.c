/* Checks, for every float x in (−3, 3), that the hardsigmoid module's value — x/6 + 1/2 in double, rounded once to
 * float — is what the gates' vector epilogue computes (nhwc_hardsigmoid_v in native/src/kernels/conv_nhwc.inc.c):
 * x·(1/6) + 1/2 in double, the product and the sum rounded separately or fused. It prints the count of floats
 * checked and of mismatches for each form (the float-only fmaf form, for contrast, is not exact). Not part of the
 * build; about 7 s:
 *   gcc -O2 -ffp-contract=off tools/hardsigmoid-check.c -o /tmp/hs -lm && /tmp/hs */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  long n = 0, mul_add = 0, fused = 0, in_float = 0;
  for (uint64_t u = 0; u < 0x100000000ull; u++) {
    uint32_t w = (uint32_t)u;
    float x;
    memcpy(&x, &w, sizeof x);
    if (!(x > -3.0f && x < 3.0f)) continue;
    n++;
    float ref = (float)((double)x / 6.0 + 0.5);
    volatile double m = (double)x * (1.0 / 6.0); /* rounded on its own: no contraction across the volatile */
    if ((float)(m + 0.5) != ref) mul_add++;
    if ((float)fma((double)x, 1.0 / 6.0, 0.5) != ref) fused++;
    if (fmaf(x, 1.0f / 6.0f, 0.5f) != ref) in_float++;
  }
  printf("floats in (-3, 3): %ld; mismatches: multiply then add in double %ld, fused in double %ld, fmaf in float %ld\n",
         n, mul_add, fused, in_float);
  return mul_add || fused;
}

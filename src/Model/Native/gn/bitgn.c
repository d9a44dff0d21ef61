/*
 * libbitgn.so: GroupNorm for float32 CPU tensors, forward and backward, for the two dense 4-D layouts libtorch
 * gives a convolution's output: channels-last (NHWC in memory) and contiguous NCHW. Native/NativeGroupNorm.cs
 * says when it is used and why.
 *
 * Every entry point works on one slab: one sample n and the groups [g0, g1). The caller runs slabs on its own
 * threads (no OpenMP here: libtorch brings its libgomp and a second runtime would fight it). A slab's result does
 * not depend on how the work was split, so the output is the same for any thread count and bitwise repeatable.
 *
 * With relu set, the forward writes max(y, 0) (the ReLU that follows every GroupNorm of the network but none) and the
 * backward recomputes y from x and the saved statistics to pass the gradient only where y > 0, so no output needs
 * keeping. The scale it recomputes with is rounded exactly as the forward's.
 *
 * Accuracy: sums are taken of x - K with a per-channel shift K (the channel's first value in forward, the group
 * mean in backward), in float over blocks of at most BLOCK values, each block added into double. The variance is
 * then formed in double around the group mean, so a large mean does not cancel the variance away.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BITGN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BITGN_CLONES
#endif

#define ROWS_PER_BLOCK 32  /* NHWC: rows of the slab summed in float before they go into double */
#define LANES 16           /* NCHW: independent float partial sums, one vector register wide on AVX-512 */
#define SPAN_PER_BLOCK 1024 /* NCHW: values per float block */

int bitgn_abi_version(void) { return 2; }

/* Group statistics from per-channel shifted sums: s1 = sum(x - K), s2 = sum((x - K)^2) over count values each.
   Four partial sums per loop, so the additions do not wait on one another (a group is up to 64 channels). */
static inline void group_moments(const double *s1, const double *s2, const float *shift, int64_t d, int64_t count,
                                 double eps, double *mean_out, double *rstd_out)
{
    const double cnt = (double)count;
    double t[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        for (int l = 0; l < 4; l++) {
            t[l] += s1[j + l] + cnt * shift[j + l];
        }
    }
    for (; j < d; j++) {
        t[0] += s1[j] + cnt * shift[j];
    }
    const double m = (double)d * cnt;
    const double mean = ((t[0] + t[1]) + (t[2] + t[3])) / m;
    double q[4] = {0.0, 0.0, 0.0, 0.0};
    for (j = 0; j + 4 <= d; j += 4) {
        for (int l = 0; l < 4; l++) {
            const double k = (double)shift[j + l] - mean;
            q[l] += s2[j + l] + 2.0 * k * s1[j + l] + cnt * k * k;
        }
    }
    for (; j < d; j++) {
        const double k = (double)shift[j] - mean;
        q[0] += s2[j] + 2.0 * k * s1[j] + cnt * k * k;
    }
    double var = ((q[0] + q[1]) + (q[2] + q[3])) / m;
    if (var < 0.0) {
        var = 0.0;
    }
    *mean_out = mean;
    *rstd_out = 1.0 / sqrt(var + eps);
}

/* db = sum gamma_j s1_j and ds = sum gamma_j s2_j over a group's d channels, four partial sums each. */
static inline void group_grad_sums(const double *s1, const double *s2, const float *gamma, int64_t d, double *db_out,
                                   double *ds_out)
{
    double b[4] = {0.0, 0.0, 0.0, 0.0}, q[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        for (int l = 0; l < 4; l++) {
            b[l] += (double)gamma[j + l] * s1[j + l];
            q[l] += (double)gamma[j + l] * s2[j + l];
        }
    }
    for (; j < d; j++) {
        b[0] += (double)gamma[j] * s1[j];
        q[0] += (double)gamma[j] * s2[j];
    }
    *db_out = (b[0] + b[1]) + (b[2] + b[3]);
    *ds_out = (q[0] + q[1]) + (q[2] + q[3]);
}

/* Forward, channels-last. x, y: [N, HW, C]; gamma, beta: [C]; mean, rstd: [N, G]. Returns 0, or -1 without memory. */
BITGN_CLONES
int bitgn_forward_nhwc(const float *restrict x, float *restrict y, const float *restrict gamma,
                       const float *restrict beta, float *restrict mean_out, float *restrict rstd_out,
                       int64_t c, int64_t hw, int64_t groups, double eps, int64_t n, int64_t g0, int64_t g1, int relu)
{
    const int64_t d = c / groups;
    const int64_t c0 = g0 * d;
    const int64_t w = (g1 - g0) * d;
    double *s1 = malloc(sizeof(double) * 2 * w);
    float *f = malloc(sizeof(float) * 6 * w);
    if (s1 == NULL || f == NULL) {
        free(s1);
        free(f);
        return -1;
    }
    double *s2 = s1 + w;
    float *shift = f, *a1 = f + w, *a2 = f + 2 * w, *scale = f + 3 * w, *offset = f + 4 * w, *centre = f + 5 * w;
    const float *xs = x + n * hw * c + c0;
    float *ys = y + n * hw * c + c0;
    for (int64_t j = 0; j < w; j++) {
        shift[j] = xs[j];
        s1[j] = 0.0;
        s2[j] = 0.0;
    }
    for (int64_t r0 = 0; r0 < hw; r0 += ROWS_PER_BLOCK) {
        const int64_t r1 = r0 + ROWS_PER_BLOCK < hw ? r0 + ROWS_PER_BLOCK : hw;
        for (int64_t j = 0; j < w; j++) {
            a1[j] = 0.0f;
            a2[j] = 0.0f;
        }
        for (int64_t r = r0; r < r1; r++) {
            const float *row = xs + r * c;
            for (int64_t j = 0; j < w; j++) {
                const float v = row[j] - shift[j];
                a1[j] += v;
                a2[j] += v * v;
            }
        }
        for (int64_t j = 0; j < w; j++) {
            s1[j] += a1[j];
            s2[j] += a2[j];
        }
    }
    for (int64_t g = g0; g < g1; g++) {
        const int64_t o = (g - g0) * d;
        double mean, rstd;
        group_moments(s1 + o, s2 + o, shift + o, d, hw, eps, &mean, &rstd);
        const float rstd_f = (float)rstd;
        mean_out[n * groups + g] = (float)mean;
        rstd_out[n * groups + g] = rstd_f;
        /* y = (x - mean) a + beta: subtracting first keeps the small differences exact where the group varies little. */
        for (int64_t j = 0; j < d; j++) {
            scale[o + j] = (float)((double)rstd_f * gamma[c0 + o + j]);
            offset[o + j] = beta[c0 + o + j];
            centre[o + j] = (float)mean;
        }
    }
    if (relu) {
        for (int64_t r = 0; r < hw; r++) {
            const float *row = xs + r * c;
            float *out = ys + r * c;
            for (int64_t j = 0; j < w; j++) {
                const float v = (row[j] - centre[j]) * scale[j] + offset[j];
                out[j] = v > 0.0f ? v : 0.0f;
            }
        }
    } else {
        for (int64_t r = 0; r < hw; r++) {
            const float *row = xs + r * c;
            float *out = ys + r * c;
            for (int64_t j = 0; j < w; j++) {
                out[j] = (row[j] - centre[j]) * scale[j] + offset[j];
            }
        }
    }
    free(s1);
    free(f);
    return 0;
}

/*
 * Backward, channels-last. dy, x, dx: [N, HW, C] (dx may be NULL: no input gradient); mean, rstd: [N, G] from the
 * forward; dgamma_part, dbeta_part: [N, C] doubles, this sample's share of the weight and bias gradients
 * (bitgn_reduce_parts sums them over the batch in a fixed order).
 */
BITGN_CLONES
int bitgn_backward_nhwc(const float *restrict dy, const float *restrict x, const float *restrict mean_in,
                        const float *restrict rstd_in, const float *restrict gamma, const float *restrict beta,
                        float *restrict dx, double *restrict dgamma_part, double *restrict dbeta_part,
                        int64_t c, int64_t hw, int64_t groups, int64_t n, int64_t g0, int64_t g1, int relu)
{
    const int64_t d = c / groups;
    const int64_t c0 = g0 * d;
    const int64_t w = (g1 - g0) * d;
    double *s1 = malloc(sizeof(double) * 2 * w);
    float *f = malloc(sizeof(float) * 8 * w);
    if (s1 == NULL || f == NULL) {
        free(s1);
        free(f);
        return -1;
    }
    double *s2 = s1 + w;
    float *shift = f, *a1 = f + w, *a2 = f + 2 * w, *ka = f + 3 * w, *kb = f + 4 * w, *kc = f + 5 * w;
    float *scale = f + 6 * w, *offset = f + 7 * w;
    const float *xs = x + n * hw * c + c0;
    const float *dys = dy + n * hw * c + c0;
    for (int64_t g = g0; g < g1; g++) {
        const float m = mean_in[n * groups + g];
        const double r = rstd_in[n * groups + g];
        for (int64_t j = (g - g0) * d; j < (g - g0 + 1) * d; j++) {
            shift[j] = m;
            s1[j] = 0.0;
            s2[j] = 0.0;
            scale[j] = (float)(r * gamma[c0 + j]);
            offset[j] = beta != NULL ? beta[c0 + j] : 0.0f;
        }
    }
    for (int64_t r0 = 0; r0 < hw; r0 += ROWS_PER_BLOCK) {
        const int64_t r1 = r0 + ROWS_PER_BLOCK < hw ? r0 + ROWS_PER_BLOCK : hw;
        for (int64_t j = 0; j < w; j++) {
            a1[j] = 0.0f;
            a2[j] = 0.0f;
        }
        if (relu) {
            for (int64_t r = r0; r < r1; r++) {
                const float *xr = xs + r * c;
                const float *gr = dys + r * c;
                for (int64_t j = 0; j < w; j++) {
                    const float gv = (xr[j] - shift[j]) * scale[j] + offset[j] > 0.0f ? gr[j] : 0.0f;
                    a1[j] += gv;
                    a2[j] += gv * (xr[j] - shift[j]);
                }
            }
        } else {
            for (int64_t r = r0; r < r1; r++) {
                const float *xr = xs + r * c;
                const float *gr = dys + r * c;
                for (int64_t j = 0; j < w; j++) {
                    a1[j] += gr[j];
                    a2[j] += gr[j] * (xr[j] - shift[j]);
                }
            }
        }
        for (int64_t j = 0; j < w; j++) {
            s1[j] += a1[j];
            s2[j] += a2[j];
        }
    }
    const double m = (double)d * (double)hw;
    for (int64_t g = g0; g < g1; g++) {
        const int64_t o = (g - g0) * d;
        const double rstd = rstd_in[n * groups + g];
        for (int64_t j = 0; j < d; j++) {
            const int64_t ch = c0 + o + j;
            dbeta_part[n * c + ch] = s1[o + j];
            dgamma_part[n * c + ch] = s2[o + j] * rstd;
        }
        double db, ds;
        group_grad_sums(s1 + o, s2 + o, gamma + c0 + o, d, &db, &ds);
        /* dx = gamma rstd dy + c2 (x - mean) + c3, with x - mean taken first (see the forward) */
        const double c2 = -ds * rstd * rstd * rstd / m;
        const double c3 = -db * rstd / m;
        for (int64_t j = 0; j < d; j++) {
            ka[o + j] = (float)(gamma[c0 + o + j] * rstd);
            kb[o + j] = (float)c2;
            kc[o + j] = (float)c3;
        }
    }
    if (dx != NULL) {
        float *dxs = dx + n * hw * c + c0;
        for (int64_t r = 0; r < hw; r++) {
            const float *xr = xs + r * c;
            const float *gr = dys + r * c;
            float *out = dxs + r * c;
            if (relu) {
                for (int64_t j = 0; j < w; j++) {
                    const float gv = (xr[j] - shift[j]) * scale[j] + offset[j] > 0.0f ? gr[j] : 0.0f;
                    out[j] = ka[j] * gv + kb[j] * (xr[j] - shift[j]) + kc[j];
                }
            } else {
                for (int64_t j = 0; j < w; j++) {
                    out[j] = ka[j] * gr[j] + kb[j] * (xr[j] - shift[j]) + kc[j];
                }
            }
        }
    }
    free(s1);
    free(f);
    return 0;
}

/* Shifted sums of one contiguous channel: s1 = sum(x - k), s2 = sum((x - k)^2). */
static inline void channel_sums(const float *restrict xc, int64_t hw, float k, double *s1_out, double *s2_out)
{
    double s1 = 0.0, s2 = 0.0;
    if (hw < 2 * LANES) {
        /* Small maps: too short for the lanes to pay. */
        for (int64_t i = 0; i < hw; i++) {
            const double v = (double)(xc[i] - k);
            s1 += v;
            s2 += v * v;
        }
        *s1_out = s1;
        *s2_out = s2;
        return;
    }
    for (int64_t i0 = 0; i0 < hw; i0 += SPAN_PER_BLOCK) {
        const int64_t i1 = i0 + SPAN_PER_BLOCK < hw ? i0 + SPAN_PER_BLOCK : hw;
        float p1[LANES] = {0}, p2[LANES] = {0};
        int64_t i = i0;
        for (; i + LANES <= i1; i += LANES) {
            for (int l = 0; l < LANES; l++) {
                const float v = xc[i + l] - k;
                p1[l] += v;
                p2[l] += v * v;
            }
        }
        for (int l = 0; i < i1; i++, l++) {
            const float v = xc[i] - k;
            p1[l] += v;
            p2[l] += v * v;
        }
        for (int l = 0; l < LANES; l++) {
            s1 += p1[l];
            s2 += p2[l];
        }
    }
    *s1_out = s1;
    *s2_out = s2;
}

/* sum(dy) and sum(dy (x - k)) of one contiguous channel. */
static inline void channel_grad_sums(const float *restrict gc, const float *restrict xc, int64_t hw, float k,
                                     double *s1_out, double *s2_out)
{
    double s1 = 0.0, s2 = 0.0;
    if (hw < 2 * LANES) {
        for (int64_t i = 0; i < hw; i++) {
            s1 += gc[i];
            s2 += (double)gc[i] * (double)(xc[i] - k);
        }
        *s1_out = s1;
        *s2_out = s2;
        return;
    }
    for (int64_t i0 = 0; i0 < hw; i0 += SPAN_PER_BLOCK) {
        const int64_t i1 = i0 + SPAN_PER_BLOCK < hw ? i0 + SPAN_PER_BLOCK : hw;
        float p1[LANES] = {0}, p2[LANES] = {0};
        int64_t i = i0;
        for (; i + LANES <= i1; i += LANES) {
            for (int l = 0; l < LANES; l++) {
                p1[l] += gc[i + l];
                p2[l] += gc[i + l] * (xc[i + l] - k);
            }
        }
        for (int l = 0; i < i1; i++, l++) {
            p1[l] += gc[i];
            p2[l] += gc[i] * (xc[i] - k);
        }
        for (int l = 0; l < LANES; l++) {
            s1 += p1[l];
            s2 += p2[l];
        }
    }
    *s1_out = s1;
    *s2_out = s2;
}

/* As channel_grad_sums with the gradient passed only where (x - k) scale + offset > 0 (the fused ReLU). */
static inline void channel_grad_sums_relu(const float *restrict gc, const float *restrict xc, int64_t hw, float k,
                                          float scale, float offset, double *s1_out, double *s2_out)
{
    double s1 = 0.0, s2 = 0.0;
    for (int64_t i0 = 0; i0 < hw; i0 += SPAN_PER_BLOCK) {
        const int64_t i1 = i0 + SPAN_PER_BLOCK < hw ? i0 + SPAN_PER_BLOCK : hw;
        float p1[LANES] = {0}, p2[LANES] = {0};
        int64_t i = i0;
        for (; i + LANES <= i1; i += LANES) {
            for (int l = 0; l < LANES; l++) {
                const float gv = (xc[i + l] - k) * scale + offset > 0.0f ? gc[i + l] : 0.0f;
                p1[l] += gv;
                p2[l] += gv * (xc[i + l] - k);
            }
        }
        for (int l = 0; i < i1; i++, l++) {
            const float gv = (xc[i] - k) * scale + offset > 0.0f ? gc[i] : 0.0f;
            p1[l] += gv;
            p2[l] += gv * (xc[i] - k);
        }
        for (int l = 0; l < LANES; l++) {
            s1 += p1[l];
            s2 += p2[l];
        }
    }
    *s1_out = s1;
    *s2_out = s2;
}

/* Forward, contiguous NCHW. x, y: [N, C, HW]; otherwise as bitgn_forward_nhwc. */
BITGN_CLONES
int bitgn_forward_nchw(const float *restrict x, float *restrict y, const float *restrict gamma,
                       const float *restrict beta, float *restrict mean_out, float *restrict rstd_out,
                       int64_t c, int64_t hw, int64_t groups, double eps, int64_t n, int64_t g0, int64_t g1, int relu)
{
    const int64_t d = c / groups;
    double *s1 = malloc(sizeof(double) * 2 * d);
    float *shift = malloc(sizeof(float) * d);
    if (s1 == NULL || shift == NULL) {
        free(s1);
        free(shift);
        return -1;
    }
    double *s2 = s1 + d;
    for (int64_t g = g0; g < g1; g++) {
        const float *xg = x + (n * c + g * d) * hw;
        float *yg = y + (n * c + g * d) * hw;
        for (int64_t j = 0; j < d; j++) {
            shift[j] = xg[j * hw];
            channel_sums(xg + j * hw, hw, shift[j], s1 + j, s2 + j);
        }
        double mean, rstd;
        group_moments(s1, s2, shift, d, hw, eps, &mean, &rstd);
        const float rstd_f = (float)rstd;
        mean_out[n * groups + g] = (float)mean;
        rstd_out[n * groups + g] = rstd_f;
        for (int64_t j = 0; j < d; j++) {
            const float scale = (float)((double)rstd_f * gamma[g * d + j]);
            const float offset = beta[g * d + j];
            const float centre = (float)mean;
            const float *xc = xg + j * hw;
            float *yc = yg + j * hw;
            if (relu) {
                for (int64_t i = 0; i < hw; i++) {
                    const float v = (xc[i] - centre) * scale + offset;
                    yc[i] = v > 0.0f ? v : 0.0f;
                }
            } else {
                for (int64_t i = 0; i < hw; i++) {
                    yc[i] = (xc[i] - centre) * scale + offset;
                }
            }
        }
    }
    free(s1);
    free(shift);
    return 0;
}

/* Backward, contiguous NCHW; as bitgn_backward_nhwc. */
BITGN_CLONES
int bitgn_backward_nchw(const float *restrict dy, const float *restrict x, const float *restrict mean_in,
                        const float *restrict rstd_in, const float *restrict gamma, const float *restrict beta,
                        float *restrict dx, double *restrict dgamma_part, double *restrict dbeta_part,
                        int64_t c, int64_t hw, int64_t groups, int64_t n, int64_t g0, int64_t g1, int relu)
{
    const int64_t d = c / groups;
    double *s1 = malloc(sizeof(double) * 2 * d);
    if (s1 == NULL) {
        return -1;
    }
    double *s2 = s1 + d;
    const double m = (double)d * (double)hw;
    for (int64_t g = g0; g < g1; g++) {
        const int64_t base = (n * c + g * d) * hw;
        const float mean_f = mean_in[n * groups + g];
        const double rstd = rstd_in[n * groups + g];
        for (int64_t j = 0; j < d; j++) {
            const int64_t ch = g * d + j;
            if (relu) {
                channel_grad_sums_relu(dy + base + j * hw, x + base + j * hw, hw, mean_f, (float)(rstd * gamma[ch]),
                                       beta != NULL ? beta[ch] : 0.0f, s1 + j, s2 + j);
            } else {
                channel_grad_sums(dy + base + j * hw, x + base + j * hw, hw, mean_f, s1 + j, s2 + j);
            }
            dbeta_part[n * c + ch] = s1[j];
            dgamma_part[n * c + ch] = s2[j] * rstd;
        }
        double db, ds;
        group_grad_sums(s1, s2, gamma + g * d, d, &db, &ds);
        if (dx == NULL) {
            continue;
        }
        const double c2 = -ds * rstd * rstd * rstd / m;
        const double c3 = -db * rstd / m;
        const float kb = (float)c2;
        const float kc = (float)c3;
        for (int64_t j = 0; j < d; j++) {
            const float ka = (float)(gamma[g * d + j] * rstd);
            const float *gc = dy + base + j * hw;
            const float *xc = x + base + j * hw;
            float *out = dx + base + j * hw;
            if (relu) {
                const float scale = (float)(rstd * gamma[g * d + j]);
                const float offset = beta != NULL ? beta[g * d + j] : 0.0f;
                for (int64_t i = 0; i < hw; i++) {
                    const float gv = (xc[i] - mean_f) * scale + offset > 0.0f ? gc[i] : 0.0f;
                    out[i] = ka * gv + kb * (xc[i] - mean_f) + kc;
                }
            } else {
                for (int64_t i = 0; i < hw; i++) {
                    out[i] = ka * gc[i] + kb * (xc[i] - mean_f) + kc;
                }
            }
        }
    }
    free(s1);
    return 0;
}

/*
 * dgamma[c] = sum over n of dgamma_part[n, c], likewise dbeta, in the order n = 0, 1, ... (either output may be
 * NULL). The sums build up in the parts' first row, which is overwritten.
 */
BITGN_CLONES
void bitgn_reduce_parts(double *restrict dgamma_part, double *restrict dbeta_part, float *restrict dgamma,
                        float *restrict dbeta, int64_t n, int64_t c)
{
    for (int64_t i = 1; i < n; i++) {
        const double *g = dgamma_part + i * c;
        const double *b = dbeta_part + i * c;
        for (int64_t ch = 0; ch < c; ch++) {
            dgamma_part[ch] += g[ch];
            dbeta_part[ch] += b[ch];
        }
    }
    for (int64_t ch = 0; ch < c; ch++) {
        if (dgamma != NULL) {
            dgamma[ch] = (float)dgamma_part[ch];
        }
        if (dbeta != NULL) {
            dbeta[ch] = (float)dbeta_part[ch];
        }
    }
}

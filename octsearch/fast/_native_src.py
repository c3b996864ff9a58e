"""C source of the batch-innermost direct convolution kernels (compiled by :mod:`.native`).

Maps are ``[channels][height][width][batch]`` with the batch contiguous; every kernel works on one
vector of batch lanes at a time, 16 with AVX-512 and 8 otherwise (GCC vector extensions: AVX2, or
any other target), blocked so that the accumulators stay in registers. At 4-8 channels this runs
2-3x faster than oneDNN's channels-last kernels, whose vectors run along the channels.
"""

SOURCE = r"""
/* Direct 2-d convolution on batch-innermost maps: tensor[c][y][x][n], n contiguous.
   Vectorised over VL batch lanes (N must be a multiple of VL), blocked over output channels and
   output columns or batch vectors so that the accumulators stay in registers. Float32, groups 1,
   any stride, zero padding, square kernels (weight gradient: K in 1, 3, 5, 7). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* One vector of batch lanes: 16 floats where AVX-512 gives 32 zmm registers, else 8 (AVX2: 16 ymm
   registers). Register blocks are sized per target (measured, Oct-ResNet-20 shapes, batch 128) so
   that accumulators, loaded inputs and a broadcast weight fit the register file. */
#ifdef __AVX512F__
#define VL 16
#define CB 4   /* input channels per block of the strided data gradient */
#else
#define VL 8
#define CB 8
#endif
typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int vi __attribute__((vector_size(VL * sizeof(int))));

/* lanes per vector: the batch must be a multiple of this */
int oct_lanes(void) { return VL; }

/* An empty asm that keeps a loaded vector in a register, so GCC does not fold the load into every
   multiply-add; "v" names any SSE/AVX register (x86 only). */
#if defined(__x86_64__) && defined(__AVX__)
#define KEEP_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define KEEP_IN_REGISTER(v) ((void)0)
#endif

static inline vf ld(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void st(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline int imin(int a, int b) { return a < b ? a : b; }

/* out[co][oy][ox][n] = sum_{ci,ky,kx} w[co][ci][ky][kx] * in[ci][S*oy+ky-P][S*ox+kx-P][n] (zero outside).
   wp: the weight packed per block of CB_ output channels as [block][ci][ky][kx][CB_] (zeros past Co),
   so the inner loop broadcasts consecutive floats without index arithmetic or a bounds test. */
#define DEFINE_FWD(NAME, CB_, XB_) \
static void NAME(const float *in, const float *wp, float *out, int N, int Ci, int Co, \
                  int H, int W, int Ho, int Wo, int K, int S, int P) { \
    const size_t rowN = (size_t)W * N, planeN = (size_t)H * rowN; \
    for (int co0 = 0; co0 < Co; co0 += CB_) { \
        const int cb = imin(CB_, Co - co0); \
        const float *wb = wp + (size_t)co0 * Ci * K * K; \
        for (int oy = 0; oy < Ho; oy++) { \
            for (int ox0 = 0; ox0 < Wo; ox0 += XB_) { \
                const int xb = imin(XB_, Wo - ox0); \
                const int interior = xb == XB_ && S * ox0 - P >= 0 && S * (ox0 + XB_ - 1) + K - 1 - P < W; \
                for (int n0 = 0; n0 < N; n0 += VL) { \
                    vf acc[CB_][XB_]; \
                    for (int a = 0; a < CB_; a++) \
                        for (int b = 0; b < XB_; b++) acc[a][b] = (vf){0}; \
                    for (int ci = 0; ci < Ci; ci++) { \
                        for (int ky = 0; ky < K; ky++) { \
                            const int iy = S * oy + ky - P; \
                            if (iy < 0 || iy >= H) continue; \
                            const float *row = in + ci * planeN + iy * rowN + n0; \
                            const float *wk = wb + ((size_t)ci * K + ky) * K * CB_; \
                            for (int kx = 0; kx < K; kx++, wk += CB_) { \
                                vf xv[XB_]; \
                                if (interior) { \
                                    const float *xr = row + (ptrdiff_t)(S * ox0 + kx - P) * N; \
                                    for (int b = 0; b < XB_; b++) xv[b] = ld(xr + (size_t)b * S * N); \
                                } else { \
                                    for (int b = 0; b < XB_; b++) { \
                                        const int ix = S * (ox0 + b) + kx - P; \
                                        xv[b] = (b < xb && ix >= 0 && ix < W) ? ld(row + (size_t)ix * N) : (vf){0}; \
                                    } \
                                } \
                                for (int a = 0; a < CB_; a++) { \
                                    const float wv = wk[a]; \
                                    for (int b = 0; b < XB_; b++) acc[a][b] += wv * xv[b]; \
                                } \
                            } \
                        } \
                    } \
                    for (int a = 0; a < cb; a++) \
                        for (int b = 0; b < xb; b++) \
                            st(out + (((size_t)(co0 + a) * Ho + oy) * Wo + ox0 + b) * N + n0, acc[a][b]); \
                } \
            } \
        } \
    } \
}

/* The same, blocked over NB_ consecutive batch vectors of one output column instead of over columns
   (N must be a multiple of NB_ * VL). */
#define DEFINE_FWDN(NAME, CB_, NB_) \
static void NAME(const float *in, const float *wp, float *out, int N, int Ci, int Co, \
                  int H, int W, int Ho, int Wo, int K, int S, int P) { \
    const size_t rowN = (size_t)W * N, planeN = (size_t)H * rowN; \
    for (int co0 = 0; co0 < Co; co0 += CB_) { \
        const int cb = imin(CB_, Co - co0); \
        const float *wb = wp + (size_t)co0 * Ci * K * K; \
        for (int oy = 0; oy < Ho; oy++) { \
            for (int ox = 0; ox < Wo; ox++) { \
                for (int n0 = 0; n0 < N; n0 += NB_ * VL) { \
                    vf acc[CB_][NB_]; \
                    for (int a = 0; a < CB_; a++) \
                        for (int b = 0; b < NB_; b++) acc[a][b] = (vf){0}; \
                    for (int ci = 0; ci < Ci; ci++) { \
                        for (int ky = 0; ky < K; ky++) { \
                            const int iy = S * oy + ky - P; \
                            if (iy < 0 || iy >= H) continue; \
                            const float *row = in + ci * planeN + iy * rowN + n0; \
                            const float *wk = wb + ((size_t)ci * K + ky) * K * CB_; \
                            for (int kx = 0; kx < K; kx++, wk += CB_) { \
                                const int ix = S * ox + kx - P; \
                                if (ix < 0 || ix >= W) continue; \
                                vf xv[NB_]; \
                                for (int b = 0; b < NB_; b++) { xv[b] = ld(row + (size_t)ix * N + b * VL); KEEP_IN_REGISTER(xv[b]); } \
                                for (int a = 0; a < CB_; a++) { \
                                    const float wv = wk[a]; \
                                    for (int b = 0; b < NB_; b++) acc[a][b] += wv * xv[b]; \
                                } \
                            } \
                        } \
                    } \
                    for (int a = 0; a < cb; a++) \
                        for (int b = 0; b < NB_; b++) \
                            st(out + (((size_t)(co0 + a) * Ho + oy) * Wo + ox) * N + n0 + b * VL, acc[a][b]); \
                } \
            } \
        } \
    } \
}

/* Block choice, measured per target: AVX-512 blocks output channels x output columns (32
   registers hold 8 x 3 accumulators); on AVX2 (16 registers) 4 output channels x 2 batch vectors
   ran fastest at 4-32 channels (of 1-12 channels x 1-8 vectors, and of column blocks: 20-40%
   slower), the loads of a block being one cache line. */
typedef void fwd_kernel(const float *, const float *, float *, int, int, int, int, int, int, int, int, int, int);
#ifdef __AVX512F__
DEFINE_FWD(conv_fwd_c8x3, 8, 3)
DEFINE_FWD(conv_fwd_c4x4, 4, 4)
static fwd_kernel *pick_fwd(int N, int Co, int *cb) {
    (void)N;
    if (Co > 4) { *cb = 8; return conv_fwd_c8x3; }  /* 8-channel blocks run faster even when partly idle */
    *cb = 4; return conv_fwd_c4x4;
}
#else
DEFINE_FWDN(conv_fwd_c4n2, 4, 2)
DEFINE_FWDN(conv_fwd_c4n1, 4, 1)
static fwd_kernel *pick_fwd(int N, int Co, int *cb) {
    (void)Co;
    *cb = 4;
    return N % (2 * VL) == 0 ? conv_fwd_c4n2 : conv_fwd_c4n1;
}
#endif

/* The weight is read through element strides ws[4] (any view: a slice, a transposed flip).
   Returns 0, or -1 if the packed weight cannot be allocated. */
int oct_conv_fwd(const float *in, const float *w, const long long *ws, float *out, int N, int Ci, int Co,
                 int H, int W, int Ho, int Wo, int K, int S, int P) {
    int cbk;
    fwd_kernel *kernel = pick_fwd(N, Co, &cbk);
    const size_t taps = (size_t)Ci * K * K, blocks = (size_t)(Co + cbk - 1) / cbk;
    float *wp = calloc(blocks * cbk * taps, sizeof(float));
    if (!wp) return -1;
    for (int co = 0; co < Co; co++)
        for (int ci = 0; ci < Ci; ci++)
            for (int ky = 0; ky < K; ky++)
                for (int kx = 0; kx < K; kx++)
                    wp[((size_t)(co / cbk) * taps + ((size_t)ci * K + ky) * K + kx) * cbk + co % cbk] =
                        w[co * ws[0] + ci * ws[1] + ky * ws[2] + kx * ws[3]];
    kernel(in, wp, out, N, Ci, Co, H, W, Ho, Wo, K, S, P);
    free(wp);
    return 0;
}

/* dw[co][ci][ky][kx] = sum_{oy,ox,n} g[co][oy][ox][n] * in[ci][S*oy+ky-P][S*ox+kx-P][n].
   Per output row and (block of 4 output channels, input channel, ky): 4 x K accumulators stay in
   registers while the row is scanned in memory order (column by column, VL batch lanes at a
   time); per-lane partial sums are added up at the end. With AVX2 the 12 accumulators, 4 gradients and
   one input take 17 of 16 registers, yet this measured faster than blocks of 2 or 3 channels, or
   than holding the K inputs instead of the gradients. */
#define DEFINE_BWD_W(NAME, KK) \
static void NAME(const float *in, const float *g, float *dw, int N, int Ci, int Co, \
                 int H, int W, int Ho, int Wo, int K, int S, int P, float *lanes) { \
    const size_t rowN = (size_t)W * N, planeN = (size_t)H * rowN; \
    const size_t growN = (size_t)Wo * N, gplaneN = (size_t)Ho * growN; \
    memset(lanes, 0, sizeof(float) * (size_t)Co * Ci * K * K * VL); \
    int full_lo = (P + S - 1) / S, full_hi = (W - K + P) / S; \
    if (full_hi > Wo - 1) full_hi = Wo - 1; \
    for (int oy = 0; oy < Ho; oy++) { \
        for (int co0 = 0; co0 < Co; co0 += 4) { \
            const int cb = imin(4, Co - co0); \
            const float *gr[4]; \
            for (int a = 0; a < 4; a++) \
                gr[a] = g + (size_t)(co0 + (a < cb ? a : 0)) * gplaneN + oy * growN; \
            for (int ci = 0; ci < Ci; ci++) { \
                for (int ky = 0; ky < KK; ky++) { \
                    const int iy = S * oy + ky - P; \
                    if (iy < 0 || iy >= H) continue; \
                    const float *row = in + ci * planeN + iy * rowN; \
                    vf acc[4][KK]; \
                    for (int a = 0; a < 4; a++) \
                        for (int kx = 0; kx < KK; kx++) acc[a][kx] = (vf){0}; \
                    for (int ox = 0; ox < Wo; ox++) { \
                        const float *xr = row + (ptrdiff_t)(S * ox - P) * (ptrdiff_t)N; \
                        const size_t go = (size_t)ox * N; \
                        if (ox >= full_lo && ox <= full_hi) { \
                            for (int n0 = 0; n0 < N; n0 += VL) { \
                                vf gv[4]; \
                                for (int a = 0; a < 4; a++) gv[a] = ld(gr[a] + go + n0); \
                                for (int kx = 0; kx < KK; kx++) { \
                                    vf xv = ld(xr + (size_t)kx * N + n0); KEEP_IN_REGISTER(xv); \
                                    for (int a = 0; a < 4; a++) acc[a][kx] += gv[a] * xv; \
                                } \
                            } \
                        } else { \
                            for (int n0 = 0; n0 < N; n0 += VL) { \
                                vf gv[4]; \
                                for (int a = 0; a < 4; a++) gv[a] = ld(gr[a] + go + n0); \
                                for (int kx = 0; kx < KK; kx++) { \
                                    const int ix = S * ox + kx - P; \
                                    if (ix < 0 || ix >= W) continue; \
                                    vf xv = ld(xr + (size_t)kx * N + n0); KEEP_IN_REGISTER(xv); \
                                    for (int a = 0; a < 4; a++) acc[a][kx] += gv[a] * xv; \
                                } \
                            } \
                        } \
                    } \
                    for (int a = 0; a < cb; a++) \
                        for (int kx = 0; kx < KK; kx++) { \
                            float *l = lanes + ((((size_t)(co0 + a) * Ci + ci) * K + ky) * K + kx) * VL; \
                            st(l, ld(l) + acc[a][kx]); \
                        } \
                } \
            } \
        } \
    } \
    const size_t total = (size_t)Co * Ci * K * K; \
    for (size_t i = 0; i < total; i++) { \
        float s = 0.0f; \
        for (int l = 0; l < VL; l++) s += lanes[i * VL + l]; \
        dw[i] = s; \
    } \
}

DEFINE_BWD_W(conv_bwd_weight_k1, 1)
DEFINE_BWD_W(conv_bwd_weight_k3, 3)
DEFINE_BWD_W(conv_bwd_weight_k5, 5)
DEFINE_BWD_W(conv_bwd_weight_k7, 7)

void oct_conv_bwd_weight(const float *in, const float *g, float *dw, int N, int Ci, int Co,
                         int H, int W, int Ho, int Wo, int K, int S, int P, float *lanes) {
    switch (K) {
    case 1: conv_bwd_weight_k1(in, g, dw, N, Ci, Co, H, W, Ho, Wo, K, S, P, lanes); break;
    case 3: conv_bwd_weight_k3(in, g, dw, N, Ci, Co, H, W, Ho, Wo, K, S, P, lanes); break;
    case 5: conv_bwd_weight_k5(in, g, dw, N, Ci, Co, H, W, Ho, Wo, K, S, P, lanes); break;
    default: conv_bwd_weight_k7(in, g, dw, N, Ci, Co, H, W, Ho, Wo, K, S, P, lanes); break;
    }
}

/* Stride-2 data gradient: gin[ci][iy][ix][n] = sum over (co,ky,kx) with S*oy+ky-P == iy, S*ox+kx-P == ix
   of w[co][ci][ky][kx] * g[co][oy][ox][n]. (Stride 1 runs as oct_conv_fwd with flipped weights.) */
void oct_conv_bwd_data_strided(const float *g, const float *w, const long long *ws, float *gin, int N, int Ci, int Co,
                               int H, int W, int Ho, int Wo, int K, int S, int P) {
    const size_t growN = (size_t)Wo * N, gplaneN = (size_t)Ho * growN;
    for (int ci0 = 0; ci0 < Ci; ci0 += CB) {
        const int cb = imin(CB, Ci - ci0);
        for (int iy = 0; iy < H; iy++) {
            for (int ix = 0; ix < W; ix++) {
                for (int n0 = 0; n0 < N; n0 += VL) {
                    vf acc[CB];
                    for (int a = 0; a < CB; a++) acc[a] = (vf){0};
                    for (int ky = 0; ky < K; ky++) {
                        const int t = iy + P - ky;
                        if (t < 0 || t % S) continue;
                        const int oy = t / S;
                        if (oy >= Ho) continue;
                        for (int kx = 0; kx < K; kx++) {
                            const int u = ix + P - kx;
                            if (u < 0 || u % S) continue;
                            const int ox = u / S;
                            if (ox >= Wo) continue;
                            for (int co = 0; co < Co; co++) {
                                const vf gv = ld(g + co * gplaneN + oy * growN + (size_t)ox * N + n0);
                                for (int a = 0; a < CB; a++)
                                    if (a < cb) acc[a] += w[co * ws[0] + (ci0 + a) * ws[1] + ky * ws[2] + kx * ws[3]] * gv;
                            }
                        }
                    }
                    for (int a = 0; a < cb; a++)
                        st(gin + (((size_t)(ci0 + a) * H + iy) * W + ix) * N + n0, acc[a]);
                }
            }
        }
    }
}

/* ---- batch norm (+ ReLU) over channel rows: x[c][L], L = H*W*N contiguous ---- */


/* v where keep > 0, else 0 (C has no vector ?:) */
static inline vf where_pos(vf keep, vf v) { return (vf)((vi)v & (keep > (vf){0})); }

/* mean[c] and biased var[c], two passes with double accumulators */
void oct_bn_stats(const float *x, int C, long long L, float *mean, float *var) {
    for (int c = 0; c < C; c++) {
        const float *r = x + (size_t)c * L;
        double s = 0.0;
        long long i = 0;
        vf acc = (vf){0};
        double accd[8] = {0};
        for (; i + VL <= L; i += VL) {
            acc += ld(r + i);
            if (((i / VL) & 63) == 63) {  /* flush the float lanes into doubles every 64 vectors */
                for (int l = 0; l < VL; l++) accd[l & 7] += acc[l];
                acc = (vf){0};
            }
        }
        for (int l = 0; l < VL; l++) accd[l & 7] += acc[l];
        for (int l = 0; l < 8; l++) s += accd[l];
        for (; i < L; i++) s += r[i];
        const float m = (float)(s / (double)L);
        double q = 0.0;
        acc = (vf){0};
        memset(accd, 0, sizeof accd);
        i = 0;
        for (; i + VL <= L; i += VL) {
            const vf d = ld(r + i) - m;
            acc += d * d;
            if (((i / VL) & 63) == 63) {
                for (int l = 0; l < VL; l++) accd[l & 7] += acc[l];
                acc = (vf){0};
            }
        }
        for (int l = 0; l < VL; l++) accd[l & 7] += acc[l];
        for (int l = 0; l < 8; l++) q += accd[l];
        for (; i < L; i++) q += (double)(r[i] - m) * (r[i] - m);
        mean[c] = m;
        var[c] = (float)(q / (double)L);
    }
}

/* y = x * scale[c] + shift[c], then max(y, 0) if relu */
void oct_bn_apply(const float *x, int C, long long L, const float *scale, const float *shift, int relu, float *y) {
    for (int c = 0; c < C; c++) {
        const float *r = x + (size_t)c * L;
        float *o = y + (size_t)c * L;
        const float a = scale[c], b = shift[c];
        long long i = 0;
        if (relu) {
            for (; i + VL <= L; i += VL) {
                vf v = ld(r + i) * a + b;
                v = where_pos(v, v);
                st(o + i, v);
            }
            for (; i < L; i++) { const float v = r[i] * a + b; o[i] = v > 0 ? v : 0.0f; }
        } else {
            for (; i + VL <= L; i += VL) st(o + i, ld(r + i) * a + b);
            for (; i < L; i++) o[i] = r[i] * a + b;
        }
    }
}

/* sum_g[c] = sum gm, sum_gd[c] = sum gm * (x - mean), gm = g masked by y > 0 if relu */
void oct_bn_grad_sums(const float *g, const float *y, const float *x, int C, long long L, const float *mean,
                      int relu, float *sum_g, float *sum_gd) {
    for (int c = 0; c < C; c++) {
        const size_t off = (size_t)c * L;
        const float m = mean[c];
        vf a1 = (vf){0}, a2 = (vf){0};
        double d1[8] = {0}, d2[8] = {0};
        double s1 = 0.0, s2 = 0.0;
        long long i = 0;
        for (; i + VL <= L; i += VL) {
            vf gv = ld(g + off + i);
            if (relu) gv = where_pos(ld(y + off + i), gv);
            a1 += gv;
            a2 += gv * (ld(x + off + i) - m);
            if (((i / VL) & 63) == 63) {
                for (int l = 0; l < VL; l++) { d1[l & 7] += a1[l]; d2[l & 7] += a2[l]; }
                a1 = (vf){0}; a2 = (vf){0};
            }
        }
        for (int l = 0; l < VL; l++) { d1[l & 7] += a1[l]; d2[l & 7] += a2[l]; }
        for (int l = 0; l < 8; l++) { s1 += d1[l]; s2 += d2[l]; }
        for (; i < L; i++) {
            const float gv = (!relu || y[off + i] > 0) ? g[off + i] : 0.0f;
            s1 += gv;
            s2 += (double)gv * (x[off + i] - m);
        }
        sum_g[c] = (float)s1;
        sum_gd[c] = (float)s2;
    }
}

/* gx = a[c] * gm + b[c] * (x - mean[c]) + k[c] */
void oct_bn_grad_input(const float *g, const float *y, const float *x, int C, long long L, const float *mean,
                       const float *a, const float *b, const float *k, int relu, float *gx) {
    for (int c = 0; c < C; c++) {
        const size_t off = (size_t)c * L;
        const float m = mean[c], ac = a[c], bc = b[c], kc = k[c];
        long long i = 0;
        for (; i + VL <= L; i += VL) {
            vf gv = ld(g + off + i);
            if (relu) gv = where_pos(ld(y + off + i), gv);
            st(gx + off + i, ac * gv + bc * (ld(x + off + i) - m) + kc);
        }
        for (; i < L; i++) {
            const float gv = (!relu || y[off + i] > 0) ? g[off + i] : 0.0f;
            gx[off + i] = ac * gv + bc * (x[off + i] - m) + kc;
        }
    }
}

/* ---- 2x2 phases of a map [C][2h][2w][N] ---- */

/* y[c][i][j][n] = scale * sum of the 2x2 block (pooling: scale 1/4; up-sampling gradient: 1) */
void oct_sum4(const float *x, int C, int h, int w, int N, float scale, float *y) {
    const size_t W2 = (size_t)2 * w * N;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < h; i++) {
            const float *r0 = x + ((size_t)c * 2 * h + 2 * i) * W2, *r1 = r0 + W2;
            float *o = y + ((size_t)c * h + i) * (size_t)w * N;
            for (int j = 0; j < w; j++)
                for (int n = 0; n < N; n += VL) {
                    const size_t p = (size_t)2 * j * N + n;
                    st(o + (size_t)j * N + n, (ld(r0 + p) + ld(r0 + p + N) + ld(r1 + p) + ld(r1 + p + N)) * scale);
                }
        }
}

/* y[c][2i+a][2j+b][n] (+)= scale * x[c][i][j][n]: up-sampling (accumulate 0) or up-sample-add (1) */
void oct_spread4(const float *x, int C, int h, int w, int N, float scale, int accumulate, float *y) {
    const size_t W2 = (size_t)2 * w * N;
    for (int c = 0; c < C; c++)
        for (int i = 0; i < h; i++) {
            const float *r = x + ((size_t)c * h + i) * (size_t)w * N;
            float *o0 = y + ((size_t)c * 2 * h + 2 * i) * W2, *o1 = o0 + W2;
            for (int j = 0; j < w; j++)
                for (int n = 0; n < N; n += VL) {
                    const vf v = ld(r + (size_t)j * N + n) * scale;
                    const size_t p = (size_t)2 * j * N + n;
                    if (accumulate) {
                        st(o0 + p, ld(o0 + p) + v); st(o0 + p + N, ld(o0 + p + N) + v);
                        st(o1 + p, ld(o1 + p) + v); st(o1 + p + N, ld(o1 + p + N) + v);
                    } else {
                        st(o0 + p, v); st(o0 + p + N, v); st(o1 + p, v); st(o1 + p + N, v);
                    }
                }
        }
}
"""

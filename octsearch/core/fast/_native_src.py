"""C source of the batch-innermost direct convolution kernels (compiled by :mod:`.native`).

Maps are ``[channels][height][width][batch]`` with the batch contiguous; every kernel works on 16
batch lanes at once (one AVX-512 register; GCC vector extensions, so other x86 targets compile
too), blocked over output channels and columns so that accumulators stay in registers. At 4-8
channels this runs 2-3x faster than oneDNN's channels-last kernels, whose vectors run along the
channels.
"""

SOURCE = r"""
/* Direct 2-d convolution on batch-innermost maps: tensor[c][y][x][n], n contiguous.
   Vectorised over 16 batch lanes (N must be a multiple of 16), blocked over output channels
   and output columns so that the accumulators stay in registers. Float32, groups 1, any
   stride, zero padding, square kernels (weight gradient: K in 1, 3, 5, 7). */
#include <string.h>
#include <stddef.h>

typedef float v16 __attribute__((vector_size(64)));
#define VL 16
#define CB 4   /* channels per block of the strided data gradient */

/* An empty asm that keeps a loaded vector in a register (AVX-512: one zmm), so GCC does not fold
   the load into every multiply-add; on narrower targets a v16 spans several registers and the
   "v" constraint cannot hold it, so there is no hint. */
#ifdef __AVX512F__
#define KEEP_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define KEEP_IN_REGISTER(v) ((void)0)
#endif

static inline v16 ld(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }
static inline void st(float *p, v16 v) { memcpy(p, &v, sizeof v); }
static inline int imin(int a, int b) { return a < b ? a : b; }

/* out[co][oy][ox][n] = sum_{ci,ky,kx} w[co][ci][ky][kx] * in[ci][S*oy+ky-P][S*ox+kx-P][n] (zero outside);
   the weight is read through element strides ws[4] (any view: a slice, a transposed flip). */
#define DEFINE_FWD(NAME, CB_, XB_) \
static void NAME(const float *in, const float *w, const long long *ws, float *out, int N, int Ci, int Co, \
                  int H, int W, int Ho, int Wo, int K, int S, int P) { \
    const size_t rowN = (size_t)W * N, planeN = (size_t)H * rowN; \
    for (int co0 = 0; co0 < Co; co0 += CB_) { \
        const int cb = imin(CB_, Co - co0); \
        for (int oy = 0; oy < Ho; oy++) { \
            for (int ox0 = 0; ox0 < Wo; ox0 += XB_) { \
                const int xb = imin(XB_, Wo - ox0); \
                const int interior = xb == XB_ && S * ox0 - P >= 0 && S * (ox0 + XB_ - 1) + K - 1 - P < W; \
                for (int n0 = 0; n0 < N; n0 += VL) { \
                    v16 acc[CB_][XB_]; \
                    for (int a = 0; a < CB_; a++) \
                        for (int b = 0; b < XB_; b++) acc[a][b] = (v16){0}; \
                    for (int ci = 0; ci < Ci; ci++) { \
                        const float *wc = w + ci * ws[1]; \
                        for (int ky = 0; ky < K; ky++) { \
                            const int iy = S * oy + ky - P; \
                            if (iy < 0 || iy >= H) continue; \
                            const float *row = in + ci * planeN + iy * rowN + n0; \
                            for (int kx = 0; kx < K; kx++) { \
                                v16 xv[XB_]; \
                                if (interior) { \
                                    for (int b = 0; b < XB_; b++) \
                                        xv[b] = ld(row + (size_t)(S * (ox0 + b) + kx - P) * N); \
                                } else { \
                                    for (int b = 0; b < XB_; b++) { \
                                        const int ix = S * (ox0 + b) + kx - P; \
                                        xv[b] = (b < xb && ix >= 0 && ix < W) ? ld(row + (size_t)ix * N) : (v16){0}; \
                                    } \
                                } \
                                for (int a = 0; a < CB_; a++) { \
                                    const float wv = a < cb ? wc[(co0 + a) * ws[0] + ky * ws[2] + kx * ws[3]] : 0.0f; \
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

DEFINE_FWD(conv_fwd_c8x3, 8, 3)
DEFINE_FWD(conv_fwd_c4x4, 4, 4)

void oct_conv_fwd(const float *in, const float *w, const long long *ws, float *out, int N, int Ci, int Co,
                  int H, int W, int Ho, int Wo, int K, int S, int P) {
    if (Co > 4)  /* 8-channel blocks run faster even when partly idle */
        conv_fwd_c8x3(in, w, ws, out, N, Ci, Co, H, W, Ho, Wo, K, S, P);
    else
        conv_fwd_c4x4(in, w, ws, out, N, Ci, Co, H, W, Ho, Wo, K, S, P);
}

/* dw[co][ci][ky][kx] = sum_{oy,ox,n} g[co][oy][ox][n] * in[ci][S*oy+ky-P][S*ox+kx-P][n].
   Per output row and (block of 4 output channels, input channel, ky): 4 x K accumulators stay in
   registers while the row is scanned in memory order (column by column, 16 batch lanes at a
   time); per-lane partial sums are added up at the end. */
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
                    v16 acc[4][KK]; \
                    for (int a = 0; a < 4; a++) \
                        for (int kx = 0; kx < KK; kx++) acc[a][kx] = (v16){0}; \
                    for (int ox = 0; ox < Wo; ox++) { \
                        const float *xr = row + (ptrdiff_t)(S * ox - P) * (ptrdiff_t)N; \
                        const size_t go = (size_t)ox * N; \
                        if (ox >= full_lo && ox <= full_hi) { \
                            for (int n0 = 0; n0 < N; n0 += VL) { \
                                v16 gv[4]; \
                                for (int a = 0; a < 4; a++) gv[a] = ld(gr[a] + go + n0); \
                                for (int kx = 0; kx < KK; kx++) { \
                                    v16 xv = ld(xr + (size_t)kx * N + n0); KEEP_IN_REGISTER(xv); \
                                    for (int a = 0; a < 4; a++) acc[a][kx] += gv[a] * xv; \
                                } \
                            } \
                        } else { \
                            for (int n0 = 0; n0 < N; n0 += VL) { \
                                v16 gv[4]; \
                                for (int a = 0; a < 4; a++) gv[a] = ld(gr[a] + go + n0); \
                                for (int kx = 0; kx < KK; kx++) { \
                                    const int ix = S * ox + kx - P; \
                                    if (ix < 0 || ix >= W) continue; \
                                    v16 xv = ld(xr + (size_t)kx * N + n0); KEEP_IN_REGISTER(xv); \
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
                    v16 acc[CB];
                    for (int a = 0; a < CB; a++) acc[a] = (v16){0};
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
                                const v16 gv = ld(g + co * gplaneN + oy * growN + (size_t)ox * N + n0);
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

typedef double v8d __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

/* v where keep > 0, else 0 (C has no vector ?:) */
static inline v16 where_pos(v16 keep, v16 v) { return (v16)((v16i)v & (keep > (v16){0})); }

/* mean[c] and biased var[c], two passes with double accumulators */
void oct_bn_stats(const float *x, int C, long long L, float *mean, float *var) {
    for (int c = 0; c < C; c++) {
        const float *r = x + (size_t)c * L;
        double s = 0.0;
        long long i = 0;
        v16 acc = (v16){0};
        v8d accd = (v8d){0};
        for (; i + VL <= L; i += VL) {
            acc += ld(r + i);
            if (((i / VL) & 63) == 63) {  /* flush the float lanes into doubles every 64 vectors */
                for (int l = 0; l < VL; l++) accd[l & 7] += acc[l];
                acc = (v16){0};
            }
        }
        for (int l = 0; l < VL; l++) accd[l & 7] += acc[l];
        for (int l = 0; l < 8; l++) s += accd[l];
        for (; i < L; i++) s += r[i];
        const float m = (float)(s / (double)L);
        double q = 0.0;
        acc = (v16){0};
        accd = (v8d){0};
        i = 0;
        for (; i + VL <= L; i += VL) {
            const v16 d = ld(r + i) - m;
            acc += d * d;
            if (((i / VL) & 63) == 63) {
                for (int l = 0; l < VL; l++) accd[l & 7] += acc[l];
                acc = (v16){0};
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
                v16 v = ld(r + i) * a + b;
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
        v16 a1 = (v16){0}, a2 = (v16){0};
        v8d d1 = (v8d){0}, d2 = (v8d){0};
        double s1 = 0.0, s2 = 0.0;
        long long i = 0;
        for (; i + VL <= L; i += VL) {
            v16 gv = ld(g + off + i);
            if (relu) gv = where_pos(ld(y + off + i), gv);
            a1 += gv;
            a2 += gv * (ld(x + off + i) - m);
            if (((i / VL) & 63) == 63) {
                for (int l = 0; l < VL; l++) { d1[l & 7] += a1[l]; d2[l & 7] += a2[l]; }
                a1 = (v16){0}; a2 = (v16){0};
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
            v16 gv = ld(g + off + i);
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
                    const v16 v = ld(r + (size_t)j * N + n) * scale;
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

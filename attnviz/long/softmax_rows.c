/* The streaming extraction's softmax, fused with the row statistics and thumbnail sums it needs.

   attnviz/long/native.py compiles this file on first use (an opt-in: ATTNVIZ_SOFTMAX=c) (cc -O3 -march=native -fopenmp) and calls it through ctypes;
   without a C compiler the extraction does the same arithmetic in torch, pass by pass.

   For each row of scores (already scaled, soft-capped and masked, as the family's eager attention computes
   them), in place:
     m = max_j s_j,  e_j = exp(s_j - m),  Z = sum_j e_j,  w_j = e_j / Z   (torch.softmax's weights)
   and, from the same pass:
     largest = 1 / Z                      (the largest weight: exp(m - m) / Z, rounded to float32)
     entropy = -log(largest) - sum_j e_j (s_j - m) largest   (-sum w log w, without a logarithm per weight)
   The entropy takes the largest weight as written (not log Z), as torch's path does: the set-aside entropy
   (attnviz/long/reduce.py) subtracts that weight's own p log p, and a row with weight 1 - 1e-8 on its first key
   keeps only what the other keys give when both round alike.
     blocks[b] = sum of w_j over the keys of block b, key j being key k0 + j of the input, fk keys a block.
   A row of 8,192 floats is 32 KB, so its three passes (maximum, exponentials, scaling and block sums) run from
   the core's cache: one read of the row from memory and one write, where torch's separate operations read the
   whole chunk of rows (100 MB at 8,192 tokens) from memory once per operation. Z and the entropy's sum are
   added up in float32 over 128 keys at a time and in double across those. The rows are shared among `threads`
   threads of the OpenMP runtime that torch has loaded (the caller passes torch.get_num_threads(), as torch's own
   parallel loops ask for it), so the threads torch keeps waiting between its operations take the rows. */

#include <stdint.h>
#include <string.h>

/* exp(x) for x <= 0 (Cephes' expf: x = n ln 2 + r, ln 2 split in two parts, a degree-5 polynomial in r, then
   times 2^n built in the exponent bits); 0 below -87.34, where exp underflows float32's normal range. Written
   without calls so that the compiler vectorises the loops that use it. */
static inline float exp_nonpositive(float x) {
    float c = x < -87.33654f ? -87.33654f : x;
    float n = __builtin_rintf(c * 1.44269504088896341f);
    float r = c - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -87.33654f ? 0.0f : p * scale;
}

static float row_max(const float *row, int64_t width) {
    float m = row[0];
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < width; j++) m = row[j] > m ? row[j] : m;
    return m;
}

/* row_j <- exp(row_j - m); returns Z and sets *shifted = sum_j e_j (s_j - m). */
static double exponentials(float *row, int64_t width, float m, double *shifted) {
    double z = 0.0, t = 0.0;
    for (int64_t a = 0; a < width; a += 128) {
        int64_t b = a + 128 < width ? a + 128 : width;
        float zs = 0.0f, ts = 0.0f;
#pragma omp simd reduction(+ : zs, ts)
        for (int64_t j = a; j < b; j++) {
            float d = row[j] - m;
            float e = exp_nonpositive(d);
            row[j] = e;
            zs += e;
            ts += e * d;
        }
        z += zs;
        t += ts;
    }
    *shifted = t;
    return z;
}

/* row_j <- row_j * inv, and out[b] = the sum of the scaled row over block b (out has n_cols entries). */
static void scale_into_blocks(float *row, int64_t width, float inv, float *out, int64_t n_cols, int64_t k0,
                              int64_t fk) {
    for (int64_t b = 0; b < n_cols; b++) out[b] = 0.0f;
    for (int64_t j = 0; j < width;) {
        int64_t block = (k0 + j) / fk, stop = (block + 1) * fk - k0;
        if (stop > width) stop = width;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t x = j; x < stop; x++) {
            float w = row[x] * inv;
            row[x] = w;
            sum += w;
        }
        out[block] += sum;
        j = stop;
    }
}

/* scores [n_rows, width] (contiguous) become their softmax weights; largest and entropy [n_rows]; blocks
   [n_rows, n_cols] (key k0 + j in block (k0 + j) / fk; every block of a row must be below n_cols). Each row is
   computed by one thread, in the same order whatever the number of threads. */
void attnviz_softmax_rows(float *scores, int64_t n_rows, int64_t width, float *largest, float *entropy,
                          float *blocks, int64_t n_cols, int64_t k0, int64_t fk, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < n_rows; i++) {
        float *row = scores + i * width;
        float m = row_max(row, width);
        double shifted;
        double z = exponentials(row, width, m, &shifted);
        float inv = (float)(1.0 / z);
        largest[i] = inv;
        entropy[i] = (float)(-__builtin_log((double)inv) - shifted * inv);
        scale_into_blocks(row, width, inv, blocks + i * n_cols, n_cols, k0, fk);
    }
}

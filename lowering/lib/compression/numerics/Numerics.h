//===- Numerics.h - dense linear algebra for weight compression ----------===//
//
// Small, dependency-free numerics shared by the compression passes: Cholesky
// solves, truncated SVD, k-means and GPTQ. Matrices are row-major; internal
// arithmetic is double so that results are stable and deterministic.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPRESSION_NUMERICS_H
#define KILN_COMPRESSION_NUMERICS_H

#include "kiln/Dialect/Codec.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace kiln::numerics {

/// Lower-triangular L with L·Lᵀ = A for a symmetric positive definite [n, n]
/// A, or nullopt when A is not positive definite.
std::optional<std::vector<double>> cholesky(const std::vector<double> &a, int64_t n);

/// Solves A·X = B for SPD A [n, n] and B [n, rhs]; nullopt if A is not SPD.
std::optional<std::vector<double>> solveSpd(const std::vector<double> &a,
                                            const std::vector<double> &b, int64_t n,
                                            int64_t rhs);

/// A⁻¹ of an SPD [n, n] matrix, or nullopt.
std::optional<std::vector<double>> invertSpd(const std::vector<double> &a, int64_t n);

/// Gram matrix XᵀX [k, k] of X [samples, k].
std::vector<double> gram(const float *x, int64_t samples, int64_t k);

/// Thin SVD A = U·diag(s)·Vᵀ of A [m, n]: U [m, r], s [r] descending,
/// Vt [r, n] with r = min(m, n). One-sided Jacobi, accurate to ~1e-12.
struct Svd {
  int64_t rank = 0;
  std::vector<double> u, singular, vt;
};
Svd computeSvd(const float *a, int64_t m, int64_t n);

/// SVD of the mode-0 (output channel, [outC, inC·spatial]) or mode-1 (input
/// channel, [inC, outC·spatial]) unfolding of a filter W [outC, inC, spatial].
Svd unfoldingSvd(const float *w, int64_t outChannels, int64_t inChannels, int64_t spatial,
                 int mode);

/// Tucker-2 of W [outC, inC, spatial] by HOSVD: W ≈ Σ_a Σ_b out[k, a]·in[c, b]
/// ·core[a, b, s], out [outC, rankOut] and in [inC, rankIn] the leading left
/// singular vectors of the unfoldings (largest entry of each positive),
/// core [rankOut, rankIn, spatial] the projection of W onto them.
struct Tucker2 {
  int64_t rankOut = 0, rankIn = 0;
  std::vector<float> out, in, core;
};
Tucker2 tucker2(const float *w, int64_t outChannels, int64_t inChannels, int64_t spatial,
                const Svd &outSvd, int64_t rankOut, const Svd &inSvd, int64_t rankIn);

/// The smallest rank whose singular values keep `energy` of Σ s².
int64_t rankForEnergy(const std::vector<double> &singular, double energy);

/// Lloyd's k-means of `count` points of `dim` floats into `k` centroids,
/// initialised at evenly spaced ranks of the points sorted
/// lexicographically (deterministic). Empty clusters keep their centroid.
struct Clustering {
  std::vector<float> centroids;     // [k, dim]
  std::vector<uint32_t> assignment; // [count]
};
Clustering kmeans(const float *points, int64_t count, int64_t dim, int64_t k,
                  int maxIterations = 50);

/// GPTQ (Frantar et al. 2022): quantizes W [rows, cols] column by column,
/// spreading each column's rounding error over the remaining columns through
/// the inverse Hessian H = XᵀX [cols, cols] (damped by `dampFraction` of its
/// mean diagonal). Scales per row (groupSize 0) or per group of columns,
/// chosen from the error-compensated weights when a group starts. The
/// result has codec::quantizeMatrix's layout. Nullopt if H stays singular.
std::optional<codec::QuantizedMatrix>
gptqQuantize(const float *w, int64_t rows, int64_t cols, const std::vector<double> &hessian,
             unsigned bits, int64_t groupSize, bool symmetric, double dampFraction = 0.01);

/// Decodes a codec::QuantizedMatrix (linear scheme, `symmetric` as quantized).
std::vector<float> dequantizeMatrix(const codec::QuantizedMatrix &q, int64_t rows,
                                    int64_t cols, unsigned bits, int64_t groupSize,
                                    bool symmetric);

/// Least-squares refits against a teacher W [rows, cols] that minimise the
/// squared output error Σ_n (w_n - ŵ_n)ᵀ·H·(w_n - ŵ_n), H = XᵀX
/// (compile-time distillation on calibration inputs).
/// ŵ[n, c] = s[n, c / groupSize] · pattern[n, c]: the best scales [rows,
/// groups] for fixed codes (`pattern` = decoded weight / its scale). Rows
/// whose system is singular keep `scales`.
std::vector<float> refitGroupScales(const float *teacher, const float *pattern, int64_t rows,
                                    int64_t cols, int64_t groupSize, const std::vector<double> &h,
                                    const std::vector<float> &scales);
/// The best values of the `kept` positions (pruned ones are 0).
std::vector<float> refitSurvivors(const float *teacher, const std::vector<bool> &kept,
                                  int64_t rows, int64_t cols, const std::vector<double> &h);
/// The best U [rows, rank] of ŵ = U·V for fixed V [rank, cols].
std::optional<std::vector<float>> refitLeftFactor(const float *teacher, const float *v,
                                                  int64_t rows, int64_t cols, int64_t rank,
                                                  const std::vector<double> &h);

/// Σ_n (a_n - b_n)ᵀ·H·(a_n - b_n) for weights A, B [rows, cols]: the squared
/// output error on the inputs whose Gram matrix is H.
double outputErrorSquared(const float *reference, const float *approx, int64_t rows, int64_t cols,
                          const std::vector<double> &h);

/// AWQ's grid search: the per-input-channel scales s (alpha = 0: all ones,
/// plain RTN) whose RTN quantization of W·diag(s), used on inputs
/// X·diag(1/s), has the smallest output error on X [samples, cols].
struct AwqResult {
  std::vector<float> scales; // s [cols]
  double alpha = 0, error = 0, rtnError = 0;
  codec::QuantizedMatrix quantized; // codes of W·diag(s)
};
AwqResult awqSearch(const float *w, int64_t rows, int64_t cols, const float *x, int64_t samples,
                    const std::vector<double> &h, unsigned bits, int64_t groupSize, bool symmetric,
                    int64_t gridPoints);

/// How the range of a symmetric quantizer is chosen from sample values:
/// the largest magnitude, a percentile of the magnitudes, or the clip (on a
/// geometric grid of 3% steps from the maximum down to 0.2% of it) that
/// minimises the squared quantization error.
enum class ClipMethod { MinMax, Percentile, Mse };
float chooseClip(const std::vector<float> &values, ClipMethod method, unsigned bits,
                 double percentile = 99.9);
/// Σ (v - fakequant(v))² for a symmetric `bits` quantizer clipped at `clip`.
double fakeQuantError(const std::vector<float> &values, float clip, unsigned bits);

/// ||X·Aᵀ - X·Bᵀ||_F / ||X·Aᵀ||_F for weights A, B [n, k] and inputs X
/// [samples, k]: the relative output error of a compressed linear layer.
double relativeOutputError(const float *x, int64_t samples, const float *reference,
                           const float *approx, int64_t n, int64_t k);

} // namespace kiln::numerics

#endif // KILN_COMPRESSION_NUMERICS_H

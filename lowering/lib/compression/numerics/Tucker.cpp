//===- Tucker.cpp - Tucker-2 (HOSVD) of convolution filters ---------------===//
#include "Numerics.h"

#include <cmath>

namespace kiln::numerics {

namespace {

/// The leading `rank` left singular vectors [m, rank] of `svd`, each with
/// its largest-magnitude entry positive (so results do not depend on the
/// sign the SVD happened to pick).
std::vector<double> leadingVectors(const Svd &svd, int64_t m, int64_t rank) {
  std::vector<double> vectors(size_t(m * rank));
  for (int64_t j = 0; j < rank; ++j) {
    int64_t largest = 0;
    for (int64_t i = 1; i < m; ++i)
      if (std::fabs(svd.u[i * svd.rank + j]) > std::fabs(svd.u[largest * svd.rank + j]) + 1e-12)
        largest = i;
    double sign = svd.u[largest * svd.rank + j] < 0 ? -1.0 : 1.0;
    for (int64_t i = 0; i < m; ++i)
      vectors[i * rank + j] = sign * svd.u[i * svd.rank + j];
  }
  return vectors;
}

} // namespace

Svd unfoldingSvd(const float *w, int64_t outChannels, int64_t inChannels, int64_t spatial,
                 int mode) {
  if (mode == 0)
    return computeSvd(w, outChannels, inChannels * spatial);
  // Mode 1: row c holds W[k, c, s] for every (k, s).
  std::vector<float> unfolded(size_t(inChannels * outChannels * spatial));
  for (int64_t k = 0; k < outChannels; ++k)
    for (int64_t c = 0; c < inChannels; ++c)
      for (int64_t s = 0; s < spatial; ++s)
        unfolded[(c * outChannels + k) * spatial + s] = w[(k * inChannels + c) * spatial + s];
  return computeSvd(unfolded.data(), inChannels, outChannels * spatial);
}

Tucker2 tucker2(const float *w, int64_t outChannels, int64_t inChannels, int64_t spatial,
                const Svd &outSvd, int64_t rankOut, const Svd &inSvd, int64_t rankIn) {
  std::vector<double> out = leadingVectors(outSvd, outChannels, rankOut);
  std::vector<double> in = leadingVectors(inSvd, inChannels, rankIn);
  // core[a, b, s] = Σ_k Σ_c out[k, a]·in[c, b]·W[k, c, s], as W ×₁ inᵀ then ×₀ outᵀ.
  std::vector<double> reduced(size_t(outChannels * rankIn * spatial), 0.0);
  for (int64_t k = 0; k < outChannels; ++k)
    for (int64_t c = 0; c < inChannels; ++c)
      for (int64_t b = 0; b < rankIn; ++b) {
        double factor = in[c * rankIn + b];
        for (int64_t s = 0; s < spatial; ++s)
          reduced[(k * rankIn + b) * spatial + s] += factor * w[(k * inChannels + c) * spatial + s];
      }
  std::vector<double> core(size_t(rankOut * rankIn * spatial), 0.0);
  for (int64_t k = 0; k < outChannels; ++k)
    for (int64_t a = 0; a < rankOut; ++a) {
      double factor = out[k * rankOut + a];
      for (int64_t i = 0; i < rankIn * spatial; ++i)
        core[a * rankIn * spatial + i] += factor * reduced[k * rankIn * spatial + i];
    }
  return Tucker2{rankOut, rankIn, std::vector<float>(out.begin(), out.end()),
                 std::vector<float>(in.begin(), in.end()),
                 std::vector<float>(core.begin(), core.end())};
}

int64_t rankForEnergy(const std::vector<double> &singular, double energy) {
  double total = 0, kept = 0;
  for (double s : singular)
    total += s * s;
  for (size_t r = 0; r < singular.size(); ++r) {
    kept += singular[r] * singular[r];
    if (total <= 0 || kept / total >= energy - 1e-12)
      return int64_t(r + 1);
  }
  return int64_t(singular.size());
}

} // namespace kiln::numerics

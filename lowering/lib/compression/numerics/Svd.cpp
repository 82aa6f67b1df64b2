//===- Svd.cpp - thin SVD by one-sided Jacobi rotations -------------------===//
#include "Numerics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kiln::numerics {

namespace {
/// Orthogonalises the columns of B [m, n] (m >= n) in place and accumulates
/// the rotations in V [n, n], so that B_in = B_out·Vᵀ with orthogonal columns.
void orthogonaliseColumns(std::vector<double> &b, int64_t m, int64_t n,
                          std::vector<double> &v) {
  v.assign(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    v[i * n + i] = 1.0;
  for (int sweep = 0; sweep < 60; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        double alpha = 0, beta = 0, gamma = 0;
        for (int64_t r = 0; r < m; ++r) {
          double bp = b[r * n + p], bq = b[r * n + q];
          alpha += bp * bp;
          beta += bq * bq;
          gamma += bp * bq;
        }
        if (std::fabs(gamma) <= 1e-15 * std::sqrt(alpha * beta) || gamma == 0.0)
          continue;
        rotated = true;
        double zeta = (beta - alpha) / (2.0 * gamma);
        double t = std::copysign(1.0, zeta) / (std::fabs(zeta) + std::sqrt(1.0 + zeta * zeta));
        double c = 1.0 / std::sqrt(1.0 + t * t), s = c * t;
        for (int64_t r = 0; r < m; ++r) {
          double bp = b[r * n + p], bq = b[r * n + q];
          b[r * n + p] = c * bp - s * bq;
          b[r * n + q] = s * bp + c * bq;
        }
        for (int64_t r = 0; r < n; ++r) {
          double vp = v[r * n + p], vq = v[r * n + q];
          v[r * n + p] = c * vp - s * vq;
          v[r * n + q] = s * vp + c * vq;
        }
      }
    if (!rotated)
      break;
  }
}
} // namespace

Svd computeSvd(const float *a, int64_t m, int64_t n) {
  // Work on the tall orientation: B = A when m >= n, else B = Aᵀ.
  bool transposed = m < n;
  int64_t tall = transposed ? n : m, wide = transposed ? m : n;
  std::vector<double> b(size_t(tall * wide));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      (transposed ? b[j * wide + i] : b[i * wide + j]) = a[i * n + j];
  std::vector<double> v;
  orthogonaliseColumns(b, tall, wide, v);

  std::vector<double> norms(static_cast<size_t>(wide));
  for (int64_t c = 0; c < wide; ++c) {
    double sum = 0;
    for (int64_t r = 0; r < tall; ++r)
      sum += b[r * wide + c] * b[r * wide + c];
    norms[c] = std::sqrt(sum);
  }
  std::vector<int64_t> order(static_cast<size_t>(wide));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    return norms[x] > norms[y] || (norms[x] == norms[y] && x < y);
  });

  // B = Ub·S·Vᵀ with Ub = B_out / norms; for A = Bᵀ swap the roles.
  Svd svd;
  svd.rank = wide;
  svd.singular.resize(size_t(wide));
  svd.u.assign(size_t(m * wide), 0.0);
  svd.vt.assign(size_t(wide * n), 0.0);
  for (int64_t k = 0; k < wide; ++k) {
    int64_t c = order[k];
    double sigma = norms[c];
    svd.singular[k] = sigma;
    for (int64_t r = 0; r < tall; ++r) {
      double left = sigma > 0 ? b[r * wide + c] / sigma : 0.0;
      if (transposed)
        svd.vt[k * n + r] = left;
      else
        svd.u[r * wide + k] = left;
    }
    for (int64_t r = 0; r < wide; ++r) {
      double right = v[r * wide + c];
      if (transposed)
        svd.u[r * wide + k] = right;
      else
        svd.vt[k * n + r] = right;
    }
  }
  return svd;
}

} // namespace kiln::numerics

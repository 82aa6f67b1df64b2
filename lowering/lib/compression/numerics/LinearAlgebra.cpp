//===- LinearAlgebra.cpp - Cholesky solves and Gram matrices -------------===//
#include "Numerics.h"

#include <cmath>

namespace kiln::numerics {

std::optional<std::vector<double>> cholesky(const std::vector<double> &a, int64_t n) {
  std::vector<double> l(size_t(n * n), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    double diagonal = a[j * n + j];
    for (int64_t p = 0; p < j; ++p)
      diagonal -= l[j * n + p] * l[j * n + p];
    if (!(diagonal > 0.0) || !std::isfinite(diagonal))
      return std::nullopt;
    double pivot = std::sqrt(diagonal);
    l[j * n + j] = pivot;
    for (int64_t i = j + 1; i < n; ++i) {
      double sum = a[i * n + j];
      for (int64_t p = 0; p < j; ++p)
        sum -= l[i * n + p] * l[j * n + p];
      l[i * n + j] = sum / pivot;
    }
  }
  return l;
}

std::optional<std::vector<double>> solveSpd(const std::vector<double> &a,
                                            const std::vector<double> &b, int64_t n,
                                            int64_t rhs) {
  std::optional<std::vector<double>> l = cholesky(a, n);
  if (!l)
    return std::nullopt;
  std::vector<double> x = b;
  for (int64_t c = 0; c < rhs; ++c) {
    // L·y = b, then Lᵀ·x = y.
    for (int64_t i = 0; i < n; ++i) {
      double sum = x[i * rhs + c];
      for (int64_t p = 0; p < i; ++p)
        sum -= (*l)[i * n + p] * x[p * rhs + c];
      x[i * rhs + c] = sum / (*l)[i * n + i];
    }
    for (int64_t i = n - 1; i >= 0; --i) {
      double sum = x[i * rhs + c];
      for (int64_t p = i + 1; p < n; ++p)
        sum -= (*l)[p * n + i] * x[p * rhs + c];
      x[i * rhs + c] = sum / (*l)[i * n + i];
    }
  }
  return x;
}

std::optional<std::vector<double>> invertSpd(const std::vector<double> &a, int64_t n) {
  std::vector<double> identity(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    identity[i * n + i] = 1.0;
  return solveSpd(a, identity, n, n);
}

std::vector<double> gram(const float *x, int64_t samples, int64_t k) {
  std::vector<double> g(size_t(k * k), 0.0);
  for (int64_t s = 0; s < samples; ++s) {
    const float *row = x + s * k;
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j <= i; ++j)
        g[i * k + j] += double(row[i]) * row[j];
  }
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i + 1; j < k; ++j)
      g[i * k + j] = g[j * k + i];
  return g;
}

double relativeOutputError(const float *x, int64_t samples, const float *reference,
                           const float *approx, int64_t n, int64_t k) {
  double errorSquared = 0.0, referenceSquared = 0.0;
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t o = 0; o < n; ++o) {
      double want = 0.0, got = 0.0;
      for (int64_t i = 0; i < k; ++i) {
        want += double(x[s * k + i]) * reference[o * k + i];
        got += double(x[s * k + i]) * approx[o * k + i];
      }
      errorSquared += (want - got) * (want - got);
      referenceSquared += want * want;
    }
  return referenceSquared > 0 ? std::sqrt(errorSquared / referenceSquared)
                              : std::sqrt(errorSquared);
}

} // namespace kiln::numerics

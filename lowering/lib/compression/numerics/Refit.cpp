//===- Refit.cpp - least-squares refits against a teacher weight ---------===//
//
// Every refit minimises Σ_n (w_n - ŵ_n)ᵀ·H·(w_n - ŵ_n) over the free
// parameters of ŵ, row by row, where H = XᵀX of the layer's calibration
// inputs: the squared error of the layer's output on the calibration data.
//
//===----------------------------------------------------------------------===//
#include "Numerics.h"

namespace kiln::numerics {

namespace {
/// A small ridge keeps the systems solvable when inputs are degenerate.
double ridge(const std::vector<double> &h, int64_t k) {
  double trace = 0;
  for (int64_t i = 0; i < k; ++i)
    trace += h[i * k + i];
  return 1e-9 * (trace > 0 ? trace / double(k) : 1.0);
}

/// H·w for one row w [k].
std::vector<double> hessianTimes(const std::vector<double> &h, const float *w, int64_t k) {
  std::vector<double> result(static_cast<size_t>(k), 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      result[i] += h[i * k + j] * w[j];
  return result;
}
} // namespace

std::vector<float> refitGroupScales(const float *teacher, const float *pattern, int64_t rows,
                                    int64_t cols, int64_t groupSize, const std::vector<double> &h,
                                    const std::vector<float> &scales) {
  int64_t group = groupSize > 0 ? groupSize : cols, groups = cols / group;
  double lambda = ridge(h, cols);
  std::vector<float> refit = scales;
  for (int64_t r = 0; r < rows; ++r) {
    const float *p = pattern + r * cols;
    std::vector<double> hw = hessianTimes(h, teacher + r * cols, cols);
    // G[a, b] = p_aᵀ·H·p_b over the columns of groups a and b.
    std::vector<double> g(static_cast<size_t>(groups * groups), 0.0), rhs(static_cast<size_t>(groups), 0.0);
    for (int64_t i = 0; i < cols; ++i) {
      rhs[i / group] += p[i] * hw[i];
      for (int64_t j = 0; j < cols; ++j)
        g[(i / group) * groups + j / group] += double(p[i]) * h[i * cols + j] * p[j];
    }
    for (int64_t a = 0; a < groups; ++a)
      g[a * groups + a] += lambda;
    if (std::optional<std::vector<double>> s = solveSpd(g, rhs, groups, 1))
      for (int64_t a = 0; a < groups; ++a)
        refit[r * groups + a] = float((*s)[a]);
  }
  return refit;
}

std::vector<float> refitSurvivors(const float *teacher, const std::vector<bool> &kept,
                                  int64_t rows, int64_t cols, const std::vector<double> &h) {
  double lambda = ridge(h, cols);
  std::vector<float> refit(static_cast<size_t>(rows * cols), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int64_t> survivors;
    for (int64_t c = 0; c < cols; ++c)
      if (kept[r * cols + c])
        survivors.push_back(c);
    int64_t s = int64_t(survivors.size());
    if (s == 0)
      continue;
    std::vector<double> hw = hessianTimes(h, teacher + r * cols, cols);
    std::vector<double> g(static_cast<size_t>(s * s)), rhs(static_cast<size_t>(s));
    for (int64_t a = 0; a < s; ++a) {
      rhs[a] = hw[survivors[a]];
      for (int64_t b = 0; b < s; ++b)
        g[a * s + b] = h[survivors[a] * cols + survivors[b]] + (a == b ? lambda : 0.0);
    }
    std::optional<std::vector<double>> solution = solveSpd(g, rhs, s, 1);
    for (int64_t a = 0; a < s; ++a)
      refit[r * cols + survivors[a]] =
          solution ? float((*solution)[a]) : teacher[r * cols + survivors[a]];
  }
  return refit;
}

std::optional<std::vector<float>> refitLeftFactor(const float *teacher, const float *v,
                                                  int64_t rows, int64_t cols, int64_t rank,
                                                  const std::vector<double> &h) {
  // U = W·H·Vᵀ·(V·H·Vᵀ)⁻¹.
  std::vector<double> hvt(static_cast<size_t>(cols * rank), 0.0);
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t q = 0; q < rank; ++q)
        hvt[i * rank + q] += h[i * cols + j] * v[q * cols + j];
  std::vector<double> g(static_cast<size_t>(rank * rank), 0.0);
  for (int64_t p = 0; p < rank; ++p)
    for (int64_t q = 0; q < rank; ++q)
      for (int64_t i = 0; i < cols; ++i)
        g[p * rank + q] += v[p * cols + i] * hvt[i * rank + q];
  double lambda = ridge(g, rank);
  for (int64_t p = 0; p < rank; ++p)
    g[p * rank + p] += lambda;
  // Right-hand sides (W·H·Vᵀ)ᵀ [rank, rows].
  std::vector<double> rhs(static_cast<size_t>(rank * rows), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t q = 0; q < rank; ++q)
        rhs[q * rows + r] += teacher[r * cols + i] * hvt[i * rank + q];
  std::optional<std::vector<double>> solution = solveSpd(g, rhs, rank, rows);
  if (!solution)
    return std::nullopt;
  std::vector<float> u(static_cast<size_t>(rows * rank));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t q = 0; q < rank; ++q)
      u[r * rank + q] = float((*solution)[q * rows + r]);
  return u;
}

} // namespace kiln::numerics

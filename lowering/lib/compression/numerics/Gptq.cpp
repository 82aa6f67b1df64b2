//===- Gptq.cpp - Hessian-guided column-by-column quantization -----------===//
#include "Numerics.h"

#include <algorithm>

namespace kiln::numerics {

using codec::CodeRange;
using codec::LinearParams;

std::optional<codec::QuantizedMatrix>
gptqQuantize(const float *w, int64_t rows, int64_t cols, const std::vector<double> &hessian,
             unsigned bits, int64_t groupSize, bool symmetric, double dampFraction) {
  int64_t group = groupSize > 0 ? groupSize : cols;
  int64_t groupsPerRow = cols / group;
  std::vector<double> h = hessian;
  std::vector<float> work(w, w + rows * cols);
  // Inputs that never fire carry no information: pin them so H stays SPD.
  double meanDiagonal = 0;
  for (int64_t i = 0; i < cols; ++i) {
    if (h[i * cols + i] == 0.0) {
      h[i * cols + i] = 1.0;
      for (int64_t r = 0; r < rows; ++r)
        work[r * cols + i] = 0.0f;
    }
    meanDiagonal += h[i * cols + i] / double(cols);
  }
  for (int64_t i = 0; i < cols; ++i)
    h[i * cols + i] += dampFraction * meanDiagonal;
  std::optional<std::vector<double>> inverse = invertSpd(h, cols);
  if (!inverse)
    return std::nullopt;
  // Upper Cholesky factor U of H⁻¹ (H⁻¹ = Uᵀ·U): row i of U holds the
  // weights with which column i's error spreads to later columns.
  std::optional<std::vector<double>> lower = cholesky(*inverse, cols);
  if (!lower)
    return std::nullopt;
  auto upper = [&](int64_t i, int64_t j) { return (*lower)[j * cols + i]; };

  CodeRange range = codec::codeRange(bits, /*isSigned=*/symmetric);
  const uint32_t mask = (1u << bits) - 1;
  codec::QuantizedMatrix result;
  result.codes.resize(size_t(rows * cols));
  result.scales.resize(size_t(rows * groupsPerRow));
  result.zeroPoints.resize(size_t(rows * groupsPerRow));
  for (int64_t col = 0; col < cols; ++col) {
    int64_t g = col / group;
    for (int64_t r = 0; r < rows; ++r) {
      float *row = &work[r * cols];
      if (col % group == 0) {
        LinearParams params = codec::chooseLinearParams(row + col, group, range, symmetric);
        result.scales[r * groupsPerRow + g] = params.scale;
        result.zeroPoints[r * groupsPerRow + g] = params.zeroPoint;
      }
      LinearParams params{result.scales[r * groupsPerRow + g],
                          result.zeroPoints[r * groupsPerRow + g]};
      int32_t code = codec::quantizeLinear(row[col], params, range);
      result.codes[r * cols + col] = uint32_t(code) & mask;
      double error = (double(row[col]) - codec::dequantizeLinear(code, params)) /
                     upper(col, col);
      for (int64_t j = col + 1; j < cols; ++j)
        row[j] = float(row[j] - error * upper(col, j));
    }
  }
  return result;
}

std::vector<float> dequantizeMatrix(const codec::QuantizedMatrix &q, int64_t rows,
                                    int64_t cols, unsigned bits, int64_t groupSize,
                                    bool symmetric) {
  int64_t group = groupSize > 0 ? groupSize : cols;
  int64_t groupsPerRow = cols / group;
  std::vector<float> values(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      uint32_t code = q.codes[r * cols + c];
      int32_t level = symmetric ? codec::signExtend(code, bits) : int32_t(code);
      int64_t g = r * groupsPerRow + c / group;
      values[r * cols + c] = codec::dequantizeLinear(level, {q.scales[g], q.zeroPoints[g]});
    }
  return values;
}

} // namespace kiln::numerics

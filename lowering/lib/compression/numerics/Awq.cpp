//===- Awq.cpp - activation-aware scale search ----------------------------===//
#include "Numerics.h"

#include <algorithm>
#include <cmath>

namespace kiln::numerics {

double outputErrorSquared(const float *reference, const float *approx, int64_t rows, int64_t cols,
                          const std::vector<double> &h) {
  double total = 0;
  std::vector<double> diff(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      diff[c] = double(reference[r * cols + c]) - approx[r * cols + c];
    for (int64_t i = 0; i < cols; ++i) {
      double hd = 0;
      for (int64_t j = 0; j < cols; ++j)
        hd += h[i * cols + j] * diff[j];
      total += diff[i] * hd;
    }
  }
  return total;
}

AwqResult awqSearch(const float *w, int64_t rows, int64_t cols, const float *x, int64_t samples,
                    const std::vector<double> &h, unsigned bits, int64_t groupSize, bool symmetric,
                    int64_t gridPoints) {
  std::vector<double> activation(static_cast<size_t>(cols), 0.0);
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t c = 0; c < cols; ++c)
      activation[c] += std::fabs(x[s * cols + c]) / double(samples);
  AwqResult best;
  for (int64_t step = 0; step <= gridPoints; ++step) {
    double alpha = double(step) / double(std::max<int64_t>(gridPoints, 1));
    std::vector<float> scales(static_cast<size_t>(cols));
    double largest = 0, smallest = INFINITY;
    for (int64_t c = 0; c < cols; ++c) {
      scales[c] = float(std::pow(std::max(activation[c], 1e-8), alpha));
      largest = std::max(largest, double(scales[c]));
      smallest = std::min(smallest, double(scales[c]));
    }
    float norm = float(std::sqrt(largest * smallest));
    std::vector<float> scaled(w, w + rows * cols);
    for (int64_t c = 0; c < cols; ++c)
      scales[c] /= norm;
    for (int64_t i = 0; i < rows * cols; ++i)
      scaled[i] *= scales[i % cols];
    codec::QuantizedMatrix q = codec::quantizeMatrix(scaled.data(), rows, cols, bits, groupSize, symmetric);
    std::vector<float> effective = dequantizeMatrix(q, rows, cols, bits, groupSize, symmetric);
    for (int64_t i = 0; i < rows * cols; ++i)
      effective[i] /= scales[i % cols];
    double error = outputErrorSquared(w, effective.data(), rows, cols, h);
    if (step == 0)
      best.rtnError = error;
    if (step == 0 || error < best.error) {
      best.alpha = alpha;
      best.error = error;
      best.scales = std::move(scales);
      best.quantized = std::move(q);
    }
  }
  return best;
}

} // namespace kiln::numerics

//===- Clipping.cpp - choosing the clipping range of a quantizer ---------===//
#include "Numerics.h"

#include <algorithm>
#include <cmath>

namespace kiln::numerics {

double fakeQuantError(const std::vector<float> &values, float clip, unsigned bits) {
  double levels = double((1 << (bits - 1)) - 1), scale = clip / levels, error = 0;
  if (!(scale > 0))
    return INFINITY;
  for (float value : values) {
    double code = std::clamp(std::nearbyint(value / scale), -levels, levels);
    error += std::pow(value - code * scale, 2);
  }
  return error;
}

float chooseClip(const std::vector<float> &values, ClipMethod method, unsigned bits,
                 double percentile) {
  std::vector<float> magnitudes(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    magnitudes[i] = std::fabs(values[i]);
  if (magnitudes.empty())
    return 1.0f;
  float largest = *std::max_element(magnitudes.begin(), magnitudes.end());
  if (!(largest > 0))
    return 1.0f;
  switch (method) {
  case ClipMethod::MinMax:
    return largest;
  case ClipMethod::Percentile: {
    size_t rank = size_t(std::ceil(percentile / 100.0 * double(magnitudes.size()))) ;
    rank = std::clamp<size_t>(rank, 1, magnitudes.size()) - 1;
    std::nth_element(magnitudes.begin(), magnitudes.begin() + rank, magnitudes.end());
    return magnitudes[rank] > 0 ? magnitudes[rank] : largest;
  }
  case ClipMethod::Mse: {
    // Shrink the range geometrically, 3% a step, down to 0.2% of the maximum
    // (heavy tails can put the best clip far below the largest value).
    float best = largest;
    double bestError = fakeQuantError(values, largest, bits);
    for (int step = 1; step <= 200; ++step) {
      float clip = largest * float(std::pow(0.97, step));
      double error = fakeQuantError(values, clip, bits);
      if (error < bestError) {
        bestError = error;
        best = clip;
      }
    }
    return best;
  }
  }
  return largest;
}

} // namespace kiln::numerics

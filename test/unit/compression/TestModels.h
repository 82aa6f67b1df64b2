//===- TestModels.h - small random MLPs as kiln IR for pass tests --------===//
#ifndef KILN_TEST_UNIT_COMPRESSION_TESTMODELS_H
#define KILN_TEST_UNIT_COMPRESSION_TESTMODELS_H

#include "Calibration.h"

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace kiln::testmodels {

/// A [rows, cols] matrix of standard normals.
inline std::vector<float> randomMatrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(rows * cols));
  for (float &value : values)
    value = normal(engine);
  return values;
}

/// A dense<...> literal of normal(0, scale) values; row r is multiplied by
/// rowGain(r) so tests can make some channels much larger than others.
template <typename Gain>
std::string denseLiteral(int64_t rows, int64_t cols, unsigned seed, float scale, Gain rowGain) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::ostringstream os;
  os.precision(9);
  os << "dense<[";
  for (int64_t r = 0; r < rows; ++r) {
    os << (r ? ", [" : "[");
    for (int64_t c = 0; c < cols; ++c)
      os << (c ? ", " : "") << normal(engine) * rowGain(r);
    os << "]";
  }
  os << "]> : tensor<" << rows << "x" << cols << "xf32>";
  return os.str();
}

/// x [batch, k] -> fc1 [hidden, k] -> relu -> fc2 [out, hidden].
template <typename Gain>
std::string mlp(int64_t batch, int64_t k, int64_t hidden, int64_t out, Gain hiddenGain) {
  auto one = [](int64_t) { return 1.0f; };
  std::ostringstream os;
  auto tensor = [](int64_t a, int64_t b) {
    return "tensor<" + std::to_string(a) + "x" + std::to_string(b) + "xf32>";
  };
  os << "func.func @main(%x: " << tensor(batch, k) << ") -> " << tensor(batch, out) << " {\n"
     << "  %w1 = arith.constant " << denseLiteral(hidden, k, 1, 1.0f, hiddenGain) << "\n"
     << "  %w2 = arith.constant " << denseLiteral(out, hidden, 2, 0.2f, one) << "\n"
     << "  %zero = arith.constant dense<0.0> : " << tensor(batch, hidden) << "\n"
     << "  %h = kiln.linear %x, %w1 : (" << tensor(batch, k) << ", " << tensor(hidden, k)
     << ") -> " << tensor(batch, hidden) << " loc(\"fc1 (Gemm)\")\n"
     << "  %r = arith.maximumf %h, %zero : " << tensor(batch, hidden) << "\n"
     << "  %y = kiln.linear %r, %w2 : (" << tensor(batch, hidden) << ", " << tensor(out, hidden)
     << ") -> " << tensor(batch, out) << " loc(\"fc2 (Gemm)\")\n"
     << "  return %y : " << tensor(batch, out) << "\n}\n";
  return os.str();
}

/// Relative L2 distance of two functions' first results over `runs`.
inline double endToEndError(mlir::func::FuncOp reference, mlir::func::FuncOp candidate,
                            const std::vector<CalibrationRun> &runs) {
  double error = 0, norm = 0;
  for (const auto &arguments : runs) {
    auto want = compression::evaluateFunction(reference, arguments);
    auto got = compression::evaluateFunction(candidate, arguments);
    if (mlir::failed(want) || mlir::failed(got))
      return INFINITY;
    for (size_t i = 0; i < (*want)[0].size(); ++i) {
      error += std::pow(double((*want)[0][i]) - (*got)[0][i], 2);
      norm += std::pow(double((*want)[0][i]), 2);
    }
  }
  return std::sqrt(error / norm);
}

} // namespace kiln::testmodels

#endif // KILN_TEST_UNIT_COMPRESSION_TESTMODELS_H

//===- QuantizedModelTest.cpp - weight-only int models on the host -------===//
//
// kilnc quantizes a linear layer's weight (--quantize) and the host target
// decodes the packed codes inside the contraction. The reference quantizes
// the same weight with kiln::codec (the encoding's definition) and
// multiplies by the dequantized values here.
//
//===----------------------------------------------------------------------===//
#include "CompiledModel.h"
#include "kiln/Dialect/Codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <sys/stat.h>

using namespace kiln::test;

namespace {

constexpr int64_t K = 256, N = 192;

std::vector<float> randomFloats(size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.5f);
  std::vector<float> values(count);
  for (float &v : values)
    v = dist(rng);
  return values;
}

struct Case {
  const char *flags;
  unsigned bits;
  int64_t groupSize; // 0: per channel
  bool symmetric;
};

class QuantizedLinearTest : public ::testing::TestWithParam<Case> {
protected:
  std::vector<float> w = randomFloats(N * K, 21), b = randomFloats(N, 22);

  std::string mlir() const {
    std::ostringstream os;
    os << "func.func @main(%x: tensor<?x256xf32> {kiln.name = \"x\", kiln.dims = [\"rows\", "
          "\"\"]}) -> (tensor<?x192xf32> {kiln.name = \"y\", kiln.dims = [\"rows\", \"\"]}) {\n"
       << "  %w = " << f32Constant(w, "192x256") << "  %b = " << f32Constant(b, "192")
       << "  %y = kiln.linear %x, %w bias %b : (tensor<?x256xf32>, tensor<192x256xf32>, "
          "tensor<192xf32>) -> tensor<?x192xf32>\n"
          "  return %y : tensor<?x192xf32>\n}\n";
    return os.str();
  }

  /// The weight as the quantized model sees it.
  std::vector<float> dequantizedWeight(const Case &c) const {
    kiln::codec::QuantizedMatrix q =
        kiln::codec::quantizeMatrix(w.data(), N, K, c.bits, c.groupSize, c.symmetric);
    int64_t groups = c.groupSize ? K / c.groupSize : 1;
    std::vector<float> result(N * K);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        int64_t group = n * groups + (c.groupSize ? k / c.groupSize : 0);
        uint32_t code = q.codes[n * K + k];
        int32_t value = c.symmetric ? kiln::codec::signExtend(code, c.bits) : int32_t(code);
        result[n * K + k] = kiln::codec::dequantizeLinear(
            value, {q.scales[group], q.zeroPoints[group]});
      }
    return result;
  }
};

TEST_P(QuantizedLinearTest, MatchesDequantizedReferenceAndStaysPacked) {
  const Case &c = GetParam();
  CompiledModel model(mlir(), "qlinear", c.flags);
  ASSERT_TRUE(model.ok()) << model.error();
  std::vector<float> wq = dequantizedWeight(c);

  int64_t rows = 5;
  std::vector<float> x = randomFloats(rows * K, 23), y(rows * N);
  int64_t inShape[] = {rows, K}, outShape[] = {rows, N};
  kiln_tensor in = {KILN_DTYPE_F32, 2, inShape, x.data(), x.size() * 4};
  kiln_tensor out = {KILN_DTYPE_F32, 2, outShape, y.data(), y.size() * 4};
  ModelHandle handle(model.api());
  ASSERT_EQ(model.api().run(handle.handle, &in, 1, &out, 1), KILN_OK) << model.api().lastError();
  double maxQuantizationEffect = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t n = 0; n < N; ++n) {
      double expected = b[n], unquantized = b[n];
      for (int64_t k = 0; k < K; ++k) {
        expected += double(x[r * K + k]) * wq[n * K + k];
        unquantized += double(x[r * K + k]) * w[n * K + k];
      }
      ASSERT_NEAR(y[r * N + n], expected, 1e-4 * (1 + std::fabs(expected)))
          << "row " << r << " channel " << n;
      maxQuantizationEffect = std::max(maxQuantizationEffect, std::fabs(expected - unquantized));
    }
  // The quantization really happened (the reference differs from fp32).
  EXPECT_GT(maxQuantizationEffect, 1e-3);

  // The .so holds the packed codes, not the dense fp32 weight.
  struct stat info;
  ASSERT_EQ(stat(model.libraryPath().c_str(), &info), 0);
  int64_t denseBytes = N * K * 4;
  EXPECT_LT(info.st_size, denseBytes * int64_t(c.bits) / 32 + 64 * 1024)
      << "library is " << info.st_size << " bytes";
}

INSTANTIATE_TEST_SUITE_P(
    Encodings, QuantizedLinearTest,
    ::testing::Values(Case{"--quantize=int8", 8, 0, true},
                      Case{"--quantize=int4 --group-size=32", 4, 32, true},
                      Case{"--quantize=int4 --group-size=64 --asymmetric", 4, 64, false},
                      Case{"--quantize=int2 --group-size=16", 2, 16, true},
                      Case{"--quantize=int8 --group-size=128 --asymmetric", 8, 128, false}),
    [](const ::testing::TestParamInfo<Case> &info) {
      std::string name = std::string("int") + std::to_string(info.param.bits) +
                         (info.param.groupSize ? "_group" + std::to_string(info.param.groupSize)
                                               : "_channel") +
                         (info.param.symmetric ? "_sym" : "_asym");
      return name;
    });

} // namespace

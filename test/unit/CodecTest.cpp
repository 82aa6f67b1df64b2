//===- CodecTest.cpp - packing and quantization math ---------------------===//
#include "kiln/Dialect/Codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace kiln::codec;

TEST(Packing, Int4TwoCodesPerByteLowNibbleFirst) {
  std::vector<uint8_t> packed = packCodes({0x1, 0x2, 0xF, 0x8, 0x7}, 4);
  ASSERT_EQ(packed.size(), 3u);
  EXPECT_EQ(packed[0], 0x21);
  EXPECT_EQ(packed[1], 0x8F);
  EXPECT_EQ(packed[2], 0x07);
}

TEST(Packing, RoundTripsEveryWidth) {
  std::mt19937 rng(7);
  for (unsigned bits = 1; bits <= 8; ++bits) {
    std::vector<uint32_t> codes(257);
    for (uint32_t &code : codes)
      code = rng() & ((1u << bits) - 1);
    std::vector<uint8_t> packed = packCodes(codes, bits);
    EXPECT_EQ(int64_t(packed.size()), *packedByteCount(int64_t(codes.size()), bits));
    for (size_t i = 0; i < codes.size(); ++i)
      ASSERT_EQ(unpackCode(packed.data(), int64_t(i), bits), codes[i])
          << "bits " << bits << " index " << i;
  }
}

TEST(Packing, ThreeBitCodesStraddleBytes) {
  // 0b101, 0b011, 0b110 -> bits 101 011 110 -> bytes 0b10011101, 0b1
  std::vector<uint8_t> packed = packCodes({5, 3, 6}, 3);
  ASSERT_EQ(packed.size(), 2u);
  EXPECT_EQ(packed[0], 0x9D);
  EXPECT_EQ(packed[1], 0x01);
}

TEST(Packing, SignExtension) {
  EXPECT_EQ(signExtend(0xF, 4), -1);
  EXPECT_EQ(signExtend(0x8, 4), -8);
  EXPECT_EQ(signExtend(0x7, 4), 7);
  EXPECT_EQ(signExtend(0x2, 2), -2);
  EXPECT_EQ(signExtend(0x80, 8), -128);
}

TEST(Checked, OverflowIsDetected) {
  EXPECT_FALSE(checkedMul(INT64_MAX / 2 + 1, 2).has_value());
  EXPECT_FALSE(checkedMul(-1, 2).has_value());
  EXPECT_EQ(*checkedMul(1 << 20, 1 << 20), int64_t(1) << 40);
  int64_t dims[] = {1 << 30, 1 << 30, 1 << 30};
  EXPECT_FALSE(checkedProduct(dims, 3).has_value());
  EXPECT_FALSE(packedByteCount(INT64_MAX / 4, 8).has_value());
  EXPECT_EQ(*packedByteCount(3, 4), 2);
}

// A reference written here, independent of the library: symmetric int-b
// quantization of each row with scale = max|row| / (2^(b-1) - 1).
static void referenceSymmetric(const std::vector<float> &w, int rows, int cols, unsigned bits,
                               std::vector<int> &codes, std::vector<float> &scales) {
  int qmax = (1 << (bits - 1)) - 1;
  codes.assign(w.size(), 0);
  scales.assign(rows, 0);
  for (int r = 0; r < rows; ++r) {
    float m = 0;
    for (int c = 0; c < cols; ++c)
      m = std::max(m, std::fabs(w[r * cols + c]));
    float s = m > 0 ? m / qmax : 1.0f;
    scales[r] = s;
    for (int c = 0; c < cols; ++c) {
      float q = std::nearbyint(w[r * cols + c] / s);
      codes[r * cols + c] = int(std::min<float>(std::max<float>(q, -qmax - 1), qmax));
    }
  }
}

TEST(Quantize, PerChannelSymmetricMatchesReference) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int rows = 6, cols = 40;
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = normal(rng);
  for (unsigned bits : {8u, 4u, 3u, 2u}) {
    QuantizedMatrix q = quantizeMatrix(w.data(), rows, cols, bits, 0, true);
    std::vector<int> refCodes;
    std::vector<float> refScales;
    referenceSymmetric(w, rows, cols, bits, refCodes, refScales);
    for (int r = 0; r < rows; ++r) {
      EXPECT_FLOAT_EQ(q.scales[r], refScales[r]);
      EXPECT_EQ(q.zeroPoints[r], 0);
    }
    for (size_t i = 0; i < w.size(); ++i)
      ASSERT_EQ(signExtend(q.codes[i], bits), refCodes[i]) << "bits " << bits << " i " << i;
    // The error of each element is at most half a step.
    for (size_t i = 0; i < w.size(); ++i) {
      float deq = dequantizeLinear(signExtend(q.codes[i], bits), {q.scales[i / cols], 0});
      EXPECT_LE(std::fabs(deq - w[i]), q.scales[i / cols] / 2 + 1e-6f);
    }
  }
}

TEST(Quantize, PerGroupAsymmetricCoversRange) {
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> uniform(0.5f, 3.0f); // all positive
  const int rows = 3, cols = 64, group = 16;
  std::vector<float> w(rows * cols);
  for (float &v : w)
    v = uniform(rng);
  QuantizedMatrix q = quantizeMatrix(w.data(), rows, cols, 4, group, false);
  ASSERT_EQ(q.scales.size(), size_t(rows * cols / group));
  for (int i = 0; i < rows * cols; ++i) {
    int g = (i / cols) * (cols / group) + (i % cols) / group;
    EXPECT_LE(q.codes[i], 15u);
    float deq = dequantizeLinear(int32_t(q.codes[i]), {q.scales[g], q.zeroPoints[g]});
    EXPECT_LE(std::fabs(deq - w[i]), q.scales[g] * 0.5f + 1e-5f);
  }
}

TEST(Quantize, TiesRoundToEvenAndClamp) {
  CodeRange range = codeRange(4, true);
  EXPECT_EQ(range.min, -8);
  EXPECT_EQ(range.max, 7);
  EXPECT_EQ(quantizeLinear(2.5f, {1.0f, 0}, range), 2);
  EXPECT_EQ(quantizeLinear(3.5f, {1.0f, 0}, range), 4);
  EXPECT_EQ(quantizeLinear(100.0f, {1.0f, 0}, range), 7);
  EXPECT_EQ(quantizeLinear(-100.0f, {1.0f, 0}, range), -8);
  EXPECT_EQ(quantizeLinear(std::numeric_limits<float>::quiet_NaN(), {1.0f, 0}, range), 0);
}

TEST(Log2, PowersOfTwoRoundTrip) {
  for (int e = 0; e < 7; ++e) {
    float v = std::ldexp(1.0f, -e);
    uint32_t code = quantizeLog2(v, 1.0f, 4);
    EXPECT_EQ(code, uint32_t(e + 1));
    EXPECT_FLOAT_EQ(dequantizeLog2(code, 1.0f, 4), v);
    EXPECT_FLOAT_EQ(dequantizeLog2(quantizeLog2(-v, 1.0f, 4), 1.0f, 4), -v);
  }
  EXPECT_EQ(quantizeLog2(0.0f, 1.0f, 4), 0u);
  EXPECT_EQ(quantizeLog2(1e-6f, 1.0f, 4), 0u); // below the smallest step
}

TEST(Fp8, KnownEncodings) {
  EXPECT_EQ(floatToE4M3(1.0f), 0x38);
  EXPECT_EQ(floatToE4M3(448.0f), 0x7E);
  EXPECT_EQ(floatToE4M3(1e6f), 0x7E); // saturates
  EXPECT_FLOAT_EQ(e4m3ToFloat(0x38), 1.0f);
  EXPECT_EQ(floatToE5M2(1.0f), 0x3C);
  EXPECT_FLOAT_EQ(e5m2ToFloat(0x3C), 1.0f);
  EXPECT_FLOAT_EQ(e5m2ToFloat(floatToE5M2(-57344.0f)), -57344.0f);
}

TEST(ScaleIndex, PerGroupFlattensTheScaleShape) {
  std::vector<int64_t> shape = {4, 8};
  // Groups of 4 along axis 1: scale shape [4, 2].
  EXPECT_EQ(scaleIndex(shape, Granularity::PerGroup, 1, 4, 0), 0);
  EXPECT_EQ(scaleIndex(shape, Granularity::PerGroup, 1, 4, 5), 1);
  EXPECT_EQ(scaleIndex(shape, Granularity::PerGroup, 1, 4, 8), 2);
  EXPECT_EQ(scaleIndex(shape, Granularity::PerGroup, 1, 4, 31), 7);
  // Groups of 2 along axis 0: scale shape [2, 8].
  EXPECT_EQ(scaleIndex(shape, Granularity::PerGroup, 0, 2, 9), 1);
  EXPECT_EQ(scaleIndex(shape, Granularity::PerGroup, 0, 2, 17), 9);
  EXPECT_EQ(scaleIndex(shape, Granularity::PerChannel, 0, 0, 17), 2);
  EXPECT_EQ(scaleIndex(shape, Granularity::PerChannel, 1, 0, 17), 1);
  EXPECT_EQ(scaleIndex(shape, Granularity::PerTensor, 0, 0, 17), 0);
}

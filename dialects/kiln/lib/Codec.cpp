//===- Codec.cpp - bit packing and quantization math ---------------------===//
#include "kiln/Dialect/Codec.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APInt.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace kiln::codec {

std::optional<int64_t> checkedMul(int64_t a, int64_t b) {
  int64_t result;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &result))
    return std::nullopt;
  return result;
}

std::optional<int64_t> checkedAdd(int64_t a, int64_t b) {
  int64_t result;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &result))
    return std::nullopt;
  return result;
}

std::optional<int64_t> checkedProduct(const int64_t *dims, size_t rank) {
  int64_t product = 1;
  for (size_t i = 0; i < rank; ++i) {
    std::optional<int64_t> next = checkedMul(product, dims[i]);
    if (!next)
      return std::nullopt;
    product = *next;
  }
  return product;
}

std::optional<int64_t> packedByteCount(int64_t count, unsigned bits) {
  std::optional<int64_t> totalBits = checkedMul(count, bits);
  if (!totalBits)
    return std::nullopt;
  return *totalBits / 8 + (*totalBits % 8 != 0);
}

std::vector<uint8_t> packCodes(const std::vector<uint32_t> &codes, unsigned bits) {
  assert(bits >= 1 && bits <= 8 && "codes are 1 to 8 bits");
  std::vector<uint8_t> packed(*packedByteCount(int64_t(codes.size()), bits), 0);
  const uint32_t mask = (1u << bits) - 1;
  uint64_t bitPos = 0;
  for (uint32_t code : codes) {
    uint32_t value = code & mask;
    size_t byte = bitPos / 8;
    unsigned shift = bitPos % 8;
    packed[byte] |= uint8_t(value << shift);
    if (shift + bits > 8)
      packed[byte + 1] |= uint8_t(value >> (8 - shift));
    bitPos += bits;
  }
  return packed;
}

uint32_t unpackCode(const uint8_t *packed, int64_t index, unsigned bits) {
  uint64_t bitPos = uint64_t(index) * bits;
  size_t byte = bitPos / 8;
  unsigned shift = bitPos % 8;
  uint32_t value = packed[byte] >> shift;
  if (shift + bits > 8)
    value |= uint32_t(packed[byte + 1]) << (8 - shift);
  return value & ((1u << bits) - 1);
}

int32_t signExtend(uint32_t code, unsigned bits) {
  uint32_t signBit = 1u << (bits - 1);
  return int32_t(code ^ signBit) - int32_t(signBit);
}

CodeRange codeRange(unsigned bits, bool isSigned) {
  if (isSigned)
    return {-(1 << (bits - 1)), (1 << (bits - 1)) - 1};
  return {0, (1 << bits) - 1};
}

LinearParams chooseLinearParams(const float *values, int64_t count,
                                CodeRange range, bool symmetric) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i]))
      continue;
    lo = std::min(lo, values[i]);
    hi = std::max(hi, values[i]);
  }
  if (symmetric) {
    float absMax = std::max(-lo, hi);
    // Symmetric codes use [-max, max]; the extra negative code stays unused
    // so that +v and -v quantize to opposite codes.
    int32_t positive = std::max(range.max, -range.min - 1);
    if (range.min >= 0) // unsigned storage: centre the zero point
      positive = (range.max - range.min) / 2;
    float scale = absMax > 0 ? absMax / float(positive) : 1.0f;
    int32_t zeroPoint = range.min >= 0 ? (range.max + range.min + 1) / 2 : 0;
    return {scale, zeroPoint};
  }
  float spread = hi - lo;
  float scale = spread > 0 ? spread / float(range.max - range.min) : 1.0f;
  int32_t zeroPoint = int32_t(std::nearbyint(float(range.min) - lo / scale));
  zeroPoint = std::clamp(zeroPoint, range.min, range.max);
  return {scale, zeroPoint};
}

int32_t quantizeLinear(float value, LinearParams params, CodeRange range) {
  if (std::isnan(value))
    return params.zeroPoint;
  double scaled = double(value) / double(params.scale);
  double rounded = std::nearbyint(scaled) + params.zeroPoint; // ties to even
  rounded = std::clamp(rounded, double(range.min), double(range.max));
  return int32_t(rounded);
}

float dequantizeLinear(int32_t code, LinearParams params) {
  return params.scale * float(code - params.zeroPoint);
}

uint32_t quantizeLog2(float value, float scale, unsigned bits) {
  const uint32_t maxExponentCode = (1u << (bits - 1)) - 1;
  if (!(std::fabs(value) > 0) || !(scale > 0))
    return 0;
  // Nearest power of two in the log domain: e = 1 - round(log2(|v|/scale)).
  double ratio = std::fabs(double(value)) / scale;
  long exponentCode = 1 - std::lround(std::log2(ratio));
  if (exponentCode < 1)
    exponentCode = 1;
  if (exponentCode > long(maxExponentCode)) {
    // Below half of the smallest step: flush to zero.
    double smallest = std::ldexp(1.0, 1 - int(maxExponentCode));
    if (ratio < smallest / 2)
      return 0;
    exponentCode = maxExponentCode;
  }
  uint32_t sign = value < 0 ? (1u << (bits - 1)) : 0;
  return sign | uint32_t(exponentCode);
}

float dequantizeLog2(uint32_t code, float scale, unsigned bits) {
  uint32_t exponentCode = code & ((1u << (bits - 1)) - 1);
  if (exponentCode == 0)
    return 0.0f;
  float magnitude = std::ldexp(scale, 1 - int(exponentCode));
  return (code >> (bits - 1)) & 1 ? -magnitude : magnitude;
}

static uint8_t floatToFp8(float value, const llvm::fltSemantics &semantics) {
  llvm::APFloat converted(value);
  bool losesInfo = false;
  // Saturate instead of producing inf/NaN for out-of-range finite values.
  llvm::APFloat largest = llvm::APFloat::getLargest(semantics, false);
  llvm::APFloat largestAsFloat = largest;
  largestAsFloat.convert(llvm::APFloat::IEEEsingle(),
                         llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  float limit = largestAsFloat.convertToFloat();
  if (std::isfinite(value))
    converted = llvm::APFloat(std::clamp(value, -limit, limit));
  converted.convert(semantics, llvm::APFloat::rmNearestTiesToEven, &losesInfo);
  return uint8_t(converted.bitcastToAPInt().getZExtValue());
}

static float fp8ToFloat(uint8_t code, const llvm::fltSemantics &semantics) {
  llvm::APFloat value(semantics, llvm::APInt(8, code));
  bool losesInfo = false;
  value.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
                &losesInfo);
  return value.convertToFloat();
}

uint8_t floatToE4M3(float value) {
  return floatToFp8(value, llvm::APFloat::Float8E4M3FN());
}
float e4m3ToFloat(uint8_t code) {
  return fp8ToFloat(code, llvm::APFloat::Float8E4M3FN());
}
uint8_t floatToE5M2(float value) {
  return floatToFp8(value, llvm::APFloat::Float8E5M2());
}
float e5m2ToFloat(uint8_t code) {
  return fp8ToFloat(code, llvm::APFloat::Float8E5M2());
}

int64_t scaleIndex(const std::vector<int64_t> &shape, Granularity granularity,
                   int64_t axis, int64_t groupSize, int64_t flatIndex) {
  if (granularity == Granularity::PerTensor)
    return 0;
  int64_t index = 0, stride = 1;
  for (int64_t dim = int64_t(shape.size()) - 1; dim >= 0; --dim) {
    int64_t coord = flatIndex % shape[dim];
    flatIndex /= shape[dim];
    if (granularity == Granularity::PerChannel) {
      if (dim == axis)
        return coord;
      continue;
    }
    int64_t extent = shape[dim];
    if (dim == axis) {
      coord /= groupSize;
      extent /= groupSize;
    }
    index += coord * stride;
    stride *= extent;
  }
  return index;
}

QuantizedMatrix quantizeMatrix(const float *values, int64_t rows, int64_t cols,
                               unsigned bits, int64_t groupSize, bool symmetric) {
  int64_t group = groupSize > 0 ? groupSize : cols;
  int64_t groupsPerRow = cols / group;
  CodeRange range = codeRange(bits, /*isSigned=*/symmetric);
  QuantizedMatrix result;
  result.codes.resize(size_t(rows * cols));
  result.scales.resize(size_t(rows * groupsPerRow));
  result.zeroPoints.resize(size_t(rows * groupsPerRow));
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t g = 0; g < groupsPerRow; ++g) {
      const float *first = values + row * cols + g * group;
      LinearParams params = chooseLinearParams(first, group, range, symmetric);
      result.scales[row * groupsPerRow + g] = params.scale;
      result.zeroPoints[row * groupsPerRow + g] = params.zeroPoint;
      for (int64_t i = 0; i < group; ++i)
        result.codes[row * cols + g * group + i] =
            uint32_t(quantizeLinear(first[i], params, range)) & mask;
    }
  return result;
}

} // namespace kiln::codec

//===- Codec.h - bit packing and quantization math -----------------------===//
//
// The arithmetic of kiln's encodings, free of MLIR so that passes, tests and
// kernel generators share one definition. Codes are packed little-endian:
// code i occupies bits [i*bits, (i+1)*bits) of the byte stream.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_CODEC_H
#define KILN_DIALECT_CODEC_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace kiln::codec {

/// a * b, or nullopt on overflow or a negative operand.
std::optional<int64_t> checkedMul(int64_t a, int64_t b);
/// a + b, or nullopt on overflow or a negative operand.
std::optional<int64_t> checkedAdd(int64_t a, int64_t b);
/// Product of all dims, or nullopt on overflow or a negative dim.
std::optional<int64_t> checkedProduct(const int64_t *dims, size_t rank);
/// Bytes needed for `count` codes of `bits` bits, or nullopt on overflow.
std::optional<int64_t> packedByteCount(int64_t count, unsigned bits);

/// Packs the low `bits` bits of each code.
std::vector<uint8_t> packCodes(const std::vector<uint32_t> &codes, unsigned bits);
/// Reads code `index` (its low `bits` bits, zero-extended).
uint32_t unpackCode(const uint8_t *packed, int64_t index, unsigned bits);
/// Interprets the low `bits` bits of `code` as two's complement.
int32_t signExtend(uint32_t code, unsigned bits);

/// The integer range of a storage type.
struct CodeRange {
  int32_t min;
  int32_t max;
};
CodeRange codeRange(unsigned bits, bool isSigned);

/// Scale and zero point of one linear quantization group.
struct LinearParams {
  float scale;
  int32_t zeroPoint;
};

/// Round-to-nearest parameters for `values` (min-max, no clipping).
/// Symmetric: zero point 0 and scale = max|v| / max(|min|, max) of the
/// range. Asymmetric: the range [min(v,0), max(v,0)] maps onto [min, max].
LinearParams chooseLinearParams(const float *values, int64_t count,
                                CodeRange range, bool symmetric);
/// Round half to even, then clamp into the range.
int32_t quantizeLinear(float value, LinearParams params, CodeRange range);
float dequantizeLinear(int32_t code, LinearParams params);

/// Power-of-two codes: code 0 is zero; otherwise the top bit is the sign and
/// the rest e in [1, 2^(bits-1)-1] stands for scale * 2^-(e-1).
uint32_t quantizeLog2(float value, float scale, unsigned bits);
float dequantizeLog2(uint32_t code, float scale, unsigned bits);

/// fp8 conversions (round to nearest even, saturating to the finite range).
uint8_t floatToE4M3(float value);
float e4m3ToFloat(uint8_t code);
uint8_t floatToE5M2(float value);
float e5m2ToFloat(uint8_t code);

/// Index of the scale that covers element `flatIndex` of a tensor of
/// `shape`: 0 per tensor; coordinate `axis` per channel; per group the
/// element's coordinates with coordinate `axis` divided by `groupSize`,
/// flattened in the scale tensor's shape.
enum class Granularity { PerTensor, PerChannel, PerGroup };
int64_t scaleIndex(const std::vector<int64_t> &shape, Granularity granularity,
                   int64_t axis, int64_t groupSize, int64_t flatIndex);

/// Round-to-nearest quantization of a row-major [rows, cols] matrix with one
/// scale per row (groupSize == 0) or per group of `groupSize` consecutive
/// columns of a row (cols % groupSize == 0).
struct QuantizedMatrix {
  std::vector<uint32_t> codes;      // raw `bits`-bit patterns, row-major
  std::vector<float> scales;        // [rows, groups]
  std::vector<int32_t> zeroPoints;  // [rows, groups]; all 0 when symmetric
};
QuantizedMatrix quantizeMatrix(const float *values, int64_t rows, int64_t cols,
                               unsigned bits, int64_t groupSize, bool symmetric);

} // namespace kiln::codec

#endif // KILN_DIALECT_CODEC_H

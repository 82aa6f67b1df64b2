//===- Dequant.cpp - in-register dequantization of 16-byte weight chunks --===//
#include "Dequant.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <numeric>

using namespace mlir;

namespace kiln::kernels {
namespace {

class ChunkDequantizer {
public:
  ChunkDequantizer(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  Value splatI32(uint32_t value) {
    auto type = VectorType::get({4}, b.getI32Type());
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, b.getI32IntegerAttr(value)));
  }
  Value splatF16(double value) {
    auto type = VectorType::get({8}, b.getF16Type());
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, b.getF16FloatAttr(value)));
  }
  Value shiftRight(Value v, int64_t bits) {
    return bits == 0 ? v : arith::ShRUIOp::create(b, loc, v, splatI32(bits));
  }
  Value bitAnd(Value v, uint32_t mask) {
    return arith::AndIOp::create(b, loc, v, splatI32(mask));
  }
  /// f16 bit pattern 0x6400 | u is exactly 1024 + u for u < 1024: OR-ing a
  /// biased code into the mantissa converts it without a conversion
  /// instruction; subtracting (1024 + bias) leaves the signed code.
  Value toSigned(Value biasedCodes, double bias) {
    Value words = arith::OrIOp::create(b, loc, biasedCodes, splatI32(0x64006400u));
    Value halves =
        vector::BitCastOp::create(b, loc, VectorType::get({8}, b.getF16Type()), words);
    return arith::SubFOp::create(b, loc, halves, splatF16(1024.0 + bias));
  }

  Value asHalves(Value words) {
    return vector::BitCastOp::create(b, loc, VectorType::get({8}, b.getF16Type()), words);
  }
  /// Bits 0-3 of each 16-bit half as 1024 + (q + 8), minus 1032.
  Value lowNibbleCodes(Value words) {
    Value biased = arith::XOrIOp::create(b, loc, bitAnd(words, 0x000F000Fu),
                                         splatI32(0x64086408u));
    return arith::SubFOp::create(b, loc, asHalves(biased), splatF16(1032.0));
  }
  /// Bits 4-7 of each 16-bit half as 1024 + 16 (q + 8), times 1/16 minus 72.
  Value highNibbleCodes(Value words) {
    Value biased = arith::XOrIOp::create(b, loc, bitAnd(words, 0x00F000F0u),
                                         splatI32(0x64806480u));
    return vector::FMAOp::create(b, loc, asHalves(biased), splatF16(1.0 / 16.0),
                                 splatF16(-72.0));
  }

  DequantizedChunk int4(Value chunk) {
    // Word j holds codes 8j..8j+7, nibble i = code 8j+i. Nibbles i and i+4
    // of a word sit at the same place in its two 16-bit halves, so one mask
    // gives an f16 pair (code 8j+i, code 8j+i+4): the low nibble of a byte
    // as 1024 + u, the high one as 1024 + 16u. XOR-ing 8 into the nibble
    // (folded into the mask's lop3) turns the two's-complement code q into
    // u = q + 8; one f16x2 sub (or fma by 1/16) then leaves q exactly. Only
    // the odd bytes need a shift: 4 shifts, 16 lop3 and 16 f16x2 ops a chunk.
    DequantizedChunk out;
    Value shifted = shiftRight(chunk, 8);
    for (int64_t i = 0; i < 4; ++i) {
      Value source = i < 2 ? chunk : shifted;
      bool highNibble = i % 2 == 1;
      out.weights.push_back(highNibble ? highNibbleCodes(source) : lowNibbleCodes(source));
      SmallVector<int64_t, 8> pos;
      for (int64_t word = 0; word < 4; ++word) {
        pos.push_back(8 * word + i);
        pos.push_back(8 * word + i + 4);
      }
      out.positions.push_back(pos);
    }
    return out;
  }

  DequantizedChunk int8(Value chunk) {
    // Word j holds codes 4j..4j+3, byte i = code 4j+i. Bytes (0, 1) and
    // (2, 3) of every word become f16 pairs.
    DequantizedChunk out;
    Value biased = arith::XOrIOp::create(b, loc, chunk, splatI32(0x80808080u));
    Value shl8 = arith::ShLIOp::create(b, loc, biased, splatI32(8));
    Value low = arith::OrIOp::create(b, loc, bitAnd(biased, 0xFFu), bitAnd(shl8, 0x00FF0000u));
    Value high = arith::OrIOp::create(b, loc, bitAnd(shiftRight(biased, 16), 0xFFu),
                                      bitAnd(shiftRight(biased, 8), 0x00FF0000u));
    for (auto [codes, first] : {std::pair{low, 0}, std::pair{high, 2}}) {
      out.weights.push_back(toSigned(codes, 128));
      SmallVector<int64_t, 8> pos;
      for (int64_t word = 0; word < 4; ++word) {
        pos.push_back(4 * word + first);
        pos.push_back(4 * word + first + 1);
      }
      out.positions.push_back(pos);
    }
    return out;
  }

private:
  OpBuilder &b;
  Location loc;
};

} // namespace

DequantizedChunk dequantizeChunk(OpBuilder &b, Location loc, WeightFormat format,
                                 Value chunk) {
  ChunkDequantizer dq(b, loc);
  switch (format) {
  case WeightFormat::F16:
    return {{chunk}, {{0, 1, 2, 3, 4, 5, 6, 7}}};
  case WeightFormat::Int8:
    return dq.int8(chunk);
  case WeightFormat::Int4:
    return dq.int4(chunk);
  }
  llvm_unreachable("unknown weight format");
}

Value gatherActivations(OpBuilder &b, Location loc, ArrayRef<Value> vectors,
                        ArrayRef<int64_t> positions) {
  // Every position list holds 8 positions; the first four fall into one
  // aligned 16-element window and the last four into another (or the same),
  // so two 2-source shuffles and one concatenation cover every format.
  if (vectors.size() == 1)
    return vectors.front();
  auto window = [&](ArrayRef<int64_t> part) {
    int64_t base = (part.front() / 16) * 16;
    SmallVector<int64_t> mask;
    for (int64_t p : part) {
      assert(p / 16 == base / 16 && "positions straddle a 16-element window");
      mask.push_back(p - base);
    }
    Value first = vectors[base / 8], second = vectors[base / 8 + 1];
    return vector::ShuffleOp::create(b, loc, first, second, mask).getResult();
  };
  if (positions.front() / 16 == positions.back() / 16)
    return window(positions);
  Value low = window(positions.take_front(4));
  Value high = window(positions.drop_front(4));
  return vector::ShuffleOp::create(b, loc, low, high,
                                   ArrayRef<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
}

SmallVector<Value> dequantizeChunkInKOrder(OpBuilder &b, Location loc, WeightFormat format,
                                           Value chunkValue) {
  DequantizedChunk chunk = dequantizeChunk(b, loc, format, chunkValue);
  // Reorders the f16 vectors (lanes in DequantizedChunk order) into
  // vectors of consecutive K positions.
  constexpr int64_t kHalvesPerVector = 8;
  SmallVector<Value> parts(chunk.weights.begin(), chunk.weights.end());
  // Concatenate all sources into one vector: lane (s * 8 + l) = source s, lane l.
  while (parts.size() > 1) {
    SmallVector<Value> joined;
    for (size_t i = 0; i < parts.size(); i += 2) {
      int64_t width = cast<VectorType>(parts[i].getType()).getNumElements();
      SmallVector<int64_t> mask(2 * width);
      std::iota(mask.begin(), mask.end(), 0);
      joined.push_back(vector::ShuffleOp::create(b, loc, parts[i], parts[i + 1], mask));
    }
    parts = joined;
  }
  int64_t count = chunk.weights.size() * kHalvesPerVector;
  SmallVector<int64_t> sourceOf(count);
  for (auto [s, positions] : llvm::enumerate(chunk.positions))
    for (auto [l, p] : llvm::enumerate(positions))
      sourceOf[p] = s * kHalvesPerVector + l;
  SmallVector<Value> out;
  for (int64_t first = 0; first < count; first += kHalvesPerVector) {
    ArrayRef<int64_t> mask(sourceOf.data() + first, kHalvesPerVector);
    out.push_back(vector::ShuffleOp::create(b, loc, parts[0], parts[0], mask));
  }
  return out;
}


} // namespace kiln::kernels

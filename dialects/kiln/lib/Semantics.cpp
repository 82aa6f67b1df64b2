//===- Semantics.cpp - reference decoding of compressed weights ----------===//
#include "kiln/Dialect/Semantics.h"
#include "kiln/Dialect/Codec.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

namespace kiln {

static unsigned byteWidth(Type elementType) {
  return (elementType.getIntOrFloatBitWidth() + 7) / 8;
}

FailureOr<std::vector<uint8_t>> getElementBytes(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  Type elementType = type.getElementType();
  if (!elementType.isIntOrFloat() || elementType.isInteger(1))
    return failure();
  std::optional<int64_t> total =
      codec::checkedMul(type.getNumElements(), byteWidth(elementType));
  if (!total)
    return failure();
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    ArrayRef<char> raw = dense.getRawData();
    std::vector<uint8_t> bytes(static_cast<size_t>(*total));
    if (dense.isSplat()) {
      for (int64_t offset = 0; offset < *total; offset += int64_t(raw.size()))
        std::memcpy(bytes.data() + offset, raw.data(), raw.size());
    } else {
      if (int64_t(raw.size()) != *total)
        return failure();
      std::memcpy(bytes.data(), raw.data(), raw.size());
    }
    return bytes;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return failure(); // elided or never loaded
    ArrayRef<char> data = blob->getData();
    if (int64_t(data.size()) != *total)
      return failure();
    return std::vector<uint8_t>(data.begin(), data.end());
  }
  return failure();
}

static float decodeScalar(const uint8_t *bytes, Type elementType) {
  if (elementType.isF32()) {
    float value;
    std::memcpy(&value, bytes, sizeof(value));
    return value;
  }
  unsigned width = elementType.getIntOrFloatBitWidth();
  uint64_t bits = 0;
  std::memcpy(&bits, bytes, byteWidth(elementType));
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    APFloat value(floatType.getFloatSemantics(), APInt(width, bits));
    bool losesInfo;
    value.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &losesInfo);
    return value.convertToFloat();
  }
  APInt value(width, bits);
  if (cast<IntegerType>(elementType).isUnsigned())
    return float(value.getZExtValue());
  return float(value.getSExtValue());
}

FailureOr<std::vector<float>> getElementsAsFloats(ElementsAttr attr) {
  FailureOr<std::vector<uint8_t>> bytes = getElementBytes(attr);
  if (failed(bytes))
    return failure();
  Type elementType = cast<ShapedType>(attr.getType()).getElementType();
  unsigned width = byteWidth(elementType);
  std::vector<float> values(bytes->size() / width);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = decodeScalar(bytes->data() + i * width, elementType);
  return values;
}

namespace {
/// Where each logical element lives in the payload (-1: pruned).
FailureOr<std::vector<int64_t>> storedPositions(WeightOp op,
                                                 ArrayRef<int64_t> shape,
                                                 int64_t numLogical) {
  std::vector<int64_t> position(size_t(numLogical), -1);
  SparsityEncodingAttr sparsity = op.getType().getSparsity();
  if (!sparsity) {
    for (int64_t i = 0; i < numLogical; ++i)
      position[i] = i;
    return position;
  }
  FailureOr<std::vector<uint8_t>> meta = getElementBytes(*op.getSparsityMeta());
  if (failed(meta))
    return op.emitOpError() << "sparsity metadata is not readable", failure();
  int64_t next = 0;
  switch (sparsity.getKind()) {
  case SparsityKind::NM: {
    int64_t n = sparsity.getN(), m = sparsity.getM();
    for (int64_t run = 0; run < numLogical / m; ++run)
      for (int64_t slot = 0; slot < n; ++slot, ++next) {
        uint32_t index = codec::unpackCode(meta->data(), next, sparsity.getIndexBits());
        int64_t logical = run * m + index;
        if (index >= uint32_t(m) || position[logical] != -1)
          return op.emitOpError() << "sparsity metadata of run " << run
                                  << " has an invalid or repeated index " << index,
                 failure();
        position[logical] = next;
      }
    break;
  }
  case SparsityKind::Unstructured:
    for (int64_t i = 0; i < numLogical; ++i)
      if (codec::unpackCode(meta->data(), i, 1))
        position[i] = next++;
    break;
  case SparsityKind::Block: {
    ArrayRef<int64_t> block = sparsity.getBlockShape();
    size_t rank = shape.size();
    SmallVector<int64_t> grid(rank);
    for (size_t d = 0; d < rank; ++d)
      grid[d] = shape[d] / block[d];
    int64_t blockElems = numLogical / *codec::checkedProduct(grid.data(), rank);
    for (int64_t i = 0; i < numLogical; ++i) {
      // Block number and offset inside the block, both row-major.
      int64_t rest = i, blockIndex = 0, inner = 0, gridStride = 1, innerStride = 1;
      for (int64_t d = int64_t(rank) - 1; d >= 0; --d) {
        int64_t coord = rest % shape[d];
        rest /= shape[d];
        blockIndex += (coord / block[d]) * gridStride;
        inner += (coord % block[d]) * innerStride;
        gridStride *= grid[d];
        innerStride *= block[d];
      }
      if (!codec::unpackCode(meta->data(), blockIndex, 1))
        continue;
      // Kept blocks are stored in block order; count kept blocks before this one.
      int64_t keptBefore = 0;
      for (int64_t b = 0; b < blockIndex; ++b)
        keptBefore += codec::unpackCode(meta->data(), b, 1);
      position[i] = keptBefore * blockElems + inner;
    }
    break;
  }
  }
  return position;
}

FailureOr<std::vector<float>> decodeWeightOp(WeightOp op) {
  CompressedType type = op.getType();
  ArrayRef<int64_t> shape = type.getShape();
  int64_t numLogical = *type.getNumLogicalElements();
  FailureOr<std::vector<int64_t>> position = storedPositions(op, shape, numLogical);
  if (failed(position))
    return failure();
  FailureOr<std::vector<uint8_t>> payload = getElementBytes(op.getPayload());
  if (failed(payload))
    return op.emitOpError() << "payload is not readable", failure();

  std::vector<float> values(size_t(numLogical), 0.0f);
  QuantEncodingAttr quant = type.getQuant();
  if (!quant) {
    Type elementType = type.getElementType();
    for (int64_t i = 0; i < numLogical; ++i)
      if ((*position)[i] >= 0)
        values[i] = decodeScalar(payload->data() + (*position)[i] * byteWidth(elementType),
                                 elementType);
    return values;
  }

  std::vector<float> scales, zeroPoints, codebook;
  auto load = [&](std::optional<ElementsAttr> attr, std::vector<float> &out) {
    if (!attr)
      return success();
    FailureOr<std::vector<float>> loaded = getElementsAsFloats(*attr);
    if (failed(loaded))
      return failure();
    out = std::move(*loaded);
    return success();
  };
  if (failed(load(op.getScales(), scales)) || failed(load(op.getZeroPoints(), zeroPoints)) ||
      failed(load(op.getCodebook(), codebook)))
    return op.emitOpError() << "scales, zero points or codebook are not readable", failure();

  std::vector<int64_t> shapeVec(shape.begin(), shape.end());
  auto granularity = codec::Granularity(uint32_t(quant.getGranularity()));
  unsigned bits = quant.getBits();
  int64_t entries = quant.getCodebookEntries(), vector = quant.getVectorSize();
  for (int64_t i = 0; i < numLogical; ++i) {
    int64_t stored = (*position)[i];
    if (stored < 0)
      continue;
    int64_t group = codec::scaleIndex(shapeVec, granularity, quant.getAxis(),
                                      quant.getGroupSize(), i);
    switch (quant.getScheme()) {
    case QuantScheme::Codebook: {
      uint32_t code = codec::unpackCode(payload->data(), stored / vector, bits);
      values[i] = codebook[(group * entries + code) * vector + stored % vector];
      break;
    }
    case QuantScheme::Log2:
      values[i] = codec::dequantizeLog2(codec::unpackCode(payload->data(), stored, bits),
                                        scales[group], bits);
      break;
    case QuantScheme::Linear: {
      uint32_t code = codec::unpackCode(payload->data(), stored, bits);
      if (isa<Float8E4M3FNType>(quant.getStorage())) {
        values[i] = codec::e4m3ToFloat(uint8_t(code)) * scales[group];
        break;
      }
      if (isa<Float8E5M2Type>(quant.getStorage())) {
        values[i] = codec::e5m2ToFloat(uint8_t(code)) * scales[group];
        break;
      }
      float q = quant.isSignedStorage() ? float(codec::signExtend(code, bits)) : float(code);
      float zeroPoint = zeroPoints.empty() ? 0.0f : zeroPoints[group];
      values[i] = scales[group] * (q - zeroPoint);
      break;
    }
    }
  }
  return values;
}

FailureOr<std::vector<float>> decodeLowRank(LowRankOp op) {
  FailureOr<std::vector<float>> first = decodeWeight(op.getFirst());
  FailureOr<std::vector<float>> second = decodeWeight(op.getSecond());
  if (failed(first) || failed(second))
    return failure();
  auto type = cast<CompressedType>(op.getResult().getType());
  int64_t n = type.getShape()[0], k = type.getShape()[1];
  int64_t rank = type.getLowRank().getRank();
  bool transposed = type.getLowRank().getLayout() == FactorLayout::UtV;
  std::vector<float> values(size_t(n * k), 0.0f);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t r = 0; r < rank; ++r) {
      float u = transposed ? (*first)[r * n + row] : (*first)[row * rank + r];
      for (int64_t col = 0; col < k; ++col)
        values[row * k + col] += u * (*second)[r * k + col];
    }
  return values;
}
} // namespace

FailureOr<std::vector<float>> decodeWeight(Value value) {
  Operation *def = value.getDefiningOp();
  if (auto weight = dyn_cast_or_null<WeightOp>(def))
    return decodeWeightOp(weight);
  if (auto lowRank = dyn_cast_or_null<LowRankOp>(def))
    return decodeLowRank(lowRank);
  if (auto constant = dyn_cast_or_null<arith::ConstantOp>(def))
    if (auto elements = dyn_cast<ElementsAttr>(constant.getValue()))
      return getElementsAsFloats(elements);
  return failure();
}

DenseElementsAttr buildDenseFloats(RankedTensorType type,
                                   const std::vector<float> &values) {
  if (type.getElementType().isF32())
    return DenseElementsAttr::get(type, ArrayRef<float>(values));
  const llvm::fltSemantics &semantics =
      cast<FloatType>(type.getElementType()).getFloatSemantics();
  SmallVector<APFloat> converted;
  converted.reserve(values.size());
  for (float value : values) {
    APFloat element(value);
    bool losesInfo;
    element.convert(semantics, APFloat::rmNearestTiesToEven, &losesInfo);
    converted.push_back(element);
  }
  return DenseElementsAttr::get(type, converted);
}

} // namespace kiln

//===- QuantizedWeights.cpp - pre-quantized constant weights -------------===//
#include "QuantizedWeights.h"
#include "GraphImporter.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/Semantics.h"

using namespace mlir;

namespace kiln::onnx_import {

QuantizedConstant QuantizedConstant::transposed() const {
  QuantizedConstant result = *this;
  int64_t rows = shape[0], cols = shape[1];
  result.shape = {cols, rows};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      result.codes[c * rows + r] = codes[r * cols + c];
  if (scaleShape.size() == 2) {
    int64_t sRows = scaleShape[0], sCols = scaleShape[1];
    result.scaleShape = {sCols, sRows};
    for (int64_t r = 0; r < sRows; ++r)
      for (int64_t c = 0; c < sCols; ++c) {
        result.scales[c * sRows + r] = scales[r * sCols + c];
        if (!zeroPoints.empty())
          result.zeroPoints[c * sRows + r] = zeroPoints[r * sCols + c];
      }
  }
  if (granularity != QuantGranularity::PerTensor)
    result.axis = 1 - axis;
  return result;
}

/// An elements attribute of `type` from row-major floats or ints.
static ElementsAttr floatArray(GraphImporter &importer, ArrayRef<float> values,
                               ArrayRef<int64_t> shape, Type element, StringRef name) {
  auto type = RankedTensorType::get(shape, element);
  DenseElementsAttr dense = buildDenseFloats(type, std::vector<float>(values.begin(), values.end()));
  FailureOr<std::vector<uint8_t>> bytes = getElementBytes(dense);
  return importer.makeElements(type, kFloat,
                               ArrayRef<char>(reinterpret_cast<const char *>(bytes->data()), bytes->size()),
                               name);
}

static ElementsAttr intArray(GraphImporter &, ArrayRef<int32_t> values,
                             ArrayRef<int64_t> shape, Type element, StringRef name) {
  auto type = RankedTensorType::get(shape, element);
  unsigned width = element.getIntOrFloatBitWidth();
  SmallVector<APInt> ints;
  for (int32_t v : values)
    ints.push_back(APInt(width, uint64_t(int64_t(v)), /*isSigned=*/true, /*implicitTrunc=*/true));
  return DenseElementsAttr::get(type, ints);
}

Value buildQuantizedWeight(GraphImporter &importer, const QuantizedConstant &original,
                           bool transpose, Location loc, StringRef name) {
  QuantizedConstant weight = transpose ? original.transposed() : original;
  MLIRContext *context = importer.context();
  bool symmetric = weight.zeroPoints.empty();
  auto encoding = QuantEncodingAttr::get(context, weight.storage, QuantScheme::Linear,
                                         weight.granularity, weight.axis, weight.groupSize, symmetric,
                                         weight.scaleType, symmetric ? Type() : weight.zeroPointType,
                                         /*vectorSize=*/1);
  auto type = CompressedType::get(context, weight.shape, weight.scaleType, encoding, nullptr, nullptr);
  std::vector<uint8_t> packed = codec::packCodes(weight.codes, weight.bits);
  std::string prefix = (name + (transpose ? ".nk" : "")).str();
  ElementsAttr payload = importer.makeElements(
      RankedTensorType::get({int64_t(packed.size())}, IntegerType::get(context, 8)), kUInt8,
      ArrayRef<char>(reinterpret_cast<const char *>(packed.data()), packed.size()), prefix + ".payload");
  // Kiln's scale shape holds the same row-major values as ONNX's.
  SmallVector<int64_t> scaleShape = encoding.getScaleShape(weight.shape);
  ElementsAttr scales = floatArray(importer, weight.scales, scaleShape, weight.scaleType,
                                   prefix + ".scales");
  ElementsAttr zeroPoints;
  if (!symmetric)
    zeroPoints = intArray(importer, weight.zeroPoints, scaleShape, weight.zeroPointType,
                          prefix + ".zero_points");
  return WeightOp::create(importer.builder(), loc, type, payload, scales, zeroPoints,
                          /*codebook=*/nullptr, /*sparsity_meta=*/nullptr);
}

Value buildDequantizedValue(GraphImporter &importer, const QuantizedConstant &weight, Location loc,
                            StringRef name) {
  Value compressed = buildQuantizedWeight(importer, weight, /*transpose=*/false, loc, name);
  auto dense = RankedTensorType::get(weight.shape, weight.scaleType);
  return DequantizeOp::create(importer.builder(), loc, dense, compressed);
}

} // namespace kiln::onnx_import

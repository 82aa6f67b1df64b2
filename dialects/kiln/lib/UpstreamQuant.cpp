//===- UpstreamQuant.cpp - kiln weights as upstream quant types ----------===//
#include "kiln/Dialect/UpstreamQuant.h"
#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/Semantics.h"

using namespace mlir;

namespace kiln {

FailureOr<quant::QuantizedType> toUpstreamQuantType(WeightOp weight) {
  CompressedType type = weight.getType();
  QuantEncodingAttr quant = type.getQuant();
  if (!quant || type.getSparsity() || quant.getScheme() != QuantScheme::Linear ||
      quant.isFloatStorage())
    return failure();
  FailureOr<std::vector<float>> scales = getElementsAsFloats(*weight.getScales());
  if (failed(scales))
    return failure();
  std::vector<int64_t> zeroPoints(scales->size(), 0);
  if (weight.getZeroPoints()) {
    FailureOr<std::vector<float>> stored = getElementsAsFloats(*weight.getZeroPoints());
    if (failed(stored))
      return failure();
    for (size_t i = 0; i < stored->size(); ++i)
      zeroPoints[i] = int64_t((*stored)[i]);
  }

  MLIRContext *context = weight.getContext();
  unsigned bits = quant.getBits();
  bool isSigned = quant.isSignedStorage();
  auto storage = IntegerType::get(context, bits);
  unsigned flags = isSigned ? quant::QuantizationFlags::Signed : 0;
  codec::CodeRange range = codec::codeRange(bits, isSigned);
  Type expressed = type.getElementType();
  std::vector<double> scalesAsDouble(scales->begin(), scales->end());

  switch (quant.getGranularity()) {
  case QuantGranularity::PerTensor:
    return cast<quant::QuantizedType>(quant::UniformQuantizedType::get(
        flags, storage, expressed, scalesAsDouble[0], zeroPoints[0], range.min, range.max));
  case QuantGranularity::PerChannel:
    return cast<quant::QuantizedType>(quant::UniformQuantizedPerAxisType::get(
        flags, storage, expressed, scalesAsDouble, zeroPoints, int32_t(quant.getAxis()),
        range.min, range.max));
  case QuantGranularity::PerGroup: {
    SmallVector<int64_t> scaleShape = quant.getScaleShape(type.getShape());
    auto scaleType = RankedTensorType::get(scaleShape, expressed);
    auto zeroPointType = RankedTensorType::get(scaleShape, storage);
    SmallVector<APInt> zeroPointValues;
    for (int64_t zeroPoint : zeroPoints)
      zeroPointValues.push_back(APInt(bits, uint64_t(zeroPoint), /*isSigned=*/true));
    return cast<quant::QuantizedType>(quant::UniformQuantizedSubChannelType::get(
        flags, storage, expressed, buildDenseFloats(scaleType, *scales),
        DenseElementsAttr::get(zeroPointType, zeroPointValues),
        {int32_t(quant.getAxis())}, {quant.getGroupSize()}, range.min, range.max));
  }
  }
  return failure();
}

} // namespace kiln

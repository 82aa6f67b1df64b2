//===- CompressionUtils.cpp - what every compression pass shares ---------===//
#include "CompressionUtils.h"

#include "kiln/Dialect/Semantics.h"

#include "llvm/Support/Regex.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

namespace kiln::compression {

FailureOr<SmallVector<LinearOp>> selectLayers(Operation *root, StringRef pattern,
                                              StringRef passName) {
  llvm::Regex regex(pattern);
  std::string why;
  if (!pattern.empty() && !regex.isValid(why))
    return root->emitError() << passName << ": layers pattern '" << pattern
                             << "' is not a valid regular expression: " << why,
           failure();
  SmallVector<LinearOp> selected;
  bool any = false;
  root->walk([&](LinearOp linear) {
    any = true;
    if (pattern.empty() || regex.match(layerName(linear)))
      selected.push_back(linear);
  });
  if (!pattern.empty() && selected.empty())
    return root->emitError() << passName << ": layers pattern '" << pattern
                             << "' matches no kiln.linear layer"
                             << (any ? " (layer names look like \"<node> (<OpType>)\")" : ""),
           failure();
  return selected;
}

std::optional<DenseWeight> getDenseWeight(LinearOp linear) {
  auto constant = linear.getWeight().getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(constant.getType());
  if (!type || !type.hasStaticShape() || type.getRank() != 2 ||
      !isa<FloatType>(type.getElementType()))
    return std::nullopt;
  FailureOr<std::vector<float>> values = getElementsAsFloats(cast<ElementsAttr>(constant.getValue()));
  if (failed(values))
    return std::nullopt;
  return DenseWeight{constant, type, type.getDimSize(0), type.getDimSize(1), std::move(*values)};
}

LogicalResult forEachDenseLayer(Operation *root, StringRef pattern, StringRef passName,
                                function_ref<LogicalResult(LinearOp, DenseWeight &)> rewrite,
                                bool lastFirst) {
  FailureOr<SmallVector<LinearOp>> selected = selectLayers(root, pattern, passName);
  if (failed(selected))
    return failure();
  if (lastFirst)
    std::reverse(selected->begin(), selected->end());
  for (LinearOp linear : *selected)
    if (std::optional<DenseWeight> weight = getDenseWeight(linear))
      if (failed(rewrite(linear, *weight)))
        return failure();
  return success();
}

LogicalResult rewriteEachDenseLayer(Operation *root, StringRef pattern, StringRef passName,
                                    function_ref<void(LinearOp, DenseWeight &)> rewrite) {
  return forEachDenseLayer(root, pattern, passName, [&](LinearOp linear, DenseWeight &weight) {
    rewrite(linear, weight);
    return success();
  });
}

CodedWeight encodePerChannel(const DenseWeight &weight, float largest,
                             function_ref<uint32_t(float value, float scale)> encode) {
  CodedWeight coded;
  coded.scales.resize(size_t(weight.rows));
  coded.codes.resize(weight.values.size());
  std::vector<float> absMax = rowAbsMax(weight);
  for (int64_t r = 0; r < weight.rows; ++r) {
    coded.scales[r] = absMax[r] > 0 ? absMax[r] / largest : 1.0f;
    for (int64_t c = 0; c < weight.cols; ++c)
      coded.codes[r * weight.cols + c] = encode(weight.values[r * weight.cols + c], coded.scales[r]);
  }
  return coded;
}

QuantEncodingAttr perChannelEncoding(const DenseWeight &weight, Type storage, QuantScheme scheme) {
  return QuantEncodingAttr::get(storage.getContext(), storage, scheme, QuantGranularity::PerChannel,
                                /*axis=*/0, /*groupSize=*/0, /*symmetric=*/true,
                                weight.type.getElementType(), Type(), /*vectorSize=*/1);
}

bool commitCodedWeight(LinearOp linear, DenseWeight &weight, const CodedWeight &coded,
                       StringRef tag, int64_t resourceThreshold, StringRef passName) {
  QuantEncodingAttr encoding = coded.encoding;
  Type elementType = weight.type.getElementType();
  auto type = CompressedType::get(linear.getContext(), weight.type.getShape(), elementType,
                                  encoding, nullptr, nullptr);
  WeightBuilder arrays = makeArrays(linear, tag, resourceThreshold);
  unsigned bits = encoding.getStorage().getIntOrFloatBitWidth();
  ElementsAttr scales, codebook;
  if (!coded.scales.empty())
    scales = arrays.floats(coded.scales, encoding.getScaleShape(weight.type.getShape()),
                           elementType, "scales");
  if (!coded.codebook.empty())
    codebook = arrays.floats(coded.codebook, coded.codebookShape, elementType, "codebook");
  OpBuilder builder(linear);
  WeightOp op = createWeight(builder, weight.constant.getLoc(), type,
                             arrays.bytes(codec::packCodes(coded.codes, bits), "payload"), scales,
                             codebook);
  return commitIfSmaller(linear, weight, op.getResult(), passName);
}

std::vector<float> rowAbsMax(const DenseWeight &weight) {
  std::vector<float> result(static_cast<size_t>(weight.rows), 0.0f);
  for (int64_t i = 0; i < weight.rows * weight.cols; ++i)
    result[i / weight.cols] = std::max(result[i / weight.cols], std::fabs(weight.values[i]));
  return result;
}

WeightBuilder makeArrays(LinearOp linear, StringRef tag, int64_t resourceThreshold) {
  static unsigned counter = 0; // blob names only need to be unique
  return WeightBuilder(linear.getContext(), resourceThreshold,
                       layerName(linear) + "." + tag.str() + "." + std::to_string(counter++));
}

int64_t denseBytes(RankedTensorType type) {
  return type.getNumElements() * ((type.getElementTypeBitWidth() + 7) / 8);
}

static int64_t arrayBytes(std::optional<ElementsAttr> attr) {
  if (!attr)
    return 0;
  return denseBytes(cast<RankedTensorType>(attr->getType()));
}

int64_t storedBytes(Value weight) {
  Operation *def = weight.getDefiningOp();
  if (auto op = dyn_cast_or_null<WeightOp>(def))
    return arrayBytes(op.getPayload()) + arrayBytes(op.getScales()) +
           arrayBytes(op.getZeroPoints()) + arrayBytes(op.getCodebook()) +
           arrayBytes(op.getSparsityMeta());
  if (auto op = dyn_cast_or_null<LowRankOp>(def))
    return storedBytes(op.getFirst()) + storedBytes(op.getSecond());
  if (auto type = dyn_cast<RankedTensorType>(weight.getType()))
    return denseBytes(type);
  return 0;
}

void eraseDeadProducers(Operation *op) {
  if (!op || !op->use_empty())
    return;
  SmallVector<Operation *> producers;
  for (Value operand : op->getOperands())
    producers.push_back(operand.getDefiningOp());
  op->erase();
  for (Operation *producer : producers)
    if (producer && isa<WeightOp, LowRankOp, arith::ConstantOp>(producer))
      eraseDeadProducers(producer);
}

bool commitIfSmaller(LinearOp linear, DenseWeight &weight, Value replacement,
                     StringRef passName) {
  int64_t before = denseBytes(weight.type), after = storedBytes(replacement);
  if (after >= before) {
    linear.emitWarning() << passName << ": layer '" << layerName(linear)
                         << "' left dense: the compressed weight would take " << after
                         << " bytes, not fewer than the dense " << before;
    eraseDeadProducers(replacement.getDefiningOp());
    return false;
  }
  linear.getWeightMutable().assign(replacement);
  if (weight.constant->use_empty())
    weight.constant->erase();
  return true;
}

std::vector<uint8_t> floatsAsBytes(ArrayRef<float> values, Type elementType) {
  auto type = RankedTensorType::get({int64_t(values.size())}, elementType);
  DenseElementsAttr dense = buildDenseFloats(type, std::vector<float>(values.begin(), values.end()));
  return *getElementBytes(dense);
}

WeightOp createWeight(OpBuilder &builder, Location loc, CompressedType type,
                      ElementsAttr payload, ElementsAttr scales, ElementsAttr codebook,
                      ElementsAttr sparsityMeta) {
  return WeightOp::create(builder, loc, type, payload, scales, /*zero_points=*/nullptr,
                          codebook, sparsityMeta);
}

WeightOp createPerRowQuantizedWeight(OpBuilder &builder, Location loc, ArrayRef<float> values,
                                     int64_t rows, int64_t cols, unsigned bits, Type elementType,
                                     WeightBuilder &arrays, StringRef suffix) {
  MLIRContext *ctx = builder.getContext();
  codec::QuantizedMatrix q = codec::quantizeMatrix(values.data(), rows, cols, bits,
                                                   /*groupSize=*/0, /*symmetric=*/true);
  auto encoding = QuantEncodingAttr::get(
      ctx, IntegerType::get(ctx, bits, IntegerType::Signed), QuantScheme::Linear,
      QuantGranularity::PerChannel, /*axis=*/0, 0, true, elementType, Type(), 1);
  auto compressed = CompressedType::get(ctx, {rows, cols}, elementType, encoding, nullptr, nullptr);
  auto name = [&](StringRef array) {
    return suffix.empty() ? array.str() : (suffix + "." + array).str();
  };
  return createWeight(builder, loc, compressed,
                      arrays.bytes(codec::packCodes(q.codes, bits), name("payload")),
                      arrays.floats(q.scales, {rows}, elementType, name("scales")));
}

WeightOp createLinearQuantWeight(OpBuilder &builder, LinearOp linear, const DenseWeight &weight,
                                 const codec::QuantizedMatrix &quantized, unsigned bits,
                                 int64_t groupSize, bool symmetric, StringRef tag,
                                 int64_t resourceThreshold) {
  MLIRContext *ctx = linear.getContext();
  bool perGroup = groupSize > 0;
  Type scaleType = weight.type.getElementType();
  auto zeroPointType = IntegerType::get(ctx, 8, IntegerType::Unsigned);
  auto encoding = QuantEncodingAttr::get(
      ctx, IntegerType::get(ctx, bits, symmetric ? IntegerType::Signed : IntegerType::Unsigned),
      QuantScheme::Linear, perGroup ? QuantGranularity::PerGroup : QuantGranularity::PerChannel,
      perGroup ? 1 : 0, perGroup ? groupSize : 0, symmetric, scaleType,
      symmetric ? Type() : Type(zeroPointType), 1);
  auto type = CompressedType::get(ctx, weight.type.getShape(), scaleType, encoding, nullptr,
                                  nullptr);
  SmallVector<int64_t> scaleShape = encoding.getScaleShape(weight.type.getShape());
  WeightBuilder arrays = makeArrays(linear, tag, resourceThreshold);
  return WeightOp::create(
      builder, weight.constant->getLoc(), type,
      arrays.bytes(codec::packCodes(quantized.codes, bits), "payload"),
      arrays.floats(quantized.scales, scaleShape, scaleType, "scales"),
      symmetric ? ElementsAttr()
                : arrays.ints8(quantized.zeroPoints, scaleShape, zeroPointType, "zero_points"),
      nullptr, nullptr);
}

} // namespace kiln::compression

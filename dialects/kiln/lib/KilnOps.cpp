//===- KilnOps.cpp - kiln operations -------------------------------------===//
#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/KilnDialect.h"
#include "kiln/Dialect/Semantics.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/bit.h"

using namespace mlir;
using namespace kiln;

#define GET_OP_CLASSES
#include "kiln/Dialect/KilnOps.cpp.inc"

//===----------------------------------------------------------------------===//
// WeightOp
//===----------------------------------------------------------------------===//

namespace {
/// What a weight's arrays must look like, derived from its type.
struct WeightLayout {
  int64_t numLogical = 0;
  std::optional<int64_t> numStored; // unknown until the bitmask is read
  int64_t metaBytes = 0;
};
} // namespace

static bool isByteTensor(ElementsAttr attr) {
  auto type = dyn_cast<RankedTensorType>(attr.getType());
  return type && type.getRank() == 1 && type.getElementType().isInteger(8);
}

/// Popcount of a bitmask attribute, or nullopt when its bytes are not
/// available (an elided resource).
static std::optional<int64_t> countSetBits(ElementsAttr mask) {
  FailureOr<std::vector<uint8_t>> bytes = getElementBytes(mask);
  if (failed(bytes))
    return std::nullopt;
  int64_t count = 0;
  for (uint8_t byte : *bytes)
    count += llvm::popcount(byte);
  return count;
}

static FailureOr<WeightLayout> computeLayout(WeightOp op) {
  CompressedType type = op.getType();
  WeightLayout layout;
  layout.numLogical = *type.getNumLogicalElements();
  SparsityEncodingAttr sparsity = type.getSparsity();
  if (!sparsity) {
    layout.numStored = layout.numLogical;
    return layout;
  }
  switch (sparsity.getKind()) {
  case SparsityKind::NM:
    layout.numStored = layout.numLogical / sparsity.getM() * sparsity.getN();
    layout.metaBytes =
        *codec::packedByteCount(*layout.numStored, sparsity.getIndexBits());
    break;
  case SparsityKind::Unstructured:
    layout.metaBytes = *codec::packedByteCount(layout.numLogical, 1);
    if (op.getSparsityMeta())
      layout.numStored = countSetBits(*op.getSparsityMeta());
    break;
  case SparsityKind::Block: {
    int64_t blockElems = 1;
    for (int64_t dim : sparsity.getBlockShape())
      blockElems *= dim;
    int64_t numBlocks = layout.numLogical / blockElems;
    layout.metaBytes = *codec::packedByteCount(numBlocks, 1);
    if (op.getSparsityMeta())
      if (std::optional<int64_t> kept = countSetBits(*op.getSparsityMeta()))
        layout.numStored = *kept * blockElems;
    break;
  }
  }
  return layout;
}

/// Checks that `attr` is present exactly when `needed`, and its shape and
/// element type when present.
static LogicalResult checkArray(WeightOp op, StringRef name,
                                std::optional<ElementsAttr> attr, bool needed,
                                ArrayRef<int64_t> shape, Type elementType,
                                StringRef because) {
  if (!needed) {
    if (attr)
      return op.emitOpError() << "has '" << name << "' but " << because;
    return success();
  }
  if (!attr)
    return op.emitOpError() << "needs '" << name << "' because " << because;
  auto type = cast<ShapedType>(attr->getType());
  if (type.getShape() != shape)
    return op.emitOpError() << "'" << name << "' has shape "
                            << llvm::make_range(type.getShape().begin(), type.getShape().end())
                            << " but the encoding needs "
                            << llvm::make_range(shape.begin(), shape.end());
  if (elementType && type.getElementType() != elementType)
    return op.emitOpError() << "'" << name << "' has element type "
                            << type.getElementType() << " but the encoding needs "
                            << elementType;
  return success();
}

LogicalResult WeightOp::verify() {
  CompressedType type = getType();
  if (type.getLowRank())
    return emitOpError() << "cannot hold a low-rank weight; build it with "
                            "kiln.low_rank from two factors";
  FailureOr<WeightLayout> layout = computeLayout(*this);
  if (failed(layout))
    return failure();

  // Payload.
  if (!isByteTensor(getPayload()))
    return emitOpError() << "payload must be a 1-D tensor of i8 bytes, got "
                         << getPayload().getType();
  QuantEncodingAttr quant = type.getQuant();
  int64_t payloadBytes = cast<ShapedType>(getPayload().getType()).getNumElements();
  if (layout->numStored) {
    std::optional<int64_t> expected;
    std::string what;
    llvm::raw_string_ostream os(what);
    if (quant && quant.getScheme() == QuantScheme::Codebook) {
      int64_t codes = *layout->numStored / quant.getVectorSize();
      expected = codec::packedByteCount(codes, quant.getBits());
      os << codes << " codebook indices of " << quant.getBits() << " bits";
    } else if (quant) {
      expected = codec::packedByteCount(*layout->numStored, quant.getBits());
      os << *layout->numStored << " codes of " << quant.getStorage();
    } else {
      unsigned width = type.getElementType().getIntOrFloatBitWidth();
      expected = codec::packedByteCount(*layout->numStored, width);
      os << *layout->numStored << " values of " << type.getElementType();
    }
    if (!expected)
      return emitOpError() << "payload size overflows";
    if (payloadBytes != *expected)
      return emitOpError() << "payload has " << payloadBytes << " bytes but "
                           << what << " need " << *expected << " bytes";
  }

  // Scales and zero points.
  bool codebook = quant && quant.getScheme() == QuantScheme::Codebook;
  SmallVector<int64_t> scaleShape;
  if (quant)
    scaleShape = quant.getScaleShape(type.getShape());
  if (failed(checkArray(*this, "scales", getScales(), quant && !codebook,
                        scaleShape, quant ? quant.getScaleType() : Type(),
                        quant ? (codebook ? "codebook encodings take no scales"
                                          : "quantized values are scaled")
                              : "the weight is not quantized")))
    return failure();
  bool asymmetric = quant && !quant.getSymmetric();
  if (failed(checkArray(*this, "zero_points", getZeroPoints(), asymmetric,
                        scaleShape, quant ? quant.getZeroPointType() : Type(),
                        asymmetric ? "the encoding is asymmetric"
                                   : "the encoding is symmetric or unquantized")))
    return failure();

  // Codebook: [scale groups..., entries, vector_size].
  SmallVector<int64_t> codebookShape;
  if (codebook) {
    if (quant.getGranularity() == QuantGranularity::PerGroup)
      codebookShape.assign(scaleShape.begin(), scaleShape.end());
    codebookShape.push_back(quant.getCodebookEntries());
    codebookShape.push_back(quant.getVectorSize());
  }
  if (failed(checkArray(*this, "codebook", getCodebook(), codebook, codebookShape,
                        Type(), codebook ? "the scheme is codebook"
                                         : "the scheme is not codebook")))
    return failure();
  if (codebook && !isa<FloatType>(cast<ShapedType>(getCodebook()->getType()).getElementType()))
    return emitOpError() << "'codebook' entries must be floats";

  // Sparsity metadata.
  SmallVector<int64_t> metaShape;
  if (type.getSparsity())
    metaShape.push_back(layout->metaBytes);
  if (failed(checkArray(*this, "sparsity_meta", getSparsityMeta(),
                        bool(type.getSparsity()), metaShape,
                        IntegerType::get(getContext(), 8),
                        type.getSparsity() ? "the weight is sparse"
                                           : "the weight is dense")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// LowRankOp
//===----------------------------------------------------------------------===//

LogicalResult LowRankOp::verify() {
  auto type = cast<CompressedType>(getResult().getType());
  LowRankEncodingAttr lowRank = type.getLowRank();
  if (!lowRank)
    return emitOpError() << "result type needs a low_rank encoding";
  auto first = cast<ShapedType>(getFirst().getType());
  auto second = cast<ShapedType>(getSecond().getType());
  for (Value factor : {getFirst(), getSecond()})
    if (auto compressed = dyn_cast<CompressedType>(factor.getType());
        compressed && compressed.getLowRank())
      return emitOpError() << "factors cannot themselves be low-rank";
  auto expectShape = [&](ShapedType actual, ArrayRef<int64_t> expected,
                         StringRef which) -> LogicalResult {
    if (actual.getShape() == expected)
      return success();
    return emitOpError() << which << " factor has shape "
                         << llvm::make_range(actual.getShape().begin(), actual.getShape().end())
                         << " but rank " << lowRank.getRank() << " with layout "
                         << stringifyFactorLayout(lowRank.getLayout()) << " needs "
                         << llvm::make_range(expected.begin(), expected.end());
  };
  if (failed(expectShape(first, lowRank.getFirstFactorShape(type.getShape()), "first")) ||
      failed(expectShape(second, lowRank.getSecondFactorShape(type.getShape()), "second")))
    return failure();
  if (first.getElementType() != type.getElementType() ||
      second.getElementType() != type.getElementType())
    return emitOpError() << "factors must decompress to " << type.getElementType();
  return success();
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  auto type = cast<CompressedType>(getInput().getType());
  if (getResult().getType() != type.getDecompressedType())
    return emitOpError() << "result must be " << type.getDecompressedType()
                         << ", the weight's decompressed type, got "
                         << getResult().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  auto weight = cast<ShapedType>(getWeight().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (input.getRank() < 1)
    return emitOpError() << "input must have rank >= 1";
  if (weight.getRank() != 2)
    return emitOpError() << "weight must be 2-D [N, K], got rank " << weight.getRank();
  int64_t n = weight.getDimSize(0), k = weight.getDimSize(1);
  int64_t inputK = input.getShape().back();
  if (!ShapedType::isDynamic(inputK) && !ShapedType::isDynamic(k) && inputK != k)
    return emitOpError() << "input has K = " << inputK << " but the weight [N, K] has K = " << k;
  if (!isa<FloatType>(input.getElementType()))
    return emitOpError() << "input must be a float tensor";
  if (weight.getElementType() != input.getElementType())
    return emitOpError() << "weight element type " << weight.getElementType()
                         << " differs from input element type " << input.getElementType();
  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || (!biasType.isDynamicDim(0) && !ShapedType::isDynamic(n) &&
                                    biasType.getDimSize(0) != n))
      return emitOpError() << "bias must be [" << n << "], got " << biasType;
    if (biasType.getElementType() != input.getElementType())
      return emitOpError() << "bias element type must be " << input.getElementType();
  }
  if (result.getElementType() != input.getElementType())
    return emitOpError() << "result element type must be " << input.getElementType();
  if (result.getRank() != input.getRank())
    return emitOpError() << "result must have the input's rank " << input.getRank();
  for (int64_t i = 0; i + 1 < input.getRank(); ++i)
    if (!input.isDynamicDim(i) && !result.isDynamicDim(i) &&
        input.getDimSize(i) != result.getDimSize(i))
      return emitOpError() << "result dimension " << i << " must be " << input.getDimSize(i);
  if (!result.isDynamicDim(result.getRank() - 1) && !ShapedType::isDynamic(n) &&
      result.getShape().back() != n)
    return emitOpError() << "result last dimension must be N = " << n;
  return success();
}

//===----------------------------------------------------------------------===//
// FusedOp
//===----------------------------------------------------------------------===//

static bool isContraction(Operation *op) {
  return isa<LinearOp, linalg::ContractionOpInterface, linalg::ConvolutionOpInterface>(op);
}

/// Ops allowed around the contraction: elementwise on each element.
static bool isElementwise(Operation *op) {
  if (op->hasTrait<OpTrait::Elementwise>() || op->hasTrait<OpTrait::ConstantLike>())
    return true;
  if (isa<DequantizeOp, YieldOp, tensor::EmptyOp>(op))
    return true;
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    return linalgOp.getNumLoops() == linalgOp.getNumParallelLoops();
  return false;
}

Operation *FusedOp::getContraction() {
  for (Operation &op : getBody().front())
    if (isContraction(&op))
      return &op;
  return nullptr;
}

LogicalResult FusedOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "body has " << body.getNumArguments()
                         << " arguments but there are " << getInputs().size() << " inputs";
  for (auto [index, pair] : llvm::enumerate(llvm::zip(body.getArguments(), getInputs())))
    if (std::get<0>(pair).getType() != std::get<1>(pair).getType())
      return emitOpError() << "body argument " << index << " has type "
                           << std::get<0>(pair).getType() << " but input " << index
                           << " has type " << std::get<1>(pair).getType();
  int contractions = 0;
  for (Operation &op : body) {
    if (isContraction(&op)) {
      ++contractions;
      continue;
    }
    // Nested regions (such as a linalg.generic's body) are already elementwise.
    if (!isElementwise(&op))
      return op.emitOpError() << "cannot be fused into a kiln.fused region: only one "
                                 "contraction plus elementwise prologue and epilogue ops";
  }
  if (contractions != 1)
    return emitOpError() << "must contain exactly one contraction, found " << contractions;
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError() << "yielded types do not match the result types";
  return success();
}

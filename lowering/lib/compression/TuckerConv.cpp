//===- TuckerConv.cpp - Tucker-2 factorisation of convolutions -----------===//
//
// The importer writes an ONNX Conv as one linalg.generic over a grouped
// layout: out[n, g, m, o...] += x[n, g, c, o·stride + k·dilation...]
// · w[g, m, c, k...] with w a tensor.reshape of the constant filter
// W [K, C, k...]. With group 1, W ≈ out ×₀ in ×₁ core (HOSVD) turns it into
// a 1x1 convolution C → r1 (on the padded input: a channel mix of zeros is
// zero), the original convolution r1 → r2 with the core filter and a 1x1
// convolution r2 → K into the original accumulator.
//
//===----------------------------------------------------------------------===//
#include "CompressionUtils.h"
#include "Numerics.h"

#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CompressionPasses.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/Regex.h"

namespace kiln {
#define GEN_PASS_DEF_TUCKERCONV
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

/// A group-1 convolution as the importer writes it, with static shapes.
struct Convolution {
  linalg::GenericOp op;
  arith::ConstantOp filter;
  int64_t outChannels = 0, inChannels = 0, spatial = 0, spatialRank = 0;
  /// Sizes of the (padded) input and of the output without the channel.
  int64_t inputPositions = 0, outputPositions = 0;
};

bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getNumArguments() != 3 || body.getOperations().size() != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add = dyn_cast<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  auto yield = dyn_cast_or_null<linalg::YieldOp>(add ? add->getNextNode() : nullptr);
  if (!mul || !yield || yield.getNumOperands() != 1 || yield.getOperand(0) != add.getResult())
    return false;
  bool mulArgs = (mul.getLhs() == body.getArgument(0) && mul.getRhs() == body.getArgument(1));
  bool addArgs = (add.getLhs() == body.getArgument(2) && add.getRhs() == mul.getResult()) ||
                 (add.getRhs() == body.getArgument(2) && add.getLhs() == mul.getResult());
  return mulArgs && addArgs;
}

/// Why `op` is not a convolution this pass can factorise, or nothing.
std::optional<Convolution> matchConvolution(linalg::GenericOp op, std::string &why) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !isMultiplyAccumulate(op))
    return std::nullopt;
  auto reshape = op.getDpsInputs()[1].getDefiningOp<tensor::ReshapeOp>();
  auto filter = reshape ? reshape.getSource().getDefiningOp<arith::ConstantOp>() : nullptr;
  if (!filter || !isa<DenseElementsAttr, DenseResourceElementsAttr>(filter.getValue()))
    return std::nullopt;
  auto filterType = cast<RankedTensorType>(filter.getType());
  auto grouped = cast<RankedTensorType>(reshape.getType());
  auto input = cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  auto output = cast<RankedTensorType>(op.getResult(0).getType());
  int64_t s = filterType.getRank() - 2;
  if (s < 1 || grouped.getRank() != s + 3 || !isa<FloatType>(filterType.getElementType()) ||
      !input.hasStaticShape() || !output.hasStaticShape() || output.getRank() != s + 3)
    return std::nullopt;
  if (grouped.getDimSize(0) != 1) {
    why = "grouped convolutions are not factorised";
    return std::nullopt;
  }
  MLIRContext *ctx = op.getContext();
  int64_t loops = 4 + 2 * s, c = 3 + s;
  if (op.getNumLoops() != loops)
    return std::nullopt;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> filterExprs{d(1), d(2), d(c)}, outExprs;
  for (int64_t i = 0; i < s; ++i)
    filterExprs.push_back(d(c + 1 + i));
  for (int64_t i = 0; i < 3 + s; ++i)
    outExprs.push_back(d(i));
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  ArrayRef<AffineExpr> inputExprs = maps[0].getResults();
  bool inputUsesChannel = inputExprs.size() == size_t(3 + s) && inputExprs[0] == d(0) &&
                          inputExprs[1] == d(1) && inputExprs[2] == d(c) &&
                          llvm::none_of(inputExprs.drop_front(3), [&](AffineExpr e) {
                            return e.isFunctionOfDim(2) || e.isFunctionOfDim(c);
                          });
  if (maps[1] != AffineMap::get(loops, 0, filterExprs, ctx) ||
      maps[2] != AffineMap::get(loops, 0, outExprs, ctx) || !inputUsesChannel)
    return std::nullopt;
  for (auto [i, iterator] : llvm::enumerate(op.getIteratorTypesArray()))
    if ((iterator == utils::IteratorType::parallel) != (int64_t(i) < c))
      return std::nullopt;
  Convolution conv{op, filter, filterType.getDimSize(0), filterType.getDimSize(1), 1, s, 1, 1};
  for (int64_t i = 0; i < s; ++i) {
    conv.spatial *= filterType.getDimSize(2 + i);
    conv.inputPositions *= input.getDimSize(3 + i);
    conv.outputPositions *= output.getDimSize(3 + i);
  }
  conv.inputPositions *= input.getDimSize(0);
  conv.outputPositions *= output.getDimSize(0);
  return conv;
}

/// The body of a convolution: out + x·w.
void buildMultiplyAccumulate(OpBuilder &builder, Location loc, ValueRange args) {
  Value product = arith::MulFOp::create(builder, loc, args[0], args[1]);
  linalg::YieldOp::create(builder, loc, ValueRange{arith::AddFOp::create(builder, loc, args[2], product)});
}

/// out[n, g, r, p...] = init + Σ_c mix[r, c]·x[n, g, c, p...] (a 1x1 convolution).
Value mixChannels(OpBuilder &builder, Location loc, Value x, Value mix, Value init) {
  MLIRContext *ctx = builder.getContext();
  auto type = cast<RankedTensorType>(init.getType());
  int64_t s = type.getRank() - 3, loops = 4 + s, c = 3 + s;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> xExprs{d(0), d(1), d(c)}, outExprs{d(0), d(1), d(2)};
  for (int64_t i = 0; i < s; ++i) {
    xExprs.push_back(d(3 + i));
    outExprs.push_back(d(3 + i));
  }
  SmallVector<AffineMap> maps{AffineMap::get(loops, 0, xExprs, ctx),
                              AffineMap::get(loops, 0, {d(2), d(c)}, ctx),
                              AffineMap::get(loops, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(size_t(c), utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  auto op = linalg::GenericOp::create(
      builder, loc, TypeRange{type}, ValueRange{x, mix}, ValueRange{init}, maps, iterators,
      buildMultiplyAccumulate);
  return op.getResult(0);
}

Value zeros(OpBuilder &builder, Location loc, ArrayRef<int64_t> shape, Type element) {
  Value empty = tensor::EmptyOp::create(builder, loc, shape, element);
  Value zero = arith::ConstantOp::create(builder, loc, builder.getFloatAttr(element, 0.0));
  return linalg::FillOp::create(builder, loc, ValueRange{zero}, ValueRange{empty}).getResult(0);
}

struct TuckerConvPass : kiln::impl::TuckerConvBase<TuckerConvPass> {
  using TuckerConvBase::TuckerConvBase;

  void runOnOperation() override {
    bool byRank = rankIn > 0 && rankOut > 0;
    if (byRank == (energy > 0) || rankIn < 0 || rankOut < 0 || energy > 1.0) {
      getOperation()->emitError()
          << getArgument() << ": set rank-in > 0 and rank-out > 0, or 0 < energy <= 1; got "
          << "rank-in=" << int64_t(rankIn) << " rank-out=" << int64_t(rankOut)
          << " energy=" << double(energy);
      return signalPassFailure();
    }
    if (factorBits != 0 && (factorBits < 2 || factorBits > 8)) {
      getOperation()->emitError() << getArgument() << ": factor-bits must be 0 (f32) or 2..8; got "
                                  << unsigned(factorBits);
      return signalPassFailure();
    }
    llvm::Regex filter(layers);
    std::string why;
    if (!layers.empty() && !filter.isValid(why)) {
      getOperation()->emitError() << getArgument() << ": layers pattern '" << layers
                                  << "' is not a valid regular expression: " << why;
      return signalPassFailure();
    }
    SmallVector<linalg::GenericOp> candidates;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (layers.empty() || filter.match(layerName(op)))
        candidates.push_back(op);
    });
    int64_t selected = 0;
    for (linalg::GenericOp op : candidates) {
      std::string skipped;
      std::optional<Convolution> conv = matchConvolution(op, skipped);
      if (!conv) {
        if (!skipped.empty())
          op.emitRemark() << getArgument() << ": layer '" << layerName(op) << "' left alone: "
                          << skipped;
        continue;
      }
      ++selected;
      factorise(*conv);
    }
    if (selected == 0 && !layers.empty()) {
      getOperation()->emitError() << getArgument() << ": layers pattern '" << layers
                                  << "' matches no convolution";
      return signalPassFailure();
    }
  }

  void factorise(Convolution conv) {
    FailureOr<std::vector<float>> filterValues =
        getElementsAsFloats(cast<ElementsAttr>(conv.filter.getValue()));
    if (failed(filterValues))
      return;
    int64_t k = conv.outChannels, c = conv.inChannels, s = conv.spatial;
    numerics::Svd outSvd = numerics::unfoldingSvd(filterValues->data(), k, c, s, 0);
    numerics::Svd inSvd = numerics::unfoldingSvd(filterValues->data(), k, c, s, 1);
    int64_t r2 = energy > 0 ? numerics::rankForEnergy(outSvd.singular, energy)
                            : std::min<int64_t>(rankOut, outSvd.rank);
    int64_t r1 = energy > 0 ? numerics::rankForEnergy(inSvd.singular, energy)
                            : std::min<int64_t>(rankIn, inSvd.rank);
    // Parameters and multiply-adds, both must drop.
    int64_t before = k * c * s, after = r1 * c + r2 * r1 * s + k * r2;
    int64_t flopsBefore = conv.outputPositions * before;
    int64_t flopsAfter = conv.inputPositions * r1 * c + conv.outputPositions * (r2 * r1 * s + k * r2);
    if (after >= before || flopsAfter >= flopsBefore) {
      conv.op.emitWarning() << getArgument() << ": layer '" << layerName(conv.op)
                            << "' left dense: Tucker-2 ranks (" << r1 << ", " << r2
                            << ") would take " << after << " parameters and " << flopsAfter
                            << " multiply-adds, not fewer than " << before << " and "
                            << flopsBefore;
      return;
    }
    numerics::Tucker2 tucker =
        numerics::tucker2(filterValues->data(), k, c, s, outSvd, r2, inSvd, r1);
    conv.op.emitRemark() << getArgument() << ": layer '" << layerName(conv.op) << "': ranks ("
                         << r1 << ", " << r2 << "), " << before << " -> " << after
                         << " parameters" << factorNote() << ", " << flopsBefore << " -> "
                         << flopsAfter << " multiply-adds";
    rewrite(conv, tucker);
  }

  std::string factorNote() const {
    return factorBits ? " (" + std::to_string(unsigned(factorBits)) + "-bit codes)" : "";
  }

  /// A factor of `shape` whose first non-unit dimension is its output
  /// channels, quantized per output channel and dequantized to `shape`.
  Value quantizedFactor(OpBuilder &builder, Location loc, const std::vector<float> &values,
                        ArrayRef<int64_t> shape, Type element, WeightBuilder &arrays,
                        StringRef suffix) {
    // The core [1, r2, r1, k...] is a [r2, r1·k...] matrix; the mixes are 2-D.
    size_t lead = shape.size() > 2 ? 1 : 0;
    int64_t rows = shape[lead], cols = int64_t(values.size()) / rows;
    WeightOp weight = createPerRowQuantizedWeight(builder, loc, values, rows, cols, factorBits,
                                                  element, arrays, suffix);
    Value dense = DequantizeOp::create(builder, loc, RankedTensorType::get({rows, cols}, element),
                                       weight.getResult());
    if (shape.size() == 2)
      return dense;
    SmallVector<ReassociationIndices> groups{{0, 1}, {}};
    for (size_t d = 2; d < shape.size(); ++d)
      groups.back().push_back(int64_t(d));
    return tensor::ExpandShapeOp::create(builder, loc, RankedTensorType::get(shape, element), dense,
                                         groups);
  }

  void rewrite(Convolution conv, const numerics::Tucker2 &tucker) {
    linalg::GenericOp op = conv.op;
    OpBuilder builder(op);
    Location loc = op.getLoc();
    auto filterType = cast<RankedTensorType>(conv.filter.getType());
    Type element = filterType.getElementType();
    int64_t r1 = tucker.rankIn, r2 = tucker.rankOut;
    WeightBuilder arrays(&getContext(), resourceThreshold, layerName(op) + ".tucker");
    auto constant = [&](const std::vector<float> &values, ArrayRef<int64_t> shape,
                        StringRef suffix) -> Value {
      if (factorBits != 0)
        return quantizedFactor(builder, loc, values, shape, element, arrays, suffix);
      return arith::ConstantOp::create(
          builder, loc, cast<TypedAttr>(Attribute(arrays.floats(values, shape, element, suffix))));
    };
    // in [C, r1] -> mix [r1, C]; the core [r2, r1, k...] in the grouped layout.
    std::vector<float> inMix(size_t(r1 * conv.inChannels));
    for (int64_t ch = 0; ch < conv.inChannels; ++ch)
      for (int64_t b = 0; b < r1; ++b)
        inMix[b * conv.inChannels + ch] = tucker.in[ch * r1 + b];
    SmallVector<int64_t> coreShape{1, r2, r1};
    coreShape.append(filterType.getShape().begin() + 2, filterType.getShape().end());
    Value input = op.getDpsInputs()[0];
    auto inputType = cast<RankedTensorType>(input.getType());
    SmallVector<int64_t> reducedShape(inputType.getShape());
    reducedShape[2] = r1;
    Value reduced = mixChannels(builder, loc, input,
                                constant(inMix, {r1, conv.inChannels}, "in"),
                                zeros(builder, loc, reducedShape, element));
    auto outputType = cast<RankedTensorType>(op.getResult(0).getType());
    SmallVector<int64_t> coreOutShape(outputType.getShape());
    coreOutShape[2] = r2;
    auto core = linalg::GenericOp::create(
        builder, loc, TypeRange{RankedTensorType::get(coreOutShape, element)},
        ValueRange{reduced, constant(tucker.core, coreShape, "core")},
        ValueRange{zeros(builder, loc, coreOutShape, element)}, op.getIndexingMapsArray(),
        op.getIteratorTypesArray(), buildMultiplyAccumulate);
    Value result = mixChannels(builder, loc, core.getResult(0),
                               constant(tucker.out, {conv.outChannels, r2}, "out"),
                               op.getDpsInits()[0]);
    Operation *reshape = op.getDpsInputs()[1].getDefiningOp();
    op.getResult(0).replaceAllUsesWith(result);
    op.erase();
    if (reshape->use_empty()) {
      Operation *shape = reshape->getOperand(1).getDefiningOp();
      reshape->erase();
      for (Operation *dead : {shape, conv.filter.getOperation()})
        if (dead && dead->use_empty())
          dead->erase();
    }
  }
};

} // namespace

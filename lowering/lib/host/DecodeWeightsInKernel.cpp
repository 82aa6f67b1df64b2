//===- DecodeWeightsInKernel.cpp - packed int weights read by the matmul -===//
#include "LinalgBuilders.h"
#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/HostPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_DECODEWEIGHTSINKERNEL
#include "kiln/Lowering/HostPasses.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::host::buildAccumulatorInit;

namespace {

/// How a weight [N, K] is laid out for the fused kernel: K = groups x
/// bytesPerGroup x codesPerByte.
struct PackedLayout {
  int64_t n, k, groups, bytesPerGroup, codesPerByte;
  unsigned bits;
  bool isSigned, perGroupScales, hasZeroPoints;
};

FailureOr<PackedLayout> matchPackedLayout(kiln::WeightOp weight) {
  kiln::CompressedType type = weight.getType();
  kiln::QuantEncodingAttr quant = type.getQuant();
  if (!quant || type.getSparsity() || type.getLowRank() ||
      quant.getScheme() != kiln::QuantScheme::Linear || quant.isFloatStorage())
    return failure();
  ArrayRef<int64_t> shape = type.getShape();
  if (shape.size() != 2)
    return failure();
  PackedLayout layout;
  layout.bits = quant.getBits();
  if (layout.bits != 2 && layout.bits != 4 && layout.bits != 8)
    return failure(); // codes would straddle bytes
  layout.n = shape[0];
  layout.k = shape[1];
  layout.codesPerByte = 8 / layout.bits;
  layout.isSigned = quant.isSignedStorage();
  layout.hasZeroPoints = bool(weight.getZeroPointsAttr());
  int64_t groupSize = layout.k;
  switch (quant.getGranularity()) {
  case kiln::QuantGranularity::PerTensor:
    layout.perGroupScales = false;
    break;
  case kiln::QuantGranularity::PerChannel:
    if (quant.getAxis() != 0)
      return failure();
    layout.perGroupScales = false;
    break;
  case kiln::QuantGranularity::PerGroup:
    if (quant.getAxis() != 1)
      return failure();
    groupSize = quant.getGroupSize();
    layout.perGroupScales = true;
    break;
  }
  if (groupSize <= 0 || layout.k % groupSize || groupSize % layout.codesPerByte)
    return failure();
  layout.groups = layout.k / groupSize;
  layout.bytesPerGroup = groupSize / layout.codesPerByte;
  return layout;
}

/// A constant of `floats` shaped for the kernel: [N, G] per group, [N] per
/// channel, rank 0 per tensor.
Value buildParameterConstant(OpBuilder &b, Location loc, ElementsAttr attr,
                             const PackedLayout &layout, bool perTensor, FloatType type) {
  FailureOr<std::vector<float>> values = kiln::getElementsAsFloats(attr);
  if (failed(values))
    return {};
  SmallVector<int64_t> shape;
  if (!perTensor)
    shape.push_back(layout.n);
  if (layout.perGroupScales)
    shape.push_back(layout.groups);
  auto tensorType = RankedTensorType::get(shape, type);
  if (int64_t(values->size()) != tensorType.getNumElements())
    return {};
  return arith::ConstantOp::create(b, loc, kiln::buildDenseFloats(tensorType, *values));
}

/// The signed or unsigned code `j` of `byte`, as a float of `type`.
Value unpackCode(OpBuilder &b, Location loc, Value byte, Value j, const PackedLayout &layout,
                 FloatType type) {
  Type i8 = b.getI8Type(), i32 = b.getI32Type();
  if (layout.codesPerByte == 1)
    return layout.isSigned ? Value(arith::SIToFPOp::create(b, loc, type, byte))
                           : Value(arith::UIToFPOp::create(b, loc, type, byte));
  Value bits = arith::ConstantOp::create(b, loc, b.getIntegerAttr(i8, layout.bits));
  Value j8 = arith::IndexCastOp::create(b, loc, i8, j);
  Value low = arith::MulIOp::create(b, loc, j8, bits);
  Value code;
  if (layout.isSigned) {
    // Move the code to the top bits, then shift it down arithmetically.
    Value eight = arith::ConstantOp::create(b, loc, b.getIntegerAttr(i8, 8));
    Value up = arith::SubIOp::create(b, loc, arith::SubIOp::create(b, loc, eight, bits), low);
    Value down = arith::SubIOp::create(b, loc, eight, bits);
    code = arith::ShRSIOp::create(b, loc, arith::ShLIOp::create(b, loc, byte, up), down);
    code = arith::ExtSIOp::create(b, loc, i32, code);
  } else {
    Value mask = arith::ConstantOp::create(
        b, loc, b.getIntegerAttr(i8, (1 << layout.bits) - 1));
    code = arith::AndIOp::create(b, loc, arith::ShRUIOp::create(b, loc, byte, low), mask);
    code = arith::ExtUIOp::create(b, loc, i32, code);
  }
  return arith::SIToFPOp::create(b, loc, type, code);
}

struct FuseDecodeIntoLinear : OpRewritePattern<kiln::LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(kiln::LinearOp op, PatternRewriter &rewriter) const override {
    auto weight = op.getWeight().getDefiningOp<kiln::WeightOp>();
    if (!weight)
      return rewriter.notifyMatchFailure(op, "weight is not a kiln.weight");
    FailureOr<PackedLayout> matched = matchPackedLayout(weight);
    if (failed(matched))
      return rewriter.notifyMatchFailure(op, "no in-kernel decoder for this encoding");
    const PackedLayout &layout = *matched;
    auto resultType = cast<RankedTensorType>(op.getType());
    auto elementType = dyn_cast<FloatType>(resultType.getElementType());
    auto inputType = cast<RankedTensorType>(op.getInput().getType());
    if (!elementType || inputType.getShape().back() != layout.k)
      return rewriter.notifyMatchFailure(op, "needs a float input with static K");
    Location loc = op.getLoc();
    bool perTensor = weight.getType().getQuant().getGranularity() ==
                     kiln::QuantGranularity::PerTensor;

    // Payload as [N, G, bytes per group] i8.
    FailureOr<std::vector<uint8_t>> bytes = kiln::getElementBytes(weight.getPayload());
    int64_t payloadBytes = layout.n * layout.groups * layout.bytesPerGroup;
    if (failed(bytes) || int64_t(bytes->size()) != payloadBytes)
      return rewriter.notifyMatchFailure(op, "payload size does not match the layout");
    auto payloadType = RankedTensorType::get({layout.n, layout.groups, layout.bytesPerGroup},
                                             rewriter.getI8Type());
    Value payload = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::getFromRawBuffer(
            payloadType, ArrayRef<char>(reinterpret_cast<const char *>(bytes->data()),
                                        bytes->size())));
    Value scales = buildParameterConstant(rewriter, loc, *weight.getScales(), layout, perTensor,
                                          elementType);
    Value zeroPoints;
    if (layout.hasZeroPoints)
      zeroPoints = buildParameterConstant(rewriter, loc, *weight.getZeroPoints(), layout,
                                          perTensor, elementType);
    if (!scales || (layout.hasZeroPoints && !zeroPoints))
      return rewriter.notifyMatchFailure(op, "unexpected scale or zero-point shape");

    // x [..., K] viewed as [..., G, B, C] (C codes per byte).
    int64_t batchRank = inputType.getRank() - 1;
    SmallVector<int64_t> viewShape(inputType.getShape().drop_back());
    viewShape.append({layout.groups, layout.bytesPerGroup, layout.codesPerByte});
    SmallVector<ReassociationIndices> reassociation;
    for (int64_t d = 0; d < batchRank; ++d)
      reassociation.push_back({d});
    reassociation.push_back({batchRank, batchRank + 1, batchRank + 2});
    Value input = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get(viewShape, inputType.getElementType()),
        op.getInput(), reassociation);

    // Loops (batch..., n, g, b, c).
    MLIRContext *context = rewriter.getContext();
    int64_t numLoops = batchRank + 4;
    auto dim = [&](int64_t d) { return getAffineDimExpr(d, context); };
    SmallVector<AffineExpr> batch, inputExprs, outputExprs;
    for (int64_t d = 0; d < batchRank; ++d)
      batch.push_back(dim(d));
    AffineExpr n = dim(batchRank), g = dim(batchRank + 1), by = dim(batchRank + 2),
               c = dim(batchRank + 3);
    inputExprs.assign(batch.begin(), batch.end());
    inputExprs.append({g, by, c});
    outputExprs.assign(batch.begin(), batch.end());
    outputExprs.push_back(n);
    SmallVector<AffineExpr> parameterExprs;
    if (!perTensor)
      parameterExprs.push_back(n);
    if (layout.perGroupScales)
      parameterExprs.push_back(g);
    AffineMap parameterMap = AffineMap::get(numLoops, 0, parameterExprs, context);
    SmallVector<Value> inputs = {input, payload, scales};
    SmallVector<AffineMap> maps = {AffineMap::get(numLoops, 0, inputExprs, context),
                                   AffineMap::get(numLoops, 0, {n, g, by}, context),
                                   parameterMap};
    if (zeroPoints) {
      inputs.push_back(zeroPoints);
      maps.push_back(parameterMap);
    }
    maps.push_back(AffineMap::get(numLoops, 0, outputExprs, context));
    SmallVector<utils::IteratorType> iterators(batchRank + 1, utils::IteratorType::parallel);
    iterators.append(3, utils::IteratorType::reduction);

    Value init = buildAccumulatorInit(rewriter, loc, op.getInput(), op.getBias(), resultType);
    int64_t codeLoop = batchRank + 3;
    auto contraction = linalg::GenericOp::create(
        rewriter, loc, resultType, inputs, ValueRange{init}, maps, iterators,
        [&](OpBuilder &b, Location nested, ValueRange args) {
          Value j = linalg::IndexOp::create(b, nested, codeLoop);
          Value w = unpackCode(b, nested, args[1], j, layout, elementType);
          if (zeroPoints)
            w = arith::SubFOp::create(b, nested, w, args[3]);
          w = arith::MulFOp::create(b, nested, w, args[2]);
          Value product = arith::MulFOp::create(b, nested, args[0], w);
          linalg::YieldOp::create(b, nested,
                                  Value(arith::AddFOp::create(b, nested, args.back(), product)));
        });
    rewriter.replaceOp(op, contraction.getResults());
    return success();
  }
};

struct DecodeWeightsInKernelPass
    : kiln::impl::DecodeWeightsInKernelBase<DecodeWeightsInKernelPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseDecodeIntoLinear>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace

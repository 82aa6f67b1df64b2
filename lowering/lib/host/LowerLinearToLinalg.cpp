//===- LowerLinearToLinalg.cpp - kiln.linear as a linalg contraction -----===//
#include "LinalgBuilders.h"
#include "kiln/Lowering/HostPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_LOWERLINEARTOLINALG
#include "kiln/Lowering/HostPasses.h.inc"
} // namespace kiln

using namespace mlir;
using kiln::host::buildAccumulatorInit;
using kiln::host::multiplyAccumulate;

namespace {

struct LowerLinear : OpRewritePattern<kiln::LinearOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(kiln::LinearOp op, PatternRewriter &rewriter) const override {
    auto weightType = dyn_cast<RankedTensorType>(op.getWeight().getType());
    if (!weightType)
      return rewriter.notifyMatchFailure(op, "weight is still compressed");
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    Value init = buildAccumulatorInit(rewriter, loc, op.getInput(), op.getBias(), resultType);

    // Loops (batch..., n, k): x[batch..., k] * W[n, k] -> y[batch..., n].
    int64_t outRank = resultType.getRank();
    int64_t numLoops = outRank + 1;
    MLIRContext *context = rewriter.getContext();
    SmallVector<AffineExpr> batch;
    for (int64_t d = 0; d + 1 < outRank; ++d)
      batch.push_back(getAffineDimExpr(d, context));
    AffineExpr n = getAffineDimExpr(outRank - 1, context);
    AffineExpr k = getAffineDimExpr(outRank, context);
    SmallVector<AffineExpr> inputExprs(batch), outputExprs(batch);
    inputExprs.push_back(k);
    outputExprs.push_back(n);
    SmallVector<AffineMap> maps = {AffineMap::get(numLoops, 0, inputExprs, context),
                                   AffineMap::get(numLoops, 0, {n, k}, context),
                                   AffineMap::get(numLoops, 0, outputExprs, context)};
    SmallVector<utils::IteratorType> iterators(outRank, utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    auto contraction = linalg::GenericOp::create(
        rewriter, loc, resultType, ValueRange{op.getInput(), op.getWeight()}, ValueRange{init},
        maps, iterators, [](OpBuilder &b, Location nestedLoc, ValueRange args) {
          linalg::YieldOp::create(b, nestedLoc,
                                  multiplyAccumulate(b, nestedLoc, args[0], args[1], args[2]));
        });
    rewriter.replaceOp(op, contraction.getResults());
    return success();
  }
};

struct LowerLinearToLinalgPass
    : kiln::impl::LowerLinearToLinalgBase<LowerLinearToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerLinear>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    WalkResult left = getOperation()->walk([](kiln::LinearOp op) {
      op.emitError() << "kiln.linear with a compressed weight must be decoded before "
                        "kiln-lower-linear-to-linalg";
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace

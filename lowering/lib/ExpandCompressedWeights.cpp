//===- ExpandCompressedWeights.cpp - decode weights to dense constants ---===//
#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/Passes.h"

#include "mlir/IR/Builders.h"

namespace kiln {
#define GEN_PASS_DEF_EXPANDCOMPRESSEDWEIGHTS
#include "kiln/Lowering/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

struct ExpandCompressedWeightsPass
    : kiln::impl::ExpandCompressedWeightsBase<ExpandCompressedWeightsPass> {
  void runOnOperation() override {
    // Decode each compressed value once, at its definition.
    SmallVector<Operation *> producers;
    getOperation()->walk([&](Operation *op) {
      if (isa<WeightOp, LowRankOp>(op))
        producers.push_back(op);
    });
    for (Operation *producer : producers) {
      Value compressed = producer->getResult(0);
      auto type = cast<CompressedType>(compressed.getType());
      if (llvm::none_of(compressed.getUsers(),
                        [](Operation *user) { return isa<DequantizeOp, LinearOp>(user); }))
        continue;
      FailureOr<std::vector<float>> values = decodeWeight(compressed);
      if (failed(values)) {
        producer->emitError() << "cannot decode this compressed weight";
        return signalPassFailure();
      }
      OpBuilder builder(producer);
      auto dense = arith::ConstantOp::create(
          builder, producer->getLoc(), buildDenseFloats(type.getDecompressedType(), *values));
      for (OpOperand &use : llvm::make_early_inc_range(compressed.getUses())) {
        if (auto dequantize = dyn_cast<DequantizeOp>(use.getOwner())) {
          dequantize.getResult().replaceAllUsesWith(dense.getResult());
          dequantize->erase();
        } else if (isa<LinearOp>(use.getOwner())) {
          use.set(dense.getResult());
        }
      }
    }
    // Factors of low-rank products die with them: erase users first.
    for (Operation *producer : llvm::reverse(producers))
      if (producer->use_empty())
        producer->erase();
  }
};

} // namespace

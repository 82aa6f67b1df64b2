//===- PruneChannels.cpp - remove output channels and shrink consumers ---===//
#include "ChannelPath.h"
#include "CompressionUtils.h"

#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CompressionPasses.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_PRUNECHANNELS
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

/// `values` (row-major, last dimension `width`) restricted to the columns `keep`.
std::vector<float> keepColumns(const std::vector<float> &values, int64_t width,
                               ArrayRef<int64_t> keep) {
  std::vector<float> result;
  result.reserve(values.size() / size_t(width) * keep.size());
  for (size_t row = 0; row < values.size() / size_t(width); ++row)
    for (int64_t column : keep)
      result.push_back(values[row * width + column]);
  return result;
}

/// A constant of the kept columns of `constant` (a splat keeps its value).
Value shrinkConstant(OpBuilder &builder, arith::ConstantOp constant, RankedTensorType newType,
                     ArrayRef<int64_t> keep) {
  auto elements = cast<DenseElementsAttr>(constant.getValue());
  auto oldType = cast<RankedTensorType>(elements.getType());
  DenseElementsAttr shrunk =
      elements.isSplat()
          ? elements.resizeSplat(newType.clone(oldType.getElementType()))
          : buildDenseFloats(newType.clone(oldType.getElementType()),
                             keepColumns(*getElementsAsFloats(elements), oldType.getShape().back(),
                                         keep));
  return arith::ConstantOp::create(builder, constant.getLoc(), shrunk);
}

struct PruneChannelsPass : kiln::impl::PruneChannelsBase<PruneChannelsPass> {
  using PruneChannelsBase::PruneChannelsBase;

  void runOnOperation() override {
    if (!(fraction > 0.0 && fraction < 1.0)) {
      getOperation()->emitError() << getArgument() << ": fraction must lie in (0, 1), got "
                                  << double(fraction);
      return signalPassFailure();
    }
    FailureOr<SmallVector<LinearOp>> selected =
        selectLayers(getOperation(), layers, getArgument());
    if (failed(selected))
      return signalPassFailure();
    for (LinearOp linear : *selected)
      pruneLayer(linear);
  }

  void pruneLayer(LinearOp producer) {
    std::string why;
    std::optional<ChannelPath> path = findPath(producer, why);
    std::optional<DenseWeight> produced = getDenseWeight(producer);
    std::optional<DenseWeight> consumed = path ? getDenseWeight(path->consumer) : std::nullopt;
    if (!path || !produced || !consumed) {
      if (why.empty())
        why = "its weight or its consumer's weight is not a dense constant";
      producer.emitRemark() << getArgument() << ": layer '" << layerName(producer)
                            << "' keeps its channels: " << why;
      return;
    }
    if (producer.getBias() && !isSliceableConstant(producer.getBias(), producer.getBias().getType())) {
      producer.emitRemark() << getArgument() << ": layer '" << layerName(producer)
                            << "' keeps its channels: its bias is not a constant";
      return;
    }
    SmallVector<int64_t> keep = chooseKeptChannels(*produced, *consumed);
    applyPruning(*path, *produced, *consumed, keep);
  }

  /// Channels with the largest ||W_P[n, :]|| * ||W_C[:, n]||, in order.
  SmallVector<int64_t> chooseKeptChannels(const DenseWeight &produced,
                                          const DenseWeight &consumed) const {
    int64_t channels = produced.rows;
    std::vector<double> score(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
      double out = 0, in = 0;
      for (int64_t k = 0; k < produced.cols; ++k)
        out += double(produced.values[c * produced.cols + k]) * produced.values[c * produced.cols + k];
      for (int64_t n = 0; n < consumed.rows; ++n)
        in += double(consumed.values[n * consumed.cols + c]) * consumed.values[n * consumed.cols + c];
      score[c] = std::sqrt(out * in);
    }
    int64_t removed = std::min<int64_t>(channels - 1, int64_t(fraction * double(channels)));
    SmallVector<int64_t> order(channels);
    std::iota(order.begin(), order.end(), 0);
    // Lowest scores go first; among equal scores the higher index goes first.
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return score[a] < score[b] || (score[a] == score[b] && a > b);
    });
    SmallVector<int64_t> keep(order.begin() + removed, order.end());
    llvm::sort(keep);
    return keep;
  }

  void applyPruning(ChannelPath &path, DenseWeight &produced, DenseWeight &consumed,
                    ArrayRef<int64_t> keep) {
    int64_t kept = int64_t(keep.size());
    auto pathType = cast<RankedTensorType>(path.producer.getResult().getType());
    SmallVector<int64_t> shape(pathType.getShape());
    shape.back() = kept;
    auto newPathType = pathType.clone(shape);
    OpBuilder builder(path.producer);

    // Producer: keep rows of W and entries of the bias.
    std::vector<float> rows;
    for (int64_t channel : keep)
      rows.insert(rows.end(), produced.values.begin() + channel * produced.cols,
                  produced.values.begin() + (channel + 1) * produced.cols);
    auto producerWeight = arith::ConstantOp::create(
        builder, produced.constant.getLoc(),
        buildDenseFloats(produced.type.clone({kept, produced.cols}), rows));
    path.producer.getWeightMutable().assign(producerWeight);
    if (Value bias = path.producer.getBias()) {
      auto constant = bias.getDefiningOp<arith::ConstantOp>();
      path.producer.getBiasMutable().assign(
          shrinkConstant(builder, constant, cast<RankedTensorType>(bias.getType()).clone({kept}), keep));
      if (constant->use_empty())
        constant->erase();
    }
    path.producer.getResult().setType(newPathType);

    // Elementwise ops: same op on the kept channels.
    for (Operation *op : path.elementwise) {
      builder.setInsertionPoint(op);
      for (OpOperand &operand : op->getOpOperands())
        if (auto constant = operand.get().getDefiningOp<arith::ConstantOp>()) {
          operand.set(shrinkConstant(builder, constant, newPathType, keep));
          if (constant->use_empty())
            constant->erase();
        }
      op->getResult(0).setType(newPathType);
    }

    // Consumer: keep the matching input columns.
    builder.setInsertionPoint(path.consumer);
    auto consumerWeight = arith::ConstantOp::create(
        builder, consumed.constant.getLoc(),
        buildDenseFloats(consumed.type.clone({consumed.rows, kept}),
                         keepColumns(consumed.values, consumed.cols, keep)));
    path.consumer.getWeightMutable().assign(consumerWeight);
    for (arith::ConstantOp old : {produced.constant, consumed.constant})
      if (old->use_empty())
        old->erase();
  }
};

} // namespace

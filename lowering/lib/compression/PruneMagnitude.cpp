//===- PruneMagnitude.cpp - unstructured and N:M magnitude pruning -------===//
#include "CompressionUtils.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Lowering/CompressionPasses.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_PRUNEMAGNITUDE
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

/// Indices of the `keep` largest-magnitude values of [first, first+count),
/// ties broken towards the lower index, returned in increasing order.
std::vector<int64_t> largestMagnitudes(const float *first, int64_t count, int64_t keep) {
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    float magnitudeA = std::fabs(first[a]), magnitudeB = std::fabs(first[b]);
    return magnitudeA > magnitudeB || (magnitudeA == magnitudeB && a < b);
  });
  order.resize(size_t(keep));
  std::sort(order.begin(), order.end());
  return order;
}

struct PruneMagnitudePass : kiln::impl::PruneMagnitudeBase<PruneMagnitudePass> {
  using PruneMagnitudeBase::PruneMagnitudeBase;

  void runOnOperation() override {
    bool structured = m != 0;
    if (structured ? (m < 2 || m > 16 || n < 1 || n >= m) : !(density > 0.0 && density <= 1.0)) {
      getOperation()->emitError() << getArgument()
                                  << ": needs 1 <= n < m <= 16 for N:M, or 0 < density <= 1; got n="
                                  << int64_t(n) << " m=" << int64_t(m) << " density=" << double(density);
      return signalPassFailure();
    }
    if (failed(forEachDenseLayer(getOperation(), layers, getArgument(),
                                 [&](LinearOp linear, DenseWeight &weight) {
          prune(linear, weight, structured);
          return success();
        })))
      signalPassFailure();
  }

  void prune(LinearOp linear, DenseWeight &weight, bool structured) {
    MLIRContext *ctx = &getContext();
    int64_t count = int64_t(weight.values.size());
    std::vector<float> kept;
    std::vector<uint32_t> meta;
    SparsityEncodingAttr sparsity;
    if (structured) {
      if (weight.cols % m != 0) {
        linear.emitWarning() << getArgument() << ": layer '" << layerName(linear)
                             << "' left dense: " << int64_t(n) << ":" << int64_t(m)
                             << " sparsity needs K (" << weight.cols << ") to be a multiple of "
                             << int64_t(m);
        return;
      }
      // Per run: the n kept values, and for each its index inside the run.
      for (int64_t run = 0; run < count / m; ++run)
        for (int64_t index : largestMagnitudes(&weight.values[run * m], m, n)) {
          kept.push_back(weight.values[run * m + index]);
          meta.push_back(uint32_t(index));
        }
      sparsity = SparsityEncodingAttr::get(ctx, SparsityKind::NM, n, m, nullptr, {});
    } else {
      int64_t keep = std::clamp<int64_t>(int64_t(std::llround(density * double(count))), 1, count);
      meta.assign(size_t(count), 0);
      for (int64_t index : largestMagnitudes(weight.values.data(), count, keep)) {
        meta[index] = 1;
        kept.push_back(weight.values[index]);
      }
      sparsity = SparsityEncodingAttr::get(ctx, SparsityKind::Unstructured, 0, 0,
                                           FloatAttr::get(Float64Type::get(ctx), double(keep) / double(count)),
                                           {});
    }
    unsigned metaBits = structured ? sparsity.getIndexBits() : 1;
    Type elementType = weight.type.getElementType();
    auto type = CompressedType::get(ctx, weight.type.getShape(), elementType, nullptr, sparsity,
                                    nullptr);
    WeightBuilder arrays = makeArrays(linear, "sparse", resourceThreshold);
    OpBuilder builder(linear);
    WeightOp op = createWeight(builder, weight.constant.getLoc(), type,
                               arrays.bytes(floatsAsBytes(kept, elementType), "payload"),
                               nullptr, nullptr,
                               arrays.bytes(codec::packCodes(meta, metaBits), "sparsity_meta"));
    commitIfSmaller(linear, weight, op.getResult(), getArgument());
  }
};

} // namespace

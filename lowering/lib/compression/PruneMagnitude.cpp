//===- PruneMagnitude.cpp - unstructured and N:M magnitude pruning -------===//
#include "CompressionUtils.h"
#include "Sparsify.h"

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
    OpBuilder builder(linear);
    if (!structured) {
      WeightOp op = createUnstructuredWeight(builder, linear, weight, density, resourceThreshold);
      commitIfSmaller(linear, weight, op.getResult(), getArgument());
      return;
    }
    if (weight.cols % m != 0) {
      linear.emitWarning() << getArgument() << ": layer '" << layerName(linear)
                           << "' left dense: " << int64_t(n) << ":" << int64_t(m)
                           << " sparsity needs K (" << weight.cols << ") to be a multiple of "
                           << int64_t(m);
      return;
    }
    // Per run: the n kept values, and for each its index inside the run.
    std::vector<float> kept;
    std::vector<uint32_t> meta;
    for (int64_t run = 0; run < int64_t(weight.values.size()) / m; ++run)
      for (int64_t index : largestMagnitudes(&weight.values[run * m], m, n)) {
        kept.push_back(weight.values[run * m + index]);
        meta.push_back(uint32_t(index));
      }
    auto sparsity = SparsityEncodingAttr::get(&getContext(), SparsityKind::NM, n, m, nullptr, {});
    WeightOp op = createSparseWeight(builder, linear, weight, sparsity, kept, meta, resourceThreshold);
    commitIfSmaller(linear, weight, op.getResult(), getArgument());
  }
};

} // namespace

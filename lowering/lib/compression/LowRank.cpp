//===- LowRank.cpp - truncated-SVD factorisation of linear weights -------===//
#include "CompressionUtils.h"
#include "Numerics.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CompressionPasses.h"

#include <cmath>

namespace kiln {
#define GEN_PASS_DEF_LOWRANK
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

struct LowRankPass : kiln::impl::LowRankBase<LowRankPass> {
  using LowRankBase::LowRankBase;

  void runOnOperation() override {
    int criteria = (rank > 0) + (energy > 0) + (maxError > 0);
    if (criteria != 1 || rank < 0 || energy > 1.0 || maxError >= 1.0 ||
        (factorBits != 0 && (factorBits < 2 || factorBits > 8))) {
      getOperation()->emitError()
          << getArgument() << ": set exactly one of rank > 0, 0 < energy <= 1 or "
          << "0 < max-error < 1, and factor-bits 0 or 2..8; got rank=" << int64_t(rank)
          << " energy=" << double(energy) << " max-error=" << double(maxError)
          << " factor-bits=" << unsigned(factorBits);
      return signalPassFailure();
    }
    if (failed(forEachDenseLayer(getOperation(), layers, getArgument(),
                                 [&](LinearOp linear, DenseWeight &weight) {
          factorise(linear, weight);
          return success();
        })))
      signalPassFailure();
  }

  /// The rank the options ask for, given descending singular values.
  int64_t chooseRank(const std::vector<double> &singular) const {
    if (rank > 0)
      return std::min<int64_t>(rank, int64_t(singular.size()));
    double total = 0;
    for (double s : singular)
      total += s * s;
    double kept = 0;
    for (size_t r = 0; r < singular.size(); ++r) {
      kept += singular[r] * singular[r];
      double keptFraction = total > 0 ? kept / total : 1.0;
      if (energy > 0 ? keptFraction >= energy - 1e-12
                     : std::sqrt(std::max(0.0, 1.0 - keptFraction)) <= maxError)
        return int64_t(r + 1);
    }
    return int64_t(singular.size());
  }

  /// A factor [rows, cols] as a dense constant, or quantized per row.
  Value makeFactor(OpBuilder &builder, Location loc, LinearOp linear, Type elementType,
                   const std::vector<float> &values, int64_t rows, int64_t cols, StringRef name) {
    auto type = RankedTensorType::get({rows, cols}, elementType);
    if (factorBits == 0)
      return arith::ConstantOp::create(builder, loc, buildDenseFloats(type, values));
    WeightBuilder arrays = makeArrays(linear, name, resourceThreshold);
    return createPerRowQuantizedWeight(builder, loc, values, rows, cols, factorBits, elementType,
                                       arrays, /*suffix=*/"");
  }

  void factorise(LinearOp linear, DenseWeight &weight) {
    int64_t n = weight.rows, k = weight.cols;
    numerics::Svd svd = numerics::computeSvd(weight.values.data(), n, k);
    int64_t r = chooseRank(svd.singular);
    // Fewer multiply-adds and (at equal precision) fewer bytes.
    if (r * (n + k) >= n * k) {
      linear.emitWarning() << getArgument() << ": layer '" << layerName(linear)
                           << "' left dense: rank " << r << " factors of [" << n << ", " << k
                           << "] would not be smaller or cheaper";
      return;
    }
    // U·diag(s) [n, r] and Vt [r, k].
    std::vector<float> first(size_t(n * r)), second(size_t(r * k));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < r; ++j)
        first[i * r + j] = float(svd.u[i * svd.rank + j] * svd.singular[j]);
    for (int64_t j = 0; j < r; ++j)
      for (int64_t c = 0; c < k; ++c)
        second[j * k + c] = float(svd.vt[j * k + c]);

    MLIRContext *ctx = &getContext();
    Type elementType = weight.type.getElementType();
    OpBuilder builder(linear);
    Location loc = weight.constant.getLoc();
    Value u = makeFactor(builder, loc, linear, elementType, first, n, r, "lowrank_u");
    Value v = makeFactor(builder, loc, linear, elementType, second, r, k, "lowrank_v");
    auto type = CompressedType::get(ctx, weight.type.getShape(), elementType, nullptr, nullptr,
                                    LowRankEncodingAttr::get(ctx, r, FactorLayout::UV));
    auto product = LowRankOp::create(builder, loc, type, u, v);
    commitIfSmaller(linear, weight, product.getResult(), getArgument());
  }
};

} // namespace

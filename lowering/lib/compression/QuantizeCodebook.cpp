//===- QuantizeCodebook.cpp - k-means codebook weight quantization -------===//
#include "CompressionUtils.h"
#include "Numerics.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Lowering/CompressionPasses.h"

namespace kiln {
#define GEN_PASS_DEF_QUANTIZECODEBOOK
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

struct QuantizeCodebookPass : kiln::impl::QuantizeCodebookBase<QuantizeCodebookPass> {
  using QuantizeCodebookBase::QuantizeCodebookBase;

  void runOnOperation() override {
    if (bits < 2 || bits > 8 || (vectorSize != 1 && vectorSize != 2) || groupSize < 0 ||
        (groupSize > 0 && groupSize % vectorSize != 0)) {
      getOperation()->emitError()
          << getArgument() << ": needs bits in 2..8 (4: 16 entries, 8: 256), vector-size 1 or "
          << "2 and a group-size that is 0 or a multiple of the vector size; got bits=" << unsigned(bits)
          << " vector-size=" << int64_t(vectorSize) << " group-size=" << int64_t(groupSize);
      return signalPassFailure();
    }
    if (failed(rewriteEachDenseLayer(getOperation(), layers, getArgument(),
                                     [this](LinearOp l, DenseWeight &w) { quantize(l, w); })))
      signalPassFailure();
  }

  void quantize(LinearOp linear, DenseWeight &weight) {
    int64_t group = groupSize > 0 ? groupSize : weight.rows * weight.cols;
    if ((groupSize > 0 && weight.cols % groupSize != 0) || weight.cols % vectorSize != 0) {
      linear.emitWarning() << getArgument() << ": layer '" << layerName(linear)
                           << "' left dense: K = " << weight.cols
                           << " is not a multiple of the group size " << int64_t(groupSize)
                           << " and the vector size " << int64_t(vectorSize);
      return;
    }
    // Groups are consecutive runs of `group` weights in row-major order
    // (whole tensor, or `group` weights of one row), so each group's vectors
    // are contiguous and codes follow the payload order.
    int64_t entries = int64_t(1) << bits;
    int64_t numGroups = int64_t(weight.values.size()) / group;
    int64_t vectorsPerGroup = group / vectorSize;
    CodedWeight coded;
    coded.codebook.resize(size_t(numGroups * entries * vectorSize));
    coded.codes.resize(weight.values.size() / vectorSize);
    for (int64_t g = 0; g < numGroups; ++g) {
      numerics::Clustering clustering = numerics::kmeans(
          &weight.values[g * group], vectorsPerGroup, vectorSize, entries);
      std::copy(clustering.centroids.begin(), clustering.centroids.end(),
                coded.codebook.begin() + g * entries * vectorSize);
      std::copy(clustering.assignment.begin(), clustering.assignment.end(),
                coded.codes.begin() + g * vectorsPerGroup);
    }

    MLIRContext *ctx = &getContext();
    bool perGroup = groupSize > 0;
    coded.encoding = QuantEncodingAttr::get(
        ctx, IntegerType::get(ctx, bits, IntegerType::Unsigned), QuantScheme::Codebook,
        perGroup ? QuantGranularity::PerGroup : QuantGranularity::PerTensor, perGroup ? 1 : 0,
        perGroup ? int64_t(groupSize) : 0, /*symmetric=*/true, weight.type.getElementType(),
        Type(), vectorSize);
    if (perGroup)
      coded.codebookShape = coded.encoding.getScaleShape(weight.type.getShape());
    coded.codebookShape.append({entries, int64_t(vectorSize)});
    commitCodedWeight(linear, weight, coded, "codebook", resourceThreshold, getArgument());
  }
};

} // namespace

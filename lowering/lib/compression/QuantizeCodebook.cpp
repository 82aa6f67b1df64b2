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
    if (failed(forEachDenseLayer(getOperation(), layers, getArgument(),
                                 [&](LinearOp linear, DenseWeight &weight) {
          quantize(linear, weight);
          return success();
        })))
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
    std::vector<float> codebook(size_t(numGroups * entries * vectorSize));
    std::vector<uint32_t> codes(weight.values.size() / vectorSize);
    for (int64_t g = 0; g < numGroups; ++g) {
      numerics::Clustering clustering = numerics::kmeans(
          &weight.values[g * group], vectorsPerGroup, vectorSize, entries);
      std::copy(clustering.centroids.begin(), clustering.centroids.end(),
                codebook.begin() + g * entries * vectorSize);
      std::copy(clustering.assignment.begin(), clustering.assignment.end(),
                codes.begin() + g * vectorsPerGroup);
    }

    MLIRContext *ctx = &getContext();
    Type elementType = weight.type.getElementType();
    bool perGroup = groupSize > 0;
    auto encoding = QuantEncodingAttr::get(
        ctx, IntegerType::get(ctx, bits, IntegerType::Unsigned), QuantScheme::Codebook,
        perGroup ? QuantGranularity::PerGroup : QuantGranularity::PerTensor, perGroup ? 1 : 0,
        perGroup ? int64_t(groupSize) : 0, /*symmetric=*/true, elementType, Type(), vectorSize);
    auto type = CompressedType::get(ctx, weight.type.getShape(), elementType, encoding,
                                    nullptr, nullptr);
    SmallVector<int64_t> codebookShape;
    if (perGroup)
      codebookShape = encoding.getScaleShape(weight.type.getShape());
    codebookShape.append({entries, int64_t(vectorSize)});
    WeightBuilder arrays = makeArrays(linear, "codebook", resourceThreshold);
    OpBuilder builder(linear);
    WeightOp op = createWeight(builder, weight.constant.getLoc(), type,
                               arrays.bytes(codec::packCodes(codes, bits), "payload"),
                               /*scales=*/nullptr,
                               arrays.floats(codebook, codebookShape, elementType, "codebook"));
    commitIfSmaller(linear, weight, op.getResult(), getArgument());
  }
};

} // namespace

//===- QuantizeLog2.cpp - power-of-two weight quantization ----------------===//
#include "CompressionUtils.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Lowering/CompressionPasses.h"

#include <cmath>

namespace kiln {
#define GEN_PASS_DEF_QUANTIZELOG2
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

struct QuantizeLog2Pass : kiln::impl::QuantizeLog2Base<QuantizeLog2Pass> {
  using QuantizeLog2Base::QuantizeLog2Base;

  void runOnOperation() override {
    if (bits < 3 || bits > 8) {
      getOperation()->emitError() << getArgument() << ": bits must be 3 to 8, got " << unsigned(bits);
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
    MLIRContext *ctx = &getContext();
    std::vector<float> scales(size_t(weight.rows));
    std::vector<uint32_t> codes(weight.values.size());
    std::vector<float> absMax = rowAbsMax(weight);
    for (int64_t r = 0; r < weight.rows; ++r) {
      const float *row = &weight.values[r * weight.cols];
      scales[r] = absMax[r] > 0 ? absMax[r] : 1.0f;
      for (int64_t c = 0; c < weight.cols; ++c)
        codes[r * weight.cols + c] = codec::quantizeLog2(row[c], scales[r], bits);
    }
    Type scaleType = weight.type.getElementType();
    auto encoding = QuantEncodingAttr::get(
        ctx, IntegerType::get(ctx, bits, IntegerType::Unsigned), QuantScheme::Log2,
        QuantGranularity::PerChannel, /*axis=*/0, /*groupSize=*/0, /*symmetric=*/true,
        scaleType, Type(), /*vectorSize=*/1);
    auto type = CompressedType::get(ctx, weight.type.getShape(), weight.type.getElementType(),
                                    encoding, nullptr, nullptr);
    WeightBuilder arrays = makeArrays(linear, "log2", resourceThreshold);
    OpBuilder builder(linear);
    WeightOp op = createWeight(
        builder, weight.constant.getLoc(), type,
        arrays.bytes(codec::packCodes(codes, bits), "payload"),
        arrays.floats(scales, encoding.getScaleShape(weight.type.getShape()), scaleType, "scales"));
    commitIfSmaller(linear, weight, op.getResult(), getArgument());
  }
};

} // namespace

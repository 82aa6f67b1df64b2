//===- QuantizeFp8.cpp - fp8 e4m3 weights with per-channel scales --------===//
#include "CompressionUtils.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Lowering/CompressionPasses.h"

#include <cmath>

namespace kiln {
#define GEN_PASS_DEF_QUANTIZEFP8
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

constexpr float kLargestE4M3 = 448.0f;

struct QuantizeFp8Pass : kiln::impl::QuantizeFp8Base<QuantizeFp8Pass> {
  using QuantizeFp8Base::QuantizeFp8Base;

  void runOnOperation() override {
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
      scales[r] = absMax[r] > 0 ? absMax[r] / kLargestE4M3 : 1.0f;
      for (int64_t c = 0; c < weight.cols; ++c)
        codes[r * weight.cols + c] =
            codec::floatToE4M3(weight.values[r * weight.cols + c] / scales[r]);
    }
    Type scaleType = weight.type.getElementType();
    auto encoding = QuantEncodingAttr::get(ctx, Float8E4M3FNType::get(ctx), QuantScheme::Linear,
                                           QuantGranularity::PerChannel, /*axis=*/0,
                                           /*groupSize=*/0, /*symmetric=*/true, scaleType,
                                           Type(), /*vectorSize=*/1);
    auto type = CompressedType::get(ctx, weight.type.getShape(), weight.type.getElementType(),
                                    encoding, nullptr, nullptr);
    WeightBuilder arrays = makeArrays(linear, "fp8", resourceThreshold);
    OpBuilder builder(linear);
    WeightOp op = createWeight(
        builder, weight.constant.getLoc(), type, arrays.bytes(codec::packCodes(codes, 8), "payload"),
        arrays.floats(scales, encoding.getScaleShape(weight.type.getShape()), scaleType, "scales"));
    commitIfSmaller(linear, weight, op.getResult(), getArgument());
  }
};

} // namespace

//===- Awq.cpp - activation-aware weight quantization ---------------------===//
#include "Calibration.h"
#include "ChannelPath.h"
#include "CompressionUtils.h"
#include "Numerics.h"

#include "kiln/Lowering/CompressionPasses.h"

namespace kiln {
#define GEN_PASS_DEF_AWQ
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

struct AwqPass : kiln::impl::AwqBase<AwqPass> {
  using AwqBase::AwqBase;

  void runOnOperation() override {
    if (bits < 2 || bits > 8 || groupSize < 0 || calibSamples <= 0 || gridPoints < 0) {
      getOperation()->emitError() << getArgument()
                                  << ": needs bits 2..8, group-size >= 0, grid >= 0 and "
                                     "calib-samples > 0";
      return signalPassFailure();
    }
    // Last to first: a consumer's 1/s folds into its producer's dense weight
    // before the producer itself is quantized.
    if (failed(forEachCalibratedLayer(
            getOperation(), layers, getArgument(), {calib, calibSamples, calibSeed},
            /*lastFirst=*/true, [&](LinearOp linear, DenseWeight &weight, CalibrationData &data) {
              quantize(linear, weight, data);
              return success();
            })))
      signalPassFailure();
  }

  void quantize(LinearOp linear, DenseWeight &weight, CalibrationData &data) {
    if (groupSize > 0 && weight.cols % groupSize != 0) {
      linear.emitWarning() << getArgument() << ": layer '" << layerName(linear)
                           << "' left dense: group size " << int64_t(groupSize)
                           << " does not divide K = " << weight.cols;
      return;
    }
    int64_t rows = data.rows(linear);
    const std::vector<float> &x = data.inputs[linear.getOperation()];
    numerics::AwqResult result = numerics::awqSearch(
        weight.values.data(), weight.rows, weight.cols, x.data(), rows,
        numerics::gram(x.data(), rows, weight.cols), bits, groupSize, symmetric, gridPoints);
    std::string how = "no input scaling (alpha 0 is best)";
    if (result.alpha > 0 && !canScaleLinearInput(linear)) {
      // Without a place for 1/s, fall back to plain RTN.
      result = numerics::awqSearch(weight.values.data(), weight.rows, weight.cols, x.data(), rows,
                                   numerics::gram(x.data(), rows, weight.cols), bits, groupSize,
                                   symmetric, /*gridPoints=*/0);
      how = "no input scaling (the input shape is dynamic)";
    }
    OpBuilder builder(linear);
    WeightOp op = createLinearQuantWeight(builder, linear, weight, result.quantized, bits, groupSize,
                                          symmetric, "awq", resourceThreshold);
    // Scale the input only once the quantized weight is in place.
    if (!commitIfSmaller(linear, weight, op.getResult(), getArgument()))
      return;
    if (result.alpha > 0) {
      std::vector<float> inverse(result.scales.size());
      for (size_t c = 0; c < inverse.size(); ++c)
        inverse[c] = 1.0f / result.scales[c];
      how = "1/s " + *scaleLinearInput(linear, inverse);
    }
    linear.emitRemark() << getArgument() << ": layer '" << layerName(linear) << "': alpha "
                        << result.alpha << ", " << how << "; output error / RTN's "
                        << result.error / std::max(result.rtnError, 1e-30);
  }
};

} // namespace

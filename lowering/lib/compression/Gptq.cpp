//===- Gptq.cpp - GPTQ weight-only quantization on calibration data ------===//
#include "Calibration.h"
#include "CompressionUtils.h"
#include "Numerics.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Lowering/CompressionPasses.h"

namespace kiln {
#define GEN_PASS_DEF_GPTQ
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

struct GptqPass : kiln::impl::GptqBase<GptqPass> {
  using GptqBase::GptqBase;

  void runOnOperation() override {
    if (bits < 2 || bits > 8 || groupSize < 0 || calibSamples <= 0 || !(damp >= 0.0)) {
      getOperation()->emitError() << getArgument()
                                  << ": needs bits 2..8, group-size >= 0, calib-samples > 0 and "
                                     "damp >= 0";
      return signalPassFailure();
    }
    if (failed(forEachCalibratedLayer(
            getOperation(), layers, getArgument(), {calib, calibSamples, calibSeed},
            /*lastFirst=*/false, [&](LinearOp linear, DenseWeight &weight, CalibrationData &data) {
              return quantize(linear, weight, data);
            })))
      signalPassFailure();
  }

  LogicalResult quantize(LinearOp linear, DenseWeight &weight, const CalibrationData &data) {
    if (groupSize > 0 && weight.cols % groupSize != 0) {
      linear.emitWarning() << getArgument() << ": layer '" << layerName(linear)
                           << "' left dense: group size " << int64_t(groupSize)
                           << " does not divide K = " << weight.cols;
      return success();
    }
    int64_t rows = data.rows(linear);
    if (rows == 0)
      return linear.emitError() << getArgument() << ": layer '" << layerName(linear)
                                << "' has no calibration inputs";
    std::vector<double> hessian =
        numerics::gram(data.inputs.lookup(linear.getOperation()).data(), rows, weight.cols);
    std::optional<codec::QuantizedMatrix> quantized = numerics::gptqQuantize(
        weight.values.data(), weight.rows, weight.cols, hessian, bits, groupSize, symmetric, damp);
    if (!quantized)
      return linear.emitError() << getArgument() << ": layer '" << layerName(linear)
                                << "': the damped Hessian is singular; raise damp";

    OpBuilder builder(linear);
    WeightOp op = createLinearQuantWeight(builder, linear, weight, *quantized, bits, groupSize,
                                          symmetric, "gptq", resourceThreshold);
    commitIfSmaller(linear, weight, op.getResult(), getArgument());
    return success();
  }
};

} // namespace

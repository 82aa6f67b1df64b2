//===- SmoothQuant.cpp - W8A8 with SmoothQuant scale migration -----------===//
#include "Calibration.h"
#include "ChannelPath.h"
#include "CompressionUtils.h"
#include "Numerics.h"

#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CompressionPasses.h"

#include <cmath>

namespace kiln {
#define GEN_PASS_DEF_SMOOTHQUANT
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

constexpr float kInt8Levels = 127.0f;

/// x_q = min(max(roundeven(x / a), -127), 127) * a, as explicit ops.
Value fakeQuantizeInput(OpBuilder &builder, Location loc, Value input, float scale) {
  auto type = cast<RankedTensorType>(input.getType());
  auto splat = [&](float value) {
    return arith::ConstantOp::create(builder, loc,
                                     DenseElementsAttr::get(type, builder.getF32FloatAttr(value)));
  };
  Value scaleConstant = splat(scale);
  Value codes = math::RoundEvenOp::create(
      builder, loc, arith::DivFOp::create(builder, loc, input, scaleConstant));
  codes = arith::MaximumFOp::create(builder, loc, codes, splat(-kInt8Levels));
  codes = arith::MinimumFOp::create(builder, loc, codes, splat(kInt8Levels));
  return arith::MulFOp::create(builder, loc, codes, scaleConstant);
}

struct SmoothQuantPass : kiln::impl::SmoothQuantBase<SmoothQuantPass> {
  using SmoothQuantBase::SmoothQuantBase;

  void runOnOperation() override {
    std::optional<numerics::ClipMethod> method =
        llvm::StringSwitch<std::optional<numerics::ClipMethod>>(actClip)
            .Case("minmax", numerics::ClipMethod::MinMax)
            .Case("percentile", numerics::ClipMethod::Percentile)
            .Case("mse", numerics::ClipMethod::Mse)
            .Default(std::nullopt);
    if (!method || !(alpha >= 0.0 && alpha <= 1.0) || calibSamples <= 0 ||
        !(percentile > 0.0 && percentile <= 100.0)) {
      getOperation()->emitError() << getArgument()
                                  << ": needs act-clip minmax, percentile or mse, 0 <= alpha <= 1, "
                                     "0 < percentile <= 100 and calib-samples > 0";
      return signalPassFailure();
    }
    // Last to first, as in kiln-awq.
    if (failed(forEachCalibratedLayer(
            getOperation(), layers, getArgument(), {calib, calibSamples, calibSeed},
            /*lastFirst=*/true, [&](LinearOp linear, DenseWeight &weight, CalibrationData &data) {
              quantize(linear, weight, data, *method);
              return success();
            })))
      signalPassFailure();
  }

  /// s_k = max|X_k|^alpha / max|W_k|^(1-alpha), or all ones.
  std::vector<float> smoothingScales(const DenseWeight &weight, const std::vector<float> &x,
                                     int64_t rows) const {
    std::vector<float> scales(static_cast<size_t>(weight.cols), 1.0f);
    for (int64_t c = 0; c < weight.cols; ++c) {
      float activation = 0, magnitude = 0;
      for (int64_t r = 0; r < rows; ++r)
        activation = std::max(activation, std::fabs(x[r * weight.cols + c]));
      for (int64_t n = 0; n < weight.rows; ++n)
        magnitude = std::max(magnitude, std::fabs(weight.values[n * weight.cols + c]));
      if (activation > 0 && magnitude > 0)
        scales[c] = float(std::pow(double(activation), double(alpha)) / std::pow(double(magnitude), 1.0 - double(alpha)));
    }
    return scales;
  }

  void quantize(LinearOp linear, DenseWeight &weight, CalibrationData &data,
                numerics::ClipMethod method) {
    int64_t rows = data.rows(linear);
    const std::vector<float> &x = data.inputs[linear.getOperation()];
    if (!cast<RankedTensorType>(linear.getInput().getType()).hasStaticShape()) {
      linear.emitWarning() << getArgument() << ": layer '" << layerName(linear)
                           << "' left dense: activation quantization needs a static input shape";
      return;
    }
    std::vector<float> scales = smoothingScales(weight, x, rows);
    if (!migrate || !canScaleLinearInput(linear))
      scales.assign(scales.size(), 1.0f);
    std::vector<float> smoothedWeight = weight.values, smoothedInput = x;
    for (size_t i = 0; i < smoothedWeight.size(); ++i)
      smoothedWeight[i] *= scales[i % scales.size()];
    for (size_t i = 0; i < smoothedInput.size(); ++i)
      smoothedInput[i] /= scales[i % scales.size()];
    codec::QuantizedMatrix quantized = codec::quantizeMatrix(
        smoothedWeight.data(), weight.rows, weight.cols, 8, /*groupSize=*/0, /*symmetric=*/true);
    float activationScale = numerics::chooseClip(smoothedInput, method, 8, percentile) / kInt8Levels;

    OpBuilder builder(linear);
    WeightOp op = createLinearQuantWeight(builder, linear, weight, quantized, 8, 0, true,
                                          "smoothquant", resourceThreshold);
    if (!commitIfSmaller(linear, weight, op.getResult(), getArgument()))
      return;
    std::vector<float> inverse(scales.size());
    for (size_t c = 0; c < scales.size(); ++c)
      inverse[c] = 1.0f / scales[c];
    std::string how = "no migration";
    if (llvm::any_of(scales, [](float s) { return s != 1.0f; }))
      how = "1/s " + *scaleLinearInput(linear, inverse);
    builder.setInsertionPoint(linear);
    linear.getInputMutable().assign(
        fakeQuantizeInput(builder, linear.getLoc(), linear.getInput(), activationScale));
    linear->setAttr("kiln.act_quant",
                    builder.getDictionaryAttr({builder.getNamedAttr("bits", builder.getI64IntegerAttr(8)),
                                               builder.getNamedAttr("scale", builder.getF32FloatAttr(activationScale))}));
    linear.emitRemark() << getArgument() << ": layer '" << layerName(linear) << "': " << how
                        << "; int8 activations with scale " << activationScale << " ("
                        << actClip << ")";
  }
};

} // namespace

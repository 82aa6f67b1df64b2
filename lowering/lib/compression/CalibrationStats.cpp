//===- CalibrationStats.cpp - every layer's calibration statistics as JSON -===//
#include "Calibration.h"
#include "Numerics.h"

#include "kiln/Lowering/CompressionPasses.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>

namespace kiln {
#define GEN_PASS_DEF_CALIBRATIONSTATS
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

llvm::json::Object layerStatistics(LinearOp linear, const CalibrationData &data) {
  int64_t cols = cast<RankedTensorType>(linear.getInput().getType()).getShape().back();
  int64_t rows = data.rows(linear);
  const std::vector<float> &x = data.inputs.find(linear.getOperation())->second;
  std::vector<double> meanAbs(size_t(cols), 0.0), maxAbs(size_t(cols), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) {
      double magnitude = std::fabs(double(x[r * cols + k]));
      meanAbs[k] += magnitude / double(rows);
      maxAbs[k] = std::max(maxAbs[k], magnitude);
    }
  std::vector<double> gram = numerics::gram(x.data(), rows, cols);
  return llvm::json::Object{{"layer", layerName(linear)},
                            {"rows", rows},
                            {"cols", cols},
                            {"mean_abs", llvm::json::Array(meanAbs)},
                            {"max_abs", llvm::json::Array(maxAbs)},
                            {"gram", llvm::json::Array(gram)}};
}

struct CalibrationStatsPass : kiln::impl::CalibrationStatsBase<CalibrationStatsPass> {
  using CalibrationStatsBase::CalibrationStatsBase;

  void runOnOperation() override {
    const CalibrationRunnerInterface *runner = getCalibrationRunner(&getContext());
    llvm::json::Array layers;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      auto runs = calibrationRuns(func, {calib, calibSamples, calibSeed});
      if (!runs) {
        emitError(func.getLoc()) << getArgument() << ": " << llvm::toString(runs.takeError());
        return signalPassFailure();
      }
      FailureOr<CalibrationData> data = collectCalibration(func, *runs);
      if (failed(data))
        return signalPassFailure();
      for (LinearOp linear : func.getOps<LinearOp>())
        layers.push_back(layerStatistics(linear, *data));
    }
    llvm::json::Object document{
        {"runner", runner ? runner->describe().str() : std::string("reference evaluator")},
        {"layers", std::move(layers)}};
    std::string text = llvm::formatv("{0:2}", llvm::json::Value(std::move(document))).str();
    if (output == "-") {
      llvm::outs() << text << "\n";
      return;
    }
    std::error_code error;
    llvm::raw_fd_ostream os(output, error);
    if (error) {
      getOperation().emitError() << getArgument() << ": cannot write " << output << ": "
                                 << error.message();
      return signalPassFailure();
    }
    os << text << "\n";
  }
};

} // namespace

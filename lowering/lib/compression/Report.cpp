//===- Report.cpp - what compression did to each layer and to the model --===//
#include "Calibration.h"
#include "ChannelPath.h"
#include "CompressionUtils.h"
#include "Numerics.h"

#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CompressionPasses.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

std::string encodingOf(Value weight) {
  if (!isa<CompressedType>(weight.getType()))
    return "dense";
  std::string text;
  llvm::raw_string_ostream os(text);
  auto type = cast<CompressedType>(weight.getType());
  if (QuantEncodingAttr quant = type.getQuant())
    os << quant << " ";
  if (SparsityEncodingAttr sparsity = type.getSparsity())
    os << sparsity << " ";
  if (LowRankEncodingAttr lowRank = type.getLowRank())
    os << lowRank << " ";
  if (auto op = weight.getDefiningOp<LowRankOp>())
    os << "factors " << encodingOf(op.getFirst()) << " / " << encodingOf(op.getSecond());
  return llvm::StringRef(text).trim().str();
}

/// End-to-end comparison of two sets of outputs (all runs, all results).
struct Agreement {
  double errorSquared = 0, referenceSquared = 0, dot = 0, candidateSquared = 0;
  int64_t rows = 0, sameArgmax = 0;
  void add(const std::vector<float> &reference, const std::vector<float> &candidate, int64_t width) {
    for (size_t i = 0; i < reference.size(); ++i) {
      errorSquared += std::pow(double(reference[i]) - candidate[i], 2);
      referenceSquared += double(reference[i]) * reference[i];
      candidateSquared += double(candidate[i]) * candidate[i];
      dot += double(reference[i]) * candidate[i];
    }
    if (width < 2)
      return;
    for (size_t row = 0; row < reference.size() / size_t(width); ++row) {
      auto begin = [&](const std::vector<float> &v) { return v.begin() + row * width; };
      sameArgmax += std::max_element(begin(reference), begin(reference) + width) - begin(reference) ==
                    std::max_element(begin(candidate), begin(candidate) + width) - begin(candidate);
      ++rows;
    }
  }
};

} // namespace

LogicalResult kiln::writeCompressionReport(ModuleOp teacher, ModuleOp student,
                                           const CalibrationSettings &calibration,
                                           StringRef jsonPath, llvm::raw_ostream &table) {
  llvm::json::Array layers;
  int64_t totalBefore = 0, totalAfter = 0;
  Agreement agreement;
  table << llvm::formatv("{0,-28} {1,12} {2,12} {3,10}  {4}\n", "layer", "bytes before",
                         "bytes after", "rel. error", "encoding");
  for (auto function : student.getOps<func::FuncOp>()) {
    auto reference = teacher.lookupSymbol<func::FuncOp>(function.getSymName());
    if (!reference)
      return function.emitError() << "report: the uncompressed model has no @" << function.getSymName();
    auto runs = calibrationRuns(reference, calibration);
    if (!runs)
      return emitError(reference.getLoc()) << llvm::toString(runs.takeError());
    CalibrationData inputs;
    FailureOr<CalibrationOutputs> want = runFunction(reference, *runs, &inputs);
    if (failed(want))
      return failure();
    FailureOr<CalibrationOutputs> got = runFunction(function, *runs, nullptr);
    if (failed(got))
      return failure();
    for (auto [wantRun, gotRun] : llvm::zip(*want, *got))
      for (auto [wantResult, gotResult, type] :
           llvm::zip(wantRun, gotRun, function.getFunctionType().getResults()))
        agreement.add(wantResult, gotResult, cast<ShapedType>(type).getShape().back());
    SmallVector<LinearOp> compressed(function.getOps<LinearOp>()), original(reference.getOps<LinearOp>());
    for (auto [layer, teacherLayer] : llvm::zip(compressed, original)) {
      int64_t before = storedBytes(teacherLayer.getWeight()), after = storedBytes(layer.getWeight());
      totalBefore += before;
      totalAfter += after;
      llvm::json::Object entry{{"layer", layerName(layer)}, {"encoding", encodingOf(layer.getWeight())},
                               {"bytes_before", before}, {"bytes_after", after}};
      std::string error = "n/a";
      auto shape = cast<ShapedType>(layer.getWeight().getType()).getShape();
      if (layer->hasAttr(kRescaledAttr)) {
        error = "rescaled";
      } else if (shape == cast<ShapedType>(teacherLayer.getWeight().getType()).getShape()) {
        std::vector<float> want = *decodeWeight(teacherLayer.getWeight());
        std::vector<float> got = *decodeWeight(layer.getWeight());
        const std::vector<float> &x = inputs.inputs[teacherLayer.getOperation()];
        double relative = numerics::relativeOutputError(x.data(), inputs.rows(teacherLayer), want.data(),
                                                        got.data(), shape[0], shape[1]);
        entry["relative_error"] = relative;
        error = llvm::formatv("{0:f4}", relative).str();
      } else {
        error = "reshaped";
      }
      table << llvm::formatv("{0,-28} {1,12} {2,12} {3,10}  {4}\n", layerName(layer), before, after,
                             error, encodingOf(layer.getWeight()));
      layers.push_back(std::move(entry));
    }
  }
  double relativeL2 = std::sqrt(agreement.errorSquared / std::max(agreement.referenceSquared, 1e-30));
  double cosine = agreement.dot / std::sqrt(std::max(agreement.referenceSquared * agreement.candidateSquared, 1e-30));
  llvm::json::Object model{{"bytes_before", totalBefore}, {"bytes_after", totalAfter},
                           {"size_ratio", double(totalAfter) / double(std::max<int64_t>(totalBefore, 1))},
                           {"relative_l2", relativeL2}, {"cosine", cosine}};
  table << llvm::formatv("model: linear weights {0} -> {1} bytes ({2:f3}x); end to end: relative L2 "
                         "{3:f4}, cosine {4:f5}",
                         totalBefore, totalAfter, double(totalAfter) / double(std::max<int64_t>(totalBefore, 1)),
                         relativeL2, cosine);
  if (agreement.rows > 0) {
    double top1 = double(agreement.sameArgmax) / double(agreement.rows);
    model["top1_agreement"] = top1;
    table << llvm::formatv(", top-1 agreement {0:f4}", top1);
  }
  table << "\n";
  if (jsonPath.empty())
    return success();
  std::error_code ec;
  llvm::raw_fd_ostream os(jsonPath, ec);
  if (ec)
    return student.emitError() << "report: cannot write " << jsonPath << ": " << ec.message();
  os << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{{"layers", std::move(layers)},
                                                                    {"model", std::move(model)}}))
     << "\n";
  return success();
}

//===- Distill.cpp - refit compressed layers to the teacher's outputs ----===//
#include "Calibration.h"
#include "ChannelPath.h"
#include "CompressionUtils.h"
#include "Numerics.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CompressionPasses.h"
#include "kiln/Lowering/Progress.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/Regex.h"

namespace kiln {
#define GEN_PASS_DEF_DISTILL
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

/// What a refit produced: the replacement weight, or why there is none.
struct Refit {
  Value weight;
  std::string method, skipped;
};

/// Layer inputs and the teacher's weight of one layer.
struct Teaching {
  const std::vector<float> *inputs;
  int64_t rows;
  std::vector<float> weight;
  std::vector<double> hessian;
};

/// Per element: the index of its scale, or nullopt for encodings without
/// per-row scales (per tensor, or a scale axis other than 0 / groups on 1).
std::optional<int64_t> rowScaleGroupSize(QuantEncodingAttr quant, int64_t cols) {
  if (quant.getGranularity() == QuantGranularity::PerChannel && quant.getAxis() == 0)
    return cols;
  if (quant.getGranularity() == QuantGranularity::PerGroup && quant.getAxis() == 1)
    return quant.getGroupSize();
  return std::nullopt;
}

Refit refitScales(WeightOp op, const Teaching &teaching, int64_t threshold, LinearOp linear) {
  CompressedType type = op.getType();
  QuantEncodingAttr quant = type.getQuant();
  int64_t rows = type.getShape()[0], cols = type.getShape()[1];
  std::optional<int64_t> group = rowScaleGroupSize(quant, cols);
  if (!group || quant.getScheme() == QuantScheme::Codebook)
    return {nullptr, "", "its scales are not per output channel or per group along K"};
  std::vector<float> decoded = *decodeWeight(op.getResult());
  std::vector<float> scales = *getElementsAsFloats(*op.getScales());
  std::vector<float> pattern(decoded.size());
  for (int64_t i = 0; i < rows * cols; ++i) {
    float scale = scales[(i / cols) * (cols / *group) + (i % cols) / *group];
    if (scale == 0.0f)
      return {nullptr, "", "a scale is zero"};
    pattern[i] = decoded[i] / scale;
  }
  std::vector<float> refit = numerics::refitGroupScales(
      teaching.weight.data(), pattern.data(), rows, cols, *group, teaching.hessian, scales);
  WeightBuilder arrays = makeArrays(linear, "distilled", threshold);
  auto scaleType = cast<ShapedType>(op.getScales()->getType());
  OpBuilder builder(op);
  auto replacement = WeightOp::create(
      builder, op.getLoc(), type, op.getPayload(),
      arrays.floats(refit, scaleType.getShape(), scaleType.getElementType(), "scales"),
      op.getZeroPointsAttr(), op.getCodebookAttr(), op.getSparsityMetaAttr());
  return {replacement.getResult(), "scales", ""};
}

/// Logical index of each stored value of a sparse weight, in payload order.
std::optional<std::vector<int64_t>> storedOrder(WeightOp op) {
  SparsityEncodingAttr sparsity = op.getType().getSparsity();
  std::vector<uint8_t> meta = *getElementBytes(*op.getSparsityMeta());
  int64_t count = *op.getType().getNumLogicalElements();
  std::vector<int64_t> order;
  if (sparsity.getKind() == SparsityKind::Unstructured) {
    for (int64_t i = 0; i < count; ++i)
      if (codec::unpackCode(meta.data(), i, 1))
        order.push_back(i);
    return order;
  }
  if (sparsity.getKind() == SparsityKind::NM) {
    int64_t slot = 0;
    for (int64_t run = 0; run < count / sparsity.getM(); ++run)
      for (int64_t k = 0; k < sparsity.getN(); ++k, ++slot)
        order.push_back(run * sparsity.getM() +
                        codec::unpackCode(meta.data(), slot, sparsity.getIndexBits()));
    return order;
  }
  return std::nullopt;
}

Refit refitSparse(WeightOp op, const Teaching &teaching, int64_t threshold, LinearOp linear) {
  std::optional<std::vector<int64_t>> order = storedOrder(op);
  if (!order)
    return {nullptr, "", "block sparsity is not refit"};
  int64_t rows = op.getType().getShape()[0], cols = op.getType().getShape()[1];
  std::vector<bool> kept(static_cast<size_t>(rows * cols), false);
  for (int64_t index : *order)
    kept[index] = true;
  std::vector<float> refit =
      numerics::refitSurvivors(teaching.weight.data(), kept, rows, cols, teaching.hessian);
  std::vector<float> stored;
  for (int64_t index : *order)
    stored.push_back(refit[index]);
  WeightBuilder arrays = makeArrays(linear, "distilled", threshold);
  OpBuilder builder(op);
  auto replacement = WeightOp::create(
      builder, op.getLoc(), op.getType(),
      arrays.bytes(floatsAsBytes(stored, op.getType().getElementType()), "payload"), nullptr,
      nullptr, nullptr, op.getSparsityMetaAttr());
  return {replacement.getResult(), "surviving weights", ""};
}

Refit refitLowRank(LowRankOp op, const Teaching &teaching) {
  auto type = cast<CompressedType>(op.getResult().getType());
  auto first = op.getFirst().getDefiningOp<arith::ConstantOp>();
  if (!first || type.getLowRank().getLayout() != FactorLayout::UV)
    return {nullptr, "", "its first factor is not a dense U (quantized factors are not refit)"};
  int64_t rows = type.getShape()[0], cols = type.getShape()[1], rank = type.getLowRank().getRank();
  FailureOr<std::vector<float>> v = decodeWeight(op.getSecond());
  if (failed(v))
    return {nullptr, "", "its second factor cannot be decoded"};
  std::optional<std::vector<float>> u = numerics::refitLeftFactor(
      teaching.weight.data(), v->data(), rows, cols, rank, teaching.hessian);
  if (!u)
    return {nullptr, "", "the least-squares system is singular"};
  OpBuilder builder(op);
  auto factor = arith::ConstantOp::create(
      builder, first.getLoc(), buildDenseFloats(cast<RankedTensorType>(first.getType()), *u));
  auto replacement = LowRankOp::create(builder, op.getLoc(), type, factor, op.getSecond());
  return {replacement.getResult(), "first low-rank factor", ""};
}

Refit refitWeight(LinearOp linear, const Teaching &teaching, int64_t threshold) {
  Operation *def = linear.getWeight().getDefiningOp();
  if (auto lowRank = dyn_cast_or_null<LowRankOp>(def))
    return refitLowRank(lowRank, teaching);
  auto weight = dyn_cast_or_null<WeightOp>(def);
  if (!weight)
    return {nullptr, "", "its weight is not compressed"};
  CompressedType type = weight.getType();
  if (type.getQuant() && !type.getSparsity())
    return refitScales(weight, teaching, threshold, linear);
  if (type.getSparsity() && !type.getQuant())
    return refitSparse(weight, teaching, threshold, linear);
  return {nullptr, "", "quantized sparse weights are not refit"};
}

LogicalResult distillFunction(func::FuncOp student, func::FuncOp teacher, llvm::Regex &filter,
                              bool filtered, const CalibrationSettings &settings,
                              int64_t threshold) {
  SmallVector<LinearOp> studentLayers(student.getOps<LinearOp>());
  SmallVector<LinearOp> teacherLayers(teacher.getOps<LinearOp>());
  if (studentLayers.size() != teacherLayers.size())
    return student.emitError() << "kiln-distill: the teacher has " << teacherLayers.size()
                               << " linear layers in @" << student.getSymName() << " but the "
                               << "student has " << studentLayers.size();
  auto runs = calibrationRuns(teacher, settings);
  if (!runs)
    return emitError(teacher.getLoc()) << llvm::toString(runs.takeError());
  FailureOr<CalibrationData> data = collectCalibration(teacher, *runs);
  if (failed(data))
    return failure();
  Progress progress("kiln-distill layers", int64_t(studentLayers.size()));
  for (auto [layer, teacherLayer] : llvm::zip(studentLayers, teacherLayers)) {
    progress.advance();
    std::string name = layerName(layer);
    if ((filtered && !filter.match(name)) || !isa_and_nonnull<WeightOp, LowRankOp>(
                                                 layer.getWeight().getDefiningOp()))
      continue;
    if (layer->hasAttr(kRescaledAttr)) {
      layer.emitRemark() << "kiln-distill: layer '" << name
                         << "' not refit: its weight was rescaled by AWQ or SmoothQuant";
      continue;
    }
    if (name != layerName(teacherLayer) ||
        cast<ShapedType>(layer.getWeight().getType()).getShape() !=
            cast<ShapedType>(teacherLayer.getWeight().getType()).getShape()) {
      layer.emitRemark() << "kiln-distill: layer '" << name
                         << "' not refit: the teacher's layer at its position differs in name "
                            "or shape (channel pruning changes shapes)";
      continue;
    }
    Teaching teaching{&data->inputs[teacherLayer.getOperation()], data->rows(teacherLayer),
                      *decodeWeight(teacherLayer.getWeight()), {}};
    int64_t k = cast<ShapedType>(layer.getWeight().getType()).getShape()[1];
    int64_t n = cast<ShapedType>(layer.getWeight().getType()).getShape()[0];
    teaching.hessian = numerics::gram(teaching.inputs->data(), teaching.rows, k);
    std::vector<float> current = *decodeWeight(layer.getWeight());
    double before = numerics::relativeOutputError(teaching.inputs->data(), teaching.rows,
                                                  teaching.weight.data(), current.data(), n, k);
    Refit refit = refitWeight(layer, teaching, threshold);
    if (!refit.weight) {
      layer.emitRemark() << "kiln-distill: layer '" << name << "' not refit: " << refit.skipped;
      continue;
    }
    std::vector<float> refitValues = *decodeWeight(refit.weight);
    double after = numerics::relativeOutputError(teaching.inputs->data(), teaching.rows,
                                                 teaching.weight.data(), refitValues.data(), n, k);
    if (!(after < before)) {
      eraseDeadProducers(refit.weight.getDefiningOp());
      layer.emitRemark() << "kiln-distill: layer '" << name << "' kept: refitting the "
                         << refit.method << " would not lower the error " << before;
      continue;
    }
    Operation *old = layer.getWeight().getDefiningOp();
    layer.getWeightMutable().assign(refit.weight);
    eraseDeadProducers(old);
    layer.emitRemark() << "kiln-distill: layer '" << name << "': refit the " << refit.method
                       << "; relative output error " << before << " -> " << after;
  }
  return success();
}

struct DistillPass : kiln::impl::DistillBase<DistillPass> {
  using DistillBase::DistillBase;

  void runOnOperation() override {
    auto module = dyn_cast<ModuleOp>(getOperation());
    if (!module || teacher.empty()) {
      getOperation()->emitError() << getArgument()
                                  << ": runs on a module and needs teacher=<uncompressed .mlir>";
      return signalPassFailure();
    }
    OwningOpRef<ModuleOp> teacherModule = parseSourceFile<ModuleOp>(teacher, &getContext());
    if (!teacherModule) {
      module.emitError() << getArgument() << ": cannot read the teacher model '" << teacher << "'";
      return signalPassFailure();
    }
    CalibrationSettings settings{calib, calibSamples, calibSeed};
    if (failed(distillModule(module, *teacherModule, layers, settings, resourceThreshold)))
      signalPassFailure();
  }
};

} // namespace

LogicalResult kiln::distillModule(ModuleOp student, ModuleOp teacher, StringRef layers,
                                  const CalibrationSettings &calibration,
                                  int64_t resourceThreshold) {
  llvm::Regex filter(layers);
  std::string why;
  if (!layers.empty() && !filter.isValid(why))
    return student.emitError() << "kiln-distill: layers pattern '" << layers
                               << "' is not a valid regular expression: " << why;
  for (auto function : student.getOps<func::FuncOp>()) {
    auto teacherFunction = teacher.lookupSymbol<func::FuncOp>(function.getSymName());
    if (!teacherFunction)
      return function.emitError() << "kiln-distill: the teacher has no function @"
                                  << function.getSymName();
    if (failed(distillFunction(function, teacherFunction, filter, !layers.empty(), calibration,
                               resourceThreshold)))
      return failure();
  }
  return success();
}

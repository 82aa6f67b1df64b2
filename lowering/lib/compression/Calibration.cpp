//===- Calibration.cpp - activation statistics for calibrated compression -===//
#include "Calibration.h"
#include "CalibrationElements.h"

#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CalibrationRunner.h"
#include "kiln/Lowering/Progress.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <functional>
#include <random>

using namespace mlir;

MLIR_DEFINE_EXPLICIT_TYPE_ID(kiln::CalibrationRunnerInterface)

const kiln::CalibrationRunnerInterface *kiln::getCalibrationRunner(MLIRContext *context) {
  auto *dialect = context->getLoadedDialect<KilnDialect>();
  return dialect ? dialect->getRegisteredInterface<CalibrationRunnerInterface>() : nullptr;
}

namespace kiln::compression {

int64_t CalibrationData::rows(LinearOp linear) const {
  auto it = inputs.find(linear.getOperation());
  if (it == inputs.end())
    return 0;
  return int64_t(it->second.size()) /
         cast<RankedTensorType>(linear.getInput().getType()).getShape().back();
}

namespace {

using Values = llvm::DenseMap<Value, std::vector<float>>;

/// y = x·Wᵀ + b on row-major buffers.
std::vector<float> evaluateLinear(LinearOp linear, const std::vector<float> &x,
                                  const std::vector<float> &w, const std::vector<float> *bias) {
  auto weightType = cast<ShapedType>(linear.getWeight().getType());
  int64_t n = weightType.getDimSize(0), k = weightType.getDimSize(1);
  int64_t rows = int64_t(x.size()) / k;
  std::vector<float> y(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < n; ++o) {
      double sum = bias ? (*bias)[o] : 0.0;
      for (int64_t i = 0; i < k; ++i)
        sum += double(x[r * k + i]) * w[o * k + i];
      y[r * n + o] = float(sum);
    }
  return y;
}

/// Same-shape binary elementwise arith ops.
std::optional<std::function<float(float, float)>> binaryFunction(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::optional<std::function<float(float, float)>>>(op)
      .Case([](arith::AddFOp) { return [](float a, float b) { return a + b; }; })
      .Case([](arith::SubFOp) { return [](float a, float b) { return a - b; }; })
      .Case([](arith::MulFOp) { return [](float a, float b) { return a * b; }; })
      .Case([](arith::DivFOp) { return [](float a, float b) { return a / b; }; })
      .Case([](arith::MaximumFOp) { return [](float a, float b) { return std::fmax(a, b); }; })
      .Case([](arith::MinimumFOp) { return [](float a, float b) { return std::fmin(a, b); }; })
      .Default([](Operation *) { return std::nullopt; });
}

LogicalResult evaluateOp(Operation *op, Values &values, CalibrationData *data) {
  if (isa<func::ReturnOp, WeightOp, LowRankOp>(op))
    return success(); // weights are decoded where a linear uses them
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    if (auto elements = dyn_cast<ElementsAttr>(constant.getValue()))
      if (FailureOr<std::vector<float>> decoded = getElementsAsFloats(elements); succeeded(decoded)) {
        values[constant.getResult()] = std::move(*decoded);
        return success();
      }
    return success(); // non-tensor constants are not used by what we evaluate
  }
  if (auto linear = dyn_cast<LinearOp>(op)) {
    FailureOr<std::vector<float>> weight = decodeWeight(linear.getWeight());
    if (failed(weight) || !values.count(linear.getInput()))
      return op->emitError() << "calibration: cannot evaluate this kiln.linear's weight or input";
    const std::vector<float> &x = values[linear.getInput()];
    if (data) {
      std::vector<float> &recorded = data->inputs[op];
      recorded.insert(recorded.end(), x.begin(), x.end());
    }
    const std::vector<float> *bias = nullptr;
    if (linear.getBias()) {
      if (!values.count(linear.getBias()))
        return op->emitError() << "calibration: the bias is not a constant";
      bias = &values[linear.getBias()];
    }
    values[linear.getResult()] = evaluateLinear(linear, x, *weight, bias);
    return success();
  }
  if (auto function = binaryFunction(op); function && op->getNumOperands() == 2 &&
                                          op->getOperand(0).getType() == op->getOperand(1).getType()) {
    if (!values.count(op->getOperand(0)) || !values.count(op->getOperand(1)))
      return op->emitError() << "calibration: an operand was not evaluated";
    const std::vector<float> &a = values[op->getOperand(0)], &b = values[op->getOperand(1)];
    std::vector<float> result(a.size());
    for (size_t i = 0; i < a.size(); ++i)
      result[i] = (*function)(a[i], b[i]);
    values[op->getResult(0)] = std::move(result);
    return success();
  }
  if (isa<math::RoundEvenOp>(op) && values.count(op->getOperand(0))) {
    std::vector<float> result = values[op->getOperand(0)];
    for (float &value : result)
      value = std::nearbyint(value); // the default rounding mode: ties to even
    values[op->getResult(0)] = std::move(result);
    return success();
  }
  return op->emitError() << "calibration: the reference evaluator does not support '"
                         << op->getName() << "' (it runs kiln.linear and same-shape "
                         << "elementwise arith ops); pass calibration data through Kiln's "
                         << "compiled model instead";
}

} // namespace

FailureOr<std::vector<std::vector<float>>> evaluateFunction(func::FuncOp func,
                                                           const CalibrationRun &arguments,
                                                           CalibrationData *record) {
  Values values;
  if (arguments.size() != func.getNumArguments())
    return func.emitError() << "calibration: " << arguments.size() << " inputs for "
                            << func.getNumArguments() << " arguments",
           failure();
  for (auto [argument, buffer] : llvm::zip(func.getArguments(), arguments)) {
    auto type = dyn_cast<RankedTensorType>(argument.getType());
    std::optional<ElementKind> kind = argumentElementKind(func, argument.getArgNumber());
    if (!type || !type.hasStaticShape() || !kind ||
        type.getNumElements() * int64_t(elementKindBytes(*kind)) != int64_t(buffer.size()))
      return func.emitError() << "calibration: argument " << argument.getArgNumber()
                              << " needs a static shape and a buffer of as many elements",
             failure();
    values[argument] = elementsAsFloats(buffer, *kind);
  }
  for (Operation &op : func.getBody().front())
    if (failed(evaluateOp(&op, values, record)))
      return failure();
  std::vector<std::vector<float>> outputs;
  for (Value result : func.getBody().front().getTerminator()->getOperands()) {
    if (!values.count(result))
      return func.emitError() << "calibration: a result was not evaluated", failure();
    outputs.push_back(values[result]);
  }
  return outputs;
}

namespace {

/// The reference evaluator over every run (no compiled code available).
FailureOr<CalibrationOutputs> evaluateRuns(func::FuncOp func, ArrayRef<CalibrationRun> runs,
                                           CalibrationData *record) {
  CalibrationOutputs outputs;
  Progress progress("reference evaluation runs", int64_t(runs.size()));
  for (const CalibrationRun &arguments : runs) {
    FailureOr<std::vector<std::vector<float>>> results = evaluateFunction(func, arguments, record);
    if (failed(results))
      return failure();
    outputs.push_back(std::move(*results));
    progress.advance();
  }
  return outputs;
}

} // namespace

FailureOr<CalibrationOutputs> runFunction(func::FuncOp func, ArrayRef<CalibrationRun> runs,
                                          CalibrationData *record) {
  const CalibrationRunnerInterface *runner = getCalibrationRunner(func.getContext());
  if (!runner)
    return evaluateRuns(func, runs, record);
  SmallVector<LinearOp> linears(func.getOps<LinearOp>());
  SmallVector<Value> probes = llvm::map_to_vector(linears, [](LinearOp linear) -> Value {
    return linear.getInput();
  });
  std::vector<std::vector<float>> probeValues(probes.size());
  llvm::Expected<CalibrationOutputs> outputs =
      runner->run(func, record ? ArrayRef<Value>(probes) : ArrayRef<Value>(), runs, probeValues);
  if (!outputs)
    return emitError(func.getLoc()) << "calibration through " << runner->describe() << " failed: "
                            << llvm::toString(outputs.takeError()),
           failure();
  if (record)
    for (auto [linear, values] : llvm::zip(linears, probeValues)) {
      std::vector<float> &recorded = record->inputs[linear.getOperation()];
      recorded.insert(recorded.end(), values.begin(), values.end());
    }
  return std::move(*outputs);
}

FailureOr<CalibrationData> collectCalibration(func::FuncOp func, ArrayRef<CalibrationRun> runs) {
  CalibrationData data;
  if (failed(runFunction(func, runs, &data)))
    return failure();
  return data;
}

std::vector<CalibrationRun> syntheticRuns(func::FuncOp func, int64_t count, unsigned seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<CalibrationRun> runs(static_cast<size_t>(count));
  for (CalibrationRun &arguments : runs)
    for (BlockArgument argument : func.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(argument.getType());
      std::optional<ElementKind> kind = argumentElementKind(func, argument.getArgNumber());
      bool drawn = type && type.hasStaticShape() && kind && isFloatKind(*kind);
      std::vector<float> values(drawn ? size_t(type.getNumElements()) : 0);
      for (float &value : values)
        value = normal(engine);
      arguments.push_back(drawn ? floatsAsElements(values, *kind) : CalibrationBuffer());
    }
  return runs;
}

FailureOr<llvm::DenseMap<Operation *, CalibrationData>>
calibrateFunctionsOf(ArrayRef<LinearOp> layers, const CalibrationSettings &source) {
  llvm::DenseMap<Operation *, CalibrationData> calibration;
  for (LinearOp linear : layers) {
    auto func = linear->getParentOfType<func::FuncOp>();
    if (!func || calibration.count(func))
      continue;
    auto runs = calibrationRuns(func, source);
    if (!runs)
      return emitError(func.getLoc()) << llvm::toString(runs.takeError()), failure();
    FailureOr<CalibrationData> data = collectCalibration(func, *runs);
    if (failed(data))
      return failure();
    calibration[func] = std::move(*data);
  }
  return calibration;
}

LogicalResult forEachCalibratedLayer(
    Operation *root, StringRef pattern, StringRef passName, const CalibrationSettings &settings,
    bool lastFirst, function_ref<LogicalResult(LinearOp, DenseWeight &, CalibrationData &)> rewrite) {
  FailureOr<SmallVector<LinearOp>> selected = selectLayers(root, pattern, passName);
  if (failed(selected))
    return failure();
  auto calibration = calibrateFunctionsOf(*selected, settings);
  if (failed(calibration))
    return failure();
  if (lastFirst)
    std::reverse(selected->begin(), selected->end());
  Progress progress((passName + " layers").str(), int64_t(selected->size()));
  for (LinearOp linear : *selected) {
    if (std::optional<DenseWeight> weight = getDenseWeight(linear))
      if (failed(rewrite(linear, *weight, (*calibration)[linear->getParentOfType<func::FuncOp>()])))
        return failure();
    progress.advance();
  }
  return success();
}

} // namespace kiln::compression

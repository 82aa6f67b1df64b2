//===- CalibrationRunner.h - run a model on calibration inputs -----------===//
//
// The compression passes need what every layer sees on calibration data.
// They get it by running the uncompressed model through compiled code: a
// tool that links a code generator attaches a CalibrationRunnerInterface to
// the kiln dialect (kilnc and kiln-opt attach the host target's, see
// compiler/calibration). Lowering itself never depends on a target.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LOWERING_CALIBRATIONRUNNER_H
#define KILN_LOWERING_CALIBRATIONRUNNER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectInterface.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace kiln {

/// One calibration input: the row-major elements of a function argument's
/// static shape in the argument's own element type (token ids as int64,
/// bool as one byte 0 or 1, ...), as raw little-endian bytes.
using CalibrationBuffer = std::vector<uint8_t>;

/// One buffer per function argument.
using CalibrationRun = std::vector<CalibrationBuffer>;

/// Each run's results, one row-major f32 buffer per function result.
using CalibrationOutputs = std::vector<std::vector<std::vector<float>>>;

class CalibrationRunnerInterface
    : public mlir::DialectInterface::Base<CalibrationRunnerInterface> {
public:
  explicit CalibrationRunnerInterface(mlir::Dialect *dialect) : Base(dialect) {}

  /// A short name for reports ("compiled host code").
  virtual llvm::StringRef describe() const = 0;

  /// Runs `func` (in a module, with static argument shapes) once per entry
  /// of `runs`. Returns each run's results and appends the elements of each
  /// of `probes` (values of `func`: arguments or op results) to
  /// `probeValues[i]`, run after run. `func` is not modified.
  virtual llvm::Expected<CalibrationOutputs>
  run(mlir::func::FuncOp func, llvm::ArrayRef<mlir::Value> probes,
      llvm::ArrayRef<CalibrationRun> runs,
      std::vector<std::vector<float>> &probeValues) const = 0;
};

/// The runner attached to `context`'s kiln dialect, or null.
const CalibrationRunnerInterface *getCalibrationRunner(mlir::MLIRContext *context);

} // namespace kiln

MLIR_DECLARE_EXPLICIT_TYPE_ID(kiln::CalibrationRunnerInterface)

#endif // KILN_LOWERING_CALIBRATIONRUNNER_H

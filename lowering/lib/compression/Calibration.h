//===- Calibration.h - activation statistics for calibrated compression --===//
//
// The inputs each kiln.linear sees on calibration data, collected with a
// small reference evaluator of kiln.linear and elementwise arith ops on
// constants (until Kiln's own compiled host code can run the model).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LOWERING_COMPRESSION_CALIBRATION_H
#define KILN_LOWERING_COMPRESSION_CALIBRATION_H

#include "kiln/Dialect/KilnDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"

#include <vector>

namespace kiln::compression {

/// Per kiln.linear: X [rows, K], every input row it saw, in order.
struct CalibrationData {
  llvm::DenseMap<mlir::Operation *, std::vector<float>> inputs;
  /// Rows of X for `linear` (0 when it never ran).
  int64_t rows(LinearOp linear) const;
};

/// Runs `func` on one set of arguments (row-major buffers of the arguments'
/// static shapes) and returns its results; records the linears' inputs in
/// `record` when given. Fails with an error naming the first op it cannot
/// evaluate (it runs kiln.linear, elementwise arith ops and math.roundeven).
mlir::FailureOr<std::vector<std::vector<float>>>
evaluateFunction(mlir::func::FuncOp func, const std::vector<std::vector<float>> &arguments,
                 CalibrationData *record = nullptr);

/// Runs `func` once per entry of `runs` (one row-major buffer per function
/// argument, of the argument's static shape) and records the linears'
/// inputs. Fails with an error naming the first op it cannot evaluate.
mlir::FailureOr<CalibrationData>
collectCalibration(mlir::func::FuncOp func,
                   const std::vector<std::vector<std::vector<float>>> &runs);

/// Calibration data of every function that holds one of `layers`, from
/// `samples` synthetic runs drawn from `seed`, keyed by the function.
mlir::FailureOr<llvm::DenseMap<mlir::Operation *, CalibrationData>>
calibrateFunctionsOf(llvm::ArrayRef<LinearOp> layers, int64_t samples, unsigned seed);

/// `count` runs of standard-normal arguments drawn from `seed`.
std::vector<std::vector<std::vector<float>>> syntheticRuns(mlir::func::FuncOp func,
                                                           int64_t count, unsigned seed);

} // namespace kiln::compression

#endif // KILN_LOWERING_COMPRESSION_CALIBRATION_H

//===- Calibration.h - activation statistics for calibrated compression --===//
//
// The inputs each kiln.linear sees on calibration data, collected by running
// the model through the CalibrationRunnerInterface attached to the kiln
// dialect (Kiln's compiled host code in kilnc and kiln-opt); a small
// reference evaluator of kiln.linear and elementwise arith ops stands in
// where no runner is attached (lowering-only tools, and as a test oracle).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LOWERING_COMPRESSION_CALIBRATION_H
#define KILN_LOWERING_COMPRESSION_CALIBRATION_H

#include "CompressionUtils.h"

#include "kiln/Dialect/KilnDialect.h"
#include "kiln/Lowering/CalibrationRunner.h"
#include "kiln/Lowering/CompressionPasses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace kiln::compression {

/// Per kiln.linear: X [rows, K], every input row it saw, in order.
struct CalibrationData {
  llvm::DenseMap<mlir::Operation *, std::vector<float>> inputs;
  /// Rows of X for `linear` (0 when it never ran).
  int64_t rows(LinearOp linear) const;
};

/// Runs `func` on one set of arguments (row-major buffers of the arguments'
/// static shapes, read as floats) and returns its results; records the
/// linears' inputs in `record` when given. Fails with an error naming the
/// first op it cannot evaluate (it runs kiln.linear, elementwise arith ops
/// and math.roundeven).
mlir::FailureOr<std::vector<std::vector<float>>>
evaluateFunction(mlir::func::FuncOp func, const CalibrationRun &arguments,
                 CalibrationData *record = nullptr);

/// Runs `func` once per entry of `runs` through the attached runner (the
/// reference evaluator without one); returns each run's results and records
/// the linears' inputs in `record` when given. Errors are emitted on `func`.
mlir::FailureOr<CalibrationOutputs> runFunction(mlir::func::FuncOp func,
                                                llvm::ArrayRef<CalibrationRun> runs,
                                                CalibrationData *record);

/// The linears' inputs over all `runs` (see runFunction).
mlir::FailureOr<CalibrationData> collectCalibration(mlir::func::FuncOp func,
                                                    llvm::ArrayRef<CalibrationRun> runs);

/// Runs from `path`: an .npz (numpy.savez), one .npy or ONNX TensorProto
/// .pb, or a folder of .npy / .pb files (and of ONNX test_data_set_N
/// folders), with one array per function argument, named after the
/// argument's `kiln.name` (or "arg<i>"; a lone array fits a lone input).
/// An array of shape [N, shape...] gives N runs; one whose first dimension
/// is a multiple of the input's gives that many batches. Each array is fed
/// in its input's element type (see convertElements). Errors name the
/// file, the input, the expected and the found shapes or element types.
llvm::Expected<std::vector<CalibrationRun>> loadCalibrationRuns(mlir::func::FuncOp func,
                                                                llvm::StringRef path);
/// The runs of `source.path`, or `source.samples` synthetic runs when it is
/// empty. Fails, naming the input, on inputs that calibration cannot feed:
/// symbolic dimensions (pin them with --dim) and, for synthetic runs,
/// integer or bool inputs (token ids need real data: --calib).
llvm::Expected<std::vector<CalibrationRun>> calibrationRuns(mlir::func::FuncOp func,
                                                            const CalibrationSettings &source);

/// Calibration data of every function that holds one of `layers`, keyed by
/// the function. Errors are emitted on the function.
mlir::FailureOr<llvm::DenseMap<mlir::Operation *, CalibrationData>>
calibrateFunctionsOf(llvm::ArrayRef<LinearOp> layers, const CalibrationSettings &source);

/// Calls `rewrite` on every layer selected by `pattern` whose weight is a
/// dense constant, with the calibration data of its function (collected on
/// the uncompressed model before any rewrite); last to first when
/// `lastFirst`. Fails on a bad pattern or unusable calibration inputs.
mlir::LogicalResult forEachCalibratedLayer(
    mlir::Operation *root, llvm::StringRef pattern, llvm::StringRef passName,
    const CalibrationSettings &settings, bool lastFirst,
    llvm::function_ref<mlir::LogicalResult(LinearOp, DenseWeight &, CalibrationData &)> rewrite);

/// `count` runs of standard-normal arguments drawn from `seed`, in each
/// argument's float type (arguments that are not floats get no values:
/// calibrationRuns refuses those functions).
std::vector<CalibrationRun> syntheticRuns(mlir::func::FuncOp func, int64_t count,
                                          unsigned seed);

} // namespace kiln::compression

#endif // KILN_LOWERING_COMPRESSION_CALIBRATION_H

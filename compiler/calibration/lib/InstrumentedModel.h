//===- InstrumentedModel.h - a model that also returns what layers see ---===//
#ifndef KILN_CALIBRATION_LIB_INSTRUMENTEDMODEL_H
#define KILN_CALIBRATION_LIB_INSTRUMENTEDMODEL_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace kiln::calibration {

/// A copy of a function's module for the host target: the function as the
/// only @main, taking its inputs as they are (any element type) and
/// returning its results and then every probe, all as f32.
struct InstrumentedModel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<mlir::RankedTensorType> inputs, outputs;
  size_t numResults = 0;
};

/// Fails, naming the input or result, on an input of dynamic shape or a
/// result that is not a static tensor of numbers.
llvm::Expected<InstrumentedModel> instrumentForCalibration(mlir::func::FuncOp func,
                                                           llvm::ArrayRef<mlir::Value> probes);

} // namespace kiln::calibration

#endif // KILN_CALIBRATION_LIB_INSTRUMENTEDMODEL_H

//===- CompressionPasses.h - weight compression passes -------------------===//
#ifndef KILN_LOWERING_COMPRESSIONPASSES_H
#define KILN_LOWERING_COMPRESSIONPASSES_H

#include "kiln/Dialect/KilnDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Lowering/CompressionPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Lowering/CompressionPasses.h.inc"

/// Where calibration inputs come from: `path` (an .npz, .npy or ONNX
/// TensorProto .pb, or a folder of them, see docs/compression.md), or `samples` synthetic standard-normal
/// runs drawn from `seed` when `path` is empty.
struct CalibrationSettings {
  std::string path;
  int64_t samples = 64;
  unsigned seed = 0;
};

/// Distills every compressed kiln.linear of `student` (selected by the
/// `layers` regex) against the same-named layer of the uncompressed
/// `teacher` (see kiln-distill). Emits a remark per layer.
mlir::LogicalResult distillModule(mlir::ModuleOp student, mlir::ModuleOp teacher,
                                  llvm::StringRef layers, const CalibrationSettings &calibration,
                                  int64_t resourceThreshold);

/// Compares the compressed `student` with the uncompressed `teacher` on the
/// calibration inputs: per layer the encoding, bytes before and after and
/// the relative output error on the teacher's layer inputs; for the model
/// the size ratio of the linear weights and the end-to-end relative L2,
/// cosine similarity and top-1 agreement. Prints a table to `table` and
/// writes JSON to `jsonPath` (when not empty).
mlir::LogicalResult writeCompressionReport(mlir::ModuleOp teacher, mlir::ModuleOp student,
                                           const CalibrationSettings &calibration,
                                           llvm::StringRef jsonPath, llvm::raw_ostream &table);

/// Adds the stages of the JSON recipe at `path` to `pm` (format in
/// docs/compression.md); errors name the file, the stage and the reason.
/// Calibrated stages (gptq, awq, smoothquant) without their own "calib"
/// option read `calibPath` when it is not empty.
llvm::Error addRecipePasses(mlir::OpPassManager &pm, llvm::StringRef path,
                            llvm::StringRef calibPath = "");

} // namespace kiln

#endif // KILN_LOWERING_COMPRESSIONPASSES_H

//===- HostPasses.td - passes of the x86-64 host target ----*- tablegen -*-===//
#ifndef KILN_LOWERING_HOSTPASSES_TD
#define KILN_LOWERING_HOSTPASSES_TD

include "mlir/Pass/PassBase.td"

def HostPrepareEntry : Pass<"kiln-host-prepare-entry", "::mlir::ModuleOp"> {
  let summary = "Checks @main against the host C ABI and prepares it for lowering";
  let description = [{
    Verifies that the module has exactly one public `func.func @main` whose
    arguments and results are ranked tensors of supported element types and
    rank, renames it to `kiln_model_entry`, marks every argument read-only
    for bufferization (the C API hands in the caller's buffers, which must
    never be written) and requests the C interface wrapper that the
    generated invoke shim calls.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def LowerLinearToLinalg : Pass<"kiln-lower-linear-to-linalg"> {
  let summary = "Lowers kiln.linear with a dense weight to linalg";
  let description = [{
    `y = x · Wᵀ + b` becomes a `linalg.generic` contraction over
    (batch..., n, k) whose W operand is read through the transposed
    indexing map (n, k) (no transposed copy), accumulating into the bias
    broadcast along the output rows (or zeros). Compressed weights must be
    decoded first (kiln-host-decode-weights-in-kernel or
    kiln-expand-compressed-weights).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // KILN_LOWERING_HOSTPASSES_TD

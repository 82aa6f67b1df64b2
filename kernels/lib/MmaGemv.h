//===- MmaGemv.h - tensor-core GEMV for small batches (internal) ----------===//
#ifndef KILN_KERNELS_LIB_MMAGEMV_H
#define KILN_KERNELS_LIB_MMAGEMV_H

#include "kiln/Kernels/Gemv.h"

namespace kiln::kernels {

/// Checks the MmaSync-specific constraints and fills their defaults; the
/// shape checks common to both methods have already passed.
llvm::Expected<GemvSpec> resolveMmaGemvSpec(GemvSpec spec);

/// Fills the body of `func`, whose signature buildGemvKernel made.
void emitMmaGemvBody(mlir::OpBuilder &builder, mlir::Location loc,
                     const GemvSpec &spec, mlir::gpu::GPUFuncOp func);

} // namespace kiln::kernels

#endif // KILN_KERNELS_LIB_MMAGEMV_H

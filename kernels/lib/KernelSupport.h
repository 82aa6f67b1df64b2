//===- KernelSupport.h - pieces shared by the kernel generators ------------===//
//
// Typed views of the dynamic shared memory (GemmCommon.h declares the
// module's array) and warp-wide reductions through shuffles.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_LIB_KERNELSUPPORT_H
#define KILN_KERNELS_LIB_KERNELSUPPORT_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace kiln::kernels {

constexpr int64_t kWarpLanes = 32;

/// The block's dynamic shared memory as a memref<?xi8> in workgroup space.
mlir::Value dynamicSharedBytes(mlir::OpBuilder &b, mlir::Location loc);

/// A typed view of the dynamic shared memory `dynamic` at `byteOffset`.
mlir::Value sharedView(mlir::OpBuilder &b, mlir::Location loc, mlir::Value dynamic,
                       int64_t byteOffset, llvm::ArrayRef<int64_t> shape, mlir::Type element);

/// Combines `value` over the 32 lanes of the warp (butterfly shuffles):
/// every lane gets the result.
mlir::Value warpReduce(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                       llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> combine);

} // namespace kiln::kernels

#endif // KILN_KERNELS_LIB_KERNELSUPPORT_H

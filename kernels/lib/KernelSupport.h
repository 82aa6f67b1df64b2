//===- KernelSupport.h - pieces shared by the kernel generators ------------===//
//
// Dynamic shared memory (the module's extern array and typed views of it)
// and warp-wide reductions through shuffles.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_LIB_KERNELSUPPORT_H
#define KILN_KERNELS_LIB_KERNELSUPPORT_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace kiln::kernels {

constexpr int64_t kWarpLanes = 32;

/// Declares the module's external `kiln_dynamic_shared` array (once), which
/// the lowering of gpu.dynamic_shared_memory addresses.
void declareDynamicShared(mlir::OpBuilder &builder, mlir::gpu::GPUModuleOp module);

/// The block's dynamic shared memory as a memref<?xi8> in workgroup space.
mlir::Value dynamicSharedBytes(mlir::OpBuilder &b, mlir::Location loc);

/// A typed view of the dynamic shared memory `dynamic` at `byteOffset`.
mlir::Value sharedView(mlir::OpBuilder &b, mlir::Location loc, mlir::Value dynamic,
                       int64_t byteOffset, llvm::ArrayRef<int64_t> shape, mlir::Type element);

/// Appends an empty kernel `name(args)` to `module` for blocks of `blockX`
/// threads, every parameter `llvm.noalias` (distinct buffers; the inputs
/// are read-only, which lets the backend use the non-coherent load path).
/// The builder's insertion point is left unchanged.
mlir::gpu::GPUFuncOp createKernelFunc(mlir::OpBuilder &builder, mlir::gpu::GPUModuleOp module,
                                      llvm::StringRef name, llvm::ArrayRef<mlir::Type> args,
                                      int64_t blockX);

/// Combines `value` over the 32 lanes of the warp (butterfly shuffles):
/// every lane gets the result.
mlir::Value warpReduce(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                       llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> combine);

} // namespace kiln::kernels

#endif // KILN_KERNELS_LIB_KERNELSUPPORT_H

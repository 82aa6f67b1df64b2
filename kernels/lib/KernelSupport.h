//===- KernelSupport.h - pieces shared by the kernel generators ------------===//
//
// Typed views of the dynamic shared memory (GemmCommon.h declares the
// module's array), warp-wide reductions through shuffles, arithmetic
// shorthands.
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

/// Shorthands for the index and f32 arithmetic kernel emitters write, at
/// the emitter's builder and location.
class ArithShorthands {
protected:
  ArithShorthands(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::Value index(int64_t v);
  mlir::Value f32(float v);
  mlir::Value add(mlir::Value l, mlir::Value r);
  mlir::Value mul(mlir::Value l, int64_t r);
  mlir::Value divu(mlir::Value l, int64_t r);
  mlir::Value remu(mlir::Value l, int64_t r);
  mlir::Value minu(mlir::Value l, int64_t r);
  mlir::Value ult(mlir::Value l, mlir::Value r);
  mlir::Value ult(mlir::Value l, int64_t r);
  mlir::Value addf(mlir::Value l, mlir::Value r);
  mlir::Value mulf(mlir::Value l, mlir::Value r);

  mlir::OpBuilder &b;
  mlir::Location loc;
};

} // namespace kiln::kernels

#endif // KILN_KERNELS_LIB_KERNELSUPPORT_H

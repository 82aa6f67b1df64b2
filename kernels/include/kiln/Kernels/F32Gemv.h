//===- F32Gemv.h - exact f32 GEMV for decode batches -----------------------===//
//
// Builds one gpu.func that computes y[M, N] = x[M, K] · W[N, K]ᵀ (+ bias[N])
// for small M (1..8) in f32 throughout (f32 FMA and accumulation, no TF32 or
// f16). Each warp owns rowsPerWarp output columns n: its lanes stream W's rows
// in coalesced 16-byte vectors (chunksInFlight per lane before using any),
// multiply them with every row of x, and finish with a shuffle reduction.
//
// Kernel ABI (bare device pointers, in this order; row-major, contiguous,
// 16-byte aligned; K % 4 == 0):
//   x    [M, K/4] of vector<4xf32>
//   w    [N, K/4] of vector<4xf32>
//   bias [N]      f32   only when spec.bias
//   y    [M, N]   f32   written completely, nothing else written
// Launch: grid (gridX, 1, 1), block (blockX, 1, 1), no shared memory.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_F32GEMV_H
#define KILN_KERNELS_F32GEMV_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace kiln::kernels {

/// The largest M the f32 GEMV takes.
constexpr int64_t kF32GemvMaxM = 8;

struct F32GemvSpec {
  int64_t m = 1, n = 0, k = 0;
  bool bias = false;
  /// Output columns per warp, warps per block, 16-byte W chunks each lane
  /// loads per row before using them; 0 picks a default.
  int64_t rowsPerWarp = 0, warpsPerBlock = 0, chunksInFlight = 0;
};

/// Checks the shape (M <= 8, K % 4 == 0, limits, overflow) and fills the
/// defaults.
llvm::Expected<F32GemvSpec> resolveF32GemvSpec(F32GemvSpec spec);

/// A stable kernel symbol, such as sgemv_f32_m1_n4096_k4096_r1w4u4.
std::string f32GemvKernelName(const F32GemvSpec &spec);

struct F32GemvLaunchShape {
  int64_t gridX = 0;
  int64_t blockX = 0;
};
F32GemvLaunchShape f32GemvLaunchShape(const F32GemvSpec &spec);

/// Appends the kernel for a resolved spec to `module`.
mlir::gpu::GPUFuncOp buildF32GemvKernel(mlir::OpBuilder &builder, mlir::gpu::GPUModuleOp module,
                                        const F32GemvSpec &spec);

} // namespace kiln::kernels

#endif // KILN_KERNELS_F32GEMV_H

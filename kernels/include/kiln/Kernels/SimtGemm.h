//===- SimtGemm.h - exact f32 GEMM on CUDA cores ---------------------------===//
//
// Builds one gpu.func that computes
//   y[M, N] = x[M, K] · W[N, K]ᵀ (+ bias[N])
// in f32 throughout: f32 loads, f32 FMA, f32 accumulation, f32 stores (no
// TF32, no f16 rounding), so results stay as exact as the host target's.
// Register-tiled SIMT: a block stages blockK-deep tiles of x and W in shared
// memory (transposed, double-buffered, the next tile prefetched into
// registers while the current one is multiplied) and every thread computes a
// threadM x threadN micro-tile from 16-byte shared-memory vectors. Any M, N,
// K: rows past M / N and the K tail are zero-filled on load and not stored.
//
// Kernel ABI (bare device pointers, in this order; row-major, contiguous,
// 16-byte aligned):
//   x    [M, K] f32   (viewed as [M, K/4] of vector<4xf32> when K % 4 == 0)
//   w    [N, K] f32   (likewise)
//   bias [N]    f32   only when spec.bias
//   y    [M, N] f32   (as [M, N/4] of vector<4xf32> when N % 4 == 0); written
//                     completely, nothing else written
// Launch: grid (gridX, gridY, 1), block (blockX, 1, 1), dynamicSharedBytes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_SIMTGEMM_H
#define KILN_KERNELS_SIMTGEMM_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace kiln::kernels {

struct SimtGemmSpec {
  int64_t m = 0, n = 0, k = 0;
  /// Adds bias[N] (f32) before the store.
  bool bias = false;
  /// Block tile (blockM x blockN outputs, blockK deep per shared-memory
  /// stage) and outputs per thread (threadM x threadN, each 4 or 8).
  /// 0 picks a default suited to M.
  int64_t blockM = 0, blockN = 0, blockK = 0;
  int64_t threadM = 0, threadN = 0;
};

/// Checks the tiling (divisibility, thread count, overflow) and fills the
/// defaults. M, N and K need not divide the tile.
llvm::Expected<SimtGemmSpec> resolveSimtGemmSpec(SimtGemmSpec spec);

/// A stable kernel symbol naming the shape and tiling, such as
/// sgemm_f32_m512_n1024_k1024_b128x128x8t8x8_bias.
std::string simtGemmKernelName(const SimtGemmSpec &spec);

struct SimtGemmLaunchShape {
  int64_t gridX = 0; // N tiles (blocks pick their tile in L2-friendly order)
  int64_t gridY = 0; // M tiles
  int64_t blockX = 0;
  int64_t dynamicSharedBytes = 0;
};
SimtGemmLaunchShape simtGemmLaunchShape(const SimtGemmSpec &spec);

/// Appends the kernel for a resolved spec to `module`.
mlir::gpu::GPUFuncOp buildSimtGemmKernel(mlir::OpBuilder &builder,
                                         mlir::gpu::GPUModuleOp module,
                                         const SimtGemmSpec &spec);

} // namespace kiln::kernels

#endif // KILN_KERNELS_SIMTGEMM_H

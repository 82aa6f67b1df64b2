//===- Gemm.h - tensor-core GEMM generator with weight dequantization -----===//
//
// Builds one gpu.func that computes
//   y[M, N] = x[M, K] · dequant(W)[N, K]ᵀ (+ bias[N])
// with f16 activations, f32 accumulation and f16 output, on tensor cores
// (mma.sync m16n8k16 fed by ldmatrix from shared memory). Tiles of x and W
// stream into a multi-stage shared-memory ring with cp.async; int8/int4
// weights are copied raw and dequantized shared -> registers -> shared inside
// the block (never written back to global memory). For any M >= 1 (rows past
// M are zero-filled on load and not stored), meant for M > 16 (Gemv.h is
// faster below).
//
// Kernel ABI (parameters are bare device pointers, in this order; all
// row-major, contiguous, 16-byte aligned):
//   x      [M, K]              f16
//   w      [N, K·bits/8] bytes f16 / si8 / kiln-packed si4 (the kiln.weight
//                               payload: little-endian, low nibble first)
//   scales [N, K/groupSize]    f16   int8/int4 only; symmetric, no zero point
//   bias   [N]                 f16   only when spec.bias
//   y      [M, N]              f16   written completely; nothing else written
// Launch: grid (gridX, gridY, 1), block (blockX, 1, 1) and
// dynamicSharedBytes of dynamic shared memory; above 48 KiB the loader must
// first raise CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES to that value.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_GEMM_H
#define KILN_KERNELS_GEMM_H

#include "kiln/Kernels/Gemv.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace kiln::kernels {

struct GemmSpec {
  WeightFormat format = WeightFormat::F16;
  int64_t m = 0, n = 0, k = 0;
  /// Weights per scale along K (int8/int4); 0 means one scale per row.
  int64_t groupSize = 128;
  /// Adds bias[N] (f16, accumulated in f32) before the f16 store.
  bool bias = false;
  /// Block tile (blockM x blockN outputs, blockK deep per pipeline stage),
  /// warps per block as warpsM x warpsN, and shared-memory stages.
  /// 0 picks a default suited to M and N.
  int64_t blockM = 0, blockN = 0, blockK = 0;
  int64_t warpsM = 0, warpsN = 0;
  int64_t stages = 0;
};

/// Checks the shapes (divisibility of N and K by the tile, group size,
/// limits, overflow, shared-memory budget) and fills the defaults. M need
/// not divide the tile.
llvm::Expected<GemmSpec> resolveGemmSpec(GemmSpec spec);

/// A stable kernel symbol naming the shape and tiling, such as
/// gemm_int4_g128_m2048_n4096_k4096_b128x128x32w2x4s4.
std::string gemmKernelName(const GemmSpec &spec);

struct GemmLaunchShape {
  int64_t gridX = 0; // N tiles (blocks pick their tile in L2-friendly order)
  int64_t gridY = 0; // M tiles
  int64_t blockX = 0;
  int64_t dynamicSharedBytes = 0;
};
/// Grid, block and dynamic shared memory for a resolved spec.
GemmLaunchShape gemmLaunchShape(const GemmSpec &spec);

/// Appends the kernel for a resolved spec to `module`.
mlir::gpu::GPUFuncOp buildGemmKernel(mlir::OpBuilder &builder,
                                     mlir::gpu::GPUModuleOp module,
                                     const GemmSpec &spec);

} // namespace kiln::kernels

#endif // KILN_KERNELS_GEMM_H

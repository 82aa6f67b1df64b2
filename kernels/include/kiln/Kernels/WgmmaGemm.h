//===- WgmmaGemm.h - Hopper GEMM: TMA loads, warpgroup MMA (sm_90a) -------===//
//
// Builds one gpu.func for sm_90a only that computes
//   y[M, N] = x[M, K] · W[N, K]ᵀ (+ bias[N])
// with f16 inputs, f32 accumulation and f16 output. A producer warp streams
// 64-deep K tiles of x and W into a ring of 128B-swizzled shared-memory
// stages with TMA (cp.async.bulk.tensor), each stage guarded by a "full" and
// an "empty" mbarrier; 1 or 2 consumer warpgroups multiply them with
// wgmma.mma_async m64nNk16 straight from shared memory (no ldmatrix) and
// write f16 (+ bias) from their registers. For any M >= 1: TMA zero-fills
// rows past M and they are not stored. Meant for large M (Gemm.h's mma.sync
// GEMM also runs on sm_80; Gemv.h is for M <= 16).
//
// Kernel ABI (parameters in this order):
//   xMap   device pointer to a 128-byte CUtensorMap of x [M, K] f16
//   wMap   device pointer to a 128-byte CUtensorMap of W [N, K] f16
//   bias   [N] f16, bare device pointer, only when spec.bias
//   y      [M, N] f16, bare device pointer, row-major; written completely
// Both maps are made on the host with cuTensorMapEncodeTiled: data type
// FLOAT16, rank 2, globalDim {K, rows}, globalStrides {K * 2} bytes, box
// {64, boxRows} (wgmmaTensorMapBoxRows: block M for x, block N for W),
// elementStrides {1, 1}, INTERLEAVE_NONE, SWIZZLE_128B, any L2 promotion,
// FLOAT_OOB_FILL_NONE (rows past M read as zeros); then copied to device
// memory (64-byte aligned) and left unchanged while kernels that use them
// run. x, W and y are 16-byte aligned and contiguous.
// Launch: grid (gridX, gridY, 1), block (blockX, 1, 1), dynamicSharedBytes of
// dynamic shared memory (the loader raises
// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES to it first).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_WGMMAGEMM_H
#define KILN_KERNELS_WGMMAGEMM_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace kiln::kernels {

struct WgmmaGemmSpec {
  int64_t m = 0, n = 0, k = 0;
  /// Adds bias[N] (f16, accumulated in f32) before the f16 store.
  bool bias = false;
  /// Block tile: blockM = 64 x consumer warpgroups (64 or 128), blockN a
  /// multiple of 64 up to 256 (one wgmma m64nNk16 per warpgroup and K step);
  /// stages of the TMA ring. 0 picks a default suited to M and N.
  int64_t blockM = 0, blockN = 0;
  int64_t stages = 0;
};

/// K per pipeline stage: one 128-byte swizzle row of f16.
constexpr int64_t kWgmmaBlockK = 64;

/// wgmma and TMA exist on sm_90a only (not sm_80, nor plain sm_90, whose
/// PTX may not use wgmma): an error that says so for any other arch.
llvm::Error checkWgmmaArch(llvm::StringRef arch);

/// Checks the shapes (N and K divisible by the tile, limits, overflow,
/// shared-memory budget) and fills the defaults.
llvm::Expected<WgmmaGemmSpec> resolveWgmmaGemmSpec(WgmmaGemmSpec spec);

/// A stable symbol such as wgmma_f16_m2048_n4096_k4096_b128x256x64s4.
std::string wgmmaGemmKernelName(const WgmmaGemmSpec &spec);

struct WgmmaLaunchShape {
  int64_t gridX = 0; // N tiles (blocks pick their tile in L2-friendly order)
  int64_t gridY = 0; // M tiles
  int64_t blockX = 0;
  int64_t dynamicSharedBytes = 0;
};
WgmmaLaunchShape wgmmaGemmLaunchShape(const WgmmaGemmSpec &spec);

/// Rows of the TMA box of x (isWeight false) or W (true).
int64_t wgmmaTensorMapBoxRows(const WgmmaGemmSpec &spec, bool isWeight);

/// Appends the kernel for a resolved spec to `module`.
mlir::gpu::GPUFuncOp buildWgmmaGemmKernel(mlir::OpBuilder &builder,
                                          mlir::gpu::GPUModuleOp module,
                                          const WgmmaGemmSpec &spec);

} // namespace kiln::kernels

#endif // KILN_KERNELS_WGMMAGEMM_H

//===- WgmmaGemm.h - Hopper GEMM: TMA loads, warpgroup MMA (sm_90a) -------===//
//
// Builds one gpu.func for sm_90a only that computes
//   y[M, N] = x[M, K] · dequant(W)[N, K]ᵀ (+ bias[N])
// with f16 activations, f32 accumulation and f16 output. A producer warp
// streams 64-deep K tiles of x and W into a ring of shared-memory stages
// with TMA (cp.async.bulk.tensor), each stage guarded by a "full" and an
// "empty" mbarrier; 1 or 2 consumer warpgroups multiply them with
// wgmma.mma_async m64nNk16 straight from 128B-swizzled shared memory (no
// ldmatrix) and write f16 (+ bias) from their registers. f16 weights go
// from TMA to wgmma untouched; int8/int4 weight tiles arrive raw and the
// consumers dequantize them (scale applied in f16) into one of three
// swizzled f16 tiles while the previous tile's wgmma runs: dequantized
// weights never leave shared memory. For any M >= 1: TMA zero-fills rows
// past M and they are not stored. Meant for large M (Gemm.h's mma.sync GEMM
// also runs on sm_80; Gemv.h is for M <= 16).
//
// Kernel ABI (parameters in this order):
//   xMap   device pointer to a 128-byte CUtensorMap of x [M, K] f16
//   wMap   device pointer to a 128-byte CUtensorMap of W: f16 [N, K], or
//          for int8/int4 the raw kiln.weight payload as bytes
//          [N, K * bits / 8] (int4: little-endian, low nibble first)
//   scales [N, K / groupSize] f16, bare device pointer, int8/int4 only
//   bias   [N] f16, bare device pointer, only when spec.bias
//   y      [M, N] f16, bare device pointer, row-major; written completely
// Both maps are made on the host with cuTensorMapEncodeTiled: rank 2,
// globalDim {cols, rows}, globalStrides {row bytes}, box {boxCols, boxRows},
// elementStrides {1, 1}, INTERLEAVE_NONE, any L2 promotion,
// FLOAT_OOB_FILL_NONE (rows past M read as zeros), with (see
// wgmmaTensorMapBox): x and f16 W: FLOAT16, cols K, box {64, block M or N},
// SWIZZLE_128B; int8/int4 W: UINT8, cols K * bits / 8 bytes, box
// {64 * bits / 8, block N}, SWIZZLE_NONE. They are copied to device memory
// (64-byte aligned) and left unchanged while kernels that use them run.
// x, W and y are 16-byte aligned and contiguous.
// Launch: grid (gridX, gridY, 1), block (blockX, 1, 1), dynamicSharedBytes of
// dynamic shared memory (the loader raises
// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES to it first).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_WGMMAGEMM_H
#define KILN_KERNELS_WGMMAGEMM_H

#include "kiln/Kernels/Gemv.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace kiln::kernels {

struct WgmmaGemmSpec {
  WeightFormat format = WeightFormat::F16;
  int64_t m = 0, n = 0, k = 0;
  /// Weights per scale along K (int8/int4, a multiple of 64); 0: per row.
  int64_t groupSize = 128;
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

/// Checks the shapes (N and K divisible by the tile, group size, limits,
/// overflow, shared-memory budget) and fills the defaults.
llvm::Expected<WgmmaGemmSpec> resolveWgmmaGemmSpec(WgmmaGemmSpec spec);

/// A stable symbol such as wgmma_f16_m2048_n4096_k4096_b128x256x64s4 or
/// wgmma_int4_g128_m2048_n4096_k4096_b128x128x64s5.
std::string wgmmaGemmKernelName(const WgmmaGemmSpec &spec);

struct WgmmaLaunchShape {
  int64_t gridX = 0; // N tiles (blocks pick their tile in L2-friendly order)
  int64_t gridY = 0; // M tiles
  int64_t blockX = 0;
  int64_t dynamicSharedBytes = 0;
};
WgmmaLaunchShape wgmmaGemmLaunchShape(const WgmmaGemmSpec &spec);

/// The TMA box of x (isWeight false) or W (true): {columns, rows} in
/// elements of the map's data type (f16, or bytes for int8/int4 weights).
struct WgmmaTensorMapBox {
  int64_t cols = 0, rows = 0;
  bool swizzle128B = true;
};
WgmmaTensorMapBox wgmmaTensorMapBox(const WgmmaGemmSpec &spec, bool isWeight);

/// The same map as an nvgpu descriptor type: the box as a workgroup memref
/// (f16, or i8 for int8/int4 weights), swizzle, 256-byte L2 promotion,
/// zero fill, no interleave.
mlir::nvgpu::TensorMapDescriptorType wgmmaTensorMapType(mlir::MLIRContext *context,
                                                        const WgmmaGemmSpec &spec,
                                                        bool isWeight);

/// Appends the kernel for a resolved spec to `module`.
mlir::gpu::GPUFuncOp buildWgmmaGemmKernel(mlir::OpBuilder &builder,
                                          mlir::gpu::GPUModuleOp module,
                                          const WgmmaGemmSpec &spec);

} // namespace kiln::kernels

#endif // KILN_KERNELS_WGMMAGEMM_H

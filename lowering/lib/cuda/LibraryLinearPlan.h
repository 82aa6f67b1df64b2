//===- LibraryLinearPlan.h - which kiln.linear a library kernel can run --===//
//
// The decision half of kiln-cuda-library-linear: whether a kiln.linear fits a
// generated kernel of kernels/ (shapes, weight encoding, value ranges), and
// if so the kernel spec and the weight arrays in the kernel's layout. Kept
// apart from the rewrite so that a second kernel family (a tensor-core GEMM
// for M > 16) plugs in here.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LOWERING_LIB_CUDA_LIBRARYLINEARPLAN_H
#define KILN_LOWERING_LIB_CUDA_LIBRARYLINEARPLAN_H

#include "kiln/Dialect/KilnDialect.h"
#include "kiln/Kernels/Gemv.h"
#include "kiln/Kernels/WgmmaGemm.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kiln::cuda_library {

struct LibraryLinearOptions {
  /// Round dense f32 weights to f16 and route them too.
  bool f32Weights = false;
  /// Largest M (rows of activations) a GEMV kernel takes.
  int64_t maxM = 16;
  /// Larger M runs on the tensor-core GEMM (kernels/Gemm.h).
  bool gemm = true;
  /// Dense f32 weights with f32 activations (when not rounded to f16) run
  /// on the exact f32 SIMT GEMM (kernels/SimtGemm.h), at any M.
  bool f32Gemm = true;
  /// GEMMs with M >= wgmmaMinM also get the sm_90a wgmma kernel.
  bool sm90aWgmma = false;
  int64_t wgmmaMinM = 128;
};

/// A generated kernel and its launch. Every library kernel takes
/// (x [M, K] f16, w [N, K · bits / 8] bytes, scales [N, K / group] f16 for
/// int8 / int4, y [M, N] f16) as bare pointers, or for exact f32 (x [M, K],
/// w [N, K], y [M, N]) all f32; the parameter types of the built gpu.func
/// say how it views each buffer.
struct LibraryKernel {
  std::string name;
  std::function<mlir::gpu::GPUFuncOp(mlir::OpBuilder &, mlir::gpu::GPUModuleOp)> build;
  int64_t gridX = 1, gridY = 1, blockX = 0;
  int64_t dynamicSharedBytes = 0;
};

/// What one kiln.linear becomes: a kernel and its weight arrays.
struct LibraryLinear {
  LibraryKernel kernel;
  /// The shape and weight format (method and tiling fields unused).
  kernels::GemvSpec spec;
  /// [N, K · bits / 8] bytes in the kernel's 16-byte chunk layout (for
  /// int8 / int4 the kiln.weight payload itself, for f16 the f16 values).
  std::vector<uint8_t> weightBytes;
  /// [N, K / groupSize] scales (int8 / int4 only), to be stored as f16.
  std::vector<float> scales;
  /// Rows of activations: the product of the input's leading dimensions.
  int64_t m = 0;
  /// The weights were f32 and are rounded to f16.
  bool roundedF32 = false;
  /// Exact f32: x, the weights (f32 bytes) and y stay f32 (kernels/SimtGemm.h).
  bool exactF32 = false;
  /// The sm_90a alternative of a GEMM (kernels/WgmmaGemm.h), when wanted
  /// and the generator accepts the shape; it reads the same arrays.
  std::optional<kernels::WgmmaGemmSpec> wgmma;
  LibraryKernel wgmmaKernel;
};

/// The plan for `linear`, or an error whose message says in a few words why
/// it keeps the generic kernels (such as "M = 32 > 16").
llvm::Expected<LibraryLinear> planLibraryLinear(kiln::LinearOp linear,
                                                const LibraryLinearOptions &options);

} // namespace kiln::cuda_library

#endif // KILN_LOWERING_LIB_CUDA_LIBRARYLINEARPLAN_H

//===- GemmCommon.h - pieces shared by the GEMM generators ----------------===//
//
// Used by the mma.sync GEMM (Gemm.cpp) and the Hopper wgmma GEMM
// (WgmmaGemm.cpp): the module's dynamic shared memory symbol and the
// L2-friendly order in which blocks pick their output tile.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_LIB_GEMMCOMMON_H
#define KILN_KERNELS_LIB_GEMMCOMMON_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/Twine.h"

#include <optional>
#include <string>

#include <utility>

namespace kiln::kernels {

/// Declares the module's external dynamic shared memory array (once per
/// module), which gpu.dynamic_shared_memory then lowers to.
void declareDynamicShared(mlir::OpBuilder &builder, mlir::gpu::GPUModuleOp module);

/// Appends an empty kernel `name(args)` for blocks of `blockX` threads to
/// `module` (declaring its dynamic shared memory); arguments from
/// `firstNoAlias` on are marked llvm.noalias.
mlir::gpu::GPUFuncOp createGemmKernelFunc(mlir::OpBuilder &builder,
                                          mlir::gpu::GPUModuleOp module, llvm::StringRef name,
                                          llvm::ArrayRef<mlir::Type> args, int64_t blockX,
                                          unsigned firstNoAlias);

/// The (M tile, N tile) of this block for a grid of (tilesN, tilesM) blocks:
/// consecutive blocks cover a group of up to 8 M tiles for each N tile, so a
/// wave of blocks shares its weight tiles (and a few x tiles) in L2.
std::pair<mlir::Value, mlir::Value> groupedTileOrder(mlir::OpBuilder &b, mlir::Location loc,
                                                     int64_t tilesM, int64_t tilesN);

/// Why a GEMM of x[M, K] and W[N, K] cannot be generated: a non-positive
/// dimension or an operand over 2^31 elements (32-bit index arithmetic);
/// nothing when the shape is fine.
std::optional<std::string> gemmShapeProblem(int64_t m, int64_t n, int64_t k);

} // namespace kiln::kernels

#endif // KILN_KERNELS_LIB_GEMMCOMMON_H

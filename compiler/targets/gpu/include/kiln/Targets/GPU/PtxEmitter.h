//===- PtxEmitter.h - gpu.module -> PTX in-process, PTX -> cubin ----------===//
//
// Lowers a gpu.module of kernels (gpu/arith/vector/memref/scf/math) to NVVM,
// then to PTX through LLVM's NVPTX backend without leaving the process.
// Kernels take bare pointers (one parameter per static-shaped memref).
// Cubins come from CUDA's ptxas.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TARGETS_GPU_PTXEMITTER_H
#define KILN_TARGETS_GPU_PTXEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "llvm/Support/Error.h"

#include <string>

namespace kiln::gpu_target {

/// Architectures we emit code for: the sm_ name ptxas takes.
bool isSupportedGpuArch(llvm::StringRef arch);
llvm::StringRef supportedGpuArchList();

/// Dialects, interfaces and translations the lowering needs.
void registerGpuTargetDialects(mlir::DialectRegistry &registry);

/// Lowers the single gpu.module inside `module` for `arch` and returns its
/// PTX. `module` is rewritten in place (it holds a gpu.binary afterwards).
llvm::Expected<std::string> emitPtx(mlir::ModuleOp module, llvm::StringRef arch);

/// Assembles `ptx` for `arch` with ptxas into `cubinPath`. The ptxas path
/// comes from $KILN_PTXAS, then /usr/local/cuda/bin/ptxas, then PATH.
/// ptxas' diagnostics are returned in the error.
llvm::Error assembleCubin(llvm::StringRef ptx, llvm::StringRef arch,
                          llvm::StringRef cubinPath);

} // namespace kiln::gpu_target

#endif // KILN_TARGETS_GPU_PTXEMITTER_H

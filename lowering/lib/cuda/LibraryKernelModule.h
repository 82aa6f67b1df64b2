//===- LibraryKernelModule.h - the gpu.module that holds generated kernels ===//
#ifndef KILN_LOWERING_CUDA_LIBRARYKERNELMODULE_H
#define KILN_LOWERING_CUDA_LIBRARYKERNELMODULE_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace kiln {

/// `@kiln_library_kernels`, where the passes that launch generated kernels
/// (kernels/) put their gpu.funcs (kiln-cuda-merge-gpu-modules joins it with
/// the generic kernels later); created at the end of `module`, which becomes
/// a GPU container module, when missing.
inline mlir::gpu::GPUModuleOp getOrCreateLibraryKernelModule(mlir::ModuleOp module) {
  constexpr llvm::StringLiteral name = "kiln_library_kernels";
  module->setAttr(mlir::gpu::GPUDialect::getContainerModuleAttrName(),
                  mlir::UnitAttr::get(module.getContext()));
  if (auto existing = module.lookupSymbol<mlir::gpu::GPUModuleOp>(name))
    return existing;
  mlir::OpBuilder atEnd = mlir::OpBuilder::atBlockEnd(module.getBody());
  return mlir::gpu::GPUModuleOp::create(atEnd, module.getLoc(), name);
}

} // namespace kiln

#endif // KILN_LOWERING_CUDA_LIBRARYKERNELMODULE_H

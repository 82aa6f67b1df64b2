//===- CudaLibraryPasses.h - library kernels for the CUDA target ---------===//
#ifndef KILN_LOWERING_CUDALIBRARYPASSES_H
#define KILN_LOWERING_CUDALIBRARYPASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Lowering/CudaLibraryPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Lowering/CudaLibraryPasses.h.inc"

/// On a gpu.func and its gpu.launch_func: the kernel exists only for sm_90a
/// (wgmma, TMA). The CUDA target leaves the kernel out of every other
/// image, and the launch runs only where an sm_90a image was loaded.
constexpr llvm::StringLiteral kSm90aOnlyAttrName = "kiln.sm90a_only";
/// On a gpu.launch_func: the alternative of an sm_90a-only launch (same
/// operands and result), run wherever another image was loaded.
constexpr llvm::StringLiteral kNotSm90aAttrName = "kiln.not_sm90a";

} // namespace kiln

#endif // KILN_LOWERING_CUDALIBRARYPASSES_H

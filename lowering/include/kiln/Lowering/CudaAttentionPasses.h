//===- CudaAttentionPasses.h - fused attention for the CUDA target -------===//
#ifndef KILN_LOWERING_CUDAATTENTIONPASSES_H
#define KILN_LOWERING_CUDAATTENTIONPASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Lowering/CudaAttentionPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Lowering/CudaAttentionPasses.h.inc"

} // namespace kiln

#endif // KILN_LOWERING_CUDAATTENTIONPASSES_H

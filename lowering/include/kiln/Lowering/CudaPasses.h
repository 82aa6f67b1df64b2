//===- CudaPasses.h - passes and pipeline of the CUDA target -------------===//
#ifndef KILN_LOWERING_CUDAPASSES_H
#define KILN_LOWERING_CUDAPASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Lowering/CudaPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Lowering/CudaPasses.h.inc"

/// Adds the passes from imported kiln IR (static shapes) to a host function
/// of `gpu.launch_func`s, buffer ops and copies, with every kernel in one
/// gpu.module (still in the gpu dialect): kiln to linalg as for the host,
/// bufferization with caller-owned outputs, linalg to loops, one launch per
/// loop nest, outlining.
void buildCudaLoweringPipeline(mlir::OpPassManager &pm);

struct CudaLoweringOptions {
  /// --precision=f16: activations and weights stored as f16, arithmetic and
  /// accumulation in f32 (kiln-f16-activations).
  bool f16Activations = false;
  /// Linear layers on the generated GEMV/GEMM kernels (kiln-cuda-library-linear);
  /// off keeps every layer on the generic f32 kernels (--library-kernels=false).
  bool libraryKernels = true;
  /// The model is compiled for sm_90a too: large-M GEMMs also get the TMA +
  /// wgmma kernel as an sm_90a-only alternative (kiln-cuda-library-linear's
  /// sm90a-wgmma).
  bool sm90aWgmma = false;
};
void buildCudaLoweringPipeline(mlir::OpPassManager &pm, const CudaLoweringOptions &options);

/// The same up to the fused loop nests, one per kernel-to-be (before
/// kiln-cuda-loops-to-launch).
void buildCudaLoopsPipeline(mlir::OpPassManager &pm, const CudaLoweringOptions &options);

/// Registers `kiln-cuda-lowering` and `kiln-cuda-loops` (option `f16`) with
/// the pass registry (for kiln-opt).
void registerCudaPipelines();

} // namespace kiln

#endif // KILN_LOWERING_CUDAPASSES_H

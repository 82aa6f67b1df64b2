//===- CudaPasses.td - passes of the CUDA target -----------*- tablegen -*-===//
#ifndef KILN_LOWERING_CUDAPASSES_TD
#define KILN_LOWERING_CUDAPASSES_TD

include "mlir/Pass/PassBase.td"

def CudaLoopsToLaunch : Pass<"kiln-cuda-loops-to-launch", "::mlir::func::FuncOp"> {
  let summary = "Turns each top-level loop nest of a function into one gpu.launch";
  let description = [{
    Every `scf.parallel` directly in the function body becomes a `gpu.launch`
    with one thread per iteration: the iteration space is linearized, split
    into blocks of `block-size` threads, and each thread delinearizes its id
    back into the loop's induction variables (the innermost dimension varies
    fastest, so neighbouring threads touch neighbouring elements). Loops
    nested inside (reductions from linalg) run sequentially in the thread.
    A top-level `scf.for` (a linalg op without parallel dimensions) becomes a
    single-thread launch, and so does a top-level `memref.store` (a rank-0
    linalg op) with the loads and scalar ops that compute its value.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "threads per block">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect"];
}

def CudaMergeGpuModules : Pass<"kiln-cuda-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Moves every outlined kernel into one gpu.module";
  let description = [{
    gpu-kernel-outlining makes one gpu.module per kernel; the CUDA target
    compiles and loads one module image per model. Kernels move into the
    first gpu.module (their names are unique already) and every
    `gpu.launch_func` is re-pointed at it.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

#endif // KILN_LOWERING_CUDAPASSES_TD

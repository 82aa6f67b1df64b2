//===- CudaPipeline.cpp - kiln IR to host launches plus GPU kernels ------===//
#include "kiln/Lowering/CudaLibraryPasses.h"
#include "kiln/Lowering/CudaPasses.h"
#include "kiln/Lowering/HostPasses.h"
#include "kiln/Lowering/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace kiln {

static void addKernelFormation(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createCudaLoopsToLaunch());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createCudaMergeGpuModules());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void buildCudaLoweringPipeline(OpPassManager &pm) {
  // Small-batch linears become launches of generated kernels (kernels/)
  // while their weights are still kiln.weight ops.
  pm.addPass(createCudaLibraryLinear());
  addKilnToLinalg(pm);
  // No deallocation: intermediates live in the arena planned at compile time.
  addBufferizationWithOutParams(pm);
  addKernelFormation(pm);
}

void registerCudaPipelines() {
  PassPipelineRegistration<>("kiln-cuda-lowering",
                             "Kiln IR to host launches and one gpu.module of kernels",
                             buildCudaLoweringPipeline);
}

} // namespace kiln

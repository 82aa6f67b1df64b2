//===- CudaPipeline.cpp - kiln IR to host launches plus GPU kernels ------===//
#include "kiln/Lowering/CudaAttentionPasses.h"
#include "kiln/Lowering/CudaCodegenPasses.h"
#include "kiln/Lowering/CudaLibraryPasses.h"
#include "kiln/Lowering/CudaPasses.h"
#include "kiln/Lowering/CudaRowPasses.h"
#include "kiln/Lowering/HostPasses.h"
#include "kiln/Lowering/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace kiln {

/// Bufferized linalg to loop nests, fused where each thread only depends on
/// itself: every top-level scf.parallel left becomes one kernel.
static void addLoopFormation(OpPassManager &pm) {
  // Copies (into views from pad, concat and slices too) become loop nests.
  pm.addNestedPass<func::FuncOp>(createCudaCopiesToLinalg());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCSEPass());
  pm.addNestedPass<func::FuncOp>(createCudaFuseLoopNests());
}

static void addKernelFormation(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createCudaCooperativeRows()); // warp per row: GPU only
  pm.addNestedPass<func::FuncOp>(createCudaLoopsToLaunch());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createCudaMergeGpuModules());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void buildCudaLoopsPipeline(OpPassManager &pm, const CudaLoweringOptions &options) {
  addKilnToLinalg(pm);
  if (options.f16Activations)
    pm.addNestedPass<func::FuncOp>(createF16Activations());
  // Elementwise chains, and elementwise producers of reductions, become one
  // linalg op (one kernel); named ops (transposes, fills) take part as
  // generics.
  pm.addNestedPass<func::FuncOp>(createLinalgGeneralizeNamedOpsPass());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // No deallocation: intermediates live in the arena planned at compile time.
  addBufferizationWithOutParams(pm);
  addLoopFormation(pm);
}

void buildCudaLoweringPipeline(OpPassManager &pm, const CudaLoweringOptions &options) {
  // Linears that generated kernels (kernels/) can run become launches of
  // them while their weights are still kiln.weight ops (not part of the
  // loops pipeline, which also runs on the CPU in tests). With f16
  // activations, f32 weights may be rounded to f16 too.
  if (options.libraryKernels) {
    CudaLibraryLinearOptions library;
    library.f32Weights = options.f16Activations;
    library.sm90aWgmma = options.sm90aWgmma;
    pm.addPass(createCudaLibraryLinear(library));
    // Attention chains become one flash-style kernel each (kernels/Attention.h)
    // before the softmax and contractions turn into separate kernels.
    CudaFuseAttentionOptions attention;
    attention.f16 = options.f16Activations;
    pm.addPass(createCudaFuseAttention(attention));
  }
  buildCudaLoopsPipeline(pm, options);
  addKernelFormation(pm);
}

void buildCudaLoweringPipeline(OpPassManager &pm) {
  buildCudaLoweringPipeline(pm, CudaLoweringOptions());
}

namespace {
struct CudaPipelineFlags : PassPipelineOptions<CudaPipelineFlags> {
  Option<bool> f16{*this, "f16",
                   llvm::cl::desc("activations and weights as f16 (--precision=f16)"),
                   llvm::cl::init(false)};
  Option<bool> libraryKernels{*this, "library-kernels",
                              llvm::cl::desc("linear layers on the generated GEMV/GEMM kernels"),
                              llvm::cl::init(true)};
  Option<bool> sm90aWgmma{*this, "sm90a-wgmma",
                          llvm::cl::desc("large-M GEMMs also get the sm_90a wgmma kernel"),
                          llvm::cl::init(false)};
  CudaLoweringOptions get() const {
    CudaLoweringOptions options;
    options.f16Activations = f16;
    options.libraryKernels = libraryKernels;
    options.sm90aWgmma = sm90aWgmma;
    return options;
  }
};
} // namespace

void registerCudaPipelines() {
  PassPipelineRegistration<CudaPipelineFlags>(
      "kiln-cuda-lowering", "Kiln IR to host launches and one gpu.module of kernels",
      [](OpPassManager &pm, const CudaPipelineFlags &flags) {
        buildCudaLoweringPipeline(pm, flags.get());
      });
  PassPipelineRegistration<CudaPipelineFlags>(
      "kiln-cuda-loops",
      "Kiln IR to the fused loop nests that kiln-cuda-lowering makes kernels of (for tests "
      "that run them on the CPU)",
      [](OpPassManager &pm, const CudaPipelineFlags &flags) {
        buildCudaLoopsPipeline(pm, flags.get());
      });
}

} // namespace kiln

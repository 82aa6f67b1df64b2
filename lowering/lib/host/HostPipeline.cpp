//===- HostPipeline.cpp - kiln IR to the LLVM dialect for x86-64 ---------===//
#include "kiln/Lowering/HostPasses.h"
#include "kiln/Lowering/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace kiln {

void addKilnToLinalg(OpPassManager &pm) {
  pm.addPass(createHostPrepareEntry());
  // Packed integer weights stay packed in the .so and are decoded inside
  // the contraction; other encodings are decoded at compile time.
  pm.addPass(createDecodeWeightsInKernel());
  pm.addPass(createExpandCompressedWeights());
  pm.addPass(createLowerLinearToLinalg());
  // Compression passes (AWQ, SmoothQuant) scale activations with plain arith
  // ops on tensors, which bufferization does not take.
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

static void addVectorization(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createTileAndVectorize());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void addBufferizationWithOutParams(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  bufferize.unknownTypeConversion = bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Outputs become out-parameters: the caller owns every output buffer.
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addPass(createCanonicalizerPass());
}

static void addBufferization(OpPassManager &pm) {
  addBufferizationWithOutParams(pm);
  bufferization::buildBufferDeallocationPipeline(pm);
}

static void addLoweringToLLVM(OpPassManager &pm) {
  // Whatever was not vectorized (untileable ops) becomes plain loops.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMaskPass());
  pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass());
  pm.addNestedPass<func::FuncOp>(
      createConvertVectorToSCFPass(VectorTransferToSCFOptions().enableFullUnroll()));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToFuncs()); // integer powers as small functions
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void buildHostLoweringPipeline(OpPassManager &pm) {
  addKilnToLinalg(pm);
  addVectorization(pm);
  addBufferization(pm);
  addLoweringToLLVM(pm);
}

void registerHostPipelines() {
  PassPipelineRegistration<>("kiln-host-lowering",
                             "Kiln IR to the LLVM dialect for the x86-64 host target",
                             buildHostLoweringPipeline);
}

} // namespace kiln

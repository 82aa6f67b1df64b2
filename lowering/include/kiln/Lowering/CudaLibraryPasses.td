//===- CudaLibraryPasses.td - library kernels for the CUDA target -*- tablegen -*-===//
#ifndef KILN_LOWERING_CUDALIBRARYPASSES_TD
#define KILN_LOWERING_CUDALIBRARYPASSES_TD

include "mlir/Pass/PassBase.td"

def CudaLibraryLinear : Pass<"kiln-cuda-library-linear", "::mlir::ModuleOp"> {
  let summary = "Runs small-batch kiln.linear layers on generated GEMV kernels (kernels/)";
  let description = [{
    A `kiln.linear` with static shapes and a weight the kernel generators of
    `kernels/` read: GEMV for M <= `max-m` (M = product of the leading input
    dimensions), the tensor-core GEMM above (when its tiles divide N and K)
    (a `kiln.weight` with si8 codes per tensor / per output channel / per
    group along K, or si4 codes per group along K, symmetric, scales that
    fit f16; or a dense f16 weight, and f32 with `f32-weights`) becomes:
    (A dense f32 weight with f32 activations and without `f32-weights`
    runs on the exact f32 SIMT GEMM instead, at any M: the same steps in
    f32, nothing rounded.)

    1. the activations reshaped to [M, K] and cast to f16, copied into a
       buffer that the kernel reads as 16-byte vectors;
    2. a `gpu.launch_func` of the generated kernel (its `gpu.func` goes into
       the `@kiln_library_kernels` gpu.module, one per distinct shape), with
       the packed weight bytes and f16 scales as `memref.global`s in the
       kernel's layout (int8 / int4: the kiln.weight payload itself);
    3. an elementwise epilogue on tensors (f16 to the result type plus the
       bias) and the reshape back to [..., N].

    With `sm90a-wgmma` (kilnc sets it when `--gpu-arch` lists sm_90a), a
    GEMM with M >= `wgmma-min-m` whose shape the Hopper generator accepts
    gets a second launch of the TMA + wgmma kernel, marked `kiln.sm90a_only`
    (so is its gpu.func; the mma.sync launch is marked `kiln.not_sm90a`): it
    reads x and W through `nvgpu.tma.create.descriptor`s of the same
    buffers and writes the same y. The CUDA target keeps the kernel out of
    other images and the runtime runs exactly one of the two launches.

    Everything else keeps the generic path. One remark on the module names
    the layers that fall back and why.
  }];
  let options = [
    Option<"f32Weights", "f32-weights", "bool", /*default=*/"false",
           "also run dense f32 weights, rounded to f16 (off: f32 models keep f32 "
           "accuracy)">,
    Option<"maxM", "max-m", "int64_t", /*default=*/"16",
           "largest M (product of the leading input dimensions) routed to GEMV">,
    Option<"gemm", "gemm", "bool", /*default=*/"true",
           "route larger M to the tensor-core GEMM generator (kernels/Gemm.h)">,
    Option<"f32Gemm", "f32-gemm", "bool", /*default=*/"true",
           "run dense f32 weights with f32 activations (unless f32-weights) on the exact "
           "f32 SIMT GEMM (kernels/SimtGemm.h) at any M">,
    Option<"sm90aWgmma", "sm90a-wgmma", "bool", /*default=*/"false",
           "the model is compiled for sm_90a too: GEMMs with M >= wgmma-min-m also "
           "get the TMA + wgmma kernel (kernels/WgmmaGemm.h) as an sm_90a-only "
           "alternative launch">,
    Option<"wgmmaMinM", "wgmma-min-m", "int64_t", /*default=*/"128",
           "smallest M given the wgmma alternative (it beats mma.sync from M = 128 "
           "on the H100, bench/results/2026-11-25-h100-linear-wgmma.md)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect", "::mlir::vector::VectorDialect",
                           "::mlir::scf::SCFDialect", "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect"];
}

#endif // KILN_LOWERING_CUDALIBRARYPASSES_TD

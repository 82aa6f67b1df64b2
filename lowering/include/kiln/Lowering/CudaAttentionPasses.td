//===- CudaAttentionPasses.td - fused attention for the CUDA target -*- tablegen -*-===//
#ifndef KILN_LOWERING_CUDAATTENTIONPASSES_TD
#define KILN_LOWERING_CUDAATTENTIONPASSES_TD

include "mlir/Pass/PassBase.td"

def CudaFuseAttention : Pass<"kiln-cuda-fuse-attention", "::mlir::ModuleOp"> {
  let summary = "Runs attention (QKᵀ, scale, mask, softmax, ·V) as one generated "
                "flash-style kernel (kernels/Attention.h)";
  let description = [{
    Matches, on the imported linalg-on-tensors IR, the chain

      S = Q·Kᵀ (batched contraction, zero init)
      X = S · c₁ · c₂ ... (+ mask)   scalar constant factors, then at most one
                                     additive mask broadcast over batch,
                                     heads and/or query rows (f32, full keys)
      P = exp(X - max(X)) / sum(exp(X - max(X)))   along the last axis
      O = P·V (batched contraction, zero init)

    with static shapes, one or two batch dimensions and no other user of
    any intermediate (S, X, P, ...). Q, K and V are read in place through
    their strides (transposes in front of them are looked through). The
    chain becomes a `gpu.launch_func` of the generated kernel (its
    `gpu.func` goes into `@kiln_library_kernels`), on tensors around it:
    operands copied (`bufferization.materialize_in_destination`) into
    buffers of the kernel's element type, the output back through
    `bufferization.to_tensor`. The score matrix is never written to memory.

    One remark on the module names the attention sites (contractions of a
    softmax with a tensor) that keep the generic kernels, and why.
  }];
  let options = [
    Option<"f16", "f16", "bool", /*default=*/"false",
           "the kernel reads Q, K, V and writes O as f16 (f32 arithmetic; "
           "--precision=f16)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::nvgpu::NVGPUDialect", "::mlir::vector::VectorDialect"];
}

#endif // KILN_LOWERING_CUDAATTENTIONPASSES_TD

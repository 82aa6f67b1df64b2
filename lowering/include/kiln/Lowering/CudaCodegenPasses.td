//===- CudaCodegenPasses.td - CUDA kernel formation passes -*- tablegen -*-===//
//
// Passes that shape the linalg/memref IR of the CUDA target before loops
// become launches: copies the runtime cannot do as a memcpy, precision.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LOWERING_CUDACODEGENPASSES_TD
#define KILN_LOWERING_CUDACODEGENPASSES_TD

include "mlir/Pass/PassBase.td"

def CudaCopiesToLinalg : Pass<"kiln-cuda-copies-to-linalg", "::mlir::func::FuncOp"> {
  let summary = "Turns every memref.copy into a linalg.copy (a copy kernel)";
  let description = [{
    The CUDA runtime passes views to kernels as their base pointer plus the
    offset in the view's type, so a `memref.copy` into or out of a strided
    view (pad, concat and slices after bufferization) cannot be one device
    memcpy. Every copy becomes a `linalg.copy`, which later passes lower to
    a loop nest with a thread per element; a copy of whole buffers then
    also fuses with the nests around it (kiln-cuda-fuse-loop-nests) instead
    of being a separate memcpy step.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def CudaFuseLoopNests : Pass<"kiln-cuda-fuse-loop-nests", "::mlir::func::FuncOp"> {
  let summary = "Fuses neighbouring top-level scf.parallel nests into one kernel";
  let description = [{
    Runs on the loops of linalg ops (before kiln-cuda-loops-to-launch, which
    makes each top-level `scf.parallel` a kernel with a thread per
    iteration). A nest is fused into the one before it (only allocations,
    views and pure ops in between, which move above) when both have the same
    leading parallel bounds and every buffer one of them writes and the
    other touches is reached through the same view with the thread's
    induction variables at the same index positions: then each thread only
    depends on itself, and running the second body after the first in the
    same thread is what two kernels in a row compute. This fuses
    elementwise epilogues into their contraction's kernel. When the first
    nest loops inside its threads (a row reduction) and the second has extra
    parallel dimensions, those become sequential loops in the thread: a
    softmax, LayerNorm or RMSNorm becomes one kernel with a thread per row.
    Buffers reached from different allocations, arguments or globals are
    taken to be disjoint (inputs and outputs of a model must not overlap).
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def F16Activations : Pass<"kiln-f16-activations", "::mlir::func::FuncOp"> {
  let summary = "Stores activations and weights in f16; arithmetic stays f32";
  let description = [{
    The `--precision=f16` mode, on linalg ops with tensor semantics (named
    ops are generalized first). Every f32 constant read by a linalg op
    becomes an f16 constant (saturated to the f16 range). Elementwise ops
    (all iterators parallel) write f16 results: their body computes in f32
    on inputs widened with `arith.extf` and saturates and truncates what it
    yields. Ops with reduction iterators (contractions, softmax and norm
    statistics) keep f32 results, so accumulation happens in f32; their f16
    inputs are widened in the body. Shape ops (reshape, expand/collapse,
    extract_slice) follow their source's type; any other user of an f16
    result (function results, concat, pad, ...) gets it widened back to f32
    by an elementwise op, so the function's signature never changes.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // KILN_LOWERING_CUDACODEGENPASSES_TD

//===- CudaRowPasses.td - cooperative row kernels for CUDA -*- tablegen -*-===//
#ifndef KILN_LOWERING_CUDAROWPASSES_TD
#define KILN_LOWERING_CUDAROWPASSES_TD

include "mlir/Pass/PassBase.td"

def CudaCooperativeRows : Pass<"kiln-cuda-cooperative-rows", "::mlir::func::FuncOp"> {
  let summary = "Runs each row of a fused row nest (softmax, norms, row reductions) on a warp";
  let description = [{
    After `kiln-cuda-fuse-loop-nests`, softmax, LayerNorm, RMSNorm and row
    reductions are a top-level `scf.parallel` over rows whose body walks the
    row in `scf.for` loops: reduction loops (each accumulator is a
    `memref.load` / combiner / `memref.store` of one element whose indices do
    not depend on the loop, as linalg-to-loops leaves it) and elementwise loops
    (every store indexed by the loop's induction variable). Such a nest becomes
    a `gpu.launch` with a warp per row (blocks of 32 lanes x `rows-per-block`
    rows; fewer with under 128 blocks' worth of rows): every loop walks its elements `lane, lane + 32, ...`, each
    accumulator becomes a per-lane partial (started at the combiner's
    identity) reduced across the warp with `gpu.shuffle xor`, then combined
    once with the accumulator's value before the loop. `nvvm.bar.warp.sync`
    orders the lanes' memory accesses wherever two consecutive steps of the
    row touch the same buffer.

    Combiners: `arith.addf`, `mulf`, `maximumf`, `minimumf`, `maxnumf`,
    `minnumf` on f32. A nest is left to `kiln-cuda-loops-to-launch` (one
    thread per row) unless every loop and access has exactly this shape, every
    reduction loop reads the thread's own row (a load indexed by all the
    nest's induction variables with the loop's as the last index: a
    contraction's operands are each shared by several threads) and some loop
    walks at least 32 elements. With `report`, one remark on the function
    counts the nests converted and left. `kiln-cuda-lowering` runs it right
    before `kiln-cuda-loops-to-launch`; the CPU test pipeline
    `kiln-cuda-loops` does not (shuffles need a GPU).
  }];
  let options = [
    Option<"rowsPerBlock", "rows-per-block", "int64_t", /*default=*/"8",
           "rows (warps) per block">,
    Option<"report", "report", "bool", /*default=*/"false",
           "a remark counting converted and left nests">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

#endif // KILN_LOWERING_CUDAROWPASSES_TD

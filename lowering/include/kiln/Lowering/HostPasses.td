//===- HostPasses.td - passes of the x86-64 host target ----*- tablegen -*-===//
#ifndef KILN_LOWERING_HOSTPASSES_TD
#define KILN_LOWERING_HOSTPASSES_TD

include "mlir/Pass/PassBase.td"

def HostPrepareEntry : Pass<"kiln-host-prepare-entry", "::mlir::ModuleOp"> {
  let summary = "Checks @main against the host C ABI and prepares it for lowering";
  let description = [{
    Verifies that the module has exactly one public `func.func @main` whose
    arguments and results are ranked tensors of supported element types and
    rank, renames it to `kiln_model_entry`, marks every argument read-only
    for bufferization (the C API hands in the caller's buffers, which must
    never be written) and requests the C interface wrapper that the
    generated invoke shim calls.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def LowerLinearToLinalg : Pass<"kiln-lower-linear-to-linalg"> {
  let summary = "Lowers kiln.linear with a dense weight to linalg";
  let description = [{
    `y = x · Wᵀ + b` becomes a `linalg.generic` contraction over
    (batch..., n, k) whose W operand is read through the transposed
    indexing map (n, k) (no transposed copy), accumulating into the bias
    broadcast along the output rows (or zeros). Compressed weights must be
    decoded first (kiln-host-decode-weights-in-kernel or
    kiln-expand-compressed-weights).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def DecodeWeightsInKernel : Pass<"kiln-host-decode-weights-in-kernel"> {
  let summary = "Fuses the decoding of int2/int4/int8 weights into the linear's contraction";
  let description = [{
    A `kiln.linear` whose weight is a `kiln.weight` with linear integer
    codes of 2, 4 or 8 bits (per tensor, per output channel, or per group
    along K; symmetric or with zero points) becomes one `linalg.generic`
    that reads the packed payload bytes directly: loops
    (batch..., n, group, byte, code-in-byte) unpack each code with shifts,
    subtract the zero point, multiply by the group's scale and accumulate.
    The dense weight is never materialized; the .so stores only the packed
    bytes and the scales. Other encodings are left for
    kiln-expand-compressed-weights.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def TileAndVectorize : Pass<"kiln-host-tile-and-vectorize", "::mlir::func::FuncOp"> {
  let summary = "Tiles every linalg op on tensors and vectorizes the tiles";
  let description = [{
    Each linalg op is tiled with scf.for loops so that a tile spans about
    `inner-tile` iterations of the innermost loop and `parallel-tile`
    iterations of the innermost parallel loop (1 elsewhere), then the tile
    is vectorized. Tile sizes divide static extents evenly (a short loop is
    one tile; dynamic loops get tile 1), so every tile has a static shape and
    no masks. A tile whose
    body the vectorizer does not support (gathers, for instance) stays a
    scalar tile: correctness never depends on vectorization. So do ops on
    booleans (i1 vectors are bit-packed in memory, i1 tensors are not).
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
  let options = [
    Option<"innerTile", "inner-tile", "int64_t", "16",
           "iterations of the innermost loop per tile (the vector width)">,
    Option<"parallelTile", "parallel-tile", "int64_t", "8",
           "iterations of the innermost parallel loop per tile, when it is not the "
           "innermost loop">
  ];
}

#endif // KILN_LOWERING_HOSTPASSES_TD

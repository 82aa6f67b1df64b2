//===- AttentionTensorCore.h - the mma.sync flash attention kernel --------===//
//
// The tensor-core variant of kernels/Attention.h (AttentionMethod::
// TensorCore): Attention.cpp resolves specs, names and launches both.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_LIB_ATTENTIONTENSORCORE_H
#define KILN_KERNELS_LIB_ATTENTIONTENSORCORE_H

#include "kiln/Kernels/Attention.h"

namespace kiln::kernels {

/// Query rows per warp: the mma's M.
constexpr int64_t kTensorCoreRowsPerWarp = 16;
constexpr int64_t kTensorCoreMaxWarps = 8;
/// f16 elements of one 16-byte cp.async / ldmatrix row chunk.
constexpr int64_t kTensorCoreChunkHalves = 8;

/// Dynamic shared memory of a resolved tensor-core spec: the Q tile and two
/// K and V tiles (f16).
int64_t tensorCoreAttentionSharedBytes(const AttentionSpec &spec);

/// Fills the empty kernel `func` (parameters as Attention.h says).
void emitTensorCoreAttention(mlir::OpBuilder &builder, mlir::Location loc,
                             const AttentionSpec &spec, mlir::gpu::GPUFuncOp func);

} // namespace kiln::kernels

#endif // KILN_KERNELS_LIB_ATTENTIONTENSORCORE_H

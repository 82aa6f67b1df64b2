//===- Dequant.h - in-register dequantization of 16-byte weight chunks ----===//
//
// Shared by the GEMV generators: turns one 16-byte chunk of stored weights
// (f16, si8 or kiln-packed si4) into f16 vectors in registers, and gathers
// the activations that meet each weight lane.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_LIB_DEQUANT_H
#define KILN_KERNELS_LIB_DEQUANT_H

#include "kiln/Kernels/Gemv.h"

#include "mlir/IR/Builders.h"

namespace kiln::kernels {

/// A chunk's weights as vector<8xf16> values (exact signed codes for int8 and
/// int4, not yet scaled) and, for each, the chunk positions of its 8 lanes.
/// Lanes 2j and 2j+1 of every vector form one f16x2 register.
struct DequantizedChunk {
  llvm::SmallVector<mlir::Value> weights;
  llvm::SmallVector<llvm::SmallVector<int64_t, 8>> positions;
};

/// `chunk` is vector<8xf16> (F16) or vector<4xi32> (Int8, Int4).
DequantizedChunk dequantizeChunk(mlir::OpBuilder &b, mlir::Location loc,
                                 WeightFormat format, mlir::Value chunk);

/// dequantizeChunk's vectors reordered into vector<8xf16> values of
/// consecutive K positions (codes, not yet scaled): 2 for Int8, 4 for Int4.
llvm::SmallVector<mlir::Value> dequantizeChunkInKOrder(mlir::OpBuilder &b, mlir::Location loc,
                                                       WeightFormat format, mlir::Value chunk);

/// Gathers the activations at chunk `positions` (8 of them) out of the
/// chunk's consecutive vector<8xf16> activation vectors.
mlir::Value gatherActivations(mlir::OpBuilder &b, mlir::Location loc,
                              llvm::ArrayRef<mlir::Value> vectors,
                              llvm::ArrayRef<int64_t> positions);

} // namespace kiln::kernels

#endif // KILN_KERNELS_LIB_DEQUANT_H

//===- Sparsify.h - building sparse weights by magnitude ------------------===//
#ifndef KILN_LOWERING_COMPRESSION_SPARSIFY_H
#define KILN_LOWERING_COMPRESSION_SPARSIFY_H

#include "CompressionUtils.h"

namespace kiln::compression {

/// Indices of the `keep` largest-magnitude values of [first, first+count),
/// ties broken towards the lower index, in increasing order.
std::vector<int64_t> largestMagnitudes(const float *first, int64_t count, int64_t keep);

/// The weight with all but the round(density * size) largest magnitudes
/// zeroed (ties to the lower flat index).
std::vector<float> magnitudePruned(const DenseWeight &weight, double density);

/// A kiln.weight storing `kept` values (in payload order) with `meta`.
WeightOp createSparseWeight(mlir::OpBuilder &builder, LinearOp linear, const DenseWeight &weight,
                            SparsityEncodingAttr sparsity, llvm::ArrayRef<float> kept,
                            const std::vector<uint32_t> &meta, int64_t resourceThreshold);

/// Unstructured magnitude pruning of `weight` to `density`.
WeightOp createUnstructuredWeight(mlir::OpBuilder &builder, LinearOp linear,
                                  const DenseWeight &weight, double density,
                                  int64_t resourceThreshold);

} // namespace kiln::compression

#endif // KILN_LOWERING_COMPRESSION_SPARSIFY_H

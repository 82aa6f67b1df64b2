//===- UpstreamQuant.h - kiln weights as upstream quant types ------------===//
//
// Where kiln's encoding says the same thing as MLIR's `quant` dialect
// (linear integer codes, per tensor, per axis or per block, no sparsity),
// this gives the equivalent `!quant.uniform` element type, so that kiln
// weights can be handed to upstream quant passes and tools. Kiln keeps its
// own encoding in the IR because upstream types carry every scale inline
// (megabytes of type text for per-group weights of a large model) and have
// no log2, codebook, sparse or low-rank forms.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECT_UPSTREAMQUANT_H
#define KILN_DIALECT_UPSTREAMQUANT_H

#include "kiln/Dialect/KilnDialect.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"

namespace kiln {

/// The upstream quantized element type equivalent to `weight`'s encoding,
/// with its scales and zero points; failure when upstream cannot express it.
mlir::FailureOr<mlir::quant::QuantizedType> toUpstreamQuantType(WeightOp weight);

} // namespace kiln

#endif // KILN_DIALECT_UPSTREAMQUANT_H

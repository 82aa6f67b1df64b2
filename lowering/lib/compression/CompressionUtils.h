//===- CompressionUtils.h - what every compression pass shares -----------===//
#ifndef KILN_LOWERING_COMPRESSION_COMPRESSIONUTILS_H
#define KILN_LOWERING_COMPRESSION_COMPRESSIONUTILS_H

#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/KilnDialect.h"
#include "kiln/Lowering/LayerName.h"
#include "kiln/Lowering/WeightBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <string>
#include <vector>

namespace kiln::compression {


/// The kiln.linear ops under `root` whose layer name matches `pattern`
/// (every one when empty). Fails, with an error on `root`, when the pattern
/// is not a valid regular expression or matches no layer.
mlir::FailureOr<llvm::SmallVector<LinearOp>> selectLayers(mlir::Operation *root,
                                                          llvm::StringRef pattern,
                                                          llvm::StringRef passName);

/// A linear's weight when it is a dense constant [N, K] with static shape.
struct DenseWeight {
  mlir::arith::ConstantOp constant;
  mlir::RankedTensorType type;
  int64_t rows = 0, cols = 0;
  std::vector<float> values;
};
std::optional<DenseWeight> getDenseWeight(LinearOp linear);

/// Calls `rewrite` on every layer selected by `pattern` whose weight is a
/// dense constant (last to first when `lastFirst`). Fails on a bad pattern.
mlir::LogicalResult
forEachDenseLayer(mlir::Operation *root, llvm::StringRef pattern, llvm::StringRef passName,
                  llvm::function_ref<mlir::LogicalResult(LinearOp, DenseWeight &)> rewrite,
                  bool lastFirst = false);

/// forEachDenseLayer for rewrites that cannot fail.
mlir::LogicalResult
rewriteEachDenseLayer(mlir::Operation *root, llvm::StringRef pattern, llvm::StringRef passName,
                      llvm::function_ref<void(LinearOp, DenseWeight &)> rewrite);

/// A weight as integer codes of one encoding, with per-channel or per-group
/// scales or a codebook (of `codebookShape`), before it becomes a kiln.weight.
struct CodedWeight {
  QuantEncodingAttr encoding;
  std::vector<uint32_t> codes;
  std::vector<float> scales;
  std::vector<float> codebook;
  llvm::SmallVector<int64_t> codebookShape;
};

/// Codes with one scale per output channel, s[n] = max |W[n, :]| / `largest`
/// (1 for an all-zero row), each code `encode(W[n, k], s[n])`.
CodedWeight encodePerChannel(const DenseWeight &weight, float largest,
                             llvm::function_ref<uint32_t(float value, float scale)> encode);

/// A per-output-channel encoding with `storage` codes and scales of the
/// weight's element type.
QuantEncodingAttr perChannelEncoding(const DenseWeight &weight, mlir::Type storage,
                                     QuantScheme scheme);

/// Makes `coded` the weight of `linear` (arrays named after `tag`) when it
/// is smaller than the dense weight (see commitIfSmaller).
bool commitCodedWeight(LinearOp linear, DenseWeight &weight, const CodedWeight &coded,
                       llvm::StringRef tag, int64_t resourceThreshold, llvm::StringRef passName);

/// max |W[n, :]| per output channel n.
std::vector<float> rowAbsMax(const DenseWeight &weight);

/// Erases `op` once unused, then the compressed producers only it used.
void eraseDeadProducers(mlir::Operation *op);

/// Arrays for a new weight of `linear`, named "<layer>.<tag>.<suffix>".
WeightBuilder makeArrays(LinearOp linear, llvm::StringRef tag, int64_t resourceThreshold);

/// Bytes a value of `type` occupies (dense tensors only).
int64_t denseBytes(mlir::RankedTensorType type);
/// Bytes of all arrays behind a compressed or dense constant weight value.
int64_t storedBytes(mlir::Value weight);

/// Makes `replacement` the weight of `linear` when it takes fewer bytes than
/// the dense weight; otherwise erases it (and its dead producers) and warns
/// naming the layer. Erases the dense constant once unused.
bool commitIfSmaller(LinearOp linear, DenseWeight &weight, mlir::Value replacement,
                     llvm::StringRef passName);

/// Raw bytes of `values` stored as `elementType` (f32, f16, bf16, ...).
std::vector<uint8_t> floatsAsBytes(llvm::ArrayRef<float> values, mlir::Type elementType);

/// A kiln.weight for `type` from packed payload and optional arrays.
WeightOp createWeight(mlir::OpBuilder &builder, mlir::Location loc, CompressedType type,
                      mlir::ElementsAttr payload, mlir::ElementsAttr scales = {},
                      mlir::ElementsAttr codebook = {}, mlir::ElementsAttr sparsityMeta = {});

/// `values` [rows, cols] as a kiln.weight of symmetric si<bits> codes with
/// one scale per row (low-rank and Tucker-2 factors); its arrays are
/// "[<suffix>.]payload" and "[<suffix>.]scales" of `arrays`.
WeightOp createPerRowQuantizedWeight(mlir::OpBuilder &builder, mlir::Location loc,
                                     llvm::ArrayRef<float> values, int64_t rows, int64_t cols,
                                     unsigned bits, mlir::Type elementType,
                                     WeightBuilder &arrays, llvm::StringRef suffix);

/// A kiln.weight of linear-scheme integer codes, as kiln-quantize-weights
/// makes them: si<bits> symmetric or ui<bits> with ui8 zero points, one
/// scale per output channel (groupSize 0) or per group along K.
WeightOp createLinearQuantWeight(mlir::OpBuilder &builder, LinearOp linear, const DenseWeight &weight,
                                 const codec::QuantizedMatrix &quantized, unsigned bits,
                                 int64_t groupSize, bool symmetric, llvm::StringRef tag,
                                 int64_t resourceThreshold);

} // namespace kiln::compression

#endif // KILN_LOWERING_COMPRESSION_COMPRESSIONUTILS_H

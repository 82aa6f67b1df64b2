//===- WeightBuilder.h - building the arrays of compressed weights -------===//
#ifndef KILN_LOWERING_WEIGHTBUILDER_H
#define KILN_LOWERING_WEIGHTBUILDER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"

#include <string>

namespace kiln {

/// Makes the arrays of a kiln.weight: small ones inline (readable in tests),
/// large ones as dense_resource blobs so that the IR prints small.
class WeightBuilder {
public:
  WeightBuilder(mlir::MLIRContext *context, int64_t resourceThreshold,
                std::string blobPrefix)
      : context(context), resourceThreshold(resourceThreshold),
        blobPrefix(std::move(blobPrefix)) {}

  /// A 1-D i8 tensor of packed bytes.
  mlir::ElementsAttr bytes(llvm::ArrayRef<uint8_t> data, llvm::StringRef suffix);
  /// A float tensor of `shape` and `elementType`, from row-major floats.
  mlir::ElementsAttr floats(llvm::ArrayRef<float> data, llvm::ArrayRef<int64_t> shape,
                            mlir::Type elementType, llvm::StringRef suffix);
  /// An 8-bit integer tensor of `shape` (values must fit `elementType`).
  mlir::ElementsAttr ints8(llvm::ArrayRef<int32_t> data, llvm::ArrayRef<int64_t> shape,
                           mlir::IntegerType elementType, llvm::StringRef suffix);

private:
  mlir::ElementsAttr fromBytes(mlir::RankedTensorType type,
                               llvm::ArrayRef<char> raw, llvm::StringRef suffix);
  mlir::MLIRContext *context;
  int64_t resourceThreshold;
  std::string blobPrefix;
};

} // namespace kiln

#endif // KILN_LOWERING_WEIGHTBUILDER_H

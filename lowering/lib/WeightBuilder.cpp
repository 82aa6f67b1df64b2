//===- WeightBuilder.cpp - building the arrays of compressed weights -----===//
#include "kiln/Lowering/WeightBuilder.h"
#include "kiln/Dialect/Semantics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

namespace kiln {

ElementsAttr WeightBuilder::fromBytes(RankedTensorType type, ArrayRef<char> raw,
                                      StringRef suffix) {
  if (int64_t(raw.size()) < resourceThreshold)
    return DenseElementsAttr::getFromRawBuffer(type, raw);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(raw);
  return DenseResourceElementsAttr::get(type, blobPrefix + "." + suffix.str(),
                                        std::move(blob));
}

ElementsAttr WeightBuilder::bytes(ArrayRef<uint8_t> data, StringRef suffix) {
  auto type = RankedTensorType::get({int64_t(data.size())}, IntegerType::get(context, 8));
  return fromBytes(type, ArrayRef<char>(reinterpret_cast<const char *>(data.data()), data.size()),
                   suffix);
}

ElementsAttr WeightBuilder::floats(ArrayRef<float> data, ArrayRef<int64_t> shape,
                                   Type elementType, StringRef suffix) {
  auto type = RankedTensorType::get(shape, elementType);
  DenseElementsAttr dense = buildDenseFloats(type, std::vector<float>(data.begin(), data.end()));
  FailureOr<std::vector<uint8_t>> raw = getElementBytes(dense); // expands splats
  if (int64_t(raw->size()) < resourceThreshold)
    return dense;
  return fromBytes(type, ArrayRef<char>(reinterpret_cast<const char *>(raw->data()), raw->size()),
                   suffix);
}

ElementsAttr WeightBuilder::ints8(ArrayRef<int32_t> data, ArrayRef<int64_t> shape,
                                  IntegerType elementType, StringRef suffix) {
  auto type = RankedTensorType::get(shape, elementType);
  std::vector<char> raw(data.size());
  for (size_t i = 0; i < data.size(); ++i)
    raw[i] = char(uint8_t(data[i]));
  return fromBytes(type, raw, suffix);
}

} // namespace kiln

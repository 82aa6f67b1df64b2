//===- KilnTypes.cpp - the compressed tensor type ------------------------===//
#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/KilnDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln;

#define GET_TYPEDEF_CLASSES
#include "kiln/Dialect/KilnTypes.cpp.inc"

void KilnDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "kiln/Dialect/KilnTypes.cpp.inc"
      >();
}

// !kiln.compressed<4x8xf32, quant = #kiln.quant<...>, sparsity = ..., low_rank = ...>
Type CompressedType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  Type elementType;
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false) ||
      parser.parseType(elementType))
    return {};
  QuantEncodingAttr quant;
  SparsityEncodingAttr sparsity;
  LowRankEncodingAttr lowRank;
  while (succeeded(parser.parseOptionalComma())) {
    StringRef key;
    Attribute value;
    SMLoc loc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key) || parser.parseEqual() ||
        parser.parseAttribute(value))
      return {};
    auto assign = [&](auto &slot) -> bool {
      using AttrT = std::remove_reference_t<decltype(slot)>;
      if (slot) {
        parser.emitError(loc) << "encoding '" << key << "' given twice";
        return false;
      }
      slot = dyn_cast<AttrT>(value);
      if (!slot) {
        parser.emitError(loc) << "encoding '" << key << "' has the wrong kind: "
                              << value;
        return false;
      }
      return true;
    };
    bool ok = key == "quant"      ? assign(quant)
              : key == "sparsity" ? assign(sparsity)
              : key == "low_rank" ? assign(lowRank)
                                  : (parser.emitError(loc)
                                         << "unknown encoding '" << key
                                         << "' (expected quant, sparsity or low_rank)",
                                     false);
    if (!ok)
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<CompressedType>(parser.getContext(), shape,
                                           elementType, quant, sparsity, lowRank);
}

void CompressedType::print(AsmPrinter &printer) const {
  printer << "<";
  printer.printDimensionList(getShape());
  printer << "x" << getElementType();
  if (getQuant())
    printer << ", quant = " << getQuant();
  if (getSparsity())
    printer << ", sparsity = " << getSparsity();
  if (getLowRank())
    printer << ", low_rank = " << getLowRank();
  printer << ">";
}

LogicalResult
CompressedType::verify(function_ref<InFlightDiagnostic()> emitError,
                       ArrayRef<int64_t> shape, Type elementType,
                       QuantEncodingAttr quant, SparsityEncodingAttr sparsity,
                       LowRankEncodingAttr lowRank) {
  if (shape.empty())
    return emitError() << "a compressed weight needs rank >= 1";
  for (int64_t dim : shape)
    if (dim <= 0)
      return emitError() << "compressed weight dimensions must be static and "
                            "positive, got "
                         << dim;
  if (!codec::checkedProduct(shape.data(), shape.size()))
    return emitError() << "compressed weight element count overflows int64";
  if (!isa<FloatType>(elementType))
    return emitError() << "compressed weights decompress to a float type, got "
                       << elementType;
  if (!quant && !sparsity && !lowRank)
    return emitError() << "a compressed weight needs at least one encoding";
  std::string why;
  if (quant && failed(quant.checkShape(shape, why)))
    return emitError() << why;
  if (sparsity && failed(sparsity.checkShape(shape, why)))
    return emitError() << why;
  if (lowRank) {
    if (shape.size() != 2)
      return emitError() << "low-rank weights must be 2-D, got rank "
                         << shape.size();
    if (lowRank.getRank() > std::min(shape[0], shape[1]))
      return emitError() << "low-rank rank " << lowRank.getRank()
                         << " exceeds min(N, K) = " << std::min(shape[0], shape[1]);
    if (quant || sparsity)
      return emitError() << "a low-rank weight carries no other encoding itself; "
                            "compress its factors instead";
  }
  return success();
}

CompressedType CompressedType::cloneWith(std::optional<ArrayRef<int64_t>> shape,
                                         Type elementType) const {
  return CompressedType::get(getContext(), shape ? *shape : getShape(),
                             elementType, getQuant(), getSparsity(), getLowRank());
}

RankedTensorType CompressedType::getDecompressedType() const {
  return RankedTensorType::get(getShape(), getElementType());
}

FailureOr<int64_t> CompressedType::getNumLogicalElements() const {
  std::optional<int64_t> count = codec::checkedProduct(getShape().data(), getShape().size());
  if (!count)
    return failure();
  return *count;
}

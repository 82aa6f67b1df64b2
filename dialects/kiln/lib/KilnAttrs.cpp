//===- KilnAttrs.cpp - encodings of compressed weights -------------------===//
#include "kiln/Dialect/KilnDialect.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln;

#include "kiln/Dialect/KilnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/Dialect/KilnAttrs.cpp.inc"

void KilnDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kiln/Dialect/KilnAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// QuantEncodingAttr
//===----------------------------------------------------------------------===//

static bool isFp8(Type type) {
  return isa<Float8E4M3FNType, Float8E5M2Type>(type);
}

unsigned QuantEncodingAttr::getBits() const {
  if (isFp8(getStorage()))
    return 8;
  return cast<IntegerType>(getStorage()).getWidth();
}

bool QuantEncodingAttr::isFloatStorage() const { return isFp8(getStorage()); }

bool QuantEncodingAttr::isSignedStorage() const {
  auto integer = dyn_cast<IntegerType>(getStorage());
  return integer && integer.isSigned();
}

LogicalResult
QuantEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          Type storage, QuantScheme scheme,
                          QuantGranularity granularity, int64_t axis,
                          int64_t groupSize, bool symmetric, Type scaleType,
                          Type zeroPointType, int64_t vectorSize) {
  if (isFp8(storage)) {
    if (scheme != QuantScheme::Linear)
      return emitError() << "fp8 storage only supports the linear scheme";
    if (!symmetric)
      return emitError() << "fp8 storage is symmetric (no zero point)";
  } else if (auto integer = dyn_cast<IntegerType>(storage)) {
    if (integer.isSignless())
      return emitError() << "integer storage must say its signedness (si"
                         << integer.getWidth() << " or ui" << integer.getWidth()
                         << ")";
    if (integer.getWidth() < 2 || integer.getWidth() > 8)
      return emitError() << "integer storage must be 2 to 8 bits, got "
                         << integer.getWidth();
  } else {
    return emitError() << "storage must be a 2-8 bit integer or an fp8 type, got "
                       << storage;
  }
  if (scheme == QuantScheme::Codebook) {
    if (!isa<IntegerType>(storage) || !cast<IntegerType>(storage).isUnsigned())
      return emitError() << "codebook indices must be unsigned integers";
    if (!symmetric)
      return emitError() << "codebook encodings have no zero point";
    if (granularity == QuantGranularity::PerChannel)
      return emitError() << "codebooks are per tensor or per group";
    if (vectorSize != 1 && vectorSize != 2 && vectorSize != 4)
      return emitError() << "codebook vector_size must be 1, 2 or 4, got "
                         << vectorSize;
  } else if (vectorSize != 1) {
    return emitError() << "vector_size is only meaningful for codebooks";
  }
  if (scheme == QuantScheme::Log2) {
    if (!isa<IntegerType>(storage) || !cast<IntegerType>(storage).isUnsigned())
      return emitError() << "log2 codes are unsigned (sign bit + exponent)";
    if (!symmetric)
      return emitError() << "log2 encodings have no zero point";
  }
  if (axis < 0)
    return emitError() << "axis must be non-negative, got " << axis;
  if (granularity == QuantGranularity::PerGroup) {
    if (groupSize <= 0)
      return emitError() << "per_group needs a positive group_size, got "
                         << groupSize;
  } else if (groupSize != 0) {
    return emitError() << "group_size is only meaningful with per_group";
  }
  if (!isa<FloatType>(scaleType))
    return emitError() << "scale_type must be a float type, got " << scaleType;
  if (symmetric && zeroPointType)
    return emitError() << "symmetric encodings have no zero_point_type";
  if (!symmetric) {
    if (!zeroPointType)
      return emitError() << "asymmetric encodings need a zero_point_type";
    if (!isa<IntegerType, FloatType>(zeroPointType))
      return emitError() << "zero_point_type must be an integer or float type";
  }
  return success();
}

SmallVector<int64_t>
QuantEncodingAttr::getScaleShape(ArrayRef<int64_t> shape) const {
  switch (getGranularity()) {
  case QuantGranularity::PerTensor:
    return {1};
  case QuantGranularity::PerChannel:
    return {shape[getAxis()]};
  case QuantGranularity::PerGroup: {
    SmallVector<int64_t> scaleShape(shape);
    scaleShape[getAxis()] /= getGroupSize();
    return scaleShape;
  }
  }
  llvm_unreachable("unknown granularity");
}

LogicalResult QuantEncodingAttr::checkShape(ArrayRef<int64_t> shape,
                                            std::string &why) const {
  llvm::raw_string_ostream os(why);
  if (getGranularity() == QuantGranularity::PerTensor)
    return success();
  if (getAxis() >= int64_t(shape.size())) {
    os << "quantization axis " << getAxis() << " is out of range for rank "
       << shape.size();
    return failure();
  }
  if (getGranularity() == QuantGranularity::PerGroup &&
      shape[getAxis()] % getGroupSize() != 0) {
    os << "group size " << getGroupSize() << " does not divide dimension "
       << getAxis() << " (size " << shape[getAxis()] << ")";
    return failure();
  }
  if (getScheme() == QuantScheme::Codebook && getVectorSize() > 1 &&
      shape.back() % getVectorSize() != 0) {
    os << "codebook vector_size " << getVectorSize()
       << " does not divide the last dimension (size " << shape.back() << ")";
    return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// SparsityEncodingAttr
//===----------------------------------------------------------------------===//

LogicalResult
SparsityEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                             SparsityKind kind, int64_t n, int64_t m,
                             FloatAttr density, ArrayRef<int64_t> blockShape) {
  switch (kind) {
  case SparsityKind::NM:
    if (m < 2 || m > 16)
      return emitError() << "n_m sparsity needs 2 <= m <= 16, got m = " << m;
    if (n < 1 || n >= m)
      return emitError() << "n_m sparsity needs 1 <= n < m, got n = " << n
                         << ", m = " << m;
    if (density || !blockShape.empty())
      return emitError() << "n_m sparsity takes only n and m";
    return success();
  case SparsityKind::Unstructured:
  case SparsityKind::Block:
    if (n != 0 || m != 0)
      return emitError() << "n and m are only meaningful for n_m sparsity";
    if (!density)
      return emitError() << "unstructured and block sparsity need a density";
    if (double d = density.getValueAsDouble(); !(d > 0.0 && d <= 1.0))
      return emitError() << "density must lie in (0, 1], got " << d;
    if (kind == SparsityKind::Unstructured && !blockShape.empty())
      return emitError() << "block_shape is only meaningful for block sparsity";
    if (kind == SparsityKind::Block) {
      if (blockShape.empty())
        return emitError() << "block sparsity needs a block_shape";
      for (int64_t dim : blockShape)
        if (dim <= 0)
          return emitError() << "block_shape dimensions must be positive";
    }
    return success();
  }
  llvm_unreachable("unknown sparsity kind");
}

unsigned SparsityEncodingAttr::getIndexBits() const {
  return llvm::Log2_64_Ceil(uint64_t(getM()));
}

LogicalResult SparsityEncodingAttr::checkShape(ArrayRef<int64_t> shape,
                                               std::string &why) const {
  llvm::raw_string_ostream os(why);
  if (getKind() == SparsityKind::NM && shape.back() % getM() != 0) {
    os << getN() << ":" << getM() << " sparsity needs the last dimension (size "
       << shape.back() << ") to be a multiple of " << getM();
    return failure();
  }
  if (getKind() == SparsityKind::Block) {
    ArrayRef<int64_t> block = getBlockShape();
    if (block.size() != shape.size()) {
      os << "block_shape has rank " << block.size() << " but the weight has rank "
         << shape.size();
      return failure();
    }
    for (auto [dim, blockDim] : llvm::zip(shape, block))
      if (dim % blockDim != 0) {
        os << "block dimension " << blockDim << " does not divide weight dimension "
           << dim;
        return failure();
      }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// LowRankEncodingAttr
//===----------------------------------------------------------------------===//

LogicalResult
LowRankEncodingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                            int64_t rank, FactorLayout layout) {
  if (rank <= 0)
    return emitError() << "low-rank rank must be positive, got " << rank;
  return success();
}

SmallVector<int64_t, 2>
LowRankEncodingAttr::getFirstFactorShape(ArrayRef<int64_t> shape) const {
  if (getLayout() == FactorLayout::UtV)
    return {getRank(), shape[0]};
  return {shape[0], getRank()};
}

SmallVector<int64_t, 2>
LowRankEncodingAttr::getSecondFactorShape(ArrayRef<int64_t> shape) const {
  return {getRank(), shape[1]};
}

//===- CalibrationElements.cpp - element types of calibration inputs -----===//
#include "CalibrationElements.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/Twine.h"

#include <cstring>
#include <limits>

using namespace mlir;

namespace kiln::compression {

namespace {

struct KindInfo {
  ElementKind kind;
  llvm::StringRef numpy;  ///< numpy's dtype name
  llvm::StringRef onnx;   ///< the importer's kiln.dtype spelling
  llvm::StringRef descr;  ///< the .npy descr without its byte-order mark
  uint64_t onnxDataType;
  unsigned bytes;
};

constexpr KindInfo kKinds[] = {
    {ElementKind::F16, "float16", "float16", "f2", 10, 2},
    {ElementKind::BF16, "bfloat16", "bfloat16", "", 16, 2},
    {ElementKind::F32, "float32", "float", "f4", 1, 4},
    {ElementKind::F64, "float64", "double", "f8", 11, 8},
    {ElementKind::I8, "int8", "int8", "i1", 3, 1},
    {ElementKind::I16, "int16", "int16", "i2", 5, 2},
    {ElementKind::I32, "int32", "int32", "i4", 6, 4},
    {ElementKind::I64, "int64", "int64", "i8", 7, 8},
    {ElementKind::U8, "uint8", "uint8", "u1", 2, 1},
    {ElementKind::U16, "uint16", "uint16", "u2", 4, 2},
    {ElementKind::U32, "uint32", "uint32", "u4", 12, 4},
    {ElementKind::U64, "uint64", "uint64", "u8", 13, 8},
    {ElementKind::Bool, "bool", "bool", "b1", 9, 1},
};

const KindInfo &info(ElementKind kind) {
  for (const KindInfo &entry : kKinds)
    if (entry.kind == kind)
      return entry;
  llvm_unreachable("every element kind is in kKinds");
}

llvm::Error failure(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

bool isUnsignedKind(ElementKind kind) {
  return kind == ElementKind::U8 || kind == ElementKind::U16 || kind == ElementKind::U32 ||
         kind == ElementKind::U64 || kind == ElementKind::Bool;
}

const llvm::fltSemantics &halfSemantics(ElementKind kind) {
  return kind == ElementKind::F16 ? llvm::APFloat::IEEEhalf() : llvm::APFloat::BFloat();
}

double readFloat(const uint8_t *at, ElementKind kind) {
  if (kind == ElementKind::F32) {
    float value;
    std::memcpy(&value, at, 4);
    return value;
  }
  if (kind == ElementKind::F64) {
    double value;
    std::memcpy(&value, at, 8);
    return value;
  }
  uint16_t bits;
  std::memcpy(&bits, at, 2);
  return llvm::APFloat(halfSemantics(kind), llvm::APInt(16, bits)).convertToDouble();
}

void writeFloat(uint8_t *at, ElementKind kind, double value) {
  if (kind == ElementKind::F32) {
    float narrow = float(value);
    std::memcpy(at, &narrow, 4);
  } else if (kind == ElementKind::F64) {
    std::memcpy(at, &value, 8);
  } else {
    llvm::APFloat half(value);
    bool losesInfo;
    (void)half.convert(halfSemantics(kind), llvm::APFloat::rmNearestTiesToEven, &losesInfo);
    uint16_t bits = uint16_t(half.bitcastToAPInt().getZExtValue());
    std::memcpy(at, &bits, 2);
  }
}

/// An integer element; `huge` marks a uint64 above INT64_MAX.
struct Integer {
  int64_t value;
  bool huge;
};

Integer readInteger(const uint8_t *at, ElementKind kind) {
  unsigned bytes = elementKindBytes(kind);
  uint64_t bits = 0;
  std::memcpy(&bits, at, bytes); // little-endian host
  if (isUnsignedKind(kind))
    return {int64_t(bits), bytes == 8 && bits > uint64_t(std::numeric_limits<int64_t>::max())};
  unsigned shift = 64 - 8 * bytes; // sign-extend
  return {int64_t(bits << shift) >> shift, false};
}

/// Whether `value` is representable in the integer or bool kind `kind`.
bool fits(Integer value, ElementKind kind) {
  if (value.huge)
    return kind == ElementKind::U64;
  if (kind == ElementKind::Bool)
    return value.value == 0 || value.value == 1;
  unsigned bits = 8 * elementKindBytes(kind);
  if (isUnsignedKind(kind))
    return value.value >= 0 && (bits == 64 || value.value < (int64_t(1) << bits));
  if (bits == 64)
    return true;
  int64_t limit = int64_t(1) << (bits - 1);
  return value.value >= -limit && value.value < limit;
}

} // namespace

llvm::StringRef elementKindName(ElementKind kind) { return info(kind).numpy; }
unsigned elementKindBytes(ElementKind kind) { return info(kind).bytes; }
bool isFloatKind(ElementKind kind) {
  return kind == ElementKind::F16 || kind == ElementKind::BF16 || kind == ElementKind::F32 ||
         kind == ElementKind::F64;
}

std::optional<ElementKind> argumentElementKind(func::FuncOp func, unsigned index) {
  auto type = dyn_cast<ShapedType>(func.getArgument(index).getType());
  if (!type)
    return std::nullopt;
  Type element = type.getElementType();
  std::optional<ElementKind> kind;
  if (element.isF16()) kind = ElementKind::F16;
  else if (element.isBF16()) kind = ElementKind::BF16;
  else if (element.isF32()) kind = ElementKind::F32;
  else if (element.isF64()) kind = ElementKind::F64;
  else if (element.isInteger(1)) kind = ElementKind::Bool;
  else if (element.isInteger(8)) kind = ElementKind::I8;
  else if (element.isInteger(16)) kind = ElementKind::I16;
  else if (element.isInteger(32)) kind = ElementKind::I32;
  else if (element.isInteger(64)) kind = ElementKind::I64;
  if (!kind)
    return std::nullopt;
  // kiln.dtype tells unsigned from signed integers of the same width.
  if (auto onnx = func.getArgAttrOfType<StringAttr>(index, "kiln.dtype"))
    for (const KindInfo &entry : kKinds)
      if (entry.onnx == onnx.getValue() && entry.bytes == elementKindBytes(*kind))
        return entry.kind;
  return kind;
}

std::optional<ElementKind> elementKindFromNpyDescr(llvm::StringRef descr) {
  // '<' little-endian, '|' byte-sized, '=' native (x86-64: little-endian).
  if (descr.size() != 3 || !llvm::StringRef("<|=").contains(descr[0]))
    return std::nullopt;
  for (const KindInfo &entry : kKinds)
    if (!entry.descr.empty() && entry.descr == descr.drop_front())
      return entry.kind;
  return std::nullopt;
}

std::optional<ElementKind> elementKindFromOnnx(uint64_t dataType) {
  for (const KindInfo &entry : kKinds)
    if (entry.onnxDataType == dataType)
      return entry.kind;
  return std::nullopt;
}

llvm::Expected<std::vector<uint8_t>> convertElements(llvm::ArrayRef<uint8_t> bytes,
                                                     ElementKind from, ElementKind to) {
  if (from == to)
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
  if (isFloatKind(from) != isFloatKind(to))
    return failure("holds " + elementKindName(from) + " values but the input takes " +
                   elementKindName(to) + "; save the array as " + elementKindName(to));
  size_t count = bytes.size() / elementKindBytes(from);
  std::vector<uint8_t> converted(count * elementKindBytes(to));
  for (size_t i = 0; i < count; ++i) {
    const uint8_t *source = bytes.data() + i * elementKindBytes(from);
    uint8_t *target = converted.data() + i * elementKindBytes(to);
    if (isFloatKind(from)) {
      writeFloat(target, to, readFloat(source, from));
      continue;
    }
    Integer value = readInteger(source, from);
    if (!fits(value, to))
      return failure("element " + llvm::Twine(i) + " is " +
                     (value.huge ? llvm::Twine(uint64_t(value.value)) : llvm::Twine(value.value)) +
                     ", which " + elementKindName(to) + " cannot hold");
    std::memcpy(target, &value.value, elementKindBytes(to)); // little-endian host
  }
  return converted;
}

std::vector<float> elementsAsFloats(llvm::ArrayRef<uint8_t> bytes, ElementKind kind) {
  size_t count = bytes.size() / elementKindBytes(kind);
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t *at = bytes.data() + i * elementKindBytes(kind);
    if (isFloatKind(kind)) {
      values[i] = float(readFloat(at, kind));
      continue;
    }
    Integer value = readInteger(at, kind);
    values[i] = value.huge ? float(uint64_t(value.value)) : float(value.value);
  }
  return values;
}

std::vector<uint8_t> floatsAsElements(llvm::ArrayRef<float> values, ElementKind kind) {
  std::vector<uint8_t> bytes(values.size() * elementKindBytes(kind));
  for (size_t i = 0; i < values.size(); ++i)
    writeFloat(bytes.data() + i * elementKindBytes(kind), kind, values[i]);
  return bytes;
}

} // namespace kiln::compression

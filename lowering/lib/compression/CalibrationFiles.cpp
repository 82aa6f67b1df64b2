//===- CalibrationFiles.cpp - calibration inputs from .npz/.npy/.pb files -===//
#include "Calibration.h"
#include "CalibrationElements.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;

namespace kiln::compression {

namespace {

/// An array as a file holds it: its shape, element kind and the raw
/// little-endian elements.
struct Array {
  std::vector<int64_t> shape;
  ElementKind kind = ElementKind::F32;
  std::vector<uint8_t> bytes;
};

llvm::Error fileError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The quoted value of `key` in a .npy header ("'descr': '<f4'").
llvm::StringRef headerString(llvm::StringRef header, llvm::StringRef key) {
  size_t at = header.find(("'" + key + "':").str());
  if (at == llvm::StringRef::npos)
    return {};
  llvm::StringRef rest = header.drop_front(at + key.size() + 3).ltrim();
  if (rest.empty() || rest.front() != '\'')
    return {};
  return rest.drop_front().take_until([](char c) { return c == '\''; });
}

/// Parses one .npy image: C order, little-endian (or byte-sized) numbers
/// or bools.
llvm::Expected<Array> parseNpy(llvm::StringRef data, llvm::StringRef name) {
  if (!data.starts_with("\x93NUMPY") || data.size() < 10)
    return fileError(name + ": not a .npy array");
  unsigned major = uint8_t(data[6]);
  if (major != 1 && data.size() < 12)
    return fileError(name + ": truncated .npy header");
  size_t headerLength = major == 1 ? uint8_t(data[8]) | (uint8_t(data[9]) << 8)
                                   : uint32_t(uint8_t(data[8]) | (uint8_t(data[9]) << 8) |
                                              (uint8_t(data[10]) << 16) | (uint8_t(data[11]) << 24));
  size_t start = (major == 1 ? 10 : 12) + headerLength;
  if (start > data.size())
    return fileError(name + ": truncated .npy header");
  llvm::StringRef header = data.substr(major == 1 ? 10 : 12, headerLength);
  llvm::StringRef descr = headerString(header, "descr");
  std::optional<ElementKind> kind = elementKindFromNpyDescr(descr);
  if (!kind)
    return fileError(name + ": numpy dtype '" + descr + "' cannot be calibration data; save "
                     "little-endian numbers or bools (float32, int64, bool, ...)");
  if (header.contains("'fortran_order': True"))
    return fileError(name + ": Fortran-ordered arrays are not supported; save with C order");
  size_t open = header.find("'shape': ("), close = header.find(')', open);
  if (open == llvm::StringRef::npos || close == llvm::StringRef::npos)
    return fileError(name + ": .npy header has no shape");
  Array array;
  array.kind = *kind;
  llvm::SmallVector<llvm::StringRef> dims;
  header.slice(open + 10, close).split(dims, ',', -1, /*KeepEmpty=*/false);
  int64_t count = 1, bytes;
  for (llvm::StringRef dim : dims) {
    int64_t size;
    if (dim.trim().getAsInteger(10, size) || size < 0 || __builtin_mul_overflow(count, size, &count))
      return fileError(name + ": bad shape in the .npy header");
    array.shape.push_back(size);
  }
  if (__builtin_mul_overflow(count, int64_t(elementKindBytes(*kind)), &bytes) ||
      data.size() - start < uint64_t(bytes))
    return fileError(name + ": .npy data is shorter than its shape says");
  array.bytes.assign(data.begin() + start, data.begin() + start + bytes);
  return array;
}

/// The arrays of an .npz (a zip of .npy files, stored uncompressed).
llvm::Error readNpz(llvm::StringRef data, llvm::StringRef path, llvm::StringMap<Array> &arrays) {
  size_t offset = 0;
  auto u16 = [&](size_t at) { return uint32_t(uint8_t(data[at]) | (uint8_t(data[at + 1]) << 8)); };
  auto u32 = [&](size_t at) { return u16(at) | (u16(at + 2) << 16); };
  while (offset + 30 <= data.size() && data.substr(offset, 4) == "PK\x03\x04") {
    uint32_t method = u16(offset + 8), nameLength = u16(offset + 26), extraLength = u16(offset + 28);
    uint64_t size = u32(offset + 18);
    // numpy writes ZIP64 entries: the real size is in the 0x0001 extra field.
    for (size_t extra = offset + 30 + nameLength, end = extra + extraLength;
         size == 0xFFFFFFFFu && extra + 4 <= end && end <= data.size();) {
      uint32_t id = u16(extra), length = u16(extra + 2);
      if (id == 0x0001 && length >= 16 && extra + 4 + 16 <= end)
        size = uint64_t(u32(extra + 12)) | (uint64_t(u32(extra + 16)) << 32); // compressed size
      extra += 4 + length;
    }
    if (method != 0)
      return fileError(path + ": compressed .npz entries are not supported; save with "
                              "numpy.savez, not numpy.savez_compressed");
    if (u16(offset + 6) & 0x8)
      return fileError(path + ": .npz entries with trailing data descriptors are not supported");
    size_t start = offset + 30 + nameLength + extraLength;
    if (start + size > data.size())
      return fileError(path + ": truncated .npz file");
    std::string name = data.substr(offset + 30, nameLength).str();
    llvm::Expected<Array> array = parseNpy(data.substr(start, size), (path + ":" + name).str());
    if (!array)
      return array.takeError();
    arrays[llvm::StringRef(name).drop_back(name.size() >= 4 && llvm::StringRef(name).ends_with(".npy") ? 4 : 0)] =
        std::move(*array);
    offset = start + size;
  }
  if (arrays.empty())
    return fileError(path + ": no arrays found (expected an .npz written by numpy.savez)");
  return llvm::Error::success();
}

/// Reads a protobuf varint at `at`; false when it runs past the end.
bool readVarint(llvm::StringRef data, size_t &at, uint64_t &value) {
  value = 0;
  for (unsigned shift = 0; shift < 64 && at < data.size(); shift += 7) {
    uint8_t byte = uint8_t(data[at++]);
    value |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80))
      return true;
  }
  return false;
}

/// The values of a TensorProto's typed fields, before its data_type says
/// what they are.
struct TypedFields {
  std::vector<float> floats;      ///< float_data
  std::vector<double> doubles;    ///< double_data
  std::vector<uint64_t> integers; ///< int32_data, int64_data or uint64_data (varints)
};

/// Appends the fixed-width values of a float_data / double_data field.
template <typename T> void appendFixed(llvm::StringRef bytes, std::vector<T> &values) {
  for (size_t i = 0; i + sizeof(T) <= bytes.size(); i += sizeof(T)) {
    T value;
    std::memcpy(&value, bytes.data() + i, sizeof(T));
    values.push_back(value);
  }
}

/// The typed fields as raw little-endian elements of `kind` (integer fields
/// carry 16-bit floats as their bit patterns, as ONNX stores them).
std::vector<uint8_t> typedFieldBytes(const TypedFields &fields, ElementKind kind) {
  if (kind == ElementKind::F32)
    return floatsAsElements(fields.floats, kind);
  std::vector<uint8_t> bytes;
  auto append = [&](const void *value) {
    const uint8_t *at = static_cast<const uint8_t *>(value);
    bytes.insert(bytes.end(), at, at + elementKindBytes(kind));
  };
  for (double value : fields.doubles)
    append(&value);
  for (uint64_t value : fields.integers)
    append(&value); // little-endian: the low bytes hold the narrower value
  return bytes;
}

/// Parses one serialized onnx.TensorProto (any number or bool data type,
/// in raw_data or its typed field); its `name` (or `fallbackName`) names it.
llvm::Expected<std::pair<std::string, Array>> parseTensorProto(llvm::StringRef data,
                                                               llvm::StringRef path,
                                                               llvm::StringRef fallbackName) {
  enum : uint64_t { kDims = 1, kDataType = 2, kFloatData = 4, kInt32Data = 5, kInt64Data = 7,
                    kName = 8, kRawData = 9, kDoubleData = 10, kUint64Data = 11,
                    kDataLocation = 14 };
  enum : uint64_t { kExternal = 1 };
  Array array;
  std::string name;
  uint64_t dataType = 0;
  llvm::StringRef raw;
  TypedFields fields;
  std::vector<uint64_t> dims;
  auto truncated = [&] { return fileError(path + ": not a valid ONNX TensorProto (truncated)"); };
  for (size_t at = 0; at < data.size();) {
    uint64_t key, value;
    if (!readVarint(data, at, key))
      return truncated();
    uint64_t field = key >> 3, wire = key & 7;
    llvm::StringRef bytes;
    if (wire == 0) {
      if (!readVarint(data, at, value))
        return truncated();
    } else if (wire == 1 || wire == 5) {
      size_t width = wire == 1 ? 8 : 4;
      if (data.size() - at < width)
        return truncated();
      bytes = data.substr(at, width);
      at += width;
    } else if (wire == 2) {
      if (!readVarint(data, at, value) || value > data.size() - at)
        return truncated();
      bytes = data.substr(at, size_t(value));
      at += size_t(value);
    } else {
      return fileError(path + ": not a valid ONNX TensorProto (wire type " + llvm::Twine(wire) + ")");
    }
    bool varintField = field == kDims || field == kInt32Data || field == kInt64Data ||
                       field == kUint64Data;
    std::vector<uint64_t> &varints = field == kDims ? dims : fields.integers;
    if (varintField && wire == 0) {
      varints.push_back(value);
    } else if (varintField && wire == 2) {
      for (size_t i = 0; i < bytes.size();) {
        if (!readVarint(bytes, i, value))
          return truncated();
        varints.push_back(value);
      }
    } else if (field == kDataType && wire == 0) {
      dataType = value;
    } else if (field == kName && wire == 2) {
      name = bytes.str();
    } else if (field == kRawData && wire == 2) {
      raw = bytes;
    } else if (field == kFloatData && (wire == 2 || wire == 5)) {
      appendFixed(bytes, fields.floats);
    } else if (field == kDoubleData && (wire == 2 || wire == 1)) {
      appendFixed(bytes, fields.doubles);
    } else if (field == kDataLocation && wire == 0 && value == kExternal) {
      return fileError(path + ": TensorProto with external data is not supported; save the "
                              "values inside the .pb file");
    }
  }
  for (uint64_t dim : dims)
    array.shape.push_back(int64_t(dim));
  if (name.empty())
    name = fallbackName.str();
  std::optional<ElementKind> kind = elementKindFromOnnx(dataType);
  if (!kind)
    return fileError(path + ": tensor '" + name + "' has ONNX data type " +
                     llvm::Twine(dataType) + ", which calibration cannot feed (numbers and "
                     "bools only)");
  array.kind = *kind;
  int64_t count = 1;
  for (int64_t dim : array.shape)
    if (dim < 0 || __builtin_mul_overflow(count, dim, &count))
      return fileError(path + ": tensor '" + name + "' has a bad shape");
  size_t width = elementKindBytes(*kind);
  if (!raw.empty()) {
    if (raw.size() / width != size_t(count) || raw.size() % width)
      return fileError(path + ": tensor '" + name + "' has " + llvm::Twine(raw.size()) +
                       " bytes of raw data; its shape needs " + llvm::Twine(size_t(count) * width));
    array.bytes.assign(raw.begin(), raw.end());
  } else {
    array.bytes = typedFieldBytes(fields, *kind);
  }
  if (array.bytes.size() / width != size_t(count))
    return fileError(path + ": tensor '" + name + "' has " +
                     llvm::Twine(array.bytes.size() / width) + " values; its shape needs " +
                     llvm::Twine(count));
  return std::make_pair(std::move(name), std::move(array));
}

std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string text;
  for (int64_t d : shape)
    text += (text.empty() ? "" : "x") + std::to_string(d);
  return text;
}

/// Adds `array` under `name`; arrays of the same name (from several ONNX
/// test_data_set_* folders) are concatenated along their first dimension.
llvm::Error addArray(llvm::StringMap<Array> &arrays, llvm::StringRef name, Array array,
                     llvm::StringRef path) {
  auto [it, inserted] = arrays.try_emplace(name, std::move(array));
  if (inserted)
    return llvm::Error::success();
  Array &existing = it->second;
  if (existing.shape.empty() || array.shape.size() != existing.shape.size() ||
      !llvm::equal(llvm::ArrayRef(array.shape).drop_front(),
                   llvm::ArrayRef(existing.shape).drop_front()))
    return fileError(path + ": tensor '" + name + "' has shape " + shapeText(array.shape) +
                     " but an earlier data set's is " + shapeText(existing.shape));
  if (array.kind != existing.kind)
    return fileError(path + ": tensor '" + name + "' holds " + elementKindName(array.kind) +
                     " but an earlier data set's holds " + elementKindName(existing.kind));
  existing.shape[0] += array.shape[0];
  existing.bytes.insert(existing.bytes.end(), array.bytes.begin(), array.bytes.end());
  return llvm::Error::success();
}

/// Reads one calibration file: .npy, or an ONNX TensorProto .pb.
llvm::Error readArrayFile(llvm::StringRef path, llvm::StringMap<Array> &arrays) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fileError(path + ": cannot read: " + buffer.getError().message());
  llvm::StringRef stem = llvm::sys::path::stem(path);
  if (path.ends_with(".pb")) {
    auto tensor = parseTensorProto((*buffer)->getBuffer(), path, stem);
    if (!tensor)
      return tensor.takeError();
    return addArray(arrays, tensor->first, std::move(tensor->second), path);
  }
  llvm::Expected<Array> array = parseNpy((*buffer)->getBuffer(), path);
  if (!array)
    return array.takeError();
  return addArray(arrays, stem, std::move(*array), path);
}

/// The .npy and .pb files of a folder, sorted (ONNX test data's
/// "output_*.pb" files are expected outputs, not inputs: skipped), and its
/// "test_data_set_*" subfolders.
llvm::Error listFolder(llvm::StringRef path, std::vector<std::string> &files,
                       std::vector<std::string> &dataSets) {
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(path, ec), end; it != end && !ec; it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    llvm::StringRef extension = llvm::sys::path::extension(name);
    if (llvm::sys::fs::is_directory(it->path()) && name.starts_with("test_data_set_"))
      dataSets.push_back(it->path());
    else if (extension == ".npy" || (extension == ".pb" && !name.starts_with("output_")))
      files.push_back(it->path());
  }
  if (ec)
    return fileError(path + ": cannot list the calibration folder: " + ec.message());
  llvm::sort(files);
  llvm::sort(dataSets);
  return llvm::Error::success();
}

llvm::Error readFolder(llvm::StringRef path, llvm::StringMap<Array> &arrays) {
  std::vector<std::string> files, dataSets;
  if (llvm::Error error = listFolder(path, files, dataSets))
    return error;
  for (const std::string &dataSet : dataSets) {
    std::vector<std::string> setFiles, nested;
    if (llvm::Error error = listFolder(dataSet, setFiles, nested))
      return error;
    files.insert(files.end(), setFiles.begin(), setFiles.end());
  }
  if (files.empty())
    return fileError(path + ": no .npy or .pb files found in the calibration folder");
  for (const std::string &file : files)
    if (llvm::Error error = readArrayFile(file, arrays))
      return error;
  return llvm::Error::success();
}

llvm::Error readArrays(llvm::StringRef path, llvm::StringMap<Array> &arrays) {
  if (llvm::sys::fs::is_directory(path))
    return readFolder(path, arrays);
  if (path.ends_with(".npy") || path.ends_with(".pb"))
    return readArrayFile(path, arrays);
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fileError(path + ": cannot read: " + buffer.getError().message());
  return readNpz((*buffer)->getBuffer(), path, arrays);
}

std::string argumentName(func::FuncOp func, unsigned index) {
  if (auto name = func.getArgAttrOfType<StringAttr>(index, "kiln.name"))
    return name.str();
  return "arg" + std::to_string(index);
}

/// Fails, naming the input and saying what to do, when calibration cannot
/// feed argument `index`: a symbolic dimension, an element type it cannot
/// hold, or (for `synthetic` runs) an input that is not floats.
llvm::Error checkFeedable(func::FuncOp func, unsigned index, bool synthetic) {
  std::string name = argumentName(func, index);
  auto type = dyn_cast<RankedTensorType>(func.getArgument(index).getType());
  if (!type)
    return fileError("input '" + name + "' is not a ranked tensor; calibration cannot feed it");
  auto dimNames = func.getArgAttrOfType<ArrayAttr>(index, "kiln.dims");
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d))
      continue;
    if (dimNames && int64_t(dimNames.size()) == type.getRank())
      if (auto named = dyn_cast<StringAttr>(dimNames[d]); named && !named.getValue().empty())
        return fileError("input '" + name + "' has the symbolic dimension '" + named.getValue() +
                         "'; calibration runs static shapes: pin it with --dim " +
                         named.getValue() + "=SIZE");
    return fileError("input '" + name + "' has a dynamic dimension " + llvm::Twine(d) +
                     " with no name; calibration runs static shapes: give the model a static "
                     "size there");
  }
  std::optional<ElementKind> kind = argumentElementKind(func, index);
  std::string typeText;
  llvm::raw_string_ostream(typeText) << type.getElementType();
  if (!kind)
    return fileError("input '" + name + "' has element type " + typeText +
                     ", which calibration cannot feed");
  if (synthetic && !isFloatKind(*kind))
    return fileError("input '" + name + "' is " + elementKindName(*kind) +
                     "; without calibration data Kiln draws standard-normal floats, which "
                     "cannot stand in for it: give real inputs with --calib (an .npz with an "
                     "array named '" + name + "' of " + elementKindName(*kind) + ")");
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::vector<CalibrationRun>> loadCalibrationRuns(func::FuncOp func,
                                                                llvm::StringRef path) {
  llvm::StringMap<Array> arrays;
  if (llvm::Error error = readArrays(path, arrays))
    return std::move(error);
  std::vector<std::string> names;
  for (const auto &entry : arrays)
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  std::string available = llvm::join(names, ", ");
  std::vector<CalibrationRun> runs;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    std::string name = argumentName(func, i);
    if (llvm::Error error = checkFeedable(func, i, /*synthetic=*/false))
      return fileError(path + ": " + llvm::toString(std::move(error)));
    auto it = arrays.find(name);
    if (it == arrays.end() && func.getNumArguments() == 1 && arrays.size() == 1)
      it = arrays.begin(); // one input, one array: no need to match names
    if (it == arrays.end())
      return fileError(path + ": no calibration array for input '" + name + "' (found: " +
                       available + ")");
    auto type = cast<RankedTensorType>(func.getArgument(i).getType());
    // The array is [runs * batch, rest...] or [runs, shape...] or the shape.
    const Array &array = it->second;
    int64_t perRun = type.getNumElements();
    llvm::ArrayRef<int64_t> shape = type.getShape(), arrayShape = array.shape;
    bool sameTail = arrayShape.size() == shape.size() && !shape.empty() &&
                    arrayShape.drop_front() == shape.drop_front() && shape[0] > 0 &&
                    arrayShape[0] % shape[0] == 0;
    bool stacked = arrayShape.size() == shape.size() + 1 && arrayShape.drop_front() == shape;
    if (!sameTail && !stacked) {
      return fileError(path + ": calibration array '" + it->getKey() + "' has shape " +
                       shapeText(arrayShape) + " but input '" + name + "' is " + shapeText(shape) +
                       " (give N x that shape, or a multiple of its first dimension)");
    }
    if (perRun == 0)
      return fileError(path + ": input '" + name + "' has no elements; calibration cannot feed it");
    ElementKind kind = *argumentElementKind(func, i);
    llvm::Expected<std::vector<uint8_t>> values = convertElements(array.bytes, array.kind, kind);
    if (!values)
      return fileError(path + ": calibration array '" + it->getKey() + "' for input '" + name +
                       "': " + llvm::toString(values.takeError()));
    size_t bytesPerRun = size_t(perRun) * elementKindBytes(kind);
    size_t count = values->size() / bytesPerRun;
    if (i == 0)
      runs.resize(count);
    else if (count != runs.size())
      return fileError(path + ": input '" + name + "' has " + std::to_string(count) +
                       " calibration runs but the first input has " + std::to_string(runs.size()));
    for (size_t r = 0; r < count; ++r)
      runs[r].emplace_back(values->begin() + r * bytesPerRun, values->begin() + (r + 1) * bytesPerRun);
  }
  return runs;
}

llvm::Expected<std::vector<CalibrationRun>> calibrationRuns(func::FuncOp func,
                                                            const CalibrationSettings &source) {
  if (source.path.empty()) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (llvm::Error error = checkFeedable(func, i, /*synthetic=*/true))
        return std::move(error);
    return syntheticRuns(func, source.samples, source.seed);
  }
  return loadCalibrationRuns(func, source.path);
}

} // namespace kiln::compression

//===- CalibrationFiles.cpp - calibration inputs from .npz/.npy/.pb files -===//
#include "Calibration.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>

using namespace mlir;

namespace kiln::compression {

namespace {

struct Array {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

llvm::Error fileError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Parses one .npy image: little-endian f4 or f8, C order.
llvm::Expected<Array> parseNpy(llvm::StringRef data, llvm::StringRef name) {
  if (!data.starts_with("\x93NUMPY") || data.size() < 10)
    return fileError(name + ": not a .npy array");
  unsigned major = uint8_t(data[6]);
  size_t headerLength = major == 1 ? uint8_t(data[8]) | (uint8_t(data[9]) << 8)
                                   : uint32_t(uint8_t(data[8]) | (uint8_t(data[9]) << 8) |
                                              (uint8_t(data[10]) << 16) | (uint8_t(data[11]) << 24));
  size_t start = (major == 1 ? 10 : 12) + headerLength;
  if (start > data.size())
    return fileError(name + ": truncated .npy header");
  llvm::StringRef header = data.substr(major == 1 ? 10 : 12, headerLength);
  bool f4 = header.contains("'<f4'"), f8 = header.contains("'<f8'");
  if (!f4 && !f8)
    return fileError(name + ": calibration arrays must be float32 or float64 (little-endian)");
  if (header.contains("'fortran_order': True"))
    return fileError(name + ": Fortran-ordered arrays are not supported; save with C order");
  size_t open = header.find("'shape': ("), close = header.find(')', open);
  if (open == llvm::StringRef::npos || close == llvm::StringRef::npos)
    return fileError(name + ": .npy header has no shape");
  Array array;
  llvm::SmallVector<llvm::StringRef> dims;
  header.slice(open + 10, close).split(dims, ',', -1, /*KeepEmpty=*/false);
  int64_t count = 1;
  for (llvm::StringRef dim : dims) {
    int64_t size;
    if (dim.trim().getAsInteger(10, size) || size < 0 || __builtin_mul_overflow(count, size, &count))
      return fileError(name + ": bad shape in the .npy header");
    array.shape.push_back(size);
  }
  size_t width = f4 ? 4 : 8;
  if (data.size() - start < size_t(count) * width)
    return fileError(name + ": .npy data is shorter than its shape says");
  array.values.resize(size_t(count));
  for (int64_t i = 0; i < count; ++i) {
    const char *at = data.data() + start + size_t(i) * width;
    if (f4) {
      std::memcpy(&array.values[i], at, 4);
    } else {
      double value;
      std::memcpy(&value, at, 8);
      array.values[i] = float(value);
    }
  }
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

/// Parses one serialized onnx.TensorProto (FLOAT or DOUBLE, raw_data or
/// float_data / double_data); its `name` (or `fallbackName`) names it.
llvm::Expected<std::pair<std::string, Array>> parseTensorProto(llvm::StringRef data,
                                                               llvm::StringRef path,
                                                               llvm::StringRef fallbackName) {
  enum : uint64_t { kDims = 1, kDataType = 2, kFloatData = 4, kName = 8, kRawData = 9,
                    kDoubleData = 10, kDataLocation = 14 };
  enum : uint64_t { kFloat = 1, kDouble = 11, kExternal = 1 };
  Array array;
  std::string name;
  uint64_t dataType = 0;
  llvm::StringRef raw;
  std::vector<double> typed;
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
    if (field == kDims && wire == 0) {
      array.shape.push_back(int64_t(value));
    } else if (field == kDims && wire == 2) {
      for (size_t i = 0; i < bytes.size();) {
        if (!readVarint(bytes, i, value))
          return truncated();
        array.shape.push_back(int64_t(value));
      }
    } else if (field == kDataType && wire == 0) {
      dataType = value;
    } else if (field == kName && wire == 2) {
      name = bytes.str();
    } else if (field == kRawData && wire == 2) {
      raw = bytes;
    } else if ((field == kFloatData && (wire == 2 || wire == 5)) ||
               (field == kDoubleData && (wire == 2 || wire == 1))) {
      size_t width = field == kFloatData ? 4 : 8;
      for (size_t i = 0; i + width <= bytes.size(); i += width) {
        if (width == 4) {
          float element;
          std::memcpy(&element, bytes.data() + i, 4);
          typed.push_back(element);
        } else {
          double element;
          std::memcpy(&element, bytes.data() + i, 8);
          typed.push_back(element);
        }
      }
    } else if (field == kDataLocation && wire == 0 && value == kExternal) {
      return fileError(path + ": TensorProto with external data is not supported; save the "
                              "values inside the .pb file");
    }
  }
  if (name.empty())
    name = fallbackName.str();
  if (dataType != kFloat && dataType != kDouble)
    return fileError(path + ": tensor '" + name + "' has ONNX data type " +
                     llvm::Twine(dataType) +
                     "; calibration tensors must be float32 (1) or float64 (11)");
  int64_t count = 1;
  for (int64_t dim : array.shape)
    if (dim < 0 || __builtin_mul_overflow(count, dim, &count))
      return fileError(path + ": tensor '" + name + "' has a bad shape");
  size_t width = dataType == kFloat ? 4 : 8;
  if (!raw.empty()) {
    if (raw.size() != size_t(count) * width)
      return fileError(path + ": tensor '" + name + "' has " + llvm::Twine(raw.size()) +
                       " bytes of raw data; its shape needs " + llvm::Twine(size_t(count) * width));
    for (size_t i = 0; i < size_t(count); ++i) {
      if (width == 4) {
        float element;
        std::memcpy(&element, raw.data() + i * 4, 4);
        typed.push_back(element);
      } else {
        double element;
        std::memcpy(&element, raw.data() + i * 8, 8);
        typed.push_back(element);
      }
    }
  }
  if (typed.size() != size_t(count))
    return fileError(path + ": tensor '" + name + "' has " + llvm::Twine(typed.size()) +
                     " values; its shape needs " + llvm::Twine(count));
  array.values.assign(typed.begin(), typed.end());
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
  existing.shape[0] += array.shape[0];
  existing.values.insert(existing.values.end(), array.values.begin(), array.values.end());
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

} // namespace

llvm::Expected<std::vector<std::vector<std::vector<float>>>>
loadCalibrationRuns(func::FuncOp func, llvm::StringRef path) {
  llvm::StringMap<Array> arrays;
  if (llvm::Error error = readArrays(path, arrays))
    return std::move(error);
  std::vector<std::string> names;
  for (const auto &entry : arrays)
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  std::string available = llvm::join(names, ", ");
  std::vector<std::vector<std::vector<float>>> runs;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    std::string name = argumentName(func, i);
    auto it = arrays.find(name);
    if (it == arrays.end() && func.getNumArguments() == 1 && arrays.size() == 1)
      it = arrays.begin(); // one input, one array: no need to match names
    if (it == arrays.end())
      return fileError(path + ": no calibration array for input '" + name + "' (found: " +
                       available + ")");
    auto type = dyn_cast<RankedTensorType>(func.getArgument(i).getType());
    if (!type || !type.hasStaticShape())
      return fileError(path + ": input '" + name + "' needs a static shape for calibration");
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
    size_t count = array.values.size() / size_t(perRun);
    if (i == 0)
      runs.resize(count);
    else if (count != runs.size())
      return fileError(path + ": input '" + name + "' has " + std::to_string(count) +
                       " calibration runs but the first input has " + std::to_string(runs.size()));
    for (size_t r = 0; r < count; ++r)
      runs[r].emplace_back(array.values.begin() + r * perRun, array.values.begin() + (r + 1) * perRun);
  }
  return runs;
}

llvm::Expected<std::vector<std::vector<std::vector<float>>>>
calibrationRuns(func::FuncOp func, const CalibrationSettings &source) {
  if (source.path.empty())
    return syntheticRuns(func, source.samples, source.seed);
  return loadCalibrationRuns(func, source.path);
}

} // namespace kiln::compression

//===- CalibrationFiles.cpp - calibration inputs from .npz / .npy files --===//
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

llvm::Error readArrays(llvm::StringRef path, llvm::StringMap<Array> &arrays) {
  if (llvm::sys::fs::is_directory(path)) {
    std::error_code ec;
    for (llvm::sys::fs::directory_iterator it(path, ec), end; it != end && !ec; it.increment(ec)) {
      if (llvm::sys::path::extension(it->path()) != ".npy")
        continue;
      auto buffer = llvm::MemoryBuffer::getFile(it->path());
      if (!buffer)
        return fileError(it->path() + ": cannot read: " + buffer.getError().message());
      llvm::Expected<Array> array = parseNpy((*buffer)->getBuffer(), it->path());
      if (!array)
        return array.takeError();
      arrays[llvm::sys::path::stem(it->path())] = std::move(*array);
    }
    if (ec || arrays.empty())
      return fileError(path + ": no .npy files found in the calibration folder");
    return llvm::Error::success();
  }
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fileError(path + ": cannot read: " + buffer.getError().message());
  if (path.ends_with(".npy")) {
    llvm::Expected<Array> array = parseNpy((*buffer)->getBuffer(), path);
    if (!array)
      return array.takeError();
    arrays[llvm::sys::path::stem(path)] = std::move(*array);
    return llvm::Error::success();
  }
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
      std::string got, want;
      for (int64_t d : arrayShape)
        got += (got.empty() ? "" : "x") + std::to_string(d);
      for (int64_t d : shape)
        want += (want.empty() ? "" : "x") + std::to_string(d);
      return fileError(path + ": calibration array '" + it->getKey() + "' has shape " + got +
                       " but input '" + name + "' is " + want +
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

//===- ModelLoader.cpp - reading ONNX protobufs and tensor bytes safely --===//
#include "ModelLoader.h"
#include "ElementTypes.h"

#include "kiln/Dialect/Codec.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <mutex>

using llvm::Twine;

namespace kiln::onnx_import {

static llvm::Error error(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

//===----------------------------------------------------------------------===//
// The model protobuf
//===----------------------------------------------------------------------===//

// Protobuf reports why it rejected a message through its log; keep the
// last line for our error instead of letting it print.
static std::mutex logMutex;
static std::string lastProtobufMessage;
static void captureProtobufLog(google::protobuf::LogLevel, const char *, int,
                               const std::string &message) {
  lastProtobufMessage = message;
}

/// Depth of the deepest subgraph, walked with an explicit stack.
static int subgraphDepth(const onnx::GraphProto &root) {
  struct Item {
    const onnx::GraphProto *graph;
    int depth;
  };
  std::vector<Item> stack{{&root, 0}};
  int deepest = 0;
  while (!stack.empty()) {
    Item item = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, item.depth);
    if (item.depth > kMaxSubgraphDepth)
      return item.depth; // deep enough to refuse; stop walking
    for (const onnx::NodeProto &node : item.graph->node())
      for (const onnx::AttributeProto &attr : node.attribute()) {
        if (attr.has_g())
          stack.push_back({&attr.g(), item.depth + 1});
        for (const onnx::GraphProto &graph : attr.graphs())
          stack.push_back({&graph, item.depth + 1});
      }
  }
  return deepest;
}

llvm::Expected<std::unique_ptr<onnx::ModelProto>> loadModelProto(llvm::StringRef path,
                                                                 uint64_t maxFileBytes) {
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status))
    return error("cannot open the model: " + ec.message());
  if (status.type() != llvm::sys::fs::file_type::regular_file)
    return error("not a regular file");
  if (status.getSize() > maxFileBytes)
    return error("the model file is " + Twine(status.getSize()) + " bytes, over the limit of " +
                 Twine(maxFileBytes) + " bytes (large weights belong in ONNX external data)");
  // A protobuf message cannot exceed 2 GiB.
  if (status.getSize() >= (uint64_t(1) << 31))
    return error("the model file is over 2 GiB; protobuf cannot hold that, so store the "
                 "weights as ONNX external data");
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return error("cannot read the model: " + buffer.getError().message());

  return parseModelProto(
      llvm::StringRef((*buffer)->getBufferStart(), (*buffer)->getBufferSize()), maxFileBytes);
}

llvm::Expected<std::unique_ptr<onnx::ModelProto>> parseModelProto(llvm::StringRef bytes,
                                                                  uint64_t maxFileBytes) {
  if (bytes.size() > maxFileBytes || bytes.size() >= (uint64_t(1) << 31))
    return error("the model is " + Twine(bytes.size()) + " bytes, over the limit");
  auto model = std::make_unique<onnx::ModelProto>();
  bool parsed;
  std::string why;
  {
    std::lock_guard<std::mutex> lock(logMutex);
    lastProtobufMessage.clear();
    google::protobuf::LogHandler *previous = google::protobuf::SetLogHandler(captureProtobufLog);
    google::protobuf::io::CodedInputStream stream(
        reinterpret_cast<const uint8_t *>(bytes.data()), int(bytes.size()));
    stream.SetTotalBytesLimit(int(bytes.size()));
    stream.SetRecursionLimit(kProtobufRecursionLimit);
    parsed = model->ParseFromCodedStream(&stream) && stream.ConsumedEntireMessage();
    google::protobuf::SetLogHandler(previous);
    why = lastProtobufMessage;
  }
  if (!parsed) {
    std::string reason = "not a valid ONNX model (the protobuf is truncated, corrupt or nested "
                         "deeper than " + std::to_string(kProtobufRecursionLimit) + " levels";
    if (!why.empty())
      reason += ": " + why;
    return error(reason + ")");
  }
  if (!model->has_graph())
    return error("not a valid ONNX model: it has no graph");
  int depth = subgraphDepth(model->graph());
  if (depth > kMaxSubgraphDepth)
    return error("subgraphs are nested more than " + Twine(kMaxSubgraphDepth) + " deep");
  return std::move(model);
}

//===----------------------------------------------------------------------===//
// Tensor bytes
//===----------------------------------------------------------------------===//

llvm::Expected<llvm::SmallVector<int64_t>> checkedTensorDims(const onnx::TensorProto &tensor) {
  llvm::SmallVector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
  for (int64_t dim : dims)
    if (dim < 0)
      return error("tensor '" + tensor.name() + "' has a negative dimension " + Twine(dim));
  if (!codec::checkedProduct(dims.data(), dims.size()))
    return error("tensor '" + tensor.name() + "' has more elements than fit in 64 bits");
  return dims;
}

/// Bytes that `count` elements of `dtype` occupy, checked.
static llvm::Expected<int64_t> byteSize(const onnx::TensorProto &tensor, int64_t count) {
  std::optional<unsigned> bits = storageBits(tensor.data_type());
  if (!bits)
    return error("tensor '" + tensor.name() + "' has element type " +
                 dtypeName(tensor.data_type()) + " (" + Twine(tensor.data_type()) +
                 "), which Kiln does not support");
  std::optional<int64_t> bytes = codec::packedByteCount(count, *bits);
  if (!bytes)
    return error("tensor '" + tensor.name() + "' is too large: its byte size overflows");
  return *bytes;
}

/// Resolves an external-data location inside the model's folder, refusing
/// absolute paths, `..` components and symlinks that lead outside.
static llvm::Expected<std::string> resolveExternalPath(llvm::StringRef location,
                                                       llvm::StringRef modelDir) {
  if (location.empty())
    return error("external data has no location");
  if (location.contains('\0'))
    return error("external data location contains a NUL byte");
  if (llvm::sys::path::is_absolute(location) ||
      llvm::sys::path::is_absolute(location, llvm::sys::path::Style::windows))
    return error("external data location '" + location +
                 "' is absolute; it must be relative to the model's folder");
  for (llvm::StringRef component : llvm::make_range(llvm::sys::path::begin(location),
                                                    llvm::sys::path::end(location)))
    if (component == "..")
      return error("external data location '" + location + "' escapes the model's folder");
  llvm::SmallString<256> joined(modelDir.empty() ? "." : modelDir);
  llvm::sys::path::append(joined, location);
  llvm::SmallString<256> realDir, realFile;
  if (std::error_code ec = llvm::sys::fs::real_path(modelDir.empty() ? "." : modelDir, realDir))
    return error("cannot resolve the model's folder: " + ec.message());
  if (std::error_code ec = llvm::sys::fs::real_path(joined, realFile))
    return error("cannot open external data '" + location + "': " + ec.message());
  llvm::StringRef file = realFile;
  if (!file.starts_with(realDir) || file.size() <= realDir.size() ||
      !llvm::sys::path::is_separator(file[realDir.size()]))
    return error("external data location '" + location +
                 "' resolves (through a symlink) outside the model's folder");
  return std::string(realFile);
}

static llvm::Expected<std::vector<char>>
readExternalBytes(const onnx::TensorProto &tensor, int64_t expectedBytes,
                  llvm::StringRef modelDir, uint64_t maxFileBytes) {
  std::string location;
  std::optional<int64_t> offset, length;
  for (const onnx::StringStringEntryProto &entry : tensor.external_data()) {
    if (entry.key() == "location") {
      location = entry.value();
      continue;
    }
    if (entry.key() != "offset" && entry.key() != "length")
      continue; // checksum and others do not affect reading
    int64_t number;
    if (llvm::StringRef(entry.value()).getAsInteger(10, number) || number < 0)
      return error("external data " + entry.key() + " '" + entry.value() +
                   "' is not a non-negative integer");
    (entry.key() == "offset" ? offset : length) = number;
  }
  llvm::Expected<std::string> path = resolveExternalPath(location, modelDir);
  if (!path)
    return path.takeError();
  uint64_t fileSize;
  if (std::error_code ec = llvm::sys::fs::file_size(*path, fileSize))
    return error("cannot read external data '" + location + "': " + ec.message());
  if (fileSize > maxFileBytes)
    return error("external data '" + location + "' is " + Twine(fileSize) +
                 " bytes, over the limit of " + Twine(maxFileBytes));
  int64_t start = offset.value_or(0);
  if (uint64_t(start) > fileSize)
    return error("external data offset " + Twine(start) + " lies past the end of '" + location +
                 "' (" + Twine(fileSize) + " bytes)");
  int64_t available = int64_t(fileSize) - start;
  int64_t size = length.value_or(expectedBytes);
  if (size > available)
    return error("external data of " + Twine(size) + " bytes at offset " + Twine(start) +
                 " lies outside '" + location + "' (" + Twine(fileSize) + " bytes)");
  if (size != expectedBytes)
    return error("external data length " + Twine(size) + " does not match the tensor's " +
                 Twine(expectedBytes) + " bytes (dims x element size)");
  auto buffer = llvm::MemoryBuffer::getFileSlice(*path, uint64_t(size), uint64_t(start));
  if (!buffer)
    return error("cannot read external data '" + location + "': " + buffer.getError().message());
  return std::vector<char>((*buffer)->getBufferStart(), (*buffer)->getBufferEnd());
}

/// Copies typed-field values into little-endian storage of `bits` each.
template <typename Range>
static std::vector<char> packTypedField(const Range &values, unsigned bits) {
  std::vector<char> bytes(values.size() * (bits / 8));
  size_t i = 0;
  for (auto value : values) {
    uint64_t pattern = 0;
    if constexpr (std::is_floating_point_v<decltype(value)>) {
      if (bits == 32) {
        float f = float(value);
        uint32_t b;
        std::memcpy(&b, &f, 4);
        pattern = b;
      } else {
        double d = double(value);
        std::memcpy(&pattern, &d, 8);
      }
    } else {
      pattern = uint64_t(value);
    }
    for (unsigned byte = 0; byte < bits / 8; ++byte)
      bytes[i * (bits / 8) + byte] = char((pattern >> (8 * byte)) & 0xff);
    ++i;
  }
  return bytes;
}

llvm::Expected<std::vector<char>> readTensorBytes(const onnx::TensorProto &tensor,
                                                  llvm::StringRef modelDir,
                                                  uint64_t maxFileBytes) {
  llvm::Expected<llvm::SmallVector<int64_t>> dims = checkedTensorDims(tensor);
  if (!dims)
    return dims.takeError();
  int64_t count = *codec::checkedProduct(dims->data(), dims->size());
  llvm::Expected<int64_t> expected = byteSize(tensor, count);
  if (!expected)
    return expected.takeError();
  if (tensor.has_segment())
    return error("tensor '" + tensor.name() + "' is segmented, which Kiln does not support");

  if (tensor.data_location() == onnx::TensorProto::EXTERNAL)
    return readExternalBytes(tensor, *expected, modelDir, maxFileBytes);

  if (tensor.has_raw_data()) {
    if (int64_t(tensor.raw_data().size()) != *expected)
      return error("tensor '" + tensor.name() + "' has " + Twine(tensor.raw_data().size()) +
                   " bytes of raw data, but its dims and type need " + Twine(*expected));
    return std::vector<char>(tensor.raw_data().begin(), tensor.raw_data().end());
  }

  unsigned bits = *storageBits(tensor.data_type());
  auto checkCount = [&](int64_t have) -> llvm::Error {
    if (have != count)
      return error("tensor '" + tensor.name() + "' holds " + Twine(have) +
                   " values, but its dims need " + Twine(count));
    return llvm::Error::success();
  };
  int32_t dtype = tensor.data_type();
  std::vector<char> bytes;
  if (bits == 4) {
    // Packed pairs, one byte per int32_data entry (as onnx.helper writes).
    if (tensor.int32_data_size() != *expected)
      return error("tensor '" + tensor.name() + "' holds " + Twine(tensor.int32_data_size()) +
                   " packed bytes, but its dims need " + Twine(*expected));
    return packTypedField(tensor.int32_data(), 8);
  }
  if (dtype == kFloat) {
    if (llvm::Error e = checkCount(tensor.float_data_size()))
      return std::move(e);
    bytes = packTypedField(tensor.float_data(), 32);
  } else if (dtype == kDouble) {
    if (llvm::Error e = checkCount(tensor.double_data_size()))
      return std::move(e);
    bytes = packTypedField(tensor.double_data(), 64);
  } else if (dtype == kInt64) {
    if (llvm::Error e = checkCount(tensor.int64_data_size()))
      return std::move(e);
    bytes = packTypedField(tensor.int64_data(), 64);
  } else if (dtype == kUInt32 || dtype == kUInt64) {
    if (llvm::Error e = checkCount(tensor.uint64_data_size()))
      return std::move(e);
    bytes = packTypedField(tensor.uint64_data(), bits);
  } else {
    // Every other type keeps one element per int32_data entry.
    if (llvm::Error e = checkCount(tensor.int32_data_size()))
      return std::move(e);
    bytes = packTypedField(tensor.int32_data(), bits);
  }
  return bytes;
}

} // namespace kiln::onnx_import

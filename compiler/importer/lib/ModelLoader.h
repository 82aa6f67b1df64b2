//===- ModelLoader.h - reading ONNX protobufs and tensor bytes safely ----===//
#ifndef KILN_IMPORTER_MODELLOADER_H
#define KILN_IMPORTER_MODELLOADER_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
class TensorProto;
} // namespace onnx

namespace kiln::onnx_import {

/// Protobuf nesting allowed while parsing (each subgraph level costs 3).
constexpr int kProtobufRecursionLimit = 100;
/// Subgraphs (If/Loop/Scan bodies) nested deeper than this are refused.
constexpr int kMaxSubgraphDepth = 16;

/// Parses the model at `path`: refuses files over `maxFileBytes`, anything
/// that is not a complete ModelProto, and subgraphs nested too deep. Errors
/// read "<reason>" (the caller prefixes the file).
llvm::Expected<std::unique_ptr<onnx::ModelProto>> loadModelProto(llvm::StringRef path,
                                                                 uint64_t maxFileBytes);

/// Parses a model held in memory, with the same checks.
llvm::Expected<std::unique_ptr<onnx::ModelProto>> parseModelProto(llvm::StringRef bytes,
                                                                  uint64_t maxFileBytes);

/// The dims of a tensor, checked: non-negative and with an element count
/// that fits int64.
llvm::Expected<llvm::SmallVector<int64_t>> checkedTensorDims(const onnx::TensorProto &tensor);

/// The bytes of `tensor` in ONNX's little-endian storage layout (4-bit
/// types packed two per byte), from raw_data, the typed fields or external
/// data inside `modelDir`. Every size is checked against dims x type.
llvm::Expected<std::vector<char>> readTensorBytes(const onnx::TensorProto &tensor,
                                                  llvm::StringRef modelDir,
                                                  uint64_t maxFileBytes);

} // namespace kiln::onnx_import

#endif // KILN_IMPORTER_MODELLOADER_H

//===- GraphImporter.h - one ONNX graph into one func.func ---------------===//
#ifndef KILN_IMPORTER_GRAPHIMPORTER_H
#define KILN_IMPORTER_GRAPHIMPORTER_H

#include "ImportContext.h"
#include "kiln/Importer/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/MapVector.h"

namespace onnx {
class ModelProto;
class GraphProto;
class ValueInfoProto;
} // namespace onnx

namespace kiln::onnx_import {

/// Bounds and pins of symbolic dimensions (--dim).
struct DimBindings {
  llvm::StringMap<int64_t> pinned;
  llvm::MapVector<llvm::StringRef, std::pair<int64_t, int64_t>> bounds;
  std::vector<std::string> names; // storage for the keys above
};

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext &context, llvm::StringRef path, const ImportOptions &options);

  /// Imports the model file, or `bytes` when given.
  llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
  run(std::optional<llvm::StringRef> bytes = std::nullopt);

  // Services for op import functions.
  mlir::OpBuilder &builder() { return opBuilder; }
  mlir::MLIRContext *context() { return &mlirContext; }
  TensorValue *lookup(llvm::StringRef name);
  void define(llvm::StringRef name, TensorValue value) { values[name] = std::move(value); }
  /// The SSA value of `tensor`, creating its constant at `loc` if needed.
  mlir::Value materialize(TensorValue &tensor, mlir::Location loc);
  /// A constant attribute for raw little-endian bytes of `type` (inline when
  /// small, a dense_resource blob named after `name` from 64 bytes on).
  mlir::ElementsAttr makeElements(mlir::RankedTensorType type, int32_t dtype,
                                  llvm::ArrayRef<char> bytes, llvm::StringRef name);
  /// Converts an ONNX TensorProto (initializer, Constant value...) into a
  /// value with its constant contents.
  llvm::Expected<TensorValue> importTensor(const onnx::TensorProto &tensor,
                                           llvm::StringRef name, mlir::Location loc);
  void setError(std::string message) { errorMessage = std::move(message); }
  llvm::StringRef file() const { return path; }
  mlir::Location nodeLocation(llvm::StringRef nodeName, llvm::StringRef opType);
  /// The symbolic name of an argument dimension `value` stands for, if any.
  llvm::StringRef dimName(mlir::Value dimValue) const;
  /// Dimension `index` of `tensor`: a constant, or an index value (one per
  /// named argument dimension, so equal names stay equal).
  SymInt dimOf(mlir::Value tensor, int64_t index, mlir::Location loc);

private:
  llvm::Error parseDimBindings();
  llvm::Error importInitializers(const onnx::GraphProto &graph);
  llvm::Error createFunction(const onnx::GraphProto &graph);
  llvm::Expected<std::vector<int>> topologicalOrder(const onnx::GraphProto &graph);
  llvm::Error importNode(const onnx::NodeProto &node);
  llvm::Error createReturn(const onnx::GraphProto &graph);
  llvm::Expected<int> selectVersion(const onnx::NodeProto &node);
  llvm::Error nodeError(const onnx::NodeProto &node, const llvm::Twine &reason);
  llvm::Error fileError(const llvm::Twine &reason);
  llvm::Expected<std::pair<mlir::RankedTensorType, std::vector<std::string>>>
  typeOf(const onnx::ValueInfoProto &info, bool isArgument);

  mlir::MLIRContext &mlirContext;
  std::string path;
  std::string modelDir;
  const ImportOptions &options;
  mlir::OpBuilder opBuilder;
  std::unique_ptr<onnx::ModelProto> model;
  llvm::StringMap<int64_t> opsets;
  llvm::StringMap<TensorValue> values;
  DimBindings dims;
  llvm::DenseMap<mlir::Value, std::string> dimNames;
  llvm::DenseMap<std::pair<mlir::Value, int64_t>, mlir::Value> argumentDimValues;
  mlir::func::FuncOp function;
  std::string errorMessage;
  llvm::StringMap<unsigned> blobNameUses;
};

} // namespace kiln::onnx_import

#endif // KILN_IMPORTER_GRAPHIMPORTER_H

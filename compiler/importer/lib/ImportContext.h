//===- ImportContext.h - state shared by the ONNX op importers -----------===//
//
// The graph importer walks the nodes in topological order and hands each to
// the import function registered for its (domain, op, version). Values carry
// their MLIR value, their ONNX element type, and, when known at import time,
// their contents: small contents as a HostTensor whose integers may be
// run-time index values, so exporters' shape arithmetic folds into static or
// symbolic shapes instead of run-time tensors.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IMPORTER_IMPORTCONTEXT_H
#define KILN_IMPORTER_IMPORTCONTEXT_H

#include "ElementTypes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace onnx {
class NodeProto;
class AttributeProto;
class TensorProto;
} // namespace onnx

namespace kiln::onnx_import {

/// Host tensors larger than this are not kept for folding.
constexpr int64_t kMaxHostElements = int64_t(1) << 16;

/// An integer known at import (`dynamic` null) or only at run time (an
/// index-typed SSA value).
struct SymInt {
  int64_t constant = 0;
  mlir::Value dynamic;
  static SymInt of(int64_t value) { return SymInt{value, {}}; }
  bool isConstant() const { return !dynamic; }
};

/// Contents of a tensor known at import time.
struct HostTensor {
  llvm::SmallVector<int64_t> shape;
  int32_t dtype = kUndefined;
  std::vector<SymInt> ints;  // integer and bool element types
  std::vector<double> reals; // float element types
  bool isFloat() const { return isFloatDType(dtype); }
  int64_t size() const { return isFloat() ? int64_t(reals.size()) : int64_t(ints.size()); }
  bool allConstant() const;
  /// All elements as int64 (floats truncated), or nullopt if any is dynamic.
  std::optional<std::vector<int64_t>> constantInts() const;
  double realAt(int64_t i) const { return isFloat() ? reals[i] : double(ints[i].constant); }
};

struct QuantizedConstant;

/// One ONNX value during import.
struct TensorValue {
  mlir::Value value;           // null until materialized
  mlir::RankedTensorType type; // the compute type
  int32_t dtype = kUndefined;
  mlir::ElementsAttr constant;    // contents of an initializer or Constant
  std::optional<HostTensor> host; // small contents known at import
  std::optional<mlir::Location> loc;
  /// A pre-quantized constant weight (DequantizeLinear of constants).
  std::shared_ptr<const QuantizedConstant> quantized;
  std::string name;
};

class GraphImporter;

/// What an op import function sees of its node.
class OpContext {
public:
  OpContext(GraphImporter &importer, const onnx::NodeProto &node, int sinceVersion,
            mlir::Location loc);

  mlir::OpBuilder &builder();
  mlir::MLIRContext *context();
  mlir::Location loc() const { return location; }
  const onnx::NodeProto &node() const { return proto; }
  /// The since-version of the op's schema that the model's opset selects.
  int version() const { return sinceVersion; }

  // Inputs (an empty name is an omitted optional input).
  int numInputs() const;
  bool hasInput(int index) const;
  TensorValue &input(int index);
  mlir::Value value(int index); // materializes constants
  mlir::RankedTensorType type(int index) { return input(index).type; }
  int32_t dtype(int index) { return input(index).dtype; }
  const HostTensor *host(int index);
  /// Integer contents of a constant input (e.g. a shape or axes), or failure.
  mlir::FailureOr<std::vector<int64_t>> constantInts(int index, llvm::StringRef what);

  // Attributes.
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  bool hasAttr(llvm::StringRef name) const { return attr(name) != nullptr; }
  int64_t attrInt(llvm::StringRef name, int64_t defaultValue) const;
  float attrFloat(llvm::StringRef name, float defaultValue) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef defaultValue) const;
  std::vector<int64_t> attrInts(llvm::StringRef name) const;
  std::vector<float> attrFloats(llvm::StringRef name) const;

  // Outputs.
  int numOutputs() const;
  bool hasOutput(int index) const;
  mlir::LogicalResult setOutput(int index, mlir::Value value, int32_t dtype);
  mlir::LogicalResult setHostOutput(int index, HostTensor tensor);
  /// Copies an input's value (and known contents) to an output.
  mlir::LogicalResult forward(int outputIndex, int inputIndex);

  /// Records "<reason>" as this node's error; returns failure.
  mlir::LogicalResult fail(const llvm::Twine &reason);
  /// Checks that every present input has input 0's element type.
  mlir::LogicalResult expectSameTypes();
  /// Checks the number of inputs (optional ones may be omitted).
  mlir::LogicalResult expectInputs(int min, int max);

  /// Normalizes a possibly negative axis for a tensor of `rank`.
  mlir::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank);

  GraphImporter &importer;

private:
  const onnx::NodeProto &proto;
  int sinceVersion;
  mlir::Location location;
};

using ImportFn = std::function<mlir::LogicalResult(OpContext &)>;

/// Import functions by (domain, op); each handles a set of since-versions.
class OpRegistry {
public:
  void add(llvm::StringRef domain, llvm::StringRef name, std::vector<int> versions, ImportFn fn);
  struct Entry {
    std::vector<int> versions;
    ImportFn fn;
  };
  const Entry *find(llvm::StringRef domain, llvm::StringRef name) const;

private:
  llvm::StringMap<Entry> entries; // key: "domain:name"
};

/// The since-versions of an ai.onnx op up to opset 21 (from the schema
/// history), or null for an op ai.onnx does not define.
const std::vector<int> *onnxSinceVersions(llvm::StringRef op);
/// How many inputs and outputs a version of an ai.onnx op takes.
struct OpArity {
  int minInputs, maxInputs, minOutputs, maxOutputs;
};
const OpArity *onnxArity(llvm::StringRef op, int sinceVersion);

/// Registers `fn` for every since-version of ai.onnx `op` from `firstVersion`.
void addOnnxOp(OpRegistry &registry, llvm::StringRef op, int firstVersion, ImportFn fn);

/// The op families, one file each.
void registerElementwiseOps(OpRegistry &registry);
void registerLinearOps(OpRegistry &registry);
void registerShapeOps(OpRegistry &registry);
void registerReductionOps(OpRegistry &registry);
void registerNormalizationOps(OpRegistry &registry);
void registerConvolutionOps(OpRegistry &registry);
void registerQuantizationOps(OpRegistry &registry);
void registerIndexingOps(OpRegistry &registry);
void registerResizeOps(OpRegistry &registry);

/// Builds the registry of every op Kiln imports.
const OpRegistry &getOpRegistry();

} // namespace kiln::onnx_import

#endif // KILN_IMPORTER_IMPORTCONTEXT_H

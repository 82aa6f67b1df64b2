//===- ImportContext.cpp - state shared by the ONNX op importers ---------===//
#include "ImportContext.h"
#include "GraphImporter.h"

#include <onnx/onnx_pb.h>

#include <map>

using namespace mlir;

namespace kiln::onnx_import {

OpContext::OpContext(GraphImporter &importer, const onnx::NodeProto &node, int sinceVersion,
                     Location loc)
    : importer(importer), proto(node), sinceVersion(sinceVersion), location(loc) {}

OpBuilder &OpContext::builder() { return importer.builder(); }
MLIRContext *OpContext::context() { return importer.context(); }

int OpContext::numInputs() const { return proto.input_size(); }
bool OpContext::hasInput(int index) const {
  return index < proto.input_size() && !proto.input(index).empty();
}
TensorValue &OpContext::input(int index) {
  // The topological sort guarantees every named input exists.
  return *importer.lookup(proto.input(index));
}
Value OpContext::value(int index) { return importer.materialize(input(index), location); }
const HostTensor *OpContext::host(int index) {
  if (!hasInput(index))
    return nullptr;
  TensorValue &tensor = input(index);
  return tensor.host ? &*tensor.host : nullptr;
}

FailureOr<std::vector<int64_t>> OpContext::constantInts(int index, llvm::StringRef what) {
  const HostTensor *tensor = host(index);
  if (!tensor) {
    (void)fail(what + " (input " + llvm::Twine(index) +
               ") must be a constant known at import time");
    return failure();
  }
  std::optional<std::vector<int64_t>> ints = tensor->constantInts();
  if (!ints) {
    (void)fail(what + " (input " + llvm::Twine(index) + ") depends on run-time values");
    return failure();
  }
  return *ints;
}

const onnx::AttributeProto *OpContext::attr(llvm::StringRef name) const {
  for (const onnx::AttributeProto &attribute : proto.attribute())
    if (attribute.name() == name)
      return &attribute;
  return nullptr;
}
int64_t OpContext::attrInt(llvm::StringRef name, int64_t defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a && a->has_i() ? a->i() : defaultValue;
}
float OpContext::attrFloat(llvm::StringRef name, float defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a && a->has_f() ? a->f() : defaultValue;
}
std::string OpContext::attrString(llvm::StringRef name, llvm::StringRef defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a && a->has_s() ? a->s() : defaultValue.str();
}
std::vector<int64_t> OpContext::attrInts(llvm::StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>();
}
std::vector<float> OpContext::attrFloats(llvm::StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? std::vector<float>(a->floats().begin(), a->floats().end()) : std::vector<float>();
}

int OpContext::numOutputs() const { return proto.output_size(); }
bool OpContext::hasOutput(int index) const {
  return index < proto.output_size() && !proto.output(index).empty();
}

LogicalResult OpContext::setOutput(int index, Value value, int32_t dtype) {
  if (!hasOutput(index))
    return success();
  TensorValue tensor;
  tensor.value = value;
  tensor.type = cast<RankedTensorType>(value.getType());
  tensor.dtype = dtype;
  importer.define(proto.output(index), std::move(tensor));
  return success();
}

LogicalResult OpContext::setHostOutput(int index, HostTensor host) {
  if (!hasOutput(index))
    return success();
  Type element = computeElementType(context(), host.dtype);
  if (!element)
    return fail("cannot fold a tensor of type " + dtypeName(host.dtype));
  TensorValue tensor;
  tensor.type = RankedTensorType::get(host.shape, element);
  tensor.dtype = host.dtype;
  tensor.loc = location;
  tensor.host = std::move(host);
  importer.define(proto.output(index), std::move(tensor));
  return success();
}

LogicalResult OpContext::forward(int outputIndex, int inputIndex) {
  if (!hasOutput(outputIndex))
    return success();
  importer.define(proto.output(outputIndex), input(inputIndex));
  return success();
}

LogicalResult OpContext::fail(const llvm::Twine &reason) {
  importer.setError(reason.str());
  return failure();
}

LogicalResult OpContext::expectSameTypes() {
  for (int i = 1; i < numInputs(); ++i)
    if (hasInput(i) && dtype(i) != dtype(0))
      return fail("input " + llvm::Twine(i) + " is " + dtypeName(dtype(i)) + " but input 0 is " +
                  dtypeName(dtype(0)));
  return success();
}

LogicalResult OpContext::expectInputs(int min, int max) {
  int present = proto.input_size();
  for (int i = 0; i < min; ++i)
    if (!hasInput(i))
      return fail("input " + llvm::Twine(i) + " is required");
  if (present > max)
    return fail("takes at most " + llvm::Twine(max) + " inputs, got " + llvm::Twine(present));
  return success();
}

FailureOr<int64_t> OpContext::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
    (void)fail("axis " + llvm::Twine(axis) + " is out of range for rank " + llvm::Twine(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

void OpRegistry::add(llvm::StringRef domain, llvm::StringRef name, std::vector<int> versions,
                     ImportFn fn) {
  entries[(domain + ":" + name).str()] = Entry{std::move(versions), std::move(fn)};
}

const OpRegistry::Entry *OpRegistry::find(llvm::StringRef domain, llvm::StringRef name) const {
  auto it = entries.find((domain + ":" + name).str());
  return it == entries.end() ? nullptr : &it->second;
}

const std::vector<int> *onnxSinceVersions(llvm::StringRef op) {
  static const llvm::StringMap<std::vector<int>> table = [] {
    llvm::StringMap<std::vector<int>> versions;
#define KILN_ONNX_OP(NAME, ...) versions[NAME] = std::vector<int> __VA_ARGS__;
#define KILN_ONNX_ARITY(...)
#include "OnnxOpVersions.inc"
#undef KILN_ONNX_ARITY
#undef KILN_ONNX_OP
    return versions;
  }();
  auto it = table.find(op);
  return it == table.end() ? nullptr : &it->second;
}

const OpArity *onnxArity(llvm::StringRef op, int sinceVersion) {
  static const std::map<std::pair<std::string, int>, OpArity> table = [] {
    std::map<std::pair<std::string, int>, OpArity> arities;
#define KILN_ONNX_OP(...)
#define KILN_ONNX_ARITY(NAME, VERSION, MIN_IN, MAX_IN, MIN_OUT, MAX_OUT)                          \
  arities[{NAME, VERSION}] = OpArity{MIN_IN, MAX_IN, MIN_OUT, MAX_OUT};
#include "OnnxOpVersions.inc"
#undef KILN_ONNX_ARITY
#undef KILN_ONNX_OP
    return arities;
  }();
  auto it = table.find({op.str(), sinceVersion});
  return it == table.end() ? nullptr : &it->second;
}

void addOnnxOp(OpRegistry &registry, llvm::StringRef op, int firstVersion, ImportFn fn) {
  std::vector<int> versions;
  if (const std::vector<int> *all = onnxSinceVersions(op))
    for (int version : *all)
      if (version >= firstVersion)
        versions.push_back(version);
  registry.add("", op, std::move(versions), std::move(fn));
}

const OpRegistry &getOpRegistry() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    registerElementwiseOps(r);
    registerLinearOps(r);
    registerShapeOps(r);
    registerIndexingOps(r);
    registerReductionOps(r);
    registerNormalizationOps(r);
    registerConvolutionOps(r);
    registerQuantizationOps(r);
    registerResizeOps(r);
    return r;
  }();
  return registry;
}

} // namespace kiln::onnx_import

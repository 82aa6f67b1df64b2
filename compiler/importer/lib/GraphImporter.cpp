//===- GraphImporter.cpp - one ONNX graph into one func.func -------------===//
#include "GraphImporter.h"
#include "HostTensors.h"
#include "ModelLoader.h"
#include "QuantizedWeights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

#include <onnx/onnx_pb.h>

using namespace mlir;
using llvm::Twine;

namespace kiln::onnx_import {

constexpr int64_t kMinOnnxOpset = 1;
constexpr int64_t kMaxOnnxOpset = 21;
constexpr int64_t kResourceThresholdBytes = 64;

static bool isOnnxDomain(llvm::StringRef domain) {
  return domain.empty() || domain == "ai.onnx";
}

GraphImporter::GraphImporter(MLIRContext &context, llvm::StringRef path,
                             const ImportOptions &options)
    : mlirContext(context), path(path.str()), options(options), opBuilder(&context) {
  modelDir = llvm::sys::path::parent_path(path).str();
}

llvm::Error GraphImporter::fileError(const Twine &reason) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), path + ": " + reason);
}

llvm::Error GraphImporter::nodeError(const onnx::NodeProto &node, const Twine &reason) {
  std::string name = node.name().empty() && node.output_size() ? node.output(0) : node.name();
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": node '" + name + "' (" + node.op_type() +
                                     "): " + reason);
}

Location GraphImporter::nodeLocation(llvm::StringRef nodeName, llvm::StringRef opType) {
  return NameLoc::get(StringAttr::get(&mlirContext, nodeName + " (" + opType + ")"),
                      FileLineColLoc::get(&mlirContext, path, 0, 0));
}

TensorValue *GraphImporter::lookup(llvm::StringRef name) {
  auto it = values.find(name);
  return it == values.end() ? nullptr : &it->second;
}

llvm::StringRef GraphImporter::dimName(Value dimValue) const {
  auto it = dimNames.find(dimValue);
  return it == dimNames.end() ? llvm::StringRef() : llvm::StringRef(it->second);
}

//===----------------------------------------------------------------------===//
// --dim
//===----------------------------------------------------------------------===//

llvm::Error GraphImporter::parseDimBindings() {
  for (const std::string &binding : options.dimBindings) {
    auto [name, value] = llvm::StringRef(binding).split('=');
    auto bad = [&](const Twine &why) {
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "--dim " + binding + ": " + why +
                                         " (expected NAME=VALUE or NAME=MIN..MAX)");
    };
    if (name.empty() || value.empty())
      return bad("missing name or value");
    dims.names.push_back(name.str());
    llvm::StringRef key = dims.names.back();
    if (value.contains("..")) {
      auto [low, high] = value.split("..");
      int64_t min, max;
      if (low.getAsInteger(10, min) || high.getAsInteger(10, max) || min < 1 || max < min)
        return bad("bounds must be integers with 1 <= MIN <= MAX");
      dims.bounds[key] = {min, max};
    } else {
      int64_t pinned;
      if (value.getAsInteger(10, pinned) || pinned < 0)
        return bad("the value must be a non-negative integer");
      dims.pinned[key] = pinned;
    }
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

ElementsAttr GraphImporter::makeElements(RankedTensorType type, int32_t dtype,
                                         llvm::ArrayRef<char> bytes, llvm::StringRef name) {
  if (dtype == kBool) {
    // ONNX keeps one byte per bool; MLIR builds i1 elements from bools.
    std::vector<char> flags(bytes.size());
    for (size_t i = 0; i < bytes.size(); ++i)
      flags[i] = bytes[i] != 0;
    return DenseElementsAttr::get(
        type, llvm::ArrayRef<bool>(reinterpret_cast<const bool *>(flags.data()), flags.size()));
  }
  if (int64_t(bytes.size()) < kResourceThresholdBytes)
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  std::string blobName;
  for (char c : name)
    blobName += llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_';
  if (blobName.empty())
    blobName = "constant";
  unsigned uses = blobNameUses[blobName]++;
  if (uses)
    blobName += "." + std::to_string(uses);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(bytes);
  return DenseResourceElementsAttr::get(type, blobName, std::move(blob));
}

llvm::Expected<TensorValue> GraphImporter::importTensor(const onnx::TensorProto &tensor,
                                                        llvm::StringRef name, Location loc) {
  llvm::Expected<std::vector<char>> bytes =
      readTensorBytes(tensor, modelDir, options.maxFileBytes);
  if (!bytes)
    return bytes.takeError();
  llvm::SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  int32_t dtype = tensor.data_type();
  TensorValue result;
  result.dtype = dtype;
  result.loc = loc;
  Type element = computeElementType(&mlirContext, dtype);
  if (!element) {
    // Sub-byte and fp8 weights are only meaningful to a quantization op;
    // keep their bytes as an i8 array for it.
    if (!storageBits(dtype))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "tensor '" + name + "' has element type " +
                                         dtypeName(dtype) + ", which Kiln does not support");
    result.type = RankedTensorType::get(shape, IntegerType::get(&mlirContext, 8));
    auto raw = RankedTensorType::get({int64_t(bytes->size())}, IntegerType::get(&mlirContext, 8));
    result.constant = makeElements(raw, kUInt8, *bytes, name);
    return result;
  }
  result.type = RankedTensorType::get(shape, element);
  result.constant = makeElements(result.type, dtype, *bytes, name);
  if (result.type.getNumElements() <= kMaxHostElements)
    result.host = decodeHostTensor(*bytes, dtype, shape);
  return result;
}

Value GraphImporter::materialize(TensorValue &tensor, Location loc) {
  if (tensor.value)
    return tensor.value;
  Location where = tensor.loc.value_or(loc);
  if (tensor.quantized)
    tensor.value = buildDequantizedValue(*this, *tensor.quantized, where, tensor.name);
  else if (tensor.constant && tensor.constant.getType() == tensor.type)
    tensor.value = arith::ConstantOp::create(opBuilder, where, tensor.type,
                                             cast<TypedAttr>(tensor.constant));
  else if (tensor.host)
    tensor.value = materializeHostTensor(opBuilder, where, *tensor.host, tensor.type,
                                         [&](RankedTensorType type, llvm::ArrayRef<char> bytes) {
                                           return makeElements(type, tensor.dtype, bytes,
                                                               "folded");
                                         });
  return tensor.value;
}

//===----------------------------------------------------------------------===//
// The function
//===----------------------------------------------------------------------===//

llvm::Expected<std::pair<RankedTensorType, std::vector<std::string>>>
GraphImporter::typeOf(const onnx::ValueInfoProto &info, bool isArgument) {
  auto bad = [&](const Twine &why) {
    return fileError(Twine(isArgument ? "input '" : "output '") + info.name() + "' " + why);
  };
  if (!info.type().has_tensor_type())
    return bad("is not a tensor (sequences, maps and optionals are not supported)");
  const onnx::TypeProto::Tensor &tensorType = info.type().tensor_type();
  Type element = computeElementType(&mlirContext, tensorType.elem_type());
  if (!element)
    return bad("has element type " + dtypeName(tensorType.elem_type()) +
               ", which Kiln does not support");
  if (!tensorType.has_shape())
    return bad("has no shape; Kiln needs at least its rank (give the dimensions in the model)");
  llvm::SmallVector<int64_t> shape;
  std::vector<std::string> names;
  for (const onnx::TensorShapeProto::Dimension &dim : tensorType.shape().dim()) {
    if (dim.has_dim_value()) {
      if (dim.dim_value() < 0)
        return bad("has a negative dimension " + Twine(dim.dim_value()));
      shape.push_back(dim.dim_value());
      names.push_back("");
      continue;
    }
    std::string name = dim.has_dim_param() ? dim.dim_param() : "";
    auto pinned = dims.pinned.find(name);
    if (!name.empty() && pinned != dims.pinned.end()) {
      shape.push_back(pinned->second);
      names.push_back("");
      continue;
    }
    shape.push_back(ShapedType::kDynamic);
    names.push_back(name);
  }
  return std::make_pair(RankedTensorType::get(shape, element), names);
}

static ArrayAttr stringArray(Builder &b, const std::vector<std::string> &strings) {
  llvm::SmallVector<Attribute> attrs;
  for (const std::string &s : strings)
    attrs.push_back(b.getStringAttr(s));
  return b.getArrayAttr(attrs);
}

llvm::Error GraphImporter::createFunction(const onnx::GraphProto &graph) {
  llvm::StringSet<> initializers;
  for (const onnx::TensorProto &tensor : graph.initializer())
    initializers.insert(tensor.name());
  llvm::StringSet<> seenNames;
  std::vector<const onnx::ValueInfoProto *> arguments;
  llvm::SmallVector<Type> argumentTypes;
  std::vector<std::vector<std::string>> argumentDims;
  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (initializers.contains(input.name()))
      continue;
    if (!seenNames.insert(input.name()).second)
      return fileError("input '" + input.name() + "' is declared twice");
    auto type = typeOf(input, /*isArgument=*/true);
    if (!type)
      return type.takeError();
    arguments.push_back(&input);
    argumentTypes.push_back(type->first);
    argumentDims.push_back(type->second);
  }
  // Every --dim must name a dimension of the model's inputs.
  llvm::StringSet<> declared;
  for (const auto &names : argumentDims)
    for (const std::string &name : names)
      declared.insert(name);
  for (const onnx::ValueInfoProto &input : graph.input())
    if (input.type().has_tensor_type())
      for (const auto &dim : input.type().tensor_type().shape().dim())
        if (dim.has_dim_param())
          declared.insert(dim.dim_param());
  for (const std::string &name : dims.names)
    if (!declared.contains(name))
      return fileError("--dim " + name + ": the model's inputs have no dimension named '" +
                       name + "'");

  Location fileLoc = FileLineColLoc::get(&mlirContext, path, 0, 0);
  opBuilder.setInsertionPointToEnd(cast<ModuleOp>(function->getParentOp()).getBody());
  function.setType(FunctionType::get(&mlirContext, argumentTypes, {}));
  Block *entry = function.addEntryBlock();
  (void)fileLoc;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const onnx::ValueInfoProto &input = *arguments[i];
    function.setArgAttr(i, "kiln.name", opBuilder.getStringAttr(input.name()));
    function.setArgAttr(i, "kiln.dims", stringArray(opBuilder, argumentDims[i]));
    function.setArgAttr(i, "kiln.dtype",
                        opBuilder.getStringAttr(dtypeName(input.type().tensor_type().elem_type())));
    TensorValue value;
    value.value = entry->getArgument(i);
    value.type = cast<RankedTensorType>(argumentTypes[i]);
    value.dtype = input.type().tensor_type().elem_type();
    values[input.name()] = value;
    // Dimensions that share a name share one run-time value.
    opBuilder.setInsertionPointToEnd(entry);
    for (size_t d = 0; d < argumentDims[i].size(); ++d) {
      if (!value.type.isDynamicDim(d))
        continue;
      Value dim = tensor::DimOp::create(opBuilder, fileLoc, value.value, int64_t(d));
      const std::string &name = argumentDims[i][d];
      if (!name.empty())
        dimNames[dim] = name;
      argumentDimValues[{value.value, int64_t(d)}] = dim;
    }
  }
  if (!dims.bounds.empty()) {
    llvm::SmallVector<NamedAttribute> bounds;
    for (auto &[name, range] : dims.bounds)
      bounds.push_back(opBuilder.getNamedAttr(
          name, opBuilder.getDenseI64ArrayAttr({range.first, range.second})));
    function->setAttr("kiln.dim_bounds", opBuilder.getDictionaryAttr(bounds));
  }
  opBuilder.setInsertionPointToEnd(entry);
  return llvm::Error::success();
}

SymInt GraphImporter::dimOf(Value tensor, int64_t index, Location loc) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(index))
    return SymInt::of(type.getDimSize(index));
  auto known = argumentDimValues.find({tensor, index});
  if (known != argumentDimValues.end())
    return SymInt{0, known->second};
  return SymInt{0, tensor::DimOp::create(opBuilder, loc, tensor, index)};
}

llvm::Error GraphImporter::importInitializers(const onnx::GraphProto &graph) {
  for (const onnx::TensorProto &tensor : graph.initializer()) {
    if (tensor.name().empty())
      return fileError("an initializer has no name");
    if (values.count(tensor.name()))
      return fileError("initializer '" + tensor.name() + "' is defined twice");
    Location loc = nodeLocation(tensor.name(), "initializer");
    llvm::Expected<TensorValue> value = importTensor(tensor, tensor.name(), loc);
    if (!value)
      return fileError("initializer '" + tensor.name() + "': " + llvm::toString(value.takeError()));
    values[tensor.name()] = std::move(*value);
  }
  return llvm::Error::success();
}

llvm::Expected<std::vector<int>> GraphImporter::topologicalOrder(const onnx::GraphProto &graph) {
  // Kahn's algorithm with an explicit queue: no recursion, so a deep chain
  // of nodes cannot exhaust the stack, and whatever is left over is a cycle.
  llvm::StringMap<int> producer;
  for (int i = 0; i < graph.node_size(); ++i)
    for (const std::string &output : graph.node(i).output()) {
      if (output.empty())
        continue;
      if (values.count(output))
        return nodeError(graph.node(i), "output '" + output +
                                            "' redefines a graph input or initializer");
      if (!producer.try_emplace(output, i).second)
        return nodeError(graph.node(i), "output '" + output + "' is produced by two nodes");
    }
  std::vector<int> pending(graph.node_size(), 0);
  std::vector<std::vector<int>> consumers(graph.node_size());
  for (int i = 0; i < graph.node_size(); ++i)
    for (const std::string &input : graph.node(i).input()) {
      if (input.empty() || values.count(input))
        continue;
      auto it = producer.find(input);
      if (it == producer.end())
        return nodeError(graph.node(i), "input '" + input +
                                            "' is not a graph input, an initializer or "
                                            "the output of any node (missing initializer?)");
      ++pending[i];
      consumers[it->second].push_back(i);
    }
  std::vector<int> order, ready;
  for (int i = graph.node_size() - 1; i >= 0; --i)
    if (pending[i] == 0)
      ready.push_back(i);
  while (!ready.empty()) {
    int node = ready.back();
    ready.pop_back();
    order.push_back(node);
    for (int consumer : consumers[node])
      if (--pending[consumer] == 0)
        ready.push_back(consumer);
  }
  if (int(order.size()) != graph.node_size())
    for (int i = 0; i < graph.node_size(); ++i)
      if (pending[i] != 0)
        return nodeError(graph.node(i), "the graph has a cycle through this node");
  return order;
}

llvm::Expected<int> GraphImporter::selectVersion(const onnx::NodeProto &node) {
  llvm::StringRef domain = node.domain();
  std::string domainName = isOnnxDomain(domain) ? "ai.onnx" : domain.str();
  auto opset = opsets.find(isOnnxDomain(domain) ? "" : domain);
  if (opset == opsets.end())
    return nodeError(node, "domain '" + domainName +
                               "' is not imported by the model (no opset_import entry)");
  const OpRegistry::Entry *entry = getOpRegistry().find(isOnnxDomain(domain) ? "" : domain,
                                                        node.op_type());
  if (!entry)
    return nodeError(node, "unknown op '" + node.op_type() + "' of domain '" + domainName +
                               "' (opset " + Twine(opset->second) +
                               "): Kiln cannot import it");
  int since = 1;
  if (isOnnxDomain(domain)) {
    const std::vector<int> *known = onnxSinceVersions(node.op_type());
    if (!known)
      return nodeError(node, "op '" + node.op_type() + "' is not part of ai.onnx");
    since = 0;
    for (int version : *known)
      if (version <= opset->second)
        since = version;
    if (since == 0)
      return nodeError(node, "op '" + node.op_type() + "' does not exist at ai.onnx opset " +
                                 Twine(opset->second));
  }
  if (!llvm::is_contained(entry->versions, since)) {
    std::string supported;
    for (int version : entry->versions)
      supported += (supported.empty() ? "" : ", ") + std::to_string(version);
    return nodeError(node, "version " + Twine(since) + " of '" + node.op_type() +
                               "' (selected by opset " + Twine(opset->second) +
                               ") is not supported; Kiln imports versions " + supported);
  }
  return since;
}

llvm::Error GraphImporter::importNode(const onnx::NodeProto &node) {
  llvm::Expected<int> since = selectVersion(node);
  if (!since)
    return since.takeError();
  std::string name = node.name().empty() && node.output_size() ? node.output(0) : node.name();
  Location loc = nodeLocation(name, node.op_type());
  if (isOnnxDomain(node.domain()))
    if (const OpArity *arity = onnxArity(node.op_type(), *since)) {
      // Required inputs must be present; import functions rely on it.
      if (node.input_size() > arity->maxInputs || node.output_size() > arity->maxOutputs ||
          node.output_size() < arity->minOutputs)
        return nodeError(node, "takes " + Twine(arity->minInputs) + " to " +
                                   Twine(arity->maxInputs) + " inputs and " +
                                   Twine(arity->minOutputs) + " to " + Twine(arity->maxOutputs) +
                                   " outputs, got " + Twine(node.input_size()) + " and " +
                                   Twine(node.output_size()));
      for (int i = 0; i < arity->minInputs; ++i)
        if (i >= node.input_size() || node.input(i).empty())
          return nodeError(node, "required input " + Twine(i) + " is missing");
    }
  OpContext context(*this, node, *since, loc);
  errorMessage.clear();
  const OpRegistry::Entry *entry =
      getOpRegistry().find(isOnnxDomain(node.domain()) ? "" : node.domain(), node.op_type());
  if (failed(entry->fn(context)))
    return nodeError(node, errorMessage.empty() ? "cannot import this node" : errorMessage);
  for (int i = 0; i < node.output_size(); ++i)
    if (!node.output(i).empty() && !values.count(node.output(i)))
      return nodeError(node, "Kiln does not produce output " + Twine(i) + " ('" +
                                 node.output(i) + "') of this op");
  return llvm::Error::success();
}

llvm::Error GraphImporter::createReturn(const onnx::GraphProto &graph) {
  llvm::SmallVector<Value> results;
  llvm::SmallVector<Type> resultTypes;
  llvm::SmallVector<Attribute> resultAttrs;
  Location loc = FileLineColLoc::get(&mlirContext, path, 0, 0);
  for (int i = 0; i < graph.output_size(); ++i) {
    const onnx::ValueInfoProto &output = graph.output(i);
    TensorValue *value = lookup(output.name());
    if (!value)
      return fileError("output '" + output.name() + "' is not produced by any node");
    Value result = materialize(*value, loc);
    if (!result)
      return fileError("output '" + output.name() + "' has no value Kiln can return");
    std::vector<std::string> names(value->type.getRank(), "");
    // The declared type can name or pin dimensions the import left dynamic.
    if (output.type().has_tensor_type() && output.type().tensor_type().has_shape()) {
      auto declared = typeOf(output, /*isArgument=*/false);
      if (!declared)
        return declared.takeError();
      auto [declaredType, declaredNames] = *declared;
      if (declaredType.getRank() != value->type.getRank())
        return fileError("output '" + output.name() + "' is declared with rank " +
                         Twine(declaredType.getRank()) + " but computes rank " +
                         Twine(value->type.getRank()) + " (inconsistent shapes)");
      llvm::SmallVector<int64_t> shape(value->type.getShape());
      for (int64_t d = 0; d < declaredType.getRank(); ++d) {
        int64_t want = declaredType.getDimSize(d), have = shape[d];
        if (!ShapedType::isDynamic(want) && !ShapedType::isDynamic(have) && want != have)
          return fileError("output '" + output.name() + "' is declared with dimension " +
                           Twine(d) + " = " + Twine(want) + " but computes " + Twine(have) +
                           " (inconsistent shapes)");
        if (ShapedType::isDynamic(have))
          shape[d] = want;
        if (ShapedType::isDynamic(shape[d]))
          names[d] = declaredNames[d];
      }
      auto refined = RankedTensorType::get(shape, value->type.getElementType());
      if (refined != value->type)
        result = tensor::CastOp::create(opBuilder, loc, refined, result);
    }
    if (output.type().has_tensor_type() && output.type().tensor_type().elem_type() != 0 &&
        output.type().tensor_type().elem_type() != value->dtype)
      return fileError("output '" + output.name() + "' is declared as " +
                       dtypeName(output.type().tensor_type().elem_type()) + " but computes " +
                       dtypeName(value->dtype));
    results.push_back(result);
    resultTypes.push_back(result.getType());
    resultAttrs.push_back(opBuilder.getDictionaryAttr(
        {opBuilder.getNamedAttr("kiln.name", opBuilder.getStringAttr(output.name())),
         opBuilder.getNamedAttr("kiln.dims", stringArray(opBuilder, names)),
         opBuilder.getNamedAttr("kiln.dtype", opBuilder.getStringAttr(dtypeName(value->dtype)))}));
  }
  func::ReturnOp::create(opBuilder, loc, results);
  function.setType(FunctionType::get(&mlirContext, function.getArgumentTypes(), resultTypes));
  function.setAllResultAttrs(resultAttrs);
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// The whole model
//===----------------------------------------------------------------------===//

llvm::Expected<OwningOpRef<ModuleOp>> GraphImporter::run(std::optional<llvm::StringRef> bytes) {
  if (llvm::Error error = parseDimBindings())
    return std::move(error);
  auto loaded = bytes ? parseModelProto(*bytes, options.maxFileBytes)
                      : loadModelProto(path, options.maxFileBytes);
  if (!loaded)
    return fileError(llvm::toString(loaded.takeError()));
  model = std::move(*loaded);
  const onnx::GraphProto &graph = model->graph();

  for (const onnx::OperatorSetIdProto &opset : model->opset_import())
    opsets[isOnnxDomain(opset.domain()) ? "" : opset.domain()] = opset.version();
  auto onnxOpset = opsets.find("");
  if (onnxOpset == opsets.end())
    return fileError("the model imports no ai.onnx opset");
  if (onnxOpset->second < kMinOnnxOpset || onnxOpset->second > kMaxOnnxOpset)
    return fileError("ai.onnx opset " + Twine(onnxOpset->second) +
                     " is not supported (Kiln knows opsets " + Twine(kMinOnnxOpset) + " to " +
                     Twine(kMaxOnnxOpset) + ")");
  if (graph.node_size() == 0)
    return fileError("the graph is empty (it has no nodes)");
  if (graph.output_size() == 0)
    return fileError("the graph has no outputs");

  Location fileLoc = FileLineColLoc::get(&mlirContext, path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  (*module)->setAttr("kiln.source", opBuilder.getStringAttr(path));
  opBuilder.setInsertionPointToEnd(module->getBody());
  function = func::FuncOp::create(opBuilder, fileLoc, "main",
                                  FunctionType::get(&mlirContext, {}, {}));
  function.setPublic();

  if (llvm::Error error = importInitializers(graph))
    return std::move(error);
  if (llvm::Error error = createFunction(graph))
    return std::move(error);
  llvm::Expected<std::vector<int>> order = topologicalOrder(graph);
  if (!order)
    return order.takeError();
  for (int index : *order)
    if (llvm::Error error = importNode(graph.node(index)))
      return std::move(error);
  if (llvm::Error error = createReturn(graph))
    return std::move(error);

  // A verifier failure is an importer bug, but still names the node.
  std::string firstError;
  {
    ScopedDiagnosticHandler handler(&mlirContext, [&](Diagnostic &diag) {
      if (diag.getSeverity() == DiagnosticSeverity::Error && firstError.empty()) {
        std::string where;
        if (auto name = dyn_cast<NameLoc>(diag.getLocation()))
          where = "node '" + name.getName().str() + "': ";
        firstError = where + diag.str();
      }
      return success();
    });
    if (failed(verify(*module)))
      return fileError("internal error: the imported IR does not verify: " + firstError);
  }
  return std::move(module);
}

} // namespace kiln::onnx_import

namespace kiln {

llvm::Expected<OwningOpRef<ModuleOp>> importOnnxModel(MLIRContext &context,
                                                      llvm::StringRef path,
                                                      const ImportOptions &options) {
  onnx_import::GraphImporter importer(context, path, options);
  return importer.run();
}

llvm::Expected<OwningOpRef<ModuleOp>> importOnnxModelFromBuffer(MLIRContext &context,
                                                                llvm::StringRef bytes,
                                                                llvm::StringRef path,
                                                                const ImportOptions &options) {
  onnx_import::GraphImporter importer(context, path, options);
  return importer.run(bytes);
}

} // namespace kiln

//===- ModelSignature.cpp - signature, JSON and C header of a model ------===//
#include "kiln/Targets/Host/ModelSignature.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <limits>

using namespace mlir;

namespace kiln::host {

namespace {

/// The C headers embedded verbatim into every generated header.
const char *const kStatusHeader =
#include "EmbeddedStatusHeader.inc"
    ;
const char *const kModelHeader =
#include "EmbeddedModelHeader.inc"
    ;

llvm::Error errorAt(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

struct DTypeName {
  DType dtype;
  llvm::StringRef onnx;
};
constexpr DTypeName kDTypeNames[] = {
    {DType::F32, "float"},   {DType::F16, "float16"}, {DType::BF16, "bfloat16"},
    {DType::F64, "double"},  {DType::I8, "int8"},     {DType::I16, "int16"},
    {DType::I32, "int32"},   {DType::I64, "int64"},   {DType::U8, "uint8"},
    {DType::U16, "uint16"},  {DType::U32, "uint32"},  {DType::U64, "uint64"},
    {DType::Bool, "bool"}};

std::optional<DType> dtypeFromOnnxName(llvm::StringRef name) {
  for (const DTypeName &entry : kDTypeNames)
    if (entry.onnx == name)
      return entry.dtype;
  return std::nullopt;
}

/// The dtype of an element type when no kiln.dtype says otherwise
/// (signless integers read as signed).
std::optional<DType> dtypeFromType(Type type) {
  if (type.isF32()) return DType::F32;
  if (type.isF16()) return DType::F16;
  if (type.isBF16()) return DType::BF16;
  if (type.isF64()) return DType::F64;
  if (type.isInteger(1)) return DType::Bool;
  if (type.isInteger(8)) return DType::I8;
  if (type.isInteger(16)) return DType::I16;
  if (type.isInteger(32)) return DType::I32;
  if (type.isInteger(64)) return DType::I64;
  return std::nullopt;
}

unsigned dtypeBits(DType dtype) {
  switch (dtype) {
  case DType::Bool: case DType::I8: case DType::U8: return 8;
  case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 16;
  case DType::F32: case DType::I32: case DType::U32: return 32;
  case DType::F64: case DType::I64: case DType::U64: return 64;
  }
  return 0;
}

class SignatureReader {
public:
  explicit SignatureReader(func::FuncOp main) : main(main) {}

  llvm::Expected<ModelSignature> read() {
    readBounds();
    FunctionType type = main.getFunctionType();
    for (unsigned i = 0; i < type.getNumInputs(); ++i) {
      auto tensor = read(type.getInput(i), main.getArgAttrDict(i), "input", i, /*isInput=*/true);
      if (!tensor)
        return tensor.takeError();
      signature.inputs.push_back(std::move(*tensor));
    }
    for (unsigned i = 0; i < type.getNumResults(); ++i) {
      auto tensor =
          read(type.getResult(i), main.getResultAttrDict(i), "output", i, /*isInput=*/false);
      if (!tensor)
        return tensor.takeError();
      signature.outputs.push_back(std::move(*tensor));
    }
    return std::move(signature);
  }

private:
  void readBounds() {
    auto bounds = main->getAttrOfType<DictionaryAttr>("kiln.dim_bounds");
    if (!bounds)
      return;
    for (NamedAttribute bound : bounds)
      if (auto range = dyn_cast<DenseI64ArrayAttr>(bound.getValue()))
        if (range.size() == 2)
          declaredBounds[bound.getName().getValue()] = {range[0], range[1]};
  }

  int32_t symbolIndex(llvm::StringRef name) {
    auto found = symbolIndices.find(name);
    if (found != symbolIndices.end())
      return found->second;
    // Unbounded symbols accept any size from 1 up.
    std::pair<int64_t, int64_t> range = {1, std::numeric_limits<int64_t>::max()};
    auto declared = declaredBounds.find(name);
    if (declared != declaredBounds.end())
      range = declared->second;
    int32_t index = int32_t(signature.symbols.size());
    signature.symbols.push_back({name.str(), range.first, range.second});
    symbolIndices[name] = index;
    return index;
  }

  llvm::Expected<TensorSignature> read(Type type, DictionaryAttr attrs, llvm::StringRef what,
                                       unsigned index, bool isInput) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    TensorSignature result;
    result.name = (what + llvm::Twine(index)).str();
    if (attrs)
      if (auto name = attrs.getAs<StringAttr>("kiln.name"))
        result.name = name.str();
    if (!tensor)
      return errorAt(what + " '" + result.name + "' is not a ranked tensor");
    std::optional<DType> dtype = dtypeFromType(tensor.getElementType());
    if (attrs)
      if (auto onnx = attrs.getAs<StringAttr>("kiln.dtype"))
        if (std::optional<DType> named = dtypeFromOnnxName(onnx.getValue()))
          dtype = named;
    if (!dtype || dtypeBits(*dtype) != std::max(8u, tensor.getElementTypeBitWidth()))
      return errorAt(what + " '" + result.name + "' has an element type the host C API cannot "
                     "pass");
    result.dtype = *dtype;
    ArrayAttr names = attrs ? attrs.getAs<ArrayAttr>("kiln.dims") : ArrayAttr();
    for (int64_t d = 0, e = tensor.getRank(); d < e; ++d) {
      std::string dimName;
      if (names && int64_t(names.size()) == e)
        if (auto s = dyn_cast<StringAttr>(names[d]))
          dimName = s.str();
      if (!tensor.isDynamicDim(d)) {
        result.shape.push_back(tensor.getDimSize(d));
        result.dimNames.push_back("");
        result.dimSymbols.push_back(-1);
        continue;
      }
      if (dimName.empty()) {
        if (!isInput)
          return errorAt("output '" + result.name + "' dimension " + llvm::Twine(d) +
                         " is dynamic and unnamed; the host target needs output sizes that "
                         "the inputs determine (name it in kiln.dims or pin it with --dim)");
        dimName = result.name + "." + std::to_string(d);
      }
      if (!isInput && !symbolIndices.count(dimName))
        return errorAt("output '" + result.name + "' dimension " + llvm::Twine(d) + " ('" +
                       dimName + "') is not a dimension of any input; the host target needs "
                       "output sizes that the inputs determine");
      result.shape.push_back(-1);
      result.dimSymbols.push_back(symbolIndex(dimName));
      result.dimNames.push_back(std::move(dimName));
    }
    return result;
  }

  func::FuncOp main;
  ModelSignature signature;
  llvm::StringMap<int32_t> symbolIndices;
  llvm::StringMap<std::pair<int64_t, int64_t>> declaredBounds;
};

llvm::json::Value tensorToJson(const TensorSignature &tensor) {
  llvm::json::Array shape, dimNames;
  for (size_t d = 0; d < tensor.shape.size(); ++d) {
    shape.push_back(tensor.shape[d]);
    dimNames.push_back(tensor.dimNames[d]);
  }
  return llvm::json::Object{{"name", tensor.name},
                            {"dtype", onnxDTypeName(tensor.dtype)},
                            {"shape", std::move(shape)},
                            {"dim_names", std::move(dimNames)}};
}

} // namespace

llvm::StringRef onnxDTypeName(DType dtype) {
  for (const DTypeName &entry : kDTypeNames)
    if (entry.dtype == dtype)
      return entry.onnx;
  return "unknown";
}

bool isValidSymbolPrefix(llvm::StringRef name) {
  if (name.empty() || name.size() > 64 || llvm::isDigit(name.front()))
    return false;
  return llvm::all_of(name, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

llvm::Expected<ModelSignature> extractModelSignature(ModuleOp module) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main || main.isExternal())
    return errorAt("the module has no func.func @main with a body");
  return SignatureReader(main).read();
}

std::string signatureToJson(const ModelSignature &signature, llvm::StringRef prefix) {
  llvm::json::Array inputs, outputs, dims;
  for (const TensorSignature &tensor : signature.inputs)
    inputs.push_back(tensorToJson(tensor));
  for (const TensorSignature &tensor : signature.outputs)
    outputs.push_back(tensorToJson(tensor));
  for (const SymbolSignature &symbol : signature.symbols)
    dims.push_back(llvm::json::Object{{"name", symbol.name}, {"min", symbol.min},
                                      {"max", symbol.max}});
  llvm::json::Value root = llvm::json::Object{{"name", prefix},
                                              {"abi_version", 1},
                                              {"inputs", std::move(inputs)},
                                              {"outputs", std::move(outputs)},
                                              {"symbolic_dims", std::move(dims)}};
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", root);
  return text;
}

static void describeTensors(llvm::raw_ostream &os, llvm::StringRef what,
                            const std::vector<TensorSignature> &tensors) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorSignature &tensor = tensors[i];
    os << " *   " << what << " " << i << ": \"" << tensor.name << "\" "
       << onnxDTypeName(tensor.dtype) << " [";
    for (size_t d = 0; d < tensor.shape.size(); ++d)
      os << (d ? ", " : "")
         << (tensor.shape[d] < 0 ? tensor.dimNames[d] : std::to_string(tensor.shape[d]));
    os << "]\n";
  }
}

std::string generateHeader(const ModelSignature &signature, llvm::StringRef prefix) {
  std::string text;
  llvm::raw_string_ostream os(text);
  std::string guard = (llvm::StringRef(prefix).upper() + "_KILN_MODEL_H");
  os << "/* Generated by kilnc for model '" << prefix << "'. Do not edit.\n *\n";
  os << " * Signature:\n";
  describeTensors(os, "input", signature.inputs);
  describeTensors(os, "output", signature.outputs);
  for (const SymbolSignature &symbol : signature.symbols)
    os << " *   symbolic dimension '" << symbol.name << "' in [" << symbol.min << ", "
       << symbol.max << "]\n";
  os << R"( *
 * Usage (see docs/c-api.md):
 *   PREFIX_model *model;
 *   if (PREFIX_create(&model) != KILN_OK) { puts(PREFIX_last_error()); ... }
 *   kiln_tensor in[N_IN] = {...}, out[N_OUT] = {...};   caller-owned buffers
 *   kiln_status s = PREFIX_run(model, in, N_IN, out, N_OUT);
 *   PREFIX_destroy(model);
 *
 * Ownership: the model never keeps, frees or resizes any buffer it is given;
 * inputs are only read; outputs are written only by a run that returns
 * KILN_OK, and only within their size_bytes. Strings and tensor_info arrays point into the .so's
 * read-only data.
 * Errors: every function returning kiln_status sets a thread-local message,
 * PREFIX_last_error(), naming the tensor and what was expected.
 * Concurrency: after PREFIX_create returns, a handle is immutable. Any number
 * of threads may call PREFIX_run / PREFIX_run_dlpack on the same handle at
 * once (each call uses its own scratch memory; results are bit-identical to
 * a single-threaded run). PREFIX_destroy must not race with other calls on
 * the handle.
 */
)";
  std::string body = text;
  text.clear();
  // Substitute the prefix in the comment written above.
  for (size_t pos = 0; (pos = body.find("PREFIX", pos)) != std::string::npos;)
    body.replace(pos, 6, prefix.str());
  os << body;
  os << "#ifndef " << guard << "\n#define " << guard << "\n\n";
  os << kStatusHeader << "\n" << kModelHeader << "\n";
  std::string p = prefix.str();
  os << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  os << "typedef struct " << p << "_model " << p << "_model; /* opaque handle */\n\n";
  os << "#define " << llvm::StringRef(p).upper() << "_NUM_INPUTS " << signature.inputs.size()
     << "\n#define " << llvm::StringRef(p).upper() << "_NUM_OUTPUTS "
     << signature.outputs.size() << "\n\n";
  os << "/* KILN_MODEL_ABI_VERSION of the library (compare with this header's). */\n"
     << "uint32_t " << p << "_abi_version(void);\n"
     << "/* The message of this thread's last failed call into this model (\"\" after a "
        "success). */\n"
     << "const char *" << p << "_last_error(void);\n\n"
     << "/* Creates a handle; *out is NULL on failure. A model compiled with\n"
     << " * --weights=external maps " << p << ".safetensors from the folder of this\n"
     << " * library and checks it (KILN_ERROR_WEIGHTS when it does not match). */\n"
     << "kiln_status " << p << "_create(" << p << "_model **out);\n"
     << "/* The same with the weights file at `weights_path` (NULL: beside the library).\n"
     << " * A model with embedded weights accepts only NULL. */\n"
     << "kiln_status " << p << "_create_with_weights(const char *weights_path, " << p
     << "_model **out);\n"
     << "/* Destroys a handle (NULL is a no-op). */\n"
     << "void " << p << "_destroy(" << p << "_model *model);\n\n"
     << "int32_t " << p << "_num_inputs(void);\n"
     << "int32_t " << p << "_num_outputs(void);\n"
     << "kiln_status " << p << "_input_info(int32_t index, kiln_tensor_info *info);\n"
     << "kiln_status " << p << "_output_info(int32_t index, kiln_tensor_info *info);\n"
     << "/* Inclusive bounds of a symbolic dimension, by name. */\n"
     << "kiln_status " << p
     << "_dim_bounds(const char *dim_name, int64_t *min, int64_t *max);\n"
     << "/* The signature as JSON (same content as " << p << ".json). */\n"
     << "const char *" << p << "_signature_json(void);\n"
     << "/* The shape of output `output_index` for these inputs (only their shapes are "
        "read); writes rank entries. */\n"
     << "kiln_status " << p
     << "_output_shape(const kiln_tensor *inputs, int32_t num_inputs, int32_t output_index, "
        "int64_t *shape);\n\n"
     << "/* Runs the model on caller-owned buffers, inputs and outputs in signature order. */\n"
     << "kiln_status " << p << "_run(" << p
     << "_model *model, const kiln_tensor *inputs, int32_t num_inputs,\n"
     << "    const kiln_tensor *outputs, int32_t num_outputs);\n"
     << "/* The same with DLPack 1.x CPU tensors (compact row-major). The model neither\n"
     << " * takes ownership nor calls the deleters: the caller does, after the call. */\n"
     << "kiln_status " << p << "_run_dlpack(" << p
     << "_model *model, DLManagedTensorVersioned *const *inputs,\n"
     << "    int32_t num_inputs, DLManagedTensorVersioned *const *outputs, int32_t "
        "num_outputs);\n\n";
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
  return text;
}

} // namespace kiln::host

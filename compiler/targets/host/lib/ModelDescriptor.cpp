//===- ModelDescriptor.cpp - per-model constants and the invoke shim -----===//
//
// Builds, as LLVM constants, the structs of runtime/host/kiln_model_desc.h;
// keep the field order in sync with that header.
//
//===----------------------------------------------------------------------===//
#include "HostTargetInternal.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"

namespace kiln::host {

namespace {

constexpr int32_t kDescriptorLayout = 1; // KILN_MODEL_DESC_LAYOUT

class DescriptorBuilder {
public:
  explicit DescriptorBuilder(llvm::Module &module)
      : module(module), context(module.getContext()),
        ptr(llvm::PointerType::getUnqual(context)), i32(llvm::Type::getInt32Ty(context)),
        i64(llvm::Type::getInt64Ty(context)) {}

  llvm::Constant *string(llvm::StringRef text) {
    llvm::Constant *data = llvm::ConstantDataArray::getString(context, text);
    return global(data, "kiln.str");
  }

  llvm::Constant *global(llvm::Constant *init, llvm::StringRef name) {
    auto *var = new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true,
                                         llvm::GlobalValue::PrivateLinkage, init, name);
    var->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return var;
  }

  template <typename T>
  llvm::Constant *intArray(llvm::ArrayRef<T> values, llvm::StringRef name) {
    if (values.empty())
      return llvm::ConstantPointerNull::get(ptr);
    return global(llvm::ConstantDataArray::get(context, values), name);
  }

  llvm::Constant *pointerArray(llvm::ArrayRef<llvm::Constant *> values, llvm::StringRef name) {
    if (values.empty())
      return llvm::ConstantPointerNull::get(ptr);
    return global(llvm::ConstantArray::get(llvm::ArrayType::get(ptr, values.size()), values),
                  name);
  }

  /// kiln_io_desc {name, dtype, rank, shape, dim_symbols, dim_names}.
  llvm::Constant *tensor(const TensorSignature &tensor) {
    llvm::SmallVector<llvm::Constant *> dimNames;
    for (const std::string &name : tensor.dimNames)
      dimNames.push_back(string(name));
    llvm::Constant *fields[] = {
        string(tensor.name),
        llvm::ConstantInt::get(i32, int32_t(tensor.dtype)),
        llvm::ConstantInt::get(i32, int32_t(tensor.shape.size())),
        intArray(llvm::ArrayRef<int64_t>(tensor.shape), "kiln.shape"),
        intArray(llvm::ArrayRef<int32_t>(tensor.dimSymbols), "kiln.dim_symbols"),
        pointerArray(dimNames, "kiln.dim_names")};
    return llvm::ConstantStruct::get(ioType(), fields);
  }

  llvm::Constant *tensors(const std::vector<TensorSignature> &list, llvm::StringRef name) {
    if (list.empty())
      return llvm::ConstantPointerNull::get(ptr);
    llvm::SmallVector<llvm::Constant *> elements;
    for (const TensorSignature &entry : list)
      elements.push_back(tensor(entry));
    return global(llvm::ConstantArray::get(llvm::ArrayType::get(ioType(), list.size()), elements),
                  name);
  }

  /// kiln_symbol_desc {name, min, max}.
  llvm::Constant *symbols(const std::vector<SymbolSignature> &list) {
    if (list.empty())
      return llvm::ConstantPointerNull::get(ptr);
    auto *type = llvm::StructType::get(context, {ptr, i64, i64});
    llvm::SmallVector<llvm::Constant *> elements;
    for (const SymbolSignature &symbol : list)
      elements.push_back(llvm::ConstantStruct::get(
          type, {string(symbol.name), llvm::ConstantInt::get(i64, symbol.min),
                 llvm::ConstantInt::get(i64, symbol.max)}));
    return global(llvm::ConstantArray::get(llvm::ArrayType::get(type, list.size()), elements),
                  "kiln.symbols");
  }

  llvm::StructType *ioType() { return llvm::StructType::get(context, {ptr, i32, i32, ptr, ptr, ptr}); }

  llvm::Module &module;
  llvm::LLVMContext &context;
  llvm::PointerType *ptr;
  llvm::IntegerType *i32, *i64;
};

/// Replaces the glue's declaration of `name` (if any) by `definition`.
void takeOverDeclaration(llvm::Module &module, llvm::StringRef name,
                         llvm::GlobalValue *definition) {
  if (llvm::GlobalValue *declaration = module.getNamedValue(name)) {
    declaration->replaceAllUsesWith(definition);
    declaration->eraseFromParent();
  }
  definition->setName(name);
}

/// Defines `name` as the constant struct of `fields`, replacing the glue's
/// declaration.
void defineGlueConstant(llvm::Module &module, llvm::ArrayRef<llvm::Constant *> fields,
                        llvm::StringRef name) {
  llvm::Constant *init = llvm::ConstantStruct::getAnon(module.getContext(), fields);
  auto *definition = new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true,
                                              llvm::GlobalValue::ExternalLinkage, init,
                                              name + ".new");
  takeOverDeclaration(module, name, definition);
}

} // namespace

void emitModelDescriptor(llvm::Module &module, const ModelSignature &signature,
                         llvm::StringRef json) {
  DescriptorBuilder b(module);
  llvm::Constant *fields[] = {
      llvm::ConstantInt::get(b.i32, kDescriptorLayout),
      llvm::ConstantInt::get(b.i32, int32_t(signature.inputs.size())),
      llvm::ConstantInt::get(b.i32, int32_t(signature.outputs.size())),
      llvm::ConstantInt::get(b.i32, int32_t(signature.symbols.size())),
      b.tensors(signature.inputs, "kiln.inputs"),
      b.tensors(signature.outputs, "kiln.outputs"),
      b.symbols(signature.symbols),
      b.string(json)};
  defineGlueConstant(module, fields, "kiln_model_descriptor");
}

void emitWeightsDescriptor(llvm::Module &module, const ExternalWeights *weights,
                           llvm::StringRef modelName) {
  DescriptorBuilder b(module);
  // kiln_weight_desc {name, dtype, rank, shape, begin, end}.
  auto *tensorType = llvm::StructType::get(b.context, {b.ptr, b.ptr, b.i32, b.ptr, b.i64, b.i64});
  llvm::SmallVector<llvm::Constant *> tensors;
  if (weights)
    for (const ExternalWeights::Tensor &tensor : weights->tensors)
      tensors.push_back(llvm::ConstantStruct::get(
          tensorType, {b.string(tensor.name), b.string(tensor.dtype),
                       llvm::ConstantInt::get(b.i32, int32_t(tensor.shape.size())),
                       b.intArray(llvm::ArrayRef<int64_t>(tensor.shape), "kiln.weight.shape"),
                       llvm::ConstantInt::get(b.i64, tensor.begin),
                       llvm::ConstantInt::get(b.i64, tensor.end)}));
  llvm::Constant *tensorArray =
      tensors.empty() ? llvm::ConstantPointerNull::get(b.ptr)
                      : b.global(llvm::ConstantArray::get(
                                     llvm::ArrayType::get(tensorType, tensors.size()), tensors),
                                 "kiln.weights");
  // kiln_weights_desc {external, num_tensors, tensors, data_size, checksum,
  // file_name, model_name}.
  llvm::Constant *fields[] = {
      llvm::ConstantInt::get(b.i32, weights ? 1 : 0),
      llvm::ConstantInt::get(b.i32, int32_t(tensors.size())),
      tensorArray,
      llvm::ConstantInt::get(b.i64, weights ? weights->data.size() : 0),
      llvm::ConstantInt::get(b.i64, weights ? weights->checksum : 0),
      b.string((modelName + ".safetensors").str()),
      b.string(modelName)};
  defineGlueConstant(module, fields, "kiln_model_weights");
}

llvm::Error emitInvokeShim(llvm::Module &module, llvm::StringRef entry, unsigned numArguments) {
  llvm::Function *callee = module.getFunction(entry);
  if (!callee || callee->arg_size() != numArguments)
    return llvm::createStringError("the compiled model has no C interface function '" + entry +
                                   "' with " + llvm::Twine(numArguments) + " arguments");
  llvm::LLVMContext &context = module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(context);
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr}, false);
  auto *shim = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                                      "kiln.invoke.new", module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", shim));
  llvm::SmallVector<llvm::Value *> arguments;
  for (unsigned i = 0; i < numArguments; ++i) {
    llvm::Value *slot = b.CreateConstInBoundsGEP1_64(ptr, shim->getArg(0), i);
    arguments.push_back(b.CreateLoad(ptr, slot));
  }
  b.CreateCall(callee, arguments);
  b.CreateRetVoid();
  takeOverDeclaration(module, "kiln_model_invoke", shim);
  return llvm::Error::success();
}

} // namespace kiln::host

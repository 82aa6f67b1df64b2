//===- HostTarget.cpp - kiln IR to lib<name>.so, in-process --------------===//
#include "kiln/Targets/Host/HostTarget.h"
#include "HostTargetInternal.h"
#include "kiln/Lowering/HostPasses.h"
#include "kiln/Support/OutputFile.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::host {

namespace {

constexpr llvm::StringLiteral kEntryWrapperPrefix = "_mlir_ciface_";

llvm::Error lowerToLLVMDialect(mlir::ModuleOp module) {
  mlir::PassManager pm(module.getContext());
  buildHostLoweringPipeline(pm);
  if (mlir::failed(pm.run(module)))
    return llvm::createStringError("lowering for the host target failed (see the diagnostics "
                                   "above)");
  return llvm::Error::success();
}

/// Removes the kiln.* attributes of function arguments and results.
void dropKilnArgumentAttributes(mlir::ModuleOp module) {
  auto withoutKiln = [](llvm::ArrayRef<mlir::NamedAttribute> attrs) {
    return llvm::to_vector(llvm::make_filter_range(attrs, [](mlir::NamedAttribute attr) {
      return !attr.getName().getValue().starts_with("kiln.");
    }));
  };
  module.walk([&](mlir::FunctionOpInterface function) {
    for (unsigned i = 0, e = function.getNumArguments(); i < e; ++i)
      function.setArgAttrs(i, withoutKiln(function.getArgAttrs(i)));
    for (unsigned i = 0, e = function.getNumResults(); i < e; ++i)
      function.setResultAttrs(i, withoutKiln(function.getResultAttrs(i)));
  });
}

/// The model's LLVM module: compiled code, C glue, descriptor, invoke shim,
/// with only `<name>_*` exported.
llvm::Expected<std::unique_ptr<llvm::Module>>
buildLLVMModule(mlir::ModuleOp module, const ModelSignature &signature, llvm::StringRef json,
                llvm::StringRef prefix, llvm::TargetMachine &machine,
                llvm::LLVMContext &context, ExternalWeights *externalWeights,
                bool sanitizedGlue) {
  mlir::registerBuiltinDialectTranslation(*module.getContext());
  mlir::registerLLVMDialectTranslation(*module.getContext());
  // The signature was read off the kiln.* argument attributes already; LLVM
  // has no use for them (and would warn about each).
  dropKilnArgumentAttributes(module);
  std::unique_ptr<llvm::Module> llvmModule = mlir::translateModuleToLLVMIR(module, context, prefix);
  if (!llvmModule)
    return llvm::createStringError("translating the lowered model to LLVM IR failed (see the "
                                   "diagnostics above)");
  llvmModule->setDataLayout(machine.createDataLayout());
  llvmModule->setTargetTriple(machine.getTargetTriple());
  // Before the glue joins: every constant array is then the model's.
  if (externalWeights)
    if (llvm::Error error = externalizeWeights(*llvmModule, *externalWeights))
      return std::move(error);
  if (llvm::Error error = linkModelGlue(*llvmModule, sanitizedGlue))
    return std::move(error);
  emitModelDescriptor(*llvmModule, signature, json);
  emitWeightsDescriptor(*llvmModule, externalWeights, prefix);
  unsigned numArguments = signature.inputs.size() + signature.outputs.size();
  if (llvm::Error error = emitInvokeShim(
          *llvmModule, (kEntryWrapperPrefix + kHostEntryName).str(), numArguments))
    return std::move(error);
  applySymbolPrefix(*llvmModule, prefix);
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*llvmModule, &os))
    return llvm::createStringError("internal error: invalid LLVM IR for the model: " + problems);
  return std::move(llvmModule);
}

llvm::Error linkToOutput(llvm::ArrayRef<char> object, llvm::StringRef outputPath,
                         bool sanitizedGlue) {
  llvm::SmallString<256> objectPath;
  int objectFD;
  if (std::error_code error =
          llvm::sys::fs::createTemporaryFile("kiln-model", "o", objectFD, objectPath))
    return llvm::createStringError("cannot create a temporary object file: " + error.message());
  llvm::FileRemover removeObject(objectPath);
  {
    llvm::raw_fd_ostream os(objectFD, /*shouldClose=*/true);
    os.write(object.data(), object.size());
    os.flush();
    if (os.has_error())
      return llvm::createStringError("cannot write the temporary object " + objectPath + ": " +
                                     os.error().message());
  }
  // Link beside the output, then rename: no half-written library.
  std::string linkedPath = stagingPathFor(outputPath);
  llvm::FileRemover removeLinked(linkedPath);
  if (llvm::Error error =
          linkSharedLibrary(objectPath, linkedPath, llvm::sys::path::filename(outputPath),
                            sanitizedGlue))
    return error;
  return commitStagedFile(linkedPath, outputPath);
}

std::string sidecarPath(llvm::StringRef outputPath, llvm::StringRef name, llvm::StringRef ext) {
  llvm::SmallString<256> path(llvm::sys::path::parent_path(outputPath));
  llvm::sys::path::append(path, name + ext);
  return std::string(path);
}

} // namespace

void registerHostTargetDialects(mlir::DialectRegistry &registry) {
  // Bufferization and conversion to LLVM go through interfaces that
  // dialects register as extensions; registering all keeps them in sync.
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
}

llvm::Error compileForHost(mlir::ModuleOp module, const HostTargetOptions &options) {
  if (!isValidSymbolPrefix(options.name))
    return llvm::createStringError("--name '" + options.name +
                                   "' must be a C identifier ([A-Za-z_][A-Za-z0-9_]*, at most "
                                   "64 characters)");
  StageClock clock(options.verbose);
  llvm::Expected<ModelSignature> signature = extractModelSignature(module);
  if (!signature)
    return signature.takeError();
  std::string json = signatureToJson(*signature, options.name);

  if (llvm::Error error = lowerToLLVMDialect(module))
    return error;
  clock.done("lowering to the LLVM dialect");
  auto machine = createHostTargetMachine(options.cpu);
  if (!machine)
    return machine.takeError();
  llvm::LLVMContext context;
  std::optional<ExternalWeights> weights;
  if (options.externalWeights)
    weights.emplace();
  auto llvmModule = buildLLVMModule(module, *signature, json, options.name, **machine, context,
                                    weights ? &*weights : nullptr, options.sanitizedGlue);
  if (!llvmModule)
    return llvmModule.takeError();
  // Staged now, renamed into place with the library: a failure on the way
  // leaves neither file behind.
  std::string weightsPath = sidecarPath(options.outputPath, options.name, ".safetensors");
  std::string stagedWeights = weights ? stagingPathFor(weightsPath) : "";
  llvm::FileRemover removeStagedWeights(stagedWeights, /*deleteIt=*/weights.has_value());
  if (weights) {
    if (llvm::Error error =
            writeOutputFile(stagedWeights, serializeSafetensors(*weights, options.name)))
      return error;
    weights->data = std::string(); // the file has the bytes now
    clock.done("weights file");
  }
  optimizeModule(**llvmModule, **machine);
  clock.done("LLVM IR and optimization");

  auto commitWeights = [&]() -> llvm::Error {
    return weights ? commitStagedFile(stagedWeights, weightsPath) : llvm::Error::success();
  };
  if (options.artifact == HostArtifact::LLVMIR) {
    std::string text;
    llvm::raw_string_ostream os(text);
    (*llvmModule)->print(os, nullptr);
    if (llvm::Error error = writeOutputFile(options.outputPath, text))
      return error;
    return commitWeights();
  }
  auto object = emitObject(**llvmModule, **machine);
  if (!object)
    return object.takeError();
  clock.done("machine code");
  if (options.artifact == HostArtifact::Object) {
    if (llvm::Error error =
            writeOutputFile(options.outputPath, llvm::StringRef(object->data(), object->size())))
      return error;
    return commitWeights();
  }

  if (llvm::Error error = linkToOutput(*object, options.outputPath, options.sanitizedGlue))
    return error;
  if (llvm::Error error = commitWeights())
    return error;
  clock.done("linking");
  if (llvm::Error error = writeOutputFile(
          sidecarPath(options.outputPath, options.name, ".h"),
          generateHeader(*signature, options.name)))
    return error;
  return writeOutputFile(sidecarPath(options.outputPath, options.name, ".json"), json);
}

} // namespace kiln::host

//===- CudaTarget.cpp - kiln IR to lib<name>.so running on the GPU -------===//
//
// Stages: the CUDA lowering pipeline (kernels in one gpu.module, launches on
// the host), the launch plan read off the host function, PTX per
// architecture (compiler/targets/gpu), cubins through ptxas, then an x86-64
// module of the C glue, the kiln_cuda runtime and the plan's tables, linked
// in-process like the host target's.
//
//===----------------------------------------------------------------------===//
#include "kiln/Targets/Cuda/CudaTarget.h"
#include "../../host/lib/HostTargetInternal.h"
#include "kiln/Support/OutputFile.h"
#include "LaunchPlan.h"
#include "PlanEmitter.h"
#include "kiln/Lowering/CudaLibraryPasses.h"
#include "kiln/Lowering/CudaPasses.h"
#include "kiln/Lowering/HostPasses.h"
#include "kiln/Targets/GPU/PtxEmitter.h"
#include "kiln/Targets/Host/HostTarget.h"
#include "kiln/Targets/Host/ModelSignature.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::cuda {
namespace {

const unsigned char kGlueBitcode[] = {
#include "EmbeddedCudaGlueBitcode.inc"
};
const unsigned char kRuntimeBitcode[] = {
#include "EmbeddedCudaRuntimeBitcode.inc"
};

llvm::Error linkBitcode(llvm::Module &module, const unsigned char *data, size_t size,
                        llvm::StringRef what) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  auto buffer = llvm::MemoryBuffer::getMemBuffer(bytes, what, /*RequiresNullTerminator=*/false);
  auto parsed = llvm::parseBitcodeFile(buffer->getMemBufferRef(), module.getContext());
  if (!parsed)
    return parsed.takeError();
  (*parsed)->setDataLayout(module.getDataLayout());
  (*parsed)->setTargetTriple(module.getTargetTriple());
  if (llvm::Linker::linkModules(module, std::move(*parsed)))
    return llvm::createStringError("cannot link " + what + " into the model");
  return llvm::Error::success();
}

llvm::Error writeFile(llvm::StringRef path, llvm::StringRef bytes) {
  return llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
    os << bytes;
    return llvm::Error::success();
  });
}

uint32_t smNumber(llvm::StringRef arch) {
  unsigned sm = 0;
  arch.drop_front(3).take_while([](char c) { return llvm::isDigit(c); }).getAsInteger(10, sm);
  return sm;
}

llvm::Expected<std::string> readCubin(llvm::StringRef ptx, llvm::StringRef arch) {
  llvm::SmallString<128> path;
  if (std::error_code error = llvm::sys::fs::createTemporaryFile("kiln", "cubin", path))
    return llvm::createStringError("cannot create a temporary cubin: " + error.message());
  llvm::FileRemover remove(path);
  if (llvm::Error error = gpu_target::assembleCubin(ptx, arch, path))
    return std::move(error);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    return llvm::createStringError("cannot read " + path + ": " + buffer.getError().message());
  return (*buffer)->getBuffer().str();
}

/// PTX of `module` for `arch`. Only sm_90a keeps the kernels marked
/// sm_90a-only (wgmma, TMA) and their launches; the runtime runs those
/// launches only from sm_90a images, their alternatives everywhere else.
llvm::Expected<std::string> emitPtxFor(mlir::ModuleOp module, llvm::StringRef arch) {
  mlir::OwningOpRef<mlir::ModuleOp> clone = module.clone();
  if (arch != "sm_90a") {
    llvm::SmallVector<mlir::Operation *> sm90aOnly;
    clone->walk([&](mlir::Operation *op) {
      if (op->hasAttr(kSm90aOnlyAttrName))
        sm90aOnly.push_back(op);
    });
    for (mlir::Operation *op : sm90aOnly)
      op->erase(); // launches (host) and gpu.funcs: neither contains the other
  }
  return gpu_target::emitPtx(*clone, arch);
}

/// A cubin per architecture, and PTX for the JIT on newer GPUs (the
/// architecture-neutral targets only: sm_90a PTX runs nowhere else).
llvm::Expected<std::vector<ModuleImage>> buildImages(mlir::ModuleOp module,
                                                     llvm::ArrayRef<std::string> archs) {
  std::vector<ModuleImage> images;
  for (const std::string &arch : archs) {
    auto ptx = emitPtxFor(module, arch);
    if (!ptx)
      return ptx.takeError();
    auto cubin = readCubin(*ptx, arch);
    if (!cubin)
      return cubin.takeError();
    bool archSpecific = llvm::StringRef(arch).ends_with("a");
    images.push_back({false, smNumber(arch), archSpecific, std::move(*cubin)});
    if (!archSpecific)
      images.push_back({true, smNumber(arch), false, std::move(*ptx)});
  }
  bool hasPtx = llvm::any_of(images, [](const ModuleImage &image) { return image.ptx; });
  if (!hasPtx) {
    std::string neutral = archs.front().substr(0, archs.front().size() - 1);
    auto ptx = emitPtxFor(module, neutral);
    if (!ptx)
      return ptx.takeError();
    images.push_back({true, smNumber(neutral), false, std::move(*ptx)});
  }
  return images;
}

/// The host header plus the CUDA entry points.
std::string cudaHeader(const host::ModelSignature &signature, llvm::StringRef prefix) {
  std::string header = host::generateHeader(signature, prefix);
  std::string p = prefix.str();
  std::string extra =
      "/* CUDA model: tensor data are device pointers on device 0. PREFIX_run and\n"
      " * PREFIX_run_dlpack enqueue on the legacy default stream; these take the\n"
      " * caller's CUstream / cudaStream_t (NULL: legacy default stream) and\n"
      " * return once the work is enqueued. DLPack tensors must be kDLCUDA. */\n"
      "kiln_status PREFIX_run_on_stream(PREFIX_model *model, void *stream,\n"
      "                                 const kiln_tensor *inputs, int32_t num_inputs,\n"
      "                                 const kiln_tensor *outputs, int32_t num_outputs);\n"
      "kiln_status PREFIX_run_dlpack_on_stream(PREFIX_model *model, void *stream,\n"
      "                                        DLManagedTensorVersioned *const *inputs,\n"
      "                                        int32_t num_inputs,\n"
      "                                        DLManagedTensorVersioned *const *outputs,\n"
      "                                        int32_t num_outputs);\n\n";
  for (size_t pos = 0; (pos = extra.find("PREFIX", pos)) != std::string::npos;)
    extra.replace(pos, 6, p);
  size_t close = header.rfind("#ifdef __cplusplus\n}");
  header.insert(close == std::string::npos ? header.size() : close, extra);
  return header;
}

llvm::Error linkToOutput(llvm::ArrayRef<char> object, llvm::StringRef outputPath) {
  llvm::SmallString<256> objectPath;
  if (std::error_code error = llvm::sys::fs::createTemporaryFile("kiln-cuda-model", "o",
                                                                objectPath))
    return llvm::createStringError("cannot create a temporary object: " + error.message());
  llvm::FileRemover removeObject(objectPath);
  if (llvm::Error error = writeFile(objectPath, llvm::StringRef(object.data(), object.size())))
    return error;
  std::string linkedPath = stagingPathFor(outputPath);
  llvm::FileRemover removeLinked(linkedPath);
  if (llvm::Error error = host::linkSharedLibrary(objectPath, linkedPath,
                                                  llvm::sys::path::filename(outputPath)))
    return error;
  return commitStagedFile(linkedPath, outputPath);
}

uint64_t totalWeightBytes(const LaunchPlan &plan) {
  uint64_t total = 0;
  for (const PlanWeight &weight : plan.weights)
    total += weight.bytes.size();
  return total;
}

llvm::Expected<LaunchPlan> lowerAndPlan(mlir::ModuleOp module, unsigned numInputs,
                                        const CudaTargetOptions &options) {
  mlir::PassManager pm(module.getContext());
  CudaLoweringOptions lowering;
  lowering.f16Activations = options.f16;
  lowering.libraryKernels = options.libraryKernels;
  lowering.sm90aWgmma = options.wgmma && llvm::is_contained(options.gpuArchs, "sm_90a");
  buildCudaLoweringPipeline(pm, lowering);
  if (mlir::failed(pm.run(module)))
    return llvm::createStringError("lowering for the CUDA target failed (see the diagnostics "
                                   "above)");
  auto entry = module.lookupSymbol<mlir::func::FuncOp>(kHostEntryName);
  if (!entry)
    return llvm::createStringError("internal error: the lowered model has no entry function");
  return extractLaunchPlan(entry, numInputs);
}

llvm::Expected<llvm::SmallVector<char, 0>>
buildObject(const host::ModelSignature &signature, llvm::StringRef json, llvm::StringRef prefix,
            const LaunchPlan &plan, llvm::ArrayRef<ModuleImage> images) {
  auto machine = host::createHostTargetMachine(host::kDefaultHostCpu);
  if (!machine)
    return machine.takeError();
  llvm::LLVMContext context;
  auto module = std::make_unique<llvm::Module>("kiln_cuda_model", context);
  module->setDataLayout((*machine)->createDataLayout());
  module->setTargetTriple((*machine)->getTargetTriple());
  if (llvm::Error error = linkBitcode(*module, kGlueBitcode, sizeof kGlueBitcode,
                                      "the CUDA model glue"))
    return std::move(error);
  if (llvm::Error error = linkBitcode(*module, kRuntimeBitcode, sizeof kRuntimeBitcode,
                                      "the kiln_cuda runtime"))
    return std::move(error);
  host::emitModelDescriptor(*module, signature, json);
  if (llvm::Error error = emitCudaPlan(*module, plan, images))
    return std::move(error);
  host::applySymbolPrefix(*module, prefix);
  std::string problems;
  llvm::raw_string_ostream os(problems);
  if (llvm::verifyModule(*module, &os))
    return llvm::createStringError("internal error: invalid LLVM IR for the model: " + problems);
  host::optimizeModule(*module, **machine);
  return host::emitObject(*module, **machine);
}

} // namespace

llvm::Expected<std::vector<std::string>> parseGpuArchs(llvm::StringRef list) {
  llvm::SmallVector<llvm::StringRef> names;
  list.split(names, ',', -1, /*KeepEmpty=*/false);
  std::vector<std::string> archs;
  for (llvm::StringRef name : names) {
    name = name.trim();
    if (!gpu_target::isSupportedGpuArch(name))
      return llvm::createStringError("--gpu-arch: unsupported architecture '" + name +
                                     "'; expected a comma-separated list of " +
                                     gpu_target::supportedGpuArchList());
    if (!llvm::is_contained(archs, name.str()))
      archs.push_back(name.str());
  }
  if (archs.empty())
    return llvm::createStringError("--gpu-arch: no architecture given");
  return archs;
}

llvm::Error compileForCuda(mlir::ModuleOp module, const CudaTargetOptions &options) {
  if (!host::isValidSymbolPrefix(options.name))
    return llvm::createStringError("--name '" + options.name +
                                   "' must be a C identifier ([A-Za-z_][A-Za-z0-9_]*, at most "
                                   "64 characters)");
  if (options.gpuArchs.empty())
    return llvm::createStringError("--target=cuda needs at least one --gpu-arch");
  host::StageClock clock(options.verbose);
  auto signature = host::extractModelSignature(module);
  if (!signature)
    return signature.takeError();
  if (!signature->symbols.empty())
    return llvm::createStringError(
        "--target=cuda needs static shapes, but the model has symbolic dimension '" +
        signature->symbols.front().name + "': pin it with --dim=" +
        signature->symbols.front().name + "=VALUE");
  std::string json = host::signatureToJson(*signature, options.name);

  auto plan = lowerAndPlan(module, signature->inputs.size(), options);
  if (!plan)
    return plan.takeError();
  clock.done("lowering to kernels and a launch plan");
  if (options.verbose)
    llvm::errs() << "kilnc: device weights: " << totalWeightBytes(*plan) << " bytes in "
                 << plan->weights.size() << " arrays\n";
  auto images = buildImages(module, options.gpuArchs);
  if (!images)
    return images.takeError();
  clock.done("PTX and cubins");
  auto object = buildObject(*signature, json, options.name, *plan, *images);
  if (!object)
    return object.takeError();
  clock.done("host code");
  if (llvm::Error error = linkToOutput(*object, options.outputPath))
    return error;
  llvm::SmallString<256> stem(llvm::sys::path::parent_path(options.outputPath));
  llvm::sys::path::append(stem, options.name);
  if (llvm::Error error = writeFile((stem + ".h").str(), cudaHeader(*signature, options.name)))
    return error;
  return writeFile((stem + ".json").str(), json);
}

} // namespace kiln::cuda

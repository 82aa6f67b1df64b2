//===- PtxEmitter.cpp - gpu.module -> PTX in-process, PTX -> cubin --------===//
#include "kiln/Targets/GPU/PtxEmitter.h"

#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln::gpu_target {
namespace {

llvm::Error targetError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Removes a temporary file when it goes out of scope.
struct TempFile {
  llvm::SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

std::string findPtxas() {
  if (const char *env = std::getenv("KILN_PTXAS"); env && *env)
    return env;
  if (llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  if (auto found = llvm::sys::findProgramByName("ptxas"))
    return *found;
  return "";
}

/// The CUDA toolkit that holds ptxas, when it also has libdevice: MLIR's
/// serializer links libdevice (__nv_expf, ...) from there. Without it MLIR
/// only looks at CUDA_HOME and friends, which test runners may not pass on.
std::string cudaToolkitRoot() {
  std::string ptxas = findPtxas();
  if (ptxas.empty())
    return "";
  llvm::SmallString<256> root(llvm::sys::path::parent_path(llvm::sys::path::parent_path(ptxas)));
  llvm::SmallString<256> libdevice(root);
  llvm::sys::path::append(libdevice, "nvvm", "libdevice");
  return llvm::sys::fs::is_directory(libdevice) ? std::string(root) : "";
}

} // namespace

bool isSupportedGpuArch(llvm::StringRef arch) {
  return llvm::StringSwitch<bool>(arch)
      .Cases({"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"}, true)
      .Default(false);
}

llvm::StringRef supportedGpuArchList() { return "sm_80, sm_86, sm_89, sm_90, sm_90a"; }

void registerGpuTargetDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
}

llvm::Expected<std::string> emitPtx(ModuleOp module, llvm::StringRef arch) {
  if (!isSupportedGpuArch(arch))
    return targetError("unsupported GPU architecture '" + arch +
                       "'; expected one of " + supportedGpuArchList());
  MLIRContext *ctx = module.getContext();
  SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
  if (gpuModules.size() != 1)
    return targetError("expected exactly one gpu.module, found " +
                       llvm::Twine(gpuModules.size()));
  gpu::GPUModuleOp gpuModule = gpuModules.front();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), UnitAttr::get(ctx));
  // O3 in LLVM; PTX ISA 8.0 assembles for sm_80 and sm_90a with CUDA 12+.
  auto target = NVVM::NVVMTargetAttr::get(ctx, /*optLevel=*/3, "nvptx64-nvidia-cuda",
                                          arch, "+ptx80");
  gpuModule.setTargetsAttr(ArrayAttr::get(ctx, {target}));
  // Canonicalization folds extracts of an n-D vector gathered into a 1-D one
  // (the tensor-core GEMV's vector<2x2xf32> accumulators) into
  // vector.shape_cast, which the GPU-to-NVVM conversion does not lower: it
  // would stay behind an unrealized_conversion_cast. Lower it (through
  // strided slices) to extracts, inserts and shuffles here, whatever
  // pipeline produced the module.
  RewritePatternSet shapeCasts(ctx);
  vector::populateVectorShapeCastLoweringPatterns(shapeCasts);
  vector::populateVectorInsertExtractStridedSliceTransforms(shapeCasts);
  if (failed(applyPatternsGreedily(gpuModule, std::move(shapeCasts))))
    return targetError("lowering vector.shape_cast in the gpu.module did not converge");

  PassManager pm(ctx);
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(createConvertNVGPUToNVVMPass());
  ConvertGpuOpsToNVVMOpsOptions toNvvm;
  toNvvm.useBarePtrCallConv = true;
  kernels.addPass(createConvertGpuOpsToNVVMOps(toNvvm));
  // NVVM ops without an LLVM intrinsic (wgmma, mbarrier waits, TMA) become
  // inline PTX.
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions toBinary;
  toBinary.compilationTarget = "isa";
  toBinary.toolkitPath = cudaToolkitRoot();
  pm.addPass(createGpuModuleToBinaryPass(toBinary));

  std::string diagnostics;
  {
    llvm::raw_string_ostream os(diagnostics);
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
      os << diag.getLocation() << ": " << diag << "\n";
      return success();
    });
    if (failed(pm.run(module)))
      return targetError("lowering the GPU kernels to PTX for " + arch +
                         " failed:\n" + diagnostics);
  }
  for (auto binary : module.getOps<gpu::BinaryOp>())
    for (Attribute object : binary.getObjects())
      if (auto obj = dyn_cast<gpu::ObjectAttr>(object))
        return obj.getObject().getValue().str();
  return targetError("the GPU lowering produced no PTX object");
}

llvm::Error assembleCubin(llvm::StringRef ptx, llvm::StringRef arch,
                          llvm::StringRef cubinPath) {
  if (!isSupportedGpuArch(arch))
    return targetError("unsupported GPU architecture '" + arch + "'");
  std::string ptxas = findPtxas();
  if (ptxas.empty())
    return targetError("ptxas not found: install the CUDA toolkit or set KILN_PTXAS");
  TempFile input, log;
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("kiln", "ptx", fd, input.path))
    return targetError("cannot create a temporary PTX file: " + ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << ptx;
  }
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("kiln", "log", log.path))
    return targetError("cannot create a temporary log file: " + ec.message());
  std::string archFlag = ("-arch=" + arch).str();
  std::string cubin = cubinPath.str();
  llvm::SmallVector<llvm::StringRef> argv = {ptxas, archFlag, "-O3", input.path,
                                             "-o", cubin};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.path.str(),
                                                log.path.str()};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(ptxas, argv, std::nullopt, redirects,
                                     /*SecondsToWait=*/300, 0, &execError);
  if (rc != 0) {
    std::string output;
    if (auto buf = llvm::MemoryBuffer::getFile(log.path))
      output = (*buf)->getBuffer().str();
    llvm::sys::fs::remove(cubinPath);
    return targetError(ptxas + " " + archFlag + " failed (exit " + llvm::Twine(rc) +
                       ")" + (execError.empty() ? "" : ": " + execError) + "\n" +
                       output);
  }
  return llvm::Error::success();
}

} // namespace kiln::gpu_target

//===- Driver.cpp - kilnc's stages ---------------------------------------===//
#include "kiln/Driver/Driver.h"
#include "kiln/Calibration/HostCalibrationRunner.h"
#include "kiln/Importer/OnnxImporter.h"
#include "kiln/Lowering/CompressionPasses.h"
#include "kiln/Support/OutputFile.h"
#include "kiln/Targets/Cuda/CudaTarget.h"
#include "kiln/Targets/GPU/PtxEmitter.h"
#include "kiln/Targets/Host/HostTarget.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "kilnc") << message << "\n";
  return 1;
}

/// Writes the output ("-" is stdout); see writeOutputFile for the guarantees.
static int writeOutput(llvm::StringRef path, llvm::function_ref<void(llvm::raw_ostream &)> write) {
  if (path == "-") {
    write(llvm::outs());
    return 0;
  }
  if (llvm::Error error = writeOutputFile(path, write))
    return fail(llvm::toString(std::move(error)));
  return 0;
}

/// Fails before any work when the output's folder is missing (the linker
/// would otherwise report it only after the whole compile).
static llvm::Error checkOutputFolder(llvm::StringRef outputPath) {
  if (outputPath == "-")
    return llvm::Error::success();
  llvm::StringRef folder = llvm::sys::path::parent_path(outputPath);
  if (folder.empty() || llvm::sys::fs::is_directory(folder))
    return llvm::Error::success();
  return llvm::createStringError("output folder '" + folder +
                                 "' does not exist or is not a folder: create it, or pass "
                                 "-o with a path inside an existing folder");
}

static bool isMlirInput(const DriverOptions &options) {
  if (options.inputFormat != InputFormat::Auto)
    return options.inputFormat == InputFormat::Mlir;
  return llvm::sys::path::extension(options.inputPath) == ".mlir";
}

/// Imports ONNX, or parses MLIR that follows docs/ir-contract.md.
static llvm::Expected<OwningOpRef<ModuleOp>> loadModel(MLIRContext &context,
                                                       const DriverOptions &options) {
  if (!isMlirInput(options)) {
    ImportOptions importOptions;
    importOptions.dimBindings = options.dimBindings;
    return importOnnxModel(context, options.inputPath, importOptions);
  }
  if (!options.dimBindings.empty())
    return llvm::createStringError("--dim applies to ONNX input; in MLIR input, write the "
                                   "sizes and kiln.dim_bounds in the IR");
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(options.inputPath, &context);
  if (!module)
    return llvm::createStringError(options.inputPath +
                                   ": cannot parse the MLIR input (see the diagnostics above)");
  return module;
}

static int compileHost(ModuleOp module, const DriverOptions &options) {
  host::HostTargetOptions hostOptions;
  hostOptions.name = options.modelName;
  hostOptions.outputPath = options.outputPath;
  hostOptions.verbose = options.timeStages;
  hostOptions.externalWeights = options.externalWeights;
  hostOptions.sanitizedGlue = options.sanitizedGlue;
  if (!options.cpu.empty())
    hostOptions.cpu = options.cpu;
  switch (options.emit) {
  case EmitKind::LLVMIR: hostOptions.artifact = host::HostArtifact::LLVMIR; break;
  case EmitKind::Object: hostOptions.artifact = host::HostArtifact::Object; break;
  case EmitKind::SharedLibrary: hostOptions.artifact = host::HostArtifact::SharedLibrary; break;
  default: return fail("--target=host emits llvm, obj or so");
  }
  if (options.outputPath == "-")
    return fail("--target=host needs an output file (-o lib<name>.so)");
  if (llvm::Error error = host::compileForHost(module, hostOptions))
    return fail(options.inputPath + ": " + llvm::toString(std::move(error)));
  return 0;
}

static int compileCuda(ModuleOp module, const DriverOptions &options) {
  if (options.emit != EmitKind::SharedLibrary)
    return fail("--target=cuda emits so");
  if (options.outputPath == "-")
    return fail("--target=cuda needs an output file (-o lib<name>.so)");
  cuda::CudaTargetOptions cudaOptions;
  cudaOptions.name = options.modelName;
  cudaOptions.outputPath = options.outputPath;
  cudaOptions.verbose = options.timeStages;
  cudaOptions.f16 = options.precision == Precision::F16;
  cudaOptions.libraryKernels = options.libraryKernels;
  cudaOptions.wgmma = options.wgmma;
  auto archs = cuda::parseGpuArchs(options.gpuArchs.empty() ? cuda::kDefaultGpuArchs
                                                            : options.gpuArchs);
  if (!archs)
    return fail(llvm::toString(archs.takeError()));
  cudaOptions.gpuArchs = std::move(*archs);
  if (llvm::Error error = cuda::compileForCuda(module, cudaOptions))
    return fail(options.inputPath + ": " + llvm::toString(std::move(error)));
  return 0;
}

int runDriver(const DriverOptions &options) {
  if (options.externalWeights && options.target != Target::Host)
    return fail("--weights=external needs --target=host (the CUDA target keeps its weights in "
                "the library)");
  if (options.precision == Precision::F16 && options.target != Target::Cuda)
    return fail("--precision=f16 is implemented for --target=cuda only");
  if (llvm::Error error = checkOutputFolder(options.outputPath))
    return fail(llvm::toString(std::move(error)));
  DialectRegistry registry;
  registerImportedDialects(registry);
  registry.insert<KilnDialect, arith::ArithDialect, func::FuncDialect>();
  host::registerHostTargetDialects(registry);
  // Calibration runs the model through Kiln's own compiled host code.
  registerHostCalibrationRunner(registry);
  gpu_target::registerGpuTargetDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Print warnings and remarks too (compression passes explain skipped layers).
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  auto module = loadModel(context, options);
  if (!module)
    return fail(llvm::toString(module.takeError()));

  if (options.emit != EmitKind::ImportedIR) {
    PassManager pm(&context);
    // Recipe stages first: their per-layer choices win over the flags.
    if (!options.compression.recipePath.empty())
      if (llvm::Error error = addRecipePasses(pm, options.compression.recipePath,
                                              options.compression.calibPath))
        return fail(llvm::toString(std::move(error)));
    buildCompressionPipeline(pm, options.compression);
    // Distillation and the report compare with the uncompressed model.
    OwningOpRef<ModuleOp> teacher;
    if (options.compression.distill || !options.compression.reportPath.empty())
      teacher = (*module)->clone();
    CalibrationSettings calibration;
    calibration.path = options.compression.calibPath;
    if (failed(pm.run(**module)))
      return fail(options.inputPath + ": compression failed (see the diagnostics above)");
    if (options.compression.distill &&
        failed(distillModule(**module, *teacher, "", calibration, 64)))
      return fail(options.inputPath + ": distillation failed (see the diagnostics above)");
    CalibrationSettings evaluation = calibration;
    if (!options.compression.evalPath.empty())
      evaluation.path = options.compression.evalPath;
    if (!options.compression.reportPath.empty() &&
        failed(writeCompressionReport(*teacher, **module, evaluation,
                                      options.compression.reportPath, llvm::errs())))
      return fail(options.inputPath + ": the compression report failed (see above)");
  }
  if (options.target == Target::Host)
    return compileHost(**module, options);
  if (options.target == Target::Cuda)
    return compileCuda(**module, options);
  if (options.emit != EmitKind::ImportedIR && options.emit != EmitKind::KilnIR)
    return fail("--emit=llvm, obj and so need --target=host");
  return writeOutput(options.outputPath, [&](llvm::raw_ostream &os) {
    (*module)->print(os);
  });
}

} // namespace kiln

//===- Driver.cpp - kilnc's stages ---------------------------------------===//
#include "kiln/Driver/Driver.h"
#include "kiln/Importer/OnnxImporter.h"
#include "kiln/Lowering/CompressionPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "kilnc") << message << "\n";
  return 1;
}

/// Writes `text` to `path` atomically: a temporary file beside it is
/// renamed into place only once complete, so failures leave nothing behind.
static int writeOutput(llvm::StringRef path, llvm::function_ref<void(llvm::raw_ostream &)> write) {
  if (path == "-") {
    write(llvm::outs());
    return 0;
  }
  llvm::SmallString<256> model(path);
  model += ".tmp-%%%%%%";
  llvm::Expected<llvm::sys::fs::TempFile> temp = llvm::sys::fs::TempFile::create(model);
  if (!temp)
    return fail(path + ": cannot create output: " + llvm::toString(temp.takeError()));
  {
    llvm::raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
    write(os);
    os.flush();
    if (os.has_error()) {
      llvm::consumeError(temp->discard());
      return fail(path + ": write failed: " + os.error().message());
    }
  }
  if (llvm::Error error = temp->keep(path))
    return fail(path + ": cannot write output: " + llvm::toString(std::move(error)));
  return 0;
}

/// An ONNX model, or kiln IR in a .mlir file (to compress IR directly).
static llvm::Expected<OwningOpRef<ModuleOp>> loadModel(MLIRContext &context, llvm::StringRef path,
                                                      const ImportOptions &importOptions) {
  if (!path.ends_with(".mlir"))
    return importOnnxModel(context, path, importOptions);
  // Parse errors are reported through the context's diagnostics (stderr).
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(path, &context);
  if (!module)
    return llvm::createStringError(path + ": cannot parse the kiln IR (see above)");
  return module;
}

int runDriver(const DriverOptions &options) {
  DialectRegistry registry;
  registerImportedDialects(registry);
  registry.insert<KilnDialect, arith::ArithDialect, func::FuncDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Print warnings and remarks too (compression passes explain skipped layers).
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  ImportOptions importOptions;
  importOptions.dimBindings = options.dimBindings;
  auto module = loadModel(context, options.inputPath, importOptions);
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
  return writeOutput(options.outputPath, [&](llvm::raw_ostream &os) {
    (*module)->print(os);
  });
}

} // namespace kiln

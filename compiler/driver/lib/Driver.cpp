//===- Driver.cpp - kilnc's stages ---------------------------------------===//
#include "kiln/Driver/Driver.h"
#include "kiln/Importer/OnnxImporter.h"

#include "mlir/IR/MLIRContext.h"
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

int runDriver(const DriverOptions &options) {
  DialectRegistry registry;
  registerImportedDialects(registry);
  registry.insert<KilnDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  ImportOptions importOptions;
  importOptions.dimBindings = options.dimBindings;
  auto module = importOnnxModel(context, options.inputPath, importOptions);
  if (!module)
    return fail(llvm::toString(module.takeError()));

  if (options.emit != EmitKind::ImportedIR) {
    PassManager pm(&context);
    buildCompressionPipeline(pm, options.compression);
    if (failed(pm.run(**module)))
      return fail(options.inputPath + ": compression failed (see the diagnostics above)");
  }
  return writeOutput(options.outputPath, [&](llvm::raw_ostream &os) {
    (*module)->print(os);
  });
}

} // namespace kiln

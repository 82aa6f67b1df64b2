//===- ImporterFuzzer.cpp - libFuzzer target for the ONNX importer -------===//
//
// Feeds arbitrary bytes to the importer as a model file. Every input must
// either import into IR that verifies or fail with an error; crashes,
// sanitizer reports and hangs are findings. External data is resolved in
// an empty scratch folder, so the fuzzer cannot reach real files.
//
//===----------------------------------------------------------------------===//
#include "kiln/Importer/OnnxImporter.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdint>
#include <cstdlib>

static mlir::MLIRContext &fuzzContext() {
  static mlir::MLIRContext *context = [] {
    mlir::DialectRegistry registry;
    kiln::registerImportedDialects(registry);
    auto *ctx = new mlir::MLIRContext(registry, mlir::MLIRContext::Threading::DISABLED);
    ctx->loadAllAvailableDialects();
    return ctx;
  }();
  return *context;
}

static const std::string &scratchModelPath() {
  static std::string path = [] {
    llvm::SmallString<128> dir;
    if (llvm::sys::fs::createUniqueDirectory("kiln-fuzz", dir))
      std::abort();
    llvm::sys::path::append(dir, "model.onnx");
    return std::string(dir);
  }();
  return path;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln::ImportOptions options;
  options.maxFileBytes = 1 << 20; // keep each run small and fast
  mlir::MLIRContext &context = fuzzContext();
  auto module = kiln::importOnnxModelFromBuffer(
      context, llvm::StringRef(reinterpret_cast<const char *>(data), size), scratchModelPath(),
      options);
  if (!module) {
    llvm::consumeError(module.takeError());
    return 0;
  }
  // A successful import must always verify.
  if (mlir::failed(mlir::verify(**module)))
    std::abort();
  return 0;
}

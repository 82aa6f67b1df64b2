//===- HostTarget.h - kiln IR to an x86-64 shared library ----------------===//
#ifndef KILN_TARGETS_HOST_HOSTTARGET_H
#define KILN_TARGETS_HOST_HOSTTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace kiln::host {

enum class HostArtifact { LLVMIR, Object, SharedLibrary };

/// The portable CPU the host target compiles for unless told otherwise.
inline constexpr const char *kDefaultHostCpu = "x86-64-v3";

struct HostTargetOptions {
  /// C symbol prefix of the API, and the stem of the header/JSON files.
  std::string name = "model";
  std::string outputPath;
  HostArtifact artifact = HostArtifact::SharedLibrary;
  std::string cpu = kDefaultHostCpu;
  /// Reports each stage's wall time on stderr.
  bool verbose = false;
  /// Writes the constant tensors to `<name>.safetensors` beside the output
  /// instead of embedding them; the library maps that file at create time.
  bool externalWeights = false;
  /// Links the ASan/UBSan build of the C glue (for the sanitizer test
  /// builds: the library must be loaded by an instrumented program).
  bool sanitizedGlue = false;
};

/// Registers every dialect and interface that host lowering needs (also
/// what MLIR input files may use).
void registerHostTargetDialects(mlir::DialectRegistry &registry);

/// Lowers `module` (imported or compressed kiln IR) and writes the artifact;
/// for a shared library also `<name>.h` and `<name>.json` beside it, and
/// with external weights `<name>.safetensors`. Files appear atomically,
/// only on success.
llvm::Error compileForHost(mlir::ModuleOp module, const HostTargetOptions &options);

} // namespace kiln::host

#endif // KILN_TARGETS_HOST_HOSTTARGET_H

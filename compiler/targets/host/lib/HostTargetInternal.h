//===- HostTargetInternal.h - stages of the host target ------------------===//
#ifndef KILN_TARGETS_HOST_LIB_HOSTTARGETINTERNAL_H
#define KILN_TARGETS_HOST_LIB_HOSTTARGETINTERNAL_H

#include "kiln/Targets/Host/ModelSignature.h"

#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include "llvm/Support/Format.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace kiln::host {

/// Prints each stage's wall time when asked to.
class StageClock {
public:
  explicit StageClock(bool enabled) : enabled(enabled), last(Clock::now()) {}
  void done(llvm::StringRef stage) {
    auto now = Clock::now();
    if (enabled)
      llvm::errs() << "kilnc: " << stage << ": "
                   << llvm::format("%.3f", std::chrono::duration<double>(now - last).count())
                   << " s\n";
    last = now;
  }

private:
  using Clock = std::chrono::steady_clock;
  bool enabled;
  Clock::time_point last;
};

/// The model's constant tensors, moved out of the library
/// (--weights=external) into a safetensors file.
struct ExternalWeights {
  struct Tensor {
    std::string name, dtype; // safetensors dtype: F32, F16, I8, ...
    llvm::SmallVector<int64_t> shape;
    uint64_t begin = 0, end = 0; // data_offsets
  };
  std::vector<Tensor> tensors;
  std::string data; // the file's data section
  uint64_t checksum = 0; // kiln_weights_checksum(data)
};

/// Moves every constant array of the translated model (call it before the
/// glue is linked) into `weights`; its uses then address the thread-local
/// `kiln_model_weights_base` that the glue sets for each run.
llvm::Error externalizeWeights(llvm::Module &module, ExternalWeights &weights);

/// The safetensors file of `weights`; its metadata names the model and
/// the checksum.
std::string serializeSafetensors(const ExternalWeights &weights, llvm::StringRef modelName);

/// Defines `kiln_model_weights` (runtime/host/kiln_model_desc.h) for
/// `weights`, or for weights embedded in the library when it is null.
void emitWeightsDescriptor(llvm::Module &module, const ExternalWeights *weights,
                           llvm::StringRef modelName);

/// Links the generic C glue (runtime/host/kiln_model_glue.c, embedded as
/// bitcode) into `module`; `sanitized` picks its ASan/UBSan build.
llvm::Error linkModelGlue(llvm::Module &module, bool sanitized);

/// Defines `kiln_model_descriptor` (see runtime/host/kiln_model_desc.h).
void emitModelDescriptor(llvm::Module &module, const ModelSignature &signature,
                         llvm::StringRef json);

/// Defines `kiln_model_invoke(void **)`, which calls `entry` (the C
/// interface wrapper of the compiled function) with one descriptor pointer
/// per argument.
llvm::Error emitInvokeShim(llvm::Module &module, llvm::StringRef entry, unsigned numArguments);

/// Renames the glue's `KILN_MODEL_x` functions to `<prefix>_x` (the only
/// exported symbols) and makes every other definition internal.
void applySymbolPrefix(llvm::Module &module, llvm::StringRef prefix);

/// A position-independent x86-64 Linux target machine for `cpu`.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createHostTargetMachine(llvm::StringRef cpu);

/// The new pass manager's O3 pipeline for `machine`.
void optimizeModule(llvm::Module &module, llvm::TargetMachine &machine);

/// Machine code for `module` as an ELF relocatable object.
llvm::Expected<llvm::SmallVector<char, 0>> emitObject(llvm::Module &module,
                                                      llvm::TargetMachine &machine);

/// Links `objectPath` with libc and libm into the shared library
/// `outputPath`, in-process through lld. With `sanitizerRuntimeFromLoader`,
/// the sanitizer runtime's symbols may stay undefined (the instrumented
/// program that loads the library provides them).
llvm::Error linkSharedLibrary(llvm::StringRef objectPath, llvm::StringRef outputPath,
                              llvm::StringRef soname, bool sanitizerRuntimeFromLoader = false);

} // namespace kiln::host

#endif // KILN_TARGETS_HOST_LIB_HOSTTARGETINTERNAL_H

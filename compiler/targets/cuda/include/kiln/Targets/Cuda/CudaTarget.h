//===- CudaTarget.h - kiln IR to a CUDA model shared library -------------===//
#ifndef KILN_TARGETS_CUDA_CUDATARGET_H
#define KILN_TARGETS_CUDA_CUDATARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace kiln::cuda {

/// The architectures compiled unless told otherwise.
inline constexpr const char *kDefaultGpuArchs = "sm_90a,sm_80";

struct CudaTargetOptions {
  /// C symbol prefix of the API, and the stem of the header/JSON files.
  std::string name = "model";
  std::string outputPath;
  /// ptxas architectures (sm_80, sm_90a, ...): one cubin each, plus PTX.
  std::vector<std::string> gpuArchs;
  /// Reports each stage's wall time on stderr.
  bool verbose = false;
  /// --precision=f16: activations and weights in f16, f32 arithmetic.
  bool f16 = false;
  /// --library-kernels: linear layers on the generated GEMV/GEMM kernels.
  bool libraryKernels = true;
  /// --wgmma: when gpuArchs lists sm_90a, large-M linears run the TMA +
  /// wgmma GEMM from the sm_90a image (the mma.sync GEMM elsewhere).
  bool wgmma = true;
};

/// Parses "sm_90a,sm_80" into a list, checking each name.
llvm::Expected<std::vector<std::string>> parseGpuArchs(llvm::StringRef list);

/// Lowers `module` (imported kiln IR with static shapes) and writes
/// lib<name>.so with the host target's C API running on the GPU, plus
/// `<name>.h` and `<name>.json` beside it. Files appear only on success.
llvm::Error compileForCuda(mlir::ModuleOp module, const CudaTargetOptions &options);

} // namespace kiln::cuda

#endif // KILN_TARGETS_CUDA_CUDATARGET_H

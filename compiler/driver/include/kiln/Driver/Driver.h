//===- Driver.h - kilnc's stages -----------------------------------------===//
#ifndef KILN_DRIVER_DRIVER_H
#define KILN_DRIVER_DRIVER_H

#include "kiln/Lowering/Passes.h"

#include <string>
#include <vector>

namespace kiln {

enum class EmitKind { ImportedIR, KilnIR, LLVMIR, Object, SharedLibrary };

enum class InputFormat { Auto, Onnx, Mlir };

enum class Target { None, Host, Cuda };

/// --precision: what activations and weights are stored as.
enum class Precision { F32, F16 };

struct DriverOptions {
  std::string inputPath;
  std::string outputPath = "-";
  EmitKind emit = EmitKind::KilnIR;
  /// "NAME=VALUE" or "NAME=MIN..MAX" (--dim).
  std::vector<std::string> dimBindings;
  CompressionOptions compression;
  /// Auto: `.mlir` files are parsed as MLIR (imported-IR contract), others as ONNX.
  InputFormat inputFormat = InputFormat::Auto;
  Target target = Target::None;
  /// Host target: C symbol prefix and CPU (empty: the target's default).
  std::string modelName = "model";
  std::string cpu;
  /// Host target: the constant tensors go to <name>.safetensors beside the
  /// library instead of into it (--weights=external).
  bool externalWeights = false;
  /// Host target: link the ASan/UBSan build of the model's C glue (hidden
  /// --sanitized-glue, for the sanitizer test builds).
  bool sanitizedGlue = false;
  /// CUDA target: comma-separated ptxas architectures (empty: the default).
  std::string gpuArchs;
  /// CUDA target: F16 stores activations and weights as f16 (f32 math).
  Precision precision = Precision::F32;
  /// CUDA target: linear layers on the generated GEMV/GEMM kernels
  /// (--library-kernels; off: generic f32 kernels, for accuracy checks).
  bool libraryKernels = true;
  /// CUDA target: the sm_90a image runs large-M linears on the wgmma GEMM
  /// (--wgmma; off: the mma.sync GEMM everywhere).
  bool wgmma = true;
  /// Prints each stage's wall time on stderr.
  bool timeStages = false;
};

/// Runs kilnc; returns the process exit code. Errors go to stderr as
/// "kilnc: error: <file>: <node>: <reason>", and no partial output is left.
int runDriver(const DriverOptions &options);

} // namespace kiln

#endif // KILN_DRIVER_DRIVER_H

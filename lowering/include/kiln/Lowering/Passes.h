//===- Passes.h - Kiln passes and pipelines ------------------------------===//
#ifndef KILN_LOWERING_PASSES_H
#define KILN_LOWERING_PASSES_H

#include "kiln/Dialect/KilnDialect.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Lowering/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Lowering/Passes.h.inc"

/// Options of the weight-compression pipeline (what `kilnc` flags set).
struct CompressionOptions {
  /// 0 leaves weights dense; otherwise 2..8.
  unsigned weightBits = 0;
  bool perGroup = false;
  int64_t groupSize = 128;
  bool symmetric = true;
  /// A JSON compression recipe (docs/compression.md); empty: none.
  std::string recipePath;
  /// Refit compressed layers to the uncompressed model (kiln-distill).
  bool distill = false;
  /// Calibration inputs (.npz or folder of .npy); empty: synthetic.
  std::string calibPath;
  /// Write the compression report (JSON) here and print its table.
  std::string reportPath;
  /// Inputs the report evaluates on (default: the calibration inputs).
  std::string evalPath;
};

/// Adds the compression passes that `options` asks for.
void buildCompressionPipeline(mlir::OpPassManager &pm,
                              const CompressionOptions &options);

/// Registers the named pipelines with the pass registry (for kiln-opt).
void registerKilnPipelines();

} // namespace kiln

#endif // KILN_LOWERING_PASSES_H

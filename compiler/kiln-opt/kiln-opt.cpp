//===- kiln-opt.cpp - run kiln and upstream passes on MLIR ---------------===//
#include "kiln/Calibration/HostCalibrationRunner.h"
#include "kiln/Dialect/KilnDialect.h"
#include "kiln/Lowering/CompressionPasses.h"
#include "kiln/Lowering/CudaCodegenPasses.h"
#include "kiln/Lowering/CudaAttentionPasses.h"
#include "kiln/Lowering/CudaLibraryPasses.h"
#include "kiln/Lowering/CudaPasses.h"
#include "kiln/Lowering/HostPasses.h"
#include "kiln/Lowering/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  kiln::registerKilnPasses();
  kiln::registerKilnCompressionPasses();
  kiln::registerKilnPipelines();
  kiln::registerKilnHostPasses();
  kiln::registerHostPipelines();
  kiln::registerKilnCudaPasses();
  kiln::registerKilnCudaCodegenPasses();
  kiln::registerKilnCudaLibraryPasses();
  kiln::registerKilnCudaAttentionPasses();
  kiln::registerCudaPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<kiln::KilnDialect>();
  // Calibrated passes run the model through Kiln's compiled host code.
  kiln::registerHostCalibrationRunner(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Kiln optimizer driver\n", registry));
}

//===- GptqPassTest.cpp - kiln-gptq beats round-to-nearest ---------------===//
#include "Calibration.h"
#include "Numerics.h"
#include "TestModels.h"

#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CompressionPasses.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <gtest/gtest.h>


using namespace mlir;
using namespace kiln;

namespace {

std::string model() {
  return testmodels::mlp(4, 32, 32, 16, [](int64_t) { return 1.0f; });
}

TEST(GptqPass, BeatsRoundToNearestAndDecodesToTheNumerics) {
  DialectRegistry registry;
  registry.insert<KilnDialect, arith::ArithDialect, func::FuncDialect>();
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(model(), &context);
  ASSERT_TRUE(module);
  auto func = *module->getOps<func::FuncOp>().begin();
  LinearOp fc2 = *std::next(func.getOps<LinearOp>().begin());
  std::vector<float> original = *decodeWeight(fc2.getWeight());

  // The calibration inputs the pass will see (same samples and seed).
  FailureOr<compression::CalibrationData> data =
      compression::collectCalibration(func, compression::syntheticRuns(func, 32, 7));
  ASSERT_TRUE(succeeded(data));
  const std::vector<float> &x = data->inputs[fc2.getOperation()];
  int64_t rows = data->rows(fc2);
  ASSERT_EQ(rows, 32 * 4);

  PassManager pm(&context);
  GptqOptions options;
  options.bits = 3;
  options.groupSize = 16;
  options.calibSamples = 32;
  options.calibSeed = 7;
  options.layers = "^fc2";
  pm.addPass(createGptq(options));
  ASSERT_TRUE(succeeded(pm.run(*module)));
  ASSERT_TRUE(isa<WeightOp>(fc2.getWeight().getDefiningOp()));
  std::vector<float> decoded = *decodeWeight(fc2.getWeight());

  // The IR holds exactly what the GPTQ numerics computed.
  auto expected = numerics::gptqQuantize(original.data(), 16, 32,
                                         numerics::gram(x.data(), rows, 32), 3, 16, true, 0.01);
  ASSERT_TRUE(expected);
  EXPECT_EQ(decoded, numerics::dequantizeMatrix(*expected, 16, 32, 3, 16, true));

  // And it beats round-to-nearest on the layer's output.
  std::vector<float> rtn = numerics::dequantizeMatrix(
      codec::quantizeMatrix(original.data(), 16, 32, 3, 16, true), 16, 32, 3, 16, true);
  double gptqError = numerics::relativeOutputError(x.data(), rows, original.data(), decoded.data(), 16, 32);
  double rtnError = numerics::relativeOutputError(x.data(), rows, original.data(), rtn.data(), 16, 32);
  EXPECT_LT(gptqError, rtnError);
  std::cout << "fc2 int3 g16 relative output error: RTN " << rtnError << ", GPTQ " << gptqError << "\n";
}

} // namespace

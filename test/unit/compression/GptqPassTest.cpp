//===- GptqPassTest.cpp - kiln-gptq beats round-to-nearest ---------------===//
#include "Calibration.h"
#include "Numerics.h"

#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CompressionPasses.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

using namespace mlir;
using namespace kiln;

namespace {

std::string denseLiteral(int64_t rows, int64_t cols, unsigned seed, float scale) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::ostringstream os;
  os.precision(9);
  os << "dense<[";
  for (int64_t r = 0; r < rows; ++r) {
    os << (r ? ", [" : "[");
    for (int64_t c = 0; c < cols; ++c)
      os << (c ? ", " : "") << normal(engine);
    os << "]";
  }
  os << "]> : tensor<" << rows << "x" << cols << "xf32>";
  return os.str();
}

/// x -> fc1 (a fixed mixing layer) -> relu -> fc2: fc2's inputs are
/// correlated, which is what GPTQ exploits.
std::string model() {
  std::ostringstream os;
  os << "func.func @main(%x: tensor<4x32xf32>) -> tensor<4x16xf32> {\n"
     << "  %w1 = arith.constant " << denseLiteral(32, 32, 1, 1.0f) << "\n"
     << "  %w2 = arith.constant " << denseLiteral(16, 32, 2, 0.2f) << "\n"
     << "  %zero = arith.constant dense<0.0> : tensor<4x32xf32>\n"
     << "  %h = kiln.linear %x, %w1 : (tensor<4x32xf32>, tensor<32x32xf32>) -> tensor<4x32xf32> "
        "loc(\"fc1 (Gemm)\")\n"
     << "  %r = arith.maximumf %h, %zero : tensor<4x32xf32>\n"
     << "  %y = kiln.linear %r, %w2 : (tensor<4x32xf32>, tensor<16x32xf32>) -> tensor<4x16xf32> "
        "loc(\"fc2 (Gemm)\")\n"
     << "  return %y : tensor<4x16xf32>\n}\n";
  return os.str();
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

//===- SmoothQuantTest.cpp - W8A8 migration and activation clipping ------===//
#include "Calibration.h"
#include "Numerics.h"
#include "TestModels.h"

#include "kiln/Lowering/CompressionPasses.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace mlir;
using namespace kiln;

namespace {

TEST(SmoothQuant, MigrationBeatsPlainW8A8WithOutlierChannels) {
  DialectRegistry registry;
  registry.insert<KilnDialect, arith::ArithDialect, func::FuncDialect, math::MathDialect>();
  MLIRContext context(registry);
  std::string text = testmodels::mlp(4, 32, 64, 16, [](int64_t r) { return r % 16 == 0 ? 50.0f : 1.0f; });
  OwningOpRef<ModuleOp> teacher = parseSourceString<ModuleOp>(text, &context);
  auto compress = [&](bool migrate) {
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
    PassManager pm(&context);
    SmoothQuantOptions options;
    options.migrate = migrate;
    options.layers = "^fc2";
    options.calibSamples = 32;
    pm.addPass(createSmoothQuant(options));
    EXPECT_TRUE(succeeded(pm.run(*module)));
    return module;
  };
  OwningOpRef<ModuleOp> smooth = compress(true), plain = compress(false);
  auto func = [](OwningOpRef<ModuleOp> &module) { return *module->getOps<func::FuncOp>().begin(); };
  // Both really quantize fc2's input: the fake-quant ops are there.
  EXPECT_EQ(std::distance(func(plain).getOps<math::RoundEvenOp>().begin(),
                          func(plain).getOps<math::RoundEvenOp>().end()), 1);
  double smoothError = testmodels::endToEndError(func(teacher), func(smooth), compression::syntheticRuns(func(teacher), 16, 99));
  double plainError = testmodels::endToEndError(func(teacher), func(plain), compression::syntheticRuns(func(teacher), 16, 99));
  std::cout << "W8A8 end-to-end relative error: plain " << plainError << ", SmoothQuant "
            << smoothError << "\n";
  EXPECT_LT(smoothError, plainError);
}

TEST(Clipping, MethodsPickTheExpectedRanges) {
  std::vector<float> values = {1, -2, 3, -4, 100};
  EXPECT_EQ(numerics::chooseClip(values, numerics::ClipMethod::MinMax, 8), 100.0f);
  // The 80th percentile of 5 magnitudes is the 4th smallest.
  EXPECT_EQ(numerics::chooseClip(values, numerics::ClipMethod::Percentile, 8, 80.0), 4.0f);
}

TEST(Clipping, MseClippingBeatsMinMaxOnGaussians) {
  // 4-bit codes over ~3.7 sigma waste levels on rare tails; a tighter clip
  // lowers the total squared error.
  std::mt19937 engine(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(4096);
  for (float &value : values)
    value = normal(engine);
  float minmax = numerics::chooseClip(values, numerics::ClipMethod::MinMax, 4);
  float mse = numerics::chooseClip(values, numerics::ClipMethod::Mse, 4);
  EXPECT_LT(mse, minmax);
  EXPECT_LT(numerics::fakeQuantError(values, mse, 4), numerics::fakeQuantError(values, minmax, 4));
}

} // namespace

//===- AwqPassTest.cpp - kiln-awq beats round-to-nearest end to end ------===//
#include "Calibration.h"
#include "Numerics.h"
#include "TestModels.h"

#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/CompressionPasses.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace mlir;
using namespace kiln;

namespace {

TEST(AwqPass, FoldsScalesIntoTheProducerAndBeatsRoundToNearest) {
  DialectRegistry registry;
  registry.insert<KilnDialect, arith::ArithDialect, func::FuncDialect>();
  MLIRContext context(registry);
  // A few hidden channels are 20x larger: the activation outliers AWQ protects.
  std::string text = testmodels::mlp(4, 32, 64, 16, [](int64_t r) { return r % 8 == 0 ? 20.0f : 1.0f; });
  OwningOpRef<ModuleOp> teacher = parseSourceString<ModuleOp>(text, &context);
  OwningOpRef<ModuleOp> awq = parseSourceString<ModuleOp>(text, &context);
  OwningOpRef<ModuleOp> rtn = parseSourceString<ModuleOp>(text, &context);
  ASSERT_TRUE(teacher && awq && rtn);

  PassManager pm(&context);
  AwqOptions options;
  options.bits = 3;
  options.groupSize = 16;
  options.layers = "^fc2";
  options.calibSamples = 32;
  pm.addPass(createAwq(options));
  ASSERT_TRUE(succeeded(pm.run(*awq)));

  // RTN reference: fc2's weight replaced by its round-to-nearest decoding.
  auto rtnFunc = *rtn->getOps<func::FuncOp>().begin();
  LinearOp fc2 = *std::next(rtnFunc.getOps<LinearOp>().begin());
  auto constant = fc2.getWeight().getDefiningOp<arith::ConstantOp>();
  std::vector<float> w2 = *decodeWeight(fc2.getWeight());
  std::vector<float> rounded = numerics::dequantizeMatrix(
      codec::quantizeMatrix(w2.data(), 16, 64, 3, 16, true), 16, 64, 3, 16, true);
  constant.setValueAttr(buildDenseFloats(cast<RankedTensorType>(constant.getType()), rounded));

  auto awqFunc = *awq->getOps<func::FuncOp>().begin();
  LinearOp awqFc2 = *std::next(awqFunc.getOps<LinearOp>().begin());
  EXPECT_TRUE(isa<WeightOp>(awqFc2.getWeight().getDefiningOp()));
  // 1/s went into fc1 (its rows changed), not into an extra op before fc2.
  EXPECT_TRUE(isa<arith::MaximumFOp>(awqFc2.getInput().getDefiningOp()));
  LinearOp awqFc1 = *awqFunc.getOps<LinearOp>().begin();
  EXPECT_NE(*decodeWeight(awqFc1.getWeight()),
            *decodeWeight((*(*teacher->getOps<func::FuncOp>().begin()).getOps<LinearOp>().begin()).getWeight()));

  auto teacherFunc = *teacher->getOps<func::FuncOp>().begin();
  auto runs = compression::syntheticRuns(teacherFunc, 16, 99); // held-out inputs
  double awqError = testmodels::endToEndError(teacherFunc, awqFunc, runs);
  double rtnError = testmodels::endToEndError(teacherFunc, rtnFunc, runs);
  std::cout << "int3 g16 end-to-end relative error: RTN " << rtnError << ", AWQ " << awqError << "\n";
  EXPECT_LT(awqError, rtnError);
}

} // namespace

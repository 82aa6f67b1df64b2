//===- UpstreamQuantTest.cpp - kiln weights as upstream quant types ------===//
#include "kiln/Dialect/UpstreamQuant.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {

class UpstreamQuantTest : public ::testing::Test {
protected:
  UpstreamQuantTest() {
    context.loadDialect<kiln::KilnDialect, func::FuncDialect>();
  }
  /// Parses a function whose first op is a kiln.weight.
  kiln::WeightOp parseWeight(StringRef text) {
    module = parseSourceString<ModuleOp>(text, &context);
    if (!module)
      return nullptr;
    kiln::WeightOp weight;
    module->walk([&](kiln::WeightOp op) { weight = op; });
    return weight;
  }
  MLIRContext context;
  OwningOpRef<ModuleOp> module;
};

TEST_F(UpstreamQuantTest, PerChannelBecomesPerAxis) {
  kiln::WeightOp weight = parseWeight(R"mlir(
    func.func @f() {
      %w = kiln.weight payload(dense<0> : tensor<4xi8>) scales(dense<[0.5, 0.25]> : tensor<2xf32>)
          : !kiln.compressed<2x4xf32, quant = #kiln.quant<storage = si4, granularity = per_channel>>
      return
    })mlir");
  ASSERT_TRUE(weight);
  FailureOr<quant::QuantizedType> type = kiln::toUpstreamQuantType(weight);
  ASSERT_TRUE(succeeded(type));
  auto perAxis = dyn_cast<quant::UniformQuantizedPerAxisType>(*type);
  ASSERT_TRUE(perAxis);
  EXPECT_EQ(perAxis.getQuantizedDimension(), 0);
  EXPECT_EQ(perAxis.getScales().vec(), (std::vector<double>{0.5, 0.25}));
  EXPECT_EQ(perAxis.getZeroPoints().vec(), (std::vector<int64_t>{0, 0}));
  EXPECT_TRUE(perAxis.isSigned());
  EXPECT_EQ(perAxis.getStorageTypeIntegralWidth(), 4u);
  EXPECT_EQ(perAxis.getStorageTypeMin(), -8);
  EXPECT_EQ(perAxis.getStorageTypeMax(), 7);
}

TEST_F(UpstreamQuantTest, PerGroupBecomesSubChannel) {
  kiln::WeightOp weight = parseWeight(R"mlir(
    func.func @f() {
      %w = kiln.weight payload(dense<0> : tensor<4xi8>)
          scales(dense<[[0.5, 2.0]]> : tensor<1x2xf32>) zero_points(dense<[[8, 3]]> : tensor<1x2xui8>)
          : !kiln.compressed<1x8xf32, quant = #kiln.quant<storage = ui4, granularity = per_group,
              axis = 1, group_size = 4, symmetric = false, zero_point_type = ui8>>
      return
    })mlir");
  ASSERT_TRUE(weight);
  FailureOr<quant::QuantizedType> type = kiln::toUpstreamQuantType(weight);
  ASSERT_TRUE(succeeded(type));
  auto subChannel = dyn_cast<quant::UniformQuantizedSubChannelType>(*type);
  ASSERT_TRUE(subChannel);
  EXPECT_EQ(subChannel.getBlockSizes().vec(), (std::vector<int64_t>{4}));
  EXPECT_EQ(subChannel.getQuantizedDimensions().vec(), (std::vector<int32_t>{1}));
  auto scales = llvm::to_vector(subChannel.getScales().getValues<float>());
  EXPECT_EQ(scales, (SmallVector<float>{0.5f, 2.0f}));
  auto zeroPoints = llvm::to_vector(subChannel.getZeroPoints().getValues<APInt>());
  ASSERT_EQ(zeroPoints.size(), 2u);
  EXPECT_EQ(zeroPoints[0].getZExtValue(), 8u);
  EXPECT_EQ(zeroPoints[1].getZExtValue(), 3u);
  EXPECT_FALSE(subChannel.isSigned());
  EXPECT_EQ(subChannel.getStorageTypeMax(), 15);
}

TEST_F(UpstreamQuantTest, WhatUpstreamCannotSayFails) {
  kiln::WeightOp weight = parseWeight(R"mlir(
    func.func @f() {
      %w = kiln.weight payload(dense<17> : tensor<4xi8>) scales(dense<1.0> : tensor<2xf32>)
          : !kiln.compressed<2x4xf32, quant = #kiln.quant<storage = ui4, scheme = log2, granularity = per_channel>>
      return
    })mlir");
  ASSERT_TRUE(weight);
  EXPECT_TRUE(failed(kiln::toUpstreamQuantType(weight)));
}

} // namespace

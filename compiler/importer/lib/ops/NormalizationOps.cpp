//===- NormalizationOps.cpp - batch, layer, instance and group norms -----===//
#include "../GraphImporter.h"
#include "../Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace kiln::onnx_import {
namespace {

/// Reshapes a per-channel [C] tensor to [C, 1, ..., 1] so it broadcasts
/// against [N, C, spatial...] of `rank`.
FailureOr<Value> channelVector(OpContext &ctx, int index, int64_t rank) {
  RankedTensorType type = ctx.type(index);
  if (type.getRank() != 1)
    return ctx.fail("input " + llvm::Twine(index) + " must be 1-D (one value per channel)");
  SmallVector<SymInt> shape{ctx.importer.dimOf(ctx.value(index), 0, ctx.loc())};
  for (int64_t d = 2; d < rank; ++d)
    shape.push_back(SymInt::of(1));
  return reshapeTensor(ctx, ctx.value(index), shape);
}

/// (x - mean) * rsqrt(var + eps) over `axes`, with the mean and inverse
/// standard deviation (keepdims) returned too.
struct Normalized {
  Value value, mean, invStdDev;
};
Normalized normalize(OpContext &ctx, Value x, ArrayRef<int64_t> axes, double epsilon) {
  Value mean = reduceMean(ctx, x, axes, true);
  Value centered = floatBinary(ctx, x, mean, [](OpBuilder &b, Location l, Value a, Value m) -> Value {
    return arith::SubFOp::create(b, l, a, m);
  });
  Value squares = floatUnary(ctx, centered, [](OpBuilder &b, Location l, Value v) -> Value {
    return arith::MulFOp::create(b, l, v, v);
  });
  Value variance = reduceMean(ctx, squares, axes, true);
  Value invStdDev = floatUnary(ctx, variance, [&](OpBuilder &b, Location l, Value v) -> Value {
    Value shifted = arith::AddFOp::create(b, l, v, scalarConstant(b, l, v.getType(), epsilon));
    return math::RsqrtOp::create(b, l, shifted);
  });
  Value value = floatBinary(ctx, centered, invStdDev, [](OpBuilder &b, Location l, Value c, Value s) -> Value {
    return arith::MulFOp::create(b, l, c, s);
  });
  return {value, mean, invStdDev};
}

/// y * scale + bias, each broadcast (bias optional).
FailureOr<Value> affine(OpContext &ctx, Value y, Value scale, Value bias) {
  Type element = cast<RankedTensorType>(y.getType()).getElementType();
  SmallVector<Value> inputs{y, scale};
  if (bias)
    inputs.push_back(bias);
  return broadcastElementwise(ctx, inputs, element, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
    Value scaled = arith::MulFOp::create(b, l, a[0], a[1]);
    return bias ? Value(arith::AddFOp::create(b, l, scaled, a[2])) : scaled;
  });
}

LogicalResult importBatchNormalization(OpContext &ctx) {
  if (failed(ctx.expectInputs(5, 5)))
    return failure();
  if (ctx.attrInt("training_mode", 0) != 0 || ctx.hasOutput(1) || ctx.hasOutput(2))
    return ctx.fail("training mode is not supported (Kiln compiles inference)");
  if (!isFloatDType(ctx.dtype(0)))
    return ctx.fail("input must be a float tensor");
  int64_t rank = ctx.type(0).getRank();
  if (rank < 2)
    return ctx.fail("input must be [N, C, ...]");
  double epsilon = ctx.attrFloat("epsilon", 1e-5f);
  SmallVector<Value> inputs{ctx.value(0)};
  for (int i = 1; i < 5; ++i) {
    FailureOr<Value> v = channelVector(ctx, i, rank);
    if (failed(v))
      return failure();
    Value converted = convertTensor(ctx, *v, ctx.dtype(i), ctx.dtype(0));
    inputs.push_back(converted);
  }
  Type element = ctx.type(0).getElementType();
  // y = (x - mean) / sqrt(var + eps) * scale + bias
  FailureOr<Value> result = broadcastElementwise(
      ctx, inputs, element, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value centered = arith::SubFOp::create(b, l, a[0], a[3]);
        Value variance = arith::AddFOp::create(b, l, a[4], scalarConstant(b, l, element, epsilon));
        Value normalized = arith::DivFOp::create(b, l, centered, math::SqrtOp::create(b, l, variance));
        return arith::AddFOp::create(b, l, arith::MulFOp::create(b, l, normalized, a[1]), a[2]);
      });
  if (failed(result))
    return failure();
  return ctx.setOutput(0, *result, ctx.dtype(0));
}

LogicalResult importLayerNormalization(OpContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)))
    return failure();
  int32_t dtype = ctx.dtype(0);
  if (!isFloatDType(dtype))
    return ctx.fail("input must be a float tensor");
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.attrInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  std::vector<int64_t> axes;
  for (int64_t d = *axis; d < rank; ++d)
    axes.push_back(d);
  // stash_type 1 (the default) computes statistics in float32.
  int32_t computeType = ctx.attrInt("stash_type", 1) == 1 ? int32_t(kFloat) : dtype;
  Value x = convertTensor(ctx, ctx.value(0), dtype, computeType);
  Normalized n = normalize(ctx, x, axes, ctx.attrFloat("epsilon", 1e-5f));
  Value y = convertTensor(ctx, n.value, computeType, dtype);
  FailureOr<Value> result = affine(ctx, y, ctx.value(1), ctx.hasInput(2) ? ctx.value(2) : Value());
  if (failed(result))
    return failure();
  if (failed(ctx.setOutput(0, *result, dtype)))
    return failure();
  if (ctx.hasOutput(1) && failed(ctx.setOutput(1, n.mean, computeType)))
    return failure();
  return ctx.setOutput(2, n.invStdDev, computeType);
}

LogicalResult importInstanceNormalization(OpContext &ctx) {
  if (failed(ctx.expectInputs(3, 3)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  if (rank < 3 || !isFloatDType(ctx.dtype(0)))
    return ctx.fail("input must be a float [N, C, spatial...] tensor");
  std::vector<int64_t> axes;
  for (int64_t d = 2; d < rank; ++d)
    axes.push_back(d);
  Normalized n = normalize(ctx, ctx.value(0), axes, ctx.attrFloat("epsilon", 1e-5f));
  FailureOr<Value> scale = channelVector(ctx, 1, rank), bias = channelVector(ctx, 2, rank);
  if (failed(scale) || failed(bias))
    return failure();
  FailureOr<Value> result = affine(ctx, n.value, *scale, *bias);
  if (failed(result))
    return failure();
  return ctx.setOutput(0, *result, ctx.dtype(0));
}

LogicalResult importGroupNormalization(OpContext &ctx) {
  if (failed(ctx.expectInputs(3, 3)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  int64_t groups = ctx.attrInt("num_groups", 0);
  RankedTensorType type = ctx.type(0);
  if (rank < 3 || groups <= 0 || type.isDynamicDim(1) || type.getDimSize(1) % groups != 0)
    return ctx.fail("needs a static channel count divisible by num_groups");
  int64_t channels = type.getDimSize(1);
  // [N, C, S...] -> [N, G, C/G * S...], normalize the last axis, reshape back.
  Value x = ctx.value(0);
  SmallVector<SymInt> dims;
  for (int64_t d = 0; d < rank; ++d)
    dims.push_back(ctx.importer.dimOf(x, d, ctx.loc()));
  SymInt inner = SymInt::of(channels / groups);
  for (int64_t d = 2; d < rank; ++d)
    inner = symArith(ctx, SymOp::Mul, inner, dims[d]);
  Value grouped = *reshapeTensor(ctx, x, {dims[0], SymInt::of(groups), inner});
  Normalized n = normalize(ctx, grouped, {2}, ctx.attrFloat("epsilon", 1e-5f));
  Value y = *reshapeTensor(ctx, n.value, dims);
  // Registered from opset 21 on: scale and bias are per channel.
  FailureOr<Value> scale = channelVector(ctx, 1, rank), bias = channelVector(ctx, 2, rank);
  if (failed(scale) || failed(bias))
    return failure();
  FailureOr<Value> result = affine(ctx, y, *scale, *bias);
  if (failed(result))
    return failure();
  return ctx.setOutput(0, *result, ctx.dtype(0));
}

} // namespace

void registerNormalizationOps(OpRegistry &r) {
  addOnnxOp(r, "BatchNormalization", 9, importBatchNormalization);
  addOnnxOp(r, "LayerNormalization", 17, importLayerNormalization);
  addOnnxOp(r, "InstanceNormalization", 6, importInstanceNormalization);
  addOnnxOp(r, "GroupNormalization", 21, importGroupNormalization);
}

} // namespace kiln::onnx_import

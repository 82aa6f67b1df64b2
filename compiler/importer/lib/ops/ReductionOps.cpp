//===- ReductionOps.cpp - Reduce*, ArgMax/ArgMin, Softmax, TopK ----------===//
#include "../GraphImporter.h"
#include "../HostTensors.h"
#include "../Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <onnx/onnx_pb.h>

using namespace mlir;

namespace kiln::onnx_import {
namespace {

/// The reduced axes: an attribute before `inputSince`, input 1 after. An
/// empty list reduces everything unless noop_with_empty_axes is set, in
/// which case `noop` is set.
FailureOr<std::vector<int64_t>> reductionAxes(OpContext &ctx, int inputSince, bool &noop) {
  int64_t rank = ctx.type(0).getRank();
  std::vector<int64_t> axes;
  noop = false;
  if (ctx.version() < inputSince) {
    axes = ctx.attrInts("axes");
  } else if (ctx.hasInput(1)) {
    FailureOr<std::vector<int64_t>> given = ctx.constantInts(1, "axes");
    if (failed(given))
      return failure();
    axes = *given;
  }
  if (axes.empty()) {
    if (ctx.version() >= inputSince && ctx.attrInt("noop_with_empty_axes", 0)) {
      noop = true;
      return axes;
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
    return axes;
  }
  llvm::SmallDenseSet<int64_t> seen;
  for (int64_t &axis : axes) {
    FailureOr<int64_t> normalized = ctx.normalizeAxis(axis, rank);
    if (failed(normalized))
      return failure();
    if (!seen.insert(*normalized).second) {
      (void)ctx.fail("axis " + llvm::Twine(axis) + " is repeated");
      return failure();
    }
    axis = *normalized;
  }
  return axes;
}

enum class Post { None, Mean, Sqrt, Log };
enum class Pre { None, Abs, Square, Exp };

/// Reduce<X> = post(reduce(pre(x))). LogSumExp subtracts the max first.
LogicalResult importReduce(OpContext &ctx, int inputSince, ReduceKind kind, Pre pre, Post post) {
  bool noop;
  FailureOr<std::vector<int64_t>> axes = reductionAxes(ctx, inputSince, noop);
  if (failed(axes))
    return failure();
  if (noop)
    return ctx.forward(0, 0);
  bool keepDims = ctx.attrInt("keepdims", 1) != 0;
  Value x = ctx.value(0);
  int32_t dtype = ctx.dtype(0);
  bool isFloat = isFloatDType(dtype);
  if ((pre != Pre::None || post != Post::None) && !isFloat && pre != Pre::Abs && pre != Pre::Square)
    return ctx.fail("this reduction needs a float input");
  if (pre == Pre::Exp) {
    // log(sum(exp(x - max))) + max, stable for large inputs.
    Value max = reduce(ctx, x, *axes, /*keepDims=*/true, ReduceKind::Max, dtype);
    Value shifted = floatBinary(ctx, x, max, [](OpBuilder &b, Location l, Value a, Value m) -> Value {
      return math::ExpOp::create(b, l, arith::SubFOp::create(b, l, a, m));
    });
    Value sum = reduce(ctx, shifted, *axes, /*keepDims=*/true, ReduceKind::Sum, dtype);
    Value result = floatBinary(ctx, sum, max, [](OpBuilder &b, Location l, Value s, Value m) -> Value {
      return arith::AddFOp::create(b, l, math::LogOp::create(b, l, s), m);
    });
    if (!keepDims) {
      SmallVector<SymInt> sizes;
      for (int64_t d = 0; d < ctx.type(0).getRank(); ++d)
        if (!llvm::is_contained(*axes, d))
          sizes.push_back(ctx.importer.dimOf(x, d, ctx.loc()));
      result = *reshapeTensor(ctx, result, sizes);
    }
    return ctx.setOutput(0, result, dtype);
  }
  if (pre == Pre::Abs || pre == Pre::Square) {
    Type element = ctx.type(0).getElementType();
    x = *broadcastElementwise(ctx, {x}, element, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
      if (pre == Pre::Square)
        return isFloat ? Value(arith::MulFOp::create(b, l, a[0], a[0]))
                       : Value(arith::MulIOp::create(b, l, a[0], a[0]));
      if (isFloat)
        return math::AbsFOp::create(b, l, a[0]);
      return isUnsignedDType(dtype) ? a[0] : Value(math::AbsIOp::create(b, l, a[0]));
    });
  }
  Value result;
  if (post == Post::Mean) {
    if (!isFloat)
      return ctx.fail("ReduceMean of integers is not supported");
    result = reduceMean(ctx, x, *axes, keepDims);
  } else {
    result = reduce(ctx, x, *axes, keepDims, kind, dtype);
  }
  if (post == Post::Sqrt)
    result = floatUnary(ctx, result, [](OpBuilder &b, Location l, Value v) -> Value {
      return math::SqrtOp::create(b, l, v);
    });
  if (post == Post::Log)
    result = floatUnary(ctx, result, [](OpBuilder &b, Location l, Value v) -> Value {
      return math::LogOp::create(b, l, v);
    });
  return ctx.setOutput(0, result, dtype);
}

void addReduce(OpRegistry &r, llvm::StringRef name, int first, int inputSince, ReduceKind kind,
               Pre pre = Pre::None, Post post = Post::None) {
  addOnnxOp(r, name, first, [=](OpContext &ctx) { return importReduce(ctx, inputSince, kind, pre, post); });
}

/// ArgMax/ArgMin: a reduction with two outputs (best value, its index).
LogicalResult importArg(OpContext &ctx, bool isMax) {
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.attrInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  bool keepDims = ctx.attrInt("keepdims", 1) != 0;
  bool last = ctx.attrInt("select_last_index", 0) != 0;
  Value x = ctx.value(0);
  Type element = ctx.type(0).getElementType();
  bool isFloat = isa<FloatType>(element), isUnsigned = isUnsignedDType(ctx.dtype(0));
  OpBuilder &builder = ctx.builder();
  MLIRContext *mlir = ctx.context();
  SmallVector<OpFoldResult> inputSizes = tensorSizes(ctx, x), sizes;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    iterators.push_back(d == *axis ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (d != *axis) {
      sizes.push_back(inputSizes[d]);
      outExprs.push_back(getAffineDimExpr(d, mlir));
    } else if (keepDims) {
      sizes.push_back(builder.getIndexAttr(1));
      outExprs.push_back(getAffineConstantExpr(0, mlir));
    }
  }
  // Start from the worst value and index -1; the first element then wins.
  Value worst;
  if (isFloat) {
    auto floatType = cast<FloatType>(element);
    worst = arith::ConstantOp::create(
        builder, ctx.loc(),
        builder.getFloatAttr(floatType, llvm::APFloat::getInf(floatType.getFloatSemantics(), isMax)));
  } else {
    unsigned width = element.getIntOrFloatBitWidth();
    llvm::APInt v = isMax ? (isUnsigned ? llvm::APInt::getMinValue(width) : llvm::APInt::getSignedMinValue(width))
                          : (isUnsigned ? llvm::APInt::getMaxValue(width) : llvm::APInt::getSignedMaxValue(width));
    worst = arith::ConstantOp::create(builder, ctx.loc(), builder.getIntegerAttr(element, v));
  }
  Value values = filledTensor(ctx, sizes, worst);
  Value indices = filledTensor(ctx, sizes, scalarConstant(builder, ctx.loc(), builder.getI64Type(), -1));
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, mlir);
  auto generic = linalg::GenericOp::create(
      builder, ctx.loc(), TypeRange{values.getType(), indices.getType()}, ValueRange{x},
      ValueRange{values, indices},
      SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, mlir), outMap, outMap}, iterators,
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value v = args[0], best = args[1], bestIndex = args[2];
        Value index = arith::IndexCastOp::create(b, loc, b.getI64Type(), linalg::IndexOp::create(b, loc, *axis));
        Value better, equal;
        if (isFloat) {
          better = arith::CmpFOp::create(b, loc, isMax ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT, v, best);
          equal = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, v, best);
        } else {
          arith::CmpIPredicate p = isMax ? (isUnsigned ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt)
                                         : (isUnsigned ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt);
          better = arith::CmpIOp::create(b, loc, p, v, best);
          equal = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, best);
        }
        // Ties: keep the first index, or take the later one with select_last_index.
        Value unset = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, bestIndex,
                                            scalarConstant(b, loc, b.getI64Type(), 0));
        Value take = arith::OrIOp::create(b, loc, better, unset);
        if (last)
          take = arith::OrIOp::create(b, loc, take, equal);
        Value newValue = arith::SelectOp::create(b, loc, take, v, best);
        Value newIndex = arith::SelectOp::create(b, loc, take, index, bestIndex);
        linalg::YieldOp::create(b, loc, ValueRange{newValue, newIndex});
      });
  return ctx.setOutput(0, generic.getResult(1), kInt64);
}

/// Softmax and LogSoftmax over `axes` (one axis from opset 13; all axes
/// from `axis` on before, where the input is coerced to 2-D).
LogicalResult importSoftmax(OpContext &ctx, bool logarithm) {
  if (!isFloatDType(ctx.dtype(0)))
    return ctx.fail("input must be a float tensor");
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.attrInt("axis", ctx.version() >= 13 ? -1 : 1), rank);
  if (failed(axis))
    return failure();
  std::vector<int64_t> axes{*axis};
  if (ctx.version() < 13)
    for (int64_t d = *axis + 1; d < rank; ++d)
      axes.push_back(d);
  Value x = ctx.value(0);
  Value max = reduce(ctx, x, axes, true, ReduceKind::Max, ctx.dtype(0));
  Value shifted = floatBinary(ctx, x, max, [](OpBuilder &b, Location l, Value a, Value m) -> Value {
    return arith::SubFOp::create(b, l, a, m);
  });
  Value exp = floatUnary(ctx, shifted, [](OpBuilder &b, Location l, Value v) -> Value {
    return math::ExpOp::create(b, l, v);
  });
  Value sum = reduce(ctx, exp, axes, true, ReduceKind::Sum, ctx.dtype(0));
  Value result = logarithm ? floatBinary(ctx, shifted, sum, [](OpBuilder &b, Location l, Value s, Value t) -> Value {
                               return arith::SubFOp::create(b, l, s, math::LogOp::create(b, l, t));
                             })
                           : floatBinary(ctx, exp, sum, [](OpBuilder &b, Location l, Value e, Value t) -> Value {
                               return arith::DivFOp::create(b, l, e, t);
                             });
  return ctx.setOutput(0, result, ctx.dtype(0));
}

/// TopK without sorting networks: each element's rank is the number of
/// elements that beat it (ties broken by the lower index, as ONNX says),
/// then output position p takes the element of rank p. Two reductions.
LogicalResult importTopK(OpContext &ctx) {
  FailureOr<std::vector<int64_t>> kValue = ctx.constantInts(1, "K");
  if (failed(kValue))
    return failure();
  if (kValue->size() != 1 || (*kValue)[0] < 0)
    return ctx.fail("K must be one non-negative value");
  int64_t k = (*kValue)[0];
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.attrInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  bool largest = ctx.attrInt("largest", 1) != 0;
  Value x = ctx.value(0);
  RankedTensorType type = ctx.type(0);
  if (!type.isDynamicDim(*axis) && type.getDimSize(*axis) < k)
    return ctx.fail("K = " + llvm::Twine(k) + " exceeds the axis size " + llvm::Twine(type.getDimSize(*axis)));
  Type element = type.getElementType();
  bool isFloat = isa<FloatType>(element), isUnsigned = isUnsignedDType(ctx.dtype(0));
  MLIRContext *mlir = ctx.context();
  OpBuilder &builder = ctx.builder();
  // Loops: the input's dims, plus an extra one (j or i) at the end.
  auto mapWithAxisAs = [&](int64_t axisLoop) {
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < rank; ++d)
      exprs.push_back(getAffineDimExpr(d == *axis ? axisLoop : d, mlir));
    return AffineMap::get(rank + 1, 0, exprs, mlir);
  };
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  Value zeros = filledTensor(ctx, tensorSizes(ctx, x), scalarConstant(builder, ctx.loc(), builder.getI64Type(), 0));
  Value ranks = buildGeneric(
      ctx, {x, x}, zeros, {mapWithAxisAs(*axis), mapWithAxisAs(rank), mapWithAxisAs(*axis)}, iterators,
      [&](OpBuilder &b, Location loc, ValueRange a) -> Value {
        Value mine = a[0], other = a[1];
        Value i = linalg::IndexOp::create(b, loc, *axis), j = linalg::IndexOp::create(b, loc, rank);
        Value beats, ties;
        if (isFloat) {
          beats = arith::CmpFOp::create(b, loc, largest ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT,
                                        other, mine);
          ties = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, other, mine);
        } else {
          arith::CmpIPredicate p = largest ? (isUnsigned ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt)
                                           : (isUnsigned ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt);
          beats = arith::CmpIOp::create(b, loc, p, other, mine);
          ties = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, other, mine);
        }
        Value earlier = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, j, i);
        Value counts = arith::OrIOp::create(b, loc, beats, arith::AndIOp::create(b, loc, ties, earlier));
        Value one = arith::ExtUIOp::create(b, loc, b.getI64Type(), counts);
        return arith::AddIOp::create(b, loc, a[2], one);
      });
  SmallVector<OpFoldResult> outSizes = tensorSizes(ctx, x);
  outSizes[*axis] = builder.getIndexAttr(k);
  Value values = filledTensor(ctx, outSizes, scalarConstant(builder, ctx.loc(), element, 0));
  Value indices = filledTensor(ctx, outSizes, scalarConstant(builder, ctx.loc(), builder.getI64Type(), 0));
  AffineMap byI = mapWithAxisAs(rank), byP = mapWithAxisAs(*axis);
  auto pick = linalg::GenericOp::create(
      builder, ctx.loc(), TypeRange{values.getType(), indices.getType()}, ValueRange{x, ranks},
      ValueRange{values, indices}, SmallVector<AffineMap>{byI, byI, byP, byP}, iterators,
      [&](OpBuilder &b, Location loc, ValueRange a) {
        Value p = arith::IndexCastOp::create(b, loc, b.getI64Type(), linalg::IndexOp::create(b, loc, *axis));
        Value i = arith::IndexCastOp::create(b, loc, b.getI64Type(), linalg::IndexOp::create(b, loc, rank));
        Value hit = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, a[1], p);
        linalg::YieldOp::create(b, loc, ValueRange{arith::SelectOp::create(b, loc, hit, a[0], a[2]),
                                                   arith::SelectOp::create(b, loc, hit, i, a[3])});
      });
  if (failed(ctx.setOutput(0, pick.getResult(0), ctx.dtype(0))))
    return failure();
  return ctx.setOutput(1, pick.getResult(1), kInt64);
}

} // namespace

void registerReductionOps(OpRegistry &r) {
  addOnnxOp(r, "TopK", 10, importTopK);
  addReduce(r, "ReduceSum", 1, 13, ReduceKind::Sum);
  addReduce(r, "ReduceMean", 1, 18, ReduceKind::Sum, Pre::None, Post::Mean);
  addReduce(r, "ReduceMax", 1, 18, ReduceKind::Max);
  addReduce(r, "ReduceMin", 1, 18, ReduceKind::Min);
  addReduce(r, "ReduceProd", 1, 18, ReduceKind::Prod);
  addReduce(r, "ReduceL1", 1, 18, ReduceKind::Sum, Pre::Abs);
  addReduce(r, "ReduceL2", 1, 18, ReduceKind::Sum, Pre::Square, Post::Sqrt);
  addReduce(r, "ReduceSumSquare", 1, 18, ReduceKind::Sum, Pre::Square);
  addReduce(r, "ReduceLogSum", 1, 18, ReduceKind::Sum, Pre::None, Post::Log);
  addReduce(r, "ReduceLogSumExp", 1, 18, ReduceKind::Sum, Pre::Exp);
  addOnnxOp(r, "ArgMax", 1, [](OpContext &ctx) { return importArg(ctx, true); });
  addOnnxOp(r, "ArgMin", 1, [](OpContext &ctx) { return importArg(ctx, false); });
  addOnnxOp(r, "Softmax", 1, [](OpContext &ctx) { return importSoftmax(ctx, false); });
  addOnnxOp(r, "LogSoftmax", 1, [](OpContext &ctx) { return importSoftmax(ctx, true); });
}

} // namespace kiln::onnx_import

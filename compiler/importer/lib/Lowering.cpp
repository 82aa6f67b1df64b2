//===- Lowering.cpp - building linalg/tensor/arith IR for ONNX ops -------===//
#include "Lowering.h"
#include "GraphImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln::onnx_import {

SmallVector<SymInt> inputDims(OpContext &ctx, int index) {
  SmallVector<SymInt> dims;
  if (const HostTensor *host = ctx.host(index)) {
    for (int64_t d : host->shape)
      dims.push_back(SymInt::of(d));
    return dims;
  }
  Value value = ctx.value(index);
  for (int64_t d = 0; d < ctx.type(index).getRank(); ++d)
    dims.push_back(ctx.importer.dimOf(value, d, ctx.loc()));
  return dims;
}

SmallVector<OpFoldResult> tensorSizes(OpContext &ctx, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    sizes.push_back(toFoldResult(ctx, ctx.importer.dimOf(tensor, d, ctx.loc())));
  return sizes;
}

OpFoldResult toFoldResult(OpContext &ctx, const SymInt &value) {
  if (value.dynamic)
    return value.dynamic;
  return ctx.builder().getIndexAttr(value.constant);
}

SymInt toSymInt(OpFoldResult value) {
  if (auto attr = dyn_cast<Attribute>(value))
    return SymInt::of(cast<IntegerAttr>(attr).getInt());
  return SymInt{0, cast<Value>(value)};
}

SymInt symArith(OpContext &ctx, SymOp op, const SymInt &a, const SymInt &b) {
  if (a.isConstant() && b.isConstant()) {
    switch (op) {
    case SymOp::Add: return SymInt::of(a.constant + b.constant);
    case SymOp::Sub: return SymInt::of(a.constant - b.constant);
    case SymOp::Mul: return SymInt::of(a.constant * b.constant);
    case SymOp::Div: return SymInt::of(b.constant == 0 ? 0 : a.constant / b.constant);
    case SymOp::Min: return SymInt::of(std::min(a.constant, b.constant));
    case SymOp::Max: return SymInt::of(std::max(a.constant, b.constant));
    }
  }
  if (op == SymOp::Mul && b.isConstant() && b.constant == 1)
    return a;
  if ((op == SymOp::Mul || op == SymOp::Div) && b.isConstant() && b.constant == 1)
    return a;
  if (op == SymOp::Mul && a.isConstant() && a.constant == 1)
    return b;
  OpBuilder &builder = ctx.builder();
  auto index = [&](const SymInt &v) -> Value {
    return v.dynamic ? v.dynamic : Value(arith::ConstantIndexOp::create(builder, ctx.loc(), v.constant));
  };
  Value x = index(a), y = index(b), result;
  switch (op) {
  case SymOp::Add: result = arith::AddIOp::create(builder, ctx.loc(), x, y); break;
  case SymOp::Sub: result = arith::SubIOp::create(builder, ctx.loc(), x, y); break;
  case SymOp::Mul: result = arith::MulIOp::create(builder, ctx.loc(), x, y); break;
  case SymOp::Div: result = arith::DivSIOp::create(builder, ctx.loc(), x, y); break;
  case SymOp::Min: result = arith::MinSIOp::create(builder, ctx.loc(), x, y); break;
  case SymOp::Max: result = arith::MaxSIOp::create(builder, ctx.loc(), x, y); break;
  }
  return SymInt{0, result};
}

Value emptyTensor(OpContext &ctx, ArrayRef<OpFoldResult> sizes, Type element) {
  return tensor::EmptyOp::create(ctx.builder(), ctx.loc(), sizes, element);
}

Value filledTensor(OpContext &ctx, ArrayRef<OpFoldResult> sizes, Value scalar) {
  Value empty = emptyTensor(ctx, sizes, scalar.getType());
  return linalg::FillOp::create(ctx.builder(), ctx.loc(), scalar, empty).getResult(0);
}

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(floatType, value));
  if (type.isIndex())
    return arith::ConstantIndexOp::create(b, loc, int64_t(value));
  auto intType = cast<IntegerType>(type);
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(intType, llvm::APInt(intType.getWidth(), uint64_t(int64_t(value)),
                                                    /*isSigned=*/true, /*implicitTrunc=*/true)));
}

Value buildGeneric(OpContext &ctx, ArrayRef<Value> inputs, Value init,
                   ArrayRef<AffineMap> maps, ArrayRef<utils::IteratorType> iterators,
                   ScalarBody body) {
  auto op = linalg::GenericOp::create(
      ctx.builder(), ctx.loc(), TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location loc, ValueRange args) {
        Value result = body(b, loc, args);
        linalg::YieldOp::create(b, loc, result);
      });
  return op.getResult(0);
}

SmallVector<Value> loopIndices(OpBuilder &b, Location loc, int64_t rank) {
  SmallVector<Value> indices;
  for (int64_t d = 0; d < rank; ++d)
    indices.push_back(linalg::IndexOp::create(b, loc, d));
  return indices;
}

Value indexValue(OpBuilder &b, Location loc, const SymInt &value) {
  return value.dynamic ? value.dynamic : Value(arith::ConstantIndexOp::create(b, loc, value.constant));
}

FailureOr<Value> broadcastElementwise(OpContext &ctx, ArrayRef<Value> inputs,
                                      Type resultElement, ScalarBody body,
                                      ArrayRef<SymInt> extraShape) {
  int64_t rank = extraShape.size();
  for (Value input : inputs)
    rank = std::max(rank, cast<RankedTensorType>(input.getType()).getRank());
  // Pick each output dimension: a static non-1 size wins; dynamic sizes
  // are assumed to agree with it.
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    std::optional<int64_t> fixed;
    Value dynamicFrom;
    int64_t dynamicDim = 0;
    for (Value input : inputs) {
      auto type = cast<RankedTensorType>(input.getType());
      int64_t inputDim = d - (rank - type.getRank());
      if (inputDim < 0)
        continue;
      int64_t size = type.getDimSize(inputDim);
      if (ShapedType::isDynamic(size)) {
        if (!dynamicFrom) {
          dynamicFrom = input;
          dynamicDim = inputDim;
        }
        continue;
      }
      if (size == 1)
        continue;
      if (fixed && *fixed != size)
        return ctx.fail("inconsistent shapes: cannot broadcast dimension of size " +
                        llvm::Twine(*fixed) + " with " + llvm::Twine(size));
      fixed = size;
    }
    int64_t extraDim = d - (rank - int64_t(extraShape.size()));
    if (extraDim >= 0) {
      const SymInt &size = extraShape[extraDim];
      if (size.isConstant() && size.constant != 1) {
        if (fixed && *fixed != size.constant)
          return ctx.fail("inconsistent shapes: cannot broadcast dimension of size " +
                          llvm::Twine(*fixed) + " to " + llvm::Twine(size.constant));
        fixed = size.constant;
      } else if (!size.isConstant() && !fixed) {
        sizes.push_back(size.dynamic);
        continue;
      }
    }
    if (fixed)
      sizes.push_back(ctx.builder().getIndexAttr(*fixed));
    else if (dynamicFrom)
      sizes.push_back(toFoldResult(ctx, ctx.importer.dimOf(dynamicFrom, dynamicDim, ctx.loc())));
    else
      sizes.push_back(ctx.builder().getIndexAttr(1));
  }
  SmallVector<AffineMap> maps;
  MLIRContext *mlir = ctx.context();
  for (Value input : inputs) {
    auto type = cast<RankedTensorType>(input.getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      int64_t d = i + (rank - type.getRank());
      bool broadcast = type.getDimSize(i) == 1 && !(isa<Attribute>(sizes[d]) &&
                                                    getConstantIntValue(sizes[d]) == 1);
      exprs.push_back(broadcast ? getAffineConstantExpr(0, mlir) : getAffineDimExpr(d, mlir));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, mlir));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, mlir));
  Value init = emptyTensor(ctx, sizes, resultElement);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  return buildGeneric(ctx, inputs, init, maps, iterators,
                      [&](OpBuilder &b, Location loc, ValueRange args) {
                        return body(b, loc, args.drop_back());
                      });
}

Value transposeTensor(OpContext &ctx, Value input, ArrayRef<int64_t> permutation) {
  SmallVector<OpFoldResult> inputSizes = tensorSizes(ctx, input);
  SmallVector<OpFoldResult> sizes;
  for (int64_t p : permutation)
    sizes.push_back(inputSizes[p]);
  Value init = emptyTensor(ctx, sizes, cast<RankedTensorType>(input.getType()).getElementType());
  return linalg::TransposeOp::create(ctx.builder(), ctx.loc(), input, init, permutation)
      .getResult()[0];
}

Value convertScalar(OpBuilder &b, Location loc, Value scalar, int32_t from, int32_t to) {
  Type target = computeElementType(b.getContext(), to);
  Type source = scalar.getType();
  if (source == target && isUnsignedDType(from) == isUnsignedDType(to))
    return scalar;
  if (to == kBool) {
    Value zero = scalarConstant(b, loc, source, 0);
    if (isa<FloatType>(source))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, scalar, zero);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, scalar, zero);
  }
  bool sourceFloat = isa<FloatType>(source), targetFloat = isa<FloatType>(target);
  if (sourceFloat && targetFloat) {
    if (source.getIntOrFloatBitWidth() < target.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, target, scalar);
    if (source.getIntOrFloatBitWidth() > target.getIntOrFloatBitWidth())
      return arith::TruncFOp::create(b, loc, target, scalar);
    // f16 <-> bf16: through f32.
    Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), scalar);
    return arith::TruncFOp::create(b, loc, target, wide);
  }
  if (sourceFloat)
    return isUnsignedDType(to) ? Value(arith::FPToUIOp::create(b, loc, target, scalar))
                               : Value(arith::FPToSIOp::create(b, loc, target, scalar));
  if (targetFloat)
    return isUnsignedDType(from) ? Value(arith::UIToFPOp::create(b, loc, target, scalar))
                                 : Value(arith::SIToFPOp::create(b, loc, target, scalar));
  unsigned sourceBits = source.getIntOrFloatBitWidth(), targetBits = target.getIntOrFloatBitWidth();
  if (sourceBits < targetBits)
    return isUnsignedDType(from) ? Value(arith::ExtUIOp::create(b, loc, target, scalar))
                                 : Value(arith::ExtSIOp::create(b, loc, target, scalar));
  if (sourceBits > targetBits)
    return arith::TruncIOp::create(b, loc, target, scalar);
  return scalar;
}

Value convertTensor(OpContext &ctx, Value tensor, int32_t from, int32_t to) {
  if (from == to)
    return tensor;
  Type target = computeElementType(ctx.context(), to);
  return *broadcastElementwise(ctx, {tensor}, target,
                               [&](OpBuilder &b, Location loc, ValueRange args) {
                                 return convertScalar(b, loc, args[0], from, to);
                               });
}

FailureOr<Value> reshapeTensor(OpContext &ctx, Value input, ArrayRef<SymInt> sizes) {
  auto inputType = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape;
  bool allStatic = true;
  for (const SymInt &size : sizes) {
    shape.push_back(size.isConstant() ? size.constant : ShapedType::kDynamic);
    allStatic &= size.isConstant();
  }
  auto resultType = RankedTensorType::get(shape, inputType.getElementType());
  if (resultType == inputType && allStatic)
    return input;
  if (inputType.hasStaticShape() && allStatic &&
      inputType.getNumElements() != resultType.getNumElements())
    return ctx.fail("inconsistent shapes: cannot reshape " + llvm::Twine(inputType.getNumElements()) +
                    " elements into " + llvm::Twine(resultType.getNumElements()));
  OpBuilder &b = ctx.builder();
  auto shapeType = RankedTensorType::get({int64_t(sizes.size())}, b.getI64Type());
  Value shapeTensor;
  if (allStatic) {
    shapeTensor = arith::ConstantOp::create(b, ctx.loc(), DenseIntElementsAttr::get(shapeType, shape));
  } else {
    SmallVector<Value> elements;
    for (const SymInt &size : sizes) {
      Value index = size.dynamic ? size.dynamic
                                 : Value(arith::ConstantIndexOp::create(b, ctx.loc(), size.constant));
      elements.push_back(arith::IndexCastOp::create(b, ctx.loc(), b.getI64Type(), index));
    }
    shapeTensor = tensor::FromElementsOp::create(b, ctx.loc(), shapeType, elements);
  }
  return Value(tensor::ReshapeOp::create(b, ctx.loc(), resultType, input, shapeTensor));
}

Value reduceTensor(OpContext &ctx, Value input, ArrayRef<int64_t> axes, bool keepDims,
                   Value initValue, ScalarBody combine) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  MLIRContext *mlir = ctx.context();
  SmallVector<OpFoldResult> inputSizes = tensorSizes(ctx, input), sizes;
  SmallVector<AffineExpr> outputExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    iterators.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (!reduced) {
      sizes.push_back(inputSizes[d]);
      outputExprs.push_back(getAffineDimExpr(d, mlir));
    } else if (keepDims) {
      sizes.push_back(ctx.builder().getIndexAttr(1));
      outputExprs.push_back(getAffineConstantExpr(0, mlir));
    }
  }
  Value init = filledTensor(ctx, sizes, initValue);
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, mlir),
                              AffineMap::get(rank, 0, outputExprs, mlir)};
  return buildGeneric(ctx, {input}, init, maps, iterators, combine);
}

static Value reductionIdentity(OpBuilder &b, Location loc, Type element, ReduceKind kind,
                               bool isUnsigned) {
  if (auto floatType = dyn_cast<FloatType>(element)) {
    switch (kind) {
    case ReduceKind::Sum: return scalarConstant(b, loc, element, 0);
    case ReduceKind::Prod: return scalarConstant(b, loc, element, 1);
    case ReduceKind::Max:
      return arith::ConstantOp::create(
          b, loc, b.getFloatAttr(floatType, llvm::APFloat::getInf(floatType.getFloatSemantics(), true)));
    case ReduceKind::Min:
      return arith::ConstantOp::create(
          b, loc, b.getFloatAttr(floatType, llvm::APFloat::getInf(floatType.getFloatSemantics(), false)));
    }
  }
  unsigned width = element.getIntOrFloatBitWidth();
  llvm::APInt value;
  switch (kind) {
  case ReduceKind::Sum: value = llvm::APInt(width, 0); break;
  case ReduceKind::Prod: value = llvm::APInt(width, 1); break;
  case ReduceKind::Max:
    value = isUnsigned ? llvm::APInt::getMinValue(width) : llvm::APInt::getSignedMinValue(width);
    break;
  case ReduceKind::Min:
    value = isUnsigned ? llvm::APInt::getMaxValue(width) : llvm::APInt::getSignedMaxValue(width);
    break;
  }
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(element, value));
}

Value reduce(OpContext &ctx, Value input, ArrayRef<int64_t> axes, bool keepDims, ReduceKind kind,
             int32_t dtype) {
  Type element = cast<RankedTensorType>(input.getType()).getElementType();
  bool isFloat = isa<FloatType>(element), isUnsigned = isUnsignedDType(dtype);
  Value init = reductionIdentity(ctx.builder(), ctx.loc(), element, kind, isUnsigned);
  return reduceTensor(ctx, input, axes, keepDims, init,
                      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
                        Value x = args[0], acc = args[1];
                        switch (kind) {
                        case ReduceKind::Sum:
                          return isFloat ? Value(arith::AddFOp::create(b, loc, acc, x))
                                         : Value(arith::AddIOp::create(b, loc, acc, x));
                        case ReduceKind::Prod:
                          return isFloat ? Value(arith::MulFOp::create(b, loc, acc, x))
                                         : Value(arith::MulIOp::create(b, loc, acc, x));
                        case ReduceKind::Max:
                          if (isFloat)
                            return arith::MaximumFOp::create(b, loc, acc, x);
                          return isUnsigned ? Value(arith::MaxUIOp::create(b, loc, acc, x))
                                            : Value(arith::MaxSIOp::create(b, loc, acc, x));
                        case ReduceKind::Min:
                          if (isFloat)
                            return arith::MinimumFOp::create(b, loc, acc, x);
                          return isUnsigned ? Value(arith::MinUIOp::create(b, loc, acc, x))
                                            : Value(arith::MinSIOp::create(b, loc, acc, x));
                        }
                        return x;
                      });
}

Value reduceMean(OpContext &ctx, Value input, ArrayRef<int64_t> axes, bool keepDims) {
  Value sum = reduce(ctx, input, axes, keepDims, ReduceKind::Sum, kFloat);
  SymInt count = SymInt::of(1);
  for (int64_t axis : axes)
    count = symArith(ctx, SymOp::Mul, count, ctx.importer.dimOf(input, axis, ctx.loc()));
  Type element = cast<RankedTensorType>(input.getType()).getElementType();
  OpBuilder &b = ctx.builder();
  Value divisor;
  if (count.isConstant()) {
    divisor = scalarConstant(b, ctx.loc(), element, double(count.constant));
  } else {
    Value asInt = arith::IndexCastOp::create(b, ctx.loc(), b.getI64Type(), count.dynamic);
    divisor = arith::SIToFPOp::create(b, ctx.loc(), element, asInt);
  }
  return *broadcastElementwise(ctx, {sum}, element, [&](OpBuilder &bb, Location loc, ValueRange a) -> Value {
    return arith::DivFOp::create(bb, loc, a[0], divisor);
  });
}

Value floatBinary(OpContext &ctx, Value lhs, Value rhs,
                  llvm::function_ref<Value(OpBuilder &, Location, Value, Value)> fn) {
  Type element = cast<RankedTensorType>(lhs.getType()).getElementType();
  return *broadcastElementwise(ctx, {lhs, rhs}, element,
                               [&](OpBuilder &b, Location loc, ValueRange a) { return fn(b, loc, a[0], a[1]); });
}

Value floatUnary(OpContext &ctx, Value input,
                 llvm::function_ref<Value(OpBuilder &, Location, Value)> fn) {
  Type element = cast<RankedTensorType>(input.getType()).getElementType();
  return *broadcastElementwise(ctx, {input}, element,
                               [&](OpBuilder &b, Location loc, ValueRange a) { return fn(b, loc, a[0]); });
}

} // namespace kiln::onnx_import

//===- ElementwiseOps.cpp - arithmetic, activations, logic, casts --------===//
//
// Every op here becomes one linalg.generic over the numpy-broadcast shape of
// its inputs. Integer ops respect the ONNX signedness (unsigned types use
// unsigned arith ops); float ops follow IEEE semantics.
//
//===----------------------------------------------------------------------===//
#include "../HostTensors.h"
#include "../Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;

namespace kiln::onnx_import {
namespace {

bool isFloat(Value v) { return isa<FloatType>(v.getType()); }

/// Imports `node` as `body` over all its (broadcast) inputs, producing
/// `resultDType` (the first input's type when kUndefined).
LogicalResult importMap(OpContext &ctx, int32_t resultDType,
                        llvm::function_ref<Value(OpBuilder &, Location, ValueRange, int32_t)> body) {
  SmallVector<Value> inputs;
  int32_t inputDType = ctx.dtype(0);
  for (int i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i))
      inputs.push_back(ctx.value(i));
  if (inputs.empty())
    return ctx.fail("needs at least one input");
  int32_t outDType = resultDType == kUndefined ? inputDType : resultDType;
  Type element = computeElementType(ctx.context(), outDType);
  FailureOr<Value> result = broadcastElementwise(
      ctx, inputs, element, [&](OpBuilder &b, Location loc, ValueRange args) {
        return body(b, loc, args, inputDType);
      });
  if (failed(result))
    return failure();
  return ctx.setOutput(0, *result, outDType);
}

/// Folds the op on import-time integer contents (shape arithmetic); true
/// when the output was defined that way.
using SymFold = std::function<std::optional<SymInt>(OpContext &, llvm::ArrayRef<SymInt>)>;
bool tryFoldInts(OpContext &ctx, int32_t resultDType, const SymFold &fold) {
  if (!fold)
    return false;
  SmallVector<const HostTensor *> hosts;
  for (int i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i))
      hosts.push_back(ctx.host(i));
  std::optional<HostTensor> folded = foldIntElementwise(
      hosts, resultDType == kUndefined ? ctx.dtype(0) : resultDType,
      [&](llvm::ArrayRef<SymInt> args) { return fold(ctx, args); });
  if (!folded)
    return false;
  (void)ctx.setHostOutput(0, std::move(*folded));
  return true;
}

SymFold arithFold(SymOp op) {
  return [op](OpContext &ctx, llvm::ArrayRef<SymInt> a) -> std::optional<SymInt> {
    if (op == SymOp::Div && a[1].isConstant() && a[1].constant == 0)
      return std::nullopt;
    return symArith(ctx, op, a[0], a[1]);
  };
}

/// Folds only when every operand is a known constant.
SymFold constantFold(std::function<int64_t(int64_t, int64_t)> fn) {
  return [fn](OpContext &, llvm::ArrayRef<SymInt> a) -> std::optional<SymInt> {
    if (!a[0].isConstant() || !a[1].isConstant())
      return std::nullopt;
    return SymInt::of(fn(a[0].constant, a[1].constant));
  };
}

using BinaryFn = Value (*)(OpBuilder &, Location, Value, Value, int32_t);

Value add(OpBuilder &b, Location l, Value x, Value y, int32_t) {
  return isFloat(x) ? Value(arith::AddFOp::create(b, l, x, y)) : Value(arith::AddIOp::create(b, l, x, y));
}
Value sub(OpBuilder &b, Location l, Value x, Value y, int32_t) {
  return isFloat(x) ? Value(arith::SubFOp::create(b, l, x, y)) : Value(arith::SubIOp::create(b, l, x, y));
}
Value mul(OpBuilder &b, Location l, Value x, Value y, int32_t) {
  return isFloat(x) ? Value(arith::MulFOp::create(b, l, x, y)) : Value(arith::MulIOp::create(b, l, x, y));
}
Value div(OpBuilder &b, Location l, Value x, Value y, int32_t dtype) {
  if (isFloat(x))
    return arith::DivFOp::create(b, l, x, y);
  // Integer division truncates toward zero (as ONNX Runtime does).
  return isUnsignedDType(dtype) ? Value(arith::DivUIOp::create(b, l, x, y))
                                : Value(arith::DivSIOp::create(b, l, x, y));
}
Value minimum(OpBuilder &b, Location l, Value x, Value y, int32_t dtype) {
  if (isFloat(x))
    return arith::MinimumFOp::create(b, l, x, y);
  return isUnsignedDType(dtype) ? Value(arith::MinUIOp::create(b, l, x, y))
                                : Value(arith::MinSIOp::create(b, l, x, y));
}
Value maximum(OpBuilder &b, Location l, Value x, Value y, int32_t dtype) {
  if (isFloat(x))
    return arith::MaximumFOp::create(b, l, x, y);
  return isUnsignedDType(dtype) ? Value(arith::MaxUIOp::create(b, l, x, y))
                                : Value(arith::MaxSIOp::create(b, l, x, y));
}
Value bitAnd(OpBuilder &b, Location l, Value x, Value y, int32_t) { return arith::AndIOp::create(b, l, x, y); }
Value bitOr(OpBuilder &b, Location l, Value x, Value y, int32_t) { return arith::OrIOp::create(b, l, x, y); }
Value bitXor(OpBuilder &b, Location l, Value x, Value y, int32_t) { return arith::XOrIOp::create(b, l, x, y); }

/// A binary op whose inputs share a type and whose result has that type.
void addBinary(OpRegistry &r, llvm::StringRef name, int first, BinaryFn fn, SymFold fold = {}) {
  addOnnxOp(r, name, first, [fn, fold](OpContext &ctx) -> LogicalResult {
    if (failed(ctx.expectInputs(2, 2)) || failed(ctx.expectSameTypes()))
      return failure();
    if (tryFoldInts(ctx, kUndefined, fold))
      return success();
    return importMap(ctx, kUndefined, [&](OpBuilder &b, Location l, ValueRange a, int32_t t) {
      return fn(b, l, a[0], a[1], t);
    });
  });
}

/// Min, Max, Sum, Mean: any number of inputs folded left to right.
void addVariadic(OpRegistry &r, llvm::StringRef name, BinaryFn fn, bool mean = false,
                 std::optional<SymOp> foldOp = std::nullopt) {
  addOnnxOp(r, name, 8, [fn, mean, foldOp](OpContext &ctx) -> LogicalResult {
    if (failed(ctx.expectInputs(1, 1 << 20)) || failed(ctx.expectSameTypes()))
      return failure();
    if (foldOp && tryFoldInts(ctx, kUndefined,
                              [&](OpContext &c, llvm::ArrayRef<SymInt> a) -> std::optional<SymInt> {
                                SymInt acc = a[0];
                                for (const SymInt &v : a.drop_front())
                                  acc = symArith(c, *foldOp, acc, v);
                                return acc;
                              }))
      return success();
    return importMap(ctx, kUndefined, [&](OpBuilder &b, Location l, ValueRange a, int32_t t) {
      Value acc = a[0];
      for (Value v : a.drop_front())
        acc = fn(b, l, acc, v, t);
      if (mean)
        acc = arith::DivFOp::create(b, l, acc, scalarConstant(b, l, acc.getType(), double(a.size())));
      return acc;
    });
  });
}

/// Comparisons: bool results.
void addCompare(OpRegistry &r, llvm::StringRef name, int first, arith::CmpFPredicate fp,
                arith::CmpIPredicate signedPred, arith::CmpIPredicate unsignedPred,
                std::function<int64_t(int64_t, int64_t)> hostCompare) {
  addOnnxOp(r, name, first, [=](OpContext &ctx) -> LogicalResult {
    if (failed(ctx.expectInputs(2, 2)) || failed(ctx.expectSameTypes()))
      return failure();
    if (tryFoldInts(ctx, kBool, constantFold(hostCompare)))
      return success();
    return importMap(ctx, kBool, [&](OpBuilder &b, Location l, ValueRange a, int32_t t) -> Value {
      if (isFloat(a[0]))
        return arith::CmpFOp::create(b, l, fp, a[0], a[1]);
      return arith::CmpIOp::create(b, l, isUnsignedDType(t) ? unsignedPred : signedPred, a[0], a[1]);
    });
  });
}

using UnaryFn = std::function<Value(OpBuilder &, Location, Value, OpContext &)>;

/// A float-only unary op.
void addFloatUnary(OpRegistry &r, llvm::StringRef name, int first, UnaryFn fn) {
  addOnnxOp(r, name, first, [fn](OpContext &ctx) -> LogicalResult {
    if (failed(ctx.expectInputs(1, 1)))
      return failure();
    if (!isFloatDType(ctx.dtype(0)))
      return ctx.fail("input must be a float tensor, got " + dtypeName(ctx.dtype(0)));
    return importMap(ctx, kUndefined, [&](OpBuilder &b, Location l, ValueRange a, int32_t) {
      return fn(b, l, a[0], ctx);
    });
  });
}

Value constantLike(OpBuilder &b, Location l, Value like, double value) {
  return scalarConstant(b, l, like.getType(), value);
}

Value sigmoid(OpBuilder &b, Location l, Value x) {
  Value one = constantLike(b, l, x, 1.0);
  Value negated = arith::NegFOp::create(b, l, x);
  Value denominator = arith::AddFOp::create(b, l, one, math::ExpOp::create(b, l, negated));
  return arith::DivFOp::create(b, l, one, denominator);
}

/// clamp(alpha * x + beta, 0, 1)
Value hardSigmoid(OpBuilder &b, Location l, Value x, double alpha, double beta) {
  Value linear = arith::AddFOp::create(
      b, l, arith::MulFOp::create(b, l, x, constantLike(b, l, x, alpha)), constantLike(b, l, x, beta));
  Value low = arith::MaximumFOp::create(b, l, linear, constantLike(b, l, x, 0.0));
  return arith::MinimumFOp::create(b, l, low, constantLike(b, l, x, 1.0));
}

Value gelu(OpBuilder &b, Location l, Value x, bool tanhApproximation) {
  Value half = constantLike(b, l, x, 0.5), one = constantLike(b, l, x, 1.0);
  Value inner;
  if (tanhApproximation) {
    // tanh(sqrt(2/pi) * (x + 0.044715 x^3))
    Value cube = arith::MulFOp::create(b, l, x, arith::MulFOp::create(b, l, x, x));
    Value sum = arith::AddFOp::create(
        b, l, x, arith::MulFOp::create(b, l, cube, constantLike(b, l, x, 0.044715)));
    inner = math::TanhOp::create(
        b, l, arith::MulFOp::create(b, l, sum, constantLike(b, l, x, std::sqrt(2.0 / M_PI))));
  } else {
    inner = math::ErfOp::create(b, l, arith::MulFOp::create(b, l, x, constantLike(b, l, x, M_SQRT1_2)));
  }
  Value factor = arith::MulFOp::create(b, l, half, arith::AddFOp::create(b, l, one, inner));
  return arith::MulFOp::create(b, l, x, factor);
}

LogicalResult importCast(OpContext &ctx, int32_t to) {
  if (!computeElementType(ctx.context(), to))
    return ctx.fail("cannot cast to " + dtypeName(to));
  if (!computeElementType(ctx.context(), ctx.dtype(0)))
    return ctx.fail("cannot cast from " + dtypeName(ctx.dtype(0)));
  int32_t from = ctx.dtype(0);
  if (const HostTensor *host = ctx.host(0)) {
    // Casts inside shape arithmetic fold.
    HostTensor result = *host;
    result.dtype = to;
    result.ints.clear();
    result.reals.clear();
    bool ok = true;
    for (int64_t i = 0; i < host->size(); ++i) {
      if (isFloatDType(to)) {
        if (!host->isFloat() && !host->ints[i].isConstant())
          ok = false;
        else
          result.reals.push_back(castReal(host->realAt(i), to));
      } else if (host->isFloat()) {
        double v = host->reals[i];
        result.ints.push_back(SymInt::of(to == kBool ? v != 0 : castInt(int64_t(v), to)));
      } else {
        const SymInt &v = host->ints[i];
        result.ints.push_back(v.isConstant() ? SymInt::of(castInt(v.constant, to)) : v);
      }
    }
    if (ok)
      return ctx.setHostOutput(0, std::move(result));
  }
  return ctx.setOutput(0, convertTensor(ctx, ctx.value(0), from, to), to);
}

} // namespace

void registerElementwiseOps(OpRegistry &r) {
  addBinary(r, "Add", 7, add, arithFold(SymOp::Add));
  addBinary(r, "Sub", 7, sub, arithFold(SymOp::Sub));
  addBinary(r, "Mul", 7, mul, arithFold(SymOp::Mul));
  addBinary(r, "Div", 7, div, arithFold(SymOp::Div));
  addBinary(r, "And", 7, bitAnd);
  addBinary(r, "Or", 7, bitOr);
  addBinary(r, "Xor", 7, bitXor);
  addBinary(r, "BitwiseAnd", 18, bitAnd);
  addBinary(r, "BitwiseOr", 18, bitOr);
  addBinary(r, "BitwiseXor", 18, bitXor);
  addVariadic(r, "Min", minimum, false, SymOp::Min);
  addVariadic(r, "Max", maximum, false, SymOp::Max);
  addVariadic(r, "Sum", add);
  addVariadic(r, "Mean", add, /*mean=*/true);
  using FP = arith::CmpFPredicate;
  using IP = arith::CmpIPredicate;
  addCompare(r, "Equal", 7, FP::OEQ, IP::eq, IP::eq, std::equal_to<int64_t>());
  addCompare(r, "Less", 7, FP::OLT, IP::slt, IP::ult, std::less<int64_t>());
  addCompare(r, "LessOrEqual", 12, FP::OLE, IP::sle, IP::ule, std::less_equal<int64_t>());
  addCompare(r, "Greater", 7, FP::OGT, IP::sgt, IP::ugt, std::greater<int64_t>());
  addCompare(r, "GreaterOrEqual", 12, FP::OGE, IP::sge, IP::uge, std::greater_equal<int64_t>());

  addOnnxOp(r, "Mod", 10, [](OpContext &ctx) -> LogicalResult {
    if (failed(ctx.expectInputs(2, 2)) || failed(ctx.expectSameTypes()))
      return failure();
    bool fmod = ctx.attrInt("fmod", 0) != 0;
    if (isFloatDType(ctx.dtype(0)) && !fmod)
      return ctx.fail("float Mod needs fmod = 1");
    return importMap(ctx, kUndefined, [&](OpBuilder &b, Location l, ValueRange a, int32_t t) -> Value {
      if (isFloat(a[0]))
        return arith::RemFOp::create(b, l, a[0], a[1]);
      if (isUnsignedDType(t))
        return arith::RemUIOp::create(b, l, a[0], a[1]);
      Value rem = arith::RemSIOp::create(b, l, a[0], a[1]);
      if (fmod)
        return rem;
      // Python-style: the result takes the divisor's sign.
      Value zero = constantLike(b, l, rem, 0);
      Value remNegative = arith::CmpIOp::create(b, l, IP::slt, rem, zero);
      Value divisorNegative = arith::CmpIOp::create(b, l, IP::slt, a[1], zero);
      Value nonZero = arith::CmpIOp::create(b, l, IP::ne, rem, zero);
      Value signsDiffer = arith::XOrIOp::create(b, l, remNegative, divisorNegative);
      Value adjust = arith::AndIOp::create(b, l, nonZero, signsDiffer);
      return arith::SelectOp::create(b, l, adjust, arith::AddIOp::create(b, l, rem, a[1]), rem);
    });
  });

  addOnnxOp(r, "Pow", 7, [](OpContext &ctx) -> LogicalResult {
    if (failed(ctx.expectInputs(2, 2)))
      return failure();
    int32_t exponentType = ctx.dtype(1);
    return importMap(ctx, kUndefined, [&](OpBuilder &b, Location l, ValueRange a, int32_t t) -> Value {
      Value exponent = convertScalar(b, l, a[1], exponentType, t);
      if (isFloat(a[0]))
        return math::PowFOp::create(b, l, a[0], exponent);
      return math::IPowIOp::create(b, l, a[0], exponent);
    });
  });

  addOnnxOp(r, "Where", 9, [](OpContext &ctx) -> LogicalResult {
    if (failed(ctx.expectInputs(3, 3)))
      return failure();
    if (ctx.dtype(1) != ctx.dtype(2))
      return ctx.fail("X and Y must have the same type");
    // Where over shape values folds (cond may be bool, X and Y integers).
    if (ctx.host(0) && tryFoldInts(ctx, ctx.dtype(1),
                                   [](OpContext &, llvm::ArrayRef<SymInt> a) -> std::optional<SymInt> {
                                     if (!a[0].isConstant())
                                       return std::nullopt;
                                     return a[0].constant ? a[1] : a[2];
                                   }))
      return success();
    return importMap(ctx, ctx.dtype(1), [&](OpBuilder &b, Location l, ValueRange a, int32_t) -> Value {
      return arith::SelectOp::create(b, l, a[0], a[1], a[2]);
    });
  });

  auto floatOnly = [&](llvm::StringRef name, int first, auto build) {
    addFloatUnary(r, name, first, [build](OpBuilder &b, Location l, Value x, OpContext &) -> Value {
      return build(b, l, x);
    });
  };
  floatOnly("Sqrt", 6, [](OpBuilder &b, Location l, Value x) { return math::SqrtOp::create(b, l, x); });
  floatOnly("Exp", 6, [](OpBuilder &b, Location l, Value x) { return math::ExpOp::create(b, l, x); });
  floatOnly("Log", 6, [](OpBuilder &b, Location l, Value x) { return math::LogOp::create(b, l, x); });
  floatOnly("Tanh", 6, [](OpBuilder &b, Location l, Value x) { return math::TanhOp::create(b, l, x); });
  floatOnly("Erf", 9, [](OpBuilder &b, Location l, Value x) { return math::ErfOp::create(b, l, x); });
  floatOnly("Sin", 7, [](OpBuilder &b, Location l, Value x) { return math::SinOp::create(b, l, x); });
  floatOnly("Cos", 7, [](OpBuilder &b, Location l, Value x) { return math::CosOp::create(b, l, x); });
  floatOnly("Tan", 7, [](OpBuilder &b, Location l, Value x) { return math::TanOp::create(b, l, x); });
  floatOnly("Atan", 7, [](OpBuilder &b, Location l, Value x) { return math::AtanOp::create(b, l, x); });
  floatOnly("Asin", 7, [](OpBuilder &b, Location l, Value x) { return math::AsinOp::create(b, l, x); });
  floatOnly("Acos", 7, [](OpBuilder &b, Location l, Value x) { return math::AcosOp::create(b, l, x); });
  floatOnly("Sinh", 9, [](OpBuilder &b, Location l, Value x) { return math::SinhOp::create(b, l, x); });
  floatOnly("Cosh", 9, [](OpBuilder &b, Location l, Value x) { return math::CoshOp::create(b, l, x); });
  floatOnly("Floor", 6, [](OpBuilder &b, Location l, Value x) { return math::FloorOp::create(b, l, x); });
  floatOnly("Ceil", 6, [](OpBuilder &b, Location l, Value x) { return math::CeilOp::create(b, l, x); });
  // ONNX Round rounds halves to even.
  floatOnly("Round", 11, [](OpBuilder &b, Location l, Value x) { return math::RoundEvenOp::create(b, l, x); });
  floatOnly("Sigmoid", 6, [](OpBuilder &b, Location l, Value x) { return sigmoid(b, l, x); });
  floatOnly("Reciprocal", 6, [](OpBuilder &b, Location l, Value x) {
    return arith::DivFOp::create(b, l, constantLike(b, l, x, 1.0), x);
  });
  floatOnly("Softplus", 1, [](OpBuilder &b, Location l, Value x) {
    return math::Log1pOp::create(b, l, math::ExpOp::create(b, l, x));
  });
  floatOnly("Softsign", 1, [](OpBuilder &b, Location l, Value x) {
    Value denominator = arith::AddFOp::create(b, l, constantLike(b, l, x, 1.0), math::AbsFOp::create(b, l, x));
    return arith::DivFOp::create(b, l, x, denominator);
  });
  addFloatUnary(r, "HardSigmoid", 6, [](OpBuilder &b, Location l, Value x, OpContext &ctx) {
    return hardSigmoid(b, l, x, ctx.attrFloat("alpha", 0.2f), ctx.attrFloat("beta", 0.5f));
  });
  addFloatUnary(r, "HardSwish", 14, [](OpBuilder &b, Location l, Value x, OpContext &) -> Value {
    return arith::MulFOp::create(b, l, x, hardSigmoid(b, l, x, 1.0 / 6.0, 0.5));
  });
  addFloatUnary(r, "LeakyRelu", 6, [](OpBuilder &b, Location l, Value x, OpContext &ctx) -> Value {
    Value scaled = arith::MulFOp::create(b, l, x, constantLike(b, l, x, ctx.attrFloat("alpha", 0.01f)));
    Value negative = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, constantLike(b, l, x, 0.0));
    return arith::SelectOp::create(b, l, negative, scaled, x);
  });
  addFloatUnary(r, "Elu", 6, [](OpBuilder &b, Location l, Value x, OpContext &ctx) -> Value {
    Value alpha = constantLike(b, l, x, ctx.attrFloat("alpha", 1.0f));
    Value negativePart = arith::MulFOp::create(b, l, alpha, math::ExpM1Op::create(b, l, x));
    Value negative = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, constantLike(b, l, x, 0.0));
    return arith::SelectOp::create(b, l, negative, negativePart, x);
  });
  addFloatUnary(r, "Gelu", 20, [](OpBuilder &b, Location l, Value x, OpContext &ctx) {
    return gelu(b, l, x, ctx.attrString("approximate", "none") == "tanh");
  });
  addOnnxOp(r, "IsNaN", 9, [](OpContext &ctx) -> LogicalResult {
    return importMap(ctx, kBool, [](OpBuilder &b, Location l, ValueRange a, int32_t) -> Value {
      return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, a[0], a[0]);
    });
  });
  addOnnxOp(r, "IsInf", 10, [](OpContext &ctx) -> LogicalResult {
    bool positive = ctx.attrInt("detect_positive", 1), negative = ctx.attrInt("detect_negative", 1);
    return importMap(ctx, kBool, [&](OpBuilder &b, Location l, ValueRange a, int32_t) -> Value {
      Value x = a[0];
      Value isPos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x,
                                          constantLike(b, l, x, INFINITY));
      Value isNeg = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x,
                                          constantLike(b, l, x, -INFINITY));
      Value none = scalarConstant(b, l, b.getI1Type(), 0);
      return arith::OrIOp::create(b, l, positive ? isPos : none, negative ? isNeg : none);
    });
  });

  // Ops that also take integers.
  addOnnxOp(r, "Relu", 6, [](OpContext &ctx) -> LogicalResult {
    return importMap(ctx, kUndefined, [](OpBuilder &b, Location l, ValueRange a, int32_t t) {
      return maximum(b, l, a[0], constantLike(b, l, a[0], 0), t);
    });
  });
  addOnnxOp(r, "Neg", 6, [](OpContext &ctx) -> LogicalResult {
    return importMap(ctx, kUndefined, [](OpBuilder &b, Location l, ValueRange a, int32_t) -> Value {
      if (isFloat(a[0]))
        return arith::NegFOp::create(b, l, a[0]);
      return arith::SubIOp::create(b, l, constantLike(b, l, a[0], 0), a[0]);
    });
  });
  addOnnxOp(r, "Abs", 6, [](OpContext &ctx) -> LogicalResult {
    return importMap(ctx, kUndefined, [](OpBuilder &b, Location l, ValueRange a, int32_t t) -> Value {
      if (isFloat(a[0]))
        return math::AbsFOp::create(b, l, a[0]);
      if (isUnsignedDType(t))
        return a[0];
      return math::AbsIOp::create(b, l, a[0]);
    });
  });
  addOnnxOp(r, "Sign", 9, [](OpContext &ctx) -> LogicalResult {
    return importMap(ctx, kUndefined, [](OpBuilder &b, Location l, ValueRange a, int32_t t) -> Value {
      Value x = a[0], zero = constantLike(b, l, x, 0), one = constantLike(b, l, x, 1),
            minusOne = constantLike(b, l, x, -1);
      Value positive, negative;
      if (isFloat(x)) {
        positive = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, x, zero);
        negative = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, zero);
      } else {
        positive = arith::CmpIOp::create(b, l, isUnsignedDType(t) ? IP::ugt : IP::sgt, x, zero);
        negative = isUnsignedDType(t) ? scalarConstant(b, l, b.getI1Type(), 0)
                                      : Value(arith::CmpIOp::create(b, l, IP::slt, x, zero));
      }
      // Sign(NaN) is NaN: keep x where it is neither positive nor negative.
      Value rest = isFloat(x) ? x : zero;
      return arith::SelectOp::create(b, l, positive, one,
                                     arith::SelectOp::create(b, l, negative, minusOne, rest));
    });
  });
  addOnnxOp(r, "Not", 1, [](OpContext &ctx) -> LogicalResult {
    return importMap(ctx, kBool, [](OpBuilder &b, Location l, ValueRange a, int32_t) -> Value {
      return arith::XOrIOp::create(b, l, a[0], scalarConstant(b, l, b.getI1Type(), 1));
    });
  });
  addOnnxOp(r, "Clip", 11, [](OpContext &ctx) -> LogicalResult {
    if (failed(ctx.expectInputs(1, 3)))
      return failure();
    bool hasMin = ctx.hasInput(1), hasMax = ctx.hasInput(2);
    for (int i = 1; i <= 2; ++i)
      if (ctx.hasInput(i) && ctx.type(i).getRank() != 0)
        return ctx.fail("min and max must be scalars");
    return importMap(ctx, kUndefined, [&](OpBuilder &b, Location l, ValueRange a, int32_t t) {
      Value x = a[0];
      int next = 1;
      if (hasMin)
        x = maximum(b, l, x, a[next++], t);
      if (hasMax)
        x = minimum(b, l, x, a[next], t);
      return x;
    });
  });
  addOnnxOp(r, "Cast", 6, [](OpContext &ctx) -> LogicalResult {
    if (!ctx.hasAttr("to"))
      return ctx.fail("the 'to' attribute is required");
    return importCast(ctx, int32_t(ctx.attrInt("to", 0)));
  });
  addOnnxOp(r, "CastLike", 15, [](OpContext &ctx) -> LogicalResult {
    if (failed(ctx.expectInputs(2, 2)))
      return failure();
    return importCast(ctx, ctx.dtype(1));
  });
}

} // namespace kiln::onnx_import

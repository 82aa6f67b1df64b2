//===- LinearOps.cpp - MatMul and Gemm -----------------------------------===//
//
// A MatMul or Gemm whose B is a constant becomes kiln.linear with the weight
// stored as [N, K] (transposed at import when the model stores [K, N]), so
// every compression pass and kernel sees one layout. Anything else becomes a
// broadcasting batched contraction (linalg.generic).
//
//===----------------------------------------------------------------------===//
#include "../GraphImporter.h"
#include "../Lowering.h"
#include "../QuantizedWeights.h"

#include "kiln/Dialect/KilnDialect.h"
#include "kiln/Dialect/Semantics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <onnx/onnx_pb.h>

#include <map>

using namespace mlir;

namespace kiln::onnx_import {
namespace {

/// Transposes a row-major [rows, cols] matrix of `width`-byte elements.
std::vector<char> transposeBytes(llvm::ArrayRef<uint8_t> bytes, int64_t rows, int64_t cols,
                                 size_t width) {
  std::vector<char> result(bytes.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      std::memcpy(&result[(c * rows + r) * width], &bytes[(r * cols + c) * width], width);
  return result;
}

/// The [N, K] weight of a linear layer from input `index` (a 2-D constant,
/// or a quantized constant), or null when it is not constant.
/// `storedAsKN`: the model stores B as [K, N] (MatMul, Gemm without transB).
FailureOr<Value> linearWeight(OpContext &ctx, int index, bool storedAsKN) {
  TensorValue &tensor = ctx.input(index);
  if (tensor.quantized && tensor.quantized->shape.size() == 2)
    return buildQuantizedWeight(ctx.importer, *tensor.quantized, storedAsKN, ctx.loc(),
                                ctx.node().input(index));
  if (!tensor.constant || tensor.type.getRank() != 2 || !isFloatDType(tensor.dtype))
    return Value();
  auto type = tensor.type;
  if (!storedAsKN)
    return ctx.value(index);
  FailureOr<std::vector<uint8_t>> bytes = getElementBytes(tensor.constant);
  if (failed(bytes))
    return Value();
  int64_t k = type.getDimSize(0), n = type.getDimSize(1);
  size_t width = type.getElementTypeBitWidth() / 8;
  std::vector<char> transposed = transposeBytes(*bytes, k, n, width);
  auto weightType = RankedTensorType::get({n, k}, type.getElementType());
  std::string name = ctx.node().input(index) + ".nk";
  ElementsAttr attr = ctx.importer.makeElements(weightType, tensor.dtype, transposed, name);
  return Value(arith::ConstantOp::create(ctx.builder(), ctx.loc(), weightType, cast<TypedAttr>(attr)));
}

Value linear(OpContext &ctx, Value input, Value weight, Value bias) {
  auto inputType = cast<RankedTensorType>(input.getType());
  auto weightType = cast<ShapedType>(weight.getType());
  SmallVector<int64_t> shape(inputType.getShape());
  shape.back() = weightType.getDimSize(0);
  auto resultType = RankedTensorType::get(shape, inputType.getElementType());
  return LinearOp::create(ctx.builder(), ctx.loc(), resultType, input, weight, bias);
}

/// A broadcasting batched matmul of a [..., M, K] and b [..., K, N]
/// (either may be 1-D, with numpy's promotion rules).
FailureOr<Value> contraction(OpContext &ctx, Value a, Value b, int32_t dtype) {
  auto aType = cast<RankedTensorType>(a.getType()), bType = cast<RankedTensorType>(b.getType());
  if (aType.getRank() == 0 || bType.getRank() == 0)
    return ctx.fail("MatMul inputs must have rank >= 1");
  bool aVector = aType.getRank() == 1, bVector = bType.getRank() == 1;
  SmallVector<OpFoldResult> aSizes = tensorSizes(ctx, a), bSizes = tensorSizes(ctx, b);
  SmallVector<int64_t> aShape(aType.getShape()), bShape(bType.getShape());
  if (aVector) {
    aSizes.insert(aSizes.begin(), ctx.builder().getIndexAttr(1));
    aShape.insert(aShape.begin(), 1);
  }
  if (bVector) {
    bSizes.push_back(ctx.builder().getIndexAttr(1));
    bShape.push_back(1);
  }
  int64_t kA = aShape.back(), kB = bShape[bShape.size() - 2];
  if (!ShapedType::isDynamic(kA) && !ShapedType::isDynamic(kB) && kA != kB)
    return ctx.fail("inconsistent shapes: K is " + llvm::Twine(kA) + " in A but " +
                    llvm::Twine(kB) + " in B");
  if (aVector) {
    SmallVector<SymInt> sizes;
    for (OpFoldResult s : aSizes)
      sizes.push_back(toSymInt(s));
    a = *reshapeTensor(ctx, a, sizes);
  }
  if (bVector) {
    SmallVector<SymInt> sizes;
    for (OpFoldResult s : bSizes)
      sizes.push_back(toSymInt(s));
    b = *reshapeTensor(ctx, b, sizes);
  }
  int64_t aBatch = aShape.size() - 2, bBatch = bShape.size() - 2;
  int64_t batch = std::max(aBatch, bBatch);
  // Iteration space: batch..., m, n, k.
  MLIRContext *mlir = ctx.context();
  int64_t loops = batch + 3;
  SmallVector<OpFoldResult> outSizes;
  SmallVector<AffineExpr> aExprs, bExprs, outExprs;
  for (int64_t d = 0; d < batch; ++d) {
    int64_t ai = d - (batch - aBatch), bi = d - (batch - bBatch);
    int64_t aDim = ai >= 0 ? aShape[ai] : 1, bDim = bi >= 0 ? bShape[bi] : 1;
    if (aDim != 1 && bDim != 1 && !ShapedType::isDynamic(aDim) && !ShapedType::isDynamic(bDim) &&
        aDim != bDim)
      return ctx.fail("inconsistent shapes: batch dimensions " + llvm::Twine(aDim) + " and " +
                      llvm::Twine(bDim) + " do not broadcast");
    bool useA = ai >= 0 && aDim != 1;
    outSizes.push_back(useA ? aSizes[ai] : bi >= 0 ? bSizes[bi] : ctx.builder().getIndexAttr(1));
    if (ai >= 0)
      aExprs.push_back(aDim == 1 && !(bDim == 1) ? getAffineConstantExpr(0, mlir)
                                                 : getAffineDimExpr(d, mlir));
    if (bi >= 0)
      bExprs.push_back(bDim == 1 && !(aDim == 1) ? getAffineConstantExpr(0, mlir)
                                                 : getAffineDimExpr(d, mlir));
    outExprs.push_back(getAffineDimExpr(d, mlir));
  }
  AffineExpr m = getAffineDimExpr(batch, mlir), n = getAffineDimExpr(batch + 1, mlir),
             k = getAffineDimExpr(batch + 2, mlir);
  aExprs.append({m, k});
  bExprs.append({k, n});
  outExprs.append({m, n});
  outSizes.push_back(aSizes[aSizes.size() - 2]);
  outSizes.push_back(bSizes.back());
  Type element = aType.getElementType();
  Value init = filledTensor(ctx, outSizes, scalarConstant(ctx.builder(), ctx.loc(), element, 0));
  SmallVector<utils::IteratorType> iterators(batch + 2, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  SmallVector<AffineMap> maps{AffineMap::get(loops, 0, aExprs, mlir),
                              AffineMap::get(loops, 0, bExprs, mlir),
                              AffineMap::get(loops, 0, outExprs, mlir)};
  Value product = buildGeneric(ctx, {a, b}, init, maps, iterators,
                               [&](OpBuilder &bld, Location loc, ValueRange args) -> Value {
                                 if (isa<FloatType>(element))
                                   return arith::AddFOp::create(
                                       bld, loc, args[2], arith::MulFOp::create(bld, loc, args[0], args[1]));
                                 return arith::AddIOp::create(
                                     bld, loc, args[2], arith::MulIOp::create(bld, loc, args[0], args[1]));
                               });
  if (!aVector && !bVector)
    return product;
  SmallVector<SymInt> sizes;
  for (size_t i = 0; i < outSizes.size(); ++i) {
    bool dropped = (aVector && i == outSizes.size() - 2) || (bVector && i == outSizes.size() - 1);
    if (!dropped)
      sizes.push_back(toSymInt(outSizes[i]));
  }
  return reshapeTensor(ctx, product, sizes);
}

LogicalResult importMatMul(OpContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)) || failed(ctx.expectSameTypes()))
    return failure();
  FailureOr<Value> weight = linearWeight(ctx, 1, /*storedAsKN=*/true);
  if (failed(weight))
    return failure();
  if (*weight && ctx.type(0).getRank() >= 1 && isFloatDType(ctx.dtype(0))) {
    int64_t k = cast<ShapedType>(weight->getType()).getDimSize(1), inputK = ctx.type(0).getShape().back();
    if (!ShapedType::isDynamic(inputK) && inputK != k)
      return ctx.fail("inconsistent shapes: A has K = " + llvm::Twine(inputK) + " but B has K = " +
                      llvm::Twine(k));
    return ctx.setOutput(0, linear(ctx, ctx.value(0), *weight, Value()), ctx.dtype(0));
  }
  FailureOr<Value> result = contraction(ctx, ctx.value(0), ctx.value(1), ctx.dtype(0));
  if (failed(result))
    return failure();
  return ctx.setOutput(0, *result, ctx.dtype(0));
}

/// Scales `value` by a constant unless the factor is 1.
Value scaled(OpContext &ctx, Value value, float factor) {
  if (factor == 1.0f)
    return value;
  Type element = cast<RankedTensorType>(value.getType()).getElementType();
  return *broadcastElementwise(ctx, {value}, element, [&](OpBuilder &b, Location l, ValueRange a) {
    return arith::MulFOp::create(b, l, a[0], scalarConstant(b, l, element, factor));
  });
}

LogicalResult importGemm(OpContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)) || failed(ctx.expectSameTypes()))
    return failure();
  float alpha = ctx.attrFloat("alpha", 1.0f), beta = ctx.attrFloat("beta", 1.0f);
  bool transA = ctx.attrInt("transA", 0), transB = ctx.attrInt("transB", 0);
  if (ctx.type(0).getRank() != 2 || ctx.type(1).getRank() != 2)
    return ctx.fail("A and B must be 2-D");
  if (!isFloatDType(ctx.dtype(0)))
    return ctx.fail("Kiln imports float Gemm only, got " + dtypeName(ctx.dtype(0)));
  Value a = ctx.value(0);
  if (transA)
    a = transposeTensor(ctx, a, {1, 0});
  Type element = ctx.type(0).getElementType();
  FailureOr<Value> weight = linearWeight(ctx, 1, /*storedAsKN=*/!transB);
  if (failed(weight))
    return failure();
  Value product;
  bool biasUsed = false;
  if (*weight) {
    int64_t n = cast<ShapedType>(weight->getType()).getDimSize(0);
    int64_t k = cast<ShapedType>(weight->getType()).getDimSize(1);
    int64_t inputK = cast<RankedTensorType>(a.getType()).getDimSize(1);
    if (!ShapedType::isDynamic(inputK) && inputK != k)
      return ctx.fail("inconsistent shapes: A has K = " + llvm::Twine(inputK) +
                      " but B has K = " + llvm::Twine(k));
    // A [N] (or [1, N]) C with beta 1 and alpha 1 is the linear's bias.
    Value bias;
    if (ctx.hasInput(2) && alpha == 1.0f && beta == 1.0f) {
      RankedTensorType cType = ctx.type(2);
      bool vector = cType.getRank() == 1 && cType.getDimSize(0) == n;
      bool row = cType.getRank() == 2 && cType.getDimSize(0) == 1 && cType.getDimSize(1) == n;
      if (vector)
        bias = ctx.value(2);
      else if (row)
        bias = *reshapeTensor(ctx, ctx.value(2), {SymInt::of(n)});
      biasUsed = bool(bias);
    }
    product = linear(ctx, a, *weight, bias);
  } else {
    Value b = ctx.value(1);
    if (transB)
      b = transposeTensor(ctx, b, {1, 0});
    FailureOr<Value> result = contraction(ctx, a, b, ctx.dtype(0));
    if (failed(result))
      return failure();
    product = *result;
  }
  product = scaled(ctx, product, alpha);
  if (ctx.hasInput(2) && !biasUsed && beta != 0.0f) {
    Value c = scaled(ctx, ctx.value(2), beta);
    FailureOr<Value> sum = broadcastElementwise(ctx, {product, c}, element,
                                                [](OpBuilder &b, Location l, ValueRange v) -> Value {
                                                  return arith::AddFOp::create(b, l, v[0], v[1]);
                                                });
    if (failed(sum))
      return failure();
    product = *sum;
  }
  return ctx.setOutput(0, product, ctx.dtype(0));
}

/// Einsum: one generic whose loops are the equation's letters; letters
/// absent from the output are reductions. "..." expands to unnamed letters.
LogicalResult importEinsum(OpContext &ctx) {
  std::string equation;
  for (char c : ctx.attrString("equation", ""))
    if (c != ' ')
      equation += c;
  llvm::StringRef eq(equation);
  auto [lhs, rhs] = eq.split("->");
  bool explicitOutput = eq.contains("->");
  SmallVector<llvm::StringRef> terms;
  lhs.split(terms, ',');
  SmallVector<Value> inputs;
  for (int i = 0; i < ctx.numInputs(); ++i)
    inputs.push_back(ctx.value(i));
  if (terms.size() != inputs.size())
    return ctx.fail("the equation names " + llvm::Twine(terms.size()) + " operands, the node has " +
                    llvm::Twine(inputs.size()));
  for (int i = 1; i < ctx.numInputs(); ++i)
    if (ctx.dtype(i) != ctx.dtype(0))
      return ctx.fail("operands must share one element type");
  // Letters become symbol ids; ellipsis dims get ids 1000+k (right-aligned).
  // "..." stands for the same trailing-aligned dims in every operand: size
  // it first so that shorter ellipses align to the right.
  int64_t ellipsisRank = 0;
  for (size_t t = 0; t < terms.size(); ++t)
    if (terms[t].contains("..."))
      ellipsisRank = std::max<int64_t>(ellipsisRank, cast<RankedTensorType>(inputs[t].getType()).getRank() -
                                                         int64_t(terms[t].size() - 3));
  std::vector<std::vector<int>> operandSymbols;
  for (size_t t = 0; t < terms.size(); ++t) {
    llvm::StringRef term = terms[t];
    int64_t rank = cast<RankedTensorType>(inputs[t].getType()).getRank();
    size_t dots = term.find("...");
    int64_t letters = int64_t(term.size()) - (dots == llvm::StringRef::npos ? 0 : 3);
    int64_t covered = dots == llvm::StringRef::npos ? 0 : rank - letters;
    if (covered < 0 || (dots == llvm::StringRef::npos && letters != rank))
      return ctx.fail("operand " + llvm::Twine(t) + " has rank " + llvm::Twine(rank) +
                      " but the equation gives it " + llvm::Twine(letters) + " letters");
    std::vector<int> symbols;
    for (size_t i = 0; i < term.size(); ++i) {
      if (term.substr(i).starts_with("...")) {
        for (int64_t e = 0; e < covered; ++e)
          symbols.push_back(1000 + int(e + (ellipsisRank - covered)));
        i += 2;
        continue;
      }
      if (!llvm::isAlpha(term[i]))
        return ctx.fail("bad character in the equation '" + equation + "'");
      symbols.push_back(term[i]);
    }
    operandSymbols.push_back(symbols);
  }
  std::vector<int> outputSymbols;
  if (explicitOutput) {
    for (size_t i = 0; i < rhs.size(); ++i) {
      if (rhs.substr(i).starts_with("...")) {
        for (int64_t e = 0; e < ellipsisRank; ++e)
          outputSymbols.push_back(1000 + int(e));
        i += 2;
        continue;
      }
      outputSymbols.push_back(rhs[i]);
    }
  } else {
    for (int64_t e = 0; e < ellipsisRank; ++e)
      outputSymbols.push_back(1000 + int(e));
    std::map<int, int> counts;
    for (const auto &symbols : operandSymbols)
      for (int s : symbols)
        if (s < 1000)
          ++counts[s];
    for (auto [symbol, count] : counts)
      if (count == 1)
        outputSymbols.push_back(symbol);
  }
  // Loop order: output symbols, then the reduced ones.
  std::vector<int> loops = outputSymbols;
  for (const auto &symbols : operandSymbols)
    for (int s : symbols)
      if (!llvm::is_contained(loops, s))
        loops.push_back(s);
  MLIRContext *mlir = ctx.context();
  auto loopOf = [&](int symbol) {
    return getAffineDimExpr(std::find(loops.begin(), loops.end(), symbol) - loops.begin(), mlir);
  };
  SmallVector<AffineMap> maps;
  for (const auto &symbols : operandSymbols) {
    SmallVector<AffineExpr> exprs;
    for (int s : symbols)
      exprs.push_back(loopOf(s));
    maps.push_back(AffineMap::get(loops.size(), 0, exprs, mlir));
  }
  SmallVector<AffineExpr> outExprs;
  SmallVector<OpFoldResult> outSizes;
  for (int s : outputSymbols) {
    outExprs.push_back(loopOf(s));
    bool found = false;
    for (size_t t = 0; t < operandSymbols.size() && !found; ++t)
      for (size_t d = 0; d < operandSymbols[t].size() && !found; ++d)
        if (operandSymbols[t][d] == s) {
          outSizes.push_back(toFoldResult(ctx, ctx.importer.dimOf(inputs[t], d, ctx.loc())));
          found = true;
        }
    if (!found)
      return ctx.fail("output letter '" + llvm::Twine(char(s)) + "' is not in any operand");
  }
  maps.push_back(AffineMap::get(loops.size(), 0, outExprs, mlir));
  Type element = ctx.type(0).getElementType();
  bool isFloat = isa<FloatType>(element);
  Value init = filledTensor(ctx, outSizes, scalarConstant(ctx.builder(), ctx.loc(), element, 0));
  SmallVector<utils::IteratorType> iterators;
  for (size_t i = 0; i < loops.size(); ++i)
    iterators.push_back(i < outputSymbols.size() ? utils::IteratorType::parallel
                                                 : utils::IteratorType::reduction);
  Value result = buildGeneric(ctx, inputs, init, maps, iterators,
                              [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
                                Value product = args[0];
                                for (Value v : args.drop_back().drop_front())
                                  product = isFloat ? Value(arith::MulFOp::create(b, loc, product, v))
                                                    : Value(arith::MulIOp::create(b, loc, product, v));
                                return isFloat ? Value(arith::AddFOp::create(b, loc, args.back(), product))
                                               : Value(arith::AddIOp::create(b, loc, args.back(), product));
                              });
  return ctx.setOutput(0, result, ctx.dtype(0));
}

} // namespace

void registerLinearOps(OpRegistry &r) {
  addOnnxOp(r, "MatMul", 9, importMatMul);
  addOnnxOp(r, "Gemm", 9, importGemm);
  addOnnxOp(r, "Einsum", 12, importEinsum);
}

} // namespace kiln::onnx_import

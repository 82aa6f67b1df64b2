//===- QuantizationOps.cpp - QuantizeLinear, DequantizeLinear, MatMulNBits -===//
//
// DequantizeLinear of constant codes becomes a kiln compressed weight (per
// tensor, per axis or blocked; int8/uint8/int4/uint4/fp8). With run-time
// inputs both ops lower to elementwise generics.
//
//===----------------------------------------------------------------------===//
#include "../GraphImporter.h"
#include "../Lowering.h"
#include "../QuantizedWeights.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/Semantics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <onnx/onnx_pb.h>

using namespace mlir;

namespace kiln::onnx_import {
namespace {

/// Storage type and bit count of quantized ONNX codes.
std::optional<std::pair<Type, unsigned>> codeStorage(MLIRContext *context, int32_t dtype) {
  switch (dtype) {
  case kInt8: return std::make_pair(Type(IntegerType::get(context, 8, IntegerType::Signed)), 8u);
  case kUInt8: return std::make_pair(Type(IntegerType::get(context, 8, IntegerType::Unsigned)), 8u);
  case kInt4: return std::make_pair(Type(IntegerType::get(context, 4, IntegerType::Signed)), 4u);
  case kUInt4: return std::make_pair(Type(IntegerType::get(context, 4, IntegerType::Unsigned)), 4u);
  case kFloat8E4M3FN: return std::make_pair(Type(Float8E4M3FNType::get(context)), 8u);
  case kFloat8E5M2: return std::make_pair(Type(Float8E5M2Type::get(context)), 8u);
  default: return std::nullopt;
  }
}

/// The raw codes of a constant input (any storage), row-major.
std::optional<std::vector<uint32_t>> constantCodes(TensorValue &tensor, unsigned bits, int64_t count) {
  if (!tensor.constant)
    return std::nullopt;
  FailureOr<std::vector<uint8_t>> bytes = getElementBytes(tensor.constant);
  if (failed(bytes))
    return std::nullopt;
  std::optional<int64_t> needed = codec::packedByteCount(count, bits);
  if (!needed || int64_t(bytes->size()) < *needed)
    return std::nullopt;
  std::vector<uint32_t> codes(count);
  for (int64_t i = 0; i < count; ++i)
    codes[i] = codec::unpackCode(bytes->data(), i, bits);
  return codes;
}

/// A kiln weight for DequantizeLinear(constant x, constant scale, zp), or
/// nullptr when kiln's encodings cannot express it.
std::shared_ptr<QuantizedConstant> quantizedConstant(OpContext &ctx) {
  TensorValue &x = ctx.input(0), &scale = ctx.input(1);
  std::optional<std::pair<Type, unsigned>> storage = codeStorage(ctx.context(), x.dtype);
  if (!storage || !x.constant || !scale.constant || x.type.getRank() != 2 ||
      !x.type.hasStaticShape() || !isFloatDType(scale.dtype))
    return nullptr;
  if (ctx.hasInput(2) && !ctx.input(2).constant)
    return nullptr;
  auto weight = std::make_shared<QuantizedConstant>();
  weight->shape.assign(x.type.getShape().begin(), x.type.getShape().end());
  weight->storage = storage->first;
  weight->bits = storage->second;
  std::optional<std::vector<uint32_t>> codes = constantCodes(x, weight->bits, x.type.getNumElements());
  FailureOr<std::vector<float>> scales = getElementsAsFloats(scale.constant);
  if (!codes || failed(scales))
    return nullptr;
  weight->codes = std::move(*codes);
  weight->scales = std::move(*scales);
  weight->scaleShape.assign(scale.type.getShape().begin(), scale.type.getShape().end());
  weight->scaleType = scale.type.getElementType();
  weight->scaleDType = scale.dtype;
  int64_t rank = 2;
  int64_t axis = ctx.attrInt("axis", 1);
  if (axis < 0)
    axis += rank;
  int64_t block = ctx.version() >= 21 ? ctx.attrInt("block_size", 0) : 0;
  if (scale.type.getRank() == 0 || scale.type.getNumElements() == 1) {
    weight->granularity = QuantGranularity::PerTensor;
  } else if (block > 0) {
    if (axis < 0 || axis >= rank || weight->shape[axis] % block != 0)
      return nullptr;
    weight->granularity = QuantGranularity::PerGroup;
    weight->axis = axis;
    weight->groupSize = block;
  } else {
    if (axis < 0 || axis >= rank || scale.type.getRank() != 1 ||
        scale.type.getDimSize(0) != weight->shape[axis])
      return nullptr;
    weight->granularity = QuantGranularity::PerChannel;
    weight->axis = axis;
  }
  if (ctx.hasInput(2)) {
    TensorValue &zp = ctx.input(2);
    if (zp.dtype != x.dtype)
      return nullptr;
    std::optional<std::vector<uint32_t>> raw =
        constantCodes(zp, weight->bits, zp.type.getNumElements());
    if (!raw)
      return nullptr;
    bool anyNonZero = llvm::any_of(*raw, [](uint32_t v) { return v != 0; });
    bool isSigned = x.dtype == kInt8 || x.dtype == kInt4;
    if (anyNonZero) {
      if (!isa<IntegerType>(weight->storage))
        return nullptr; // fp8 zero points must be 0
      for (uint32_t v : *raw)
        weight->zeroPoints.push_back(isSigned ? codec::signExtend(v, weight->bits) : int32_t(v));
      weight->zeroPointType = IntegerType::get(ctx.context(), 8,
                                               isSigned ? IntegerType::Signed : IntegerType::Unsigned);
    }
  }
  return weight;
}

/// Index map of a scale or zero point against x of `rank`: scalar, per
/// axis, or blocked along `axis`.
AffineMap parameterMap(MLIRContext *context, int64_t rank, int64_t axis, int64_t block,
                       int64_t paramRank) {
  if (paramRank == 0)
    return AffineMap::get(rank, 0, {}, context);
  if (block == 0)
    return AffineMap::get(rank, 0, {getAffineDimExpr(axis, context)}, context);
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(d == axis ? getAffineDimExpr(d, context).floorDiv(block)
                              : getAffineDimExpr(d, context));
  return AffineMap::get(rank, 0, exprs, context);
}

/// Run-time (De)QuantizeLinear as one generic.
LogicalResult importQuantizeGeneric(OpContext &ctx, bool quantize) {
  int32_t xType = ctx.dtype(0);
  int64_t rank = ctx.type(0).getRank();
  int64_t axis = ctx.attrInt("axis", 1);
  if (axis < 0)
    axis += rank;
  int64_t block = ctx.version() >= 21 ? ctx.attrInt("block_size", 0) : 0;
  int64_t paramRank = ctx.type(1).getRank() == 1 && ctx.type(1).getDimSize(0) == 1 ? 0 : ctx.type(1).getRank();
  if (paramRank > 0 && (axis < 0 || axis >= rank))
    return ctx.fail("axis " + llvm::Twine(axis) + " is out of range");
  if (paramRank > 1 && block == 0)
    return ctx.fail("a multi-dimensional scale needs block_size");
  int32_t codeType = quantize ? (ctx.hasInput(2) ? ctx.dtype(2) : int32_t(ctx.attrInt("output_dtype", kUInt8)))
                              : xType;
  if (!computeElementType(ctx.context(), codeType) || !isIntegerDType(codeType))
    return ctx.fail("Kiln computes (de)quantization of int8/uint8/int16/uint16/int32 codes only, got " +
                    dtypeName(codeType) + " (constant int4/fp8 weights import as kiln weights)");
  MLIRContext *mlir = ctx.context();
  Value x = ctx.value(0), scale = ctx.value(1);
  if (paramRank == 0 && ctx.type(1).getRank() == 1)
    scale = *reshapeTensor(ctx, scale, {});
  SmallVector<Value> inputs{x, scale};
  AffineMap paramMap = parameterMap(mlir, rank, axis, block, paramRank);
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, mlir), paramMap};
  if (ctx.hasInput(2)) {
    Value zp = ctx.value(2);
    if (paramRank == 0 && ctx.type(2).getRank() == 1)
      zp = *reshapeTensor(ctx, zp, {});
    inputs.push_back(zp);
    maps.push_back(paramMap);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, mlir));
  Type scaleType = ctx.type(1).getElementType();
  int32_t scaleDType = ctx.dtype(1);
  int32_t resultDType = quantize ? codeType : scaleDType;
  Type resultType = computeElementType(mlir, resultDType);
  bool hasZeroPoint = ctx.hasInput(2);
  Value init = emptyTensor(ctx, tensorSizes(ctx, x), resultType);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  int64_t codeBits = *storageBits(codeType);
  bool codeSigned = isSignedIntDType(codeType);
  Value result = buildGeneric(ctx, inputs, init, maps, iterators, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
    Value zeroPoint = hasZeroPoint ? convertScalar(b, l, a[2], codeType, scaleDType)
                                   : scalarConstant(b, l, scaleType, 0);
    if (!quantize) {
      Value code = convertScalar(b, l, a[0], codeType, scaleDType);
      return arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, code, zeroPoint), a[1]);
    }
    // saturate(round_half_even(x / scale) + zero_point)
    Value xs = convertScalar(b, l, a[0], xType, scaleDType);
    Value rounded = math::RoundEvenOp::create(b, l, arith::DivFOp::create(b, l, xs, a[1]));
    Value shifted = arith::AddFOp::create(b, l, rounded, zeroPoint);
    codec::CodeRange range = codec::codeRange(unsigned(codeBits > 16 ? 16 : codeBits), codeSigned);
    double low = codeBits == 32 ? (codeSigned ? -2147483648.0 : 0.0) : range.min;
    double high = codeBits == 32 ? (codeSigned ? 2147483647.0 : 4294967295.0) : range.max;
    Value clamped = arith::MinimumFOp::create(
        b, l, arith::MaximumFOp::create(b, l, shifted, scalarConstant(b, l, scaleType, low)),
        scalarConstant(b, l, scaleType, high));
    return convertScalar(b, l, clamped, scaleDType, codeType);
  });
  return ctx.setOutput(0, result, resultDType);
}

LogicalResult importDequantizeLinear(OpContext &ctx) {
  if (std::shared_ptr<QuantizedConstant> weight = quantizedConstant(ctx)) {
    if (!ctx.hasOutput(0))
      return success();
    TensorValue value;
    value.type = RankedTensorType::get(weight->shape, weight->scaleType);
    value.dtype = weight->scaleDType;
    value.loc = ctx.loc();
    value.name = ctx.node().output(0);
    value.quantized = std::move(weight);
    ctx.importer.define(ctx.node().output(0), std::move(value));
    return success();
  }
  return importQuantizeGeneric(ctx, /*quantize=*/false);
}

/// com.microsoft MatMulNBits: A [..., K] x dequant(B) where B holds, per
/// output row n, ceil(K / block) blocks of block*bits/8 bytes with codes
/// packed low bits first along K, scales [N * blocks], and zero points
/// packed the same way per row (default 2^(bits-1)).
LogicalResult importMatMulNBits(OpContext &ctx) {
  if (!ctx.hasInput(0) || !ctx.hasInput(1) || !ctx.hasInput(2))
    return ctx.fail("needs inputs A, B and scales");
  for (int i = 4; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i) && i == 4)
      return ctx.fail("g_idx (act-order) is not supported");
  int64_t k = ctx.attrInt("K", 0), n = ctx.attrInt("N", 0), bits = ctx.attrInt("bits", 4),
          block = ctx.attrInt("block_size", 0);
  if (k <= 0 || n <= 0 || block < 16 || (block & (block - 1)) || (bits != 4 && bits != 8 && bits != 2))
    return ctx.fail("needs positive K and N, bits 2, 4 or 8 and a power-of-two block_size >= 16");
  if (k % block != 0)
    return ctx.fail("K = " + llvm::Twine(k) + " is not a multiple of block_size " + llvm::Twine(block) +
                    " (padded last blocks are not supported)");
  int64_t blocks = k / block, blobBytes = block * bits / 8;
  TensorValue &b = ctx.input(1), &scale = ctx.input(2);
  if (!b.constant || !scale.constant)
    return ctx.fail("B and scales must be constants");
  if (!isFloatDType(ctx.dtype(0)) || ctx.dtype(2) != ctx.dtype(0))
    return ctx.fail("A and scales must be float tensors of one type");
  FailureOr<std::vector<uint8_t>> bytes = getElementBytes(b.constant);
  FailureOr<std::vector<float>> scales = getElementsAsFloats(scale.constant);
  std::optional<int64_t> expectedBytes = codec::checkedMul(n, codec::checkedMul(blocks, blobBytes).value_or(-1));
  if (failed(bytes) || !expectedBytes || int64_t(bytes->size()) != *expectedBytes)
    return ctx.fail("B must hold N x ceil(K / block_size) x block_size*bits/8 = " +
                    llvm::Twine(expectedBytes.value_or(-1)) + " bytes");
  if (failed(scales) || int64_t(scales->size()) != n * blocks)
    return ctx.fail("scales must hold N x ceil(K / block_size) values");
  auto weight = std::make_shared<QuantizedConstant>();
  weight->shape = {n, k};
  weight->bits = unsigned(bits);
  weight->storage = IntegerType::get(ctx.context(), weight->bits, IntegerType::Unsigned);
  // Rows of whole blocks are exactly kiln's packing of an [N, K] matrix.
  weight->codes.resize(n * k);
  for (int64_t i = 0; i < n * k; ++i)
    weight->codes[i] = codec::unpackCode(bytes->data(), i, weight->bits);
  weight->scales = std::move(*scales);
  weight->scaleShape = {n, blocks};
  weight->scaleType = scale.type.getElementType();
  weight->scaleDType = scale.dtype;
  weight->granularity = QuantGranularity::PerGroup;
  weight->axis = 1;
  weight->groupSize = block;
  weight->zeroPointType = IntegerType::get(ctx.context(), 8, IntegerType::Unsigned);
  int32_t defaultZero = 1 << (bits - 1);
  weight->zeroPoints.assign(n * blocks, defaultZero);
  if (ctx.hasInput(3)) {
    TensorValue &zp = ctx.input(3);
    if (!zp.constant)
      return ctx.fail("zero_points must be a constant");
    if (zp.dtype != kUInt8)
      return ctx.fail("float zero points are not supported");
    FailureOr<std::vector<uint8_t>> zpBytes = getElementBytes(zp.constant);
    int64_t rowBytes = (blocks * bits + 7) / 8;
    if (failed(zpBytes) || int64_t(zpBytes->size()) != n * rowBytes)
      return ctx.fail("zero_points must hold N x ceil(blocks * bits / 8) bytes");
    for (int64_t row = 0; row < n; ++row)
      for (int64_t blk = 0; blk < blocks; ++blk)
        weight->zeroPoints[row * blocks + blk] =
            int32_t(codec::unpackCode(zpBytes->data() + row * rowBytes, blk, weight->bits));
  }
  Value kilnWeight = buildQuantizedWeight(ctx.importer, *weight, /*transpose=*/false, ctx.loc(),
                                          ctx.node().input(1));
  Value a = ctx.value(0);
  auto aType = cast<RankedTensorType>(a.getType());
  if (!aType.isDynamicDim(aType.getRank() - 1) && aType.getShape().back() != k)
    return ctx.fail("inconsistent shapes: A has K = " + llvm::Twine(aType.getShape().back()) +
                    " but the attribute K is " + llvm::Twine(k));
  Value bias = ctx.hasInput(5) ? ctx.value(5) : Value();
  SmallVector<int64_t> shape(aType.getShape());
  shape.back() = n;
  Value result = LinearOp::create(ctx.builder(), ctx.loc(), RankedTensorType::get(shape, aType.getElementType()),
                                  a, kilnWeight, bias);
  return ctx.setOutput(0, result, ctx.dtype(0));
}

} // namespace

void registerQuantizationOps(OpRegistry &r) {
  addOnnxOp(r, "DequantizeLinear", 10, importDequantizeLinear);
  addOnnxOp(r, "QuantizeLinear", 10, [](OpContext &ctx) { return importQuantizeGeneric(ctx, true); });
  r.add("com.microsoft", "MatMulNBits", {1}, importMatMulNBits);
}

} // namespace kiln::onnx_import

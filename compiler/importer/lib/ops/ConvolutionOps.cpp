//===- ConvolutionOps.cpp - Conv, pooling --------------------------------===//
//
// Convolutions become one linalg.generic over a group-expanded layout
// (X [N, G, C/G, S...], W [G, M/G, C/G, K...]) so groups, strides,
// dilations and padding are plain affine index maps; padding is an explicit
// tensor.pad. Pooling reads windows the same way.
//
//===----------------------------------------------------------------------===//
#include "../GraphImporter.h"
#include "../Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace kiln::onnx_import {
namespace {

/// Window geometry of one spatial dimension.
struct Window {
  int64_t kernel, stride, dilation, padBegin, padEnd;
  int64_t extent() const { return (kernel - 1) * dilation + 1; }
};

/// Reads kernel/strides/dilations/pads/auto_pad for `spatial` dimensions.
FailureOr<std::vector<Window>> windows(OpContext &ctx, ArrayRef<int64_t> kernel,
                                       ArrayRef<SymInt> inputSizes) {
  size_t spatial = kernel.size();
  std::vector<int64_t> strides = ctx.attrInts("strides"), dilations = ctx.attrInts("dilations"),
                       pads = ctx.attrInts("pads");
  if (strides.empty())
    strides.assign(spatial, 1);
  if (dilations.empty())
    dilations.assign(spatial, 1);
  if (pads.empty())
    pads.assign(2 * spatial, 0);
  if (strides.size() != spatial || dilations.size() != spatial || pads.size() != 2 * spatial) {
    (void)ctx.fail("strides, dilations and pads must match the " + llvm::Twine(spatial) +
                   " spatial dimensions");
    return failure();
  }
  std::string autoPad = ctx.attrString("auto_pad", "NOTSET");
  std::vector<Window> result;
  for (size_t i = 0; i < spatial; ++i) {
    Window w{kernel[i], strides[i], dilations[i], pads[i], pads[i + spatial]};
    if (w.kernel <= 0 || w.stride <= 0 || w.dilation <= 0 || w.padBegin < 0 || w.padEnd < 0) {
      (void)ctx.fail("kernel, strides and dilations must be positive and pads non-negative");
      return failure();
    }
    if (autoPad == "VALID") {
      w.padBegin = w.padEnd = 0;
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      if (!inputSizes[i].isConstant()) {
        (void)ctx.fail("auto_pad " + autoPad + " needs static spatial dimensions");
        return failure();
      }
      int64_t in = inputSizes[i].constant, out = (in + w.stride - 1) / w.stride;
      int64_t total = std::max<int64_t>((out - 1) * w.stride + w.extent() - in, 0);
      w.padBegin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.padEnd = total - w.padBegin;
    } else if (autoPad != "NOTSET") {
      (void)ctx.fail("unknown auto_pad '" + autoPad + "'");
      return failure();
    }
    result.push_back(w);
  }
  return result;
}

/// Output size of one dimension: floor (or ceil) of the window count.
SymInt outputSize(OpContext &ctx, SymInt in, const Window &w, bool ceilMode) {
  SymInt span = symArith(ctx, SymOp::Sub, symArith(ctx, SymOp::Add, in, SymInt::of(w.padBegin + w.padEnd)),
                         SymInt::of(w.extent()));
  if (ceilMode) {
    SymInt count = symArith(ctx, SymOp::Add,
                            symArith(ctx, SymOp::Div, symArith(ctx, SymOp::Add, span, SymInt::of(w.stride - 1)),
                                     SymInt::of(w.stride)),
                            SymInt::of(1));
    // The last window must start inside the input or its left padding.
    if (count.isConstant() && in.isConstant() && (count.constant - 1) * w.stride >= in.constant + w.padBegin)
      count.constant -= 1;
    return count;
  }
  return symArith(ctx, SymOp::Add, symArith(ctx, SymOp::Div, span, SymInt::of(w.stride)), SymInt::of(1));
}

/// Pads the spatial dimensions (from dimension 2 on) with `value`.
Value padSpatial(OpContext &ctx, Value input, ArrayRef<int64_t> low, ArrayRef<int64_t> high, Value value) {
  if (llvm::all_of(low, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(high, [](int64_t p) { return p == 0; }))
    return input;
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  int64_t leading = rank - int64_t(low.size());
  SmallVector<OpFoldResult> lows, highs;
  for (int64_t d = 0; d < rank; ++d) {
    lows.push_back(ctx.builder().getIndexAttr(d < leading ? 0 : low[d - leading]));
    highs.push_back(ctx.builder().getIndexAttr(d < leading ? 0 : high[d - leading]));
  }
  auto type = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape(type.getShape());
  for (int64_t d = leading; d < rank; ++d)
    if (!ShapedType::isDynamic(shape[d]))
      shape[d] += low[d - leading] + high[d - leading];
  auto padded = RankedTensorType::get(shape, type.getElementType());
  return tensor::PadOp::create(ctx.builder(), ctx.loc(), padded, input, lows, highs, value);
}

/// Adds the optional per-channel bias (input 2) and sets output 0.
LogicalResult setWithBias(OpContext &ctx, Value result, int64_t outChannels, int64_t spatial) {
  if (ctx.hasInput(2)) {
    if (ctx.type(2).getRank() != 1 || ctx.type(2).getDimSize(0) != outChannels)
      return ctx.fail("the bias must be [" + llvm::Twine(outChannels) + "]");
    SmallVector<SymInt> biasShape{SymInt::of(outChannels)};
    biasShape.append(spatial, SymInt::of(1));
    Value bias = *reshapeTensor(ctx, ctx.value(2), biasShape);
    result = floatBinary(ctx, result, bias, [](OpBuilder &bb, Location loc, Value v, Value c) -> Value {
      return arith::AddFOp::create(bb, loc, v, c);
    });
  }
  return ctx.setOutput(0, result, ctx.dtype(0));
}

LogicalResult importConv(OpContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)))
    return failure();
  RankedTensorType xType = ctx.type(0), wType = ctx.type(1);
  int64_t rank = xType.getRank(), spatial = rank - 2;
  if (rank < 3 || wType.getRank() != rank)
    return ctx.fail("X and W must both be [N, C, spatial...] with the same rank");
  if (!isFloatDType(ctx.dtype(0)) || ctx.dtype(1) != ctx.dtype(0))
    return ctx.fail("X and W must be float tensors of one type");
  if (!wType.hasStaticShape() || xType.isDynamicDim(1))
    return ctx.fail("the weight shape and the input channel count must be static");
  int64_t group = ctx.attrInt("group", 1);
  int64_t channels = xType.getDimSize(1), outChannels = wType.getDimSize(0);
  if (group <= 0 || channels % group || outChannels % group || wType.getDimSize(1) * group != channels)
    return ctx.fail("inconsistent shapes: " + llvm::Twine(channels) + " input channels, " +
                    llvm::Twine(outChannels) + " filters of " + llvm::Twine(wType.getDimSize(1)) +
                    " channels and group " + llvm::Twine(group));
  std::vector<int64_t> kernel(wType.getShape().begin() + 2, wType.getShape().end());
  std::vector<int64_t> declared = ctx.attrInts("kernel_shape");
  if (!declared.empty() && declared != kernel)
    return ctx.fail("kernel_shape does not match the weight");
  Value x = ctx.value(0);
  SmallVector<SymInt> xDims;
  for (int64_t d = 0; d < rank; ++d)
    xDims.push_back(ctx.importer.dimOf(x, d, ctx.loc()));
  FailureOr<std::vector<Window>> ws = windows(ctx, kernel, llvm::ArrayRef(xDims).drop_front(2));
  if (failed(ws))
    return failure();
  Type element = xType.getElementType();
  OpBuilder &b = ctx.builder();
  std::vector<int64_t> low, high;
  SmallVector<SymInt> outSpatial;
  for (int64_t i = 0; i < spatial; ++i) {
    low.push_back((*ws)[i].padBegin);
    high.push_back((*ws)[i].padEnd);
    outSpatial.push_back(outputSize(ctx, xDims[i + 2], (*ws)[i], false));
    if (outSpatial.back().isConstant() && outSpatial.back().constant <= 0)
      return ctx.fail("inconsistent shapes: the kernel is larger than the padded input");
  }
  Value padded = padSpatial(ctx, x, low, high, scalarConstant(b, ctx.loc(), element, 0));
  int64_t cg = channels / group, mg = outChannels / group;
  SmallVector<SymInt> xGrouped{xDims[0], SymInt::of(group), SymInt::of(cg)};
  for (int64_t i = 0; i < spatial; ++i)
    xGrouped.push_back(ctx.importer.dimOf(padded, i + 2, ctx.loc()));
  SmallVector<SymInt> wGrouped{SymInt::of(group), SymInt::of(mg), SymInt::of(cg)};
  for (int64_t k : kernel)
    wGrouped.push_back(SymInt::of(k));
  Value xg = *reshapeTensor(ctx, padded, xGrouped);
  Value wg = *reshapeTensor(ctx, ctx.value(1), wGrouped);
  // Loops: n, g, m, o_1..o_d | c, k_1..k_d.
  MLIRContext *mlir = ctx.context();
  int64_t loops = 3 + spatial + 1 + spatial;
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, mlir); };
  int64_t cLoop = 3 + spatial;
  SmallVector<AffineExpr> xExprs{dim(0), dim(1), dim(cLoop)}, wExprs{dim(1), dim(2), dim(cLoop)},
      outExprs{dim(0), dim(1), dim(2)};
  for (int64_t i = 0; i < spatial; ++i) {
    const Window &w = (*ws)[i];
    xExprs.push_back(dim(3 + i) * w.stride + dim(cLoop + 1 + i) * w.dilation);
    wExprs.push_back(dim(cLoop + 1 + i));
    outExprs.push_back(dim(3 + i));
  }
  SmallVector<SymInt> outGrouped{xDims[0], SymInt::of(group), SymInt::of(mg)};
  outGrouped.append(outSpatial.begin(), outSpatial.end());
  SmallVector<OpFoldResult> outSizes;
  for (const SymInt &s : outGrouped)
    outSizes.push_back(toFoldResult(ctx, s));
  Value init = filledTensor(ctx, outSizes, scalarConstant(b, ctx.loc(), element, 0));
  SmallVector<utils::IteratorType> iterators(3 + spatial, utils::IteratorType::parallel);
  iterators.append(1 + spatial, utils::IteratorType::reduction);
  Value product = buildGeneric(
      ctx, {xg, wg}, init,
      {AffineMap::get(loops, 0, xExprs, mlir), AffineMap::get(loops, 0, wExprs, mlir),
       AffineMap::get(loops, 0, outExprs, mlir)},
      iterators, [](OpBuilder &bb, Location loc, ValueRange a) -> Value {
        return arith::AddFOp::create(bb, loc, a[2], arith::MulFOp::create(bb, loc, a[0], a[1]));
      });
  SmallVector<SymInt> outShape{xDims[0], SymInt::of(outChannels)};
  outShape.append(outSpatial.begin(), outSpatial.end());
  Value result = *reshapeTensor(ctx, product, outShape);
  return setWithBias(ctx, result, outChannels, spatial);
}

/// MaxPool and AveragePool.
LogicalResult importPool(OpContext &ctx, bool isMax) {
  RankedTensorType xType = ctx.type(0);
  int64_t rank = xType.getRank(), spatial = rank - 2;
  if (rank < 3 || !isFloatDType(ctx.dtype(0)))
    return ctx.fail("X must be a float [N, C, spatial...] tensor");
  if (ctx.hasOutput(1))
    return ctx.fail("the Indices output of MaxPool is not supported");
  std::vector<int64_t> kernel = ctx.attrInts("kernel_shape");
  if (int64_t(kernel.size()) != spatial)
    return ctx.fail("kernel_shape must have one entry per spatial dimension");
  if (!isMax && ctx.hasAttr("dilations") && ctx.version() < 19)
    return ctx.fail("AveragePool dilations need opset 19");
  Value x = ctx.value(0);
  SmallVector<SymInt> xDims;
  for (int64_t d = 0; d < rank; ++d)
    xDims.push_back(ctx.importer.dimOf(x, d, ctx.loc()));
  FailureOr<std::vector<Window>> ws = windows(ctx, kernel, llvm::ArrayRef(xDims).drop_front(2));
  if (failed(ws))
    return failure();
  bool ceilMode = ctx.attrInt("ceil_mode", 0) != 0;
  bool countPads = ctx.attrInt("count_include_pad", 0) != 0;
  Type element = xType.getElementType();
  OpBuilder &b = ctx.builder();
  std::vector<int64_t> low, high, extra;
  SmallVector<SymInt> outSpatial;
  for (int64_t i = 0; i < spatial; ++i) {
    const Window &w = (*ws)[i];
    SymInt out = outputSize(ctx, xDims[i + 2], w, ceilMode);
    if (!xDims[i + 2].isConstant() && ceilMode)
      return ctx.fail("ceil_mode needs static spatial dimensions");
    // Windows of ceil mode may run past the padding: pad that far too.
    int64_t beyond = 0;
    if (xDims[i + 2].isConstant()) {
      int64_t needed = (out.constant - 1) * w.stride + w.extent();
      beyond = std::max<int64_t>(0, needed - (xDims[i + 2].constant + w.padBegin + w.padEnd));
    }
    low.push_back(w.padBegin);
    high.push_back(w.padEnd + beyond);
    extra.push_back(beyond);
    outSpatial.push_back(out);
  }
  auto floatType = cast<FloatType>(element);
  Value padValue = isMax ? Value(arith::ConstantOp::create(
                               b, ctx.loc(), b.getFloatAttr(floatType, llvm::APFloat::getInf(
                                                                           floatType.getFloatSemantics(), true))))
                         : scalarConstant(b, ctx.loc(), element, 0);
  Value padded = padSpatial(ctx, x, low, high, padValue);
  MLIRContext *mlir = ctx.context();
  int64_t loops = 2 + 2 * spatial;
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, mlir); };
  SmallVector<AffineExpr> xExprs{dim(0), dim(1)}, outExprs{dim(0), dim(1)}, windowExprs;
  for (int64_t i = 0; i < spatial; ++i) {
    const Window &w = (*ws)[i];
    AffineExpr position = dim(2 + i) * w.stride + dim(2 + spatial + i) * w.dilation;
    xExprs.push_back(position);
    windowExprs.push_back(position);
    outExprs.push_back(dim(2 + i));
  }
  // The kernel loops take their range from a [k...] shaped operand.
  SmallVector<AffineExpr> kernelExprs;
  for (int64_t i = 0; i < spatial; ++i)
    kernelExprs.push_back(dim(2 + spatial + i));
  Value kernelShape = tensor::EmptyOp::create(b, ctx.loc(), kernel, element);
  SmallVector<SymInt> outShape{xDims[0], xDims[1]};
  outShape.append(outSpatial.begin(), outSpatial.end());
  SmallVector<OpFoldResult> outSizes;
  for (const SymInt &s : outShape)
    outSizes.push_back(toFoldResult(ctx, s));
  Value init = filledTensor(ctx, outSizes, padValue);
  SmallVector<utils::IteratorType> iterators(2 + spatial, utils::IteratorType::parallel);
  iterators.append(spatial, utils::IteratorType::reduction);
  Value pooled = buildGeneric(
      ctx, {padded, kernelShape}, init,
      {AffineMap::get(loops, 0, xExprs, mlir), AffineMap::get(loops, 0, kernelExprs, mlir),
       AffineMap::get(loops, 0, outExprs, mlir)},
      iterators, [&](OpBuilder &bb, Location loc, ValueRange a) -> Value {
        return isMax ? Value(arith::MaximumFOp::create(bb, loc, a[2], a[0]))
                     : Value(arith::AddFOp::create(bb, loc, a[2], a[0]));
      });
  if (isMax)
    return ctx.setOutput(0, pooled, ctx.dtype(0));
  // The divisor of each window: how many of its elements count (input
  // elements, plus explicit pads with count_include_pad), from a padded
  // mask over the spatial dimensions.
  SmallVector<OpFoldResult> spatialSizes;
  for (int64_t i = 0; i < spatial; ++i)
    spatialSizes.push_back(toFoldResult(ctx, xDims[i + 2]));
  Value ones = filledTensor(ctx, spatialSizes, scalarConstant(b, ctx.loc(), element, 1));
  Value zero = scalarConstant(b, ctx.loc(), element, 0);
  Value mask;
  if (countPads) {
    std::vector<int64_t> explicitHigh, none(spatial, 0);
    for (int64_t i = 0; i < spatial; ++i)
      explicitHigh.push_back(high[i] - extra[i]);
    Value withPads = padSpatial(ctx, ones, low, explicitHigh, scalarConstant(b, ctx.loc(), element, 1));
    mask = padSpatial(ctx, withPads, none, extra, zero);
  } else {
    mask = padSpatial(ctx, ones, low, high, zero);
  }
  SmallVector<AffineExpr> countOut;
  for (int64_t i = 0; i < spatial; ++i)
    countOut.push_back(dim(2 + i));
  SmallVector<OpFoldResult> countSizes;
  for (const SymInt &s : outSpatial)
    countSizes.push_back(toFoldResult(ctx, s));
  Value countInit = filledTensor(ctx, countSizes, scalarConstant(b, ctx.loc(), element, 0));
  // Count loops: o_1..o_d, k_1..k_d (reuse the window maps shifted by 2).
  int64_t countLoops = 2 * spatial;
  SmallVector<AffineExpr> maskExprs, kExprs, oExprs;
  for (int64_t i = 0; i < spatial; ++i) {
    const Window &w = (*ws)[i];
    maskExprs.push_back(dim(i) * w.stride + dim(spatial + i) * w.dilation);
    kExprs.push_back(dim(spatial + i));
    oExprs.push_back(dim(i));
  }
  SmallVector<utils::IteratorType> countIterators(spatial, utils::IteratorType::parallel);
  countIterators.append(spatial, utils::IteratorType::reduction);
  Value counts = buildGeneric(
      ctx, {mask, kernelShape}, countInit,
      {AffineMap::get(countLoops, 0, maskExprs, mlir), AffineMap::get(countLoops, 0, kExprs, mlir),
       AffineMap::get(countLoops, 0, oExprs, mlir)},
      countIterators, [](OpBuilder &bb, Location loc, ValueRange a) -> Value {
        return arith::AddFOp::create(bb, loc, a[2], a[0]);
      });
  Value result = floatBinary(ctx, pooled, counts, [](OpBuilder &bb, Location loc, Value s, Value c) -> Value {
    return arith::DivFOp::create(bb, loc, s, c);
  });
  return ctx.setOutput(0, result, ctx.dtype(0));
}

/// ConvTranspose as a stride-1 convolution: spread the input by the
/// stride (zeros between elements), pad by the kernel extent minus the
/// pads, and convolve with the spatially flipped, channel-swapped kernel.
LogicalResult importConvTranspose(OpContext &ctx) {
  if (failed(ctx.expectInputs(2, 3)))
    return failure();
  RankedTensorType xType = ctx.type(0), wType = ctx.type(1);
  int64_t rank = xType.getRank(), spatial = rank - 2;
  if (rank < 3 || wType.getRank() != rank || !xType.hasStaticShape() || !wType.hasStaticShape())
    return ctx.fail("X and W must be static [N, C, spatial...] tensors of one rank");
  if (!isFloatDType(ctx.dtype(0)) || ctx.dtype(1) != ctx.dtype(0))
    return ctx.fail("X and W must be float tensors of one type");
  int64_t group = ctx.attrInt("group", 1), channels = xType.getDimSize(1);
  if (group <= 0 || wType.getDimSize(0) != channels || channels % group)
    return ctx.fail("inconsistent shapes: W must be [C, M/group, k...] with C = " + llvm::Twine(channels));
  int64_t cg = channels / group, mg = wType.getDimSize(1), outChannels = mg * group;
  std::vector<int64_t> kernel(wType.getShape().begin() + 2, wType.getShape().end());
  std::vector<int64_t> strides = ctx.attrInts("strides"), dilations = ctx.attrInts("dilations"),
                       pads = ctx.attrInts("pads"), outputPadding = ctx.attrInts("output_padding"),
                       outputShape = ctx.attrInts("output_shape");
  if (strides.empty()) strides.assign(spatial, 1);
  if (dilations.empty()) dilations.assign(spatial, 1);
  if (outputPadding.empty()) outputPadding.assign(spatial, 0);
  if (pads.empty()) pads.assign(2 * spatial, 0);
  if (int64_t(strides.size()) != spatial || int64_t(dilations.size()) != spatial ||
      int64_t(outputPadding.size()) != spatial || int64_t(pads.size()) != 2 * spatial)
    return ctx.fail("strides, dilations, pads and output_padding must match the spatial rank");
  std::string autoPad = ctx.attrString("auto_pad", "NOTSET");
  std::vector<int64_t> outSizes(spatial);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t in = xType.getDimSize(i + 2), extent = (kernel[i] - 1) * dilations[i] + 1;
    int64_t full = strides[i] * (in - 1) + outputPadding[i] + extent;
    if (!outputShape.empty() || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t target = !outputShape.empty() ? outputShape[outputShape.size() - spatial + i] : in * strides[i];
      // ONNX: SAME_UPPER puts the smaller half first, everything else the
      // larger; a negative total pads the output with zeros.
      int64_t total = full - target;
      // (Floor division, as ONNX's reference computes it.)
      bool upper = autoPad == "SAME_UPPER";
      int64_t half = llvm::divideFloorSigned(total, 2);
      pads[i] = upper ? half : total - half;
      pads[i + spatial] = total - pads[i];
    } else if (autoPad == "VALID") {
      pads[i] = pads[i + spatial] = 0;
    }
    outSizes[i] = full - pads[i] - pads[i + spatial];
    if (outSizes[i] <= 0 || strides[i] <= 0 || dilations[i] <= 0)
      return ctx.fail("inconsistent shapes: the output would be empty");
  }
  OpBuilder &b = ctx.builder();
  Type element = xType.getElementType();
  Value zero = scalarConstant(b, ctx.loc(), element, 0);
  // Spread: [N, C, (in-1)*s+1] zeros with x inserted at stride s.
  SmallVector<OpFoldResult> spreadSizes{b.getIndexAttr(xType.getDimSize(0)), b.getIndexAttr(channels)};
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes, steps(2, b.getIndexAttr(1));
  for (int64_t d = 0; d < 2; ++d)
    sizes.push_back(b.getIndexAttr(xType.getDimSize(d)));
  for (int64_t i = 0; i < spatial; ++i) {
    spreadSizes.push_back(b.getIndexAttr((xType.getDimSize(i + 2) - 1) * strides[i] + 1));
    sizes.push_back(b.getIndexAttr(xType.getDimSize(i + 2)));
    steps.push_back(b.getIndexAttr(strides[i]));
  }
  Value spread = tensor::InsertSliceOp::create(b, ctx.loc(), ctx.value(0), filledTensor(ctx, spreadSizes, zero),
                                               offsets, sizes, steps);
  // Pad by extent-1-pad on each side (negative amounts crop afterwards).
  std::vector<int64_t> low(spatial), high(spatial), cropLow(spatial), cropHigh(spatial);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t edge = (kernel[i] - 1) * dilations[i];
    int64_t before = edge - pads[i], after = edge - pads[i + spatial] + outputPadding[i];
    low[i] = std::max<int64_t>(before, 0);
    high[i] = std::max<int64_t>(after, 0);
    cropLow[i] = std::max<int64_t>(-before, 0);
    cropHigh[i] = std::max<int64_t>(-after, 0);
  }
  Value padded = padSpatial(ctx, spread, low, high, zero);
  if (llvm::any_of(cropLow, [](int64_t c) { return c > 0; }) ||
      llvm::any_of(cropHigh, [](int64_t c) { return c > 0; })) {
    auto paddedType = cast<RankedTensorType>(padded.getType());
    SmallVector<OpFoldResult> cropOffsets(2, b.getIndexAttr(0)), cropSizes, unit(rank, b.getIndexAttr(1));
    cropSizes.push_back(b.getIndexAttr(paddedType.getDimSize(0)));
    cropSizes.push_back(b.getIndexAttr(paddedType.getDimSize(1)));
    for (int64_t i = 0; i < spatial; ++i) {
      cropOffsets.push_back(b.getIndexAttr(cropLow[i]));
      cropSizes.push_back(b.getIndexAttr(paddedType.getDimSize(i + 2) - cropLow[i] - cropHigh[i]));
    }
    padded = tensor::ExtractSliceOp::create(b, ctx.loc(), padded, cropOffsets, cropSizes, unit);
  }
  auto paddedType = cast<RankedTensorType>(padded.getType());
  SmallVector<SymInt> xGrouped{SymInt::of(xType.getDimSize(0)), SymInt::of(group), SymInt::of(cg)};
  for (int64_t i = 0; i < spatial; ++i)
    xGrouped.push_back(SymInt::of(paddedType.getDimSize(i + 2)));
  SmallVector<SymInt> wGrouped{SymInt::of(group), SymInt::of(cg), SymInt::of(mg)};
  for (int64_t k : kernel)
    wGrouped.push_back(SymInt::of(k));
  Value xg = *reshapeTensor(ctx, padded, xGrouped);
  Value wg = *reshapeTensor(ctx, ctx.value(1), wGrouped);
  // Loops: n, g, m, o... | c, k...; the weight is read flipped: K-1-k.
  MLIRContext *mlir = ctx.context();
  int64_t loops = 3 + spatial + 1 + spatial, cLoop = 3 + spatial;
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, mlir); };
  SmallVector<AffineExpr> xExprs{dim(0), dim(1), dim(cLoop)}, wExprs{dim(1), dim(cLoop), dim(2)},
      outExprs{dim(0), dim(1), dim(2)}, kernelExprs;
  for (int64_t i = 0; i < spatial; ++i) {
    xExprs.push_back(dim(3 + i) + dim(cLoop + 1 + i) * dilations[i]);
    wExprs.push_back(getAffineConstantExpr(kernel[i] - 1, mlir) - dim(cLoop + 1 + i));
    outExprs.push_back(dim(3 + i));
    kernelExprs.push_back(dim(cLoop + 1 + i));
  }
  Value kernelShape = tensor::EmptyOp::create(b, ctx.loc(), kernel, element);
  SmallVector<OpFoldResult> initSizes{b.getIndexAttr(xType.getDimSize(0)), b.getIndexAttr(group), b.getIndexAttr(mg)};
  for (int64_t o : outSizes)
    initSizes.push_back(b.getIndexAttr(o));
  Value init = filledTensor(ctx, initSizes, zero);
  SmallVector<utils::IteratorType> iterators(3 + spatial, utils::IteratorType::parallel);
  iterators.append(1 + spatial, utils::IteratorType::reduction);
  Value product = buildGeneric(
      ctx, {xg, wg, kernelShape}, init,
      {AffineMap::get(loops, 0, xExprs, mlir), AffineMap::get(loops, 0, wExprs, mlir),
       AffineMap::get(loops, 0, kernelExprs, mlir), AffineMap::get(loops, 0, outExprs, mlir)},
      iterators, [](OpBuilder &bb, Location loc, ValueRange a) -> Value {
        return arith::AddFOp::create(bb, loc, a[3], arith::MulFOp::create(bb, loc, a[0], a[1]));
      });
  SmallVector<SymInt> outShape{SymInt::of(xType.getDimSize(0)), SymInt::of(outChannels)};
  for (int64_t o : outSizes)
    outShape.push_back(SymInt::of(o));
  Value result = *reshapeTensor(ctx, product, outShape);
  return setWithBias(ctx, result, outChannels, spatial);
}

LogicalResult importGlobalPool(OpContext &ctx, bool isMax) {
  int64_t rank = ctx.type(0).getRank();
  if (rank < 3 || !isFloatDType(ctx.dtype(0)))
    return ctx.fail("X must be a float [N, C, spatial...] tensor");
  std::vector<int64_t> axes;
  for (int64_t d = 2; d < rank; ++d)
    axes.push_back(d);
  Value result = isMax ? reduce(ctx, ctx.value(0), axes, true, ReduceKind::Max, ctx.dtype(0))
                       : reduceMean(ctx, ctx.value(0), axes, true);
  return ctx.setOutput(0, result, ctx.dtype(0));
}

} // namespace

void registerConvolutionOps(OpRegistry &r) {
  addOnnxOp(r, "Conv", 1, importConv);
  addOnnxOp(r, "ConvTranspose", 1, importConvTranspose);
  addOnnxOp(r, "MaxPool", 8, [](OpContext &ctx) { return importPool(ctx, true); });
  addOnnxOp(r, "AveragePool", 7, [](OpContext &ctx) { return importPool(ctx, false); });
  addOnnxOp(r, "GlobalAveragePool", 1, [](OpContext &ctx) { return importGlobalPool(ctx, false); });
  addOnnxOp(r, "GlobalMaxPool", 1, [](OpContext &ctx) { return importGlobalPool(ctx, true); });
}

} // namespace kiln::onnx_import

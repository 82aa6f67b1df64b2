//===- ResizeOps.cpp - Resize (nearest and n-linear) ---------------------===//
//
// Each output element maps back to input coordinates with the model's
// coordinate_transformation_mode, then reads the nearest element or
// interpolates between the 2^d neighbours of the resized dimensions.
//
//===----------------------------------------------------------------------===//
#include "../GraphImporter.h"
#include "../Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <onnx/onnx_pb.h>

using namespace mlir;

namespace kiln::onnx_import {
namespace {

/// Input coordinate (as f32) of output coordinate `x` along one dimension.
Value sourceCoordinate(OpBuilder &b, Location loc, Value x, llvm::StringRef mode, int64_t in,
                       int64_t out, double scale) {
  Type f32 = b.getF32Type();
  Value xf = arith::UIToFPOp::create(b, loc, f32, arith::IndexCastUIOp::create(b, loc, b.getI64Type(), x));
  auto c = [&](double v) { return scalarConstant(b, loc, f32, v); };
  if (mode == "asymmetric")
    return arith::DivFOp::create(b, loc, xf, c(scale));
  if (mode == "align_corners")
    return out == 1 ? c(0) : Value(arith::MulFOp::create(b, loc, xf, c(double(in - 1) / double(out - 1))));
  if (mode == "pytorch_half_pixel" && out == 1)
    return c(0);
  if (mode == "half_pixel_symmetric") {
    double adjustment = double(out) / (scale * double(in));
    double offset = double(in) / 2.0 * (1.0 - adjustment);
    Value centered = arith::SubFOp::create(b, loc, arith::DivFOp::create(b, loc, arith::AddFOp::create(b, loc, xf, c(0.5)), c(scale)), c(0.5));
    return arith::AddFOp::create(b, loc, centered, c(offset));
  }
  // half_pixel and pytorch_half_pixel: (x + 0.5) / scale - 0.5
  return arith::SubFOp::create(b, loc, arith::DivFOp::create(b, loc, arith::AddFOp::create(b, loc, xf, c(0.5)), c(scale)), c(0.5));
}

Value clampIndex(OpBuilder &b, Location loc, Value index, int64_t size) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0), last = arith::ConstantIndexOp::create(b, loc, size - 1);
  return arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, index, zero), last);
}

Value toIndex(OpBuilder &b, Location loc, Value f) {
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), arith::FPToSIOp::create(b, loc, b.getI64Type(), f));
}

LogicalResult importResize(OpContext &ctx) {
  RankedTensorType type = ctx.type(0);
  int64_t rank = type.getRank();
  if (!type.hasStaticShape() || !isFloatDType(ctx.dtype(0)))
    return ctx.fail("Resize needs a float input of static shape");
  std::string mode = ctx.attrString("mode", "nearest");
  std::string transform = ctx.attrString("coordinate_transformation_mode", "half_pixel");
  std::string nearestMode = ctx.attrString("nearest_mode", "round_prefer_floor");
  if (mode != "nearest" && mode != "linear")
    return ctx.fail("mode '" + mode + "' is not supported (nearest and linear are)");
  if (transform == "tf_crop_and_resize")
    return ctx.fail("coordinate_transformation_mode tf_crop_and_resize is not supported");
  if (ctx.attrInt("antialias", 0) != 0 || ctx.attrString("keep_aspect_ratio_policy", "stretch") != "stretch")
    return ctx.fail("antialias and keep_aspect_ratio_policy are not supported");
  int scalesInput = ctx.version() >= 11 ? 2 : 1, sizesInput = 3;
  std::vector<int64_t> axes = ctx.attrInts("axes");
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  std::vector<double> scales(rank, 1.0);
  std::vector<int64_t> outShape(type.getShape().begin(), type.getShape().end());
  const HostTensor *sizes = ctx.hasInput(sizesInput) ? ctx.host(sizesInput) : nullptr;
  const HostTensor *scaleValues = ctx.hasInput(scalesInput) ? ctx.host(scalesInput) : nullptr;
  if (sizes && sizes->size() > 0) {
    std::optional<std::vector<int64_t>> values = sizes->constantInts();
    if (!values || values->size() != axes.size())
      return ctx.fail("sizes must be constants, one per resized axis");
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
      outShape[axis] = (*values)[i];
      scales[axis] = double((*values)[i]) / double(type.getDimSize(axis));
    }
  } else if (scaleValues && scaleValues->size() > 0) {
    if (scaleValues->size() != int64_t(axes.size()))
      return ctx.fail("scales must have one value per resized axis");
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
      scales[axis] = scaleValues->realAt(i);
      if (scales[axis] <= 0)
        return ctx.fail("scales must be positive");
      outShape[axis] = int64_t(std::floor(double(type.getDimSize(axis)) * scales[axis]));
    }
  } else {
    return ctx.fail("needs constant scales or sizes");
  }
  Value input = ctx.value(0);
  Type element = type.getElementType();
  SmallVector<OpFoldResult> outSizes;
  for (int64_t s : outShape)
    outSizes.push_back(ctx.builder().getIndexAttr(s));
  Value init = emptyTensor(ctx, outSizes, element);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  Value result = buildGeneric(
      ctx, {}, init, {AffineMap::getMultiDimIdentityMap(rank, ctx.context())}, iterators,
      [&](OpBuilder &b, Location loc, ValueRange) -> Value {
        SmallVector<Value> out = loopIndices(b, loc, rank);
        SmallVector<Value> low(rank), high(rank), weight(rank);
        std::vector<int64_t> interpolated;
        for (int64_t d = 0; d < rank; ++d) {
          int64_t in = type.getDimSize(d);
          if (in == outShape[d] && scales[d] == 1.0) {
            low[d] = out[d];
            continue;
          }
          Value source = sourceCoordinate(b, loc, out[d], transform, in, outShape[d], scales[d]);
          if (mode == "nearest") {
            Value rounded;
            if (nearestMode == "floor")
              rounded = math::FloorOp::create(b, loc, source);
            else if (nearestMode == "ceil")
              rounded = math::CeilOp::create(b, loc, source);
            else if (nearestMode == "round_prefer_ceil")
              rounded = math::FloorOp::create(b, loc, arith::AddFOp::create(b, loc, source, scalarConstant(b, loc, b.getF32Type(), 0.5)));
            else // round_prefer_floor: halves go down
              rounded = math::CeilOp::create(b, loc, arith::SubFOp::create(b, loc, source, scalarConstant(b, loc, b.getF32Type(), 0.5)));
            low[d] = clampIndex(b, loc, toIndex(b, loc, rounded), in);
            continue;
          }
          // Linear: clamp the coordinate into the input, then blend floor/floor+1.
          Value clamped = arith::MinimumFOp::create(
              b, loc, arith::MaximumFOp::create(b, loc, source, scalarConstant(b, loc, b.getF32Type(), 0)),
              scalarConstant(b, loc, b.getF32Type(), double(in - 1)));
          Value floor = math::FloorOp::create(b, loc, clamped);
          low[d] = clampIndex(b, loc, toIndex(b, loc, floor), in);
          high[d] = clampIndex(b, loc, arith::AddIOp::create(b, loc, low[d], arith::ConstantIndexOp::create(b, loc, 1)), in);
          weight[d] = arith::SubFOp::create(b, loc, clamped, floor);
          interpolated.push_back(d);
        }
        if (interpolated.empty())
          return tensor::ExtractOp::create(b, loc, input, low);
        // Sum over the 2^k corners of their value times the product of weights.
        Value sum = scalarConstant(b, loc, element, 0);
        for (unsigned corner = 0; corner < (1u << interpolated.size()); ++corner) {
          SmallVector<Value> coordinates(low.begin(), low.end());
          Value factor = scalarConstant(b, loc, b.getF32Type(), 1.0);
          for (size_t i = 0; i < interpolated.size(); ++i) {
            int64_t d = interpolated[i];
            bool upper = corner & (1u << i);
            if (upper)
              coordinates[d] = high[d];
            Value w = upper ? weight[d]
                            : Value(arith::SubFOp::create(b, loc, scalarConstant(b, loc, b.getF32Type(), 1.0), weight[d]));
            factor = arith::MulFOp::create(b, loc, factor, w);
          }
          Value v = tensor::ExtractOp::create(b, loc, input, coordinates);
          Value vf = v.getType() == b.getF32Type() ? v : Value(arith::ExtFOp::create(b, loc, b.getF32Type(), v));
          Value term = arith::MulFOp::create(b, loc, vf, factor);
          Value termCast = element == b.getF32Type() ? term : Value(arith::TruncFOp::create(b, loc, element, term));
          sum = arith::AddFOp::create(b, loc, sum, termCast);
        }
        return sum;
      });
  return ctx.setOutput(0, result, ctx.dtype(0));
}

} // namespace

void registerResizeOps(OpRegistry &r) { addOnnxOp(r, "Resize", 11, importResize); }

} // namespace kiln::onnx_import

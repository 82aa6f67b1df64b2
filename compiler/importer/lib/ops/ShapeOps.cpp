//===- ShapeOps.cpp - constants, identities and reshapes -----------------===//
//
// Shape arithmetic folds: Shape yields a host tensor of dimension sizes
// (constants, or run-time index values for dynamic dimensions), and the ops
// that consume it (Reshape, Squeeze, Unsqueeze...) read those sizes directly,
// so the IR carries static or symbolic shapes instead of shape tensors.
//
//===----------------------------------------------------------------------===//
#include "../GraphImporter.h"
#include "../HostTensors.h"
#include "../Lowering.h"

#include "kiln/Dialect/Codec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <onnx/onnx_pb.h>

using namespace mlir;

namespace kiln::onnx_import {
namespace {

HostTensor intVector(llvm::ArrayRef<int64_t> values, int32_t dtype = kInt64) {
  HostTensor t;
  t.dtype = dtype;
  t.shape = {int64_t(values.size())};
  for (int64_t v : values)
    t.ints.push_back(SymInt::of(v));
  return t;
}

LogicalResult importConstant(OpContext &ctx) {
  if (const onnx::AttributeProto *value = ctx.attr("value")) {
    llvm::Expected<TensorValue> tensor = ctx.importer.importTensor(
        value->t(), ctx.node().output_size() ? ctx.node().output(0) : "constant", ctx.loc());
    if (!tensor)
      return ctx.fail(llvm::toString(tensor.takeError()));
    if (!ctx.hasOutput(0))
      return success();
    ctx.importer.define(ctx.node().output(0), std::move(*tensor));
    return success();
  }
  HostTensor t;
  if (const onnx::AttributeProto *a = ctx.attr("value_float")) {
    t.dtype = kFloat;
    t.reals = {a->f()};
  } else if (const onnx::AttributeProto *a = ctx.attr("value_floats")) {
    t.dtype = kFloat;
    t.shape = {a->floats_size()};
    t.reals.assign(a->floats().begin(), a->floats().end());
  } else if (const onnx::AttributeProto *a = ctx.attr("value_int")) {
    t = intVector({a->i()});
    t.shape.clear();
  } else if (const onnx::AttributeProto *a = ctx.attr("value_ints")) {
    t = intVector(std::vector<int64_t>(a->ints().begin(), a->ints().end()));
  } else {
    return ctx.fail("needs a value, value_float(s) or value_int(s) attribute "
                    "(sparse and string constants are not supported)");
  }
  return ctx.setHostOutput(0, std::move(t));
}

/// Reshapes input 0 to `sizes`, folding when its contents are known.
LogicalResult reshapeOutput(OpContext &ctx, llvm::ArrayRef<SymInt> sizes) {
  if (const HostTensor *host = ctx.host(0)) {
    bool static_ = llvm::all_of(sizes, [](const SymInt &s) { return s.isConstant(); });
    if (static_) {
      HostTensor result = *host;
      result.shape.clear();
      for (const SymInt &s : sizes)
        result.shape.push_back(s.constant);
      return ctx.setHostOutput(0, std::move(result));
    }
  }
  FailureOr<Value> result = reshapeTensor(ctx, ctx.value(0), sizes);
  if (failed(result))
    return failure();
  return ctx.setOutput(0, *result, ctx.dtype(0));
}

SymInt product(OpContext &ctx, llvm::ArrayRef<SymInt> dims) {
  SymInt result = SymInt::of(1);
  for (const SymInt &d : dims)
    result = symArith(ctx, SymOp::Mul, result, d);
  return result;
}

LogicalResult importReshape(OpContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  const HostTensor *shape = ctx.host(1);
  if (!shape || shape->isFloat())
    return ctx.fail("the target shape must be known at import (a constant or folded shape "
                    "arithmetic); Kiln does not reshape to run-time shapes");
  bool allowZero = ctx.version() >= 14 && ctx.attrInt("allowzero", 0) != 0;
  SmallVector<SymInt> input = inputDims(ctx, 0);
  SmallVector<SymInt> sizes;
  int inferred = -1;
  for (size_t i = 0; i < shape->ints.size(); ++i) {
    SymInt s = shape->ints[i];
    if (s.isConstant() && s.constant == 0 && !allowZero) {
      if (i >= input.size())
        return ctx.fail("shape entry " + llvm::Twine(i) + " is 0 (copy) but the input has rank " +
                        llvm::Twine(input.size()));
      s = input[i];
    } else if (s.isConstant() && s.constant == -1) {
      if (inferred >= 0)
        return ctx.fail("the shape has more than one -1");
      inferred = int(i);
    } else if (s.isConstant() && s.constant < -1) {
      return ctx.fail("the shape has a negative dimension " + llvm::Twine(s.constant));
    }
    sizes.push_back(s);
  }
  if (inferred >= 0) {
    SmallVector<SymInt> known;
    for (size_t i = 0; i < sizes.size(); ++i)
      if (int(i) != inferred)
        known.push_back(sizes[i]);
    SymInt total = product(ctx, input), rest = product(ctx, known);
    if (total.isConstant() && rest.isConstant() &&
        (rest.constant == 0 || total.constant % rest.constant != 0))
      return ctx.fail("inconsistent shapes: cannot infer -1 when reshaping " +
                      llvm::Twine(total.constant) + " elements by " + llvm::Twine(rest.constant));
    sizes[inferred] = symArith(ctx, SymOp::Div, total, rest);
  }
  return reshapeOutput(ctx, sizes);
}

LogicalResult importFlatten(OpContext &ctx) {
  SmallVector<SymInt> input = inputDims(ctx, 0);
  int64_t rank = input.size();
  int64_t axis = ctx.attrInt("axis", 1);
  if (axis < -rank || axis > rank)
    return ctx.fail("axis " + llvm::Twine(axis) + " is out of range for rank " + llvm::Twine(rank));
  if (axis < 0)
    axis += rank;
  SymInt outer = product(ctx, llvm::ArrayRef(input).take_front(axis));
  SymInt inner = product(ctx, llvm::ArrayRef(input).drop_front(axis));
  return reshapeOutput(ctx, {outer, inner});
}

LogicalResult importShape(OpContext &ctx) {
  SmallVector<SymInt> dims = inputDims(ctx, 0);
  int64_t rank = dims.size();
  int64_t start = ctx.version() >= 15 ? ctx.attrInt("start", 0) : 0;
  int64_t end = ctx.version() >= 15 ? ctx.attrInt("end", rank) : rank;
  auto clampIndex = [&](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + rank : i, 0, rank); };
  start = clampIndex(start);
  end = clampIndex(end);
  HostTensor result;
  result.dtype = kInt64;
  for (int64_t i = start; i < end; ++i)
    result.ints.push_back(dims[i]);
  result.shape = {int64_t(result.ints.size())};
  return ctx.setHostOutput(0, std::move(result));
}

LogicalResult importSize(OpContext &ctx) {
  HostTensor result;
  result.dtype = kInt64;
  result.ints = {product(ctx, inputDims(ctx, 0))};
  return ctx.setHostOutput(0, std::move(result));
}

/// Axes of Squeeze/Unsqueeze: an attribute before opset 13, an input after.
FailureOr<std::vector<int64_t>> squeezeAxes(OpContext &ctx, bool &given) {
  given = true;
  if (ctx.version() < 13) {
    given = ctx.hasAttr("axes");
    return ctx.attrInts("axes");
  }
  if (!ctx.hasInput(1)) {
    given = false;
    return std::vector<int64_t>();
  }
  return ctx.constantInts(1, "axes");
}

LogicalResult importSqueeze(OpContext &ctx) {
  bool given;
  FailureOr<std::vector<int64_t>> axes = squeezeAxes(ctx, given);
  if (failed(axes))
    return failure();
  SmallVector<SymInt> dims = inputDims(ctx, 0);
  int64_t rank = dims.size();
  llvm::SmallDenseSet<int64_t> drop;
  if (!given) {
    for (int64_t d = 0; d < rank; ++d) {
      if (!dims[d].isConstant())
        return ctx.fail("Squeeze without axes needs static dimensions (dimension " +
                        llvm::Twine(d) + " is dynamic)");
      if (dims[d].constant == 1)
        drop.insert(d);
    }
  }
  for (int64_t axis : *axes) {
    FailureOr<int64_t> a = ctx.normalizeAxis(axis, rank);
    if (failed(a))
      return failure();
    if (dims[*a].isConstant() && dims[*a].constant != 1)
      return ctx.fail("cannot squeeze dimension " + llvm::Twine(*a) + " of size " +
                      llvm::Twine(dims[*a].constant));
    drop.insert(*a);
  }
  SmallVector<SymInt> sizes;
  for (int64_t d = 0; d < rank; ++d)
    if (!drop.contains(d))
      sizes.push_back(dims[d]);
  return reshapeOutput(ctx, sizes);
}

LogicalResult importUnsqueeze(OpContext &ctx) {
  bool given;
  FailureOr<std::vector<int64_t>> axes = squeezeAxes(ctx, given);
  if (failed(axes))
    return failure();
  if (!given || axes->empty())
    return ctx.fail("Unsqueeze needs axes");
  SmallVector<SymInt> dims = inputDims(ctx, 0);
  int64_t rank = dims.size() + axes->size();
  llvm::SmallDenseSet<int64_t> inserted;
  for (int64_t axis : *axes) {
    FailureOr<int64_t> a = ctx.normalizeAxis(axis, rank);
    if (failed(a))
      return failure();
    if (!inserted.insert(*a).second)
      return ctx.fail("axis " + llvm::Twine(axis) + " is repeated");
  }
  SmallVector<SymInt> sizes;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(inserted.contains(d) ? SymInt::of(1) : dims[next++]);
  return reshapeOutput(ctx, sizes);
}

LogicalResult importIdentity(OpContext &ctx) { return ctx.forward(0, 0); }

LogicalResult importDropout(OpContext &ctx) {
  // Inference: the identity, and an all-true mask if asked for. Training
  // mode (input 2) drops at random, which a compiled model must not do.
  if (ctx.hasInput(2)) {
    const HostTensor *training = ctx.host(2);
    std::optional<std::vector<int64_t>> flag = training ? training->constantInts() : std::nullopt;
    if (!flag || flag->size() != 1 || (*flag)[0] != 0)
      return ctx.fail("training mode is not supported (Kiln compiles inference)");
  }
  if (failed(ctx.forward(0, 0)))
    return failure();
  if (!ctx.hasOutput(1))
    return success();
  Value one = scalarConstant(ctx.builder(), ctx.loc(), ctx.builder().getI1Type(), 1);
  return ctx.setOutput(1, filledTensor(ctx, tensorSizes(ctx, ctx.value(0)), one), kBool);
}

LogicalResult importTranspose(OpContext &ctx) {
  int64_t rank = ctx.type(0).getRank();
  std::vector<int64_t> perm = ctx.attrInts("perm");
  if (perm.empty())
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  std::vector<bool> seen(rank, false);
  if (int64_t(perm.size()) != rank)
    return ctx.fail("perm has " + llvm::Twine(perm.size()) + " entries for rank " + llvm::Twine(rank));
  for (int64_t &p : perm) {
    if (p < 0)
      p += rank;
    if (p < 0 || p >= rank || seen[p])
      return ctx.fail("perm is not a permutation");
    seen[p] = true;
  }
  if (const HostTensor *host = ctx.host(0)) {
    llvm::SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(host->shape[p]);
    std::vector<int64_t> strides = rowMajorStrides(host->shape);
    return ctx.setHostOutput(0, rearrangeHost(*host, shape, [&](llvm::ArrayRef<int64_t> index) {
                               int64_t flat = 0;
                               for (int64_t d = 0; d < rank; ++d)
                                 flat += index[d] * strides[perm[d]];
                               return flat;
                             }));
  }
  return ctx.setOutput(0, transposeTensor(ctx, ctx.value(0), perm), ctx.dtype(0));
}

/// A 1-D shape input (Expand, ConstantOfShape...) as symbolic sizes.
FailureOr<SmallVector<SymInt>> shapeInput(OpContext &ctx, int index) {
  const HostTensor *shape = ctx.host(index);
  if (!shape || shape->isFloat() || shape->shape.size() > 1) {
    (void)ctx.fail("the shape (input " + llvm::Twine(index) +
                   ") must be a 1-D integer tensor known at import");
    return failure();
  }
  SmallVector<SymInt> sizes(shape->ints.begin(), shape->ints.end());
  for (const SymInt &s : sizes)
    if (s.isConstant() && s.constant < 0) {
      (void)ctx.fail("the shape has a negative dimension " + llvm::Twine(s.constant));
      return failure();
    }
  return sizes;
}

LogicalResult importExpand(OpContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  FailureOr<SmallVector<SymInt>> sizes = shapeInput(ctx, 1);
  if (failed(sizes))
    return failure();
  if (const HostTensor *host = ctx.host(0)) {
    // Broadcast on the host by folding an identity over both shapes.
    bool constantShape = llvm::all_of(*sizes, [](const SymInt &s) { return s.isConstant(); });
    if (constantShape && !host->isFloat()) {
      HostTensor target;
      target.dtype = kInt64;
      for (const SymInt &s : *sizes)
        target.shape.push_back(s.constant);
      target.ints.assign(elementCount(target.shape), SymInt::of(0));
      std::optional<HostTensor> folded = foldIntElementwise(
          {host, &target}, host->dtype, [](llvm::ArrayRef<SymInt> a) { return a[0]; });
      if (folded)
        return ctx.setHostOutput(0, std::move(*folded));
    }
  }
  FailureOr<Value> result = broadcastElementwise(
      ctx, {ctx.value(0)}, ctx.type(0).getElementType(),
      [](OpBuilder &, Location, ValueRange a) { return a[0]; }, *sizes);
  if (failed(result))
    return failure();
  return ctx.setOutput(0, *result, ctx.dtype(0));
}

LogicalResult importConstantOfShape(OpContext &ctx) {
  FailureOr<SmallVector<SymInt>> sizes = shapeInput(ctx, 0);
  if (failed(sizes))
    return failure();
  HostTensor fill;
  fill.dtype = kFloat;
  fill.reals = {0.0};
  if (const onnx::AttributeProto *value = ctx.attr("value")) {
    llvm::Expected<TensorValue> tensor = ctx.importer.importTensor(value->t(), "value", ctx.loc());
    if (!tensor)
      return ctx.fail(llvm::toString(tensor.takeError()));
    if (!tensor->host || tensor->host->size() != 1)
      return ctx.fail("value must hold exactly one element");
    fill = *tensor->host;
  }
  bool constantShape = llvm::all_of(*sizes, [](const SymInt &s) { return s.isConstant(); });
  llvm::SmallVector<int64_t> shape;
  for (const SymInt &s : *sizes)
    shape.push_back(s.constant);
  if (constantShape && codec::checkedProduct(shape.data(), shape.size()).value_or(INT64_MAX) <=
                           kMaxHostElements) {
    HostTensor result = rearrangeHost(fill, shape, [](llvm::ArrayRef<int64_t>) { return 0; });
    return ctx.setHostOutput(0, std::move(result));
  }
  Type element = computeElementType(ctx.context(), fill.dtype);
  if (!element)
    return ctx.fail("unsupported value type " + dtypeName(fill.dtype));
  Value scalar = scalarConstant(ctx.builder(), ctx.loc(), element, fill.realAt(0));
  SmallVector<OpFoldResult> folded;
  for (const SymInt &s : *sizes)
    folded.push_back(toFoldResult(ctx, s));
  return ctx.setOutput(0, filledTensor(ctx, folded, scalar), fill.dtype);
}

LogicalResult importRange(OpContext &ctx) {
  if (failed(ctx.expectInputs(3, 3)))
    return failure();
  const HostTensor *start = ctx.host(0), *limit = ctx.host(1), *delta = ctx.host(2);
  int32_t dtype = ctx.dtype(0);
  if (start && limit && delta && start->size() == 1 && limit->size() == 1 && delta->size() == 1) {
    if (isFloatDType(dtype)) {
      double s = start->reals[0], l = limit->reals[0], d = delta->reals[0];
      if (d == 0)
        return ctx.fail("delta is 0");
      double count = std::max(std::ceil((l - s) / d), 0.0);
      if (count > double(kMaxHostElements))
        return ctx.fail("the range has more than " + llvm::Twine(kMaxHostElements) + " elements");
      HostTensor result;
      result.dtype = dtype;
      result.shape = {int64_t(count)};
      for (int64_t i = 0; i < int64_t(count); ++i)
        result.reals.push_back(castReal(s + double(i) * d, dtype));
      return ctx.setHostOutput(0, std::move(result));
    }
    SymInt s = start->ints[0], l = limit->ints[0], d = delta->ints[0];
    if (!d.isConstant() || d.constant == 0)
      return ctx.fail("delta must be a non-zero constant");
    if (s.isConstant() && l.isConstant()) {
      int64_t step = d.constant;
      int64_t count = std::max<int64_t>((l.constant - s.constant + step - (step > 0 ? 1 : -1)) / step, 0);
      if (count > kMaxHostElements)
        return ctx.fail("the range has more than " + llvm::Twine(kMaxHostElements) + " elements");
      HostTensor result;
      result.dtype = dtype;
      result.shape = {count};
      for (int64_t i = 0; i < count; ++i)
        result.ints.push_back(SymInt::of(s.constant + i * step));
      return ctx.setHostOutput(0, std::move(result));
    }
    // A run-time length (e.g. positions 0..seq_len): a generic over i.
    if (d.constant <= 0)
      return ctx.fail("a range of run-time length needs a positive delta");
    SymInt span = symArith(ctx, SymOp::Sub, l, s);
    SymInt count = symArith(ctx, SymOp::Max, SymInt::of(0),
                            symArith(ctx, SymOp::Div,
                                     symArith(ctx, SymOp::Add, span, SymInt::of(d.constant - 1)),
                                     d));
    Type element = computeElementType(ctx.context(), dtype);
    Value init = emptyTensor(ctx, {toFoldResult(ctx, count)}, element);
    MLIRContext *mlir = ctx.context();
    Value result = buildGeneric(
        ctx, {}, init, {AffineMap::getMultiDimIdentityMap(1, mlir)}, {utils::IteratorType::parallel},
        [&](OpBuilder &b, Location loc, ValueRange) -> Value {
          Value i = linalg::IndexOp::create(b, loc, 0);
          Value offset = arith::MulIOp::create(b, loc, i, indexValue(b, loc, d));
          Value index = arith::AddIOp::create(b, loc, offset, indexValue(b, loc, s));
          return arith::IndexCastOp::create(b, loc, element, index);
        });
    return ctx.setOutput(0, result, dtype);
  }
  return ctx.fail("start, limit and delta must be scalars known at import");
}

} // namespace

void registerShapeOps(OpRegistry &r) {
  addOnnxOp(r, "Transpose", 1, importTranspose);
  addOnnxOp(r, "Expand", 8, importExpand);
  addOnnxOp(r, "ConstantOfShape", 9, importConstantOfShape);
  addOnnxOp(r, "Range", 11, importRange);
  addOnnxOp(r, "Constant", 9, importConstant);
  addOnnxOp(r, "Identity", 1, importIdentity);
  addOnnxOp(r, "Dropout", 7, importDropout);
  addOnnxOp(r, "Reshape", 5, importReshape);
  addOnnxOp(r, "Flatten", 1, importFlatten);
  addOnnxOp(r, "Shape", 1, importShape);
  addOnnxOp(r, "Size", 1, importSize);
  addOnnxOp(r, "Squeeze", 1, importSqueeze);
  addOnnxOp(r, "Unsqueeze", 1, importUnsqueeze);
}

} // namespace kiln::onnx_import

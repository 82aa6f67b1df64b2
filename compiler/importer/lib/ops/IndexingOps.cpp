//===- IndexingOps.cpp - gathers, slices, concatenation, padding ---------===//
//
// Ops that move elements. With contents known at import (shape values) they
// fold on the host; otherwise they become tensor.extract_slice/concat/pad,
// or a linalg.generic whose body computes the source index and reads it
// with tensor.extract.
//
//===----------------------------------------------------------------------===//
#include "../GraphImporter.h"
#include "../HostTensors.h"
#include "../Lowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <onnx/onnx_pb.h>

using namespace mlir;

namespace kiln::onnx_import {
namespace {

SmallVector<OpFoldResult> foldResults(OpContext &ctx, ArrayRef<SymInt> values) {
  SmallVector<OpFoldResult> result;
  for (const SymInt &v : values)
    result.push_back(toFoldResult(ctx, v));
  return result;
}

/// An index read from an integer element, with negative values counted
/// from the end of a dimension of `size` (ONNX gather semantics).
Value normalizedIndex(OpBuilder &b, Location loc, Value element, Value size) {
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), element);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, index, zero);
  Value wrapped = arith::AddIOp::create(b, loc, index, size);
  return arith::SelectOp::create(b, loc, negative, wrapped, index);
}

/// A generic over `sizes` whose body computes the element from the loop
/// indices (reads go through tensor.extract).
Value generate(OpContext &ctx, ArrayRef<SymInt> sizes, Type element, ArrayRef<Value> inputs,
               ArrayRef<AffineMap> inputMaps,
               llvm::function_ref<Value(OpBuilder &, Location, ValueRange, ValueRange)> body) {
  int64_t rank = sizes.size();
  Value init = emptyTensor(ctx, foldResults(ctx, sizes), element);
  SmallVector<AffineMap> maps(inputMaps.begin(), inputMaps.end());
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx.context()));
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  return buildGeneric(ctx, inputs, init, maps, iterators,
                      [&](OpBuilder &b, Location loc, ValueRange args) {
                        SmallVector<Value> indices = loopIndices(b, loc, rank);
                        return body(b, loc, args.drop_back(), indices);
                      });
}

//===----------------------------------------------------------------------===//
// Concat
//===----------------------------------------------------------------------===//

LogicalResult importConcat(OpContext &ctx) {
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.attrInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  std::vector<const HostTensor *> hosts;
  for (int i = 0; i < ctx.numInputs(); ++i) {
    if (!ctx.hasInput(i))
      continue;
    if (ctx.dtype(i) != ctx.dtype(0) || ctx.type(i).getRank() != rank)
      return ctx.fail("input " + llvm::Twine(i) + " differs in type or rank from input 0");
    hosts.push_back(ctx.host(i));
  }
  if (llvm::all_of(hosts, [](const HostTensor *h) { return h != nullptr; })) {
    HostTensor result = *hosts[0];
    result.ints.clear();
    result.reals.clear();
    result.shape[*axis] = 0;
    for (const HostTensor *h : hosts) {
      for (int64_t d = 0; d < rank; ++d)
        if (d != *axis && h->shape[d] != hosts[0]->shape[d])
          return ctx.fail("inconsistent shapes: inputs differ in dimension " + llvm::Twine(d));
      result.shape[*axis] += h->shape[*axis];
    }
    // Interleave: for each outer index, append each input's block.
    int64_t outer = elementCount(llvm::ArrayRef(result.shape).take_front(*axis));
    for (int64_t o = 0; o < outer; ++o)
      for (const HostTensor *h : hosts) {
        int64_t block = elementCount(llvm::ArrayRef(h->shape).drop_front(*axis));
        for (int64_t i = 0; i < block; ++i) {
          if (h->isFloat())
            result.reals.push_back(h->reals[o * block + i]);
          else
            result.ints.push_back(h->ints[o * block + i]);
        }
      }
    return ctx.setHostOutput(0, std::move(result));
  }
  SmallVector<Value> values;
  for (int i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i))
      values.push_back(ctx.value(i));
  if (values.size() == 1)
    return ctx.forward(0, 0);
  for (Value v : values)
    for (int64_t d = 0; d < rank; ++d) {
      int64_t a = cast<RankedTensorType>(v.getType()).getDimSize(d), b = ctx.type(0).getDimSize(d);
      if (d != *axis && !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b)
        return ctx.fail("inconsistent shapes: inputs differ in dimension " + llvm::Twine(d));
    }
  Value result = tensor::ConcatOp::create(ctx.builder(), ctx.loc(), *axis, values);
  return ctx.setOutput(0, result, ctx.dtype(0));
}

//===----------------------------------------------------------------------===//
// Gather, GatherElements
//===----------------------------------------------------------------------===//

LogicalResult importGather(OpContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  RankedTensorType dataType = ctx.type(0), indexType = ctx.type(1);
  int64_t rank = dataType.getRank(), q = indexType.getRank();
  if (rank == 0)
    return ctx.fail("data must have rank >= 1");
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.attrInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  SmallVector<SymInt> dataDims = inputDims(ctx, 0), indexDims = inputDims(ctx, 1);
  SmallVector<SymInt> outDims(dataDims.begin(), dataDims.begin() + *axis);
  outDims.append(indexDims.begin(), indexDims.end());
  outDims.append(dataDims.begin() + *axis + 1, dataDims.end());

  const HostTensor *data = ctx.host(0), *indices = ctx.host(1);
  if (indices) {
    std::optional<std::vector<int64_t>> known = indices->constantInts();
    if (known && dataDims[*axis].isConstant())
      for (int64_t i : *known)
        if (i < -dataDims[*axis].constant || i >= dataDims[*axis].constant)
          return ctx.fail("index " + llvm::Twine(i) + " is out of range for a dimension of " +
                          llvm::Twine(dataDims[*axis].constant));
    if (data && known) {
      llvm::SmallVector<int64_t> shape;
      for (const SymInt &d : outDims)
        shape.push_back(d.constant);
      std::vector<int64_t> strides = rowMajorStrides(data->shape);
      std::vector<int64_t> indexStrides = rowMajorStrides(indices->shape);
      int64_t size = data->shape[*axis];
      return ctx.setHostOutput(0, rearrangeHost(*data, shape, [&](llvm::ArrayRef<int64_t> out) {
                                 int64_t flatIndex = 0;
                                 for (int64_t i = 0; i < q; ++i)
                                   flatIndex += out[*axis + i] * indexStrides[i];
                                 int64_t at = (*known)[flatIndex];
                                 if (at < 0)
                                   at += size;
                                 int64_t flat = 0;
                                 for (int64_t d = 0; d < rank; ++d) {
                                   int64_t coordinate = d < *axis    ? out[d]
                                                        : d == *axis ? at
                                                                     : out[d + q - 1];
                                   flat += coordinate * strides[d];
                                 }
                                 return flat;
                               }));
    }
  }
  Value dataValue = ctx.value(0), indexValue_ = ctx.value(1);
  MLIRContext *mlir = ctx.context();
  int64_t outRank = outDims.size();
  SmallVector<AffineExpr> indexExprs;
  for (int64_t i = 0; i < q; ++i)
    indexExprs.push_back(getAffineDimExpr(*axis + i, mlir));
  Value axisSize = indexValue(ctx.builder(), ctx.loc(), dataDims[*axis]);
  Value result = generate(
      ctx, outDims, dataType.getElementType(), {indexValue_},
      {AffineMap::get(outRank, 0, indexExprs, mlir)},
      [&](OpBuilder &b, Location loc, ValueRange args, ValueRange out) -> Value {
        SmallVector<Value> coordinates;
        for (int64_t d = 0; d < rank; ++d)
          coordinates.push_back(d < *axis    ? out[d]
                                : d == *axis ? normalizedIndex(b, loc, args[0], axisSize)
                                             : out[d + q - 1]);
        return tensor::ExtractOp::create(b, loc, dataValue, coordinates);
      });
  return ctx.setOutput(0, result, ctx.dtype(0));
}

LogicalResult importGatherElements(OpContext &ctx) {
  if (failed(ctx.expectInputs(2, 2)))
    return failure();
  int64_t rank = ctx.type(0).getRank();
  if (ctx.type(1).getRank() != rank)
    return ctx.fail("indices must have the rank of data");
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.attrInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  Value data = ctx.value(0);
  Value axisSize = indexValue(ctx.builder(), ctx.loc(), inputDims(ctx, 0)[*axis]);
  Value result = generate(ctx, inputDims(ctx, 1), ctx.type(0).getElementType(), {ctx.value(1)},
                          {AffineMap::getMultiDimIdentityMap(rank, ctx.context())},
                          [&](OpBuilder &b, Location loc, ValueRange args, ValueRange out) -> Value {
                            SmallVector<Value> coordinates(out.begin(), out.end());
                            coordinates[*axis] = normalizedIndex(b, loc, args[0], axisSize);
                            return tensor::ExtractOp::create(b, loc, data, coordinates);
                          });
  return ctx.setOutput(0, result, ctx.dtype(0));
}

//===----------------------------------------------------------------------===//
// Slice, Split
//===----------------------------------------------------------------------===//

/// One sliced axis: start, step and element count.
struct SliceAxis {
  SymInt start;
  int64_t step;
  SymInt size;
};

/// ONNX Slice clamping for one axis of `dim` elements.
FailureOr<SliceAxis> sliceAxis(OpContext &ctx, SymInt start, SymInt end, int64_t step, SymInt dim) {
  if (step == 0) {
    (void)ctx.fail("a slice step is 0");
    return failure();
  }
  auto fromEnd = [&](SymInt v) {
    if (v.isConstant())
      return v.constant < 0 ? symArith(ctx, SymOp::Add, v, dim) : v;
    OpBuilder &b = ctx.builder();
    Value zero = arith::ConstantIndexOp::create(b, ctx.loc(), 0);
    Value negative = arith::CmpIOp::create(b, ctx.loc(), arith::CmpIPredicate::slt, v.dynamic, zero);
    Value wrapped = indexValue(b, ctx.loc(), symArith(ctx, SymOp::Add, v, dim));
    return SymInt{0, arith::SelectOp::create(b, ctx.loc(), negative, wrapped, v.dynamic)};
  };
  auto clamp = [&](SymInt v, SymInt low, SymInt high) {
    return symArith(ctx, SymOp::Min, symArith(ctx, SymOp::Max, v, low), high);
  };
  // Negative positions count from the end; clamping then bounds them, so
  // INT64_MAX / INT64_MIN ("to the end") never overflow.
  start = fromEnd(start);
  end = fromEnd(end);
  if (step > 0) {
    start = clamp(start, SymInt::of(0), dim);
    end = clamp(end, SymInt::of(0), dim);
  } else {
    SymInt last = symArith(ctx, SymOp::Sub, dim, SymInt::of(1));
    start = clamp(start, SymInt::of(0), last);
    end = clamp(end, SymInt::of(-1), last);
  }
  // count = max(0, ceil((end - start) / step))
  SymInt span = step > 0 ? symArith(ctx, SymOp::Sub, end, start) : symArith(ctx, SymOp::Sub, start, end);
  int64_t magnitude = std::abs(step);
  SymInt count = symArith(ctx, SymOp::Div, symArith(ctx, SymOp::Add, span, SymInt::of(magnitude - 1)),
                          SymInt::of(magnitude));
  return SliceAxis{start, step, symArith(ctx, SymOp::Max, count, SymInt::of(0))};
}

/// Slices input 0 along the given axes (the rest is taken whole).
LogicalResult emitSlice(OpContext &ctx, int outputIndex, const std::vector<int64_t> &axes,
                        ArrayRef<SliceAxis> slices) {
  SmallVector<SymInt> dims = inputDims(ctx, 0);
  int64_t rank = dims.size();
  SmallVector<SymInt> starts(rank, SymInt::of(0)), sizes(dims.begin(), dims.end());
  SmallVector<int64_t> steps(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    starts[axes[i]] = slices[i].start;
    sizes[axes[i]] = slices[i].size;
    steps[axes[i]] = slices[i].step;
  }
  const HostTensor *host = ctx.host(0);
  bool constant = llvm::all_of(starts, [](const SymInt &s) { return s.isConstant(); }) &&
                  llvm::all_of(sizes, [](const SymInt &s) { return s.isConstant(); });
  if (host && constant) {
    llvm::SmallVector<int64_t> shape;
    for (const SymInt &s : sizes)
      shape.push_back(s.constant);
    std::vector<int64_t> strides = rowMajorStrides(host->shape);
    HostTensor result = rearrangeHost(*host, shape, [&](llvm::ArrayRef<int64_t> out) {
      int64_t flat = 0;
      for (int64_t d = 0; d < rank; ++d)
        flat += (starts[d].constant + out[d] * steps[d]) * strides[d];
      return flat;
    });
    if (outputIndex == 0)
      return ctx.setHostOutput(0, std::move(result));
    return ctx.setHostOutput(outputIndex, std::move(result));
  }
  Value input = ctx.value(0);
  Value result;
  if (llvm::all_of(steps, [](int64_t s) { return s > 0; })) {
    SmallVector<OpFoldResult> strides;
    for (int64_t s : steps)
      strides.push_back(ctx.builder().getIndexAttr(s));
    result = tensor::ExtractSliceOp::create(ctx.builder(), ctx.loc(), input, foldResults(ctx, starts),
                                            foldResults(ctx, sizes), strides);
  } else {
    result = generate(ctx, sizes, ctx.type(0).getElementType(), {}, {},
                      [&](OpBuilder &b, Location loc, ValueRange, ValueRange out) -> Value {
                        SmallVector<Value> coordinates;
                        for (int64_t d = 0; d < rank; ++d) {
                          Value step = arith::ConstantIndexOp::create(b, loc, steps[d]);
                          Value offset = arith::MulIOp::create(b, loc, out[d], step);
                          coordinates.push_back(arith::AddIOp::create(
                              b, loc, indexValue(b, loc, starts[d]), offset));
                        }
                        return tensor::ExtractOp::create(b, loc, input, coordinates);
                      });
  }
  return ctx.setOutput(outputIndex, result, ctx.dtype(0));
}

LogicalResult importSlice(OpContext &ctx) {
  int64_t rank = ctx.type(0).getRank();
  std::vector<SymInt> starts, ends;
  std::vector<int64_t> axes, steps;
  if (ctx.version() < 10) {
    for (int64_t v : ctx.attrInts("starts"))
      starts.push_back(SymInt::of(v));
    for (int64_t v : ctx.attrInts("ends"))
      ends.push_back(SymInt::of(v));
    axes = ctx.attrInts("axes");
  } else {
    for (int i = 1; i <= 2; ++i) {
      const HostTensor *h = ctx.host(i);
      if (!h || h->isFloat())
        return ctx.fail(llvm::Twine(i == 1 ? "starts" : "ends") + " must be known at import");
      (i == 1 ? starts : ends).assign(h->ints.begin(), h->ints.end());
    }
    if (ctx.hasInput(3)) {
      FailureOr<std::vector<int64_t>> a = ctx.constantInts(3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (ctx.hasInput(4)) {
      FailureOr<std::vector<int64_t>> s = ctx.constantInts(4, "steps");
      if (failed(s))
        return failure();
      steps = *s;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return ctx.fail("starts, ends, axes and steps must have the same length");
  SmallVector<SymInt> dims = inputDims(ctx, 0);
  std::vector<SliceAxis> slices;
  llvm::SmallDenseSet<int64_t> seen;
  for (size_t i = 0; i < axes.size(); ++i) {
    FailureOr<int64_t> axis = ctx.normalizeAxis(axes[i], rank);
    if (failed(axis))
      return failure();
    if (!seen.insert(*axis).second)
      return ctx.fail("axis " + llvm::Twine(*axis) + " is sliced twice");
    axes[i] = *axis;
    FailureOr<SliceAxis> slice = sliceAxis(ctx, starts[i], ends[i], steps[i], dims[*axis]);
    if (failed(slice))
      return failure();
    slices.push_back(*slice);
  }
  return emitSlice(ctx, 0, axes, slices);
}

LogicalResult importSplit(OpContext &ctx) {
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.attrInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  SymInt dim = inputDims(ctx, 0)[*axis];
  int64_t outputs = ctx.numOutputs();
  std::vector<SymInt> sizes;
  std::vector<int64_t> split;
  if (ctx.version() >= 13 && ctx.hasInput(1)) {
    FailureOr<std::vector<int64_t>> s = ctx.constantInts(1, "split");
    if (failed(s))
      return failure();
    split = *s;
  } else if (ctx.version() < 13) {
    split = ctx.attrInts("split");
  }
  if (!split.empty()) {
    if (int64_t(split.size()) != outputs)
      return ctx.fail("split has " + llvm::Twine(split.size()) + " sizes for " +
                      llvm::Twine(outputs) + " outputs");
    int64_t total = 0;
    for (int64_t s : split) {
      if (s < 0)
        return ctx.fail("split has a negative size");
      total += s;
      sizes.push_back(SymInt::of(s));
    }
    if (dim.isConstant() && total != dim.constant)
      return ctx.fail("inconsistent shapes: split sizes add up to " + llvm::Twine(total) +
                      " but the dimension is " + llvm::Twine(dim.constant));
  } else {
    int64_t parts = ctx.version() >= 18 && ctx.hasAttr("num_outputs") ? ctx.attrInt("num_outputs", 1)
                                                                       : outputs;
    if (parts != outputs || parts <= 0)
      return ctx.fail("num_outputs must equal the number of outputs");
    // Equal parts, the last one smaller when the size does not divide.
    SymInt chunk = symArith(ctx, SymOp::Div, symArith(ctx, SymOp::Add, dim, SymInt::of(parts - 1)),
                            SymInt::of(parts));
    SymInt offset = SymInt::of(0);
    for (int64_t i = 0; i < parts; ++i) {
      SymInt remaining = symArith(ctx, SymOp::Max, SymInt::of(0), symArith(ctx, SymOp::Sub, dim, offset));
      SymInt size = i + 1 == parts ? remaining : symArith(ctx, SymOp::Min, chunk, remaining);
      sizes.push_back(size);
      offset = symArith(ctx, SymOp::Add, offset, size);
    }
  }
  SymInt offset = SymInt::of(0);
  for (int64_t i = 0; i < outputs; ++i) {
    if (failed(emitSlice(ctx, i, {*axis}, {SliceAxis{offset, 1, sizes[i]}})))
      return failure();
    offset = symArith(ctx, SymOp::Add, offset, sizes[i]);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Tile, Trilu, CumSum, Pad
//===----------------------------------------------------------------------===//

LogicalResult importTile(OpContext &ctx) {
  FailureOr<std::vector<int64_t>> repeats = ctx.constantInts(1, "repeats");
  if (failed(repeats))
    return failure();
  SmallVector<SymInt> dims = inputDims(ctx, 0);
  int64_t rank = dims.size();
  if (int64_t(repeats->size()) != rank)
    return ctx.fail("repeats must have one entry per dimension");
  SmallVector<SymInt> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    if ((*repeats)[d] < 0)
      return ctx.fail("repeats must be non-negative");
    sizes.push_back(symArith(ctx, SymOp::Mul, dims[d], SymInt::of((*repeats)[d])));
  }
  Value input = ctx.value(0);
  Value result = generate(ctx, sizes, ctx.type(0).getElementType(), {}, {},
                          [&](OpBuilder &b, Location loc, ValueRange, ValueRange out) -> Value {
                            SmallVector<Value> coordinates;
                            for (int64_t d = 0; d < rank; ++d)
                              coordinates.push_back(arith::RemUIOp::create(
                                  b, loc, out[d], indexValue(b, loc, dims[d])));
                            return tensor::ExtractOp::create(b, loc, input, coordinates);
                          });
  return ctx.setOutput(0, result, ctx.dtype(0));
}

LogicalResult importTrilu(OpContext &ctx) {
  int64_t rank = ctx.type(0).getRank();
  if (rank < 2)
    return ctx.fail("input must have rank >= 2");
  int64_t k = 0;
  if (ctx.hasInput(1)) {
    FailureOr<std::vector<int64_t>> value = ctx.constantInts(1, "k");
    if (failed(value) || value->size() != 1)
      return failed(value) ? failure() : ctx.fail("k must be a scalar");
    k = (*value)[0];
  }
  bool upper = ctx.attrInt("upper", 1) != 0;
  Type element = ctx.type(0).getElementType();
  Value result = generate(ctx, inputDims(ctx, 0), element, {ctx.value(0)},
                          {AffineMap::getMultiDimIdentityMap(rank, ctx.context())},
                          [&](OpBuilder &b, Location loc, ValueRange args, ValueRange out) -> Value {
                            // Keep element (i, j) when j - i >= k (upper) or <= k (lower).
                            Value i = arith::IndexCastOp::create(b, loc, b.getI64Type(), out[rank - 2]);
                            Value j = arith::IndexCastOp::create(b, loc, b.getI64Type(), out[rank - 1]);
                            Value diagonal = arith::SubIOp::create(b, loc, j, i);
                            Value kValue = scalarConstant(b, loc, b.getI64Type(), double(k));
                            Value keep = arith::CmpIOp::create(
                                b, loc, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
                                diagonal, kValue);
                            return arith::SelectOp::create(b, loc, keep, args[0],
                                                           scalarConstant(b, loc, element, 0));
                          });
  return ctx.setOutput(0, result, ctx.dtype(0));
}

LogicalResult importCumSum(OpContext &ctx) {
  FailureOr<std::vector<int64_t>> axisValue = ctx.constantInts(1, "axis");
  if (failed(axisValue))
    return failure();
  if (axisValue->size() != 1)
    return ctx.fail("axis must be a scalar");
  int64_t rank = ctx.type(0).getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis((*axisValue)[0], rank);
  if (failed(axis))
    return failure();
  bool exclusive = ctx.attrInt("exclusive", 0), reverse = ctx.attrInt("reverse", 0);
  // out[.., i, ..] = sum over j of x[.., j, ..] where j is before (or after,
  // reversed) i: a reduction over an extra loop j.
  MLIRContext *mlir = ctx.context();
  SmallVector<AffineExpr> inputExprs, outputExprs;
  for (int64_t d = 0; d < rank; ++d) {
    inputExprs.push_back(getAffineDimExpr(d == *axis ? rank : d, mlir));
    outputExprs.push_back(getAffineDimExpr(d, mlir));
  }
  Type element = ctx.type(0).getElementType();
  Value init = filledTensor(ctx, tensorSizes(ctx, ctx.value(0)),
                            scalarConstant(ctx.builder(), ctx.loc(), element, 0));
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  // The extra loop j must take its range from an operand: read x through
  // the j map, and bound i from the output.
  Value result = buildGeneric(
      ctx, {ctx.value(0)}, init,
      {AffineMap::get(rank + 1, 0, inputExprs, mlir), AffineMap::get(rank + 1, 0, outputExprs, mlir)},
      iterators, [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value i = linalg::IndexOp::create(b, loc, *axis), j = linalg::IndexOp::create(b, loc, rank);
        arith::CmpIPredicate predicate =
            reverse ? (exclusive ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::uge)
                    : (exclusive ? arith::CmpIPredicate::ult : arith::CmpIPredicate::ule);
        Value take = arith::CmpIOp::create(b, loc, predicate, j, i);
        Value zero = scalarConstant(b, loc, element, 0);
        Value term = arith::SelectOp::create(b, loc, take, args[0], zero);
        return isa<FloatType>(element) ? Value(arith::AddFOp::create(b, loc, args[1], term))
                                       : Value(arith::AddIOp::create(b, loc, args[1], term));
      });
  return ctx.setOutput(0, result, ctx.dtype(0));
}

LogicalResult importPad(OpContext &ctx) {
  int64_t rank = ctx.type(0).getRank();
  std::string mode = ctx.attrString("mode", "constant");
  std::vector<int64_t> pads;
  double padValue = 0;
  if (ctx.version() < 11) {
    pads = ctx.attrInts("pads");
    padValue = ctx.attrFloat("value", 0.0f);
  } else {
    FailureOr<std::vector<int64_t>> p = ctx.constantInts(1, "pads");
    if (failed(p))
      return failure();
    pads = *p;
    if (ctx.hasInput(2)) {
      const HostTensor *value = ctx.host(2);
      if (!value || value->size() != 1)
        return ctx.fail("constant_value must be a scalar known at import");
      padValue = value->realAt(0);
    }
  }
  std::vector<int64_t> axes;
  if (ctx.version() >= 18 && ctx.hasInput(3)) {
    FailureOr<std::vector<int64_t>> a = ctx.constantInts(3, "axes");
    if (failed(a))
      return failure();
    for (int64_t axis : *a) {
      FailureOr<int64_t> normalized = ctx.normalizeAxis(axis, rank);
      if (failed(normalized))
        return failure();
      axes.push_back(*normalized);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  if (pads.size() != 2 * axes.size())
    return ctx.fail("pads must have 2 entries per padded axis");
  std::vector<int64_t> low(rank, 0), high(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    low[axes[i]] = pads[i];
    high[axes[i]] = pads[i + axes.size()];
  }
  SmallVector<SymInt> dims = inputDims(ctx, 0);
  SmallVector<SymInt> outDims;
  for (int64_t d = 0; d < rank; ++d) {
    outDims.push_back(symArith(ctx, SymOp::Add, dims[d], SymInt::of(low[d] + high[d])));
    if (outDims.back().isConstant() && outDims.back().constant < 0)
      return ctx.fail("inconsistent shapes: negative pads remove more than the dimension");
  }
  Type element = ctx.type(0).getElementType();
  Value input = ctx.value(0);
  // Every output element reads a clamped, reflected or wrapped coordinate,
  // or (constant mode) the pad value when outside the input.
  Value result = generate(
      ctx, outDims, element, {}, {},
      [&](OpBuilder &b, Location loc, ValueRange, ValueRange out) -> Value {
        SmallVector<Value> coordinates;
        Value inside = scalarConstant(b, loc, b.getI1Type(), 1);
        for (int64_t d = 0; d < rank; ++d) {
          Value size = indexValue(b, loc, dims[d]);
          Value p = arith::SubIOp::create(b, loc, out[d], arith::ConstantIndexOp::create(b, loc, low[d]));
          Value zero = arith::ConstantIndexOp::create(b, loc, 0);
          Value one = arith::ConstantIndexOp::create(b, loc, 1);
          Value last = arith::SubIOp::create(b, loc, size, one);
          Value coordinate;
          if (mode == "reflect") {
            Value mirroredLow = arith::SubIOp::create(b, loc, zero, p);
            Value twiceLast = arith::AddIOp::create(b, loc, last, last);
            Value mirroredHigh = arith::SubIOp::create(b, loc, twiceLast, p);
            Value below = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, p, zero);
            Value above = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, p, last);
            coordinate = arith::SelectOp::create(b, loc, below, mirroredLow,
                                                 arith::SelectOp::create(b, loc, above, mirroredHigh, p));
          } else if (mode == "wrap") {
            Value rem = arith::RemSIOp::create(b, loc, p, size);
            Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rem, zero);
            coordinate = arith::SelectOp::create(b, loc, negative, arith::AddIOp::create(b, loc, rem, size), rem);
          } else {
            Value inRange = arith::AndIOp::create(
                b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, p, zero),
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sle, p, last));
            inside = arith::AndIOp::create(b, loc, inside, inRange);
            coordinate = arith::MinSIOp::create(b, loc, arith::MaxSIOp::create(b, loc, p, zero), last);
          }
          coordinates.push_back(coordinate);
        }
        Value read = tensor::ExtractOp::create(b, loc, input, coordinates);
        if (mode != "constant")
          return read;
        return arith::SelectOp::create(b, loc, inside, read, scalarConstant(b, loc, element, padValue));
      });
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return ctx.fail("unknown pad mode '" + mode + "'");
  return ctx.setOutput(0, result, ctx.dtype(0));
}

//===----------------------------------------------------------------------===//
// ScatterND
//===----------------------------------------------------------------------===//

LogicalResult importScatterND(OpContext &ctx) {
  if (failed(ctx.expectInputs(3, 3)))
    return failure();
  std::string reduction = ctx.attrString("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul" && reduction != "max" &&
      reduction != "min")
    return ctx.fail("unknown reduction '" + reduction + "'");
  RankedTensorType dataType = ctx.type(0), indexType = ctx.type(1);
  int64_t rank = dataType.getRank(), q = indexType.getRank();
  int64_t k = indexType.getDimSize(q - 1);
  if (q < 1 || ShapedType::isDynamic(k) || k > rank)
    return ctx.fail("the last dimension of indices must be static and <= the rank of data");
  // for u in updates: data[indices[u]] (op)= updates[u], one slice at a time
  // (scf.for: later updates see earlier ones, as ONNX's reference does).
  OpBuilder &b = ctx.builder();
  Location loc = ctx.loc();
  SmallVector<SymInt> dataDims = inputDims(ctx, 0), indexDims = inputDims(ctx, 1);
  SymInt count = SymInt::of(1);
  for (int64_t d = 0; d + 1 < q; ++d)
    count = symArith(ctx, SymOp::Mul, count, indexDims[d]);
  SmallVector<SymInt> flatIndexShape{count, SymInt::of(k)};
  SmallVector<SymInt> flatUpdateShape{count};
  for (int64_t d = k; d < rank; ++d)
    flatUpdateShape.push_back(dataDims[d]);
  FailureOr<Value> indices = reshapeTensor(ctx, ctx.value(1), flatIndexShape);
  FailureOr<Value> updates = reshapeTensor(ctx, ctx.value(2), flatUpdateShape);
  if (failed(indices) || failed(updates))
    return failure();
  Type element = dataType.getElementType();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0), one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, zero, indexValue(b, loc, count), one, ValueRange{ctx.value(0)},
      [&](OpBuilder &lb, Location l, Value u, ValueRange iter) {
        SmallVector<OpFoldResult> offsets, sizes, strides;
        for (int64_t d = 0; d < rank; ++d) {
          strides.push_back(lb.getIndexAttr(1));
          if (d < k) {
            Value position = arith::ConstantIndexOp::create(lb, l, d);
            Value raw = tensor::ExtractOp::create(lb, l, *indices, ValueRange{u, position});
            offsets.push_back(normalizedIndex(lb, l, raw, indexValue(lb, l, dataDims[d])));
            sizes.push_back(lb.getIndexAttr(1));
          } else {
            offsets.push_back(lb.getIndexAttr(0));
            sizes.push_back(dataDims[d].isConstant() ? OpFoldResult(lb.getIndexAttr(dataDims[d].constant))
                                                     : OpFoldResult(dataDims[d].dynamic));
          }
        }
        SmallVector<OpFoldResult> updateOffsets{u}, updateSizes{lb.getIndexAttr(1)},
            updateStrides{lb.getIndexAttr(1)};
        for (int64_t d = k; d < rank; ++d) {
          updateOffsets.push_back(lb.getIndexAttr(0));
          updateSizes.push_back(sizes[d]);
          updateStrides.push_back(lb.getIndexAttr(1));
        }
        auto sliceType = RankedTensorType::get(
            SmallVector<int64_t>(rank, 1), element); // placeholder, replaced below
        (void)sliceType;
        Value update = tensor::ExtractSliceOp::create(lb, l, *updates, updateOffsets, updateSizes,
                                                      updateStrides);
        // Bring the update to the data slice's rank (leading 1s for indexed dims).
        SmallVector<SymInt> sliceShape;
        for (int64_t d = 0; d < rank; ++d)
          sliceShape.push_back(d < k ? SymInt::of(1) : dataDims[d]);
        Value updateSlice = *reshapeTensor(ctx, update, sliceShape);
        if (reduction != "none") {
          Value current = tensor::ExtractSliceOp::create(lb, l, iter[0], offsets, sizes, strides);
          current = *reshapeTensor(ctx, current, sliceShape);
          bool isFloat = isa<FloatType>(element);
          updateSlice = *broadcastElementwise(
              ctx, {current, updateSlice}, element, [&](OpBuilder &eb, Location el, ValueRange a) -> Value {
                if (reduction == "add")
                  return isFloat ? Value(arith::AddFOp::create(eb, el, a[0], a[1]))
                                 : Value(arith::AddIOp::create(eb, el, a[0], a[1]));
                if (reduction == "mul")
                  return isFloat ? Value(arith::MulFOp::create(eb, el, a[0], a[1]))
                                 : Value(arith::MulIOp::create(eb, el, a[0], a[1]));
                if (reduction == "max")
                  return isFloat ? Value(arith::MaximumFOp::create(eb, el, a[0], a[1]))
                                 : Value(arith::MaxSIOp::create(eb, el, a[0], a[1]));
                return isFloat ? Value(arith::MinimumFOp::create(eb, el, a[0], a[1]))
                               : Value(arith::MinSIOp::create(eb, el, a[0], a[1]));
              });
        }
        Value inserted = tensor::InsertSliceOp::create(lb, l, updateSlice, iter[0], offsets, sizes, strides);
        scf::YieldOp::create(lb, l, inserted);
      });
  return ctx.setOutput(0, loop.getResult(0), ctx.dtype(0));
}

} // namespace

void registerIndexingOps(OpRegistry &r) {
  addOnnxOp(r, "Concat", 4, importConcat);
  addOnnxOp(r, "Gather", 1, importGather);
  addOnnxOp(r, "GatherElements", 11, importGatherElements);
  addOnnxOp(r, "Slice", 1, importSlice);
  addOnnxOp(r, "Split", 2, importSplit);
  addOnnxOp(r, "Tile", 6, importTile);
  addOnnxOp(r, "Trilu", 14, importTrilu);
  addOnnxOp(r, "CumSum", 11, importCumSum);
  addOnnxOp(r, "Pad", 2, importPad);
  addOnnxOp(r, "ScatterND", 11, importScatterND);
}

} // namespace kiln::onnx_import

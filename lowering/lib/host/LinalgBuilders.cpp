//===- LinalgBuilders.cpp - pieces shared by the host lowering passes ----===//
#include "LinalgBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln::host {

/// `lhs * rhs + acc` in the element type of `acc`.
Value multiplyAccumulate(OpBuilder &b, Location loc, Value lhs, Value rhs, Value acc) {
  if (isa<FloatType>(acc.getType()))
    return arith::AddFOp::create(b, loc, acc, arith::MulFOp::create(b, loc, lhs, rhs));
  return arith::AddIOp::create(b, loc, acc, arith::MulIOp::create(b, loc, lhs, rhs));
}

/// The output init: the bias broadcast along all rows, or zeros.
Value buildAccumulatorInit(OpBuilder &b, Location loc, Value input, Value bias,
                           RankedTensorType resultType) {
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0, e = resultType.getRank(); d < e; ++d)
    if (resultType.isDynamicDim(d))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, input, d));
  Value empty = tensor::EmptyOp::create(b, loc, resultType, dynamicSizes);
  if (!bias) {
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(resultType.getElementType()));
    return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  }
  int64_t rank = resultType.getRank();
  MLIRContext *context = b.getContext();
  AffineMap biasMap = AffineMap::get(rank, 0, getAffineDimExpr(rank - 1, context));
  SmallVector<AffineMap> maps = {biasMap, b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  auto broadcast = linalg::GenericOp::create(
      b, loc, resultType, ValueRange{bias}, ValueRange{empty}, maps, iterators,
      [](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc, args[0]);
      });
  return broadcast.getResult(0);
}

} // namespace kiln::host

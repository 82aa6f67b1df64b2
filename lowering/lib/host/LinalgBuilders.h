//===- LinalgBuilders.h - pieces shared by the host lowering passes ------===//
#ifndef KILN_LOWERING_LIB_HOST_LINALGBUILDERS_H
#define KILN_LOWERING_LIB_HOST_LINALGBUILDERS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace kiln::host {

/// `lhs * rhs + acc` in the element type of `acc` (float or integer).
mlir::Value multiplyAccumulate(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs,
                               mlir::Value rhs, mlir::Value acc);

/// The init of a linear's output [..., N]: `bias` [N] broadcast along all
/// rows, or zeros when `bias` is null. Dynamic sizes come from `input`'s
/// leading dimensions.
mlir::Value buildAccumulatorInit(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                                 mlir::Value bias, mlir::RankedTensorType resultType);

} // namespace kiln::host

#endif // KILN_LOWERING_LIB_HOST_LINALGBUILDERS_H

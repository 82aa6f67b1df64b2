//===- Lowering.h - building linalg/tensor/arith IR for ONNX ops ---------===//
#ifndef KILN_IMPORTER_LOWERING_H
#define KILN_IMPORTER_LOWERING_H

#include "ImportContext.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/OpDefinition.h"

namespace kiln::onnx_import {

using ScalarBody =
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// Dimension sizes of input `index` (from its known contents when folded).
llvm::SmallVector<SymInt> inputDims(OpContext &ctx, int index);
/// The size of every dimension of `tensor`.
llvm::SmallVector<mlir::OpFoldResult> tensorSizes(OpContext &ctx, mlir::Value tensor);
mlir::Value emptyTensor(OpContext &ctx, llvm::ArrayRef<mlir::OpFoldResult> sizes,
                        mlir::Type element);
mlir::Value filledTensor(OpContext &ctx, llvm::ArrayRef<mlir::OpFoldResult> sizes,
                         mlir::Value scalar);
/// A scalar constant of `type` (float or integer).
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                           double value);
mlir::OpFoldResult toFoldResult(OpContext &ctx, const SymInt &value);
SymInt toSymInt(mlir::OpFoldResult value);

/// Integer arithmetic on values known at import or at run time.
enum class SymOp { Add, Sub, Mul, Div, Min, Max };
SymInt symArith(OpContext &ctx, SymOp op, const SymInt &a, const SymInt &b);

/// Applies `body` to the elements of `inputs` broadcast together with
/// numpy rules. Statically mismatching dimensions fail ("inconsistent
/// shapes"); a dynamic dimension is taken to equal its counterparts.
/// `extraShape`, when given, joins the broadcast as a shape without data
/// (Expand's target shape).
mlir::FailureOr<mlir::Value> broadcastElementwise(OpContext &ctx,
                                                  llvm::ArrayRef<mlir::Value> inputs,
                                                  mlir::Type resultElement, ScalarBody body,
                                                  llvm::ArrayRef<SymInt> extraShape = {});
/// Index values (as `index`) of the generic's iteration space.
llvm::SmallVector<mlir::Value> loopIndices(mlir::OpBuilder &b, mlir::Location loc, int64_t rank);
/// An index value for a SymInt.
mlir::Value indexValue(mlir::OpBuilder &b, mlir::Location loc, const SymInt &value);

/// A linalg.generic over `output`'s shape with the given maps and iterators.
mlir::Value buildGeneric(OpContext &ctx, llvm::ArrayRef<mlir::Value> inputs,
                         mlir::Value init, llvm::ArrayRef<mlir::AffineMap> maps,
                         llvm::ArrayRef<mlir::utils::IteratorType> iterators,
                         ScalarBody body);

/// linalg.transpose with `permutation` (result dim i = input dim perm[i]).
mlir::Value transposeTensor(OpContext &ctx, mlir::Value input,
                            llvm::ArrayRef<int64_t> permutation);

/// Converts one scalar between ONNX element types with Cast semantics.
mlir::Value convertScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value scalar,
                          int32_t from, int32_t to);
/// Converts a whole tensor (no-op when the types match).
mlir::Value convertTensor(OpContext &ctx, mlir::Value tensor, int32_t from, int32_t to);

/// Reshapes `input` to `sizes` (static or symbolic), choosing
/// tensor.collapse/expand_shape when possible and tensor.reshape otherwise.
mlir::FailureOr<mlir::Value> reshapeTensor(OpContext &ctx, mlir::Value input,
                                           llvm::ArrayRef<SymInt> sizes);

/// Reduces `input` over `axes` with `combine`, starting from `initValue`.
mlir::Value reduceTensor(OpContext &ctx, mlir::Value input, llvm::ArrayRef<int64_t> axes,
                         bool keepDims, mlir::Value initValue, ScalarBody combine);

enum class ReduceKind { Sum, Max, Min, Prod };
/// Reduces over `axes` with `kind` (integer ops follow `dtype`'s sign).
mlir::Value reduce(OpContext &ctx, mlir::Value input, llvm::ArrayRef<int64_t> axes,
                   bool keepDims, ReduceKind kind, int32_t dtype);
/// The mean over `axes` (float inputs).
mlir::Value reduceMean(OpContext &ctx, mlir::Value input, llvm::ArrayRef<int64_t> axes,
                       bool keepDims);
/// Elementwise helpers over broadcast float tensors.
mlir::Value floatBinary(OpContext &ctx, mlir::Value lhs, mlir::Value rhs,
                        llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                                       mlir::Value, mlir::Value)> fn);
mlir::Value floatUnary(OpContext &ctx, mlir::Value input,
                       llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                                      mlir::Value)> fn);

} // namespace kiln::onnx_import

#endif // KILN_IMPORTER_LOWERING_H

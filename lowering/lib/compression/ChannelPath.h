//===- ChannelPath.h - linear -> elementwise ops -> linear chains --------===//
#ifndef KILN_LOWERING_COMPRESSION_CHANNELPATH_H
#define KILN_LOWERING_COMPRESSION_CHANNELPATH_H

#include "kiln/Dialect/KilnDialect.h"

#include <optional>
#include <string>

namespace kiln::compression {

/// The ops between a producer linear and its single consumer linear: every
/// channel of the producer's output flows, on its own, into the consumer.
struct ChannelPath {
  LinearOp producer, consumer;
  llvm::SmallVector<mlir::Operation *> elementwise;
};

/// A constant operand of a path op: a splat or a tensor of the path's shape.
bool isSliceableConstant(mlir::Value operand, mlir::ShapedType pathType);

/// Follows `producer`'s result through single-use elementwise ops with
/// constant operands to a kiln.linear that takes it as input; explains in
/// `why` otherwise.
std::optional<ChannelPath> findPath(LinearOp producer, std::string &why);

/// Makes `linear` compute on x·diag(`inverseScale`) instead of x: folds the
/// scaling into the producing linear when the path to it commutes with
/// positive per-channel scaling (add, sub, max, min with constants scaled
/// too; mul, div by constants), else inserts an arith.mulf by a constant of
/// the input's static shape. Returns how, or failure for a dynamic input.
/// Marks linears whose weights were rescaled against their input or output
/// (AWQ, SmoothQuant): their weights are not comparable with the teacher's.
inline constexpr llvm::StringLiteral kRescaledAttr = "kiln.rescaled";

bool canScaleLinearInput(LinearOp linear);
mlir::FailureOr<std::string> scaleLinearInput(LinearOp linear,
                                              llvm::ArrayRef<float> inverseScale);

} // namespace kiln::compression

#endif // KILN_LOWERING_COMPRESSION_CHANNELPATH_H

//===- ChannelPath.cpp - linear -> elementwise ops -> linear chains ------===//
#include "ChannelPath.h"
#include "CompressionUtils.h"

#include "kiln/Dialect/Semantics.h"

using namespace mlir;

namespace kiln::compression {

bool isSliceableConstant(Value operand, ShapedType pathType) {
  auto constant = operand.getDefiningOp<arith::ConstantOp>();
  auto elements = constant ? dyn_cast<DenseElementsAttr>(constant.getValue()) : nullptr;
  return elements && (elements.isSplat() || elements.getType() == pathType);
}

std::optional<ChannelPath> findPath(LinearOp producer, std::string &why) {
  ChannelPath path{producer, nullptr, {}};
  Value current = producer.getResult();
  auto type = cast<RankedTensorType>(current.getType());
  if (!type.hasStaticShape()) {
    why = "its output shape is dynamic";
    return std::nullopt;
  }
  while (true) {
    if (!current.hasOneUse()) {
      why = "its output has more than one use";
      return std::nullopt;
    }
    Operation *user = *current.getUsers().begin();
    if (auto consumer = dyn_cast<LinearOp>(user)) {
      if (consumer.getInput() != current) {
        why = "it feeds the weight or bias of a linear";
        return std::nullopt;
      }
      path.consumer = consumer;
      return path;
    }
    bool elementwise = user->hasTrait<OpTrait::Elementwise>() && user->getNumResults() == 1 &&
                       user->getResult(0).getType() == type &&
                       llvm::all_of(user->getOperands(), [&](Value operand) {
                         return operand == current || isSliceableConstant(operand, type);
                       });
    if (!elementwise) {
      why = "'" + user->getName().getStringRef().str() +
            "' on the path is not an elementwise op with constant operands";
      return std::nullopt;
    }
    path.elementwise.push_back(user);
    current = user->getResult(0);
  }
}

namespace {

/// Whether scaling `op`'s chain operand by positive per-channel factors
/// scales its result the same way, and whether its constants must be scaled.
enum class Commutes { No, KeepConstants, ScaleConstants };
Commutes commutesWithScaling(Operation *op, Value chain) {
  if (isa<arith::AddFOp, arith::SubFOp, arith::MaximumFOp, arith::MinimumFOp>(op))
    return Commutes::ScaleConstants;
  if (isa<arith::MulFOp>(op) || (isa<arith::DivFOp>(op) && op->getOperand(0) == chain))
    return Commutes::KeepConstants;
  return Commutes::No;
}

/// `values` [rows, width] with column c multiplied by factor[c].
std::vector<float> scaleColumns(std::vector<float> values, ArrayRef<float> factor) {
  for (size_t i = 0; i < values.size(); ++i)
    values[i] *= factor[i % factor.size()];
  return values;
}

Value scaledConstant(OpBuilder &builder, arith::ConstantOp constant, RankedTensorType type,
                     ArrayRef<float> factor) {
  std::vector<float> values = *getElementsAsFloats(cast<ElementsAttr>(constant.getValue()));
  if (values.size() == 1)
    values.assign(static_cast<size_t>(type.getNumElements()), values[0]);
  return arith::ConstantOp::create(builder, constant.getLoc(),
                                   buildDenseFloats(type, scaleColumns(values, factor)));
}

/// The producer path of `linear` if the scaling can be folded into it.
std::optional<ChannelPath> foldablePath(LinearOp linear) {
  Value current = linear.getInput();
  Operation *def = current.getDefiningOp();
  // Walk back through the non-constant operand of each elementwise op.
  while (def && !isa<LinearOp>(def)) {
    auto chain = llvm::find_if(def->getOperands(), [](Value operand) {
      return !operand.getDefiningOp<arith::ConstantOp>();
    });
    if (chain == def->getOperands().end())
      return std::nullopt;
    current = *chain;
    def = current.getDefiningOp();
  }
  auto producer = dyn_cast_or_null<LinearOp>(def);
  std::string why;
  std::optional<ChannelPath> path = producer ? findPath(producer, why) : std::nullopt;
  if (!path || path->consumer != linear || !getDenseWeight(producer))
    return std::nullopt;
  if (Value bias = producer.getBias(); bias && !bias.getDefiningOp<arith::ConstantOp>())
    return std::nullopt;
  Value chain = producer.getResult();
  for (Operation *op : path->elementwise) {
    if (commutesWithScaling(op, chain) == Commutes::No)
      return std::nullopt;
    chain = op->getResult(0);
  }
  return path;
}

void foldIntoProducer(ChannelPath &path, ArrayRef<float> inverseScale) {
  LinearOp producer = path.producer;
  OpBuilder builder(producer);
  DenseWeight weight = *getDenseWeight(producer);
  // Row k of the producer's weight makes channel k.
  std::vector<float> rows = weight.values;
  for (int64_t r = 0; r < weight.rows; ++r)
    for (int64_t c = 0; c < weight.cols; ++c)
      rows[r * weight.cols + c] *= inverseScale[r];
  producer.getWeightMutable().assign(
      arith::ConstantOp::create(builder, weight.constant.getLoc(), buildDenseFloats(weight.type, rows)));
  if (weight.constant->use_empty())
    weight.constant->erase();
  if (Value bias = producer.getBias()) {
    auto constant = bias.getDefiningOp<arith::ConstantOp>();
    producer.getBiasMutable().assign(
        scaledConstant(builder, constant, cast<RankedTensorType>(bias.getType()), inverseScale));
    if (constant->use_empty())
      constant->erase();
  }
  Value chain = producer.getResult();
  for (Operation *op : path.elementwise) {
    builder.setInsertionPoint(op);
    if (commutesWithScaling(op, chain) == Commutes::ScaleConstants)
      for (OpOperand &operand : op->getOpOperands())
        if (auto constant = operand.get().getDefiningOp<arith::ConstantOp>()) {
          operand.set(scaledConstant(builder, constant,
                                     cast<RankedTensorType>(chain.getType()), inverseScale));
          if (constant->use_empty())
            constant->erase();
        }
    chain = op->getResult(0);
  }
}

} // namespace

bool canScaleLinearInput(LinearOp linear) {
  return foldablePath(linear) ||
         cast<RankedTensorType>(linear.getInput().getType()).hasStaticShape();
}

FailureOr<std::string> scaleLinearInput(LinearOp linear, ArrayRef<float> inverseScale) {
  // Both layers now differ from the uncompressed model by the scaling:
  // kiln-distill and the report must not compare their weights directly.
  linear->setAttr(kRescaledAttr, UnitAttr::get(linear.getContext()));
  if (std::optional<ChannelPath> path = foldablePath(linear)) {
    foldIntoProducer(*path, inverseScale);
    path->producer->setAttr(kRescaledAttr, UnitAttr::get(linear.getContext()));
    return "folded into '" + layerName(path->producer) + "'";
  }
  auto type = cast<RankedTensorType>(linear.getInput().getType());
  if (!type.hasStaticShape())
    return failure();
  OpBuilder builder(linear);
  std::vector<float> factors(static_cast<size_t>(type.getNumElements()), 1.0f);
  auto constant = arith::ConstantOp::create(builder, linear.getLoc(),
                                            buildDenseFloats(type, scaleColumns(factors, inverseScale)));
  auto scaled = arith::MulFOp::create(builder, linear.getLoc(), linear.getInput(), constant);
  linear.getInputMutable().assign(scaled);
  return std::string("an explicit arith.mulf on its input");
}

} // namespace kiln::compression

//===- F16Activations.cpp - f16 storage, f32 arithmetic ------------------===//
//
// --precision=f16: tensors between linalg ops (and the weights they read)
// are f16 in memory, halving their traffic; each op widens what it reads to
// f32, computes in f32 and narrows what it writes. Reductions keep f32
// results so that sums and dot products accumulate in f32.
//
//===----------------------------------------------------------------------===//
#include "kiln/Lowering/CudaCodegenPasses.h"

#include "kiln/Dialect/Semantics.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Linalg/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APFloat.h"

namespace kiln {
#define GEN_PASS_DEF_F16ACTIVATIONS
#include "kiln/Lowering/CudaCodegenPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

constexpr double kF16Max = 65504.0;

Type elementTypeOf(Value value) { return getElementTypeOrSelf(value.getType()); }

bool isF32Tensor(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && type.getElementType().isF32();
}

RankedTensorType withElementType(Value value, Type element) {
  return cast<RankedTensorType>(value.getType()).clone(element);
}

/// Clamps `value` (f32) to the finite f16 range and narrows it: an
/// overflow becomes ±65504 rather than ±inf, so that masks such as
/// `(1 - m) * lowest` never turn into 0 * inf = NaN downstream.
Value saturateToF16(OpBuilder &b, Location loc, Value value) {
  Value high = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(kF16Max));
  Value low = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(-kF16Max));
  Value clamped = arith::MinimumFOp::create(b, loc, value, high);
  clamped = arith::MaximumFOp::create(b, loc, clamped, low);
  return arith::TruncFOp::create(b, loc, b.getF16Type(), clamped);
}

/// An elementwise op converting `source` to `element` (f16 <-> f32).
Value convertTensor(OpBuilder &b, Location loc, Value source, Type element) {
  auto type = withElementType(source, element);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, source);
  Value init = tensor::EmptyOp::create(b, loc, sizes, element);
  auto identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{type}, ValueRange{source}, ValueRange{init},
      ArrayRef<AffineMap>{identity, identity}, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value converted =
            element.isF16() ? saturateToF16(nested, nestedLoc, args[0])
                            : arith::ExtFOp::create(nested, nestedLoc, element, args[0]).getResult();
        linalg::YieldOp::create(nested, nestedLoc, converted);
      });
  return op.getResult(0);
}

/// An f32 constant as an f16 constant with the same values (saturated).
FailureOr<Value> narrowConstant(OpBuilder &b, arith::ConstantOp constant) {
  auto elements = dyn_cast<ElementsAttr>(constant.getValue());
  if (!elements)
    return failure();
  FailureOr<std::vector<float>> values = getElementsAsFloats(elements);
  if (failed(values))
    return failure();
  std::vector<char> raw(values->size() * 2);
  for (size_t i = 0; i < values->size(); ++i) {
    double clamped = std::clamp(double((*values)[i]), -kF16Max, kF16Max);
    if ((*values)[i] != (*values)[i]) // NaN stays NaN
      clamped = (*values)[i];
    llvm::APFloat half(clamped);
    bool lost = false;
    half.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven, &lost);
    uint16_t bits = uint16_t(half.bitcastToAPInt().getZExtValue());
    std::memcpy(&raw[2 * i], &bits, 2);
  }
  auto type = cast<RankedTensorType>(elements.getType()).clone(b.getF16Type());
  auto attr = DenseElementsAttr::getFromRawBuffer(type, raw);
  return arith::ConstantOp::create(b, constant.getLoc(), attr).getResult();
}

class F16Rewriter {
public:
  explicit F16Rewriter(func::FuncOp func) : func(func) {}

  LogicalResult run() {
    if (failed(generalizeNamedOps()))
      return failure();
    SmallVector<linalg::GenericOp> generics;
    func.walk([&](linalg::GenericOp op) {
      if (op.hasPureTensorSemantics() && !op->getParentOfType<linalg::GenericOp>())
        generics.push_back(op);
    });
    for (linalg::GenericOp op : generics)
      rewrite(op);
    for (auto &[narrow, wide] : narrowedConstants)
      if (wide->use_empty())
        wide->erase();
    return success();
  }

private:
  LogicalResult generalizeNamedOps() {
    SmallVector<linalg::LinalgOp> named;
    func.walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::GenericOp>(op) && op.hasPureTensorSemantics())
        named.push_back(op);
    });
    IRRewriter rewriter(func.getContext());
    for (linalg::LinalgOp op : named) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::generalizeNamedOp(rewriter, op)))
        return op->emitError("kiln-f16-activations: cannot generalize this op");
    }
    return success();
  }

  /// Weights read by linalg ops become f16 constants (one per constant).
  Value narrowInput(OpBuilder &b, Value input) {
    auto constant = input.getDefiningOp<arith::ConstantOp>();
    if (!constant || !isF32Tensor(input))
      return input;
    auto found = llvm::find_if(narrowedConstants, [&](auto &entry) {
      return entry.second == constant.getOperation();
    });
    if (found != narrowedConstants.end())
      return found->first;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(constant);
    FailureOr<Value> narrow = narrowConstant(b, constant);
    if (failed(narrow))
      return input;
    narrowedConstants.push_back({*narrow, constant.getOperation()});
    return *narrow;
  }

  /// The result type each output gets: f16 for f32 results of elementwise
  /// ops that read a tensor (fills stay f32: they initialize reductions).
  SmallVector<Type> resultElementTypes(linalg::GenericOp op) {
    bool readsTensor = llvm::any_of(op.getDpsInputs(), [](Value input) {
      return isa<ShapedType>(input.getType());
    });
    bool elementwise = op.getNumReductionLoops() == 0 && readsTensor;
    SmallVector<Type> types;
    // The results' types, not the inits': an init may already be f16.
    for (Value result : op.getResults()) {
      Type element = elementTypeOf(result);
      types.push_back(elementwise && element.isF32() ? Float16Type::get(op.getContext())
                                                     : element);
    }
    return types;
  }

  /// The init of an output that becomes `element`: a fresh empty tensor when
  /// the body never reads it, the old value converted otherwise.
  Value initFor(OpBuilder &b, linalg::GenericOp op, OpOperand &init, Type element) {
    if (elementTypeOf(init.get()) == element)
      return init.get();
    Location loc = op.getLoc();
    if (!op.payloadUsesValueFromOperand(&init)) {
      SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, init.get());
      return tensor::EmptyOp::create(b, loc, sizes, element);
    }
    return convertTensor(b, loc, init.get(), element);
  }

  void rewrite(linalg::GenericOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<Value> inputs;
    for (Value input : op.getDpsInputs())
      inputs.push_back(narrowInput(b, input));
    SmallVector<Type> results = resultElementTypes(op);
    SmallVector<Value> inits;
    SmallVector<Type> resultTypes;
    for (auto [init, element] : llvm::zip(op.getDpsInitsMutable(), results)) {
      inits.push_back(initFor(b, op, init, element));
      resultTypes.push_back(withElementType(init.get(), element));
    }
    bool unchanged = llvm::equal(inputs, op.getDpsInputs()) &&
                     llvm::equal(inits, op.getDpsInits()) &&
                     llvm::equal(resultTypes, op.getResultTypes());
    bool argsMatch = llvm::all_of(op.getOpOperandsMatchingBBargs(), [&](OpOperand *operand) {
      return elementTypeOf(operand->get()) == op.getMatchingBlockArgument(operand).getType();
    });
    if (unchanged && argsMatch)
      return;
    auto replacement = linalg::GenericOp::create(
        b, loc, resultTypes, inputs, inits, op.getIndexingMapsArray(),
        op.getIteratorTypesArray(),
        [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
          cloneBody(nested, nestedLoc, op, args, results);
        });
    for (auto [old, now] : llvm::zip(op.getResults(), replacement.getResults())) {
      bool narrowed = old.getType() != now.getType();
      old.replaceAllUsesWith(now);
      if (narrowed)
        redistributeUsers(now);
    }
    op.erase();
  }

  /// The old body on the new block arguments: arguments that became f16 are
  /// widened first, yielded values that must be f16 are narrowed last.
  void cloneBody(OpBuilder &b, Location loc, linalg::GenericOp op, ValueRange args,
                 ArrayRef<Type> results) {
    IRMapping mapping;
    Block &body = op.getRegion().front();
    for (auto [old, now] : llvm::zip(body.getArguments(), args)) {
      Value mapped = now;
      if (now.getType() != old.getType() && !old.use_empty())
        mapped = arith::ExtFOp::create(b, loc, old.getType(), now);
      mapping.map(old, mapped);
    }
    for (Operation &inner : body.without_terminator())
      b.clone(inner, mapping);
    SmallVector<Value> yielded;
    for (auto [value, element] : llvm::zip(body.getTerminator()->getOperands(), results)) {
      Value mapped = mapping.lookupOrDefault(value);
      if (mapped.getType() != element)
        mapped = saturateToF16(b, loc, mapped);
      yielded.push_back(mapped);
    }
    linalg::YieldOp::create(b, loc, yielded);
  }

  /// `value` became f16 (it was f32): linalg ops read any element type
  /// (they are rewritten after), shape ops follow its type, every other
  /// user reads a widened copy made right after it.
  void redistributeUsers(Value value) {
    Value widened;
    for (OpOperand &use : llvm::make_early_inc_range(value.getUses())) {
      Operation *user = use.getOwner();
      if (isa<linalg::GenericOp>(user))
        continue;
      if (isa<tensor::ReshapeOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp,
              tensor::ExtractSliceOp>(user) &&
          use.getOperandNumber() == 0) {
        Value result = user->getResult(0);
        result.setType(withElementType(result, elementTypeOf(value)));
        redistributeUsers(result);
        continue;
      }
      if (!widened) {
        OpBuilder b(value.getContext());
        b.setInsertionPointAfterValue(value);
        widened = convertTensor(b, value.getLoc(), value, Float32Type::get(value.getContext()));
      }
      use.set(widened);
    }
  }

  func::FuncOp func;
  SmallVector<std::pair<Value, Operation *>> narrowedConstants;
};

struct F16Activations : impl::F16ActivationsBase<F16Activations> {
  void runOnOperation() override {
    if (failed(F16Rewriter(getOperation()).run()))
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln

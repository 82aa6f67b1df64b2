//===- CudaFuseAttention.cpp - attention chains as one generated kernel --===//
//
// Finds O = softmax(Q·Kᵀ · scale + mask) · V on linalg-on-tensors (the
// importer's batched contractions, elementwise scale and mask, and its
// max / sub / exp / sum / div softmax) and replaces the whole chain with a
// launch of the flash-style kernel of kernels/Attention.h. The matcher works
// backwards from the ·V contraction and accepts only what the kernel
// computes exactly; every other attention site is named in one remark.
//
//===----------------------------------------------------------------------===//
#include "LibraryKernelModule.h"
#include "ReasonList.h"

#include "kiln/Kernels/Attention.h"
#include "kiln/Lowering/CudaAttentionPasses.h"
#include "kiln/Lowering/LayerName.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"

#include <cmath>

namespace kiln {
#define GEN_PASS_DEF_CUDAFUSEATTENTION
#include "kiln/Lowering/CudaAttentionPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {


llvm::Error notFused(const llvm::Twine &why) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), why);
}

//===-- generic op shapes ---------------------------------------------------//

bool allParallel(linalg::GenericOp op) { return op.getNumReductionLoops() == 0; }

/// The one op of the body (besides the yield) whose result is yielded.
Operation *singleBodyOp(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (op.getNumDpsInits() != 1 || body.getOperations().size() != 2)
    return nullptr;
  Value yielded = body.getTerminator()->getOperand(0);
  return yielded.getDefiningOp();
}

bool isZeroFill(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
}

/// A fill with -inf or the lowest finite f32 (at most every score).
bool isLowestFill(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  FloatAttr value;
  return fill && matchPattern(fill.getInputs()[0], m_Constant(&value)) &&
         value.getValueAsDouble() <= -3.4028234e38;
}

/// The float of a splat f32 constant (a scalar tensor or a captured scalar).
std::optional<double> scalarConstant(Value value) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr); dense && dense.isSplat())
    return dense.getSplatValue<APFloat>().convertToDouble();
  return std::nullopt;
}

bool hasStaticShape(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && type.hasStaticShape();
}

ArrayRef<int64_t> shapeOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}

//===-- contractions --------------------------------------------------------//

/// out[batch..., i, j] = Σ_r lhs[...] · rhs[...]: the loop dims of each role
/// and where they sit in the inputs.
struct Contraction {
  linalg::GenericOp op;
  int64_t batchRank = 0;
  unsigned rowLoop = 0, colLoop = 0, reductionLoop = 0;
  OpOperand *rowOperand = nullptr; // reads rows and the reduction (Q, P)
  OpOperand *colOperand = nullptr; // reads columns and the reduction (K, V)
};

bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  Operation *add = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!isa_and_nonnull<arith::AddFOp>(add))
    return false;
  Value acc = body.getArgument(2);
  Value product = add->getOperand(0) == acc ? add->getOperand(1) : add->getOperand(0);
  if (add->getOperand(0) != acc && add->getOperand(1) != acc)
    return false;
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) || (mul.getLhs() == b && mul.getRhs() == a);
}

std::optional<unsigned> dimPosition(AffineMap map, unsigned loop) {
  for (auto [i, expr] : llvm::enumerate(map.getResults()))
    if (auto dim = dyn_cast<AffineDimExpr>(expr); dim && dim.getPosition() == loop)
      return i;
  return std::nullopt;
}

llvm::Expected<Contraction> matchContraction(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 1 ||
      !isMultiplyAccumulate(op))
    return notFused("not a batched matrix product");
  Contraction c;
  c.op = op;
  unsigned loops = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned parallel = 0;
  for (unsigned loop = 0; loop < loops; ++loop) {
    if (iterators[loop] == utils::IteratorType::reduction)
      c.reductionLoop = loop;
    else
      ++parallel;
  }
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  // The output is [parallel loops in order]: batch..., rows, columns.
  if (parallel < 3 || outMap.getNumResults() != parallel || !outMap.isProjectedPermutation())
    return notFused("not a batched matrix product with an ordered output");
  SmallVector<unsigned> outLoops;
  for (AffineExpr expr : outMap.getResults())
    outLoops.push_back(cast<AffineDimExpr>(expr).getPosition());
  if (!llvm::is_sorted(outLoops))
    return notFused("the product's output is transposed");
  c.batchRank = parallel - 2;
  c.rowLoop = outLoops[parallel - 2];
  c.colLoop = outLoops[parallel - 1];
  for (OpOperand *input : op.getDpsInputOperands()) {
    // Operands may be broadcast along batch axes (grouped-query K and V).
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/true) ||
        map.getNumResults() > static_cast<unsigned>(c.batchRank + 2) ||
        !dimPosition(map, c.reductionLoop))
      return notFused("an operand of the product is not a plain matrix");
    bool rows = dimPosition(map, c.rowLoop).has_value();
    bool cols = dimPosition(map, c.colLoop).has_value();
    if (rows == cols)
      return notFused("an operand of the product reads both or neither output axes");
    (rows ? c.rowOperand : c.colOperand) = input;
  }
  if (!c.rowOperand || !c.colOperand)
    return notFused("not a batched matrix product");
  if (!isZeroFill(op.getDpsInits()[0]))
    return notFused("the product accumulates onto a non-zero value");
  return c;
}

/// The axes of `operand` that hold the loops [batch..., first, second];
/// -1 where the operand is broadcast along a batch loop.
SmallVector<int64_t> operandAxes(const Contraction &c, OpOperand *operand, unsigned first,
                                 unsigned second) {
  linalg::GenericOp op = c.op;
  AffineMap map = op.getMatchingIndexingMap(operand);
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<int64_t> axes;
  for (int64_t i = 0; i < c.batchRank; ++i) {
    std::optional<unsigned> axis =
        dimPosition(map, cast<AffineDimExpr>(outMap.getResult(i)).getPosition());
    axes.push_back(axis ? int64_t(*axis) : -1);
  }
  axes.push_back(*dimPosition(map, first));
  axes.push_back(*dimPosition(map, second));
  return axes;
}

//===-- operands read in place through their strides ------------------------//

/// A tensor whose elements are those of row-major `source` at `offset` +
/// Σ index·stride.
struct StridedTensor {
  Value source;
  int64_t offset = 0;
  SmallVector<int64_t> strides;
};

SmallVector<int64_t> rowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Strides of a reshape's result from its input's (`from`, `fromStrides`):
/// each run of input axes that a run of result axes regroups must be
/// contiguous in memory. Size-1 axes take stride 0.
std::optional<SmallVector<int64_t>>
reshapeStrides(ArrayRef<int64_t> from, ArrayRef<int64_t> fromStrides, ArrayRef<int64_t> to) {
  SmallVector<int64_t> strides(to.size(), 0);
  size_t i = 0, j = 0;
  auto skipOnes = [](ArrayRef<int64_t> shape, size_t &k) {
    while (k < shape.size() && shape[k] == 1)
      ++k;
  };
  while (true) {
    skipOnes(from, i);
    skipOnes(to, j);
    if (i == from.size() || j == to.size())
      return i == from.size() && j == to.size() ? std::optional(strides) : std::nullopt;
    // One group: input axes [i, iEnd) and result axes [j, jEnd) of equal size.
    size_t iEnd = i + 1, jEnd = j + 1;
    int64_t fromSize = from[i], toSize = to[j];
    while (fromSize != toSize) {
      if (fromSize < toSize) {
        if (iEnd == from.size())
          return std::nullopt;
        if (from[iEnd] != 1 && fromStrides[iEnd - 1] != fromStrides[iEnd] * from[iEnd])
          return std::nullopt; // not contiguous: the group cannot be regrouped
        fromSize *= from[iEnd++];
      } else {
        if (jEnd == to.size())
          return std::nullopt;
        toSize *= to[jEnd++];
      }
    }
    // The innermost non-unit input axis of the group gives the base stride.
    size_t inner = iEnd - 1;
    while (from[inner] == 1 && inner > i)
      --inner;
    int64_t stride = fromStrides[inner];
    for (size_t k = jEnd; k-- > j;) {
      if (to[k] == 1)
        continue;
      strides[k] = stride;
      stride *= to[k];
    }
    i = iEnd;
    j = jEnd;
  }
}

/// Reads `value` in place where it is only a transpose, reshape or static
/// slice of another tensor: the kernel then reads that tensor's buffer
/// through strides instead of a materialized copy.
StridedTensor stridedView(Value value) {
  StridedTensor self{value, 0, rowMajorStrides(shapeOf(value))};
  Operation *producer = value.getDefiningOp();
  if (!producer)
    return self;
  auto input = [&]() -> std::optional<StridedTensor> {
    Value from = producer->getOperand(0);
    if (!hasStaticShape(from))
      return std::nullopt;
    return stridedView(from);
  };
  if (auto transpose = dyn_cast<linalg::TransposeOp>(producer)) {
    std::optional<StridedTensor> in = input();
    if (!in)
      return self;
    // Result axis a is input axis perm[a].
    StridedTensor view{in->source, in->offset, {}};
    for (int64_t axis : transpose.getPermutation())
      view.strides.push_back(in->strides[axis]);
    return view;
  }
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(producer)) {
    std::optional<StridedTensor> in = input();
    if (!in || !slice.hasUnitStride() ||
        slice.getSourceType().getRank() != slice.getType().getRank() ||
        ShapedType::isDynamicShape(slice.getStaticOffsets()))
      return self;
    StridedTensor view = *in;
    for (auto [offset, stride] : llvm::zip(slice.getStaticOffsets(), in->strides))
      view.offset += offset * stride;
    return view;
  }
  if (isa<tensor::ReshapeOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp>(producer)) {
    std::optional<StridedTensor> in = input();
    if (!in)
      return self;
    std::optional<SmallVector<int64_t>> strides =
        reshapeStrides(shapeOf(producer->getOperand(0)), in->strides, shapeOf(value));
    if (!strides)
      return self;
    return {in->source, in->offset, *strides};
  }
  return self;
}

//===-- the chain -----------------------------------------------------------//

/// Elementwise binary op `op(in0, in1)` over identity-mapped in0.
template <typename OpTy> OpTy elementwiseBody(linalg::GenericOp op) {
  if (!allParallel(op) || op.getNumDpsInputs() < 1 || op.getNumDpsInputs() > 2)
    return nullptr;
  if (!op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return nullptr;
  return dyn_cast_or_null<OpTy>(singleBodyOp(op));
}

/// The map an operand broadcast over the last axis has: identity with the
/// last result dropped or replaced by 0.
bool isRowBroadcast(AffineMap map, unsigned rank) {
  if (map.getNumDims() != rank)
    return false;
  for (unsigned i = 0; i + 1 < rank; ++i)
    if (i >= map.getNumResults() || map.getResult(i) != getAffineDimExpr(i, map.getContext()))
      return false;
  if (map.getNumResults() == rank - 1)
    return true;
  return map.getNumResults() == rank && isa<AffineConstantExpr>(map.getResult(rank - 1)) &&
         cast<AffineConstantExpr>(map.getResult(rank - 1)).getValue() == 0;
}

/// A reduction of `input` over the last axis with `combine`, as the importer
/// writes it: out[..., 0] = combine(out, in).
template <typename CombineOp>
bool isLastAxisReduction(Value result, Value input, function_ref<bool(Value)> initOk) {
  auto op = result.getDefiningOp<linalg::GenericOp>();
  if (!op || op.getNumDpsInputs() != 1 || op.getDpsInputs()[0] != input ||
      op.getNumReductionLoops() != 1)
    return false;
  unsigned rank = op.getNumLoops();
  if (op.getIteratorTypesArray().back() != utils::IteratorType::reduction ||
      !op.getMatchingIndexingMap(op.getDpsInputOperand(0)).isIdentity() ||
      !isRowBroadcast(op.getMatchingIndexingMap(op.getDpsInitOperand(0)), rank))
    return false;
  Operation *body = singleBodyOp(op);
  if (!isa_and_nonnull<CombineOp>(body))
    return false;
  Block &block = op.getRegion().front();
  bool operandsOk = llvm::is_contained(body->getOperands(), block.getArgument(0)) &&
                    llvm::is_contained(body->getOperands(), block.getArgument(1));
  return operandsOk && initOk(op.getDpsInits()[0]);
}

/// The generic op pattern P = softmax(X) over the last axis: returns X and
/// the ops of the softmax.
struct Softmax {
  Value input;
  SmallVector<Operation *> ops;
};

constexpr llvm::StringLiteral kNotSoftmax = "not a softmax";

llvm::Expected<Softmax> matchSoftmax(Value probabilities) {
  auto fail = [] { return notFused(kNotSoftmax); };
  auto divide = probabilities.getDefiningOp<linalg::GenericOp>();
  auto div = divide ? elementwiseBody<arith::DivFOp>(divide) : nullptr;
  if (!div || divide.getNumDpsInputs() != 2)
    return fail();
  Block &divBlock = divide.getRegion().front();
  unsigned rank = divide.getNumLoops();
  if (div.getLhs() != divBlock.getArgument(0) || div.getRhs() != divBlock.getArgument(1) ||
      !divide.getMatchingIndexingMap(divide.getDpsInputOperand(0)).isIdentity() ||
      !isRowBroadcast(divide.getMatchingIndexingMap(divide.getDpsInputOperand(1)), rank))
    return fail();
  Value exps = divide.getDpsInputs()[0], sums = divide.getDpsInputs()[1];
  if (!isLastAxisReduction<arith::AddFOp>(sums, exps, isZeroFill))
    return fail();
  auto exponential = exps.getDefiningOp<linalg::GenericOp>();
  auto exp = exponential ? elementwiseBody<math::ExpOp>(exponential) : nullptr;
  if (!exp || exponential.getNumDpsInputs() != 1 ||
      !exponential.getMatchingIndexingMap(exponential.getDpsInputOperand(0)).isIdentity())
    return fail();
  auto subtract = exponential.getDpsInputs()[0].getDefiningOp<linalg::GenericOp>();
  auto sub = subtract ? elementwiseBody<arith::SubFOp>(subtract) : nullptr;
  if (!sub || subtract.getNumDpsInputs() != 2)
    return fail();
  Block &subBlock = subtract.getRegion().front();
  if (sub.getLhs() != subBlock.getArgument(0) || sub.getRhs() != subBlock.getArgument(1) ||
      !subtract.getMatchingIndexingMap(subtract.getDpsInputOperand(0)).isIdentity() ||
      !isRowBroadcast(subtract.getMatchingIndexingMap(subtract.getDpsInputOperand(1)), rank))
    return fail();
  Value input = subtract.getDpsInputs()[0], maxima = subtract.getDpsInputs()[1];
  if (!isLastAxisReduction<arith::MaximumFOp>(maxima, input, isLowestFill) &&
      !isLastAxisReduction<arith::MaxNumFOp>(maxima, input, isLowestFill))
    return fail();
  Softmax softmax{input,
                  {divide, sums.getDefiningOp(), exponential, subtract, maxima.getDefiningOp()}};
  // Only the softmax itself may read its intermediates.
  auto onlyUsedBy = [](Value value, ArrayRef<Operation *> users) {
    return llvm::all_of(value.getUsers(),
                        [&](Operation *user) { return llvm::is_contained(users, user); });
  };
  if (!probabilities.hasOneUse() || !onlyUsedBy(exps, {divide, sums.getDefiningOp()}) ||
      !sums.hasOneUse() || !subtract->getResult(0).hasOneUse() ||
      !onlyUsedBy(input, {subtract, maxima.getDefiningOp()}) || !maxima.hasOneUse())
    return notFused("the softmax or its intermediates have other users");
  return softmax;
}

/// What lies between the scores S and the softmax input X: constant scale
/// factors, then at most one additive mask.
struct Preamble {
  Value scores;
  double scale = 1.0;
  Value mask;
  AffineMap maskMap;
  SmallVector<Operation *> ops;
};

/// The value multiplying the chain input of a scale op, if `op` is one.
std::optional<double> scaleFactor(linalg::GenericOp op, Value &chainInput) {
  Operation *body = singleBodyOp(op);
  if (!body || !allParallel(op) || !isa<arith::MulFOp, arith::DivFOp>(body))
    return std::nullopt;
  Block &block = op.getRegion().front();
  // The chain enters as the first input, identity-mapped; the factor is a
  // scalar constant input or a captured constant.
  if (!op.getMatchingIndexingMap(op.getDpsInputOperand(0)).isIdentity())
    return std::nullopt;
  Value chainArg = block.getArgument(0);
  Value other;
  if (body->getOperand(0) == chainArg)
    other = body->getOperand(1);
  else if (isa<arith::MulFOp>(body) && body->getOperand(1) == chainArg)
    other = body->getOperand(0);
  else
    return std::nullopt;
  std::optional<double> factor;
  if (auto arg = dyn_cast<BlockArgument>(other); arg && arg.getOwner() == &block) {
    if (arg.getArgNumber() != 1 || op.getNumDpsInputs() != 2)
      return std::nullopt;
    factor = scalarConstant(op.getDpsInputs()[1]);
  } else if (op.getNumDpsInputs() == 1) {
    factor = scalarConstant(other);
  }
  if (!factor || *factor == 0.0 || !std::isfinite(*factor))
    return std::nullopt;
  chainInput = op.getDpsInputs()[0];
  return isa<arith::DivFOp>(body) ? 1.0 / *factor : *factor;
}

/// Whether `value` is a contraction's result, possibly through a few
/// elementwise ops (tells the scores from a mask in `scores + mask`).
bool leadsToProduct(Value value, int depth = 0) {
  auto op = value.getDefiningOp<linalg::GenericOp>();
  if (!op || depth > 4)
    return false;
  if (op.getNumReductionLoops() != 0)
    return op.getNumDpsInputs() == 2 && isMultiplyAccumulate(op);
  return llvm::any_of(op.getDpsInputs(),
                      [&](Value input) { return leadsToProduct(input, depth + 1); });
}

llvm::Expected<Preamble> matchPreamble(Value softmaxInput) {
  Preamble preamble;
  Value current = softmaxInput;
  while (auto op = current.getDefiningOp<linalg::GenericOp>()) {
    if (op.getNumReductionLoops() != 0)
      break; // the scores' contraction
    if (!current.hasOneUse() && current != softmaxInput)
      return notFused("the scaled scores have other users");
    Value input;
    if (std::optional<double> factor = scaleFactor(op, input)) {
      preamble.scale *= *factor;
      preamble.ops.push_back(op);
      current = input;
      continue;
    }
    auto add = elementwiseBody<arith::AddFOp>(op);
    if (!add || op.getNumDpsInputs() != 2)
      return notFused("an elementwise op other than a constant scale or a mask add "
                      "between the scores and the softmax");
    if (preamble.mask)
      return notFused("two masks added to the scores");
    if (preamble.scale != 1.0)
      return notFused("the scores are scaled after the mask is added");
    // The chain is the operand that comes from the scores' product; the
    // other is the mask.
    unsigned chain = leadsToProduct(op.getDpsInputs()[0]) ? 0 : 1;
    unsigned other = 1 - chain;
    Value maskValue = op.getDpsInputs()[other];
    if (!op.getMatchingIndexingMap(op.getDpsInputOperand(chain)).isIdentity() ||
        !leadsToProduct(op.getDpsInputs()[chain]))
      return notFused("the mask add does not read the scores");
    preamble.mask = maskValue;
    preamble.maskMap = op.getMatchingIndexingMap(op.getDpsInputOperand(other));
    preamble.ops.push_back(op);
    current = op.getDpsInputs()[chain];
  }
  preamble.scores = current;
  return preamble;
}

//===-- the plan ------------------------------------------------------------//

struct AttentionSite {
  linalg::GenericOp output; // O = P·V
  kernels::AttentionSpec spec;
  StridedTensor q, k, v;
  Value mask;
  SmallVector<Operation *> erased; // the chain, consumers first
};

/// Kernel strides [batch, head, row, col] of an operand whose loop axes
/// [batch..., row, col] sit at `axes` of `view` (-1: broadcast, stride 0).
/// Two batch axes are (batch, head); three are (batch, head, head in
/// group): they collapse into one head axis, or, where the operand is
/// broadcast along the last (grouped-query K and V), into the K/V head
/// h / group with `kvGroup` set.
llvm::Expected<std::array<int64_t, 4>> kernelStrides(const StridedTensor &view,
                                                     ArrayRef<int64_t> axes,
                                                     ArrayRef<int64_t> batchShape,
                                                     int64_t *kvGroup) {
  auto stride = [&](size_t i) { return axes[i] < 0 ? int64_t(0) : view.strides[axes[i]]; };
  size_t nb = batchShape.size();
  std::array<int64_t, 4> strides{0, 0, stride(nb), stride(nb + 1)};
  if (nb == 1) {
    strides[1] = stride(0);
  } else if (nb == 2) {
    strides[0] = stride(0), strides[1] = stride(1);
  } else if (nb == 3) {
    strides[0] = stride(0);
    int64_t outer = stride(1), inner = stride(2), innerSize = batchShape[2];
    if (innerSize == 1 || batchShape[1] == 1) {
      strides[1] = innerSize == 1 ? outer : inner;
    } else if (axes[2] < 0 && kvGroup) {
      *kvGroup = innerSize;
      strides[1] = outer;
    } else if (outer == inner * innerSize) {
      strides[1] = inner;
    } else {
      return notFused("the two head axes of an operand are not contiguous");
    }
  } else {
    return notFused("more than three batch dimensions");
  }
  return strides;
}

/// A constant mask shared by all batches and heads that is 0 on and below
/// the diagonal and at most the lowest f32 above it: the kernel's causal
/// masking computes the same softmax (every row keeps its diagonal key).
bool isCausalMask(Value mask, ArrayRef<bool> varies, ArrayRef<int64_t> scoreShape) {
  DenseFPElementsAttr values;
  size_t rank = varies.size();
  if (!matchPattern(mask, m_Constant(&values)) ||
      llvm::any_of(varies.drop_back(2), [](bool v) { return v; }))
    return false;
  int64_t queries = scoreShape[rank - 2], keys = scoreShape[rank - 1];
  if (!varies[rank - 2] || (!varies[rank - 1] && keys > 1))
    return false;
  auto it = values.value_begin<APFloat>();
  for (int64_t i = 0; i < queries; ++i)
    for (int64_t j = 0; j < keys; ++j, ++it) {
      double value = (*it).convertToDouble();
      if (j <= i ? value != 0.0 : value > -3.4028234e38)
        return false;
    }
  return true;
}

/// The mask broadcast: which of [batch..., rows, keys] it varies along
/// (its map may drop leading axes, numpy-style, or read them at 0).
llvm::Error planMask(const Preamble &preamble, int64_t batchRank, ArrayRef<int64_t> scoreShape,
                     kernels::AttentionSpec &spec) {
  Value mask = preamble.mask;
  if (!hasStaticShape(mask) || !cast<RankedTensorType>(mask.getType()).getElementType().isF32())
    return notFused("the mask is not a static f32 tensor");
  AffineMap map = preamble.maskMap;
  size_t rank = batchRank + 2;
  SmallVector<bool> varies(rank, false);
  int64_t lastAxis = -1;
  for (auto [position, expr] : llvm::enumerate(map.getResults())) {
    if (auto c = dyn_cast<AffineConstantExpr>(expr);
        c && c.getValue() == 0 && shapeOf(mask)[position] == 1)
      continue;
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim || int64_t(dim.getPosition()) <= lastAxis)
      return notFused("the mask is not a broadcast of the scores' axes");
    lastAxis = dim.getPosition();
    varies[lastAxis] = scoreShape[lastAxis] > 1;
  }
  if (!varies[rank - 1] && scoreShape[rank - 1] > 1)
    return notFused("the mask is broadcast over the keys");
  // Kernel axes: batch = score axis 0 when there are 2+ batch axes; the
  // other batch axes form the head.
  size_t firstHeadAxis = batchRank >= 2 ? 1 : 0;
  bool perBatch = batchRank >= 2 && varies[0];
  ArrayRef<bool> headAxes = ArrayRef<bool>(varies).slice(firstHeadAxis, batchRank - firstHeadAxis);
  ArrayRef<int64_t> headSizes = scoreShape.slice(firstHeadAxis, batchRank - firstHeadAxis);
  bool perHead = false, sharedByHeads = true;
  for (auto [v, size] : llvm::zip(headAxes, headSizes)) {
    if (size == 1)
      continue;
    perHead |= v;
    sharedByHeads &= !v;
  }
  if (perHead && !sharedByHeads && llvm::any_of(llvm::zip(headAxes, headSizes), [](auto pair) {
        return std::get<1>(pair) > 1 && !std::get<0>(pair);
      }))
    return notFused("the mask varies along only some of the head axes");
  if (!perBatch && !perHead && isCausalMask(mask, varies, scoreShape)) {
    spec.causal = true;
    return llvm::Error::success();
  }
  spec.mask = true;
  spec.maskRows = varies[rank - 2] ? spec.queries : 1;
  spec.maskGroups = (perBatch ? spec.batch : 1) * (perHead ? spec.heads : 1);
  spec.maskDivisor = perHead ? 1 : spec.heads;
  return llvm::Error::success();
}

llvm::Expected<AttentionSite> planAttention(const Contraction &pv, const Softmax &softmax,
                                            bool f16) {
  if (!llvm::equal(operandAxes(pv, pv.rowOperand, pv.rowLoop, pv.reductionLoop),
                   llvm::seq<unsigned>(0, pv.batchRank + 2)))
    return notFused("the probabilities are read transposed");
  if (pv.batchRank > 3)
    return notFused("more than three batch dimensions");
  llvm::Expected<Preamble> preamble = matchPreamble(softmax.input);
  if (!preamble)
    return preamble.takeError();
  auto qkOp = preamble->scores.getDefiningOp<linalg::GenericOp>();
  if (!qkOp)
    return notFused("the softmax does not read a matrix product");
  llvm::Expected<Contraction> qk = matchContraction(qkOp);
  if (!qk)
    return notFused("the softmax does not read a matrix product (" +
                    llvm::toString(qk.takeError()) + ")");
  if (qk->batchRank != pv.batchRank)
    return notFused("the two products have different batch dimensions");
  if (!preamble->scores.hasOneUse())
    return notFused("the scores have other users");
  Value q = qk->rowOperand->get(), k = qk->colOperand->get(), v = pv.colOperand->get();
  linalg::GenericOp pvOp = pv.op;
  Value out = pvOp.getResult(0);
  for (Value value : {q, k, v, out, preamble->scores})
    if (!hasStaticShape(value) || !cast<RankedTensorType>(value.getType()).getElementType().isF32())
      return notFused("shapes are not static f32");

  ArrayRef<int64_t> scoreShape = shapeOf(preamble->scores);
  ArrayRef<int64_t> outShape = shapeOf(out);
  int64_t nb = pv.batchRank;
  kernels::AttentionSpec spec;
  spec.element = f16 ? kernels::AttentionElement::F16 : kernels::AttentionElement::F32;
  spec.batch = nb >= 2 ? scoreShape[0] : 1;
  spec.heads = 1;
  for (int64_t size : scoreShape.slice(nb >= 2 ? 1 : 0, nb >= 2 ? nb - 1 : 1))
    spec.heads *= size;
  spec.queries = scoreShape[nb];
  spec.keys = scoreShape[nb + 1];
  spec.headDim =
      shapeOf(q)[*dimPosition(qkOp.getMatchingIndexingMap(qk->rowOperand), qk->reductionLoop)];
  spec.valueDim = outShape[nb + 1];
  if (!llvm::equal(outShape.take_front(nb + 1), scoreShape.take_front(nb + 1)))
    return notFused("the products' batch and query axes differ");
  double scale = preamble->scale;
  if (!std::isfinite(static_cast<float>(scale)))
    return notFused("the scale overflows f32");
  spec.scale = static_cast<float>(scale);

  AttentionSite site;
  site.output = pv.op;
  site.q = stridedView(q);
  site.k = stridedView(k);
  site.v = stridedView(v);
  auto elements = [](const StridedTensor &view) {
    return cast<RankedTensorType>(view.source.getType()).getNumElements();
  };
  spec.qOffset = site.q.offset, spec.qElements = elements(site.q);
  spec.kOffset = site.k.offset, spec.kElements = elements(site.k);
  spec.vOffset = site.v.offset, spec.vElements = elements(site.v);
  ArrayRef<int64_t> batchShape = scoreShape.take_front(nb);
  llvm::Expected<std::array<int64_t, 4>> qStrides =
      kernelStrides(site.q, operandAxes(*qk, qk->rowOperand, qk->rowLoop, qk->reductionLoop),
                    batchShape, nullptr);
  int64_t kGroup = 1, vGroup = 1;
  llvm::Expected<std::array<int64_t, 4>> kStrides =
      kernelStrides(site.k, operandAxes(*qk, qk->colOperand, qk->colLoop, qk->reductionLoop),
                    batchShape, &kGroup);
  llvm::Expected<std::array<int64_t, 4>> vStrides = kernelStrides(
      site.v, operandAxes(pv, pv.colOperand, pv.reductionLoop, pv.colLoop), batchShape, &vGroup);
  llvm::Error layoutError = llvm::Error::success();
  for (auto *strides : {&qStrides, &kStrides, &vStrides})
    if (!*strides)
      layoutError = llvm::joinErrors(std::move(layoutError), strides->takeError());
  if (layoutError)
    return std::move(layoutError);
  if (kGroup != vGroup)
    return notFused("K and V are grouped differently over the heads");
  spec.qStrides = *qStrides, spec.kStrides = *kStrides, spec.vStrides = *vStrides;
  spec.kvGroup = kGroup;
  if (preamble->mask) {
    if (auto err = planMask(*preamble, nb, scoreShape, spec))
      return std::move(err);
    if (spec.mask) // else a causal mask, computed by the kernel
      site.mask = preamble->mask;
  }
  llvm::Expected<kernels::AttentionSpec> resolved = kernels::resolveAttentionSpec(spec);
  if (!resolved)
    return resolved.takeError();
  site.spec = *resolved;
  site.erased.push_back(pv.op);
  site.erased.append(softmax.ops.begin(), softmax.ops.end());
  site.erased.append(preamble->ops.begin(), preamble->ops.end());
  site.erased.push_back(qkOp);
  return site;
}

/// The plan of a product `op` one of whose operands is `softmax`.
llvm::Expected<AttentionSite> planSite(linalg::GenericOp op, llvm::Expected<Softmax> softmax,
                                       bool f16) {
  if (!softmax)
    return softmax.takeError();
  llvm::Expected<Contraction> pv = matchContraction(op);
  if (!pv)
    return pv.takeError();
  if (pv->rowOperand->get() != softmax->ops.front()->getResult(0))
    return notFused("the probabilities are the product's right operand");
  return planAttention(*pv, *softmax, f16);
}

//===-- the rewrite ---------------------------------------------------------//

/// `value` (any rank, f32) as the 1-D tensor of the kernel parameter type
/// `param`'s element type.
Value flatOperand(OpBuilder &b, Location loc, Value value, MemRefType param) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() != 1) {
    SmallVector<ReassociationIndices> all = {
        llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()))};
    value = tensor::CollapseShapeOp::create(b, loc, value, all);
  }
  Type element = param.getElementType();
  if (element != type.getElementType()) {
    auto flatType = RankedTensorType::get({type.getNumElements()}, element);
    Value init = tensor::EmptyOp::create(b, loc, flatType.getShape(), element);
    AffineMap identity = b.getMultiDimIdentityMap(1);
    value = linalg::GenericOp::create(
                b, loc, TypeRange{flatType}, ValueRange{value}, ValueRange{init},
                ArrayRef<AffineMap>{identity, identity},
                ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
                [&](OpBuilder &nb, Location nl, ValueRange args) {
                  linalg::YieldOp::create(
                      nb, nl, arith::TruncFOp::create(nb, nl, element, args[0]).getResult());
                })
                .getResult(0);
  }
  return value;
}

/// The kernel's 1-D output buffer as a tensor of the product's type.
Value unstageOutput(OpBuilder &b, Location loc, Value buffer, RankedTensorType resultType) {
  auto bufferType = cast<MemRefType>(buffer.getType());
  Value flat = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(bufferType.getShape(), bufferType.getElementType()), buffer,
      /*restrict=*/true);
  SmallVector<ReassociationIndices> all = {
      llvm::to_vector(llvm::seq<int64_t>(0, resultType.getRank()))};
  Value shaped = tensor::ExpandShapeOp::create(
      b, loc, resultType.clone(bufferType.getElementType()), flat, all);
  if (bufferType.getElementType() == resultType.getElementType())
    return shaped;
  Value init = tensor::EmptyOp::create(b, loc, resultType.getShape(), resultType.getElementType());
  AffineMap identity = b.getMultiDimIdentityMap(resultType.getRank());
  SmallVector<utils::IteratorType> iterators(resultType.getRank(), utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, ValueRange{shaped}, ValueRange{init},
             ArrayRef<AffineMap>{identity, identity}, iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(
                   nb, nl,
                   arith::ExtFOp::create(nb, nl, resultType.getElementType(), args[0]).getResult());
             })
      .getResult(0);
}

class AttentionRewriter {
public:
  explicit AttentionRewriter(gpu::GPUModuleOp kernels) : kernels(kernels), kernelSymbols(kernels) {}

  void rewrite(AttentionSite &site);

private:
  gpu::GPUFuncOp kernelFor(const kernels::AttentionSpec &spec) {
    if (auto existing = kernelSymbols.lookup<gpu::GPUFuncOp>(kernels::attentionKernelName(spec)))
      return existing;
    OpBuilder b(kernels.getContext());
    gpu::GPUFuncOp built = kernels::buildAttentionKernel(b, kernels, spec);
    kernelSymbols.insert(built);
    return built;
  }

  gpu::GPUModuleOp kernels;
  SymbolTable kernelSymbols;
};

void AttentionRewriter::rewrite(AttentionSite &site) {
  gpu::GPUFuncOp kernel = kernelFor(site.spec);
  ArrayRef<Type> params = kernel.getArgumentTypes();
  OpBuilder b(site.output);
  Location loc = site.output.getLoc();
  SmallVector<Value> inputs;
  SmallVector<Value> sources = {site.q.source, site.k.source, site.v.source};
  if (site.mask)
    sources.push_back(site.mask);
  // Q, K and V often are slices of one projection: flattened (cast) once.
  llvm::SmallDenseMap<Value, Value> flat;
  for (auto [source, type] : llvm::zip(sources, params)) {
    Value &tensor = flat[source];
    if (!tensor)
      tensor = flatOperand(b, loc, source, cast<MemRefType>(type));
    inputs.push_back(tensor);
  }
  // The kernel reads the tensors' own buffers (read-only, no copy). The
  // buffers are taken last, right before the launch: bufferization does not
  // see reads through them, so no tensor op may run in between (it could
  // reuse a buffer whose tensor looks dead).
  SmallVector<Value> operands;
  llvm::SmallDenseMap<Value, Value> buffers;
  for (auto [tensor, type] : llvm::zip(inputs, params)) {
    Value &buffer = buffers[tensor];
    if (!buffer)
      buffer = bufferization::ToBufferOp::create(b, loc, cast<MemRefType>(type), tensor,
                                                 /*read_only=*/true);
    operands.push_back(buffer);
  }
  Value out = memref::AllocOp::create(b, loc, cast<MemRefType>(params[sources.size()]));
  operands.push_back(out);

  kernels::AttentionLaunchShape launch = kernels::attentionLaunchShape(site.spec);
  auto dim = [&](int64_t value) -> Value { return arith::ConstantIndexOp::create(b, loc, value); };
  Value one = dim(1);
  Value shared = arith::ConstantIntOp::create(b, loc, launch.dynamicSharedBytes, 32);
  gpu::LaunchFuncOp::create(b, loc, kernel, gpu::KernelDim3{dim(launch.gridX), one, one},
                            gpu::KernelDim3{dim(launch.blockX), one, one}, shared, operands);
  auto resultType = cast<RankedTensorType>(site.output.getResult(0).getType());
  site.output.getResult(0).replaceAllUsesWith(unstageOutput(b, loc, out, resultType));
  for (Operation *op : site.erased) {
    Value init = op->getNumOperands() ? op->getOperands().back() : Value();
    op->erase();
    // Fills that only initialized the chain's reductions go too.
    if (auto fill = init ? init.getDefiningOp<linalg::FillOp>() : nullptr;
        fill && fill->use_empty())
      fill->erase();
  }
}

/// f16 sites run on tensor cores where the kernel allows (Attention.h):
/// one remark says how many, and why the others keep the SIMT kernel.
void remarkKernelMethods(ModuleOp module, ArrayRef<AttentionSite> fused) {
  SmallVector<std::pair<std::string, std::string>> simt;
  for (const AttentionSite &site : fused)
    if (site.spec.method != kernels::AttentionMethod::TensorCore)
      simt.push_back({layerName(site.output), kernels::attentionTensorCoreRefusal(site.spec)});
  InFlightDiagnostic remark = emitRemark(module.getLoc());
  remark << "kiln-cuda-fuse-attention: " << fused.size() - simt.size() << " of " << fused.size()
         << " fused attention kernels run on tensor cores (mma.sync)";
  if (!simt.empty())
    remark << "; the SIMT kernel for " << listByReason(simt);
}

struct CudaFuseAttention : impl::CudaFuseAttentionBase<CudaFuseAttention> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::vector<AttentionSite> fused;
    SmallVector<std::pair<std::string, std::string>> kept;
    module.walk([&](linalg::GenericOp op) {
      if (!op.hasPureTensorSemantics() || !isa<func::FuncOp>(op->getParentOp()) ||
          op.getNumDpsInputs() != 2 || op.getNumReductionLoops() != 1 || !isMultiplyAccumulate(op))
        return;
      // An attention site: a product of a softmax with a tensor.
      std::optional<llvm::Expected<Softmax>> softmax;
      for (Value input : op.getDpsInputs()) {
        llvm::Expected<Softmax> candidate = matchSoftmax(input);
        if (!candidate) {
          std::string why = llvm::toString(candidate.takeError());
          if (why == kNotSoftmax)
            continue;
          candidate = notFused(why);
        }
        softmax.emplace(std::move(candidate));
        break;
      }
      if (!softmax)
        return;
      llvm::Expected<AttentionSite> site = planSite(op, std::move(*softmax), f16);
      if (!site) {
        kept.push_back({layerName(op), llvm::toString(site.takeError())});
        return;
      }
      fused.push_back(std::move(*site));
    });
    if (!kept.empty()) {
      InFlightDiagnostic remark = emitRemark(module.getLoc());
      remark << "kiln-cuda-fuse-attention: " << fused.size() << " of " << fused.size() + kept.size()
             << " attention sites run as one fused kernel; generic kernels for "
             << listByReason(kept);
    }
    if (fused.empty())
      return;
    if (f16)
      remarkKernelMethods(module, fused);
    gpu::GPUModuleOp kernelModule = getOrCreateLibraryKernelModule(module);
    AttentionRewriter rewriter(kernelModule);
    for (AttentionSite &site : fused)
      rewriter.rewrite(site);
  }
};

} // namespace
} // namespace kiln

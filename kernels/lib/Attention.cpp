//===- Attention.cpp - flash-style fused attention (SIMT, f32 math) ------===//
//
// Block = (b·h, query tile of warps·rowsPerWarp rows); warp w owns rows
// w·R .. w·R + R - 1 of the tile. Per key tile of 32 (lane j = key j):
//
//   barrier; K and V tiles -> shared (f32, K rows padded by one so lanes
//   reading K[j][d] hit distinct banks); barrier
//   s[r] = Σ_d Qs[r][d] · Ks[j][d]            (Q pre-scaled in shared)
//   s[r] += mask; s[r] = -inf past the keys / after the query (causal)
//   m' = max(m, warp max s); p = exp(s - m'); α = exp(m - m')
//   l = α·l + warp sum p; O[r][e] = α·O[r][e] + Σ_j shfl(p, j)·Vs[j][e]
//
// Lane e owns output columns e, e + 32, ... Rows of -inf only (fully masked)
// use 0 as their max so that exp never sees -inf - -inf. O / l is written
// once at the end.
//
//===----------------------------------------------------------------------===//
#include "kiln/Kernels/Attention.h"

#include "AttentionTensorCore.h"
#include "GemmCommon.h"
#include "KernelSupport.h"

#include "kiln/Dialect/Codec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/bit.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace kiln::kernels {
namespace {

constexpr int64_t kKeyTile = kWarpLanes; // one key per lane
constexpr int64_t kMaxHeadDim = 256;
constexpr int64_t kMaxSharedBytes = 227 * 1024; // sm_90 opt-in limit
constexpr int64_t kMaxElements = int64_t{1} << 31;

llvm::Error attentionSpecError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "attention spec: " + message);
}

int64_t rowsPerBlock(const AttentionSpec &spec) { return spec.warps * spec.rowsPerWarp; }
int64_t queryTiles(const AttentionSpec &spec) {
  return (spec.queries + rowsPerBlock(spec) - 1) / rowsPerBlock(spec);
}
/// Output columns each lane accumulates.
int64_t columnsPerLane(const AttentionSpec &spec) {
  return (spec.valueDim + kWarpLanes - 1) / kWarpLanes;
}

/// f32 shared memory: the scaled Q tile, the K tile (rows padded by one),
/// the V tile.
struct SharedLayout {
  int64_t qFloats = 0, kFloats = 0, vFloats = 0;
  int64_t bytes() const { return 4 * (qFloats + kFloats + vFloats); }
};
SharedLayout sharedLayout(const AttentionSpec &spec) {
  return {rowsPerBlock(spec) * spec.headDim, kKeyTile * (spec.headDim + 1),
          kKeyTile * spec.valueDim};
}
int64_t sharedBytes(const AttentionSpec &spec) {
  return spec.method == AttentionMethod::TensorCore ? tensorCoreAttentionSharedBytes(spec)
                                                    : sharedLayout(spec).bytes();
}

std::array<int64_t, 4> contiguousStrides(int64_t heads, int64_t rows, int64_t cols) {
  return {heads * rows * cols, rows * cols, cols, 1};
}

/// The largest offset + 1 of a [batch, heads, rows, cols] operand with
/// `strides`, or nullopt past int64.
std::optional<int64_t> extentOf(const AttentionSpec &spec, const std::array<int64_t, 4> &strides,
                                int64_t heads, int64_t rows, int64_t cols) {
  int64_t last = 0;
  for (auto [size, stride] :
       llvm::zip(std::array<int64_t, 4>{spec.batch, heads, rows, cols}, strides)) {
    std::optional<int64_t> span = codec::checkedMul(size - 1, stride);
    if (!span || *span > std::numeric_limits<int64_t>::max() - last)
      return std::nullopt;
    last += *span;
  }
  return last + 1;
}

std::optional<int64_t> product(std::initializer_list<int64_t> dims) {
  return codec::checkedProduct(dims.begin(), dims.size());
}

} // namespace

llvm::Expected<AttentionSpec> resolveAttentionSpec(AttentionSpec spec) {
  auto t = [](int64_t v) { return llvm::Twine(v); };
  if (spec.batch < 1 || spec.heads < 1 || spec.queries < 1 || spec.keys < 1 || spec.headDim < 1 ||
      spec.valueDim < 1)
    return attentionSpecError("batch, heads, queries, keys and head dimensions must be "
                              "positive, got batch = " +
                              t(spec.batch) + ", heads = " + t(spec.heads) +
                              ", queries = " + t(spec.queries) + ", keys = " + t(spec.keys) +
                              ", head dim = " + t(spec.headDim) +
                              ", value dim = " + t(spec.valueDim));
  if (spec.headDim > kMaxHeadDim || spec.valueDim > kMaxHeadDim)
    return attentionSpecError("head dimensions above " + t(kMaxHeadDim) + " are not supported (" +
                              t(spec.headDim) + ", " + t(spec.valueDim) + ")");
  if (!std::isfinite(spec.scale) || spec.scale == 0.0f)
    return attentionSpecError("the scale must be finite and non-zero");
  bool rowsGiven = spec.rowsPerWarp != 0;
  if (spec.warps == 0)
    spec.warps = 4;
  if (spec.rowsPerWarp == 0)
    spec.rowsPerWarp = spec.method == AttentionMethod::TensorCore ? kTensorCoreRowsPerWarp : 4;
  if (spec.warps < 1 || spec.warps > 32 || spec.rowsPerWarp < 1 || spec.rowsPerWarp > 16)
    return attentionSpecError("warps (" + t(spec.warps) + ") must be 1..32 and rows per warp (" +
                              t(spec.rowsPerWarp) + ") 1..16");
  auto contiguous = [](const std::array<int64_t, 4> &s) {
    return llvm::all_of(s, [](int64_t v) { return v == 0; });
  };
  if (contiguous(spec.qStrides))
    spec.qStrides = contiguousStrides(spec.heads, spec.queries, spec.headDim);
  int64_t groups = spec.kvGroup >= 1 ? spec.kvGroup : 1;
  if (contiguous(spec.kStrides))
    spec.kStrides = contiguousStrides(spec.heads / groups, spec.keys, spec.headDim);
  if (contiguous(spec.vStrides))
    spec.vStrides = contiguousStrides(spec.heads / groups, spec.keys, spec.valueDim);
  for (const auto *strides : {&spec.qStrides, &spec.kStrides, &spec.vStrides})
    if (llvm::any_of(*strides, [](int64_t v) { return v < 0; }))
      return attentionSpecError("strides must not be negative");
  if (spec.mask) {
    if (spec.maskGroups < 1 || spec.maskDivisor < 1 ||
        (spec.maskRows != 1 && spec.maskRows != spec.queries))
      return attentionSpecError("mask groups (" + t(spec.maskGroups) + ") and divisor (" +
                                t(spec.maskDivisor) + ") must be positive and mask rows (" +
                                t(spec.maskRows) + ") 1 or the query count " + t(spec.queries));
  } else {
    spec.maskGroups = spec.maskDivisor = spec.maskRows = 1;
  }
  std::optional<int64_t> blocks = product({spec.batch, spec.heads, queryTiles(spec)});
  if (!blocks || *blocks >= kMaxElements)
    return attentionSpecError("more than 2^31 blocks");
  if (spec.qOffset < 0 || spec.kOffset < 0 || spec.vOffset < 0)
    return attentionSpecError("offsets must not be negative");
  if (spec.kvGroup < 1 || spec.heads % spec.kvGroup != 0)
    return attentionSpecError("the K/V head group (" + t(spec.kvGroup) +
                              ") must divide the heads (" + t(spec.heads) + ")");
  int64_t kvHeads = spec.heads / spec.kvGroup;
  struct Operand {
    const char *name;
    const std::array<int64_t, 4> &strides;
    int64_t offset, heads, rows, cols;
    int64_t &elements;
  };
  for (Operand operand :
       {Operand{"Q", spec.qStrides, spec.qOffset, spec.heads, spec.queries, spec.headDim,
                spec.qElements},
        Operand{"K", spec.kStrides, spec.kOffset, kvHeads, spec.keys, spec.headDim, spec.kElements},
        Operand{"V", spec.vStrides, spec.vOffset, kvHeads, spec.keys, spec.valueDim,
                spec.vElements}}) {
    std::optional<int64_t> reach =
        extentOf(spec, operand.strides, operand.heads, operand.rows, operand.cols);
    if (!reach || *reach > kMaxElements - operand.offset)
      return attentionSpecError(llvm::Twine(operand.name) + " spans more than 2^31 elements");
    int64_t needed = operand.offset + *reach;
    if (operand.elements == 0)
      operand.elements = needed;
    if (operand.elements < needed || operand.elements > kMaxElements)
      return attentionSpecError(llvm::Twine(operand.name) + " reaches element " + t(needed - 1) +
                                " of a buffer of " + t(operand.elements));
  }
  if (spec.method != AttentionMethod::Simt) {
    std::string refusal = attentionTensorCoreRefusal(spec);
    if (refusal.empty() && rowsGiven && spec.rowsPerWarp != kTensorCoreRowsPerWarp)
      refusal = "its warps own 16 query rows each, not " + std::to_string(spec.rowsPerWarp);
    if (refusal.empty() && spec.warps > kTensorCoreMaxWarps)
      refusal = "it runs at most " + std::to_string(kTensorCoreMaxWarps) + " warps per block";
    if (!refusal.empty() && spec.method == AttentionMethod::TensorCore)
      return attentionSpecError("the tensor-core kernel cannot compute this attention: " +
                                refusal);
    spec.method = refusal.empty() ? AttentionMethod::TensorCore : AttentionMethod::Simt;
    if (refusal.empty())
      spec.rowsPerWarp = kTensorCoreRowsPerWarp;
  }
  AttentionExtents extents = attentionExtents(spec);
  for (int64_t extent : {extents.mask, extents.o})
    if (extent <= 0 || extent > kMaxElements)
      return attentionSpecError("an operand spans more than 2^31 elements");
  if (int64_t bytes = sharedBytes(spec); bytes > kMaxSharedBytes)
    return attentionSpecError("the tiles need " + t(bytes) + " bytes of shared memory, more than " +
                              t(kMaxSharedBytes) + " (fewer warps or rows per warp)");
  return spec;
}

AttentionExtents attentionExtents(const AttentionSpec &spec) {
  AttentionExtents out;
  out.q = spec.qElements;
  out.k = spec.kElements;
  out.v = spec.vElements;
  out.o = product({spec.batch, spec.heads, spec.queries, spec.valueDim}).value_or(-1);
  out.mask = spec.mask ? product({spec.maskGroups, spec.maskRows, spec.keys}).value_or(-1) : 1;
  return out;
}

std::string attentionKernelName(const AttentionSpec &spec) {
  auto s = [](int64_t v) { return std::to_string(v); };
  auto strides = [&](const std::array<int64_t, 4> &v) {
    return s(v[0]) + "x" + s(v[1]) + "x" + s(v[2]) + "x" + s(v[3]);
  };
  char scaleHex[16];
  std::snprintf(scaleHex, sizeof(scaleHex), "%08x", llvm::bit_cast<uint32_t>(spec.scale));
  std::string name =
      std::string("attention_") + (spec.element == AttentionElement::F16 ? "f16" : "f32") + "_b" +
      s(spec.batch) + "h" + s(spec.heads) + "_q" + s(spec.queries) + "k" + s(spec.keys) + "_d" +
      s(spec.headDim) + "v" + s(spec.valueDim) + "_s" + scaleHex;
  if (spec.causal)
    name += "_causal";
  if (spec.mask)
    name += "_mask" + s(spec.maskGroups) + "x" + s(spec.maskRows) + "d" + s(spec.maskDivisor);
  // Layouts other than contiguous, whole buffers: "_qs<strides>o<offset>e<elements>".
  if (spec.kvGroup != 1)
    name += "_g" + s(spec.kvGroup);
  auto layout = [&](const char *tag, const std::array<int64_t, 4> &v, int64_t offset,
                    int64_t elements, int64_t heads, int64_t rows, int64_t cols) {
    std::array<int64_t, 4> contiguous = contiguousStrides(heads, rows, cols);
    if (v == contiguous && offset == 0 && elements == spec.batch * contiguous[0])
      return;
    name += std::string("_") + tag + strides(v) + "o" + s(offset) + "e" + s(elements);
  };
  int64_t kvHeads = spec.heads / spec.kvGroup;
  layout("qs", spec.qStrides, spec.qOffset, spec.qElements, spec.heads, spec.queries, spec.headDim);
  layout("ks", spec.kStrides, spec.kOffset, spec.kElements, kvHeads, spec.keys, spec.headDim);
  layout("vs", spec.vStrides, spec.vOffset, spec.vElements, kvHeads, spec.keys, spec.valueDim);
  if (spec.method == AttentionMethod::TensorCore)
    return name + "_tc_w" + s(spec.warps);
  return name + "_w" + s(spec.warps) + "r" + s(spec.rowsPerWarp);
}

std::string attentionTensorCoreRefusal(const AttentionSpec &spec) {
  if (spec.element != AttentionElement::F16)
    return "f32 operands (tensor cores take f16)";
  auto supportedDim = [](int64_t d) { return d == 16 || d == 32 || d == 64 || d == 128; };
  if (!supportedDim(spec.headDim) || !supportedDim(spec.valueDim))
    return "head dims other than 16, 32, 64 or 128";
  for (const auto *strides : {&spec.qStrides, &spec.kStrides, &spec.vStrides})
    if ((*strides)[3] != 1)
      return "a strided head dimension";
  // 16-byte rows: every row start a multiple of 8 halves.
  auto aligned = [](int64_t v) { return v % kTensorCoreChunkHalves == 0; };
  for (auto [strides, offset] : {std::pair{&spec.qStrides, spec.qOffset},
                                 std::pair{&spec.kStrides, spec.kOffset},
                                 std::pair{&spec.vStrides, spec.vOffset}})
    if (!aligned(offset) || !llvm::all_of(llvm::ArrayRef(*strides).take_front(3), aligned))
      return "rows not 16-byte aligned";
  return "";
}

AttentionLaunchShape attentionLaunchShape(const AttentionSpec &spec) {
  return {spec.batch * spec.heads * queryTiles(spec), spec.warps * kWarpLanes, sharedBytes(spec)};
}

namespace {

/// The running state of one query row in one lane.
struct RowState {
  Value max, sum;
  SmallVector<Value> out; // columnsPerLane accumulators
};

class AttentionEmitter : ArithShorthands {
public:
  AttentionEmitter(OpBuilder &b, Location loc, const AttentionSpec &spec)
      : ArithShorthands(b, loc), spec(spec), rows(spec.rowsPerWarp),
        columns(columnsPerLane(spec)) {}

  void emit(gpu::GPUFuncOp func);

private:

  /// Offset of [b, head, row, col] with `strides` from `base`.
  Value offset(const std::array<int64_t, 4> &strides, int64_t base, Value head, Value row,
               Value col);
  /// Loads an element of `buffer` as f32.
  Value loadF32(Value buffer, Value at);
  /// Copies `count` rows x `cols` of an operand (rows from `firstRow`,
  /// clamped to `rowLimit` - 1) into shared `tile`, times `factor` when set.
  void stageTile(Value buffer, const std::array<int64_t, 4> &strides, int64_t base, Value head,
                 Value firstRow, int64_t count, int64_t cols, int64_t rowLimit, Value tile,
                 Value factor);
  /// The scores of the warp's rows against this lane's key of the tile.
  SmallVector<Value> scores();
  /// Mask, causal and key-range handling of the score of row `r`.
  Value maskScore(Value score, Value row, Value key);
  /// One online-softmax step of a row: returns the new state with the output
  /// rescaled (not yet accumulated) and this lane's probability in `p`.
  RowState softmaxStep(const RowState &state, Value score, Value &p);
  /// out[r][c] += Σ_j shfl(p[r], j) · Vs[j][lane + 32c].
  void accumulateValues(SmallVector<RowState> &states, ArrayRef<Value> probabilities);
  void storeOutputs(ArrayRef<RowState> states);
  Value queryRow(int64_t r) { return add(firstRow, index(r)); }

  const AttentionSpec &spec;
  int64_t rows, columns;
  Value q, k, v, mask, o;
  Value lane, batchIndex, headIndex, blockHead, blockFirstRow, firstRow;
  Value qTile, kTile, vTile;
};

Value AttentionEmitter::offset(const std::array<int64_t, 4> &strides, int64_t base, Value head,
                               Value row, Value col) {
  Value at = add(add(mul(batchIndex, strides[0]), mul(head, strides[1])), index(base));
  return add(at, add(mul(row, strides[2]), mul(col, strides[3])));
}

Value AttentionEmitter::loadF32(Value buffer, Value at) {
  Value value = memref::LoadOp::create(b, loc, buffer, at);
  if (!value.getType().isF32())
    value = arith::ExtFOp::create(b, loc, b.getF32Type(), value);
  return value;
}

void AttentionEmitter::stageTile(Value buffer, const std::array<int64_t, 4> &strides, int64_t base,
                                 Value head, Value first, int64_t count, int64_t cols,
                                 int64_t rowLimit, Value tile, Value factor) {
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  int64_t threads = spec.warps * kWarpLanes;
  scf::ForOp::create(b, loc, tid, index(count * cols), index(threads), ValueRange{},
                     [&](OpBuilder &, Location, Value element, ValueRange) {
                       Value r = divu(element, cols), c = remu(element, cols);
                       // Rows past the operand load its last row: never read out of bounds,
                       // and the scores of those keys are masked.
                       Value row = minu(add(first, r), rowLimit - 1);
                       Value value = loadF32(buffer, offset(strides, base, head, row, c));
                       if (factor)
                         value = mulf(value, factor);
                       memref::StoreOp::create(b, loc, value, tile, ValueRange{r, c});
                       scf::YieldOp::create(b, loc);
                     });
}

SmallVector<Value> AttentionEmitter::scores() {
  SmallVector<Value> zeros(rows, f32(0.0f));
  Value warpRow = mul(divu(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x), kWarpLanes), rows);
  auto loop =
      scf::ForOp::create(b, loc, index(0), index(spec.headDim), index(1), zeros,
                         [&](OpBuilder &, Location, Value d, ValueRange sums) {
                           Value key = memref::LoadOp::create(b, loc, kTile, ValueRange{lane, d});
                           SmallVector<Value> next;
                           for (int64_t r = 0; r < rows; ++r) {
                             Value query = memref::LoadOp::create(
                                 b, loc, qTile, ValueRange{add(warpRow, index(r)), d});
                             next.push_back(math::FmaOp::create(b, loc, query, key, sums[r]));
                           }
                           scf::YieldOp::create(b, loc, next);
                         });
  return SmallVector<Value>(loop.getResults());
}

Value AttentionEmitter::maskScore(Value score, Value row, Value key) {
  if (mask) {
    Value group =
        remu(divu(add(mul(batchIndex, spec.heads), headIndex), spec.maskDivisor), spec.maskGroups);
    Value maskRow = spec.maskRows == 1 ? index(0) : minu(row, spec.queries - 1);
    Value at =
        add(mul(add(mul(group, spec.maskRows), maskRow), spec.keys), minu(key, spec.keys - 1));
    score = addf(score, loadF32(mask, at));
  }
  Value excluded = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, key, index(spec.keys));
  if (spec.causal)
    excluded = arith::OrIOp::create(
        b, loc, excluded, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, key, row));
  Value minusInf = f32(-std::numeric_limits<float>::infinity());
  return arith::SelectOp::create(b, loc, excluded, minusInf, score);
}

RowState AttentionEmitter::softmaxStep(const RowState &state, Value score, Value &p) {
  Value tileMax = warpReduce(b, loc, score, [&](Value l, Value r) -> Value {
    return arith::MaximumFOp::create(b, loc, l, r);
  });
  RowState next;
  next.max = arith::MaximumFOp::create(b, loc, state.max, tileMax);
  Value noneYet = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, next.max,
                                        f32(-std::numeric_limits<float>::infinity()));
  Value base = arith::SelectOp::create(b, loc, noneYet, f32(0.0f), next.max);
  p = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, score, base));
  Value alpha = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, state.max, base));
  Value tileSum = warpReduce(b, loc, p, [&](Value l, Value r) -> Value { return addf(l, r); });
  next.sum = math::FmaOp::create(b, loc, state.sum, alpha, tileSum);
  for (Value acc : state.out)
    next.out.push_back(mulf(acc, alpha));
  return next;
}

void AttentionEmitter::accumulateValues(SmallVector<RowState> &states,
                                        ArrayRef<Value> probabilities) {
  SmallVector<Value> init;
  for (const RowState &state : states)
    init.append(state.out.begin(), state.out.end());
  SmallVector<Value> valueColumns;
  for (int64_t c = 0; c < columns; ++c)
    valueColumns.push_back(minu(add(lane, index(c * kWarpLanes)), spec.valueDim - 1));
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), kWarpLanes);
  auto loop = scf::ForOp::create(
      b, loc, index(0), index(kKeyTile), index(1), init,
      [&](OpBuilder &, Location, Value j, ValueRange accs) {
        Value source = arith::IndexCastOp::create(b, loc, b.getI32Type(), j);
        SmallVector<Value> weights;
        for (Value p : probabilities)
          weights.push_back(gpu::ShuffleOp::create(b, loc, p, source, width, gpu::ShuffleMode::IDX)
                                .getShuffleResult());
        SmallVector<Value> next(accs.begin(), accs.end());
        for (int64_t c = 0; c < columns; ++c) {
          Value value = memref::LoadOp::create(b, loc, vTile, ValueRange{j, valueColumns[c]});
          for (int64_t r = 0; r < rows; ++r)
            next[r * columns + c] =
                math::FmaOp::create(b, loc, weights[r], value, next[r * columns + c]);
        }
        scf::YieldOp::create(b, loc, next);
      });
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c)
      states[r].out[c] = loop.getResult(r * columns + c);
}

void AttentionEmitter::storeOutputs(ArrayRef<RowState> states) {
  Type element = cast<MemRefType>(o.getType()).getElementType();
  for (int64_t r = 0; r < rows; ++r) {
    Value row = queryRow(r);
    Value inverse = arith::DivFOp::create(b, loc, f32(1.0f), states[r].sum);
    for (int64_t c = 0; c < columns; ++c) {
      Value column = add(lane, index(c * kWarpLanes));
      Value inside = arith::AndIOp::create(b, loc, ult(row, index(spec.queries)),
                                           ult(column, index(spec.valueDim)));
      auto guard = scf::IfOp::create(b, loc, TypeRange{}, inside, false);
      OpBuilder::InsertionGuard ig(b);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
      Value value = mulf(states[r].out[c], inverse);
      if (!element.isF32())
        value = arith::TruncFOp::create(b, loc, element, value);
      Value at = add(mul(add(mul(blockHead, spec.queries), row), spec.valueDim), column);
      memref::StoreOp::create(b, loc, value, o, at);
    }
  }
}

void AttentionEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  unsigned arg = 0;
  q = entry.getArgument(arg++);
  k = entry.getArgument(arg++);
  v = entry.getArgument(arg++);
  mask = spec.mask ? entry.getArgument(arg++) : Value();
  o = entry.getArgument(arg++);

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  lane = remu(tid, kWarpLanes);
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  blockHead = divu(block, queryTiles(spec));
  batchIndex = divu(blockHead, spec.heads);
  headIndex = remu(blockHead, spec.heads);
  Value kvHead = spec.kvGroup == 1 ? headIndex : divu(headIndex, spec.kvGroup);
  blockFirstRow = mul(remu(block, queryTiles(spec)), rowsPerBlock(spec));
  firstRow = add(blockFirstRow, mul(divu(tid, kWarpLanes), rows));

  Value dynamic = dynamicSharedBytes(b, loc);
  SharedLayout layout = sharedLayout(spec);
  Type f32Type = b.getF32Type();
  qTile = sharedView(b, loc, dynamic, 0, {rowsPerBlock(spec), spec.headDim}, f32Type);
  kTile = sharedView(b, loc, dynamic, 4 * layout.qFloats, {kKeyTile, spec.headDim + 1}, f32Type);
  vTile = sharedView(b, loc, dynamic, 4 * (layout.qFloats + layout.kFloats),
                     {kKeyTile, spec.valueDim}, f32Type);

  stageTile(q, spec.qStrides, spec.qOffset, headIndex, blockFirstRow, rowsPerBlock(spec),
            spec.headDim, spec.queries, qTile, f32(spec.scale));

  // Causal blocks stop after the tile holding their last row's key.
  int64_t keyTiles = (spec.keys + kKeyTile - 1) / kKeyTile;
  Value tileEnd = index(keyTiles);
  if (spec.causal)
    tileEnd = minu(divu(add(blockFirstRow, index(rowsPerBlock(spec) + kKeyTile - 1)), kKeyTile),
                   keyTiles);
  SmallVector<Value> init;
  for (int64_t r = 0; r < rows; ++r) {
    init.push_back(f32(-std::numeric_limits<float>::infinity()));
    init.push_back(f32(0.0f));
    init.append(columns, f32(0.0f));
  }
  int64_t stride = 2 + columns;
  auto unpack = [&](ValueRange values) {
    SmallVector<RowState> states(rows);
    for (int64_t r = 0; r < rows; ++r) {
      states[r].max = values[r * stride];
      states[r].sum = values[r * stride + 1];
      states[r].out.assign(values.begin() + r * stride + 2, values.begin() + (r + 1) * stride);
    }
    return states;
  };
  auto loop = scf::ForOp::create(
      b, loc, index(0), tileEnd, index(1), init,
      [&](OpBuilder &, Location, Value keyTile, ValueRange carried) {
        Value firstKey = mul(keyTile, kKeyTile);
        gpu::BarrierOp::create(b, loc); // the previous tiles are consumed
        stageTile(k, spec.kStrides, spec.kOffset, kvHead, firstKey, kKeyTile, spec.headDim,
                  spec.keys, kTile, Value());
        stageTile(v, spec.vStrides, spec.vOffset, kvHead, firstKey, kKeyTile, spec.valueDim,
                  spec.keys, vTile, Value());
        gpu::BarrierOp::create(b, loc);
        SmallVector<Value> rowScores = scores();
        Value key = add(firstKey, lane);
        SmallVector<RowState> states = unpack(carried);
        SmallVector<Value> probabilities(rows);
        for (int64_t r = 0; r < rows; ++r)
          states[r] =
              softmaxStep(states[r], maskScore(rowScores[r], queryRow(r), key), probabilities[r]);
        accumulateValues(states, probabilities);
        SmallVector<Value> yielded;
        for (const RowState &state : states) {
          yielded.push_back(state.max);
          yielded.push_back(state.sum);
          yielded.append(state.out.begin(), state.out.end());
        }
        scf::YieldOp::create(b, loc, yielded);
      });
  storeOutputs(unpack(loop.getResults()));
  gpu::ReturnOp::create(b, loc);
}

} // namespace

gpu::GPUFuncOp buildAttentionKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                    const AttentionSpec &spec) {
  Location loc = module.getLoc();
  Type element = spec.element == AttentionElement::F16 ? Type(builder.getF16Type())
                                                       : Type(builder.getF32Type());
  AttentionExtents extents = attentionExtents(spec);
  SmallVector<Type> args = {MemRefType::get({extents.q}, element),
                            MemRefType::get({extents.k}, element),
                            MemRefType::get({extents.v}, element)};
  if (spec.mask)
    args.push_back(MemRefType::get({extents.mask}, builder.getF32Type()));
  args.push_back(MemRefType::get({extents.o}, element));

  OpBuilder::InsertionGuard guard(builder);
  auto func = createGemmKernelFunc(builder, module, attentionKernelName(spec), args,
                                   attentionLaunchShape(spec).blockX, /*firstNoAlias=*/0);
  if (spec.method == AttentionMethod::TensorCore)
    emitTensorCoreAttention(builder, loc, spec, func);
  else
    AttentionEmitter(builder, loc, spec).emit(func);
  return func;
}

} // namespace kiln::kernels

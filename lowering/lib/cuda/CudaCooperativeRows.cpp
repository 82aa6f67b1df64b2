//===- CudaCooperativeRows.cpp - a warp per row for fused row nests ------===//
//
// kiln-cuda-fuse-loop-nests leaves softmax, LayerNorm, RMSNorm and row
// reductions as one scf.parallel over rows whose thread walks its whole row:
// neighbouring threads read addresses a row apart, and a single row (a
// decode step) is a single thread. Here each row gets a warp: its lanes walk
// the elements lane, lane + 32, ... and each reduction combines per-lane
// partials with shuffles. Only nests whose every access has one of the
// shapes below are converted; the others keep a thread per row.
//
// Why the result is the nest's (up to reassociating the reductions): every
// value computed outside the row loops is the same in all lanes (row ids,
// constants, loads of such values, warp totals), so the lanes repeat the
// row's scalar work and store identical values; inside a row loop each
// element written is touched only by the iteration (so the lane) that owns
// it, or is an accumulator, kept in registers; and a warp barrier separates
// two steps of the row whenever one writes a buffer the other touches, so no
// lane reads before the others have written or writes before they have read.
//
//===----------------------------------------------------------------------===//
#include "kiln/Lowering/CudaRowPasses.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

namespace kiln {
#define GEN_PASS_DEF_CUDACOOPERATIVEROWS
#include "kiln/Lowering/CudaRowPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

constexpr int64_t kWarpSize = 32;
/// Blocks that rows are spread over before blocks take several rows (about
/// one per SM: an H100 has 132, an A100 108).
constexpr int64_t kSpreadBlocks = 128;

/// The allocation, argument or global a view reaches (distinct ones never
/// overlap: the CUDA target's assumption, docs/cuda-target.md).
Value rootOf(Value memref) {
  while (auto view = memref.getDefiningOp<ViewLikeOpInterface>())
    memref = view.getViewSource();
  return memref;
}

/// The identity of a reduction combiner on f32 (combining it with any x
/// gives x exactly), or nothing for an op that is not a supported combiner.
std::optional<APFloat> combinerIdentity(Operation *op) {
  if (op->getNumOperands() != 2 || op->getNumResults() != 1 ||
      !op->getResult(0).getType().isF32())
    return std::nullopt;
  const llvm::fltSemantics &f32 = APFloat::IEEEsingle();
  return llvm::TypeSwitch<Operation *, std::optional<APFloat>>(op)
      // -0 rather than +0: -0 + -0 is -0.
      .Case<arith::AddFOp>([&](auto) { return APFloat::getZero(f32, /*Negative=*/true); })
      .Case<arith::MulFOp>([&](auto) { return APFloat::getOne(f32); })
      .Case<arith::MaximumFOp>([&](auto) { return APFloat::getInf(f32, /*Negative=*/true); })
      .Case<arith::MinimumFOp>([&](auto) { return APFloat::getInf(f32); })
      // maxnum and minnum return the other operand of a quiet NaN.
      .Case<arith::MaxNumFOp, arith::MinNumFOp>([&](auto) { return APFloat::getQNaN(f32); })
      .Default([](Operation *) { return std::nullopt; });
}

/// One step of a reduction in a row loop: `acc[i] = combiner(acc[i], value)`
/// with `i` not depending on the loop.
struct Accumulator {
  memref::LoadOp load;
  Operation *combiner;
  memref::StoreOp store;
  APFloat identity;
  unsigned valueOperand; // the combiner's operand that is not the load

  Value value() const { return combiner->getOperand(valueOperand); }
};

/// A loop over a row (induction variable from 0 by 1) whose stores are
/// accumulators or elements that only its own iteration touches.
struct RowLoop {
  scf::ForOp loop;
  SmallVector<Accumulator> accumulators;
  SmallVector<Value> readRoots;    // loads, accumulators included
  SmallVector<Value> writtenRoots; // stores other than accumulators
};

bool isDefinedOutside(scf::ForOp loop, ValueRange values) {
  return llvm::all_of(values, [&](Value v) { return loop.isDefinedOutsideOfLoop(v); });
}

std::optional<Accumulator> matchAccumulator(scf::ForOp loop, memref::StoreOp store) {
  if (!isDefinedOutside(loop, store.getMemRef()) || !isDefinedOutside(loop, store.getIndices()))
    return std::nullopt;
  Operation *combiner = store.getValue().getDefiningOp();
  if (!combiner || !combiner->hasOneUse() || combiner->getBlock() != store->getBlock())
    return std::nullopt;
  std::optional<APFloat> identity = combinerIdentity(combiner);
  if (!identity)
    return std::nullopt;
  // The identities are infinities and NaN, which these flags rule out.
  if (auto fastMath = dyn_cast<arith::ArithFastMathInterface>(combiner))
    if (arith::bitEnumContainsAny(fastMath.getFastMathFlagsAttr().getValue(),
                                  arith::FastMathFlags::ninf | arith::FastMathFlags::nnan))
      return std::nullopt;
  for (OpOperand &operand : combiner->getOpOperands()) {
    auto load = operand.get().getDefiningOp<memref::LoadOp>();
    if (load && load->hasOneUse() && load->getBlock() == store->getBlock() &&
        load.getMemRef() == store.getMemRef() &&
        llvm::equal(load.getIndices(), store.getIndices()))
      return Accumulator{load, combiner, store, *identity, 1 - operand.getOperandNumber()};
  }
  return std::nullopt;
}

bool sameElement(memref::LoadOp load, memref::StoreOp store) {
  return load.getMemRef() == store.getMemRef() &&
         llvm::equal(load.getIndices(), store.getIndices());
}

bool sameElement(memref::StoreOp a, memref::StoreOp b) {
  return a.getMemRef() == b.getMemRef() && llvm::equal(a.getIndices(), b.getIndices());
}

/// Whether every other access to the buffer `store` writes keeps iterations
/// (so lanes) apart: an accumulator's element is touched only by its load and
/// store; an element stored at the loop's index only by that iteration.
bool isIterationLocal(memref::StoreOp store, const Accumulator *acc,
                      ArrayRef<memref::LoadOp> loads, ArrayRef<memref::StoreOp> stores,
                      ArrayRef<Accumulator> accumulators) {
  Value root = rootOf(store.getMemRef());
  for (memref::LoadOp load : loads)
    if (rootOf(load.getMemRef()) == root &&
        (acc ? load != acc->load : !sameElement(load, store)))
      return false;
  for (memref::StoreOp other : stores) {
    if (other == store || rootOf(other.getMemRef()) != root)
      continue;
    bool otherIsAccumulator = llvm::any_of(
        accumulators, [&](const Accumulator &a) { return a.store == other; });
    if (acc || otherIsAccumulator || !sameElement(other, store))
      return false;
  }
  return true;
}

std::optional<RowLoop> analyzeLoop(scf::ForOp loop) {
  if (getConstantIntValue(loop.getLowerBound()) != 0 ||
      getConstantIntValue(loop.getStep()) != 1 || loop.getNumResults() != 0)
    return std::nullopt;
  SmallVector<memref::LoadOp> loads;
  SmallVector<memref::StoreOp> stores;
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (auto load = dyn_cast<memref::LoadOp>(op))
      loads.push_back(load);
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      stores.push_back(store);
    else if (op.getNumRegions() != 0 || !isMemoryEffectFree(&op))
      return std::nullopt;
  }
  RowLoop row{loop, {}, {}, {}};
  Value iv = loop.getInductionVar();
  SmallVector<memref::StoreOp> elementStores;
  for (memref::StoreOp store : stores) {
    if (std::optional<Accumulator> acc = matchAccumulator(loop, store))
      row.accumulators.push_back(*acc);
    else if (llvm::is_contained(store.getIndices(), iv))
      elementStores.push_back(store);
    else
      return std::nullopt; // a value carried from one iteration to the next
  }
  for (const Accumulator &acc : row.accumulators)
    if (!isIterationLocal(acc.store, &acc, loads, stores, row.accumulators))
      return std::nullopt;
  for (memref::StoreOp store : elementStores) {
    if (!isIterationLocal(store, nullptr, loads, stores, row.accumulators))
      return std::nullopt;
    row.writtenRoots.push_back(rootOf(store.getMemRef()));
  }
  for (memref::LoadOp load : loads)
    row.readRoots.push_back(rootOf(load.getMemRef()));
  return row;
}

/// Whether `row` reads the thread's own row: a load indexed by every
/// induction variable of the nest and, last, the loop's. A contraction's
/// operands are each shared by threads (x[i, k] by every j, w[k, j] by every
/// i), so its reduction loop has none.
bool readsOwnRow(const RowLoop &row, ValueRange rowIds) {
  scf::ForOp loop = row.loop;
  Value iv = loop.getInductionVar();
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto load = dyn_cast<memref::LoadOp>(op);
    if (!load || load.getIndices().empty() || load.getIndices().back() != iv)
      continue;
    if (llvm::all_of(rowIds, [&](Value id) { return llvm::is_contained(load.getIndices(), id); }))
      return true;
  }
  return false;
}

/// The row loops of `nest` when every row can run on a warp, else nothing.
std::optional<SmallVector<RowLoop>> analyzeNest(scf::ParallelOp nest) {
  if (nest.getNumResults() != 0)
    return std::nullopt;
  SmallVector<RowLoop> loops;
  bool reduces = false, longRow = false;
  for (Operation &op : nest.getBody()->without_terminator()) {
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      std::optional<RowLoop> row = analyzeLoop(loop);
      if (!row)
        return std::nullopt;
      if (!row->accumulators.empty()) {
        if (!readsOwnRow(*row, nest.getInductionVars()))
          return std::nullopt;
        reduces = true;
      }
      std::optional<int64_t> length = getConstantIntValue(loop.getUpperBound());
      longRow |= !length || *length >= kWarpSize;
      loops.push_back(std::move(*row));
      continue;
    }
    if (op.getNumRegions() != 0 ||
        !(isa<memref::LoadOp, memref::StoreOp>(op) || isMemoryEffectFree(&op)))
      return std::nullopt;
  }
  // Short rows keep a thread each: most lanes of their warp would idle.
  if (!reduces || !longRow)
    return std::nullopt;
  return loops;
}

/// Inserts a warp barrier between two steps of a row when one writes a
/// buffer the other touches (distinct roots never overlap).
class WarpBarriers {
public:
  void beforeStep(OpBuilder &b, Location loc, ArrayRef<Value> reads, ArrayRef<Value> writes) {
    bool conflict =
        llvm::any_of(writes, [&](Value root) { return read.contains(root) || written.contains(root); }) ||
        llvm::any_of(reads, [&](Value root) { return written.contains(root); });
    if (conflict) {
      Value allLanes = arith::ConstantIntOp::create(b, loc, b.getI32Type(), -1);
      NVVM::SyncWarpOp::create(b, loc, allLanes);
      read.clear();
      written.clear();
    }
    read.insert(reads.begin(), reads.end());
    written.insert(writes.begin(), writes.end());
  }

private:
  llvm::DenseSet<Value> read, written;
};

/// The accumulator's combiner applied to `partial` (in place of the loaded
/// value) and `value`, in the original operand order.
Value combine(OpBuilder &b, const Accumulator &acc, Value partial, Value value) {
  IRMapping operands;
  memref::LoadOp load = acc.load;
  operands.map(load.getResult(), partial);
  operands.map(acc.value(), value);
  return b.clone(*acc.combiner, operands)->getResult(0);
}

/// Butterfly reduction across the warp: every lane ends with the same bits
/// (at each step both lanes of a pair combine the same two values).
Value warpReduce(OpBuilder &b, Location loc, const Accumulator &acc, Value partial) {
  for (int32_t offset = kWarpSize / 2; offset > 0; offset /= 2) {
    Value other = gpu::ShuffleOp::create(b, loc, partial, offset, int32_t(kWarpSize),
                                         gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    partial = combine(b, acc, partial, other);
  }
  return partial;
}

/// `row`'s loop with lane-strided iterations: accumulators become per-lane
/// partials (from their identity), reduced across the warp and combined once
/// with the value the accumulator had before the loop.
void emitRowLoop(OpBuilder &b, const RowLoop &row, Value lane, IRMapping &mapping,
                 WarpBarriers &barriers) {
  scf::ForOp loop = row.loop;
  Location loc = loop.getLoc();
  barriers.beforeStep(b, loc, row.readRoots, row.writtenRoots);
  SmallVector<Value> initial, identities;
  for (const Accumulator &acc : row.accumulators) {
    initial.push_back(b.clone(*acc.load, mapping)->getResult(0));
    identities.push_back(
        arith::ConstantFloatOp::create(b, loc, b.getF32Type(), acc.identity).getResult());
  }
  auto isAccessOfAccumulator = [&](Operation *op) {
    return llvm::any_of(row.accumulators, [&](const Accumulator &acc) {
      return op == static_cast<Operation *>(acc.load) ||
             op == static_cast<Operation *>(acc.store);
    });
  };
  Value warp = arith::ConstantIndexOp::create(b, loc, kWarpSize);
  auto strided = scf::ForOp::create(
      b, loc, lane, mapping.lookupOrDefault(loop.getUpperBound()), warp, identities,
      [&](OpBuilder &inner, Location innerLoc, Value iv, ValueRange partials) {
        mapping.map(loop.getInductionVar(), iv);
        SmallVector<Value> next(partials.begin(), partials.end());
        for (Operation &op : loop.getBody()->without_terminator()) {
          if (isAccessOfAccumulator(&op))
            continue;
          auto acc = llvm::find_if(row.accumulators,
                                   [&](const Accumulator &a) { return a.combiner == &op; });
          if (acc == row.accumulators.end()) {
            inner.clone(op, mapping);
            continue;
          }
          size_t i = acc - row.accumulators.begin();
          next[i] = combine(inner, *acc, partials[i], mapping.lookupOrDefault(acc->value()));
        }
        scf::YieldOp::create(inner, innerLoc, next);
      });
  SmallVector<Value> accumulatorRoots;
  for (auto [i, acc] : llvm::enumerate(row.accumulators)) {
    Value total = warpReduce(b, loc, acc, strided.getResult(i));
    mapping.map(acc.combiner->getResult(0), combine(b, acc, initial[i], total));
    memref::StoreOp store = acc.store;
    accumulatorRoots.push_back(rootOf(store.getMemRef()));
  }
  // Every lane has read the accumulators' old values before any writes.
  barriers.beforeStep(b, loc, {}, accumulatorRoots);
  for (const Accumulator &acc : row.accumulators)
    b.clone(*acc.store, mapping);
}

/// Rows of the nest when every bound is a constant.
std::optional<int64_t> staticRowCount(scf::ParallelOp nest) {
  int64_t rows = 1;
  for (auto [lb, ub, step] :
       llvm::zip(nest.getLowerBound(), nest.getUpperBound(), nest.getStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb), u = getConstantIntValue(ub),
                           s = getConstantIntValue(step);
    if (!l || !u || !s || *s <= 0 || *u < *l)
      return std::nullopt;
    if (llvm::MulOverflow(rows, int64_t(llvm::divideCeil(*u - *l, *s)), rows))
      return std::nullopt; // no shape this large runs; the default block size is fine
  }
  return rows;
}

/// A launch with a warp per row of `nest`, `rowsPerBlock` rows per block.
void convertNest(scf::ParallelOp nest, ArrayRef<RowLoop> loops, int64_t rowsPerBlock) {
  OpBuilder b(nest);
  Location loc = nest.getLoc();
  auto index = [&](int64_t value) { return arith::ConstantIndexOp::create(b, loc, value); };
  Value one = index(1);
  SmallVector<Value> counts;
  Value rows = one;
  for (auto [lb, ub, step] :
       llvm::zip(nest.getLowerBound(), nest.getUpperBound(), nest.getStep())) {
    Value extent = arith::SubIOp::create(b, loc, ub, lb);
    counts.push_back(arith::CeilDivSIOp::create(b, loc, extent, step));
    rows = arith::MulIOp::create(b, loc, rows, counts.back());
  }
  // Few rows (a decode step's heads) spread over the SMs, a warp per block.
  if (std::optional<int64_t> known = staticRowCount(nest))
    rowsPerBlock = std::clamp<int64_t>(*known / kSpreadBlocks, 1, rowsPerBlock);
  Value block = index(rowsPerBlock);
  Value grid = arith::CeilDivSIOp::create(b, loc, rows, block);
  grid = arith::MaxSIOp::create(b, loc, grid, one); // a zero grid is a launch error
  auto launch = gpu::LaunchOp::create(b, loc, grid, one, one, index(kWarpSize), block, one);
  Block &body = launch.getBody().front();
  if (body.empty()) {
    OpBuilder end = OpBuilder::atBlockEnd(&body);
    gpu::TerminatorOp::create(end, loc);
  }
  b.setInsertionPointToStart(&body);
  // The warp is threadIdx.y, so the guard keeps whole warps together.
  Value base = arith::MulIOp::create(b, loc, launch.getBlockIds().x, block);
  Value row = arith::AddIOp::create(b, loc, base, launch.getThreadIds().y);
  Value lane = launch.getThreadIds().x;
  Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, row, rows);
  auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  // Row ids innermost first, as kiln-cuda-loops-to-launch numbers threads.
  auto ids = affine::AffineDelinearizeIndexOp::create(b, loc, row, counts);
  IRMapping mapping;
  for (auto [d, id] : llvm::enumerate(ids.getResults())) {
    Value scaled = arith::MulIOp::create(b, loc, id, nest.getStep()[d]);
    mapping.map(nest.getInductionVars()[d],
                arith::AddIOp::create(b, loc, scaled, nest.getLowerBound()[d]));
  }
  WarpBarriers barriers;
  const RowLoop *nextLoop = loops.begin();
  for (Operation &op : nest.getBody()->without_terminator()) {
    if (isa<scf::ForOp>(op)) {
      emitRowLoop(b, *nextLoop++, lane, mapping, barriers);
      continue;
    }
    SmallVector<Value> reads, writes;
    if (auto load = dyn_cast<memref::LoadOp>(op))
      reads.push_back(rootOf(load.getMemRef()));
    if (auto store = dyn_cast<memref::StoreOp>(op))
      writes.push_back(rootOf(store.getMemRef()));
    barriers.beforeStep(b, op.getLoc(), reads, writes);
    b.clone(op, mapping);
  }
  nest.erase();
}

struct CudaCooperativeRows : impl::CudaCooperativeRowsBase<CudaCooperativeRows> {
  using Base::Base;

  void runOnOperation() override {
    if (rowsPerBlock < 1 || rowsPerBlock > 1024 / kWarpSize) {
      getOperation().emitError("kiln-cuda-cooperative-rows: rows-per-block must be in [1, 32]");
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> nests;
    for (Block &block : getOperation().getBody())
      for (Operation &op : block)
        if (auto nest = dyn_cast<scf::ParallelOp>(op))
          nests.push_back(nest);
    int64_t rowNests = 0, converted = 0;
    for (scf::ParallelOp nest : nests) {
      bool hasRowLoop = llvm::any_of(nest.getBody()->without_terminator(),
                                     [](Operation &op) { return isa<scf::ForOp>(op); });
      if (!hasRowLoop)
        continue;
      ++rowNests;
      if (std::optional<SmallVector<RowLoop>> loops = analyzeNest(nest)) {
        convertNest(nest, *loops, rowsPerBlock);
        ++converted;
      }
    }
    if (report)
      getOperation().emitRemark()
          << "kiln-cuda-cooperative-rows: " << converted << " of " << rowNests
          << " nests with loops in their threads run a warp per row (the others, "
             "contractions included, keep a thread per output)";
  }
};

} // namespace
} // namespace kiln

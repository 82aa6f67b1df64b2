//===- CudaFuseLoopNests.cpp - neighbouring loop nests as one kernel -----===//
//
// After linalg becomes loops, each top-level scf.parallel is one kernel. Two
// neighbouring nests fuse when every buffer one of them writes and the other
// touches is touched by both at the same element for the same thread: then
// running the second nest's body right after the first's, in the same
// thread, sees exactly the values it saw as a separate kernel. That puts
// epilogues (bias, activation, residual, cast) into their contraction's
// kernel. A row reduction (a nest whose threads loop over a row) also takes
// the elementwise nest after it that reads its per-row results: the latter's
// extra dimensions become loops in the row's thread, so softmax, LayerNorm
// and RMSNorm run as one kernel with a thread per row.
//
//===----------------------------------------------------------------------===//
#include "kiln/Lowering/CudaCodegenPasses.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/DenseMap.h"

namespace kiln {
#define GEN_PASS_DEF_CUDAFUSELOOPNESTS
#include "kiln/Lowering/CudaCodegenPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// One load or store: the view it goes through and, per index, the
/// thread dimension it is (-1: anything else).
struct Access {
  Value memref;
  bool write = false;
  SmallVector<int64_t> dims;
};

constexpr int64_t kNotThread = -1;

/// The allocation, argument or global a view reaches.
Value rootOf(Value memref) {
  while (auto view = memref.getDefiningOp<ViewLikeOpInterface>())
    memref = view.getViewSource();
  return memref;
}

/// The accesses of `nest`'s body, whose threads are its first `numDims`
/// parallel dimensions, or nothing when it does something else to memory (a
/// call, a copy, an unknown op with effects).
std::optional<SmallVector<Access>> collectAccesses(scf::ParallelOp nest, unsigned numDims) {
  SmallVector<Access> accesses;
  SmallVector<Value> ivs = nest.getInductionVars();
  ArrayRef<Value> threadIds = ArrayRef<Value>(ivs).take_front(numDims);
  auto describe = [&](Value memref, ValueRange indices, bool write) {
    Access access{memref, write, {}};
    for (Value index : indices) {
      auto iv = llvm::find(threadIds, index);
      access.dims.push_back(iv == threadIds.end() ? kNotThread : iv - threadIds.begin());
    }
    accesses.push_back(std::move(access));
  };
  WalkResult result = nest.getBody()->walk([&](Operation *op) {
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      describe(load.getMemRef(), load.getIndices(), false);
      return WalkResult::advance();
    }
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      describe(store.getMemRef(), store.getIndices(), true);
      return WalkResult::advance();
    }
    if (isa<scf::ForOp, scf::YieldOp, scf::ReduceOp, scf::IfOp>(op) || isMemoryEffectFree(op))
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  if (result.wasInterrupted())
    return std::nullopt;
  return accesses;
}

/// Whether the elements a thread reaches through `access` have its thread
/// ids as coordinates (every thread dimension indexes some position), so
/// that no two threads share one.
bool isThreadOwned(const Access &access, unsigned numDims) {
  for (unsigned dim = 0; dim < numDims; ++dim)
    if (!llvm::is_contained(access.dims, int64_t(dim)))
      return false;
  return true;
}

/// Two accesses through the same view with the thread ids at the same
/// positions: each thread only meets elements no other thread meets.
bool sameElementsPerThread(const Access &a, const Access &b, unsigned numDims) {
  return a.memref == b.memref && a.dims == b.dims && isThreadOwned(a, numDims);
}

/// Whether running `second`'s body right after `first`'s in the same thread
/// computes what running them one after the other does (threads indexed by
/// the first `numDims` parallel dimensions of both).
bool isThreadLocal(ArrayRef<Access> first, ArrayRef<Access> second, unsigned numDims) {
  for (const Access &a : first) {
    for (const Access &b : second) {
      if (!a.write && !b.write)
        continue;
      if (rootOf(a.memref) != rootOf(b.memref))
        continue; // distinct allocations and arguments do not overlap
      if (!sameElementsPerThread(a, b, numDims))
        return false;
    }
  }
  return true;
}

bool sameBounds(scf::ParallelOp a, scf::ParallelOp b, unsigned numDims) {
  for (unsigned dim = 0; dim < numDims; ++dim)
    if (!isEqualConstantIntOrValue(a.getLowerBound()[dim], b.getLowerBound()[dim]) ||
        !isEqualConstantIntOrValue(a.getUpperBound()[dim], b.getUpperBound()[dim]) ||
        !isEqualConstantIntOrValue(a.getStep()[dim], b.getStep()[dim]))
      return false;
  return true;
}

bool hasInnerLoop(scf::ParallelOp nest) {
  return nest.getBody()->walk([](scf::ForOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Ops that may sit between two nests and move above the first: they only
/// allocate or compute values (the nests have no results to depend on).
bool isMovable(Operation &op) {
  return op.getNumRegions() == 0 &&
         (isa<memref::AllocOp, memref::AllocaOp>(op) || isMemoryEffectFree(&op));
}

/// Moves `second`'s body into `first`'s, after it; dimensions of `second`
/// beyond `first`'s become sequential loops in the thread.
void fuseInto(scf::ParallelOp first, scf::ParallelOp second) {
  unsigned numDims = first.getNumLoops();
  for (Operation *op = first->getNextNode(); op != second.getOperation();) {
    Operation *next = op->getNextNode();
    op->moveBefore(first);
    op = next;
  }
  IRMapping mapping;
  for (unsigned dim = 0; dim < numDims; ++dim)
    mapping.map(second.getInductionVars()[dim], first.getInductionVars()[dim]);
  OpBuilder b(first.getBody()->getTerminator());
  Location loc = second.getLoc();
  for (unsigned dim = numDims; dim < second.getNumLoops(); ++dim) {
    auto loop = scf::ForOp::create(b, loc, second.getLowerBound()[dim],
                                   second.getUpperBound()[dim], second.getStep()[dim]);
    mapping.map(second.getInductionVars()[dim], loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  for (Operation &op : second.getBody()->without_terminator())
    b.clone(op, mapping);
  second.erase();
}

/// Fuses `second` into `first` when that is legal; returns whether it did.
bool tryFuse(scf::ParallelOp first, scf::ParallelOp second) {
  unsigned numDims = first.getNumLoops();
  if (second.getNumLoops() < numDims || !sameBounds(first, second, numDims))
    return false;
  // Extra dimensions become loops: only worth it behind a row reduction.
  if (second.getNumLoops() > numDims && !hasInnerLoop(first))
    return false;
  auto firstAccesses = collectAccesses(first, numDims);
  auto secondAccesses = collectAccesses(second, numDims);
  if (!firstAccesses || !secondAccesses ||
      !isThreadLocal(*firstAccesses, *secondAccesses, numDims))
    return false;
  fuseInto(first, second);
  return true;
}

/// The next nest after `nest` with only movable ops in between.
scf::ParallelOp nextNest(scf::ParallelOp nest) {
  for (Operation *op = nest->getNextNode(); op; op = op->getNextNode()) {
    if (auto next = dyn_cast<scf::ParallelOp>(op))
      return next;
    if (!isMovable(*op))
      return nullptr;
  }
  return nullptr;
}

struct CudaFuseLoopNests : impl::CudaFuseLoopNestsBase<CudaFuseLoopNests> {
  void runOnOperation() override {
    // Fusion only erases nests after the current one.
    for (Block &block : getOperation().getBody())
      for (Operation *op = &block.front(); op; op = op->getNextNode())
        if (auto nest = dyn_cast<scf::ParallelOp>(op))
          while (scf::ParallelOp next = nextNest(nest))
            if (!tryFuse(nest, next))
              break;
  }
};

} // namespace
} // namespace kiln

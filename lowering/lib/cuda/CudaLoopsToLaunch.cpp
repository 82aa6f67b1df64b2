//===- CudaLoopsToLaunch.cpp - one gpu.launch per top-level loop nest ----===//
#include "kiln/Lowering/CudaPasses.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_CUDALOOPSTOLAUNCH
#include "kiln/Lowering/CudaPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// ceil((ub - lb) / step) for a positive step.
Value tripCount(OpBuilder &b, Location loc, Value lb, Value ub, Value step) {
  Value extent = arith::SubIOp::create(b, loc, ub, lb);
  return arith::CeilDivSIOp::create(b, loc, extent, step);
}

/// A launch of `numThreads` threads in blocks of `blockSize`; returns the
/// launch and, inside its body, each thread's linear id.
std::pair<gpu::LaunchOp, Value> createLinearLaunch(OpBuilder &b, Location loc, Value numThreads,
                                                   int64_t blockSize) {
  Value one = indexConstant(b, loc, 1);
  Value block = indexConstant(b, loc, std::min<int64_t>(blockSize, 1024));
  Value grid = arith::CeilDivSIOp::create(b, loc, numThreads, block);
  grid = arith::MaxSIOp::create(b, loc, grid, one); // a zero grid is a launch error
  auto launch = gpu::LaunchOp::create(b, loc, grid, one, one, block, one, one);
  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  if (body.empty() || !body.back().hasTrait<OpTrait::IsTerminator>()) {
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointToStart(&body);
  }
  Value base = arith::MulIOp::create(b, loc, launch.getBlockIds().x, block);
  Value id = arith::AddIOp::create(b, loc, base, launch.getThreadIds().x);
  return {launch, id};
}

/// Clones the ops of `from` (but its terminator) at `b`'s insertion point.
void cloneBody(OpBuilder &b, Block &from, IRMapping &mapping) {
  for (Operation &op : from.without_terminator())
    b.clone(op, mapping);
}

LogicalResult parallelToLaunch(scf::ParallelOp loop, int64_t blockSize) {
  if (loop.getNumResults() != 0)
    return loop.emitError("kiln-cuda-loops-to-launch: scf.parallel with reductions is not "
                          "supported");
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  SmallVector<Value> counts;
  Value total = indexConstant(b, loc, 1);
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    counts.push_back(tripCount(b, loc, lb, ub, step));
    total = arith::MulIOp::create(b, loc, total, counts.back());
  }
  auto [launch, id] = createLinearLaunch(b, loc, total, blockSize);
  Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, id, total);
  auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  // Innermost dimension fastest: neighbouring threads, neighbouring elements.
  IRMapping mapping;
  Value rest = id;
  for (int64_t d = int64_t(counts.size()) - 1; d >= 0; --d) {
    Value index = d == 0 ? rest : arith::RemSIOp::create(b, loc, rest, counts[d]).getResult();
    if (d > 0)
      rest = arith::DivSIOp::create(b, loc, rest, counts[d]);
    Value scaled = arith::MulIOp::create(b, loc, index, loop.getStep()[d]);
    Value iv = arith::AddIOp::create(b, loc, scaled, loop.getLowerBound()[d]);
    mapping.map(loop.getInductionVars()[d], iv);
  }
  cloneBody(b, *loop.getBody(), mapping);
  (void)launch;
  loop.erase();
  return success();
}

/// A loop nest without parallel dimensions runs in one thread.
void sequentialToLaunch(scf::ForOp loop) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  auto [launch, id] = createLinearLaunch(b, loc, indexConstant(b, loc, 1), 1);
  (void)launch;
  (void)id;
  b.clone(*loop.getOperation());
  loop.erase();
}

/// Whether `op` may be cloned into a kernel together with the store it
/// feeds: scalar loads and side-effect-free computation.
bool isKernelScalarOp(Operation *op) {
  return isa<memref::LoadOp>(op) || (isPure(op) && op->getNumRegions() == 0 &&
                                     !isa<memref::GetGlobalOp>(op) &&
                                     llvm::all_of(op->getResultTypes(), [](Type type) {
                                       return type.isIntOrIndexOrFloat();
                                     }));
}

/// A store at the top level (a linalg op of rank 0 after linalg-to-loops)
/// runs in one thread, with the loads and scalar ops that compute its value.
void storeToLaunch(memref::StoreOp store) {
  SetVector<Operation *> slice;
  SmallVector<Value> worklist(store->getOperands());
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != store->getBlock() || !isKernelScalarOp(def) ||
        matchPattern(def, m_Constant()) || !slice.insert(def))
      continue;
    worklist.append(def->operand_begin(), def->operand_end());
  }
  OpBuilder b(store);
  Location loc = store.getLoc();
  auto [launch, id] = createLinearLaunch(b, loc, indexConstant(b, loc, 1), 1);
  (void)launch;
  (void)id;
  IRMapping mapping;
  // The slice came in use-to-def order; program order keeps defs first.
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered, [](Operation *a, Operation *c) { return a->isBeforeInBlock(c); });
  for (Operation *op : ordered)
    b.clone(*op, mapping);
  b.clone(*store.getOperation(), mapping);
  store.erase();
  for (Operation *op : llvm::reverse(ordered))
    if (op->use_empty())
      op->erase();
}

struct CudaLoopsToLaunch : impl::CudaLoopsToLaunchBase<CudaLoopsToLaunch> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize <= 0 || blockSize > 1024) {
      getOperation().emitError("kiln-cuda-loops-to-launch: block-size must be in [1, 1024]");
      return signalPassFailure();
    }
    SmallVector<Operation *> nests;
    for (Block &block : getOperation().getBody())
      for (Operation &op : block)
        if (isa<scf::ParallelOp, scf::ForOp, memref::StoreOp>(op))
          nests.push_back(&op);
    for (Operation *nest : nests) {
      if (auto loop = dyn_cast<scf::ParallelOp>(nest)) {
        if (failed(parallelToLaunch(loop, blockSize)))
          return signalPassFailure();
        continue;
      }
      if (auto store = dyn_cast<memref::StoreOp>(nest)) {
        storeToLaunch(store);
        continue;
      }
      auto loop = cast<scf::ForOp>(nest);
      if (loop.getNumResults() != 0) {
        loop.emitError("kiln-cuda-loops-to-launch: a top-level scf.for with results cannot "
                       "run as a kernel");
        return signalPassFailure();
      }
      sequentialToLaunch(loop);
    }
  }
};

} // namespace
} // namespace kiln

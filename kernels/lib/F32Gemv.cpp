//===- F32Gemv.cpp - exact f32 GEMV for decode batches --------------------===//
//
// Warp w of block b owns output columns n0 .. n0 + R - 1, n0 = (b · warps +
// w) · R. Lane l walks K in 16-byte chunks l, l + 32, ...; per step it loads
// U chunks of each of its R weight rows and of each x row, then does the
// FMAs (U loads in flight per row hide the memory latency). Columns past N
// read row N - 1 (no guard in the loop) and are not stored.
//
//===----------------------------------------------------------------------===//
#include "kiln/Kernels/F32Gemv.h"

#include "GemmCommon.h"
#include "KernelSupport.h"

#include "kiln/Dialect/Codec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace kiln::kernels {
namespace {

constexpr int64_t kVector = 4; // f32 per 16-byte chunk

llvm::Error f32GemvError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "sgemv spec: " + message);
}

int64_t chunksPerRow(const F32GemvSpec &spec) { return spec.k / kVector; }

} // namespace

llvm::Expected<F32GemvSpec> resolveF32GemvSpec(F32GemvSpec spec) {
  if (spec.m < 1 || spec.m > kF32GemvMaxM || spec.n < 1 || spec.k < 1)
    return f32GemvError("M must be 1.." + llvm::Twine(kF32GemvMaxM) +
                        " and N, K positive, got M = " + llvm::Twine(spec.m) +
                        ", N = " + llvm::Twine(spec.n) + ", K = " + llvm::Twine(spec.k));
  if (spec.k % kVector != 0)
    return f32GemvError("K = " + llvm::Twine(spec.k) + " must be a multiple of 4");
  std::optional<int64_t> weights = codec::checkedMul(spec.n, spec.k);
  if (!weights || *weights > (int64_t{1} << 31))
    return f32GemvError("the weight has more than 2^31 elements");
  // Measured on the H100 (bench/results/2026-11-25-h100-session4-f32.md): a
  // column per warp, 8 warps, 8 chunks in flight is the fastest or tied at
  // M = 1 on every decoder shape (2 columns per warp lose up to 40% on
  // N = 2816); above M = 2, 4 chunks keep the x rows in registers.
  if (spec.rowsPerWarp == 0)
    spec.rowsPerWarp = 1;
  if (spec.warpsPerBlock == 0)
    spec.warpsPerBlock = 8;
  if (spec.chunksInFlight == 0)
    spec.chunksInFlight = std::min<int64_t>(spec.m <= 2 ? 8 : 4,
                                            (chunksPerRow(spec) + kWarpLanes - 1) / kWarpLanes);
  if (spec.rowsPerWarp < 1 || spec.rowsPerWarp > 8 || spec.warpsPerBlock < 1 ||
      spec.warpsPerBlock > 32 || spec.chunksInFlight < 1 || spec.chunksInFlight > 16)
    return f32GemvError("rows per warp (1..8), warps per block (1..32) or chunks in flight "
                        "(1..16) out of range");
  return spec;
}

std::string f32GemvKernelName(const F32GemvSpec &spec) {
  auto s = [](int64_t v) { return std::to_string(v); };
  return "sgemv_f32_m" + s(spec.m) + "_n" + s(spec.n) + "_k" + s(spec.k) + "_r" +
         s(spec.rowsPerWarp) + "w" + s(spec.warpsPerBlock) + "u" + s(spec.chunksInFlight) +
         (spec.bias ? "_bias" : "");
}

F32GemvLaunchShape f32GemvLaunchShape(const F32GemvSpec &spec) {
  int64_t columnsPerBlock = spec.rowsPerWarp * spec.warpsPerBlock;
  return {(spec.n + columnsPerBlock - 1) / columnsPerBlock, spec.warpsPerBlock * kWarpLanes};
}

namespace {

class F32GemvEmitter : ArithShorthands {
public:
  F32GemvEmitter(OpBuilder &b, Location loc, const F32GemvSpec &spec)
      : ArithShorthands(b, loc), spec(spec), rows(spec.rowsPerWarp), unroll(spec.chunksInFlight) {}

  void emit(gpu::GPUFuncOp func);

private:
  /// `memref[row, chunk]`, or zeros when `chunk` is past the row.
  Value loadChunk(Value memref, Value row, Value chunk, bool guarded);
  /// One step of U chunks per lane starting at chunk `first`: loads, then FMAs.
  SmallVector<Value> step(Value first, ValueRange accs, bool guarded);

  const F32GemvSpec &spec;
  int64_t rows, unroll;
  Value x, w, bias, y, lane;
  SmallVector<Value> weightRows; // clamped to N - 1
  Value zeroVector;
};

Value F32GemvEmitter::loadChunk(Value memref, Value row, Value chunk, bool guarded) {
  if (!guarded)
    return memref::LoadOp::create(b, loc, memref, ValueRange{row, chunk});
  auto guard = scf::IfOp::create(b, loc, TypeRange{zeroVector.getType()},
                                 ult(chunk, chunksPerRow(spec)), true);
  OpBuilder::InsertionGuard ig(b);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  scf::YieldOp::create(b, loc,
                       ValueRange{memref::LoadOp::create(b, loc, memref, ValueRange{row, chunk})});
  b.setInsertionPointToStart(&guard.getElseRegion().front());
  scf::YieldOp::create(b, loc, zeroVector);
  return guard.getResult(0);
}

SmallVector<Value> F32GemvEmitter::step(Value first, ValueRange accs, bool guarded) {
  // accs[m * rows + r]: 4 partial sums of output (m, n0 + r).
  SmallVector<Value> wChunks, xChunks;
  for (int64_t u = 0; u < unroll; ++u) {
    Value chunk = add(first, index(u * kWarpLanes));
    for (int64_t r = 0; r < rows; ++r)
      wChunks.push_back(loadChunk(w, weightRows[r], chunk, guarded));
    for (int64_t m = 0; m < spec.m; ++m)
      xChunks.push_back(loadChunk(x, index(m), chunk, guarded));
  }
  SmallVector<Value> result(accs);
  for (int64_t u = 0; u < unroll; ++u)
    for (int64_t m = 0; m < spec.m; ++m)
      for (int64_t r = 0; r < rows; ++r) {
        Value &acc = result[m * rows + r];
        acc = vector::FMAOp::create(b, loc, xChunks[u * spec.m + m], wChunks[u * rows + r], acc);
      }
  return result;
}

void F32GemvEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  unsigned arg = 0;
  x = entry.getArgument(arg++);
  w = entry.getArgument(arg++);
  bias = spec.bias ? entry.getArgument(arg++) : Value();
  y = entry.getArgument(arg++);

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  lane = arith::RemUIOp::create(b, loc, tid, index(kWarpLanes));
  Value warp = arith::DivUIOp::create(b, loc, tid, index(kWarpLanes));
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value firstColumn = mul(add(mul(block, spec.warpsPerBlock), warp), rows);
  SmallVector<Value> columns;
  for (int64_t r = 0; r < rows; ++r) {
    columns.push_back(add(firstColumn, index(r)));
    weightRows.push_back(arith::MinUIOp::create(b, loc, columns.back(), index(spec.n - 1)));
  }
  auto vectorType = VectorType::get({kVector}, b.getF32Type());
  zeroVector =
      arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, b.getF32FloatAttr(0)));

  // Full steps of 32 · U chunks without guards, then one guarded tail step.
  int64_t span = kWarpLanes * unroll;
  int64_t fullSteps = chunksPerRow(spec) / span;
  SmallVector<Value> accs(spec.m * rows, zeroVector);
  if (fullSteps > 0) {
    auto loop = scf::ForOp::create(
        b, loc, index(0), index(fullSteps * span), index(span), accs,
        [&](OpBuilder &, Location, Value first, ValueRange iter) {
          scf::YieldOp::create(b, loc, step(add(first, lane), iter, /*guarded=*/false));
        });
    accs.assign(loop.getResults().begin(), loop.getResults().end());
  }
  if (chunksPerRow(spec) % span != 0)
    accs = step(add(index(fullSteps * span), lane), accs, /*guarded=*/true);

  Value isLaneZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, index(0));
  for (int64_t m = 0; m < spec.m; ++m)
    for (int64_t r = 0; r < rows; ++r) {
      Value partial = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                                  accs[m * rows + r]);
      Value sum = warpReduce(b, loc, partial, [&](Value l, Value rhs) -> Value {
        return arith::AddFOp::create(b, loc, l, rhs);
      });
      Value store = arith::AndIOp::create(b, loc, isLaneZero, ult(columns[r], spec.n));
      auto guard = scf::IfOp::create(b, loc, TypeRange{}, store, false);
      OpBuilder::InsertionGuard ig(b);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
      if (bias)
        sum = arith::AddFOp::create(
            b, loc, sum, memref::LoadOp::create(b, loc, bias, ValueRange{columns[r]}));
      memref::StoreOp::create(b, loc, sum, y, ValueRange{index(m), columns[r]});
    }
  gpu::ReturnOp::create(b, loc);
}

} // namespace

gpu::GPUFuncOp buildF32GemvKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                  const F32GemvSpec &spec) {
  Location loc = module.getLoc();
  Type f32 = builder.getF32Type();
  auto vectorType = VectorType::get({kVector}, f32);
  SmallVector<Type> args = {MemRefType::get({spec.m, spec.k / kVector}, vectorType),
                            MemRefType::get({spec.n, spec.k / kVector}, vectorType)};
  if (spec.bias)
    args.push_back(MemRefType::get({spec.n}, f32));
  args.push_back(MemRefType::get({spec.m, spec.n}, f32));

  OpBuilder::InsertionGuard guard(builder);
  auto func = createGemmKernelFunc(builder, module, f32GemvKernelName(spec), args,
                                   f32GemvLaunchShape(spec).blockX, /*firstNoAlias=*/0);
  F32GemvEmitter(builder, loc, spec).emit(func);
  return func;
}

} // namespace kiln::kernels

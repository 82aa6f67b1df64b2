//===- SimtGemm.cpp - exact f32 register-tiled GEMM on CUDA cores ---------===//
//
// A block of (blockM/threadM) x (blockN/threadN) threads owns a blockM x
// blockN tile of y. Per blockK-deep K tile:
//
//   prologue: tile 0: global -> registers -> shared buffer 0; barrier
//   for tile t: load tile t+1 (clamped) global -> registers
//               multiply shared buffer t%2 into the accumulators
//               store the registers transposed into buffer (t+1)%2 (last
//               read in iteration t-1, before its barrier); barrier
//
// Shared tiles are stored K-major ([k][m] and [k][n]) so a thread reads its
// 4 consecutive rows (columns) of one k as one 16-byte vector. A thread's
// threadM rows are threadM/4 groups of 4, the groups blockM/(threadM/4) rows
// apart: the lanes of a warp then read consecutive 16-byte vectors (no bank
// conflicts) and write y in coalesced 16-byte stores.
//
//===----------------------------------------------------------------------===//
#include "kiln/Kernels/SimtGemm.h"

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

constexpr int64_t kVector = 4; // f32 per 16-byte vector
constexpr int64_t kMaxThreads = 1024;
constexpr int64_t kMaxStaticShared = 48 * 1024;

llvm::Error simtGemmError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "sgemm spec: " + message);
}

int64_t threadsOf(const SimtGemmSpec &spec) {
  return (spec.blockM / spec.threadM) * (spec.blockN / spec.threadN);
}

/// f32 per global load of x and W: 16-byte vectors when every row starts
/// 16-byte aligned.
int64_t loadWidth(const SimtGemmSpec &spec) { return spec.k % kVector == 0 ? kVector : 1; }

int64_t sharedBytes(const SimtGemmSpec &spec) {
  return 2 * spec.blockK * (spec.blockM + spec.blockN) * 4;
}

struct Tiling {
  int64_t blockM, blockN, blockK, threadM, threadN;
};

int64_t blocksFor(const SimtGemmSpec &spec, const Tiling &tiling) {
  return ((spec.m + tiling.blockM - 1) / tiling.blockM) *
         ((spec.n + tiling.blockN - 1) / tiling.blockN);
}

/// Decode batches: 16x32 tiles (32 threads), so a wide grid streams W.
/// Otherwise the largest tile that still gives the GPU a full wave of blocks
/// (128 SMs x 2): 128x128 of 8x8 per thread (256 threads, 64 FMA per two
/// 16-byte shared reads), 128x64 of 8x8 (128 threads), or when neither
/// fills the GPU, 64x64 of 4x4 (256 threads, the most blocks and threads).
Tiling defaultTiling(const SimtGemmSpec &spec) {
  constexpr int64_t kFullWave = 256;
  if (spec.m <= 16)
    return {16, 32, 32, 4, 4};
  for (Tiling tiling : {Tiling{128, 128, 8, 8, 8}, Tiling{128, 64, 8, 8, 8}})
    if (blocksFor(spec, tiling) >= kFullWave)
      return tiling;
  return {64, 64, 16, 4, 4};
}

void pickDefaultTiling(SimtGemmSpec &spec) {
  if (spec.blockM != 0 || spec.blockN != 0 || spec.blockK != 0 || spec.threadM != 0 ||
      spec.threadN != 0)
    return; // an explicit tiling (kiln-kernelgen): resolve checks it whole
  Tiling tiling = defaultTiling(spec);
  spec.blockM = tiling.blockM;
  spec.blockN = tiling.blockN;
  spec.blockK = tiling.blockK;
  spec.threadM = tiling.threadM;
  spec.threadN = tiling.threadN;
}

} // namespace

llvm::Expected<SimtGemmSpec> resolveSimtGemmSpec(SimtGemmSpec spec) {
  if (std::optional<std::string> problem = gemmShapeProblem(spec.m, spec.n, spec.k))
    return simtGemmError(*problem);
  pickDefaultTiling(spec);
  for (int64_t perThread : {spec.threadM, spec.threadN})
    if (perThread != 4 && perThread != 8)
      return simtGemmError("outputs per thread must be 4 or 8 along M and N, got " +
                           llvm::Twine(spec.threadM) + "x" + llvm::Twine(spec.threadN));
  if (spec.blockM < 1 || spec.blockN < 1 || spec.blockM % spec.threadM != 0 ||
      spec.blockN % spec.threadN != 0)
    return simtGemmError("block tile " + llvm::Twine(spec.blockM) + "x" +
                         llvm::Twine(spec.blockN) + " must be a multiple of the thread tile " +
                         llvm::Twine(spec.threadM) + "x" + llvm::Twine(spec.threadN));
  int64_t threads = threadsOf(spec);
  if (threads < 32 || threads > kMaxThreads || threads % 32 != 0)
    return simtGemmError("the tiling gives " + llvm::Twine(threads) +
                         " threads per block; it must be a multiple of 32 up to 1024");
  if (spec.blockK < kVector || spec.blockK % kVector != 0)
    return simtGemmError("block K must be a positive multiple of 4, got " +
                         llvm::Twine(spec.blockK));
  int64_t width = loadWidth(spec);
  for (int64_t rows : {spec.blockM, spec.blockN})
    if ((rows * spec.blockK / width) % threads != 0)
      return simtGemmError("the " + llvm::Twine(rows) + "x" + llvm::Twine(spec.blockK) +
                           " operand tile does not split evenly over " +
                           llvm::Twine(threads) + " threads");
  if (sharedBytes(spec) > kMaxStaticShared)
    return simtGemmError("the tiling needs " + llvm::Twine(sharedBytes(spec)) +
                         " bytes of shared memory, more than 48 KiB");
  return spec;
}

std::string simtGemmKernelName(const SimtGemmSpec &spec) {
  auto s = [](int64_t v) { return std::to_string(v); };
  return "sgemm_f32_m" + s(spec.m) + "_n" + s(spec.n) + "_k" + s(spec.k) + "_b" +
         s(spec.blockM) + "x" + s(spec.blockN) + "x" + s(spec.blockK) + "t" + s(spec.threadM) +
         "x" + s(spec.threadN) + (spec.bias ? "_bias" : "");
}

SimtGemmLaunchShape simtGemmLaunchShape(const SimtGemmSpec &spec) {
  return {(spec.n + spec.blockN - 1) / spec.blockN, (spec.m + spec.blockM - 1) / spec.blockM,
          threadsOf(spec), sharedBytes(spec)};
}

namespace {

/// One operand (x or W) of the block: its global rows and K-major tiles.
struct Operand {
  Value global;          // [rows, K] f32 or [rows, K/4] vector<4xf32>
  Value shared;          // [2, blockK, blockRows] f32
  Value sharedVectors;   // [2, blockK, blockRows/4] vector<4xf32>
  Value base;            // first global row of the block tile
  int64_t rows = 0;      // M or N
  int64_t blockRows = 0; // blockM or blockN
  int64_t perThread = 0; // threadM or threadN
  Value thread;          // this thread's index along the operand (ty or tx)
};

class SimtGemmEmitter : ArithShorthands {
public:
  SimtGemmEmitter(OpBuilder &b, Location loc, const SimtGemmSpec &spec)
      : ArithShorthands(b, loc), spec(spec), threads(threadsOf(spec)), width(loadWidth(spec)),
        kTiles((spec.k + spec.blockK - 1) / spec.blockK) {}

  void emit(gpu::GPUFuncOp func);

private:
  Value zeroOf(Type type) {
    if (auto vector = dyn_cast<VectorType>(type))
      return arith::ConstantOp::create(b, loc,
                                       DenseElementsAttr::get(vector, b.getF32FloatAttr(0)));
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  }
  /// `memref[indices]` where `inBounds` holds (no guard when null), else 0.
  Value loadOrZero(Value memref, ValueRange indices, Value inBounds);
  Value both(Value l, Value r) {
    if (!l)
      return r;
    return r ? arith::AndIOp::create(b, loc, l, r).getResult() : l;
  }

  /// This thread's share of K tile `kTile` of `op`, loaded from global memory.
  SmallVector<Value> loadTile(const Operand &op, Value kTile);
  /// Writes `loaded` (from loadTile) K-major into shared buffer `buffer`.
  void storeTile(const Operand &op, ArrayRef<Value> loaded, Value buffer);
  /// The thread's 4-wide groups of `op` at depth kk of shared buffer `buffer`.
  SmallVector<Value> readFragments(const Operand &op, Value buffer, int64_t kk);
  /// Row / column of group `group`, element 0, within the block tile.
  Value fragmentOffset(const Operand &op, int64_t group);
  SmallVector<Value> multiplyTile(Value buffer, ValueRange accs);
  void storeOutputs(ArrayRef<Value> accs);

  const SimtGemmSpec &spec;
  int64_t threads, width, kTiles;
  Value tid, bias, y;
  Operand x, w;
};

Value SimtGemmEmitter::loadOrZero(Value memref, ValueRange indices, Value inBounds) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  if (!inBounds)
    return memref::LoadOp::create(b, loc, memref, indices);
  auto guard = scf::IfOp::create(b, loc, TypeRange{element}, inBounds, true);
  {
    OpBuilder::InsertionGuard ig(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    scf::YieldOp::create(b, loc, ValueRange{memref::LoadOp::create(b, loc, memref, indices)});
    b.setInsertionPointToStart(&guard.getElseRegion().front());
    scf::YieldOp::create(b, loc, zeroOf(element));
  }
  return guard.getResult(0);
}

SmallVector<Value> SimtGemmEmitter::loadTile(const Operand &op, Value kTile) {
  int64_t loadsPerRow = spec.blockK / width;
  int64_t loads = op.blockRows * loadsPerRow / threads;
  bool rowTail = op.rows % op.blockRows != 0, kTail = spec.k % spec.blockK != 0;
  SmallVector<Value> loaded;
  for (int64_t j = 0; j < loads; ++j) {
    Value slot = add(tid, index(j * threads));
    Value row = add(op.base, divu(slot, loadsPerRow));
    // Global load index along K (in units of `width`).
    Value col = add(mul(kTile, loadsPerRow), remu(slot, loadsPerRow));
    Value inBounds = both(rowTail ? ult(row, op.rows) : Value(),
                          kTail ? ult(col, spec.k / width) : Value());
    loaded.push_back(loadOrZero(op.global, ValueRange{row, col}, inBounds));
  }
  return loaded;
}

void SimtGemmEmitter::storeTile(const Operand &op, ArrayRef<Value> loaded, Value buffer) {
  int64_t loadsPerRow = spec.blockK / width;
  for (auto [j, value] : llvm::enumerate(loaded)) {
    Value slot = add(tid, index(int64_t(j) * threads));
    Value row = divu(slot, loadsPerRow);
    Value k0 = mul(remu(slot, loadsPerRow), width);
    for (int64_t i = 0; i < width; ++i) {
      Value element = width == 1 ? value : vector::ExtractOp::create(b, loc, value, i).getResult();
      memref::StoreOp::create(b, loc, element, op.shared,
                              ValueRange{buffer, add(k0, index(i)), row});
    }
  }
}

Value SimtGemmEmitter::fragmentOffset(const Operand &op, int64_t group) {
  int64_t groupSpan = op.blockRows / (op.perThread / kVector);
  return add(index(group * groupSpan), mul(op.thread, kVector));
}

SmallVector<Value> SimtGemmEmitter::readFragments(const Operand &op, Value buffer, int64_t kk) {
  SmallVector<Value> fragments;
  for (int64_t group = 0; group < op.perThread / kVector; ++group)
    fragments.push_back(memref::LoadOp::create(
        b, loc, op.sharedVectors,
        ValueRange{buffer, index(kk), divu(fragmentOffset(op, group), kVector)}));
  return fragments;
}

SmallVector<Value> SimtGemmEmitter::multiplyTile(Value buffer, ValueRange accs) {
  // accs[r * groupsN + g]: row r of the thread tile, columns of group g.
  SmallVector<Value> result(accs);
  int64_t groupsN = spec.threadN / kVector;
  auto vectorType = VectorType::get({kVector}, b.getF32Type());
  for (int64_t kk = 0; kk < spec.blockK; ++kk) {
    SmallVector<Value> xs = readFragments(x, buffer, kk);
    SmallVector<Value> ws = readFragments(w, buffer, kk);
    for (int64_t r = 0; r < spec.threadM; ++r) {
      Value xr = vector::ExtractOp::create(b, loc, xs[r / kVector], r % kVector);
      Value splat = vector::BroadcastOp::create(b, loc, vectorType, xr);
      for (int64_t g = 0; g < groupsN; ++g) {
        Value &acc = result[r * groupsN + g];
        acc = vector::FMAOp::create(b, loc, splat, ws[g], acc);
      }
    }
  }
  return result;
}

void SimtGemmEmitter::storeOutputs(ArrayRef<Value> accs) {
  int64_t groupsN = spec.threadN / kVector;
  bool mTail = spec.m % spec.blockM != 0, nTail = spec.n % spec.blockN != 0;
  bool vectorStores = spec.n % kVector == 0;
  auto vectorType = VectorType::get({kVector}, b.getF32Type());
  SmallVector<Value> columns, biases;
  for (int64_t g = 0; g < groupsN; ++g) {
    columns.push_back(add(w.base, fragmentOffset(w, g)));
    if (!bias)
      continue;
    SmallVector<Value> lanes;
    for (int64_t j = 0; j < kVector; ++j) {
      Value col = add(columns.back(), index(j));
      lanes.push_back(loadOrZero(bias, col, nTail ? ult(col, spec.n) : Value()));
    }
    biases.push_back(vector::FromElementsOp::create(b, loc, vectorType, lanes));
  }
  for (int64_t r = 0; r < spec.threadM; ++r) {
    Value row = add(x.base, add(fragmentOffset(x, r / kVector), index(r % kVector)));
    OpBuilder::InsertionGuard ig(b);
    if (mTail) {
      auto guard = scf::IfOp::create(b, loc, TypeRange{}, ult(row, spec.m), false);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
    }
    for (int64_t g = 0; g < groupsN; ++g) {
      Value value = accs[r * groupsN + g];
      if (bias)
        value = arith::AddFOp::create(b, loc, value, biases[g]);
      // With N % 4 == 0 a 4-wide group is wholly inside or outside N.
      int64_t pieces = vectorStores ? 1 : kVector;
      for (int64_t j = 0; j < pieces; ++j) {
        Value col = add(columns[g], index(j));
        OpBuilder::InsertionGuard inner(b);
        if (nTail || !vectorStores) {
          auto guard = scf::IfOp::create(b, loc, TypeRange{}, ult(col, spec.n), false);
          b.setInsertionPointToStart(&guard.getThenRegion().front());
        }
        if (vectorStores)
          memref::StoreOp::create(b, loc, value, y, ValueRange{row, divu(col, kVector)});
        else
          memref::StoreOp::create(b, loc, vector::ExtractOp::create(b, loc, value, j), y,
                                  ValueRange{row, col});
      }
    }
  }
}

void SimtGemmEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  unsigned arg = 0;
  x.global = entry.getArgument(arg++);
  w.global = entry.getArgument(arg++);
  bias = spec.bias ? entry.getArgument(arg++) : Value();
  y = entry.getArgument(arg++);

  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  int64_t threadsN = spec.blockN / spec.threadN;
  auto [tileM, tileN] = groupedTileOrder(b, loc, (spec.m + spec.blockM - 1) / spec.blockM,
                                         (spec.n + spec.blockN - 1) / spec.blockN);
  x.base = mul(tileM, spec.blockM);
  x.rows = spec.m;
  x.blockRows = spec.blockM;
  x.perThread = spec.threadM;
  x.thread = divu(tid, threadsN);
  w.base = mul(tileN, spec.blockN);
  w.rows = spec.n;
  w.blockRows = spec.blockN;
  w.perThread = spec.threadN;
  w.thread = remu(tid, threadsN);

  Value dynamic = dynamicSharedBytes(b, loc);
  Type f32 = b.getF32Type();
  auto vectorType = VectorType::get({kVector}, f32);
  int64_t offset = 0;
  for (Operand *op : {&x, &w}) {
    op->shared = sharedView(b, loc, dynamic, offset, {2, spec.blockK, op->blockRows}, f32);
    op->sharedVectors = sharedView(b, loc, dynamic, offset,
                                   {2, spec.blockK, op->blockRows / kVector}, vectorType);
    offset += 2 * spec.blockK * op->blockRows * 4;
  }

  Value zeroTile = index(0);
  storeTile(x, loadTile(x, zeroTile), zeroTile);
  storeTile(w, loadTile(w, zeroTile), zeroTile);
  gpu::BarrierOp::create(b, loc);
  SmallVector<Value> zeros(spec.threadM * (spec.threadN / kVector), zeroOf(vectorType));
  auto loop = scf::ForOp::create(
      b, loc, index(0), index(kTiles), index(1), zeros,
      [&](OpBuilder &, Location, Value kTile, ValueRange accs) {
        Value buffer = remu(kTile, 2);
        Value next = arith::MinUIOp::create(b, loc, add(kTile, index(1)), index(kTiles - 1));
        SmallVector<Value> nextX = loadTile(x, next), nextW = loadTile(w, next);
        SmallVector<Value> updated = multiplyTile(buffer, accs);
        Value other = arith::SubIOp::create(b, loc, index(1), buffer);
        storeTile(x, nextX, other);
        storeTile(w, nextW, other);
        gpu::BarrierOp::create(b, loc);
        scf::YieldOp::create(b, loc, updated);
      });
  storeOutputs(SmallVector<Value>(loop.getResults()));
  gpu::ReturnOp::create(b, loc);
}

} // namespace

gpu::GPUFuncOp buildSimtGemmKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                   const SimtGemmSpec &spec) {
  Location loc = module.getLoc();
  Type f32 = builder.getF32Type();
  auto vectorType = VectorType::get({kVector}, f32);
  auto rowsOf = [&](int64_t rows, int64_t cols) {
    if (cols % kVector == 0)
      return MemRefType::get({rows, cols / kVector}, vectorType);
    return MemRefType::get({rows, cols}, f32);
  };
  SmallVector<Type> args = {rowsOf(spec.m, spec.k), rowsOf(spec.n, spec.k)};
  if (spec.bias)
    args.push_back(MemRefType::get({spec.n}, f32));
  args.push_back(rowsOf(spec.m, spec.n));

  OpBuilder::InsertionGuard guard(builder);
  auto func = createGemmKernelFunc(builder, module, simtGemmKernelName(spec), args,
                                   simtGemmLaunchShape(spec).blockX, /*firstNoAlias=*/0);
  SimtGemmEmitter(builder, loc, spec).emit(func);
  return func;
}

} // namespace kiln::kernels

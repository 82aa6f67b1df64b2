//===- Gemm.cpp - tensor-core GEMM with weight dequantization in the load path ===//
//
// One block computes a blockM x blockN tile of y; its warps form a
// warpsM x warpsN grid, each owning a (blockM/warpsM) x (blockN/warpsN) tile
// of 16x8 mma.sync accumulators. K advances blockK per pipeline stage:
//
//   prologue: cp.async tiles 0 .. S-2 into stages 0 .. S-2 (one group each)
//   for tile i: wait until group i landed; barrier
//               [int8/int4: dequantize raw stage i%S into the f16 tile;
//                barrier]
//               cp.async tile i+S-1 into stage (i+S-1)%S (freed by the
//               barrier: every warp is done with tile i-1); commit
//               ldmatrix + mma.sync over the stage (or the f16 tile)
//
// Shared-memory rows of blockK f16 are 16-byte chunks XOR-swizzled by row so
// the 8 row addresses of one ldmatrix hit 8 distinct bank groups. Rows of x
// past M are zero-filled by cp.async (src-size 0) and never stored.
//
//===----------------------------------------------------------------------===//
#include "kiln/Kernels/Gemm.h"

#include "Dequant.h"
#include "GemmCommon.h"
#include "KernelSupport.h"

#include "kiln/Dialect/Codec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"


using namespace mlir;

namespace kiln::kernels {
namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kChunkBytes = 16;
constexpr int64_t kChunkHalves = 8; // f16 per 16-byte chunk
constexpr int64_t kMmaM = 16, kMmaN = 8, kMmaK = 16;
// Opt-in dynamic shared memory per block on sm_90 (227 KiB); sm_80 allows
// 163 KiB, which every default tiling stays under.
constexpr int64_t kMaxSharedBytes = 227 * 1024;

llvm::Error gemmSpecError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "gemm spec: " + message);
}

bool isQuantized(WeightFormat format) { return format != WeightFormat::F16; }

int64_t threadsOf(const GemmSpec &spec) { return spec.warpsM * spec.warpsN * kWarpSize; }

/// 16-byte chunks of raw weights per row of one K tile.
int64_t rawChunksPerRow(const GemmSpec &spec) {
  return spec.blockK / elementsPerChunk(spec.format);
}

struct SharedLayout {
  int64_t aBytes = 0, bBytes = 0, rawBytes = 0, dequantBytes = 0;
  int64_t total() const { return aBytes + bBytes + rawBytes + dequantBytes; }
};

/// The ring of x tiles, then either the ring of f16 weight tiles or the ring
/// of raw quantized tiles plus two dequantized f16 tiles (one being read by
/// the mma while the next is written).
SharedLayout sharedLayout(const GemmSpec &spec) {
  SharedLayout layout;
  layout.aBytes = spec.stages * spec.blockM * spec.blockK * 2;
  if (isQuantized(spec.format)) {
    layout.rawBytes = spec.stages * spec.blockN * rawChunksPerRow(spec) * kChunkBytes;
    layout.dequantBytes = 2 * spec.blockN * spec.blockK * 2;
  } else {
    layout.bBytes = spec.stages * spec.blockN * spec.blockK * 2;
  }
  return layout;
}

void pickDefaultTiling(GemmSpec &spec) {
  // Measured on an H100 (bench/NOTES.md): 4 warps of 64x64 (4 + 4 ldmatrix
  // per 32 mma) and 64-deep K tiles win at every M. Large batches take
  // 128x128 tiles, 3 stages; smaller ones 64x64 tiles (more blocks), 4.
  // Where N or K (or the group size) does not divide, narrower tiles that
  // do are taken before giving up.
  bool large = spec.m > 256;
  if (spec.blockM == 0)
    spec.blockM = large ? 128 : 64;
  if (spec.blockN == 0) {
    spec.blockN = large ? 128 : 64;
    for (int64_t width = spec.blockN; width >= 32 && spec.n % spec.blockN != 0; width /= 2)
      if (spec.n % width == 0)
        spec.blockN = width;
  }
  if (spec.blockK == 0) {
    int64_t group = spec.groupSize == 0 ? spec.k : spec.groupSize;
    bool deepFits = spec.k % 64 == 0 && (!isQuantized(spec.format) || group % 64 == 0);
    spec.blockK = deepFits ? 64 : 32;
  }
  if (spec.warpsM == 0)
    spec.warpsM = 2;
  if (spec.warpsN == 0)
    spec.warpsN = 2;
  if (spec.stages == 0)
    spec.stages = large ? 3 : 4;
}

} // namespace

llvm::Expected<GemmSpec> resolveGemmSpec(GemmSpec spec) {
  if (std::optional<std::string> problem = gemmShapeProblem(spec.m, spec.n, spec.k))
    return gemmSpecError(*problem);
  pickDefaultTiling(spec);
  if (spec.blockK != 32 && spec.blockK != 64)
    return gemmSpecError("block K must be 32 or 64, got " + llvm::Twine(spec.blockK));
  if (spec.warpsM < 1 || spec.warpsN < 1 || spec.warpsM * spec.warpsN > 16)
    return gemmSpecError("warps per block (" + llvm::Twine(spec.warpsM) + "x" +
                         llvm::Twine(spec.warpsN) + ") must be 1..16");
  if (spec.blockM < 1 || spec.blockN < 1 || spec.blockM % (spec.warpsM * kMmaM) != 0 ||
      spec.blockN % (spec.warpsN * 2 * kMmaN) != 0)
    return gemmSpecError("block tile " + llvm::Twine(spec.blockM) + "x" +
                         llvm::Twine(spec.blockN) + " must give every warp a multiple of 16x16 (" +
                         llvm::Twine(spec.warpsM) + "x" + llvm::Twine(spec.warpsN) + " warps)");
  // Quantized weights are dequantized one tile ahead of the mma, which
  // takes one stage of the ring.
  int64_t minStages = isQuantized(spec.format) ? 3 : 2;
  if (spec.stages < minStages || spec.stages > 8)
    return gemmSpecError("stages must be " + llvm::Twine(minStages) + "..8 for " +
                         weightFormatName(spec.format) + ", got " + llvm::Twine(spec.stages));
  if (spec.n % spec.blockN != 0)
    return gemmSpecError("N = " + llvm::Twine(spec.n) + " must be a multiple of the block N " +
                         llvm::Twine(spec.blockN) + " (pick another block tile)");
  if (spec.k % spec.blockK != 0)
    return gemmSpecError("K = " + llvm::Twine(spec.k) + " must be a multiple of the block K " +
                         llvm::Twine(spec.blockK));
  if (isQuantized(spec.format)) {
    if (spec.groupSize == 0)
      spec.groupSize = spec.k;
    if (spec.groupSize < 0 || spec.groupSize % spec.blockK != 0 ||
        spec.k % spec.groupSize != 0)
      return gemmSpecError("group size " + llvm::Twine(spec.groupSize) + " must divide K = " +
                           llvm::Twine(spec.k) + " and be a multiple of the block K " +
                           llvm::Twine(spec.blockK));
  } else {
    spec.groupSize = 0;
  }
  if (int64_t bytes = sharedLayout(spec).total(); bytes > kMaxSharedBytes)
    return gemmSpecError("the tiling needs " + llvm::Twine(bytes) +
                         " bytes of shared memory, more than " +
                         llvm::Twine(kMaxSharedBytes) + " (fewer stages or smaller tiles)");
  return spec;
}

std::string gemmKernelName(const GemmSpec &spec) {
  std::string name = "gemm_" + weightFormatName(spec.format).str();
  if (isQuantized(spec.format))
    name += "_g" + std::to_string(spec.groupSize);
  auto s = [](int64_t v) { return std::to_string(v); };
  return name + "_m" + s(spec.m) + "_n" + s(spec.n) + "_k" + s(spec.k) + "_b" +
         s(spec.blockM) + "x" + s(spec.blockN) + "x" + s(spec.blockK) + "w" +
         s(spec.warpsM) + "x" + s(spec.warpsN) + "s" + s(spec.stages) +
         (spec.bias ? "_bias" : "");
}

GemmLaunchShape gemmLaunchShape(const GemmSpec &spec) {
  return {spec.n / spec.blockN, (spec.m + spec.blockM - 1) / spec.blockM, threadsOf(spec),
          sharedLayout(spec).total()};
}

namespace {

class GemmEmitter : ArithShorthands {
public:
  GemmEmitter(OpBuilder &b, Location loc, const GemmSpec &spec)
      : ArithShorthands(b, loc), spec(spec), quantized(isQuantized(spec.format)),
        threads(threadsOf(spec)), chunksPerRow(spec.blockK / kChunkHalves),
        warpTileM(spec.blockM / spec.warpsM), warpTileN(spec.blockN / spec.warpsN),
        mTiles(warpTileM / kMmaM), nTiles(warpTileN / kMmaN),
        kTiles(spec.k / spec.blockK) {}

  void emit(gpu::GPUFuncOp func);

private:

  /// Sets mBase/nBase: which output tile this block computes.
  void placeBlock();
  /// A typed view of the dynamic shared memory at `byteOffset`.
  Value sharedView(Value dynamic, int64_t byteOffset, ArrayRef<int64_t> shape, Type element);
  /// The physical 16-byte chunk of logical chunk `chunk` in tile row `row`.
  Value swizzle(Value row, Value chunk);
  /// Runs `body(chunkIndex, j)` for this thread's j-th share of `total`
  /// chunks (guarded where the threads do not divide `total`).
  void forEachChunk(int64_t total, llvm::function_ref<void(Value, int64_t)> body);
  /// Issues the cp.async copies of K tile `kTile` into ring slot `stage`.
  void issueTileCopies(Value kTile, Value stage);
  /// Loads the group scales of this thread's raw chunks of K tile `kTile`.
  SmallVector<Value> loadScales(Value kTile);
  /// Dequantizes raw ring slot `stage` into dequantized tile `slot`.
  void dequantizeStage(Value stage, Value slot, ArrayRef<Value> scales);
  /// One K tile of mma.sync: x from ring slot `aStage`, weights from slot
  /// `bSlot` of the f16 ring (f16) or of the dequantized tiles.
  SmallVector<Value> computeTile(Value aStage, Value bSlot, ValueRange accs);
  void commitGroup();
  /// Waits until at most `pending` copy groups are in flight, then syncs.
  void waitForGroups(int64_t pending);
  /// Issues the copies of tile kTile + S - 1 (if any) and commits a group.
  void refill(Value kTile);
  SmallVector<Value> zeroAccumulators();
  /// The K loop of f16 weights: one barrier per tile.
  SmallVector<Value> emitF16Loop();
  /// The K loop of int8/int4 weights: tile i+1 is dequantized while tile i
  /// is multiplied, one barrier per tile.
  SmallVector<Value> emitQuantizedLoop();
  /// Writes the accumulators (+ bias) as f16, rows past M skipped.
  void storeOutputs(ArrayRef<Value> accs);

  const GemmSpec &spec;
  bool quantized;
  int64_t threads, chunksPerRow, warpTileM, warpTileN, mTiles, nTiles, kTiles;
  Value x, w, scales, bias, y;
  Value tid, lane, warpM, warpN, mBase, nBase;
  Value aRing, bRing, rawRing, rawRingVectors, dequantRing, dequantRingVectors;
  Value lastGroup;
};

Value GemmEmitter::sharedView(Value dynamic, int64_t byteOffset, ArrayRef<int64_t> shape,
                              Type element) {
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get(shape, element, MemRefLayoutAttrInterface(), workgroup);
  return memref::ViewOp::create(b, loc, type, dynamic, index(byteOffset), ValueRange{});
}

Value GemmEmitter::swizzle(Value row, Value chunk) {
  // 4 chunks per row (blockK 32): rows r and r+2 share banks, so XOR with
  // (r / 2) % 4; 8 chunks per row: XOR with r % 8.
  int64_t rowsPerPattern = 8 / chunksPerRow;
  Value pattern = remu(divu(row, rowsPerPattern), chunksPerRow);
  return arith::XOrIOp::create(b, loc, chunk, pattern);
}

void GemmEmitter::forEachChunk(int64_t total,
                               llvm::function_ref<void(Value, int64_t)> body) {
  for (int64_t first = 0, j = 0; first < total; first += threads, ++j) {
    Value chunk = add(tid, index(first));
    if (first + threads <= total) {
      body(chunk, j);
      continue;
    }
    auto guard = scf::IfOp::create(b, loc, TypeRange{}, ult(chunk, index(total)), false);
    OpBuilder::InsertionGuard ig(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    body(chunk, j);
  }
}

void GemmEmitter::issueTileCopies(Value kTile, Value stage) {
  Value kBase = mul(kTile, spec.blockK);
  bool mTail = spec.m % spec.blockM != 0;
  forEachChunk(spec.blockM * chunksPerRow, [&](Value c, int64_t) {
    Value row = divu(c, chunksPerRow), chunk = remu(c, chunksPerRow);
    Value globalRow = add(mBase, row);
    Value srcElements;
    if (mTail) {
      // Rows past M: copy nothing (zero fill) from a clamped, valid address.
      srcElements = arith::SelectOp::create(b, loc, ult(globalRow, index(spec.m)),
                                            index(kChunkHalves), index(0));
      globalRow = arith::MinUIOp::create(b, loc, globalRow, index(spec.m - 1));
    }
    Value col = add(kBase, mul(chunk, kChunkHalves));
    nvgpu::DeviceAsyncCopyOp::create(
        b, loc, aRing, ValueRange{stage, row, mul(swizzle(row, chunk), kChunkHalves)}, x,
        ValueRange{globalRow, col}, b.getIndexAttr(kChunkHalves), srcElements,
        b.getUnitAttr());
  });
  if (!quantized) {
    forEachChunk(spec.blockN * chunksPerRow, [&](Value c, int64_t) {
      Value row = divu(c, chunksPerRow), chunk = remu(c, chunksPerRow);
      Value col = add(kBase, mul(chunk, kChunkHalves));
      nvgpu::DeviceAsyncCopyOp::create(
          b, loc, bRing, ValueRange{stage, row, mul(swizzle(row, chunk), kChunkHalves)}, w,
          ValueRange{add(nBase, row), col}, b.getIndexAttr(kChunkHalves), Value(),
          b.getUnitAttr());
    });
  } else {
    int64_t raw = rawChunksPerRow(spec);
    forEachChunk(spec.blockN * raw, [&](Value c, int64_t) {
      Value row = divu(c, raw), chunk = remu(c, raw);
      // Raw rows are read back by one thread per chunk: no swizzle needed.
      Value col = mul(add(mul(kTile, raw), chunk), 4);
      nvgpu::DeviceAsyncCopyOp::create(
          b, loc, rawRing, ValueRange{stage, row, mul(chunk, 4)}, w,
          ValueRange{add(nBase, row), col}, b.getIndexAttr(4), Value(), b.getUnitAttr());
    });
  }
}

SmallVector<Value> GemmEmitter::loadScales(Value kTile) {
  // Every K tile lies inside one group (groupSize % blockK == 0). Threads
  // past the last chunk load a valid duplicate rather than branch.
  int64_t raw = rawChunksPerRow(spec), total = spec.blockN * raw;
  Value group = divu(mul(kTile, spec.blockK), spec.groupSize);
  SmallVector<Value> out;
  for (int64_t first = 0; first < total; first += threads) {
    Value chunk = arith::MinUIOp::create(b, loc, add(tid, index(first)), index(total - 1));
    Value row = add(nBase, divu(chunk, raw));
    out.push_back(memref::LoadOp::create(b, loc, scales, ValueRange{row, group}));
  }
  return out;
}

void GemmEmitter::dequantizeStage(Value stage, Value slot, ArrayRef<Value> tileScales) {
  int64_t raw = rawChunksPerRow(spec);
  int64_t halvesPerRaw = elementsPerChunk(spec.format) / kChunkHalves;
  auto f16Vector = VectorType::get({kChunkHalves}, b.getF16Type());
  forEachChunk(spec.blockN * raw, [&](Value c, int64_t j) {
    Value row = divu(c, raw), chunk = remu(c, raw);
    Value packed = memref::LoadOp::create(b, loc, rawRingVectors, ValueRange{stage, row, chunk});
    SmallVector<Value> halves = dequantizeChunkInKOrder(b, loc, spec.format, packed);
    Value scale = vector::BroadcastOp::create(b, loc, f16Vector, tileScales[j]);
    for (auto [v, codes] : llvm::enumerate(halves)) {
      Value weights = arith::MulFOp::create(b, loc, codes, scale);
      Value logical = add(mul(chunk, halvesPerRaw), index(v));
      memref::StoreOp::create(b, loc, weights, dequantRingVectors,
                              ValueRange{slot, row, swizzle(row, logical)});
    }
  });
}

SmallVector<Value> GemmEmitter::computeTile(Value aStage, Value bSlot, ValueRange accs) {
  auto fragType = VectorType::get({4, 2}, b.getF16Type());
  SmallVector<Value> result(accs.begin(), accs.end());
  // ldmatrix.x4 row addresses: lanes 0-15 give rows 0-15 of the first 8 K,
  // lanes 16-31 the same rows at K + 8 (A); for B, lane group j = lane / 8
  // gives N rows 8 * (j / 2) + lane % 8 at K + 8 * (j % 2).
  Value aRowLane = remu(lane, 16), aChunkLane = divu(lane, 16);
  Value laneGroup = divu(lane, 8);
  Value bRowLane = add(mul(divu(laneGroup, 2), 8), remu(lane, 8));
  Value bChunkLane = remu(laneGroup, 2);
  Value aWarpRow = mul(warpM, warpTileM), bWarpRow = mul(warpN, warpTileN);
  auto loadFragment = [&](Value ring, Value slot, Value row, Value chunk) -> Value {
    Value col = mul(swizzle(row, chunk), kChunkHalves);
    return nvgpu::LdMatrixOp::create(b, loc, fragType, ring, ValueRange{slot, row, col},
                                     false, 4);
  };
  Value bTile = quantized ? dequantRing : bRing;
  for (int64_t kk = 0; kk < spec.blockK / kMmaK; ++kk) {
    SmallVector<Value> aFrags, bFrags;
    for (int64_t mt = 0; mt < mTiles; ++mt)
      aFrags.push_back(loadFragment(aRing, aStage,
                                    add(aWarpRow, add(index(mt * kMmaM), aRowLane)),
                                    add(index(2 * kk), aChunkLane)));
    for (int64_t np = 0; np < nTiles / 2; ++np) {
      Value both = loadFragment(bTile, bSlot,
                                add(bWarpRow, add(index(np * 2 * kMmaN), bRowLane)),
                                add(index(2 * kk), bChunkLane));
      for (int64_t half = 0; half < 2; ++half)
        bFrags.push_back(vector::ShuffleOp::create(
            b, loc, both, both, ArrayRef<int64_t>{2 * half, 2 * half + 1}));
    }
    for (int64_t mt = 0; mt < mTiles; ++mt)
      for (int64_t nt = 0; nt < nTiles; ++nt) {
        Value &acc = result[mt * nTiles + nt];
        acc = nvgpu::MmaSyncOp::create(b, loc, aFrags[mt], bFrags[nt], acc,
                                       b.getI64ArrayAttr({kMmaM, kMmaN, kMmaK}));
      }
  }
  return result;
}

void GemmEmitter::storeOutputs(ArrayRef<Value> accs) {
  // Accumulator element [h][j] of a 16x8 tile is row g + 8h, column 2t + j.
  Value g = divu(lane, 4), t = remu(lane, 4);
  auto f32Pair = VectorType::get({2}, b.getF32Type());
  auto f16Pair = VectorType::get({2}, b.getF16Type());
  SmallVector<Value> pairColumns, biasPairs;
  for (int64_t nt = 0; nt < nTiles; ++nt) {
    Value col = add(add(nBase, mul(warpN, warpTileN)), add(index(nt * kMmaN), mul(t, 2)));
    pairColumns.push_back(divu(col, 2));
    if (bias) {
      Value pair = memref::LoadOp::create(b, loc, bias, ValueRange{pairColumns.back()});
      biasPairs.push_back(arith::ExtFOp::create(b, loc, f32Pair, pair));
    }
  }
  bool mTail = spec.m % spec.blockM != 0;
  for (int64_t mt = 0; mt < mTiles; ++mt)
    for (int64_t h = 0; h < 2; ++h) {
      Value row = add(add(mBase, mul(warpM, warpTileM)), add(index(mt * kMmaM + 8 * h), g));
      OpBuilder::InsertionGuard ig(b);
      if (mTail) {
        auto guard = scf::IfOp::create(b, loc, TypeRange{}, ult(row, index(spec.m)), false);
        b.setInsertionPointToStart(&guard.getThenRegion().front());
      }
      for (int64_t nt = 0; nt < nTiles; ++nt) {
        Value value = vector::ExtractOp::create(b, loc, accs[mt * nTiles + nt], h);
        if (bias)
          value = arith::AddFOp::create(b, loc, value, biasPairs[nt]);
        Value out = arith::TruncFOp::create(b, loc, f16Pair, value);
        memref::StoreOp::create(b, loc, out, y, ValueRange{row, pairColumns[nt]});
      }
    }
}

void GemmEmitter::placeBlock() {
  auto [tileM, tileN] = groupedTileOrder(b, loc, (spec.m + spec.blockM - 1) / spec.blockM,
                                         spec.n / spec.blockN);
  mBase = mul(tileM, spec.blockM);
  nBase = mul(tileN, spec.blockN);
}

void GemmEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  unsigned arg = 0;
  x = entry.getArgument(arg++);
  w = entry.getArgument(arg++);
  scales = quantized ? entry.getArgument(arg++) : Value();
  bias = spec.bias ? entry.getArgument(arg++) : Value();
  y = entry.getArgument(arg++);

  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  lane = remu(tid, kWarpSize);
  Value warp = divu(tid, kWarpSize);
  warpM = divu(warp, spec.warpsN);
  warpN = remu(warp, spec.warpsN);
  placeBlock();

  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  Value dynamic = gpu::DynamicSharedMemoryOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                              MemRefLayoutAttrInterface(), workgroup));
  SharedLayout layout = sharedLayout(spec);
  Type f16 = b.getF16Type();
  aRing = sharedView(dynamic, 0, {spec.stages, spec.blockM, spec.blockK}, f16);
  int64_t offset = layout.aBytes;
  if (quantized) {
    int64_t raw = rawChunksPerRow(spec);
    rawRing = sharedView(dynamic, offset, {spec.stages, spec.blockN, raw * 4}, b.getI32Type());
    rawRingVectors = sharedView(dynamic, offset, {spec.stages, spec.blockN, raw},
                                VectorType::get({4}, b.getI32Type()));
    offset += layout.rawBytes;
    dequantRing = sharedView(dynamic, offset, {2, spec.blockN, spec.blockK}, f16);
    dequantRingVectors = sharedView(dynamic, offset, {2, spec.blockN, chunksPerRow},
                                    VectorType::get({kChunkHalves}, f16));
  } else {
    bRing = sharedView(dynamic, offset, {spec.stages, spec.blockN, spec.blockK}, f16);
  }

  // Prologue: tiles 0 .. S-2 in flight, one commit group per tile (empty
  // groups past the last tile keep the wait count uniform).
  for (int64_t s = 0; s + 1 < spec.stages; ++s) {
    if (s < kTiles)
      issueTileCopies(index(s), index(s));
    commitGroup();
  }
  storeOutputs(quantized ? emitQuantizedLoop() : emitF16Loop());
  gpu::ReturnOp::create(b, loc);
}

void GemmEmitter::commitGroup() {
  lastGroup = nvgpu::DeviceAsyncCreateGroupOp::create(
      b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), ValueRange{});
}

void GemmEmitter::waitForGroups(int64_t pending) {
  nvgpu::DeviceAsyncWaitOp::create(b, loc, lastGroup, b.getI32IntegerAttr(pending));
  gpu::BarrierOp::create(b, loc);
}

void GemmEmitter::refill(Value kTile) {
  // Tile kTile + S - 1 goes into the slot of tile kTile - 1, which every warp
  // finished with before the barrier just passed.
  Value next = add(kTile, index(spec.stages - 1));
  auto refill = scf::IfOp::create(b, loc, TypeRange{}, ult(next, index(kTiles)), false);
  {
    OpBuilder::InsertionGuard ig(b);
    b.setInsertionPointToStart(&refill.getThenRegion().front());
    issueTileCopies(next, remu(next, spec.stages));
  }
  commitGroup();
}

SmallVector<Value> GemmEmitter::zeroAccumulators() {
  auto accType = VectorType::get({2, 2}, b.getF32Type());
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
  return SmallVector<Value>(mTiles * nTiles, zero);
}

SmallVector<Value> GemmEmitter::emitF16Loop() {
  auto loop = scf::ForOp::create(
      b, loc, index(0), index(kTiles), index(1), zeroAccumulators(),
      [&](OpBuilder &, Location, Value kTile, ValueRange accs) {
        waitForGroups(spec.stages - 2); // tile kTile has landed
        refill(kTile);
        Value stage = remu(kTile, spec.stages);
        scf::YieldOp::create(b, loc, computeTile(stage, stage, accs));
      });
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value> GemmEmitter::emitQuantizedLoop() {
  auto clampTile = [&](Value tile) {
    return arith::MinUIOp::create(b, loc, tile, index(kTiles - 1)).getResult();
  };
  waitForGroups(spec.stages - 2);
  dequantizeStage(index(0), index(0), loadScales(index(0)));
  SmallVector<Value> carried = zeroAccumulators();
  size_t accCount = carried.size();
  carried.append(loadScales(clampTile(index(1))));
  auto loop = scf::ForOp::create(
      b, loc, index(0), index(kTiles), index(1), carried,
      [&](OpBuilder &, Location, Value kTile, ValueRange iter) {
        waitForGroups(spec.stages - 3); // tile kTile + 1 has landed
        Value next = add(kTile, index(1));
        auto dequant = scf::IfOp::create(b, loc, TypeRange{}, ult(next, index(kTiles)), false);
        {
          OpBuilder::InsertionGuard ig(b);
          b.setInsertionPointToStart(&dequant.getThenRegion().front());
          dequantizeStage(remu(next, spec.stages), remu(next, 2),
                          SmallVector<Value>(iter.drop_front(accCount)));
        }
        refill(kTile);
        SmallVector<Value> nextScales = loadScales(clampTile(add(kTile, index(2))));
        SmallVector<Value> yielded = computeTile(remu(kTile, spec.stages), remu(kTile, 2),
                                                 iter.take_front(accCount));
        yielded.append(nextScales);
        scf::YieldOp::create(b, loc, yielded);
      });
  return SmallVector<Value>(loop.getResults().take_front(accCount));
}


} // namespace

gpu::GPUFuncOp buildGemmKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                               const GemmSpec &spec) {
  Location loc = module.getLoc();
  Type f16 = builder.getF16Type();
  auto f16Pair = VectorType::get({2}, f16);
  SmallVector<Type> args = {MemRefType::get({spec.m, spec.k}, f16)};
  if (isQuantized(spec.format)) {
    args.push_back(MemRefType::get({spec.n, spec.k * weightBits(spec.format) / 32},
                                   builder.getI32Type()));
    args.push_back(MemRefType::get({spec.n, spec.k / spec.groupSize}, f16));
  } else {
    args.push_back(MemRefType::get({spec.n, spec.k}, f16));
  }
  if (spec.bias)
    args.push_back(MemRefType::get({spec.n / 2}, f16Pair));
  args.push_back(MemRefType::get({spec.m, spec.n / 2}, f16Pair));

  OpBuilder::InsertionGuard guard(builder);
  auto func = createGemmKernelFunc(builder, module, gemmKernelName(spec), args,
                                   gemmLaunchShape(spec).blockX, /*firstNoAlias=*/0);
  GemmEmitter(builder, loc, spec).emit(func);
  return func;
}

} // namespace kiln::kernels

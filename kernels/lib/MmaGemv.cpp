//===- MmaGemv.cpp - tensor-core GEMV for small batches -------------------===//
//
// y[M, N] = x[M, K] · dequant(W)ᵀ with mma.sync m16n8k16 (f16 in, f32 out).
// The batch (M <= 16) is the mma's M; 8 weight rows are its N. Lane (g, t)
// of a warp (g = lane / 4, t = lane % 4) loads one 16-byte weight chunk of
// row g per K block, so a K block spans 4 chunks and every weight byte is
// loaded once, 16 bytes wide. K may be permuted freely inside a block as
// long as A and B agree, so each lane feeds the mma with the f16 pairs its
// own chunk dequantizes to (no shuffles of weights between lanes) and gathers
// the matching activations. Per K block the f32 result is scaled by the
// block's group scale (K blocks never straddle a group) and accumulated.
//
//===----------------------------------------------------------------------===//
#include "MmaGemv.h"

#include "Dequant.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace kiln::kernels {
namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kQuad = 4;   // lanes sharing one weight row (t = 0..3)
constexpr int64_t kTileN = 8;  // mma n
constexpr int64_t kTileM = 16; // mma m

llvm::Error mmaSpecError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "tensor-core gemv spec: " + message);
}

int64_t kBlockElems(WeightFormat format) { return kQuad * elementsPerChunk(format); }

class MmaGemvEmitter {
public:
  MmaGemvEmitter(OpBuilder &b, Location loc, const GemvSpec &spec)
      : b(b), loc(loc), spec(spec), chunkElems(elementsPerChunk(spec.format)),
        tiles(spec.rowsPerWarp / kTileN),
        quantized(spec.format != WeightFormat::F16) {}

  void emit(gpu::GPUFuncOp func);

private:
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value pairOf(Value vec8, int64_t pair) {
    return vector::ShuffleOp::create(b, loc, vec8, vec8,
                                     ArrayRef<int64_t>{2 * pair, 2 * pair + 1});
  }
  /// The chunk's activation vectors of batch row `row` (zeros past M).
  SmallVector<Value> loadActivations(Value row, int64_t rowOffset, Value kBlock);
  SmallVector<Value> accumulate(ArrayRef<Value> kBlocks, ValueRange accs);
  /// Sums the accumulators of the kSplit warps sharing rows through shared
  /// memory; every warp of the group gets the totals.
  SmallVector<Value> reduceAcrossWarps(gpu::GPUFuncOp func, ArrayRef<Value> accs,
                                       Value warp, Value splitIndex);

  OpBuilder &b;
  Location loc;
  const GemvSpec &spec;
  int64_t chunkElems;
  int64_t tiles;
  bool quantized;
  Value x, w, scales, y, g, t, rowBase;
};

SmallVector<Value> MmaGemvEmitter::loadActivations(Value row, int64_t rowOffset,
                                                   Value kBlock) {
  int64_t vectors = chunkElems / 8;
  auto vecType = VectorType::get({8}, b.getF16Type());
  SmallVector<Value> out;
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(vecType, b.getF16FloatAttr(0.0)));
  // Batch rows this lane could hold start at rowOffset; all padding when
  // none of them is < M.
  if (rowOffset >= spec.m)
    return SmallVector<Value>(vectors, zero);
  Value m = arith::AddIOp::create(b, loc, row, index(rowOffset));
  Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, m, index(spec.m));
  Value clamped = arith::MinUIOp::create(b, loc, m, index(spec.m - 1));
  Value first = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, kBlock, index(kQuad * vectors)),
      arith::MulIOp::create(b, loc, t, index(vectors)));
  for (int64_t v = 0; v < vectors; ++v) {
    Value col = arith::AddIOp::create(b, loc, first, index(v));
    Value loaded = memref::LoadOp::create(b, loc, x, ValueRange{clamped, col});
    out.push_back(spec.m == kTileM ? loaded
                                   : arith::SelectOp::create(b, loc, valid, loaded, zero));
  }
  return out;
}

SmallVector<Value> MmaGemvEmitter::accumulate(ArrayRef<Value> kBlocks, ValueRange accs) {
  // Weight (and scale) loads of every K block first: kBlocks x tiles
  // 16-byte loads in flight per lane.
  SmallVector<Value> weightChunks, tileScales;
  for (Value kb : kBlocks) {
    Value chunk = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, kb, index(kQuad)), t);
    for (int64_t tile = 0; tile < tiles; ++tile) {
      Value row = arith::AddIOp::create(b, loc, rowBase, index(tile * kTileN));
      row = arith::AddIOp::create(b, loc, row, g);
      weightChunks.push_back(memref::LoadOp::create(b, loc, w, ValueRange{row, chunk}));
    }
  }
  auto accType = VectorType::get({2, 2}, b.getF32Type());
  if (quantized) {
    // Accumulator columns are output rows 2t and 2t+1 of the tile.
    for (Value kb : kBlocks) {
      Value group = arith::DivUIOp::create(
          b, loc, arith::MulIOp::create(b, loc, kb, index(kBlockElems(spec.format))),
          index(spec.groupSize));
      for (int64_t tile = 0; tile < tiles; ++tile) {
        Value col0 = arith::AddIOp::create(
            b, loc, rowBase,
            arith::AddIOp::create(b, loc, index(tile * kTileN),
                                  arith::MulIOp::create(b, loc, t, index(2))));
        Value col1 = arith::AddIOp::create(b, loc, col0, index(1));
        SmallVector<Value> s;
        for (Value col : {col0, col1})
        {
          Value raw = memref::LoadOp::create(b, loc, scales, ValueRange{col, group});
          s.push_back(arith::ExtFOp::create(b, loc, b.getF32Type(), raw));
        }
        tileScales.push_back(vector::FromElementsOp::create(
            b, loc, VectorType::get({2}, b.getF32Type()), s));
      }
    }
  }

  SmallVector<Value> result(accs.begin(), accs.end());
  auto f16Pairs = [&](int64_t rows) {
    return VectorType::get({rows, 2}, b.getF16Type());
  };
  Value zeroA = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(f16Pairs(4), b.getF16FloatAttr(0.0)));
  Value zeroB = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(f16Pairs(2), b.getF16FloatAttr(0.0)));
  Value zeroC = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
  auto contract = arith::FastMathFlags::contract;
  for (auto [c, kb] : llvm::enumerate(kBlocks)) {
    SmallVector<DequantizedChunk> dq;
    for (int64_t tile = 0; tile < tiles; ++tile)
      dq.push_back(dequantizeChunk(b, loc, spec.format, weightChunks[c * tiles + tile]));
    // Activations for batch rows g and g + 8, gathered to meet the weight
    // pairs (same permutation for every tile).
    SmallVector<Value> low = loadActivations(g, 0, kb);
    SmallVector<Value> high = loadActivations(g, kTileN, kb);
    SmallVector<Value> lowGathered, highGathered;
    for (const auto &positions : dq.front().positions) {
      lowGathered.push_back(gatherActivations(b, loc, low, positions));
      highGathered.push_back(gatherActivations(b, loc, high, positions));
    }
    // Pair q is f16x2 lane-pair (q % 4) of weight vector (q / 4).
    int64_t pairs = chunkElems / 2;
    for (int64_t tile = 0; tile < tiles; ++tile) {
      Value acc = quantized ? zeroC : result[tile];
      for (int64_t step = 0; step < pairs / 2; ++step) {
        int64_t q0 = 2 * step, q1 = 2 * step + 1;
        Value bFrag = zeroB, aFrag = zeroA;
        bFrag = vector::InsertOp::create(b, loc, pairOf(dq[tile].weights[q0 / 4], q0 % 4),
                                         bFrag, 0);
        bFrag = vector::InsertOp::create(b, loc, pairOf(dq[tile].weights[q1 / 4], q1 % 4),
                                         bFrag, 1);
        // a0: row g, first k pair; a1: row g+8; a2/a3: second k pair.
        Value aParts[4] = {pairOf(lowGathered[q0 / 4], q0 % 4),
                           pairOf(highGathered[q0 / 4], q0 % 4),
                           pairOf(lowGathered[q1 / 4], q1 % 4),
                           pairOf(highGathered[q1 / 4], q1 % 4)};
        for (int64_t i = 0; i < 4; ++i)
          aFrag = vector::InsertOp::create(b, loc, aParts[i], aFrag, i);
        acc = nvgpu::MmaSyncOp::create(b, loc, aFrag, bFrag, acc,
                                       b.getI64ArrayAttr({kTileM, kTileN, 16}));
      }
      if (!quantized) {
        result[tile] = acc;
        continue;
      }
      Value scale = tileScales[c * tiles + tile];
      Value scaled = result[tile];
      for (int64_t half = 0; half < 2; ++half) {
        Value part = vector::ExtractOp::create(b, loc, acc, half);
        Value prev = vector::ExtractOp::create(b, loc, scaled, half);
        Value sum = arith::AddFOp::create(
            b, loc, prev, arith::MulFOp::create(b, loc, part, scale, contract), contract);
        scaled = vector::InsertOp::create(b, loc, sum, scaled, half);
      }
      result[tile] = scaled;
    }
  }
  return result;
}

SmallVector<Value> MmaGemvEmitter::reduceAcrossWarps(gpu::GPUFuncOp func,
                                                     ArrayRef<Value> accs, Value warp,
                                                     Value splitIndex) {
  auto f32 = b.getF32Type();
  auto quad = VectorType::get({4}, f32);
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto bufferType = MemRefType::get({spec.warpsPerBlock, tiles, kWarpSize}, quad,
                                    MemRefLayoutAttrInterface(), workgroup);
  Value buffer = func.addWorkgroupAttribution(bufferType, loc);
  Value lane = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, g, index(kQuad)), t);
  for (int64_t tile = 0; tile < tiles; ++tile) {
    SmallVector<Value> parts;
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t j = 0; j < 2; ++j)
        parts.push_back(vector::ExtractOp::create(b, loc, accs[tile], ArrayRef<int64_t>{h, j}));
    Value packed = vector::FromElementsOp::create(b, loc, quad, parts);
    memref::StoreOp::create(b, loc, packed, buffer, ValueRange{warp, index(tile), lane});
  }
  gpu::BarrierOp::create(b, loc);
  // The group's first warp index.
  Value groupStart = arith::SubIOp::create(b, loc, warp, splitIndex);
  SmallVector<Value> totals;
  auto accType = VectorType::get({2, 2}, f32);
  for (int64_t tile = 0; tile < tiles; ++tile) {
    Value sum;
    for (int64_t s = 0; s < spec.kSplit; ++s) {
      Value source = arith::AddIOp::create(b, loc, groupStart, index(s));
      Value part = memref::LoadOp::create(b, loc, buffer, ValueRange{source, index(tile), lane});
      sum = sum ? arith::AddFOp::create(b, loc, sum, part).getResult() : part;
    }
    Value acc = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
    for (int64_t h = 0; h < 2; ++h) {
      Value half = vector::ShuffleOp::create(b, loc, sum, sum,
                                             ArrayRef<int64_t>{2 * h, 2 * h + 1});
      acc = vector::InsertOp::create(b, loc, half, acc, h);
    }
    totals.push_back(acc);
  }
  return totals;
}

void MmaGemvEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  x = entry.getArgument(0);
  w = entry.getArgument(1);
  scales = quantized ? entry.getArgument(2) : Value();
  y = entry.getArgument(quantized ? 3 : 2);

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, loc, tid, index(kWarpSize));
  Value warp = arith::DivUIOp::create(b, loc, tid, index(kWarpSize));
  g = arith::DivUIOp::create(b, loc, lane, index(kQuad));
  t = arith::RemUIOp::create(b, loc, lane, index(kQuad));
  // Warps of one K-split group share rows; groups of a block own
  // consecutive row ranges.
  Value splitIndex = arith::RemUIOp::create(b, loc, warp, index(spec.kSplit));
  Value rowGroup = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, block, index(spec.warpsPerBlock / spec.kSplit)),
      arith::DivUIOp::create(b, loc, warp, index(spec.kSplit)));
  rowBase = arith::MulIOp::create(b, loc, rowGroup, index(spec.rowsPerWarp));
  Value inRange =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, rowBase, index(spec.n));
  auto guard = scf::IfOp::create(b, loc, TypeRange{}, inRange, /*withElse=*/false);
  b.setInsertionPointToStart(&guard.getThenRegion().front());

  auto accType = VectorType::get({2, 2}, b.getF32Type());
  Value zeroC = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(accType, b.getF32FloatAttr(0.0f)));
  SmallVector<Value> accs(tiles, zeroC);
  int64_t kBlocks = spec.k / kBlockElems(spec.format);
  // This warp's K blocks: a contiguous 1/kSplit share (the last one shorter).
  int64_t perWarp = (kBlocks + spec.kSplit - 1) / spec.kSplit;
  int64_t inFlight = std::min(spec.chunksInFlight, perWarp);
  Value lower = arith::MinUIOp::create(
      b, loc, arith::MulIOp::create(b, loc, splitIndex, index(perWarp)), index(kBlocks));
  Value upper = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, lower, index(perWarp)), index(kBlocks));
  Value count = arith::SubIOp::create(b, loc, upper, lower);
  Value mainEnd = arith::AddIOp::create(
      b, loc, lower,
      arith::MulIOp::create(
          b, loc, arith::DivUIOp::create(b, loc, count, index(inFlight)), index(inFlight)));
  auto blockIndices = [&](Value first, int64_t n) {
    SmallVector<Value> out;
    for (int64_t i = 0; i < n; ++i)
      out.push_back(arith::AddIOp::create(b, loc, first, index(i)));
    return out;
  };
  for (auto [from, to, step] : {std::tuple{lower, mainEnd, inFlight},
                                std::tuple{mainEnd, upper, int64_t{1}}}) {
    auto loop = scf::ForOp::create(
        b, loc, from, to, index(step), accs,
        [&, step = step](OpBuilder &, Location, Value first, ValueRange iterAccs) {
          scf::YieldOp::create(b, loc, accumulate(blockIndices(first, step), iterAccs));
        });
    accs.assign(loop.getResults().begin(), loop.getResults().end());
  }
  if (spec.kSplit > 1) {
    accs = reduceAcrossWarps(func, accs, warp, splitIndex);
    Value isFirst =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, splitIndex, index(0));
    auto first = scf::IfOp::create(b, loc, TypeRange{}, isFirst, false);
    b.setInsertionPointToStart(&first.getThenRegion().front());
  }

  // c[h][j] is batch row g + 8h, output row 2t + j of the tile.
  for (int64_t tile = 0; tile < tiles; ++tile)
    for (int64_t h = 0; h < 2; ++h) {
      if (h * kTileN >= spec.m)
        continue;
      Value m = arith::AddIOp::create(b, loc, g, index(h * kTileN));
      Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, m, index(spec.m));
      auto store = scf::IfOp::create(b, loc, TypeRange{}, valid, false);
      OpBuilder::InsertionGuard ig(b);
      b.setInsertionPointToStart(&store.getThenRegion().front());
      Value half = vector::ExtractOp::create(b, loc, accs[tile], h);
      Value out = arith::TruncFOp::create(b, loc, VectorType::get({2}, b.getF16Type()), half);
      Value col = arith::AddIOp::create(
          b, loc, rowBase,
          arith::AddIOp::create(b, loc, index(tile * kTileN),
                                arith::MulIOp::create(b, loc, t, index(2))));
      for (int64_t j = 0; j < 2; ++j)
        memref::StoreOp::create(b, loc, vector::ExtractOp::create(b, loc, out, j), y,
                                ValueRange{m, arith::AddIOp::create(b, loc, col, index(j))});
    }
  b.setInsertionPointToEnd(&entry);
  gpu::ReturnOp::create(b, loc);
}

} // namespace

llvm::Expected<GemvSpec> resolveMmaGemvSpec(GemvSpec spec) {
  int64_t kBlock = kBlockElems(spec.format);
  if (spec.k % kBlock != 0)
    return mmaSpecError("K = " + llvm::Twine(spec.k) + " must be a multiple of " +
                        llvm::Twine(kBlock) + " for " + weightFormatName(spec.format));
  if (spec.format != WeightFormat::F16 && spec.groupSize % kBlock != 0)
    return mmaSpecError("group size " + llvm::Twine(spec.groupSize) +
                        " must be a multiple of " + llvm::Twine(kBlock));
  if (spec.rowsPerWarp == 0)
    spec.rowsPerWarp = spec.n % 16 == 0 ? 16 : kTileN;
  if (spec.rowsPerWarp % kTileN != 0 || spec.n % spec.rowsPerWarp != 0)
    return mmaSpecError("rows per warp " + llvm::Twine(spec.rowsPerWarp) +
                        " must be a multiple of 8 that divides N = " + llvm::Twine(spec.n));
  if (spec.chunksInFlight == 0)
    spec.chunksInFlight = 4;
  if (spec.chunksInFlight < 1 || spec.chunksInFlight * spec.rowsPerWarp / kTileN > 32)
    return mmaSpecError("K blocks in flight x 8-row tiles must be in 1..32");
  if (spec.persistentBlocks != 0)
    return mmaSpecError("persistent grids are only generated for the SIMT method");
  if (spec.kSplit < 1 || spec.warpsPerBlock % spec.kSplit != 0)
    return mmaSpecError("K split " + llvm::Twine(spec.kSplit) +
                        " must divide the warps per block (" +
                        llvm::Twine(spec.warpsPerBlock) + ")");
  // The shared-memory reduction has a block-wide barrier: no warp of the
  // block may skip it, so blocks must not run past N.
  if (spec.kSplit > 1 &&
      spec.n % (spec.rowsPerWarp * (spec.warpsPerBlock / spec.kSplit)) != 0)
    return mmaSpecError("rows per block must divide N = " + llvm::Twine(spec.n) +
                        " when K is split across warps");
  return spec;
}

void emitMmaGemvBody(OpBuilder &builder, Location loc, const GemvSpec &spec,
                     gpu::GPUFuncOp func) {
  MmaGemvEmitter(builder, loc, spec).emit(func);
}

} // namespace kiln::kernels

//===- AttentionTensorCore.cpp - flash attention on tensor cores ----------===//
//
// FlashAttention-2 on mma.sync m16n8k16 (f16 in, f32 accumulators). Block =
// (b·h, tile of warps·16 query rows); warp w owns rows 16w .. 16w + 15, lane
// (g, t) = (lane / 4, lane % 4) rows g and g + 8 of them. Per key tile of 64:
//
//   wait for tile i's cp.async group; barrier (every warp is done with
//   tile i - 1, whose slot is refilled next)
//   cp.async tile i + 1 into the other K/V slot (overlaps the math below)
//   S = Q·Kᵀ         Q fragments in registers (ldmatrix once), K fragments
//                    by ldmatrix from shared
//   x = S·scale + mask; -inf past the keys / after the query
//   m' = max(m, row max x) (a row's 4 lanes: 2 shuffles)
//   p = 2^((x - m')·log2 e) (x - m' first: masks of -3.4e38 stay finite)
//   l = α·l + Σ p, α = 2^((m - m')·log2 e) (l lane-local, summed over the
//   row's lanes once)
//   O = α·O + P·V   P: the S accumulators rounded to f16 are the
//                            mma's A fragments as they lie; V by
//                            ldmatrix.trans
//
// The score tile never leaves registers. Shared tiles are rows of 16-byte
// chunks XOR-swizzled by row, so the 8 rows one ldmatrix reads hit distinct
// bank groups. Rows past the queries or keys are zero-filled by
// cp.async (src-size 0); keys past the end are masked, rows past the end
// never stored. Fully masked rows (max -inf) use 0 as their max.
//
//===----------------------------------------------------------------------===//
#include "AttentionTensorCore.h"

#include "GemmCommon.h"
#include "KernelSupport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/Support/MathExtras.h"
#include <limits>

using namespace mlir;

namespace kiln::kernels {
namespace {

constexpr int64_t kKeyTile = 64;
constexpr int64_t kMmaM = 16, kMmaN = 8, kMmaK = 16;
constexpr int64_t kChunk = kTensorCoreChunkHalves;
constexpr int64_t kQuad = 4; // lanes sharing a row of the accumulators

int64_t blockRows(const AttentionSpec &spec) { return spec.warps * kTensorCoreRowsPerWarp; }

/// Byte offsets of the f16 tiles: Q [rows][d], K [2][64][d], V [2][64][dv].
struct TileOffsets {
  int64_t k = 0, v = 0, end = 0;
};
TileOffsets tileOffsets(const AttentionSpec &spec) {
  TileOffsets out;
  out.k = 2 * blockRows(spec) * spec.headDim;
  out.v = out.k + 2 * 2 * kKeyTile * spec.headDim;
  out.end = out.v + 2 * 2 * kKeyTile * spec.valueDim;
  return out;
}

class TensorCoreAttentionEmitter : ArithShorthands {
public:
  TensorCoreAttentionEmitter(OpBuilder &b, Location loc, const AttentionSpec &spec)
      : ArithShorthands(b, loc), spec(spec), scoreTiles(kKeyTile / kMmaN),
        outTiles(spec.valueDim / kMmaN) {}

  void emit(gpu::GPUFuncOp func);

private:
  Value maxf(Value l, Value r) { return arith::MaximumFOp::create(b, loc, l, r); }
  /// e^(x - base) as 2^((x - base)·log2 e), ex2.approx on the GPU.
  Value expOfDifference(Value x, Value base) {
    Value difference = arith::SubFOp::create(b, loc, x, base);
    return math::Exp2Op::create(b, loc, mulf(difference, f32(llvm::numbers::log2ef)));
  }

  /// The first f16 of the physical chunk holding logical chunk `chunk` of
  /// row `row` of a tile `cols` wide: 8 consecutive rows at one chunk hit 8
  /// distinct 16-byte bank groups (rows of 2 or 4 chunks: XOR with the row
  /// pair or quad they share a 128-byte line with).
  Value swizzledColumn(Value row, Value chunk, int64_t cols) {
    int64_t chunksPerRow = cols / kChunk;
    Value pattern =
        chunksPerRow >= 8 ? remu(row, 8) : remu(divu(row, 8 / chunksPerRow), chunksPerRow);
    return mul(arith::XOrIOp::create(b, loc, chunk, pattern), kChunk);
  }
  /// Element offset of [b, head, row, col] with `strides` from `base`.
  Value offset(const std::array<int64_t, 4> &strides, int64_t base, Value head, Value row,
               Value col);
  /// cp.async of `count` rows x `cols` halves of an operand, from row
  /// `first`, into `tile` (at ring `slot` when set); rows from `rowLimit` on
  /// are zero-filled.
  void copyRows(Value buffer, const std::array<int64_t, 4> &strides, int64_t base, Value head,
                Value first, int64_t rowLimit, int64_t count, int64_t cols, Value tile, Value slot);
  void copyKeyTile(Value keyTile, Value slot);
  void commitGroup() {
    group = nvgpu::DeviceAsyncCreateGroupOp::create(
        b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), ValueRange{});
  }
  /// Waits until at most `pending` copy groups are in flight, then syncs.
  void waitForGroups(int64_t pending) {
    nvgpu::DeviceAsyncWaitOp::create(b, loc, group, b.getI32IntegerAttr(pending));
    gpu::BarrierOp::create(b, loc);
  }
  Value ldmatrix(Value tile, ValueRange indices, bool transpose) {
    return nvgpu::LdMatrixOp::create(b, loc, VectorType::get({4, 2}, b.getF16Type()), tile, indices,
                                     transpose, 4);
  }
  Value mma(Value a, Value bFrag, Value acc) {
    return nvgpu::MmaSyncOp::create(b, loc, a, bFrag, acc,
                                    b.getI64ArrayAttr({kMmaM, kMmaN, kMmaK}));
  }
  Value zeroAccumulator() {
    auto type = VectorType::get({2, 2}, b.getF32Type());
    return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(0)));
  }
  Value half(Value fragment, int64_t which) {
    return vector::ShuffleOp::create(b, loc, fragment, fragment,
                                     ArrayRef<int64_t>{2 * which, 2 * which + 1});
  }

  /// The warp's Q rows as A fragments, one per 16 of the head dim.
  SmallVector<Value> loadQueryFragments();
  /// S = Q·Kᵀ of key tile `slot`: one accumulator per 8 keys.
  SmallVector<Value> scores(ArrayRef<Value> queryFragments, Value slot);
  /// The scores as logits x[tile][h][j] (row g + 8h, key
  /// 8·tile + 2t + j): scaled, masked, -inf where excluded.
  SmallVector<Value> logits(ArrayRef<Value> accumulators, Value firstKey);
  /// Max over the row's 4 lanes.
  Value quadReduce(Value value, bool isMax);
  /// O += P·V of key tile `slot`, P as f16 A fragments.
  SmallVector<Value> accumulateValues(ArrayRef<Value> probabilities, Value slot,
                                      SmallVector<Value> out);
  void storeOutputs(ArrayRef<Value> out, ArrayRef<Value> sums);
  Value rowOf(int64_t h) { return add(warpFirstRow, add(g, index(8 * h))); }

  const AttentionSpec &spec;
  int64_t scoreTiles, outTiles;
  Value q, k, v, mask, o;
  Value tid, lane, g, t, batchIndex, headIndex, kvHead, blockHead, blockFirstRow, warpFirstRow;
  Value qTile, kRing, vRing, group;
};

Value TensorCoreAttentionEmitter::offset(const std::array<int64_t, 4> &strides, int64_t base,
                                         Value head, Value row, Value col) {
  Value at = add(add(mul(batchIndex, strides[0]), mul(head, strides[1])), index(base));
  return add(at, add(mul(row, strides[2]), col)); // column stride 1
}

void TensorCoreAttentionEmitter::copyRows(Value buffer, const std::array<int64_t, 4> &strides,
                                          int64_t base, Value head, Value first, int64_t rowLimit,
                                          int64_t count, int64_t cols, Value tile, Value slot) {
  int64_t chunksPerRow = cols / kChunk, total = count * chunksPerRow;
  int64_t threads = spec.warps * kWarpLanes;
  // Only tiles that can run past the operand need the zero fill.
  bool tail = rowLimit % count != 0;
  for (int64_t firstChunk = 0; firstChunk < total; firstChunk += threads) {
    Value chunkIndex = add(tid, index(firstChunk));
    OpBuilder::InsertionGuard ig(b);
    if (firstChunk + threads > total) {
      auto guard = scf::IfOp::create(b, loc, TypeRange{}, ult(chunkIndex, index(total)), false);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
    }
    Value row = divu(chunkIndex, chunksPerRow), chunk = remu(chunkIndex, chunksPerRow);
    Value sourceRow = add(first, row);
    Value sourceElements;
    if (tail) {
      sourceElements =
          arith::SelectOp::create(b, loc, ult(sourceRow, index(rowLimit)), index(kChunk), index(0));
      sourceRow = minu(sourceRow, rowLimit - 1);
    }
    SmallVector<Value> at;
    if (slot)
      at.push_back(slot);
    at.append({row, swizzledColumn(row, chunk, cols)});
    nvgpu::DeviceAsyncCopyOp::create(
        b, loc, tile, at, buffer,
        ValueRange{offset(strides, base, head, sourceRow, mul(chunk, kChunk))},
        b.getIndexAttr(kChunk), sourceElements, b.getUnitAttr());
  }
}

void TensorCoreAttentionEmitter::copyKeyTile(Value keyTile, Value slot) {
  Value firstKey = mul(keyTile, kKeyTile);
  copyRows(k, spec.kStrides, spec.kOffset, kvHead, firstKey, spec.keys, kKeyTile, spec.headDim,
           kRing, slot);
  copyRows(v, spec.vStrides, spec.vOffset, kvHead, firstKey, spec.keys, kKeyTile, spec.valueDim,
           vRing, slot);
}

SmallVector<Value> TensorCoreAttentionEmitter::loadQueryFragments() {
  // ldmatrix.x4: lanes 0-15 address rows 0-15 at the first 8 of the 16
  // columns, lanes 16-31 the same rows 8 columns on.
  Value row = add(mul(divu(tid, kWarpLanes), kTensorCoreRowsPerWarp), remu(lane, 16));
  Value chunkLane = divu(lane, 16);
  SmallVector<Value> fragments;
  for (int64_t kk = 0; kk < spec.headDim / kMmaK; ++kk)
    fragments.push_back(ldmatrix(
        qTile, ValueRange{row, swizzledColumn(row, add(index(2 * kk), chunkLane), spec.headDim)},
        false));
  return fragments;
}

SmallVector<Value> TensorCoreAttentionEmitter::scores(ArrayRef<Value> queryFragments, Value slot) {
  // ldmatrix.x4 of K rows [key][d] gives B fragments of two 8-key tiles:
  // lane group j = lane / 8 addresses keys 8·(j / 2) + lane % 8 at d chunk
  // 2kk + j % 2.
  Value laneGroup = divu(lane, 8);
  Value keyLane = add(mul(divu(laneGroup, 2), 8), remu(lane, 8));
  Value chunkLane = remu(laneGroup, 2);
  SmallVector<Value> acc(scoreTiles, zeroAccumulator());
  for (int64_t kk = 0; kk < spec.headDim / kMmaK; ++kk)
    for (int64_t pair = 0; pair < scoreTiles / 2; ++pair) {
      Value key = add(index(pair * 2 * kMmaN), keyLane);
      Value both = ldmatrix(
          kRing,
          ValueRange{slot, key, swizzledColumn(key, add(index(2 * kk), chunkLane), spec.headDim)},
          false);
      for (int64_t h = 0; h < 2; ++h)
        acc[2 * pair + h] = mma(queryFragments[kk], half(both, h), acc[2 * pair + h]);
    }
  return acc;
}

SmallVector<Value> TensorCoreAttentionEmitter::logits(ArrayRef<Value> accumulators,
                                                      Value firstKey) {
  Value scale = f32(spec.scale);
  Value minusInf = f32(-std::numeric_limits<float>::infinity());
  Value maskGroup;
  if (mask)
    maskGroup =
        remu(divu(add(mul(batchIndex, spec.heads), headIndex), spec.maskDivisor), spec.maskGroups);
  SmallVector<Value> out;
  for (int64_t tile = 0; tile < scoreTiles; ++tile)
    for (int64_t h = 0; h < 2; ++h) {
      Value row = rowOf(h);
      for (int64_t j = 0; j < 2; ++j) {
        Value key = add(firstKey, add(mul(t, 2), index(tile * kMmaN + j)));
        Value score =
            vector::ExtractOp::create(b, loc, accumulators[tile], ArrayRef<int64_t>{h, j});
        Value x = mulf(score, scale);
        if (mask) {
          Value maskRow = spec.maskRows == 1 ? index(0) : minu(row, spec.queries - 1);
          Value at = add(mul(add(mul(maskGroup, spec.maskRows), maskRow), spec.keys),
                         minu(key, spec.keys - 1));
          x = addf(x, memref::LoadOp::create(b, loc, mask, at));
        }
        Value excluded =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, key, index(spec.keys));
        if (spec.causal)
          excluded = arith::OrIOp::create(
              b, loc, excluded, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, key, row));
        out.push_back(arith::SelectOp::create(b, loc, excluded, minusInf, x));
      }
    }
  return out;
}

Value TensorCoreAttentionEmitter::quadReduce(Value value, bool isMax) {
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), kWarpLanes);
  for (int64_t offset = 1; offset < kQuad; offset *= 2) {
    Value off = arith::ConstantIntOp::create(b, loc, b.getI32Type(), offset);
    Value other =
        gpu::ShuffleOp::create(b, loc, value, off, width, gpu::ShuffleMode::XOR).getShuffleResult();
    value = isMax ? maxf(value, other) : addf(value, other);
  }
  return value;
}

SmallVector<Value> TensorCoreAttentionEmitter::accumulateValues(ArrayRef<Value> probabilities,
                                                                Value slot,
                                                                SmallVector<Value> out) {
  // P's A fragment of keys 16kk .. 16kk + 15 is, in order, (row g, tile
  // 2kk), (row g + 8, tile 2kk), (row g, tile 2kk + 1), (row g + 8, tile
  // 2kk + 1): exactly the S accumulators of those tiles.
  auto f16 = b.getF16Type();
  auto fragmentType = VectorType::get({4, 2}, f16);
  // ldmatrix.x4.trans of V rows [key][e]: matrix m = lane / 8 is keys
  // 8·(m % 2) .. + 7 at e chunk m / 2, transposed into B fragments of two
  // 8-column tiles.
  Value matrix = divu(lane, 8);
  Value keyLane = add(mul(remu(matrix, 2), 8), remu(lane, 8));
  Value chunkLane = divu(matrix, 2);
  for (int64_t kk = 0; kk < kKeyTile / kMmaK; ++kk) {
    SmallVector<Value> elements;
    for (int64_t tile : {2 * kk, 2 * kk + 1})
      for (int64_t h = 0; h < 2; ++h)
        for (int64_t j = 0; j < 2; ++j)
          elements.push_back(
              arith::TruncFOp::create(b, loc, f16, probabilities[(tile * 2 + h) * 2 + j]));
    Value a = vector::FromElementsOp::create(b, loc, fragmentType, elements);
    Value key = add(index(kk * kMmaK), keyLane);
    for (int64_t pair = 0; pair < outTiles / 2; ++pair) {
      Value both =
          ldmatrix(vRing,
                   ValueRange{slot, key,
                              swizzledColumn(key, add(index(2 * pair), chunkLane), spec.valueDim)},
                   true);
      for (int64_t h = 0; h < 2; ++h)
        out[2 * pair + h] = mma(a, half(both, h), out[2 * pair + h]);
    }
  }
  return out;
}

void TensorCoreAttentionEmitter::storeOutputs(ArrayRef<Value> out, ArrayRef<Value> sums) {
  Type f16 = b.getF16Type();
  for (int64_t h = 0; h < 2; ++h) {
    Value row = rowOf(h);
    Value inverse = arith::DivFOp::create(b, loc, f32(1.0f), quadReduce(sums[h], false));
    OpBuilder::InsertionGuard ig(b);
    if (spec.queries % blockRows(spec) != 0) {
      auto guard = scf::IfOp::create(b, loc, TypeRange{}, ult(row, index(spec.queries)), false);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
    }
    Value rowStart = mul(add(mul(blockHead, spec.queries), row), spec.valueDim);
    for (int64_t tile = 0; tile < outTiles; ++tile)
      for (int64_t j = 0; j < 2; ++j) {
        Value value = vector::ExtractOp::create(b, loc, out[tile], ArrayRef<int64_t>{h, j});
        Value column = add(mul(t, 2), index(tile * kMmaN + j));
        memref::StoreOp::create(b, loc, arith::TruncFOp::create(b, loc, f16, mulf(value, inverse)),
                                o, add(rowStart, column));
      }
  }
}

void TensorCoreAttentionEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  unsigned arg = 0;
  q = entry.getArgument(arg++);
  k = entry.getArgument(arg++);
  v = entry.getArgument(arg++);
  mask = spec.mask ? entry.getArgument(arg++) : Value();
  o = entry.getArgument(arg++);

  int64_t queryTiles = (spec.queries + blockRows(spec) - 1) / blockRows(spec);
  tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  lane = remu(tid, kWarpLanes);
  g = divu(lane, kQuad);
  t = remu(lane, kQuad);
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  // Causal: the last query tiles (the most keys) of every head first, so
  // the short tiles fill the tail of the grid.
  int64_t headCount = spec.batch * spec.heads;
  Value queryTile =
      spec.causal
          ? arith::SubIOp::create(b, loc, index(queryTiles - 1), divu(block, headCount)).getResult()
          : remu(block, queryTiles);
  blockHead = spec.causal ? remu(block, headCount) : divu(block, queryTiles);
  batchIndex = divu(blockHead, spec.heads);
  headIndex = remu(blockHead, spec.heads);
  kvHead = spec.kvGroup == 1 ? headIndex : divu(headIndex, spec.kvGroup);
  blockFirstRow = mul(queryTile, blockRows(spec));
  warpFirstRow = add(blockFirstRow, mul(divu(tid, kWarpLanes), kTensorCoreRowsPerWarp));

  Value dynamic = dynamicSharedBytes(b, loc);
  TileOffsets offsets = tileOffsets(spec);
  Type f16 = b.getF16Type();
  qTile = sharedView(b, loc, dynamic, 0, {blockRows(spec), spec.headDim}, f16);
  kRing = sharedView(b, loc, dynamic, offsets.k, {2, kKeyTile, spec.headDim}, f16);
  vRing = sharedView(b, loc, dynamic, offsets.v, {2, kKeyTile, spec.valueDim}, f16);

  // Prologue: Q (one group), key tile 0 (another); Q into registers.
  copyRows(q, spec.qStrides, spec.qOffset, headIndex, blockFirstRow, spec.queries, blockRows(spec),
           spec.headDim, qTile, Value());
  commitGroup();
  copyKeyTile(index(0), index(0));
  commitGroup();
  waitForGroups(1);
  SmallVector<Value> queryFragments = loadQueryFragments();

  // Causal blocks stop after the tile holding their last row's key.
  int64_t keyTiles = (spec.keys + kKeyTile - 1) / kKeyTile;
  Value tileEnd = index(keyTiles);
  if (spec.causal)
    tileEnd =
        minu(divu(add(blockFirstRow, index(blockRows(spec) + kKeyTile - 1)), kKeyTile), keyTiles);
  Value minusInf = f32(-std::numeric_limits<float>::infinity());
  // Carried: the max and lane-local sum of rows g and g + 8, then O.
  SmallVector<Value> init = {minusInf, minusInf, f32(0.0f), f32(0.0f)};
  init.append(outTiles, zeroAccumulator());
  auto loop = scf::ForOp::create(
      b, loc, index(0), tileEnd, index(1), init,
      [&](OpBuilder &, Location, Value keyTile, ValueRange carried) {
        waitForGroups(0);
        Value slot = remu(keyTile, 2);
        Value next = add(keyTile, index(1));
        {
          auto prefetch = scf::IfOp::create(b, loc, TypeRange{}, ult(next, tileEnd), false);
          OpBuilder::InsertionGuard ig(b);
          b.setInsertionPointToStart(&prefetch.getThenRegion().front());
          copyKeyTile(next, remu(next, 2));
        }
        commitGroup();
        SmallVector<Value> x = logits(scores(queryFragments, slot), mul(keyTile, kKeyTile));
        SmallVector<Value> yielded(4);
        SmallVector<Value> alphas(2);
        SmallVector<Value> probabilities(x.size());
        for (int64_t h = 0; h < 2; ++h) {
          Value tileMax = minusInf;
          for (int64_t tile = 0; tile < scoreTiles; ++tile)
            for (int64_t j = 0; j < 2; ++j)
              tileMax = maxf(tileMax, x[(tile * 2 + h) * 2 + j]);
          Value rowMax = maxf(carried[h], quadReduce(tileMax, true));
          Value noneYet =
              arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, rowMax, minusInf);
          Value base = arith::SelectOp::create(b, loc, noneYet, f32(0.0f), rowMax);
          alphas[h] = expOfDifference(carried[h], base);
          Value sum = f32(0.0f);
          for (int64_t tile = 0; tile < scoreTiles; ++tile)
            for (int64_t j = 0; j < 2; ++j) {
              int64_t at = (tile * 2 + h) * 2 + j;
              probabilities[at] = expOfDifference(x[at], base);
              sum = addf(sum, probabilities[at]);
            }
          yielded[h] = rowMax;
          yielded[2 + h] = math::FmaOp::create(b, loc, carried[2 + h], alphas[h], sum);
        }
        // Rescale O by its rows' alpha, then add this tile's P·V.
        Value alphaRows =
            vector::FromElementsOp::create(b, loc, VectorType::get({2, 2}, b.getF32Type()),
                                           ValueRange{alphas[0], alphas[0], alphas[1], alphas[1]});
        SmallVector<Value> out;
        for (Value acc : carried.drop_front(4))
          out.push_back(mulf(acc, alphaRows));
        out = accumulateValues(probabilities, slot, std::move(out));
        yielded.append(out.begin(), out.end());
        scf::YieldOp::create(b, loc, yielded);
      });
  ValueRange results = loop.getResults();
  storeOutputs(SmallVector<Value>(results.drop_front(4)), SmallVector<Value>(results.slice(2, 2)));
  gpu::ReturnOp::create(b, loc);
}

} // namespace

int64_t tensorCoreAttentionSharedBytes(const AttentionSpec &spec) { return tileOffsets(spec).end; }

void emitTensorCoreAttention(OpBuilder &builder, Location loc, const AttentionSpec &spec,
                             gpu::GPUFuncOp func) {
  TensorCoreAttentionEmitter(builder, loc, spec).emit(func);
}

} // namespace kiln::kernels

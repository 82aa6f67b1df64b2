//===- Gemv.cpp - weight-only quantized GEMV kernel generator -------------===//
#include "kiln/Kernels/Gemv.h"
#include "Dequant.h"
#include "KernelSupport.h"
#include "MmaGemv.h"

#include "kiln/Dialect/Codec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;

namespace kiln::kernels {
namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kChunkBytes = 16;
constexpr int64_t kMaxM = 16;

llvm::Error specError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "gemv spec: " + message);
}

bool isQuantized(WeightFormat format) { return format != WeightFormat::F16; }

} // namespace

std::optional<WeightFormat> parseWeightFormat(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<WeightFormat>>(name)
      .Case("f16", WeightFormat::F16)
      .Case("int8", WeightFormat::Int8)
      .Case("int4", WeightFormat::Int4)
      .Default(std::nullopt);
}

llvm::StringRef weightFormatName(WeightFormat format) {
  switch (format) {
  case WeightFormat::F16:
    return "f16";
  case WeightFormat::Int8:
    return "int8";
  case WeightFormat::Int4:
    return "int4";
  }
  llvm_unreachable("unknown weight format");
}

unsigned weightBits(WeightFormat format) {
  switch (format) {
  case WeightFormat::F16:
    return 16;
  case WeightFormat::Int8:
    return 8;
  case WeightFormat::Int4:
    return 4;
  }
  llvm_unreachable("unknown weight format");
}

int64_t elementsPerChunk(WeightFormat format) {
  return kChunkBytes * 8 / weightBits(format);
}

llvm::Expected<GemvSpec> resolveGemvSpec(GemvSpec spec) {
  if (spec.m < 1 || spec.m > kMaxM)
    return specError("M = " + llvm::Twine(spec.m) + " is outside 1.." +
                     llvm::Twine(kMaxM) + " (use a GEMM for larger batches)");
  if (spec.n < 1 || spec.k < 1)
    return specError("N and K must be positive, got N = " + llvm::Twine(spec.n) +
                     ", K = " + llvm::Twine(spec.k));
  int64_t chunkElems = elementsPerChunk(spec.format);
  if (spec.k % chunkElems != 0)
    return specError("K = " + llvm::Twine(spec.k) + " must be a multiple of " +
                     llvm::Twine(chunkElems) + " for " +
                     weightFormatName(spec.format) + " 16-byte weight loads");
  if (isQuantized(spec.format)) {
    if (spec.groupSize == 0)
      spec.groupSize = spec.k;
    if (spec.groupSize < 0 || spec.groupSize % chunkElems != 0 ||
        spec.k % spec.groupSize != 0)
      return specError("group size " + llvm::Twine(spec.groupSize) +
                       " must divide K = " + llvm::Twine(spec.k) +
                       " and be a multiple of " + llvm::Twine(chunkElems));
  } else {
    spec.groupSize = 0;
  }
  // Element counts of every buffer must fit the 32-bit offsets CUDA kernels
  // are commonly launched with, and never overflow int64.
  for (auto [rows, cols] : {std::pair{spec.n, spec.k}, std::pair{spec.m, spec.k},
                            std::pair{spec.m, spec.n}}) {
    std::optional<int64_t> count = codec::checkedMul(rows, cols);
    if (!count || *count > (int64_t{1} << 31))
      return specError("a " + llvm::Twine(rows) + "x" + llvm::Twine(cols) +
                       " operand has more than 2^31 elements");
  }
  if (spec.warpsPerBlock < 1 || spec.warpsPerBlock > 32)
    return specError("warps per block must be in 1..32");
  if (spec.method == GemvMethod::MmaSync) {
    if (spec.dependentLaunch)
      return specError("dependent launch is only generated for the SIMT method");
    return resolveMmaGemvSpec(spec);
  }
  if (spec.kSplit < 1 || spec.warpsPerBlock % spec.kSplit != 0)
    return specError("K split " + llvm::Twine(spec.kSplit) +
                     " must divide the warps per block (" +
                     llvm::Twine(spec.warpsPerBlock) + ")");
  if (spec.kSplit > 1 && spec.persistentBlocks > 0)
    return specError("a persistent grid does not split K across warps");
  if (int64_t chunks = spec.k / chunkElems; chunks % spec.kSplit != 0)
    return specError("K split " + llvm::Twine(spec.kSplit) + " must divide the " +
                     llvm::Twine(chunks) + " weight chunks of a row");
  if (spec.persistentBlocks < 0)
    return specError("persistent block count must not be negative");
  if (spec.dependentLaunch && spec.persistentBlocks > 0)
    return specError("a persistent grid does not take a dependent launch");
  if (spec.rowsPerWarp == 0) {
    // More rows per warp reuse each activation load; larger batches need
    // that reuse most, but at M <= 2 two rows (8 chunks each in flight) were
    // fastest on the H100 (bench/NOTES.md). The choice must divide N.
    int64_t preferred = spec.m >= 8 || spec.m <= 2 ? 2 : 4;
    spec.rowsPerWarp = 1;
    for (int64_t rows = preferred; rows > 1; rows /= 2)
      if (spec.n % rows == 0) {
        spec.rowsPerWarp = rows;
        break;
      }
  }
  if (spec.rowsPerWarp < 1 || spec.n % spec.rowsPerWarp != 0)
    return specError("rows per warp " + llvm::Twine(spec.rowsPerWarp) +
                     " must divide N = " + llvm::Twine(spec.n));
  // The partial sums of split warps meet behind a block-wide barrier: no
  // warp may skip it, so blocks must not run past N.
  if (int64_t rowsPerBlock = spec.rowsPerWarp * (spec.warpsPerBlock / spec.kSplit);
      spec.kSplit > 1 && spec.n % rowsPerBlock != 0)
    return specError("rows per block (" + llvm::Twine(rowsPerBlock) +
                     ") must divide N = " + llvm::Twine(spec.n) +
                     " when K is split across warps");
  if (spec.chunksInFlight == 0) {
    // 16 loads in flight per lane for M <= 2; fewer for larger batches,
    // whose per-row accumulators already crowd the register file.
    int64_t loads = spec.m <= 2 ? 16 : 8;
    if (spec.m >= 8)
      loads = 4;
    spec.chunksInFlight = std::max<int64_t>(1, loads / spec.rowsPerWarp);
  }
  if (spec.chunksInFlight < 1 || spec.chunksInFlight * spec.rowsPerWarp > 64)
    return specError("chunks in flight x rows per warp must be in 1..64");
  if (int64_t rounds = (spec.k / chunkElems + kWarpSize - 1) / kWarpSize;
      spec.persistentBlocks > 0 && rounds * spec.rowsPerWarp > 64)
    return specError("a persistent kernel keeps a whole row group in flight: " +
                     llvm::Twine(rounds) + " chunks per lane x " +
                     llvm::Twine(spec.rowsPerWarp) + " rows exceeds 64");
  return spec;
}

std::string gemvKernelName(const GemvSpec &spec) {
  std::string name = (spec.method == GemvMethod::MmaSync ? "gemv_tc_" : "gemv_") +
                     weightFormatName(spec.format).str();
  if (isQuantized(spec.format))
    name += "_g" + std::to_string(spec.groupSize);
  return name + "_m" + std::to_string(spec.m) + "_n" + std::to_string(spec.n) +
         "_k" + std::to_string(spec.k) + "_r" + std::to_string(spec.rowsPerWarp) +
         "u" + std::to_string(spec.chunksInFlight) + "w" +
         std::to_string(spec.warpsPerBlock) +
         (spec.kSplit > 1 ? "s" + std::to_string(spec.kSplit) : "") +
         (spec.persistentBlocks > 0 ? "p" + std::to_string(spec.persistentBlocks) : "") +
         (spec.dependentLaunch ? "d" : "");
}

LaunchShape gemvLaunchShape(const GemvSpec &spec) {
  // Warps that split K share their rows.
  int64_t rowsPerBlock = spec.rowsPerWarp * (spec.warpsPerBlock / spec.kSplit);
  int64_t blocks = (spec.n + rowsPerBlock - 1) / rowsPerBlock;
  if (spec.persistentBlocks > 0)
    blocks = std::min(blocks, spec.persistentBlocks);
  return {blocks, spec.warpsPerBlock * kWarpSize};
}

namespace {

/// Emits the body of one GEMV kernel. Each lane walks the chunks
/// lane, lane + 32, ... of its warp's rows and keeps an f32 partial sum per
/// (batch row, output row); products of one chunk are summed in f16x2 first
/// (exact dequantized integers times activations, a few terms per lane), then
/// widened, scaled and accumulated in f32. With kSplit > 1 the warps of a
/// block form groups of kSplit that share rows, each taking a contiguous
/// share of K; their warp sums meet in shared memory.
class GemvEmitter {
public:
  GemvEmitter(OpBuilder &builder, Location loc, const GemvSpec &spec)
      : b(builder), loc(loc), spec(spec),
        chunkElems(elementsPerChunk(spec.format)),
        chunksPerRow(spec.k / chunkElems), chunksPerSplit(chunksPerRow / spec.kSplit) {}

  void emit(gpu::GPUFuncOp func);

private:
  Value index(int64_t value) { return arith::ConstantIndexOp::create(b, loc, value); }

  /// Per (chunk, row) 16-byte weight vectors and f32 scales, [c * rows + r];
  /// optionally the first chunk's activation vectors (activationsOf).
  struct LoadedChunks {
    SmallVector<Value> weights, scales, firstActivations;
  };
  /// The activation vectors meeting chunk `chunk`, [m * vectorsPerChunk + v].
  SmallVector<Value> activationsOf(Value chunk);
  /// How many chunks ahead of their use activations are loaded: as many as
  /// about 64 registers hold (0: at their use, for large batches).
  int64_t activationLookahead() const {
    int64_t registersPerChunk = spec.m * (chunkElems / 8) * 4;
    return std::max<int64_t>(0, 64 / registersPerChunk - 1);
  }
  /// Issues the loads of the given per-lane chunks of rows firstRow.. ; when
  /// `tailActive` is set, the last chunk is zeroed on lanes where it is false.
  LoadedChunks loadChunks(Value firstRow, ArrayRef<Value> chunkIndices, Value tailActive);
  SmallVector<Value> computeChunks(ArrayRef<Value> chunkIndices,
                                   const LoadedChunks &loaded, ValueRange accs);
  /// Adds the contribution of the given per-lane chunk indices to `accs`.
  SmallVector<Value> accumulate(ArrayRef<Value> chunkIndices, ValueRange accs);
  /// Warp-reduces `accs` and stores them (lane 0) at rows firstRow.. .
  void storeRows(Value firstRow, ArrayRef<Value> accs);
  /// Stores warp sums [m * rows + r] at rows firstRow.. when `when` holds.
  void storeSums(Value firstRow, ArrayRef<Value> sums, Value when);
  /// kSplit > 1: adds the warp sums of the warps sharing these rows through
  /// shared memory; the group's first warp stores them.
  void reduceSplitsAndStore(gpu::GPUFuncOp func, Value firstRow, ArrayRef<Value> accs,
                            Value warp, Value split);
  /// The persistent, software-pipelined form (spec.persistentBlocks > 0).
  void emitPersistent(Value globalWarp);
  Value warpSum(Value value);
  /// The f32 sum of a chunk's f16 partial products (vector<8xf16>).
  Value widenAndSum(Value partial);

  OpBuilder &b;
  Location loc;
  const GemvSpec &spec;
  int64_t chunkElems;
  int64_t chunksPerRow;
  /// Chunks of a row that one warp of a K-split group covers.
  int64_t chunksPerSplit;
  Value x, w, scales, y, lane, rowBase;
  /// Dependent launch: the previous grid has not been waited for yet.
  bool previousGridPending = false;
  /// The first chunk of this warp's share of K (0 without a K split).
  Value chunkBase;
};

GemvEmitter::LoadedChunks GemvEmitter::loadChunks(Value firstRow,
                                                  ArrayRef<Value> chunkIndices,
                                                  Value tailActive) {
  int64_t rows = spec.rowsPerWarp;
  bool quantized = isQuantized(spec.format);
  LoadedChunks loaded;
  SmallVector<Value> &weightChunks = loaded.weights, &chunkScales = loaded.scales;
  SmallVector<Value> rowIndex;
  for (int64_t r = 0; r < rows; ++r)
    rowIndex.push_back(arith::AddIOp::create(b, loc, firstRow, index(r)));
  for (auto [c, chunk] : llvm::enumerate(chunkIndices))
    for (int64_t r = 0; r < rows; ++r) {
      Value v = memref::LoadOp::create(b, loc, w, ValueRange{rowIndex[r], chunk});
      // Lanes past the row's last chunk read chunk 0 and use zero weights
      // (code 0 dequantizes to 0 in every format).
      if (tailActive && c + 1 == chunkIndices.size()) {
        Value zero = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(cast<VectorType>(v.getType()),
                                           b.getZeroAttr(cast<VectorType>(v.getType())
                                                             .getElementType())));
        v = arith::SelectOp::create(b, loc, tailActive, v, zero);
      }
      weightChunks.push_back(v);
    }
  if (quantized) {
    for (Value chunk : chunkIndices) {
      Value group = arith::DivUIOp::create(
          b, loc, arith::MulIOp::create(b, loc, chunk, index(chunkElems)),
          index(spec.groupSize));
      for (int64_t r = 0; r < rows; ++r) {
        Value s = memref::LoadOp::create(b, loc, scales, ValueRange{rowIndex[r], group});
        chunkScales.push_back(arith::ExtFOp::create(b, loc, b.getF32Type(), s));
      }
    }
  }
  // Dependent launch: weights and scales never change between grids, but
  // activations may be the previous grid's output.
  if (previousGridPending) {
    NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::wait);
    previousGridPending = false;
  }
  // The first chunk's activations travel with the weights; later ones are
  // loaded one chunk ahead of their use (computeChunks).
  if (!chunkIndices.empty() && activationLookahead() > 0)
    loaded.firstActivations = activationsOf(chunkIndices.front());
  return loaded;
}

SmallVector<Value> GemvEmitter::activationsOf(Value chunk) {
  int64_t vectorsPerChunk = chunkElems / 8;
  Value firstVector = arith::MulIOp::create(b, loc, chunk, index(vectorsPerChunk));
  SmallVector<Value> vectors;
  for (int64_t m = 0; m < spec.m; ++m)
    for (int64_t v = 0; v < vectorsPerChunk; ++v) {
      Value col = arith::AddIOp::create(b, loc, firstVector, index(v));
      vectors.push_back(memref::LoadOp::create(b, loc, x, ValueRange{index(m), col}));
    }
  return vectors;
}

SmallVector<Value> GemvEmitter::computeChunks(ArrayRef<Value> chunkIndices,
                                              const LoadedChunks &loaded,
                                              ValueRange accs) {
  int64_t rows = spec.rowsPerWarp;
  bool quantized = isQuantized(spec.format);
  const SmallVector<Value> &weightChunks = loaded.weights;
  const SmallVector<Value> &chunkScales = loaded.scales;
  SmallVector<Value> result(accs.begin(), accs.end());
  auto f32Vec = VectorType::get({8}, b.getF32Type());
  int64_t vectorsPerChunk = chunkElems / 8;
  // Activations are L1/L2 hits whose latency would otherwise stall every
  // chunk: they are loaded `ahead` chunks before their use.
  size_t ahead = size_t(activationLookahead());
  SmallVector<SmallVector<Value>> activations(chunkIndices.size());
  for (size_t c = 0; c < std::min(ahead, chunkIndices.size()); ++c)
    activations[c] = c == 0 && !loaded.firstActivations.empty()
                         ? loaded.firstActivations
                         : activationsOf(chunkIndices[c]);
  for (auto [c, chunk] : llvm::enumerate(chunkIndices)) {
    if (c + ahead < chunkIndices.size())
      activations[c + ahead] = activationsOf(chunkIndices[c + ahead]);
    SmallVector<DequantizedChunk> dequantized;
    for (int64_t r = 0; r < rows; ++r)
      dequantized.push_back(
          dequantizeChunk(b, loc, spec.format, weightChunks[c * rows + r]));
    for (int64_t m = 0; m < spec.m; ++m) {
      ArrayRef<Value> chunkActivations =
          ArrayRef<Value>(activations[c]).slice(m * vectorsPerChunk, vectorsPerChunk);
      const DequantizedChunk &layout = dequantized.front();
      SmallVector<Value> gathered;
      for (const auto &positions : layout.positions)
        gathered.push_back(gatherActivations(b, loc, chunkActivations, positions));
      for (int64_t r = 0; r < rows; ++r) {
        Value &acc = result[m * rows + r];
        const DequantizedChunk &dq = dequantized[r];
        Value chunkSum;
        if (!quantized) {
          // f16 weights: widen both sides and multiply in f32.
          Value wf = arith::ExtFOp::create(b, loc, f32Vec, dq.weights[0]);
          Value xf = arith::ExtFOp::create(b, loc, f32Vec, gathered[0]);
          Value prod = arith::MulFOp::create(b, loc, wf, xf);
          chunkSum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, prod);
          acc = arith::AddFOp::create(b, loc, acc, chunkSum);
          continue;
        }
        Value partial = arith::MulFOp::create(b, loc, dq.weights[0], gathered[0]);
        for (size_t i = 1; i < dq.weights.size(); ++i)
          partial = vector::FMAOp::create(b, loc, dq.weights[i], gathered[i], partial);
        chunkSum = widenAndSum(partial);
        // mul + add: NVPTX contracts it into one fma.rn.f32 (math.fma would
        // become a libdevice call).
        auto contract = arith::FastMathFlags::contract;
        Value scaled = arith::MulFOp::create(b, loc, chunkSum,
                                             chunkScales[c * rows + r], contract);
        acc = arith::AddFOp::create(b, loc, acc, scaled, contract);
      }
    }
  }
  return result;
}

Value GemvEmitter::widenAndSum(Value partial) {
  // int4: the f16x2 lanes are first added pairwise down to one pair (16
  // products of codes within +-8 per f16 sum), leaving 2 widenings and one
  // f32 add instead of 8 and 7. int8 codes (+-128) keep 2 products per f16
  // sum: their f16 range is used up far sooner.
  if (spec.format == WeightFormat::Int4) {
    for (int64_t width = 4; width >= 2; width /= 2) {
      SmallVector<int64_t> lowLanes, highLanes;
      for (int64_t lane = 0; lane < width; ++lane) {
        lowLanes.push_back(lane);
        highLanes.push_back(width + lane);
      }
      Value low = vector::ShuffleOp::create(b, loc, partial, partial, lowLanes);
      Value high = vector::ShuffleOp::create(b, loc, partial, partial, highLanes);
      partial = arith::AddFOp::create(b, loc, low, high);
    }
  }
  auto wideType = VectorType::get(cast<VectorType>(partial.getType()).getShape(),
                                  b.getF32Type());
  Value wide = arith::ExtFOp::create(b, loc, wideType, partial);
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, wide);
}

SmallVector<Value> GemvEmitter::accumulate(ArrayRef<Value> chunkIndices,
                                           ValueRange accs) {
  // All weight (and scale) loads first: rows x chunks 16-byte loads in flight
  // before the first one is used.
  return computeChunks(chunkIndices, loadChunks(rowBase, chunkIndices, Value()), accs);
}

void GemvEmitter::storeRows(Value firstRow, ArrayRef<Value> accs) {
  SmallVector<Value> sums;
  for (Value acc : accs)
    sums.push_back(warpSum(acc));
  storeSums(firstRow, sums,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, index(0)));
}

void GemvEmitter::reduceSplitsAndStore(gpu::GPUFuncOp func, Value firstRow,
                                       ArrayRef<Value> accs, Value warp, Value split) {
  int64_t count = static_cast<int64_t>(accs.size());
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto bufferType = MemRefType::get({spec.warpsPerBlock, count}, b.getF32Type(),
                                    MemRefLayoutAttrInterface(), workgroup);
  Value buffer = func.addWorkgroupAttribution(bufferType, loc);
  SmallVector<Value> sums;
  for (Value acc : accs)
    sums.push_back(warpSum(acc));
  Value isFirstLane =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, index(0));
  {
    auto write = scf::IfOp::create(b, loc, TypeRange{}, isFirstLane, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&write.getThenRegion().front());
    for (int64_t i = 0; i < count; ++i)
      memref::StoreOp::create(b, loc, sums[i], buffer, ValueRange{warp, index(i)});
  }
  gpu::BarrierOp::create(b, loc);
  Value isGroupLeader = arith::AndIOp::create(
      b, loc, isFirstLane,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, split, index(0)));
  auto leader = scf::IfOp::create(b, loc, TypeRange{}, isGroupLeader, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&leader.getThenRegion().front());
  SmallVector<Value> totals(sums);
  for (int64_t s = 1; s < spec.kSplit; ++s) {
    Value source = arith::AddIOp::create(b, loc, warp, index(s));
    for (int64_t i = 0; i < count; ++i)
      totals[i] = arith::AddFOp::create(
          b, loc, totals[i],
          memref::LoadOp::create(b, loc, buffer, ValueRange{source, index(i)}));
  }
  storeSums(firstRow, totals, Value());
}

void GemvEmitter::storeSums(Value firstRow, ArrayRef<Value> sums, Value when) {
  std::optional<OpBuilder::InsertionGuard> guard;
  if (when) {
    auto store = scf::IfOp::create(b, loc, TypeRange{}, when, false);
    guard.emplace(b);
    b.setInsertionPointToStart(&store.getThenRegion().front());
  }
  for (int64_t m = 0; m < spec.m; ++m)
    for (int64_t r = 0; r < spec.rowsPerWarp; ++r) {
      Value out = arith::TruncFOp::create(b, loc, b.getF16Type(),
                                          sums[m * spec.rowsPerWarp + r]);
      Value row = arith::AddIOp::create(b, loc, firstRow, index(r));
      memref::StoreOp::create(b, loc, out, y, ValueRange{index(m), row});
    }
}

void GemvEmitter::emitPersistent(Value globalWarp) {
  // Every chunk of a row group in one round of loads per lane; while a
  // group is computed, the next group's loads are already in flight.
  int64_t rounds = (chunksPerRow + kWarpSize - 1) / kWarpSize;
  int64_t tailLanes = chunksPerRow % kWarpSize;
  SmallVector<Value> chunks;
  Value tailActive;
  for (int64_t j = 0; j < rounds; ++j) {
    Value idx = arith::AddIOp::create(b, loc, index(j * kWarpSize), lane);
    if (j + 1 == rounds && tailLanes > 0) {
      tailActive = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, lane,
                                         index(tailLanes));
      idx = arith::SelectOp::create(b, loc, tailActive, idx, index(0));
    }
    chunks.push_back(idx);
  }
  int64_t groups = spec.n / spec.rowsPerWarp;
  int64_t stride = spec.persistentBlocks * spec.warpsPerBlock;
  auto rowOf = [&](Value group) {
    return arith::MulIOp::create(b, loc, group, index(spec.rowsPerWarp)).getResult();
  };
  Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, globalWarp,
                                        index(groups));
  auto guard = scf::IfOp::create(b, loc, TypeRange{}, inRange, /*withElse=*/false);
  b.setInsertionPointToStart(&guard.getThenRegion().front());
  LoadedChunks first = loadChunks(rowOf(globalWarp), chunks, tailActive);
  size_t weightCount = first.weights.size();
  SmallVector<Value> carried(first.weights);
  carried.append(first.scales);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  SmallVector<Value> zeros(spec.m * spec.rowsPerWarp, zero);
  scf::ForOp::create(
      b, loc, globalWarp, index(groups), index(stride), carried,
      [&](OpBuilder &, Location, Value group, ValueRange current) {
        Value next = arith::MinUIOp::create(
            b, loc, arith::AddIOp::create(b, loc, group, index(stride)),
            index(groups - 1));
        LoadedChunks prefetched = loadChunks(rowOf(next), chunks, tailActive);
        LoadedChunks now;
        now.weights.assign(current.begin(), current.begin() + weightCount);
        now.scales.assign(current.begin() + weightCount, current.end());
        storeRows(rowOf(group), computeChunks(chunks, now, zeros));
        SmallVector<Value> yielded(prefetched.weights);
        yielded.append(prefetched.scales);
        scf::YieldOp::create(b, loc, yielded);
      });
}

Value GemvEmitter::warpSum(Value value) {
  return warpReduce(b, loc, value, [&](Value l, Value r) -> Value {
    return arith::AddFOp::create(b, loc, l, r);
  });
}

void GemvEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  x = entry.getArgument(0);
  w = entry.getArgument(1);
  bool quantized = isQuantized(spec.format);
  scales = quantized ? entry.getArgument(2) : Value();
  y = entry.getArgument(quantized ? 3 : 2);

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value block = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  lane = arith::RemUIOp::create(b, loc, tid, index(kWarpSize));
  Value warp = arith::DivUIOp::create(b, loc, tid, index(kWarpSize));
  Value globalWarp = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, block, index(spec.warpsPerBlock)), warp);
  if (spec.dependentLaunch) {
    // The next grid may launch now; its blocks start as ours retire.
    NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::launch_dependents);
    previousGridPending = true;
  }
  if (spec.persistentBlocks > 0) {
    emitPersistent(globalWarp);
    b.setInsertionPointToEnd(&entry);
    gpu::ReturnOp::create(b, loc);
    return;
  }
  Value split;
  if (spec.kSplit > 1) {
    // Warps split, split + 1, ... of a group share rows; every block is
    // full (resolveGemvSpec), so no warp skips the reduction's barrier.
    split = arith::RemUIOp::create(b, loc, warp, index(spec.kSplit));
    Value rowGroup = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, block, index(spec.warpsPerBlock / spec.kSplit)),
        arith::DivUIOp::create(b, loc, warp, index(spec.kSplit)));
    rowBase = arith::MulIOp::create(b, loc, rowGroup, index(spec.rowsPerWarp));
    chunkBase = arith::MulIOp::create(b, loc, split, index(chunksPerSplit));
  } else {
    rowBase = arith::MulIOp::create(b, loc, globalWarp, index(spec.rowsPerWarp));
    chunkBase = index(0);
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, rowBase,
                                          index(spec.n));
    auto guard = scf::IfOp::create(b, loc, TypeRange{}, inRange, /*withElse=*/false);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
  }

  int64_t accCount = spec.m * spec.rowsPerWarp;
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  SmallVector<Value> accs(accCount, zero);

  int64_t inFlight = spec.chunksInFlight;
  int64_t fullRounds = chunksPerSplit / kWarpSize; // rounds where every lane works
  int64_t tailLanes = chunksPerSplit % kWarpSize;
  int64_t loopTrips = fullRounds / inFlight;
  auto laneChunks = [&](Value roundBase, int64_t count) {
    SmallVector<Value> chunks;
    for (int64_t u = 0; u < count; ++u)
      chunks.push_back(arith::AddIOp::create(
          b, loc,
          arith::AddIOp::create(b, loc, chunkBase,
                                arith::AddIOp::create(b, loc, roundBase,
                                                      index(u * kWarpSize))),
          lane));
    return chunks;
  };
  if (loopTrips > 0) {
    auto loop = scf::ForOp::create(
        b, loc, index(0), index(loopTrips * inFlight * kWarpSize),
        index(inFlight * kWarpSize), accs,
        [&](OpBuilder &, Location, Value base, ValueRange iterAccs) {
          SmallVector<Value> next = accumulate(laneChunks(base, inFlight), iterAccs);
          scf::YieldOp::create(b, loc, next);
        });
    accs.assign(loop.getResults().begin(), loop.getResults().end());
  }
  int64_t leftoverRounds = fullRounds - loopTrips * inFlight;
  if (leftoverRounds > 0)
    accs = accumulate(
        laneChunks(index(loopTrips * inFlight * kWarpSize), leftoverRounds), accs);
  if (tailLanes > 0) {
    Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, lane,
                                         index(tailLanes));
    SmallVector<Type> accTypes(accCount, b.getF32Type());
    auto tail = scf::IfOp::create(b, loc, accTypes, active, /*withElse=*/true);
    OpBuilder::InsertionGuard ig(b);
    b.setInsertionPointToStart(&tail.getThenRegion().front());
    scf::YieldOp::create(
        b, loc, accumulate(laneChunks(index(fullRounds * kWarpSize), 1), accs));
    b.setInsertionPointToStart(&tail.getElseRegion().front());
    scf::YieldOp::create(b, loc, accs);
    b.setInsertionPointAfter(tail);
    accs.assign(tail.getResults().begin(), tail.getResults().end());
  }

  if (spec.kSplit > 1)
    reduceSplitsAndStore(func, rowBase, accs, warp, split);
  else
    storeRows(rowBase, accs);
  b.setInsertionPointToEnd(&entry);
  gpu::ReturnOp::create(b, loc);
}

} // namespace

gpu::GPUFuncOp buildGemvKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                               const GemvSpec &spec) {
  MLIRContext *ctx = builder.getContext();
  Location loc = module.getLoc();
  Type f16 = builder.getF16Type();
  auto chunkType = spec.format == WeightFormat::F16
                       ? VectorType::get({8}, f16)
                       : VectorType::get({4}, builder.getI32Type());
  int64_t chunks = spec.k / elementsPerChunk(spec.format);
  SmallVector<Type> args = {
      MemRefType::get({spec.m, spec.k / 8}, VectorType::get({8}, f16)),
      MemRefType::get({spec.n, chunks}, chunkType)};
  if (isQuantized(spec.format))
    args.push_back(MemRefType::get({spec.n, spec.k / spec.groupSize}, f16));
  args.push_back(MemRefType::get({spec.m, spec.n}, f16));

  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto func = gpu::GPUFuncOp::create(builder, loc, gemvKernelName(spec),
                                     FunctionType::get(ctx, args, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  LaunchShape launch = gemvLaunchShape(spec);
  func.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr(
      {static_cast<int32_t>(launch.blockX), 1, 1}));
  // Every buffer is distinct and the inputs are read-only: lets the backend
  // use the non-coherent (read-only) load path.
  for (unsigned i = 0; i < args.size(); ++i)
    func.setArgAttr(i, "llvm.noalias", builder.getUnitAttr());
  if (spec.method == GemvMethod::MmaSync)
    emitMmaGemvBody(builder, loc, spec, func);
  else
    GemvEmitter(builder, loc, spec).emit(func);
  return func;
}

} // namespace kiln::kernels

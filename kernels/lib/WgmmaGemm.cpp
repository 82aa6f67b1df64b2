//===- WgmmaGemm.cpp - Hopper GEMM: TMA ring + warpgroup MMA --------------===//
//
// Warp-specialized block of G consumer warpgroups (G = blockM / 64) and one
// producer warp (the last). Shared memory holds S stages, each an x tile
// [blockM][64] f16 and a W tile ([blockN][64] f16, or the raw [blockN][64 *
// bits / 8] bytes of int8/int4 codes), f16 rows written by TMA with the
// 128B swizzle (16-byte chunk c of row r lands at c ^ (r % 8); tiles start
// 1024-byte aligned so the pattern matches the wgmma descriptors). Per stage
// s two mbarriers:
//
//   producer (1 thread), tile t in stage s = t % S, round u = t / S:
//     u > 0: wait empty[s] phase u - 1 (every warpgroup released tile t - S)
//     arrive.expect_tx full[s] (x + W tile bytes); TMA x tile, TMA W tile
//   consumer warpgroup g, tile t:
//     wait full[s] phase u;
//     [int8/int4: every consumer thread dequantizes its 16-byte chunks of
//      the raw W tile (codes x f16 group scale) into f16 tile t % 3, written
//      in the 128B-swizzled layout; fence.proxy.async (generic-proxy stores
//      read by the tensor cores); named barrier over the consumers]
//     wgmma.fence; 4 x wgmma m64n{blockN}k16 (A = x rows 64g.., B = the W
//     tile, both K-major from shared memory); commit; wait until <= 1 group
//     is in flight, i.e. tile t - 1 is done: one thread arrives on
//     empty[(t - 1) % S]
//
// Three dequantized tiles: tile t % 3 was last read by the wgmma of tile
// t - 3, which every warpgroup finished (its wait in iteration t - 2) before
// it reached the barrier of iteration t - 1, which the writers of iteration
// t have passed. The next tile's dequantization overlaps this tile's
// asynchronous wgmma.
//
// The f32 accumulators stay in registers (blockN / 2 per thread) and are
// written as f16 pairs (+ bias) straight to y; rows past M are skipped.
//
//===----------------------------------------------------------------------===//
#include "kiln/Kernels/WgmmaGemm.h"

#include "Dequant.h"
#include "GemmCommon.h"
#include "KernelSupport.h"

#include "kiln/Dialect/Codec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace kiln::kernels {
namespace {

constexpr int64_t kWarpSize = 32;
constexpr int64_t kWarpGroup = 128;
constexpr int64_t kWgmmaM = 64, kWgmmaK = 16;
constexpr int64_t kRowBytes = kWgmmaBlockK * 2; // one 128B swizzle row
// The 128B swizzle repeats every 8 rows of 128 bytes; tiles start there.
constexpr int64_t kSwizzleAtomBytes = 8 * kRowBytes;
constexpr int64_t kMaxSharedBytes = 227 * 1024;
// mbarrier.try_wait suspend-time hint (ns) before the thread re-polls.
constexpr int64_t kWaitTicks = 10000000;

llvm::Error specError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), "wgmma gemm spec: " + message);
}

constexpr int64_t kDequantTiles = 3;
constexpr int64_t kChunkBytes = 16;

bool isQuantized(const WgmmaGemmSpec &spec) { return spec.format != WeightFormat::F16; }

int64_t consumerGroups(const WgmmaGemmSpec &spec) { return spec.blockM / kWgmmaM; }

/// Bytes per W row of one K tile as stored: 128 (f16), 64 (int8), 32 (int4).
int64_t weightRowBytes(const WgmmaGemmSpec &spec) {
  return kWgmmaBlockK * weightBits(spec.format) / 8;
}

int64_t stageBytes(const WgmmaGemmSpec &spec) {
  return spec.blockM * kRowBytes + spec.blockN * weightRowBytes(spec);
}

/// Dequantized f16 W tiles (int8/int4), placed before the stages.
int64_t dequantBytes(const WgmmaGemmSpec &spec) {
  return isQuantized(spec) ? kDequantTiles * spec.blockN * kRowBytes : 0;
}

/// Everything plus slack to align the first tile to a swizzle atom.
int64_t sharedBytes(const WgmmaGemmSpec &spec) {
  return dequantBytes(spec) + spec.stages * stageBytes(spec) + kSwizzleAtomBytes;
}

void pickDefaults(WgmmaGemmSpec &spec) {
  // Measured on an H100 (bench/NOTES.md): large M takes 128x256 tiles (two
  // warpgroups of m64n256; 4-5 stages fit, beside the 3 dequantized tiles
  // for int8/int4). Small M takes 64-row tiles (more blocks for the 132
  // SMs), 128 wide for f16 and 64 wide for int8/int4 (dequantization work
  // spread over twice the blocks).
  bool large = spec.m > 256;
  if (spec.blockM == 0)
    spec.blockM = large ? 128 : 64;
  if (spec.blockN == 0) {
    int64_t widest = large ? 256 : isQuantized(spec) ? 64 : 128;
    spec.blockN = 64;
    for (int64_t width : {widest, int64_t{128}})
      if (width >= 64 && width <= widest && spec.n % width == 0) {
        spec.blockN = width;
        break;
      }
  }
  if (spec.stages == 0 && spec.blockM > 0 && spec.blockN > 0)
    spec.stages = std::clamp<int64_t>(
        (kMaxSharedBytes - kSwizzleAtomBytes - dequantBytes(spec)) / stageBytes(spec), 2, 8);
}

} // namespace

llvm::Error checkWgmmaArch(llvm::StringRef arch) {
  if (arch == "sm_90a")
    return llvm::Error::success();
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      "the wgmma GEMM (TMA + warpgroup MMA) needs --gpu-arch=sm_90a, got " + arch +
          "; use the mma.sync GEMM (gemm:...) for other architectures");
}

llvm::Expected<WgmmaGemmSpec> resolveWgmmaGemmSpec(WgmmaGemmSpec spec) {
  if (std::optional<std::string> problem = gemmShapeProblem(spec.m, spec.n, spec.k))
    return specError(*problem);
  pickDefaults(spec);
  if (spec.blockM != 64 && spec.blockM != 128)
    return specError("block M must be 64 or 128 (one or two warpgroups), got " +
                     llvm::Twine(spec.blockM));
  if (spec.blockN < 64 || spec.blockN > 256 || spec.blockN % 64 != 0)
    return specError("block N must be 64, 128, 192 or 256, got " + llvm::Twine(spec.blockN));
  if (spec.n % spec.blockN != 0)
    return specError("N = " + llvm::Twine(spec.n) + " must be a multiple of the block N " +
                     llvm::Twine(spec.blockN) + " (pick another block tile)");
  if (spec.k % kWgmmaBlockK != 0)
    return specError("K = " + llvm::Twine(spec.k) + " must be a multiple of " +
                     llvm::Twine(kWgmmaBlockK));
  if (spec.stages < 2 || spec.stages > 8)
    return specError("stages must be 2..8, got " + llvm::Twine(spec.stages));
  if (isQuantized(spec)) {
    if (spec.groupSize == 0)
      spec.groupSize = spec.k;
    if (spec.groupSize < 0 || spec.groupSize % kWgmmaBlockK != 0 ||
        spec.k % spec.groupSize != 0)
      return specError("group size " + llvm::Twine(spec.groupSize) + " must divide K = " +
                       llvm::Twine(spec.k) + " and be a multiple of " +
                       llvm::Twine(kWgmmaBlockK));
  } else {
    spec.groupSize = 0;
  }
  if (int64_t bytes = sharedBytes(spec); bytes > kMaxSharedBytes)
    return specError("the tiling needs " + llvm::Twine(bytes) +
                     " bytes of shared memory, more than " + llvm::Twine(kMaxSharedBytes) +
                     " (fewer stages or smaller tiles)");
  return spec;
}

std::string wgmmaGemmKernelName(const WgmmaGemmSpec &spec) {
  auto s = [](int64_t v) { return std::to_string(v); };
  std::string name = "wgmma_" + weightFormatName(spec.format).str();
  if (isQuantized(spec))
    name += "_g" + s(spec.groupSize);
  return name + "_m" + s(spec.m) + "_n" + s(spec.n) + "_k" + s(spec.k) + "_b" +
         s(spec.blockM) + "x" + s(spec.blockN) + "x" + s(kWgmmaBlockK) + "s" + s(spec.stages) +
         (spec.bias ? "_bias" : "");
}

WgmmaLaunchShape wgmmaGemmLaunchShape(const WgmmaGemmSpec &spec) {
  return {spec.n / spec.blockN, (spec.m + spec.blockM - 1) / spec.blockM,
          consumerGroups(spec) * kWarpGroup + kWarpSize, sharedBytes(spec)};
}

WgmmaTensorMapBox wgmmaTensorMapBox(const WgmmaGemmSpec &spec, bool isWeight) {
  if (!isWeight)
    return {kWgmmaBlockK, spec.blockM, true};
  if (isQuantized(spec))
    return {weightRowBytes(spec), spec.blockN, false};
  return {kWgmmaBlockK, spec.blockN, true};
}

nvgpu::TensorMapDescriptorType wgmmaTensorMapType(MLIRContext *context,
                                                  const WgmmaGemmSpec &spec, bool isWeight) {
  WgmmaTensorMapBox box = wgmmaTensorMapBox(spec, isWeight);
  Type element = isWeight && isQuantized(spec) ? Type(IntegerType::get(context, 8))
                                               : Type(Float16Type::get(context));
  auto workgroup = gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup);
  auto tile = MemRefType::get({box.rows, box.cols}, element, MemRefLayoutAttrInterface(),
                              workgroup);
  return nvgpu::TensorMapDescriptorType::get(
      context, tile,
      box.swizzle128B ? nvgpu::TensorMapSwizzleKind::SWIZZLE_128B
                      : nvgpu::TensorMapSwizzleKind::SWIZZLE_NONE,
      nvgpu::TensorMapL2PromoKind::L2PROMO_256B, nvgpu::TensorMapOOBKind::OOB_ZERO,
      nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE);
}

namespace {

class WgmmaEmitter : ArithShorthands {
public:
  WgmmaEmitter(OpBuilder &b, Location loc, const WgmmaGemmSpec &spec)
      : ArithShorthands(b, loc), spec(spec), quantized(isQuantized(spec)),
        groups(consumerGroups(spec)), consumerThreads(groups * kWarpGroup),
        kTiles(spec.k / kWgmmaBlockK) {}

  void emit(gpu::GPUFuncOp func);

private:
  Value i32(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); }
  Value i64(int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 64); }
  Value cmp(arith::CmpIPredicate p, Value l, Value r) {
    return arith::CmpIOp::create(b, loc, p, l, r);
  }
  Value asI64(Value v) { return arith::IndexCastUIOp::create(b, loc, b.getI64Type(), v); }
  /// Bit 0 of `v` as i1: the mbarrier phase parity of round `v`.
  Value parity(Value v) {
    return arith::IndexCastUIOp::create(b, loc, b.getI1Type(), remu(v, 2));
  }
  /// Runs `body` where `condition` holds.
  void ifThen(Value condition, llvm::function_ref<void()> body);
  /// A memref view of the dynamic shared memory at byte `offset` (index).
  Value sharedView(Value offset, ArrayRef<int64_t> shape, Type element);

  nvgpu::TensorMapDescriptorType tensorMapType(bool isWeight);
  /// Byte offset (index, from the dynamic shared memory's start) of the x
  /// tile (isWeight false) or W tile of ring stage `stage`.
  Value stageTileOffset(Value stage, bool isWeight);
  Value fullBarrier(Value stage) { return stage; }
  Value emptyBarrier(Value stage) { return add(stage, index(spec.stages)); }
  void initBarriers(Value tid);
  void emitProducer();
  /// The K loop of consumer warpgroup `group`; returns the accumulators.
  Value emitConsumerLoop(Value tid, Value group, Value threadInGroup);
  /// The group scales this consumer thread's raw chunks of K tile `tile`
  /// need (threads past the last chunk load a valid duplicate).
  SmallVector<Value> loadScales(Value tid, Value tile);
  /// Dequantizes the raw W tile of `stage` into f16 tile `slot`.
  void dequantizeStage(Value tid, Value stage, Value slot, ArrayRef<Value> scales);
  /// A wgmma shared-memory descriptor (K-major, 128B swizzle) of the tile
  /// at shared-memory byte address `address` (i64).
  Value matrixDescriptor(Value address);
  void storeOutputs(Value acc, Value group, Value threadInGroup);

  /// Raw 16-byte chunks of one W tile and how many each consumer handles.
  int64_t rawChunks() const { return spec.blockN * weightRowBytes(spec) / kChunkBytes; }
  int64_t chunksPerThread() const {
    return (rawChunks() + consumerThreads - 1) / consumerThreads;
  }

  const WgmmaGemmSpec &spec;
  bool quantized;
  int64_t groups, consumerThreads, kTiles;
  Value xMap, wMap, scales, bias, y;
  Value mBase, nBase;
  Value dynamic, alignPad, sharedBase, barriers;
};

void WgmmaEmitter::ifThen(Value condition, llvm::function_ref<void()> body) {
  auto op = scf::IfOp::create(b, loc, TypeRange{}, condition, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&op.getThenRegion().front());
  body();
}

Value WgmmaEmitter::sharedView(Value offset, ArrayRef<int64_t> shape, Type element) {
  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto type = MemRefType::get(shape, element, MemRefLayoutAttrInterface(), workgroup);
  return memref::ViewOp::create(b, loc, type, dynamic, offset, ValueRange{});
}

nvgpu::TensorMapDescriptorType WgmmaEmitter::tensorMapType(bool isWeight) {
  return wgmmaTensorMapType(b.getContext(), spec, isWeight);
}

Value WgmmaEmitter::stageTileOffset(Value stage, bool isWeight) {
  Value offset =
      add(add(alignPad, index(dequantBytes(spec))), mul(stage, stageBytes(spec)));
  return isWeight ? add(offset, index(spec.blockM * kRowBytes)) : offset;
}

void WgmmaEmitter::initBarriers(Value tid) {
  auto groupType = nvgpu::MBarrierGroupType::get(
      b.getContext(), gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup),
      2 * spec.stages);
  barriers = nvgpu::MBarrierCreateOp::create(b, loc, groupType);
  // full[s]: the producer's arrive + the TMA bytes; empty[s]: one arrival
  // per consumer warpgroup.
  ifThen(cmp(arith::CmpIPredicate::eq, tid, index(0)), [&] {
    for (int64_t s = 0; s < spec.stages; ++s) {
      nvgpu::MBarrierInitOp::create(b, loc, barriers, index(1), fullBarrier(index(s)), Value());
      nvgpu::MBarrierInitOp::create(b, loc, barriers, index(groups), emptyBarrier(index(s)),
                                    Value());
    }
    // Makes the initialized barriers visible to the TMA unit.
    NVVM::FenceMbarrierInitOp::create(b, loc);
  });
  gpu::BarrierOp::create(b, loc);
}

void WgmmaEmitter::emitProducer() {
  nvgpu::TmaPrefetchOp::create(b, loc, xMap, Value());
  nvgpu::TmaPrefetchOp::create(b, loc, wMap, Value());
  WgmmaTensorMapBox xBox = wgmmaTensorMapBox(spec, false);
  WgmmaTensorMapBox wBox = wgmmaTensorMapBox(spec, true);
  Type wElement = quantized ? Type(b.getI8Type()) : Type(b.getF16Type());
  scf::ForOp::create(
      b, loc, index(0), index(kTiles), index(1), ValueRange{},
      [&](OpBuilder &, Location, Value tile, ValueRange) {
        Value stage = remu(tile, spec.stages), round = divu(tile, spec.stages);
        ifThen(cmp(arith::CmpIPredicate::ugt, round, index(0)), [&] {
          Value previousRound = arith::SubIOp::create(b, loc, round, index(1));
          nvgpu::MBarrierTryWaitParityOp::create(b, loc, barriers, parity(previousRound),
                                                 index(kWaitTicks), emptyBarrier(stage));
        });
        nvgpu::MBarrierArriveExpectTxOp::create(b, loc, barriers, index(stageBytes(spec)),
                                                fullBarrier(stage), Value());
        // TMA coordinates are innermost first: (column, row).
        Value xTile = sharedView(stageTileOffset(stage, false), {xBox.rows, xBox.cols},
                                 b.getF16Type());
        nvgpu::TmaAsyncLoadOp::create(b, loc, xTile, barriers, xMap,
                                      ValueRange{mul(tile, xBox.cols), mBase},
                                      fullBarrier(stage), Value(), Value());
        Value wTile =
            sharedView(stageTileOffset(stage, true), {wBox.rows, wBox.cols}, wElement);
        nvgpu::TmaAsyncLoadOp::create(b, loc, wTile, barriers, wMap,
                                      ValueRange{mul(tile, wBox.cols), nBase},
                                      fullBarrier(stage), Value(), Value());
        scf::YieldOp::create(b, loc);
      });
}

Value WgmmaEmitter::matrixDescriptor(Value address) {
  // Bits 0-13: address >> 4; 16-29: leading byte offset >> 4 (unused for
  // swizzled K-major tiles, 1 by convention); 32-45: stride byte offset >> 4
  // (1024: the next 8-row swizzle atom); 62-63: 1 = 128B swizzle.
  constexpr int64_t kFields = (int64_t{1} << 16) | ((kSwizzleAtomBytes >> 4) << 32) |
                              (int64_t{1} << 62);
  Value start = arith::ShRUIOp::create(
      b, loc, arith::AndIOp::create(b, loc, address, i64(0x3FFFF)), i64(4));
  return arith::OrIOp::create(b, loc, start, i64(kFields));
}

SmallVector<Value> WgmmaEmitter::loadScales(Value tid, Value tile) {
  int64_t perRow = weightRowBytes(spec) / kChunkBytes;
  Value group = divu(mul(tile, kWgmmaBlockK), spec.groupSize);
  SmallVector<Value> out;
  for (int64_t j = 0; j < chunksPerThread(); ++j) {
    Value chunk = arith::MinUIOp::create(b, loc, add(tid, index(j * consumerThreads)),
                                         index(rawChunks() - 1));
    Value row = add(nBase, divu(chunk, perRow));
    out.push_back(memref::LoadOp::create(b, loc, scales, ValueRange{row, group}));
  }
  return out;
}

void WgmmaEmitter::dequantizeStage(Value tid, Value stage, Value slot,
                                   ArrayRef<Value> tileScales) {
  int64_t perRow = weightRowBytes(spec) / kChunkBytes;
  int64_t vectorsPerChunk = elementsPerChunk(spec.format) / 8;
  auto i32x4 = VectorType::get({4}, b.getI32Type());
  auto f16x8 = VectorType::get({8}, b.getF16Type());
  Value raw = sharedView(stageTileOffset(stage, true), {spec.blockN, perRow}, i32x4);
  Value dequantized =
      sharedView(alignPad, {kDequantTiles, spec.blockN, kRowBytes / kChunkBytes}, f16x8);
  for (int64_t j = 0; j < chunksPerThread(); ++j) {
    auto body = [&] {
      Value chunk = add(tid, index(j * consumerThreads));
      Value row = divu(chunk, perRow), column = remu(chunk, perRow);
      Value packed = memref::LoadOp::create(b, loc, raw, ValueRange{row, column});
      Value scale = vector::BroadcastOp::create(b, loc, f16x8, tileScales[j]);
      for (auto [v, codes] :
           llvm::enumerate(dequantizeChunkInKOrder(b, loc, spec.format, packed))) {
        Value weights = arith::MulFOp::create(b, loc, codes, scale);
        // The 128B swizzle: 16-byte chunk c of row r lives at c ^ (r % 8).
        Value logical = add(mul(column, vectorsPerChunk), index(v));
        Value physical = arith::XOrIOp::create(b, loc, logical, remu(row, 8));
        memref::StoreOp::create(b, loc, weights, dequantized, ValueRange{slot, row, physical});
      }
    };
    if ((j + 1) * consumerThreads <= rawChunks())
      body();
    else
      ifThen(cmp(arith::CmpIPredicate::ult, add(tid, index(j * consumerThreads)),
                 index(rawChunks())),
             body);
  }
}

Value WgmmaEmitter::emitConsumerLoop(Value tid, Value group, Value threadInGroup) {
  MLIRContext *ctx = b.getContext();
  auto accType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(spec.blockN / 2, b.getF32Type()));
  SmallVector<Value> carried = {LLVM::ZeroOp::create(b, loc, accType)};
  if (quantized)
    carried.append(loadScales(tid, index(0)));
  auto shape = NVVM::MMAShapeAttr::get(ctx, kWgmmaM, spec.blockN, kWgmmaK);
  Value groupRowBytes = asI64(mul(group, kWgmmaM * kRowBytes));
  auto loop = scf::ForOp::create(
      b, loc, index(0), index(kTiles), index(1), carried,
      [&](OpBuilder &, Location, Value tile, ValueRange iter) {
        Value stage = remu(tile, spec.stages), round = divu(tile, spec.stages);
        SmallVector<Value> yielded = {Value()};
        Value bAddress;
        if (quantized) {
          // The next tile's scales load while this one is dequantized.
          Value next = arith::MinUIOp::create(b, loc, add(tile, index(1)), index(kTiles - 1));
          yielded.append(loadScales(tid, next));
        }
        nvgpu::MBarrierTryWaitParityOp::create(b, loc, barriers, parity(round),
                                               index(kWaitTicks), fullBarrier(stage));
        if (quantized) {
          Value slot = remu(tile, kDequantTiles);
          dequantizeStage(tid, stage, slot, SmallVector<Value>(iter.drop_front()));
          // The tensor cores read through the async proxy.
          NVVM::FenceProxyOp::create(
              b, loc, NVVM::ProxyKindAttr::get(ctx, NVVM::ProxyKind::async_shared),
              NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
          NVVM::BarrierOp::create(b, loc, Type(), i32(1), i32(consumerThreads),
                                  NVVM::BarrierReductionAttr(), Value());
          bAddress = add(sharedBase, asI64(add(alignPad, mul(slot, spec.blockN * kRowBytes))));
        } else {
          bAddress = add(sharedBase, asI64(stageTileOffset(stage, true)));
        }
        Value descA =
            matrixDescriptor(add(add(sharedBase, asI64(stageTileOffset(stage, false))),
                                 groupRowBytes));
        Value descB = matrixDescriptor(bAddress);
        Value acc = iter[0];
        NVVM::WgmmaFenceAlignedOp::create(b, loc);
        for (int64_t kk = 0; kk < kWgmmaBlockK / kWgmmaK; ++kk) {
          // K step kk starts kk * 32 bytes into every 128-byte row; the
          // hardware applies the swizzle to the computed addresses.
          Value step = i64(kk * kWgmmaK * 2 >> 4);
          acc = NVVM::WgmmaMmaAsyncOp::create(
              b, loc, accType, acc, add(descA, step), add(descB, step), shape,
              NVVM::WGMMATypes::f16, NVVM::WGMMATypes::f16, NVVM::WGMMATypes::f32,
              NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one, NVVM::WGMMAScaleIn::one,
              NVVM::MMALayout::row, NVVM::MMALayout::col, NVVM::MMAIntOverflowAttr());
        }
        NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
        NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 1);
        // Tile t - 1's group is complete: its stage may be refilled.
        Value released = arith::AndIOp::create(
            b, loc, cmp(arith::CmpIPredicate::ugt, tile, index(0)),
            cmp(arith::CmpIPredicate::eq, threadInGroup, index(0)));
        ifThen(released, [&] {
          Value previous = remu(add(tile, index(spec.stages - 1)), spec.stages);
          nvgpu::MBarrierArriveOp::create(b, loc, barriers, emptyBarrier(previous));
        });
        yielded[0] = acc;
        scf::YieldOp::create(b, loc, yielded);
      });
  NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
  return loop.getResult(0);
}

void WgmmaEmitter::storeOutputs(Value acc, Value group, Value threadInGroup) {
  // Accumulator register 4j + 2h + c of m64nNk16 is row 16 * warp + lane / 4
  // + 8h, column 8j + 2 * (lane % 4) + c of the warpgroup's 64 x N tile.
  Value warp = divu(threadInGroup, kWarpSize), lane = remu(threadInGroup, kWarpSize);
  Value rowBase = add(add(mBase, mul(group, kWgmmaM)), add(mul(warp, 16), divu(lane, 4)));
  Value pairBase = add(divu(nBase, 2), remu(lane, 4));
  auto f32Pair = VectorType::get({2}, b.getF32Type());
  auto f16Pair = VectorType::get({2}, b.getF16Type());
  int64_t columnGroups = spec.blockN / 8;
  SmallVector<Value> biasPairs;
  if (bias)
    for (int64_t j = 0; j < columnGroups; ++j) {
      Value pair = memref::LoadOp::create(b, loc, bias, ValueRange{add(pairBase, index(4 * j))});
      biasPairs.push_back(arith::ExtFOp::create(b, loc, f32Pair, pair));
    }
  bool mTail = spec.m % spec.blockM != 0;
  for (int64_t h = 0; h < 2; ++h) {
    Value row = add(rowBase, index(8 * h));
    OpBuilder::InsertionGuard guard(b);
    if (mTail) {
      auto inside = scf::IfOp::create(b, loc, TypeRange{},
                                      cmp(arith::CmpIPredicate::ult, row, index(spec.m)), false);
      b.setInsertionPointToStart(&inside.getThenRegion().front());
    }
    for (int64_t j = 0; j < columnGroups; ++j) {
      int64_t reg = 4 * j + 2 * h;
      Value lo = LLVM::ExtractValueOp::create(b, loc, acc, ArrayRef<int64_t>{reg});
      Value hi = LLVM::ExtractValueOp::create(b, loc, acc, ArrayRef<int64_t>{reg + 1});
      Value value = vector::FromElementsOp::create(b, loc, f32Pair, ValueRange{lo, hi});
      if (bias)
        value = arith::AddFOp::create(b, loc, value, biasPairs[j]);
      Value out = arith::TruncFOp::create(b, loc, f16Pair, value);
      memref::StoreOp::create(b, loc, out, y, ValueRange{row, add(pairBase, index(4 * j))});
    }
  }
}

void WgmmaEmitter::emit(gpu::GPUFuncOp func) {
  Block &entry = func.getBody().front();
  b.setInsertionPointToStart(&entry);
  unsigned arg = 0;
  // The maps arrive as plain pointers (the kernel ABI); the nvgpu TMA ops
  // take them typed, and the lowering turns them back into the pointers.
  auto typedMap = [&](Value pointer, bool isWeight) {
    return UnrealizedConversionCastOp::create(b, loc, TypeRange{tensorMapType(isWeight)},
                                              ValueRange{pointer})
        .getResult(0);
  };
  xMap = typedMap(entry.getArgument(arg++), false);
  wMap = typedMap(entry.getArgument(arg++), true);
  scales = quantized ? entry.getArgument(arg++) : Value();
  bias = spec.bias ? entry.getArgument(arg++) : Value();
  y = entry.getArgument(arg++);

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  auto [tileM, tileN] = groupedTileOrder(b, loc, (spec.m + spec.blockM - 1) / spec.blockM,
                                         spec.n / spec.blockN);
  mBase = mul(tileM, spec.blockM);
  nBase = mul(tileN, spec.blockN);

  auto workgroup = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  dynamic = gpu::DynamicSharedMemoryOp::create(
      b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                              MemRefLayoutAttrInterface(), workgroup));
  // The dynamic shared memory is only 16-byte aligned: skip to the next
  // swizzle atom (sharedBytes reserves the slack). Offsets below are from
  // the dynamic shared memory's start, sharedBase is its address.
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, dynamic);
  alignPad = remu(arith::SubIOp::create(b, loc, index(kSwizzleAtomBytes),
                                        remu(base, kSwizzleAtomBytes)),
                  kSwizzleAtomBytes);
  sharedBase = asI64(base);
  initBarriers(tid);

  auto role = scf::IfOp::create(
      b, loc, TypeRange{}, cmp(arith::CmpIPredicate::uge, tid, index(consumerThreads)), true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&role.getThenRegion().front());
    ifThen(cmp(arith::CmpIPredicate::eq, tid, index(consumerThreads)), [&] { emitProducer(); });
    b.setInsertionPointToStart(&role.getElseRegion().front());
    Value group = divu(tid, kWarpGroup), threadInGroup = remu(tid, kWarpGroup);
    storeOutputs(emitConsumerLoop(tid, group, threadInGroup), group, threadInGroup);
  }
  gpu::ReturnOp::create(b, loc);
}

} // namespace

gpu::GPUFuncOp buildWgmmaGemmKernel(OpBuilder &builder, gpu::GPUModuleOp module,
                                    const WgmmaGemmSpec &spec) {
  MLIRContext *ctx = builder.getContext();
  Location loc = module.getLoc();
  auto f16Pair = VectorType::get({2}, builder.getF16Type());
  auto pointer = LLVM::LLVMPointerType::get(ctx);
  SmallVector<Type> args = {pointer, pointer};
  if (isQuantized(spec))
    args.push_back(MemRefType::get({spec.n, spec.k / spec.groupSize}, builder.getF16Type()));
  if (spec.bias)
    args.push_back(MemRefType::get({spec.n / 2}, f16Pair));
  args.push_back(MemRefType::get({spec.m, spec.n / 2}, f16Pair));

  OpBuilder::InsertionGuard guard(builder);
  auto func = createGemmKernelFunc(builder, module, wgmmaGemmKernelName(spec), args,
                                   wgmmaGemmLaunchShape(spec).blockX, /*firstNoAlias=*/2);
  WgmmaEmitter(builder, loc, spec).emit(func);
  return func;
}

} // namespace kiln::kernels

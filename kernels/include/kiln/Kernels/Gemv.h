//===- Gemv.h - weight-only quantized GEMV kernel generator ---------------===//
//
// Builds one gpu.func that computes y[M, N] = x[M, K] · dequant(W)[N, K]ᵀ for
// small M (decode batches, M <= 16). Weights stream from global memory in
// 16-byte vector loads, several in flight per lane, and are dequantized in
// registers (never written back); each warp owns a few output rows and
// finishes with a shuffle reduction.
//
// Memory layouts (all row-major, static shapes):
//   x      [M, K/8]  of vector<8xf16>   activations
//   w      [N, C]    of 16-byte chunks   C = K / elementsPerChunk
//            f16:  vector<8xf16>   (8 weights per chunk)
//            int8: vector<4xi32>   (16 si8 codes, byte i = code i)
//            int4: vector<4xi32>   (32 si4 codes, little-endian, low nibble
//                                   first: the kiln.weight packing)
//   scales [N, K/groupSize] f16     (int8/int4 only; symmetric, no zero point)
//   y      [M, N]    f16
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_GEMV_H
#define KILN_KERNELS_GEMV_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>

namespace kiln::kernels {

enum class WeightFormat { F16, Int8, Int4 };

std::optional<WeightFormat> parseWeightFormat(llvm::StringRef name);
llvm::StringRef weightFormatName(WeightFormat format);
/// Bits of one stored weight.
unsigned weightBits(WeightFormat format);

/// Simt: a warp per few output rows, FMA in f16x2/f32 and a shuffle
/// reduction. MmaSync: tensor cores (mma.sync m16n8k16, f32 accumulation); a
/// warp per 8-row tiles, the batch padded to 16 rows in registers, K split
/// over the lanes of a quad so no reduction is needed.
enum class GemvMethod { Simt, MmaSync };

struct GemvSpec {
  GemvMethod method = GemvMethod::Simt;
  WeightFormat format = WeightFormat::Int4;
  int64_t m = 1, n = 0, k = 0;
  /// Weights per scale along K (int8/int4); 0 means one scale per row.
  int64_t groupSize = 128;
  /// Output rows per warp (a multiple of 8 for MmaSync); 0 picks one.
  int64_t rowsPerWarp = 0;
  int64_t warpsPerBlock = 4;
  /// 16-byte weight chunks each lane loads per row before using any; 0 picks.
  /// (MmaSync: K blocks of 4 chunks, one chunk per lane of a quad.)
  int64_t chunksInFlight = 0;
  /// Groups of this many warps of a block share their rows and split K into
  /// contiguous shares (partial sums meet in shared memory behind one
  /// barrier, so N must be a multiple of the rows per block; SIMT: must also
  /// divide the chunks of a row). 1: a warp owns its rows and all of K.
  int64_t kSplit = 1;
  /// Simt only: launch this many blocks that loop over row groups, loading
  /// the next group while computing the current one; 0: a block per group.
  int64_t persistentBlocks = 0;
  /// Simt only, sm_90+ (griddepcontrol): programmatic dependent launch. The
  /// kernel lets the next grid of its stream launch at once and issues its
  /// weight and scale loads (constants) before waiting for the previous
  /// grid; activations are read and outputs written only after the wait.
  /// Takes effect when launched with the programmatic stream serialization
  /// attribute (cuLaunchKernelEx); otherwise the two instructions are no-ops.
  bool dependentLaunch = false;
};

/// Checks the shapes (divisibility, limits, overflow) and fills the defaults.
llvm::Expected<GemvSpec> resolveGemvSpec(GemvSpec spec);

/// Weights held by one 16-byte chunk.
int64_t elementsPerChunk(WeightFormat format);

/// A stable kernel symbol naming the shape and tiling, such as
/// gemv_int4_g128_m1_n4096_k4096_r4u4w4.
std::string gemvKernelName(const GemvSpec &spec);

struct LaunchShape {
  int64_t gridX = 0;
  int64_t blockX = 0;
};
/// Grid and block for a resolved spec.
LaunchShape gemvLaunchShape(const GemvSpec &spec);

/// Appends the kernel for a resolved spec to `module`.
mlir::gpu::GPUFuncOp buildGemvKernel(mlir::OpBuilder &builder,
                                     mlir::gpu::GPUModuleOp module,
                                     const GemvSpec &spec);

} // namespace kiln::kernels

#endif // KILN_KERNELS_GEMV_H

//===- Attention.h - flash-style fused attention generator ----------------===//
//
// Builds one gpu.func that computes, for every (batch b, head h):
//   O[b, h] = softmax(scale · Q[b, h] · K[b, h]ᵀ + mask [+ causal]) · V[b, h]
// in the style of FlashAttention-2 on SIMT cores: one block per (b·h, tile
// of query rows), one warp per few query rows; the block walks the keys in
// tiles of 32 staged in shared memory, keeps a running row max and sum (f32)
// and rescales its output accumulators (registers) per tile, and writes O
// once. The score tile only ever lives in registers (one key per lane).
// Loads widen to f32; all arithmetic is f32.
//
// f16 attention with head dims of 16, 32, 64 or 128 and 16-byte aligned rows
// runs on tensor cores instead (AttentionMethod::TensorCore, FlashAttention-2
// style): each warp owns 16 query rows, S = Q·Kᵀ and O += P·V are mma.sync
// m16n8k16 (f16 in, f32 accumulators), P is rounded to f16 in registers,
// the softmax is f32, and K/V tiles of 64 keys are double-buffered in shared
// memory by cp.async and read with ldmatrix. Same ABI and semantics.
//
// Kernel ABI (bare device pointers, in this order):
//   q    qElements of the element type; Q[b, h, i, d] at qOffset +
//        b·qStrides[0] + h·qStrides[1] + i·qStrides[2] + d·qStrides[3]
//   k    likewise with kStrides ([b, h / kvGroup, key, d])
//   v    likewise with vStrides ([b, h / kvGroup, key, e])
//   mask f32 [maskGroups, maskRows, keys], only when spec.mask: the additive
//        mask of (b, h) is group ((b·heads + h) / maskDivisor) % maskGroups,
//        row i (or row 0 when maskRows = 1)
//   o    [batch, heads, queries, valueDim] of the element type, contiguous,
//        written completely; nothing else is written
// Launch: grid (gridX, 1, 1), block (blockX, 1, 1), dynamicSharedBytes of
// dynamic shared memory (above 48 KiB the loader must raise the limit).
// The tensor-core kernel copies rows 16 bytes at a time: its q, k and v
// buffers must be 16-byte aligned (cudaMalloc and kilnc's arena align to
// 256).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_KERNELS_ATTENTION_H
#define KILN_KERNELS_ATTENTION_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <string>

namespace kiln::kernels {

enum class AttentionElement { F32, F16 };

/// Auto picks TensorCore where attentionTensorCoreRefusal allows it, else
/// Simt; an explicit TensorCore the kernel cannot compute is an error.
enum class AttentionMethod { Auto, Simt, TensorCore };

struct AttentionSpec {
  AttentionElement element = AttentionElement::F32;
  int64_t batch = 0, heads = 0, queries = 0, keys = 0, headDim = 0, valueDim = 0;
  /// Multiplies Q·Kᵀ before the mask is added.
  float scale = 1.0f;
  /// Keys after the query's own position are excluded (key j > query i;
  /// top-left aligned, as torch's is_causal).
  bool causal = false;
  /// An additive f32 mask, broadcast as described above.
  bool mask = false;
  int64_t maskGroups = 1, maskDivisor = 1, maskRows = 1;
  /// Element strides of [batch, head, row, column]; all zero means
  /// contiguous [batch, heads, rows, columns].
  std::array<int64_t, 4> qStrides{}, kStrides{}, vStrides{};
  /// Query heads per K/V head (grouped-query attention): K and V are read
  /// at head h / kvGroup.
  int64_t kvGroup = 1;
  /// Element offset of [0, 0, 0, 0] in each operand, and the elements its
  /// buffer holds (0: exactly what the offset and strides reach).
  int64_t qOffset = 0, kOffset = 0, vOffset = 0;
  int64_t qElements = 0, kElements = 0, vElements = 0;
  /// Warps per block and query rows per warp; 0 picks the default (4 x 4;
  /// the tensor-core kernel: 4 x 16, rows per warp always 16).
  int64_t warps = 0, rowsPerWarp = 0;
  AttentionMethod method = AttentionMethod::Auto;
};

/// Checks the shapes (positive, head dims <= 256, the mask broadcast, every
/// operand below 2^31 elements, shared memory) and fills the defaults
/// (contiguous strides, tiling).
llvm::Expected<AttentionSpec> resolveAttentionSpec(AttentionSpec spec);

/// Why the tensor-core kernel cannot compute `spec` (strides resolved), or
/// an empty string when it can: it needs f16, head dims of 16, 32, 64 or 128,
/// contiguous rows (column stride 1) and 16-byte aligned rows and offsets.
std::string attentionTensorCoreRefusal(const AttentionSpec &spec);

/// A stable kernel symbol naming the shape, layout and options, such as
/// attention_f32_b1h4_q16k16_d16v16_s3e800000_mask1x16d4_w4r4 (tensor cores:
/// ..._tc_w4).
std::string attentionKernelName(const AttentionSpec &spec);

/// Elements of each operand's buffer (q, k, v: at least the largest offset
/// + 1).
struct AttentionExtents {
  int64_t q = 0, k = 0, v = 0, mask = 0, o = 0;
};
AttentionExtents attentionExtents(const AttentionSpec &spec);

struct AttentionLaunchShape {
  int64_t gridX = 0; // batch · heads · query tiles
  int64_t blockX = 0;
  int64_t dynamicSharedBytes = 0;
};
AttentionLaunchShape attentionLaunchShape(const AttentionSpec &spec);

/// Appends the kernel for a resolved spec to `module`. Its parameters are
/// 1-D memrefs of the extents above.
mlir::gpu::GPUFuncOp buildAttentionKernel(mlir::OpBuilder &builder, mlir::gpu::GPUModuleOp module,
                                          const AttentionSpec &spec);

} // namespace kiln::kernels

#endif // KILN_KERNELS_ATTENTION_H

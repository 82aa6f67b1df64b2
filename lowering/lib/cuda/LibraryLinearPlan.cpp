//===- LibraryLinearPlan.cpp - which kiln.linear a library kernel can run ===//
#include "LibraryLinearPlan.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/Semantics.h"
#include "kiln/Kernels/F32Gemv.h"
#include "kiln/Kernels/Gemm.h"
#include "kiln/Kernels/SimtGemm.h"
#include "kiln/Kernels/WgmmaGemm.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;

namespace kiln::cuda_library {
namespace {

using kernels::GemvMethod;
using kernels::GemvSpec;
using kernels::WeightFormat;

constexpr float kF16Max = 65504.0f;
constexpr float kF16MinNormal = 6.103515625e-05f;

llvm::Error reason(const llvm::Twine &text) { return llvm::createStringError(text); }

bool isF16OrF32(Type type) { return type.isF16() || type.isF32(); }

/// M: the product of the input's leading dimensions.
llvm::Expected<int64_t> batchRows(RankedTensorType input) {
  ArrayRef<int64_t> leading = input.getShape().drop_back();
  std::optional<int64_t> rows = codec::checkedProduct(leading.data(), leading.size());
  if (!rows)
    return reason("the batch size overflows");
  return *rows;
}

/// The weight encoding the kernel reads, from a kiln.weight.
struct Encoding {
  WeightFormat format = WeightFormat::Int8;
  int64_t groupSize = 0; // 0: one scale per output row
  int64_t scaleCount = 0;
  bool perTensor = false;
};

llvm::Expected<Encoding> matchEncoding(kiln::WeightOp weight, int64_t n, int64_t k) {
  kiln::CompressedType type = weight.getType();
  if (type.getSparsity())
    return reason("sparse weight");
  if (type.getLowRank())
    return reason("low-rank weight");
  kiln::QuantEncodingAttr quant = type.getQuant();
  if (!quant)
    return reason("compressed weight without quantization");
  if (quant.getScheme() != kiln::QuantScheme::Linear || quant.isFloatStorage())
    return reason("non-linear or fp8 codes");
  if (weight.getZeroPointsAttr() || !quant.getSymmetric())
    return reason("zero points (the kernel is symmetric only)");
  if (!quant.isSignedStorage())
    return reason("unsigned codes");
  Encoding encoding;
  if (quant.getBits() == 8)
    encoding.format = WeightFormat::Int8;
  else if (quant.getBits() == 4)
    encoding.format = WeightFormat::Int4;
  else
    return reason(llvm::Twine(quant.getBits()) + "-bit codes (the kernel reads 4 and 8)");
  switch (quant.getGranularity()) {
  case kiln::QuantGranularity::PerTensor:
    encoding.perTensor = true;
    encoding.scaleCount = 1;
    break;
  case kiln::QuantGranularity::PerChannel:
    if (quant.getAxis() != 0)
      return reason("per-channel scales along K");
    encoding.scaleCount = n;
    break;
  case kiln::QuantGranularity::PerGroup:
    if (quant.getAxis() != 1 || quant.getGroupSize() <= 0 || k % quant.getGroupSize() != 0)
      return reason("groups that are not along K");
    encoding.groupSize = quant.getGroupSize();
    encoding.scaleCount = n * (k / encoding.groupSize);
    break;
  }
  return encoding;
}

llvm::Error checkF16Range(ArrayRef<float> values, llvm::StringRef what, bool allowSubnormal) {
  for (float value : values) {
    float magnitude = std::fabs(value);
    if (!std::isfinite(value) || magnitude > kF16Max ||
        (!allowSubnormal && magnitude != 0 && magnitude < kF16MinNormal))
      return reason(what + " outside the f16 range (" + std::to_string(value) + ")");
  }
  return llvm::Error::success();
}

/// Fills the format, group size and arrays from a kiln.weight.
llvm::Error readQuantizedWeight(kiln::WeightOp weight, LibraryLinear &plan) {
  auto encoding = matchEncoding(weight, plan.spec.n, plan.spec.k);
  if (!encoding)
    return encoding.takeError();
  plan.spec.format = encoding->format;
  plan.spec.groupSize = encoding->groupSize;
  if (!weight.getScales())
    return reason("no scales");
  FailureOr<std::vector<float>> scales = getElementsAsFloats(*weight.getScales());
  if (failed(scales) || int64_t(scales->size()) != encoding->scaleCount)
    return reason("unreadable scales");
  llvm::Error range = checkF16Range(*scales, "scales", /*allowSubnormal=*/false);
  if (range)
    return range;
  plan.scales = encoding->perTensor ? std::vector<float>(plan.spec.n, scales->front())
                                    : std::move(*scales);
  FailureOr<std::vector<uint8_t>> payload = getElementBytes(weight.getPayload());
  int64_t expected = plan.spec.n * (plan.spec.k * kernels::weightBits(encoding->format) / 8);
  if (failed(payload) || int64_t(payload->size()) != expected)
    return reason("payload size does not match the weight shape");
  plan.weightBytes = std::move(*payload);
  return llvm::Error::success();
}

/// Fills the f16 weight bytes from a dense constant.
llvm::Error readDenseWeight(Value weight, const LibraryLinearOptions &options,
                            LibraryLinear &plan) {
  ElementsAttr values;
  if (!matchPattern(weight, m_Constant(&values)))
    return reason("weight is not a constant");
  auto type = cast<RankedTensorType>(values.getType());
  if (type.getElementType().isF32() && !options.f32Weights)
    return reason("f32 weights with f16 activations (f32-weights=true rounds them to f16)");
  if (!isF16OrF32(type.getElementType()))
    return reason("dense weights of a type other than f16 or f32");
  plan.spec.format = WeightFormat::F16;
  plan.spec.groupSize = 0;
  if (type.getElementType().isF16()) {
    FailureOr<std::vector<uint8_t>> bytes = getElementBytes(values);
    if (failed(bytes))
      return reason("unreadable weight");
    plan.weightBytes = std::move(*bytes);
    return llvm::Error::success();
  }
  FailureOr<std::vector<float>> floats = getElementsAsFloats(values);
  if (failed(floats))
    return reason("unreadable weight");
  llvm::Error range = checkF16Range(*floats, "weights", /*allowSubnormal=*/true);
  if (range)
    return range;
  auto halfType = RankedTensorType::get(type.getShape(), Float16Type::get(type.getContext()));
  FailureOr<std::vector<uint8_t>> bytes = getElementBytes(buildDenseFloats(halfType, *floats));
  if (failed(bytes))
    return reason("unreadable weight");
  plan.weightBytes = std::move(*bytes);
  plan.roundedF32 = true;
  return llvm::Error::success();
}

LibraryKernel gemvKernel(const GemvSpec &spec) {
  LibraryKernel kernel;
  kernel.name = kernels::gemvKernelName(spec);
  kernel.build = [spec](OpBuilder &b, gpu::GPUModuleOp module) {
    return kernels::buildGemvKernel(b, module, spec);
  };
  kernels::LaunchShape launch = kernels::gemvLaunchShape(spec);
  kernel.gridX = launch.gridX;
  kernel.blockX = launch.blockX;
  return kernel;
}

LibraryKernel gemmKernel(const kernels::GemmSpec &spec) {
  LibraryKernel kernel;
  kernel.name = kernels::gemmKernelName(spec);
  kernel.build = [spec](OpBuilder &b, gpu::GPUModuleOp module) {
    return kernels::buildGemmKernel(b, module, spec);
  };
  kernels::GemmLaunchShape launch = kernels::gemmLaunchShape(spec);
  kernel.gridX = launch.gridX;
  kernel.gridY = launch.gridY;
  kernel.blockX = launch.blockX;
  kernel.dynamicSharedBytes = launch.dynamicSharedBytes;
  return kernel;
}

/// The generator's message without its "... spec: " prefix.
std::string withoutPrefix(llvm::Error error) {
  std::string message = llvm::toString(std::move(error));
  size_t colon = message.find(": ");
  return colon == std::string::npos ? message : message.substr(colon + 2);
}

/// The tensor-core GEMM (kernels/Gemm.h) with its default tiling, for M
/// above the GEMV range; the bias stays in the epilogue.
llvm::Expected<LibraryKernel> chooseGemm(const GemvSpec &shape) {
  kernels::GemmSpec gemm;
  gemm.format = shape.format;
  gemm.m = shape.m;
  gemm.n = shape.n;
  gemm.k = shape.k;
  gemm.groupSize = shape.groupSize;
  llvm::Expected<kernels::GemmSpec> resolved = kernels::resolveGemmSpec(gemm);
  if (!resolved)
    return reason("M = " + llvm::Twine(shape.m) + " needs the GEMM kernel, which refuses: " +
                  withoutPrefix(resolved.takeError()));
  return gemmKernel(*resolved);
}

/// How many warps of a block split K for an M <= 2 SIMT GEMV (1: none),
/// from the H100 measurements of bench/NOTES.md (session 4) against the
/// unsplit default (r2u8w4) at 4096x4096, 11008x4096, 4096x11008 and
/// 8192x8192: f16 is 4-16% faster with 8 splits at every shape; int4 3-8%
/// with 2 splits up to 4096x11008 (1% slower at 8192x8192); int8 14% with
/// 4 splits at 8192x8192 only (0-7% slower below).
int64_t simtKSplit(const GemvSpec &shape) {
  constexpr int64_t kMidWeights = int64_t{4096} * 11008;
  std::optional<int64_t> weights = codec::checkedMul(shape.n, shape.k);
  if (shape.m > 2 || !weights)
    return 1;
  switch (shape.format) {
  case kernels::WeightFormat::F16:
    return 8;
  case kernels::WeightFormat::Int8:
    return *weights > kMidWeights ? 4 : 1;
  case kernels::WeightFormat::Int4:
    return *weights <= kMidWeights ? 2 : 1;
  }
  return 1;
}

/// Blocks that fill an H100 (132 SMs) to about 90%: fewer leave SMs idle
/// for the whole GEMM.
constexpr int64_t kFullWaveBlocks = 119;

int64_t wgmmaBlocks(const kernels::WgmmaGemmSpec &spec) {
  kernels::WgmmaLaunchShape launch = kernels::wgmmaGemmLaunchShape(spec);
  return launch.gridX * launch.gridY;
}

/// The wgmma tiling for this shape: the generator's default (measured best
/// for M <= 256 and for large square-ish shapes, bench/NOTES.md g3/g4),
/// unless for M > 256 its 128x256 tiles make fewer blocks than fill the GPU
/// (N <= 1024 at M = 2048): then the first of 128x128, 64x128, 64x64 that
/// does, else the one with the most blocks. Nothing when the generator
/// refuses the shape.
std::optional<kernels::WgmmaGemmSpec> chooseWgmmaSpec(const kernels::WgmmaGemmSpec &shape) {
  constexpr int64_t kLargeM = 256; // above: the generator defaults to 128x256 tiles
  std::optional<kernels::WgmmaGemmSpec> best;
  for (auto [blockM, blockN] : {std::pair<int64_t, int64_t>{0, 0}, {128, 128}, {64, 128},
                                {64, 64}}) {
    kernels::WgmmaGemmSpec candidate = shape;
    candidate.blockM = blockM;
    candidate.blockN = blockN;
    llvm::Expected<kernels::WgmmaGemmSpec> resolved = kernels::resolveWgmmaGemmSpec(candidate);
    if (!resolved) {
      llvm::consumeError(resolved.takeError());
      continue;
    }
    bool isDefault = blockM == 0;
    if ((isDefault && shape.m <= kLargeM) || wgmmaBlocks(*resolved) >= kFullWaveBlocks)
      return *resolved;
    if (!best || wgmmaBlocks(*resolved) > wgmmaBlocks(*best))
      best = *resolved;
  }
  return best;
}

/// The TMA + wgmma GEMM as the sm_90a alternative of the mma.sync one, or
/// nothing when the generator refuses the shape (the mma.sync GEMM then
/// runs everywhere); the bias stays in the epilogue.
void addWgmmaAlternative(LibraryLinear &plan) {
  kernels::WgmmaGemmSpec wanted;
  wanted.format = plan.spec.format;
  wanted.m = plan.spec.m;
  wanted.n = plan.spec.n;
  wanted.k = plan.spec.k;
  wanted.groupSize = plan.spec.groupSize;
  std::optional<kernels::WgmmaGemmSpec> chosen = chooseWgmmaSpec(wanted);
  if (!chosen)
    return;
  kernels::WgmmaGemmSpec spec = *chosen;
  plan.wgmma = spec;
  plan.wgmmaKernel.name = kernels::wgmmaGemmKernelName(spec);
  plan.wgmmaKernel.build = [spec](OpBuilder &b, gpu::GPUModuleOp module) {
    return kernels::buildWgmmaGemmKernel(b, module, spec);
  };
  kernels::WgmmaLaunchShape launch = kernels::wgmmaGemmLaunchShape(spec);
  plan.wgmmaKernel.gridX = launch.gridX;
  plan.wgmmaKernel.gridY = launch.gridY;
  plan.wgmmaKernel.blockX = launch.blockX;
  plan.wgmmaKernel.dynamicSharedBytes = launch.dynamicSharedBytes;
}

/// The fastest tiling that the generator accepts: for M >= 8 the
/// tensor-core GEMV (K split over the 8 warps of a block, then without the
/// split; faster than SIMT there, bench/NOTES.md v5); for M <= 2 SIMT with
/// K split over the warps of an 8-warp block where simtKSplit says so; else
/// or when the generator refuses those, SIMT with its defaults.
llvm::Expected<GemvSpec> chooseGemvSpec(const GemvSpec &shape) {
  SmallVector<GemvSpec> candidates;
  if (int64_t split = simtKSplit(shape); split > 1) {
    GemvSpec candidate = shape;
    candidate.warpsPerBlock = 8;
    candidate.kSplit = split;
    candidates.push_back(candidate);
  }
  if (shape.m >= 8) {
    GemvSpec split = shape;
    split.method = GemvMethod::MmaSync;
    split.warpsPerBlock = 8;
    split.kSplit = 8;
    candidates.push_back(split);
    GemvSpec mma = shape;
    mma.method = GemvMethod::MmaSync;
    candidates.push_back(mma);
  }
  candidates.push_back(shape); // SIMT with the generator's defaults
  std::string lastError;
  for (const GemvSpec &candidate : candidates) {
    llvm::Expected<GemvSpec> resolved = kernels::resolveGemvSpec(candidate);
    if (resolved)
      return resolved;
    lastError = withoutPrefix(resolved.takeError());
  }
  return reason(lastError);
}

/// The exact f32 kernel for an [M, K] x [N, K]ᵀ product: the warp-per-column
/// GEMV for decode batches (M <= 8, K % 4 == 0), else the register-tiled GEMM.
llvm::Expected<LibraryKernel> exactF32Kernel(int64_t m, int64_t n, int64_t k) {
  LibraryKernel kernel;
  if (m <= kernels::kF32GemvMaxM && k % 4 == 0) {
    kernels::F32GemvSpec gemv;
    gemv.m = m, gemv.n = n, gemv.k = k;
    llvm::Expected<kernels::F32GemvSpec> resolved = kernels::resolveF32GemvSpec(gemv);
    if (!resolved)
      return reason("the f32 GEMV refuses: " + withoutPrefix(resolved.takeError()));
    kernel.name = kernels::f32GemvKernelName(*resolved);
    kernel.build = [spec = *resolved](OpBuilder &b, gpu::GPUModuleOp module) {
      return kernels::buildF32GemvKernel(b, module, spec);
    };
    kernels::F32GemvLaunchShape launch = kernels::f32GemvLaunchShape(*resolved);
    kernel.gridX = launch.gridX;
    kernel.blockX = launch.blockX;
    return kernel;
  }
  kernels::SimtGemmSpec gemm;
  gemm.m = m, gemm.n = n, gemm.k = k;
  llvm::Expected<kernels::SimtGemmSpec> resolved = kernels::resolveSimtGemmSpec(gemm);
  if (!resolved)
    return reason("the f32 GEMM refuses: " + withoutPrefix(resolved.takeError()));
  kernel.name = kernels::simtGemmKernelName(*resolved);
  kernel.build = [spec = *resolved](OpBuilder &b, gpu::GPUModuleOp module) {
    return kernels::buildSimtGemmKernel(b, module, spec);
  };
  kernels::SimtGemmLaunchShape launch = kernels::simtGemmLaunchShape(*resolved);
  kernel.gridX = launch.gridX;
  kernel.gridY = launch.gridY;
  kernel.blockX = launch.blockX;
  kernel.dynamicSharedBytes = launch.dynamicSharedBytes;
  return kernel;
}

/// A dense f32 constant weight that is to stay f32, with f32 activations:
/// whether the exact SIMT GEMM applies (std::nullopt: not such a weight).
std::optional<llvm::Error> planExactF32(kiln::LinearOp linear,
                                        const LibraryLinearOptions &options,
                                        LibraryLinear &plan) {
  ElementsAttr values;
  if (options.f32Weights || !matchPattern(linear.getWeight(), m_Constant(&values)) ||
      !cast<ShapedType>(values.getType()).getElementType().isF32())
    return std::nullopt;
  if (!cast<ShapedType>(linear.getInput().getType()).getElementType().isF32() ||
      !cast<ShapedType>(linear.getType()).getElementType().isF32())
    return std::nullopt; // f16 activations: the f16 kernels' reason applies
  if (!options.f32Gemm)
    return reason("f32 weights (f32-gemm=false)");
  FailureOr<std::vector<uint8_t>> bytes = getElementBytes(values);
  if (failed(bytes) || int64_t(bytes->size()) != plan.spec.n * plan.spec.k * 4)
    return reason("unreadable weight");
  llvm::Expected<LibraryKernel> kernel = exactF32Kernel(plan.m, plan.spec.n, plan.spec.k);
  if (!kernel)
    return kernel.takeError();
  plan.kernel = std::move(*kernel);
  plan.weightBytes = std::move(*bytes);
  plan.exactF32 = true;
  return llvm::Error::success();
}

} // namespace

llvm::Expected<LibraryLinear> planLibraryLinear(kiln::LinearOp linear,
                                                const LibraryLinearOptions &options) {
  auto input = cast<RankedTensorType>(linear.getInput().getType());
  auto result = cast<RankedTensorType>(linear.getType());
  auto weightType = cast<ShapedType>(linear.getWeight().getType());
  if (!input.hasStaticShape() || !result.hasStaticShape() || !weightType.hasStaticShape())
    return reason("dynamic shapes");
  if (!isF16OrF32(input.getElementType()) || !isF16OrF32(result.getElementType()))
    return reason("activations of a type other than f16 or f32");
  if (Value bias = linear.getBias();
      bias && !isF16OrF32(cast<RankedTensorType>(bias.getType()).getElementType()))
    return reason("a bias of a type other than f16 or f32");
  LibraryLinear plan;
  auto rows = batchRows(input);
  if (!rows)
    return rows.takeError();
  plan.m = *rows;
  plan.spec.m = plan.m;
  plan.spec.n = weightType.getShape()[0];
  plan.spec.k = weightType.getShape()[1];
  if (std::optional<llvm::Error> exact = planExactF32(linear, options, plan)) {
    if (*exact)
      return std::move(*exact);
    return plan;
  }
  if (plan.m > options.maxM && !options.gemm)
    return reason("M = " + llvm::Twine(plan.m) + " > " + llvm::Twine(options.maxM) +
                  " (the GEMM kernel is switched off)");
  if (auto weight = linear.getWeight().getDefiningOp<kiln::WeightOp>()) {
    if (llvm::Error error = readQuantizedWeight(weight, plan))
      return std::move(error);
  } else if (isa<kiln::CompressedType>(linear.getWeight().getType())) {
    return reason("a compressed weight that is not a kiln.weight");
  } else if (llvm::Error error = readDenseWeight(linear.getWeight(), options, plan)) {
    return std::move(error);
  }
  if (plan.m > options.maxM) {
    auto kernel = chooseGemm(plan.spec);
    if (!kernel)
      return kernel.takeError();
    plan.kernel = std::move(*kernel);
    if (options.sm90aWgmma && plan.m >= options.wgmmaMinM)
      addWgmmaAlternative(plan);
    return plan;
  }
  auto spec = chooseGemvSpec(plan.spec);
  if (!spec)
    return spec.takeError();
  plan.spec = *spec;
  plan.kernel = gemvKernel(*spec);
  return plan;
}

} // namespace kiln::cuda_library

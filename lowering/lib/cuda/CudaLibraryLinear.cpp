//===- CudaLibraryLinear.cpp - small-batch kiln.linear on library kernels ===//
//
// Replaces a kiln.linear that a generated GEMV kernel of kernels/ can run by
// a gpu.launch_func of that kernel, on tensors around it: the activations go
// in through bufferization.materialize_in_destination into a buffer the
// kernel reads as 16-byte vectors, the f16 result comes out through
// bufferization.to_tensor. The kernels join the model's other kernels in one
// gpu.module (kiln-cuda-merge-gpu-modules), so the target compiles a single
// module image; packed weights and f16 scales are memref.globals, which the
// launch plan stores in the .so and copies into the arena once.
//
//===----------------------------------------------------------------------===//
#include "LibraryKernelModule.h"
#include "LibraryLinearPlan.h"
#include "ReasonList.h"
#include "kiln/Lowering/CudaLibraryPasses.h"
#include "kiln/Lowering/LayerName.h"
#include "kiln/Lowering/WeightBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/MapVector.h"

namespace kiln {
#define GEN_PASS_DEF_CUDALIBRARYLINEAR
#include "kiln/Lowering/CudaLibraryPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

using cuda_library::LibraryLinear;

/// Arrays below this many bytes print inline (readable lit tests).
constexpr int64_t kInlineArrayBytes = 64;

/// Between [..., C] and [M, C]: leading dimensions collapsed into rows or
/// expanded back (rank 1 counts as one row).
Value reshapeRows(OpBuilder &b, Location loc, Value value, RankedTensorType to) {
  auto from = cast<RankedTensorType>(value.getType());
  int64_t high = std::max(from.getRank(), to.getRank());
  int64_t low = std::min(from.getRank(), to.getRank());
  if (high == low)
    return value;
  SmallVector<ReassociationIndices> groups;
  if (low == 1) {
    groups.push_back(llvm::to_vector(llvm::seq<int64_t>(0, high)));
  } else {
    groups.push_back(llvm::to_vector(llvm::seq<int64_t>(0, high - 1)));
    groups.push_back({high - 1});
  }
  if (from.getRank() > to.getRank())
    return tensor::CollapseShapeOp::create(b, loc, to, value, groups);
  return tensor::ExpandShapeOp::create(b, loc, to, value, groups);
}

Value convertFloat(OpBuilder &b, Location loc, Value value, Type to) {
  unsigned from = value.getType().getIntOrFloatBitWidth(), width = to.getIntOrFloatBitWidth();
  if (from == width)
    return value;
  if (from < width)
    return arith::ExtFOp::create(b, loc, to, value);
  return arith::TruncFOp::create(b, loc, to, value);
}

/// An elementwise linalg.generic over [M, N]: `body` gets the element of each
/// input and returns the output element.
Value elementwise(OpBuilder &b, Location loc, ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                  RankedTensorType outType,
                  function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  Value init = tensor::EmptyOp::create(b, loc, outType.getShape(), outType.getElementType());
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(2));
  SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc, body(nested, nestedLoc, args.drop_back()));
      });
  return generic.getResult(0);
}

/// A buffer of `bytes` viewed as each of `types` (all at offset 0).
SmallVector<Value> viewsOfNewBuffer(OpBuilder &b, Location loc, int64_t bytes,
                                    ArrayRef<MemRefType> types) {
  Value buffer = memref::AllocOp::create(b, loc, MemRefType::get({bytes}, b.getI8Type()));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  SmallVector<Value> views;
  for (MemRefType type : types)
    views.push_back(memref::ViewOp::create(b, loc, type, buffer, zero, ValueRange{}));
  return views;
}

class LinearRewriter {
public:
  LinearRewriter(ModuleOp module, gpu::GPUModuleOp kernels)
      : module(module), kernels(kernels), moduleSymbols(module), kernelSymbols(kernels) {}

  void rewrite(kiln::LinearOp linear, const LibraryLinear &plan);

private:
  /// The sm_90a-only launch of the plan's wgmma kernel on the buffers of the
  /// mma.sync launch `generic`: x [M, K] f16, the weight bytes, then its
  /// scales and y operands.
  void launchWgmma(OpBuilder &b, Location loc, const LibraryLinear &plan, Value xHalf,
                   Value weightBytes, gpu::LaunchFuncOp generic);
  gpu::GPUFuncOp kernelFor(const cuda_library::LibraryKernel &kernel);
  /// A private constant memref.global of `init` (its type's shape and element).
  Value constantGlobal(OpBuilder &b, Location loc, ElementsAttr init, llvm::StringRef name);

  ModuleOp module;
  gpu::GPUModuleOp kernels;
  SymbolTable moduleSymbols, kernelSymbols;
};

gpu::GPUFuncOp LinearRewriter::kernelFor(const cuda_library::LibraryKernel &kernel) {
  if (auto existing = kernelSymbols.lookup<gpu::GPUFuncOp>(kernel.name))
    return existing;
  OpBuilder b(module.getContext());
  gpu::GPUFuncOp built = kernel.build(b, kernels);
  kernelSymbols.insert(built); // the table caches names: keep it current
  return built;
}

Value LinearRewriter::constantGlobal(OpBuilder &b, Location loc, ElementsAttr init,
                                     llvm::StringRef name) {
  auto tensorType = cast<RankedTensorType>(init.getType());
  auto type = MemRefType::get(tensorType.getShape(), tensorType.getElementType());
  OpBuilder atEnd = OpBuilder::atBlockEnd(module.getBody());
  auto global = memref::GlobalOp::create(atEnd, loc, name, atEnd.getStringAttr("private"), type,
                                         init, /*constant=*/true, atEnd.getI64IntegerAttr(16));
  moduleSymbols.insert(global); // renames on a clash
  return memref::GetGlobalOp::create(b, loc, type, global.getSymName());
}

/// The input as [M, K] of `element` (f16, or f32 for the exact f32 kernels)
/// in a new buffer: its [M, K] view of `element` and its view as the
/// kernel's x parameter `xParam`.
std::pair<Value, Value> stageActivations(OpBuilder &b, Location loc, Value input,
                                         const kernels::GemvSpec &spec, Type element,
                                         MemRefType xParam) {
  auto inputType = cast<RankedTensorType>(input.getType());
  Value x = reshapeRows(b, loc, input,
                        RankedTensorType::get({spec.m, spec.k}, inputType.getElementType()));
  if (inputType.getElementType() != element)
    x = elementwise(b, loc, x, b.getMultiDimIdentityMap(2),
                    RankedTensorType::get({spec.m, spec.k}, element),
                    [&](OpBuilder &nb, Location nl, ValueRange args) {
                      return convertFloat(nb, nl, args[0], element);
                    });
  auto typed = MemRefType::get({spec.m, spec.k}, element);
  int64_t bytes = spec.m * spec.k * (element.getIntOrFloatBitWidth() / 8);
  SmallVector<Value> views = viewsOfNewBuffer(b, loc, bytes, {typed, xParam});
  bufferization::MaterializeInDestinationOp::create(b, loc, Type(), x, views[0],
                                                    /*restrict=*/true, /*writable=*/true);
  return {views[0], views[1]};
}

/// A TMA descriptor of the row-major 2-D buffer `tensor`, as the kernel's
/// pointer parameter `param` (the device address of the encoded map; the
/// CUDA target's launch plan has the runtime encode it).
Value tensorMapOf(OpBuilder &b, Location loc, Value tensor,
                  nvgpu::TensorMapDescriptorType type, Type param) {
  auto ranked = cast<MemRefType>(tensor.getType());
  Value unranked = memref::CastOp::create(
      b, loc, UnrankedMemRefType::get(ranked.getElementType(), ranked.getMemorySpace()),
      tensor);
  SmallVector<Value> box;
  for (int64_t size : type.getTensor().getShape())
    box.push_back(arith::ConstantIndexOp::create(b, loc, size));
  Value descriptor = nvgpu::TmaCreateDescriptorOp::create(b, loc, type, unranked, box);
  return UnrealizedConversionCastOp::create(b, loc, param, descriptor).getResult(0);
}

/// y = product [M, N] (f16 or f32) (+ bias [N]) in the result's element type.
Value epilogue(OpBuilder &b, Location loc, Value product, Value bias, Type outElement) {
  auto productType = cast<RankedTensorType>(product.getType());
  SmallVector<Value> inputs = {product};
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(2)};
  if (bias) {
    inputs.push_back(bias);
    maps.push_back(AffineMap::get(2, 0, b.getAffineDimExpr(1)));
  }
  return elementwise(b, loc, inputs, maps,
                     RankedTensorType::get(productType.getShape(), outElement),
                     [&](OpBuilder &nb, Location nl, ValueRange args) {
                       Type f32 = nb.getF32Type();
                       Value sum = convertFloat(nb, nl, args[0], f32);
                       if (args.size() > 1)
                         sum = arith::AddFOp::create(nb, nl, sum,
                                                     convertFloat(nb, nl, args[1], f32));
                       return convertFloat(nb, nl, sum, outElement);
                     });
}

/// The launch of `kernel` with its plan's grid, block and shared memory.
gpu::LaunchFuncOp launchKernel(OpBuilder &b, Location loc, gpu::GPUFuncOp kernel,
                  const cuda_library::LibraryKernel &launch, ValueRange operands) {
  auto dim = [&](int64_t value) -> Value { return arith::ConstantIndexOp::create(b, loc, value); };
  Value one = dim(1);
  Value shared;
  if (launch.dynamicSharedBytes > 0)
    shared = arith::ConstantIntOp::create(b, loc, launch.dynamicSharedBytes, 32);
  return gpu::LaunchFuncOp::create(b, loc, kernel,
                                   gpu::KernelDim3{dim(launch.gridX), dim(launch.gridY), one},
                                   gpu::KernelDim3{dim(launch.blockX), one, one}, shared,
                                   operands);
}

void LinearRewriter::rewrite(kiln::LinearOp linear, const LibraryLinear &plan) {
  const kernels::GemvSpec &spec = plan.spec;
  gpu::GPUFuncOp kernel = kernelFor(plan.kernel);
  ArrayRef<Type> params = kernel.getArgumentTypes();
  OpBuilder b(linear);
  Location loc = linear.getLoc();
  Type f16 = b.getF16Type();
  // The kernels' activation and output element: f16, or f32 kept exact.
  Type element = plan.exactF32 ? b.getF32Type() : f16;
  int64_t elementBytes = element.getIntOrFloatBitWidth() / 8;

  auto [xTyped, xParam] = stageActivations(b, loc, linear.getInput(), spec, element,
                                          cast<MemRefType>(params.front()));
  SmallVector<Value> operands = {xParam};
  // Weights and scales as constants in the kernel's layout.
  WeightBuilder arrays(b.getContext(), kInlineArrayBytes, "kiln_library." + layerName(linear));
  Value weightBytes = constantGlobal(b, loc, arrays.bytes(plan.weightBytes, "weight"),
                                     "kiln_library_weight");
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  operands.push_back(memref::ViewOp::create(b, loc, params[1], weightBytes, zero, ValueRange{}));
  if (!plan.scales.empty()) {
    auto scaleType = cast<MemRefType>(params[2]);
    operands.push_back(constantGlobal(
        b, loc, arrays.floats(plan.scales, scaleType.getShape(), f16, "scales"),
        "kiln_library_scales"));
  }
  auto yTyped = MemRefType::get({spec.m, spec.n}, element);
  SmallVector<Value> yViews = viewsOfNewBuffer(b, loc, spec.m * spec.n * elementBytes,
                                               {yTyped, cast<MemRefType>(params.back())});
  operands.push_back(yViews[1]);
  gpu::LaunchFuncOp launch = launchKernel(b, loc, kernel, plan.kernel, operands);
  if (plan.wgmma)
    launchWgmma(b, loc, plan, xTyped, weightBytes, launch); // f16 x: wgmma plans are f16

  Value product = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(yTyped.getShape(), element), yViews[0], /*restrict=*/true);
  auto resultType = cast<RankedTensorType>(linear.getType());
  Value out = epilogue(b, loc, product, linear.getBias(), resultType.getElementType());
  linear.replaceAllUsesWith(reshapeRows(b, loc, out, resultType));
  Operation *weight = linear.getWeight().getDefiningOp();
  linear.erase();
  // Later passes would decode the now unused weight for nothing.
  if (weight && weight->use_empty() && isPure(weight))
    weight->erase();
}

void LinearRewriter::launchWgmma(OpBuilder &b, Location loc, const LibraryLinear &plan,
                                 Value xHalf, Value weightBytes, gpu::LaunchFuncOp generic) {
  const kernels::WgmmaGemmSpec &spec = *plan.wgmma;
  MLIRContext *context = b.getContext();
  gpu::GPUFuncOp kernel = kernelFor(plan.wgmmaKernel);
  kernel->setAttr(kSm90aOnlyAttrName, UnitAttr::get(context));
  ArrayRef<Type> params = kernel.getArgumentTypes();
  // W as the map sees it: [N, K] f16, or the int8/int4 payload as
  // [N, K * bits / 8] bytes.
  bool quantized = spec.format != kernels::WeightFormat::F16;
  int64_t weightCols = quantized ? spec.k * kernels::weightBits(spec.format) / 8 : spec.k;
  Type weightElement = quantized ? Type(b.getI8Type()) : Type(b.getF16Type());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value weight = memref::ViewOp::create(
      b, loc, MemRefType::get({spec.n, weightCols}, weightElement), weightBytes, zero,
      ValueRange{});
  SmallVector<Value> operands = {
      tensorMapOf(b, loc, xHalf, kernels::wgmmaTensorMapType(context, spec, false), params[0]),
      tensorMapOf(b, loc, weight, kernels::wgmmaTensorMapType(context, spec, true), params[1])};
  // Scales and y: the mma.sync kernel's operands, viewed the same way.
  ValueRange rest = generic.getKernelOperands().drop_front(2);
  operands.append(rest.begin(), rest.end());
  launchKernel(b, loc, kernel, plan.wgmmaKernel, operands)
      ->setAttr(kSm90aOnlyAttrName, UnitAttr::get(context));
  generic->setAttr(kNotSm90aAttrName, UnitAttr::get(context));
}

struct CudaLibraryLinear : impl::CudaLibraryLinearBase<CudaLibraryLinear> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    cuda_library::LibraryLinearOptions options;
    options.f32Weights = f32Weights;
    options.maxM = maxM;
    options.gemm = gemm;
    options.f32Gemm = f32Gemm;
    options.sm90aWgmma = sm90aWgmma;
    options.wgmmaMinM = wgmmaMinM;
    std::vector<std::pair<kiln::LinearOp, LibraryLinear>> routed;
    SmallVector<std::pair<std::string, std::string>> fallbacks;
    module.walk([&](kiln::LinearOp linear) {
      if (!isa<func::FuncOp>(linear->getParentOp())) {
        fallbacks.push_back({layerName(linear), "inside a fused region"});
        return;
      }
      llvm::Expected<LibraryLinear> plan = cuda_library::planLibraryLinear(linear, options);
      if (!plan) {
        fallbacks.push_back({layerName(linear), llvm::toString(plan.takeError())});
        return;
      }
      routed.push_back({linear, std::move(*plan)});
    });
    bool rounded = llvm::any_of(routed, [](const auto &entry) { return entry.second.roundedF32; });
    size_t exact = llvm::count_if(routed, [](const auto &entry) { return entry.second.exactF32; });
    if (!fallbacks.empty() || rounded) {
      InFlightDiagnostic remark = emitRemark(module.getLoc());
      SmallVector<std::string> kinds;
      if (exact < routed.size() || routed.empty())
        kinds.push_back(rounded ? "f16 activations, f32 weights rounded to f16"
                                : "f16 activations");
      if (exact > 0)
        kinds.push_back(std::to_string(exact) + " exact f32");
      remark << "kiln-cuda-library-linear: " << routed.size() << " of "
             << routed.size() + fallbacks.size() << " linear layers run on library kernels ("
             << llvm::join(kinds, "; ") << ")";
      if (!fallbacks.empty())
        remark << "; generic kernels for " << listByReason(fallbacks);
    }
    if (routed.empty())
      return;
    gpu::GPUModuleOp kernels = getOrCreateLibraryKernelModule(module);
    LinearRewriter rewriter(module, kernels);
    for (auto &[linear, plan] : routed)
      rewriter.rewrite(linear, plan);
  }
};

} // namespace
} // namespace kiln

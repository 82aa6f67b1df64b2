//===- LaunchPlan.cpp - read launches, buffers and weights off the host IR ===//
#include "LaunchPlan.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Lowering/CudaLibraryPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;

namespace kiln::cuda {
namespace {

constexpr uint32_t kMaxKernelArgs = 256; // KILN_CUDA_MAX_KERNEL_ARGS in the glue
constexpr uint32_t kKernelSm90aOnly = 1; // KILN_CUDA_KERNEL_SM90A_ONLY
// CUtensorMapDataType.
constexpr uint32_t kTensorMapUint8 = 0, kTensorMapFloat16 = 6;

/// `value` is its buffer's first byte: through casts and views at byte 0.
bool startsAtBufferBase(Value value) {
  while (Operation *op = value.getDefiningOp()) {
    if (auto cast = dyn_cast<memref::CastOp>(op)) {
      value = cast.getSource();
    } else if (auto view = dyn_cast<memref::ViewOp>(op)) {
      if (!matchPattern(view.getByteShift(), m_Zero()))
        return false;
      value = view.getSource();
    } else {
      return isa<memref::AllocOp, memref::GetGlobalOp>(op);
    }
  }
  return true; // a function argument
}

llvm::Error opError(Operation *op, const llvm::Twine &message) {
  std::string location;
  llvm::raw_string_ostream os(location);
  op->getLoc().print(os);
  return llvm::createStringError(os.str() + ": " + message);
}

/// Bytes of a static memref (i1 is stored as one byte, as LLVM does).
std::optional<uint64_t> memrefBytes(MemRefType type) {
  if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat())
    return std::nullopt;
  std::optional<int64_t> bytes = int64_t((type.getElementTypeBitWidth() + 7) / 8);
  for (int64_t dim : type.getShape())
    if (!(bytes = codec::checkedMul(*bytes, dim)))
      return std::nullopt;
  return uint64_t(*bytes);
}

/// i1 elements as kernels read them: one byte each, 0 or 1 (LLVM's in-memory
/// i1), where the attribute packs them as bits.
llvm::Expected<std::vector<char>> boolBytes(memref::GlobalOp global, DenseElementsAttr dense,
                                            uint64_t bytes) {
  uint64_t count = dense.isSplat() ? bytes : uint64_t(dense.getNumElements());
  if (count != bytes)
    return opError(global, "global '" + global.getSymName() + "' has the wrong size");
  if (dense.isSplat())
    return std::vector<char>(bytes, char(dense.getSplatValue<bool>()));
  std::vector<char> out;
  out.reserve(bytes);
  for (bool value : dense.getValues<bool>())
    out.push_back(char(value));
  return out;
}

/// The initial value of a constant global, as the bytes a kernel reads.
llvm::Expected<std::vector<char>> globalBytes(memref::GlobalOp global, uint64_t bytes) {
  Attribute init = global.getInitialValueAttr();
  if (auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != bytes)
      return opError(global, "weight '" + global.getSymName() +
                                 "' has no data or the wrong number of bytes");
    return std::vector<char>(blob->getData().begin(), blob->getData().end());
  }
  auto dense = dyn_cast_or_null<DenseElementsAttr>(init);
  if (dense && dense.getElementType().isInteger(1))
    return boolBytes(global, dense, bytes);
  if (!dense || dense.getElementType().getIntOrFloatBitWidth() % 8 != 0)
    return opError(global, "global '" + global.getSymName() +
                               "' needs a dense initial value of whole bytes");
  ArrayRef<char> raw = dense.getRawData();
  std::vector<char> out;
  out.reserve(bytes);
  if (dense.isSplat()) {
    while (out.size() < bytes)
      out.insert(out.end(), raw.begin(), raw.end());
  } else {
    out.assign(raw.begin(), raw.end());
  }
  if (out.size() != bytes)
    return opError(global, "global '" + global.getSymName() + "' has the wrong size");
  return out;
}

class PlanBuilder {
public:
  PlanBuilder(func::FuncOp entry, unsigned numInputs)
      : entry(entry), symbols(entry->getParentOfType<ModuleOp>()) {
    for (BlockArgument arg : entry.getArguments()) {
      bool input = arg.getArgNumber() < numInputs;
      PlanArg where;
      where.kind = input ? PlanArg::Input : PlanArg::Output;
      where.index = int32_t(input ? arg.getArgNumber() : arg.getArgNumber() - numInputs);
      values[arg] = where;
    }
  }

  llvm::Expected<LaunchPlan> build() {
    if (!entry.getBody().hasOneBlock())
      return opError(entry, "the CUDA target expects a straight-line host function");
    for (Operation &op : entry.getBody().front())
      if (llvm::Error error = visit(&op))
        return std::move(error);
    uint32_t last = plan.steps.empty() ? 0 : uint32_t(plan.steps.size() - 1);
    for (const PlanWeight &weight : plan.weights)
      plan.buffers[weight.buffer].lastStep = last;
    for (PlanBuffer &buffer : plan.buffers)
      buffer.lastStep = std::max(buffer.lastStep, buffer.firstStep);
    return std::move(plan);
  }

private:
  uint32_t currentStep() const { return uint32_t(plan.steps.size()); }

  uint32_t newBuffer(uint64_t bytes, uint32_t first) {
    plan.buffers.push_back({bytes, first, first});
    return uint32_t(plan.buffers.size() - 1);
  }

  llvm::Error visit(Operation *op) {
    if (isa<func::ReturnOp, memref::DeallocOp>(op))
      return llvm::Error::success();
    if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op))
      return visitLaunch(launch);
    if (auto copy = dyn_cast<memref::CopyOp>(op))
      return visitCopy(copy);
    if (isa<memref::AllocOp, memref::AllocaOp>(op)) {
      auto type = cast<MemRefType>(op->getResult(0).getType());
      std::optional<uint64_t> bytes = memrefBytes(type);
      if (!bytes)
        return opError(op, "the CUDA target needs static shapes: pin every symbolic dimension "
                           "with --dim=NAME=VALUE");
      values[op->getResult(0)] = {PlanArg::Arena, int32_t(newBuffer(*bytes, currentStep())), 0};
      return llvm::Error::success();
    }
    if (auto get = dyn_cast<memref::GetGlobalOp>(op))
      return visitGlobal(get);
    if (auto descriptor = dyn_cast<nvgpu::TmaCreateDescriptorOp>(op))
      return visitTensorMap(descriptor);
    // The descriptor as the kernel's pointer parameter.
    if (auto cast = dyn_cast<UnrealizedConversionCastOp>(op);
        cast && cast->getNumOperands() == 1 && cast->getNumResults() == 1 &&
        isa<nvgpu::TensorMapDescriptorType>(cast->getOperand(0).getType())) {
      auto source = values.find(cast->getOperand(0));
      if (source == values.end())
        return opError(op, "a cast of a tensor map the CUDA target does not know");
      PlanArg map = source->second;
      values[cast->getResult(0)] = map;
      return llvm::Error::success();
    }
    if (auto view = dyn_cast<ViewLikeOpInterface>(op)) {
      // Kernels take the base pointer; the view's offset is in its type.
      auto source = values.find(view.getViewSource());
      if (source == values.end())
        return opError(op, "a view of a buffer the CUDA target does not know");
      // Copied before the insertion below, which may grow the map and free
      // the entry `source` points into.
      PlanArg base = source->second;
      values[op->getResult(0)] = base;
      return llvm::Error::success();
    }
    if (isPure(op) && op->use_empty())
      return llvm::Error::success();
    if (matchPattern(op, m_Constant()))
      return llvm::Error::success();
    return opError(op, "'" + op->getName().getStringRef() +
                           "' cannot run on the host side of a CUDA model (only kernel "
                           "launches, buffers and copies can)");
  }

  llvm::Error visitGlobal(memref::GetGlobalOp get) {
    auto found = weightBuffers.find(get.getName());
    if (found == weightBuffers.end()) {
      auto global = symbols.lookup<memref::GlobalOp>(get.getName());
      std::optional<uint64_t> bytes = memrefBytes(get.getType());
      if (!global || !bytes)
        return opError(get, "global '" + get.getName() + "' is missing or not static");
      auto data = globalBytes(global, *bytes);
      if (!data)
        return data.takeError();
      uint32_t buffer = newBuffer(*bytes, 0);
      plan.weights.push_back({get.getName().str(), std::move(*data), buffer});
      found = weightBuffers.insert({get.getName(), buffer}).first;
    }
    values[get.getResult()] = {PlanArg::Arena, int32_t(found->second), 0};
    return llvm::Error::success();
  }

  llvm::Expected<PlanArg> use(Operation *user, Value value) {
    auto found = values.find(value);
    if (found != values.end()) {
      // A tensor map keeps its buffer alive as the buffer itself would.
      int32_t buffer = found->second.kind == PlanArg::Arena ? found->second.index
                       : found->second.kind == PlanArg::TensorMap
                           ? int32_t(plan.tensorMaps[found->second.index].buffer)
                           : -1;
      if (buffer >= 0)
        plan.buffers[buffer].lastStep = std::max(plan.buffers[buffer].lastStep, currentStep());
      return found->second;
    }
    PlanArg scalar;
    if (matchPattern(value, m_ConstantInt(&constantBits)) ||
        matchPattern(value, m_ConstantFloat(&constantFloat))) {
      Type type = value.getType();
      if (isa<FloatType>(type))
        constantBits = constantFloat.bitcastToAPInt();
      unsigned width = type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
      scalar.kind = width == 64 ? PlanArg::I64 : PlanArg::I32;
      if (width > 64)
        return opError(user, "a kernel scalar wider than 64 bits");
      scalar.value = int64_t(constantBits.getZExtValue());
      return scalar;
    }
    return opError(user, "a kernel operand that is neither a known buffer nor a constant");
  }

  llvm::Error visitCopy(memref::CopyOp copy) {
    std::optional<uint64_t> bytes = memrefBytes(cast<MemRefType>(copy.getSource().getType()));
    auto target = cast<MemRefType>(copy.getTarget().getType());
    if (!bytes || !target.getLayout().isIdentity() ||
        !cast<MemRefType>(copy.getSource().getType()).getLayout().isIdentity())
      return opError(copy, "only whole, contiguous static buffers can be copied");
    PlanStep step;
    step.kind = PlanStep::Copy;
    step.bytes = *bytes;
    for (Value operand : {copy.getTarget(), copy.getSource()}) {
      auto arg = use(copy, operand);
      if (!arg)
        return arg.takeError();
      step.args.push_back(*arg);
    }
    plan.steps.push_back(std::move(step));
    return llvm::Error::success();
  }

  /// A TMA map of a static row-major 2-D arena buffer (through memref.cast
  /// to the unranked memref the op takes), encoded by the runtime.
  llvm::Error visitTensorMap(nvgpu::TmaCreateDescriptorOp create) {
    auto cast = create.getTensor().getDefiningOp<memref::CastOp>();
    auto ranked = cast ? dyn_cast<MemRefType>(cast.getSource().getType()) : MemRefType();
    if (!ranked || ranked.getRank() != 2 || !ranked.hasStaticShape() ||
        !ranked.getLayout().isIdentity() || !startsAtBufferBase(cast.getSource()))
      return opError(create, "a TMA descriptor needs a whole static row-major 2-D buffer");
    auto type = create.getTensorMap().getType();
    if (type.getInterleave() != nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE ||
        type.getOob() != nvgpu::TensorMapOOBKind::OOB_ZERO || type.getTensor().getRank() != 2)
      return opError(create, "a TMA descriptor with interleave or NaN fill (the runtime "
                             "encodes 2-D maps without either)");
    PlanTensorMap map;
    if (ranked.getElementType().isF16())
      map.dataType = kTensorMapFloat16;
    else if (ranked.getElementType().isInteger(8))
      map.dataType = kTensorMapUint8;
    else
      return opError(create, "a TMA descriptor of elements other than f16 or bytes");
    auto arg = use(create, create.getTensor());
    if (!arg)
      return arg.takeError();
    if (arg->kind != PlanArg::Arena)
      return opError(create, "a TMA descriptor of a model input or output (maps are encoded "
                             "once, for intermediates and weights only)");
    map.buffer = uint32_t(arg->index);
    map.rows = uint64_t(ranked.getDimSize(0));
    map.cols = uint64_t(ranked.getDimSize(1));
    map.boxRows = uint32_t(type.getTensor().getDimSize(0));
    map.boxCols = uint32_t(type.getTensor().getDimSize(1));
    map.swizzle = uint32_t(type.getSwizzle());
    map.l2Promotion = uint32_t(type.getL2promo());
    plan.tensorMaps.push_back(map);
    values[create.getTensorMap()] = {PlanArg::TensorMap,
                                     int32_t(plan.tensorMaps.size() - 1), 0};
    return llvm::Error::success();
  }

  llvm::Expected<uint32_t> constantDim(gpu::LaunchFuncOp launch, Value value) {
    APInt bits;
    if (!matchPattern(value, m_ConstantInt(&bits)) || bits.isNegative() ||
        bits.getZExtValue() == 0 || bits.getZExtValue() > UINT32_MAX)
      return opError(launch, "the CUDA target needs launch sizes that are positive constants");
    return uint32_t(bits.getZExtValue());
  }

  llvm::Error visitLaunch(gpu::LaunchFuncOp launch) {
    PlanStep step;
    step.kind = launch->hasAttr(kSm90aOnlyAttrName)  ? PlanStep::LaunchSm90a
                : launch->hasAttr(kNotSm90aAttrName) ? PlanStep::LaunchNotSm90a
                                                     : PlanStep::Launch;
    std::string name = launch.getKernelName().str();
    auto found = llvm::find(plan.kernels, name);
    step.kernel = uint32_t(found - plan.kernels.begin());
    if (found == plan.kernels.end()) {
      plan.kernels.push_back(name);
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(launch,
                                                                         launch.getKernel());
      plan.kernelFlags.push_back(kernel && kernel->hasAttr(kSm90aOnlyAttrName) ? kKernelSm90aOnly
                                                                               : 0);
    }
    if ((plan.kernelFlags[step.kernel] & kKernelSm90aOnly) && step.kind != PlanStep::LaunchSm90a)
      return opError(launch, "kernel '" + name +
                                 "' exists only for sm_90a, but this launch would run on "
                                 "every GPU (mark it " + kSm90aOnlyAttrName + ")");
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    Value sizes[] = {grid.x, grid.y, grid.z, block.x, block.y, block.z};
    for (unsigned i = 0; i < 6; ++i) {
      auto dim = constantDim(launch, sizes[i]);
      if (!dim)
        return dim.takeError();
      (i < 3 ? step.grid[i] : step.block[i - 3]) = *dim;
    }
    if (Value shared = launch.getDynamicSharedMemorySize()) {
      APInt bytes;
      if (!matchPattern(shared, m_ConstantInt(&bytes)) || bytes.isNegative() ||
          bytes.getZExtValue() > UINT32_MAX)
        return opError(launch, "kernel '" + name +
                                   "' needs a constant amount of dynamic shared memory");
      step.bytes = bytes.getZExtValue();
    }
    if (launch.getKernelOperands().size() > kMaxKernelArgs)
      return opError(launch, "a kernel with more than 256 parameters");
    for (Value operand : launch.getKernelOperands()) {
      auto arg = use(launch, operand);
      if (!arg)
        return arg.takeError();
      step.args.push_back(*arg);
    }
    plan.steps.push_back(std::move(step));
    return llvm::Error::success();
  }

  func::FuncOp entry;
  SymbolTable symbols;
  LaunchPlan plan;
  llvm::DenseMap<Value, PlanArg> values;
  llvm::StringMap<uint32_t> weightBuffers;
  APInt constantBits;
  APFloat constantFloat{0.0f};
};

} // namespace

llvm::Expected<LaunchPlan> extractLaunchPlan(func::FuncOp entry, unsigned numInputs) {
  return PlanBuilder(entry, numInputs).build();
}

} // namespace kiln::cuda

//===- LaunchPlan.cpp - read launches, buffers and weights off the host IR ===//
#include "LaunchPlan.h"

#include "kiln/Dialect/Codec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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
      if (found->second.kind == PlanArg::Arena) {
        PlanBuffer &buffer = plan.buffers[found->second.index];
        buffer.lastStep = std::max(buffer.lastStep, currentStep());
      }
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

  llvm::Expected<uint32_t> constantDim(gpu::LaunchFuncOp launch, Value value) {
    APInt bits;
    if (!matchPattern(value, m_ConstantInt(&bits)) || bits.isNegative() ||
        bits.getZExtValue() == 0 || bits.getZExtValue() > UINT32_MAX)
      return opError(launch, "the CUDA target needs launch sizes that are positive constants");
    return uint32_t(bits.getZExtValue());
  }

  llvm::Error visitLaunch(gpu::LaunchFuncOp launch) {
    PlanStep step;
    step.kind = PlanStep::Launch;
    std::string name = launch.getKernelName().str();
    auto found = llvm::find(plan.kernels, name);
    step.kernel = uint32_t(found - plan.kernels.begin());
    if (found == plan.kernels.end())
      plan.kernels.push_back(name);
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

//===- KernelSupport.cpp - pieces shared by the kernel generators ---------===//
#include "KernelSupport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace kiln::kernels {

/// The gpu-to-nvvm lowering of gpu.dynamic_shared_memory reuses a zero-size
/// 16-byte-aligned shared global when the module has one. Its own is
/// internal, which NVPTX demotes into a 1-byte static shared variable of the
/// kernel; declared external, it is the `.extern .shared` array the dynamic
/// shared memory of a launch is addressed through.
void declareDynamicShared(OpBuilder &builder, gpu::GPUModuleOp module) {
  constexpr llvm::StringLiteral kName = "kiln_dynamic_shared";
  if (module.lookupSymbol(kName))
    return;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(module.getBody());
  LLVM::GlobalOp::create(builder, module.getLoc(), LLVM::LLVMArrayType::get(builder.getI8Type(), 0),
                         /*isConstant=*/false, LLVM::Linkage::External, kName, Attribute(),
                         /*alignment=*/16, /*addrSpace=*/3);
}

static gpu::AddressSpaceAttr workgroupSpace(OpBuilder &b) {
  return gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
}

Value dynamicSharedBytes(OpBuilder &b, Location loc) {
  return gpu::DynamicSharedMemoryOp::create(b, loc,
                                            MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                                                            MemRefLayoutAttrInterface(),
                                                            workgroupSpace(b)));
}

Value sharedView(OpBuilder &b, Location loc, Value dynamic, int64_t byteOffset,
                 ArrayRef<int64_t> shape, Type element) {
  auto type = MemRefType::get(shape, element, MemRefLayoutAttrInterface(), workgroupSpace(b));
  Value offset = arith::ConstantIndexOp::create(b, loc, byteOffset);
  return memref::ViewOp::create(b, loc, type, dynamic, offset, ValueRange{});
}

gpu::GPUFuncOp createKernelFunc(OpBuilder &builder, gpu::GPUModuleOp module, StringRef name,
                                ArrayRef<Type> args, int64_t blockX) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto func = gpu::GPUFuncOp::create(builder, module.getLoc(), name,
                                     FunctionType::get(builder.getContext(), args, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  func.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr({static_cast<int32_t>(blockX), 1, 1}));
  for (unsigned i = 0; i < args.size(); ++i)
    func.setArgAttr(i, "llvm.noalias", builder.getUnitAttr());
  return func;
}

Value warpReduce(OpBuilder &b, Location loc, Value value,
                 llvm::function_ref<Value(Value, Value)> combine) {
  Value width = arith::ConstantIntOp::create(b, loc, b.getI32Type(), kWarpLanes);
  for (int64_t offset = kWarpLanes / 2; offset >= 1; offset /= 2) {
    Value off = arith::ConstantIntOp::create(b, loc, b.getI32Type(), offset);
    Value other =
        gpu::ShuffleOp::create(b, loc, value, off, width, gpu::ShuffleMode::XOR).getShuffleResult();
    value = combine(value, other);
  }
  return value;
}

} // namespace kiln::kernels

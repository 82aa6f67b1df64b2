//===- KernelSupport.cpp - pieces shared by the kernel generators ---------===//
#include "KernelSupport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace kiln::kernels {

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

Value ArithShorthands::index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
Value ArithShorthands::f32(float v) {
  return arith::ConstantFloatOp::create(b, loc, b.getF32Type(), llvm::APFloat(v));
}
Value ArithShorthands::add(Value l, Value r) { return arith::AddIOp::create(b, loc, l, r); }
Value ArithShorthands::mul(Value l, int64_t r) {
  return arith::MulIOp::create(b, loc, l, index(r));
}
Value ArithShorthands::divu(Value l, int64_t r) {
  return arith::DivUIOp::create(b, loc, l, index(r));
}
Value ArithShorthands::remu(Value l, int64_t r) {
  return arith::RemUIOp::create(b, loc, l, index(r));
}
Value ArithShorthands::minu(Value l, int64_t r) {
  return arith::MinUIOp::create(b, loc, l, index(r));
}
Value ArithShorthands::ult(Value l, Value r) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, l, r);
}
Value ArithShorthands::ult(Value l, int64_t r) { return ult(l, index(r)); }
Value ArithShorthands::addf(Value l, Value r) { return arith::AddFOp::create(b, loc, l, r); }
Value ArithShorthands::mulf(Value l, Value r) { return arith::MulFOp::create(b, loc, l, r); }

} // namespace kiln::kernels

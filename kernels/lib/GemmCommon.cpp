//===- GemmCommon.cpp - pieces shared by the GEMM generators --------------===//
#include "GemmCommon.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "kiln/Dialect/Codec.h"

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
  LLVM::GlobalOp::create(builder, module.getLoc(),
                         LLVM::LLVMArrayType::get(builder.getI8Type(), 0),
                         /*isConstant=*/false, LLVM::Linkage::External, kName, Attribute(),
                         /*alignment=*/16, /*addrSpace=*/3);
}

gpu::GPUFuncOp createGemmKernelFunc(OpBuilder &builder, gpu::GPUModuleOp module,
                                    llvm::StringRef name, ArrayRef<Type> args, int64_t blockX,
                                    unsigned firstNoAlias) {
  declareDynamicShared(builder, module);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(module.getBody());
  auto func = gpu::GPUFuncOp::create(builder, module.getLoc(), name,
                                     builder.getFunctionType(args, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  func.setKnownBlockSizeAttr(
      builder.getDenseI32ArrayAttr({static_cast<int32_t>(blockX), 1, 1}));
  for (unsigned i = firstNoAlias; i < args.size(); ++i)
    func.setArgAttr(i, "llvm.noalias", builder.getUnitAttr());
  return func;
}

std::pair<Value, Value> groupedTileOrder(OpBuilder &b, Location loc, int64_t tilesM,
                                         int64_t tilesN) {
  // Blocks run roughly in launch order. Walking N fastest over all of M
  // would stream every weight tile from DRAM once per M tile.
  constexpr int64_t kGroupM = 8;
  auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); };
  Value linear = arith::AddIOp::create(
      b, loc,
      arith::MulIOp::create(b, loc, gpu::BlockIdOp::create(b, loc, gpu::Dimension::y),
                            index(tilesN)),
      gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  Value groupSpan = index(kGroupM * tilesN);
  Value firstM =
      arith::MulIOp::create(b, loc, arith::DivUIOp::create(b, loc, linear, groupSpan),
                            index(kGroupM));
  Value groupRows = arith::MinUIOp::create(
      b, loc, arith::SubIOp::create(b, loc, index(tilesM), firstM), index(kGroupM));
  Value inGroup = arith::RemUIOp::create(b, loc, linear, groupSpan);
  Value tileM =
      arith::AddIOp::create(b, loc, firstM, arith::RemUIOp::create(b, loc, inGroup, groupRows));
  Value tileN = arith::DivUIOp::create(b, loc, inGroup, groupRows);
  return {tileM, tileN};
}

std::optional<std::string> gemmShapeProblem(int64_t m, int64_t n, int64_t k) {
  if (m < 1 || n < 1 || k < 1)
    return ("M, N and K must be positive, got M = " + llvm::Twine(m) + ", N = " +
            llvm::Twine(n) + ", K = " + llvm::Twine(k))
        .str();
  for (auto [rows, cols] : {std::pair{n, k}, std::pair{m, k}, std::pair{m, n}}) {
    std::optional<int64_t> count = codec::checkedMul(rows, cols);
    if (!count || *count > (int64_t{1} << 31))
      return ("a " + llvm::Twine(rows) + "x" + llvm::Twine(cols) +
              " operand has more than 2^31 elements")
          .str();
  }
  return std::nullopt;
}

} // namespace kiln::kernels

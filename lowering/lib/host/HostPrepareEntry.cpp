//===- HostPrepareEntry.cpp - @main to the host C ABI entry --------------===//
#include "kiln/Lowering/HostPasses.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace kiln {
#define GEN_PASS_DEF_HOSTPREPAREENTRY
#include "kiln/Lowering/HostPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr int64_t kMaxRank = 32; // the C glue's limit (kiln_model_glue.c)

LogicalResult checkBoundaryType(func::FuncOp func, Type type, StringRef what, unsigned index) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor)
    return func.emitError() << what << " " << index << " has type " << type
                            << "; the host C API takes ranked tensors only";
  if (tensor.getRank() > kMaxRank)
    return func.emitError() << what << " " << index << " has rank " << tensor.getRank()
                            << "; the host C API supports rank up to " << kMaxRank;
  Type element = tensor.getElementType();
  if (!element.isF32() && !element.isF16() && !element.isBF16() && !element.isF64() &&
      !element.isInteger(1) && !element.isInteger(8) && !element.isInteger(16) &&
      !element.isInteger(32) && !element.isInteger(64))
    return func.emitError() << what << " " << index << " has element type " << element
                            << ", which the host C API cannot pass";
  return success();
}

struct HostPrepareEntryPass : kiln::impl::HostPrepareEntryBase<HostPrepareEntryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal() || !main.isPublic()) {
      module.emitError() << "the host target needs a public func.func @main with a body";
      return signalPassFailure();
    }
    FunctionType type = main.getFunctionType();
    for (auto [index, argType] : llvm::enumerate(type.getInputs()))
      if (failed(checkBoundaryType(main, argType, "input", index)))
        return signalPassFailure();
    for (auto [index, resultType] : llvm::enumerate(type.getResults()))
      if (failed(checkBoundaryType(main, resultType, "output", index)))
        return signalPassFailure();
    if (type.getNumResults() == 0) {
      main.emitError() << "the model has no outputs";
      return signalPassFailure();
    }

    SymbolTable symbols(module);
    if (failed(symbols.rename(main, kiln::kHostEntryName))) {
      main.emitError() << "cannot rename @main to @" << kiln::kHostEntryName;
      return signalPassFailure();
    }
    Builder builder(&getContext());
    for (unsigned i = 0, e = main.getNumArguments(); i < e; ++i)
      main.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                      builder.getBoolAttr(false));
    main->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), builder.getUnitAttr());
  }
};

} // namespace

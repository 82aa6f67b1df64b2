//===- CudaMergeGpuModules.cpp - every kernel in one gpu.module ----------===//
#include "kiln/Lowering/CudaPasses.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_CUDAMERGEGPUMODULES
#include "kiln/Lowering/CudaPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct CudaMergeGpuModules : impl::CudaMergeGpuModulesBase<CudaMergeGpuModules> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
    if (gpuModules.size() < 2)
      return;
    gpu::GPUModuleOp target = gpuModules.front();
    SymbolTable targetSymbols(target);
    // Outlining names each kernel after its function, so names repeat across
    // modules: a moved kernel is renamed uniquely (SymbolTable::insert).
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp source : llvm::drop_begin(gpuModules)) {
      for (Operation &op : llvm::make_early_inc_range(source.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (!symbol)
          continue;
        StringAttr oldName = symbol.getNameAttr();
        op.remove();
        renamed[{source.getNameAttr(), oldName}] = targetSymbols.insert(&op);
      }
    }
    StringAttr targetName = target.getNameAttr();
    module.walk([&](gpu::LaunchFuncOp launch) {
      StringAttr kernel = launch.getKernelName();
      auto found = renamed.find({launch.getKernelModuleName(), kernel});
      if (found != renamed.end())
        kernel = found->second;
      launch.setKernelAttr(SymbolRefAttr::get(targetName, {FlatSymbolRefAttr::get(kernel)}));
    });
    for (gpu::GPUModuleOp source : llvm::drop_begin(gpuModules))
      source.erase();
  }
};

} // namespace
} // namespace kiln

//===- PlanEmitter.h - the launch plan and images as LLVM constants ------===//
#ifndef KILN_TARGETS_CUDA_LIB_PLANEMITTER_H
#define KILN_TARGETS_CUDA_LIB_PLANEMITTER_H

#include "LaunchPlan.h"

#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

namespace kiln::cuda {

/// One module image for the runtime (kiln_cuda_image).
struct ModuleImage {
  bool ptx = false;
  uint32_t sm = 0;
  bool archSpecific = false;
  std::string bytes;
};

/// Defines `kiln_cuda_model_plan` (compiler/targets/cuda/glue/kiln_cuda_plan.h)
/// in `module`, taking over the glue's declaration. The arena placements are
/// planned here with kiln_arena_plan.
llvm::Error emitCudaPlan(llvm::Module &module, const LaunchPlan &plan,
                         llvm::ArrayRef<ModuleImage> images);

} // namespace kiln::cuda

#endif // KILN_TARGETS_CUDA_LIB_PLANEMITTER_H

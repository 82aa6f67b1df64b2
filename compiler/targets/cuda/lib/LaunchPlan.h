//===- LaunchPlan.h - the host side of a CUDA model as data --------------===//
#ifndef KILN_TARGETS_CUDA_LIB_LAUNCHPLAN_H
#define KILN_TARGETS_CUDA_LIB_LAUNCHPLAN_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::cuda {

/// Mirrors kiln_cuda_arg (compiler/targets/cuda/glue/kiln_cuda_plan.h).
struct PlanArg {
  enum Kind : int32_t { Arena = 0, Input = 1, Output = 2, I64 = 3, I32 = 4 };
  int32_t kind = Arena;
  int32_t index = 0;
  int64_t value = 0;
};

struct PlanStep {
  enum Kind : int32_t { Launch = 0, Copy = 1 };
  int32_t kind = Launch;
  uint32_t kernel = 0;
  std::array<uint32_t, 3> grid{1, 1, 1};
  std::array<uint32_t, 3> block{1, 1, 1};
  std::vector<PlanArg> args; // Copy: {destination, source}
  uint64_t bytes = 0; // Copy: bytes to copy; Launch: dynamic shared memory
};

struct PlanBuffer {
  uint64_t size = 0;
  uint32_t firstStep = 0;
  uint32_t lastStep = 0;
};

struct PlanWeight {
  std::string name;          // the memref.global it comes from
  std::vector<char> bytes;   // row-major, as the kernels read them
  uint32_t buffer = 0;       // its arena buffer
};

/// Everything the generic glue needs to run the model: the kernels it
/// launches (by name), arena buffers with lifetimes in steps, weights and
/// the steps in order.
struct LaunchPlan {
  std::vector<std::string> kernels;
  std::vector<PlanBuffer> buffers;
  std::vector<PlanWeight> weights;
  std::vector<PlanStep> steps;
};

/// Reads the plan off `entry` (after the CUDA lowering pipeline): its body
/// may hold only buffer allocations, views, globals, constants, copies and
/// gpu.launch_func with constant grids. `numInputs` leading arguments are
/// inputs, the rest outputs.
llvm::Expected<LaunchPlan> extractLaunchPlan(mlir::func::FuncOp entry, unsigned numInputs);

} // namespace kiln::cuda

#endif // KILN_TARGETS_CUDA_LIB_LAUNCHPLAN_H

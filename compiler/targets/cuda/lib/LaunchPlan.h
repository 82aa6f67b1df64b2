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
  enum Kind : int32_t { Arena = 0, Input = 1, Output = 2, I64 = 3, I32 = 4, TensorMap = 5 };
  int32_t kind = Arena;
  int32_t index = 0;
  int64_t value = 0;
};

struct PlanStep {
  /// LaunchSm90a runs only from an sm_90a image, LaunchNotSm90a (its
  /// alternative) from every other one.
  enum Kind : int32_t { Launch = 0, Copy = 1, LaunchSm90a = 2, LaunchNotSm90a = 3 };
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

/// Mirrors kiln_cuda_tensor_map (runtime/cuda/include/kiln/kiln_cuda.h): a
/// TMA map of a row-major 2-D arena buffer, encoded by the runtime.
struct PlanTensorMap {
  uint32_t buffer = 0;
  uint32_t dataType = 0; // CUtensorMapDataType
  uint64_t rows = 0, cols = 0;
  uint32_t boxCols = 0, boxRows = 0;
  uint32_t swizzle = 0, l2Promotion = 0;
};

/// Everything the generic glue needs to run the model: the kernels it
/// launches (by name), arena buffers with lifetimes in steps, weights and
/// the steps in order.
struct LaunchPlan {
  std::vector<std::string> kernels;
  std::vector<uint32_t> kernelFlags; // KILN_CUDA_KERNEL_* of each kernel
  std::vector<PlanTensorMap> tensorMaps;
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

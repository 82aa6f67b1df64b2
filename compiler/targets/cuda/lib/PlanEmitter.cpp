//===- PlanEmitter.cpp - the launch plan and images as LLVM constants ----===//
//
// Builds the structs of compiler/targets/cuda/glue/kiln_cuda_plan.h and
// runtime/cuda/include/kiln/kiln_cuda.h as LLVM constants: keep the field
// order in sync with those headers.
//
//===----------------------------------------------------------------------===//
#include "PlanEmitter.h"

#include "kiln/kiln_arena.h"

#include "llvm/IR/Constants.h"

namespace kiln::cuda {
namespace {

class ConstantBuilder {
public:
  explicit ConstantBuilder(llvm::Module &module)
      : module(module), context(module.getContext()),
        ptr(llvm::PointerType::getUnqual(context)), i32(llvm::Type::getInt32Ty(context)),
        i64(llvm::Type::getInt64Ty(context)) {}

  llvm::Constant *global(llvm::Constant *init, llvm::StringRef name, uint64_t align = 8) {
    auto *var = new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true,
                                         llvm::GlobalValue::PrivateLinkage, init, name);
    var->setAlignment(llvm::Align(align));
    return var;
  }

  llvm::Constant *bytes(llvm::StringRef data, llvm::StringRef name, bool addNull = false) {
    return global(llvm::ConstantDataArray::getString(context, data, addNull), name, 16);
  }

  llvm::Constant *array(llvm::Type *element, llvm::ArrayRef<llvm::Constant *> values,
                        llvm::StringRef name) {
    if (values.empty())
      return llvm::ConstantPointerNull::get(ptr);
    return global(llvm::ConstantArray::get(llvm::ArrayType::get(element, values.size()), values),
                  name);
  }

  llvm::Constant *u32(uint64_t value) { return llvm::ConstantInt::get(i32, value); }
  llvm::Constant *u64(uint64_t value) { return llvm::ConstantInt::get(i64, value); }

  llvm::Module &module;
  llvm::LLVMContext &context;
  llvm::PointerType *ptr;
  llvm::IntegerType *i32, *i64;
};

/// kiln_cuda_image {kind, sm, arch_specific, data, size}.
llvm::Constant *imageTable(ConstantBuilder &b, llvm::ArrayRef<ModuleImage> images) {
  auto *type = llvm::StructType::get(b.context, {b.i32, b.i32, b.i32, b.ptr, b.i64});
  llvm::SmallVector<llvm::Constant *> rows;
  for (const ModuleImage &image : images)
    rows.push_back(llvm::ConstantStruct::get(
        type, {b.u32(image.ptx ? 1 : 0), b.u32(image.sm), b.u32(image.archSpecific),
               b.bytes(image.bytes, "kiln.cuda.image", /*addNull=*/image.ptx), b.u64(image.bytes.size())}));
  return b.array(type, rows, "kiln.cuda.images");
}

llvm::Expected<llvm::Constant *> placementTable(ConstantBuilder &b, const LaunchPlan &plan) {
  std::vector<kiln_arena_buffer> buffers;
  for (const PlanBuffer &buffer : plan.buffers)
    buffers.push_back({buffer.size, 256, buffer.firstStep, buffer.lastStep});
  std::vector<kiln_arena_placement> placements(buffers.size());
  uint64_t arenaSize = 0;
  char error[256] = "";
  if (kiln_arena_plan(buffers.data(), buffers.size(), placements.data(), &arenaSize, error,
                      sizeof error) != KILN_OK)
    return llvm::createStringError(llvm::Twine("planning the device arena failed: ") + error);
  auto *type = llvm::StructType::get(b.context, {b.i64, b.i64, b.i64});
  llvm::SmallVector<llvm::Constant *> rows;
  for (const kiln_arena_placement &placement : placements)
    rows.push_back(llvm::ConstantStruct::get(
        type, {b.u64(placement.offset), b.u64(placement.size), b.u64(placement.alignment)}));
  return b.array(type, rows, "kiln.cuda.placements");
}

llvm::Constant *kernelNames(ConstantBuilder &b, const LaunchPlan &plan) {
  llvm::SmallVector<llvm::Constant *> names;
  for (const std::string &name : plan.kernels)
    names.push_back(b.global(llvm::ConstantDataArray::getString(b.context, name),
                             "kiln.cuda.kernel", 1));
  return b.array(b.ptr, names, "kiln.cuda.kernels");
}

/// KILN_CUDA_KERNEL_* flags, one per kernel (null when none is set).
llvm::Constant *kernelFlags(ConstantBuilder &b, const LaunchPlan &plan) {
  if (llvm::all_of(plan.kernelFlags, [](uint32_t flags) { return flags == 0; }))
    return llvm::ConstantPointerNull::get(b.ptr);
  llvm::SmallVector<llvm::Constant *> flags;
  for (uint32_t value : plan.kernelFlags)
    flags.push_back(b.u32(value));
  return b.array(b.i32, flags, "kiln.cuda.kernel_flags");
}

/// kiln_cuda_tensor_map {buffer, data_type, rows, cols, box_cols, box_rows,
/// swizzle, l2_promotion}.
llvm::Constant *tensorMapTable(ConstantBuilder &b, const LaunchPlan &plan) {
  auto *type = llvm::StructType::get(
      b.context, {b.i32, b.i32, b.i64, b.i64, b.i32, b.i32, b.i32, b.i32});
  llvm::SmallVector<llvm::Constant *> rows;
  for (const PlanTensorMap &map : plan.tensorMaps)
    rows.push_back(llvm::ConstantStruct::get(
        type, {b.u32(map.buffer), b.u32(map.dataType), b.u64(map.rows), b.u64(map.cols),
               b.u32(map.boxCols), b.u32(map.boxRows), b.u32(map.swizzle),
               b.u32(map.l2Promotion)}));
  return b.array(type, rows, "kiln.cuda.tensor_maps");
}

/// kiln_cuda_weight {data, size, buffer, reserved}.
llvm::Constant *weightTable(ConstantBuilder &b, const LaunchPlan &plan) {
  auto *type = llvm::StructType::get(b.context, {b.ptr, b.i64, b.i32, b.i32});
  llvm::SmallVector<llvm::Constant *> rows;
  for (const PlanWeight &weight : plan.weights)
    rows.push_back(llvm::ConstantStruct::get(
        type, {b.bytes(llvm::StringRef(weight.bytes.data(), weight.bytes.size()),
                       "kiln.cuda.weight"),
               b.u64(weight.bytes.size()), b.u32(weight.buffer), b.u32(0)}));
  return b.array(type, rows, "kiln.cuda.weights");
}

/// kiln_cuda_step {kind, kernel, grid[3], block[3], first_arg, num_args, bytes}
/// and the flat kiln_cuda_arg {kind, index, value} table.
std::pair<llvm::Constant *, llvm::Constant *> stepTables(ConstantBuilder &b,
                                                         const LaunchPlan &plan) {
  auto *dims = llvm::ArrayType::get(b.i32, 3);
  auto *stepType = llvm::StructType::get(b.context, {b.i32, b.i32, dims, dims, b.i32, b.i32,
                                                     b.i64});
  auto *argType = llvm::StructType::get(b.context, {b.i32, b.i32, b.i64});
  auto triple = [&](const std::array<uint32_t, 3> &v) {
    return llvm::ConstantArray::get(dims, {b.u32(v[0]), b.u32(v[1]), b.u32(v[2])});
  };
  llvm::SmallVector<llvm::Constant *> steps, args;
  for (const PlanStep &step : plan.steps) {
    steps.push_back(llvm::ConstantStruct::get(
        stepType, {b.u32(step.kind), b.u32(step.kernel), triple(step.grid), triple(step.block),
                   b.u32(args.size()), b.u32(step.args.size()), b.u64(step.bytes)}));
    for (const PlanArg &arg : step.args)
      args.push_back(llvm::ConstantStruct::get(
          argType, {b.u32(uint32_t(arg.kind)), b.u32(uint32_t(arg.index)),
                    b.u64(uint64_t(arg.value))}));
  }
  return {b.array(stepType, steps, "kiln.cuda.steps"), b.array(argType, args, "kiln.cuda.args")};
}

} // namespace

llvm::Error emitCudaPlan(llvm::Module &module, const LaunchPlan &plan,
                         llvm::ArrayRef<ModuleImage> images) {
  ConstantBuilder b(module);
  auto placements = placementTable(b, plan);
  if (!placements)
    return placements.takeError();
  auto [steps, args] = stepTables(b, plan);
  // kiln_cuda_model_desc {images, num_images, kernel_names, num_kernels,
  // buffers, num_buffers, kernel_flags, tensor_maps, num_tensor_maps}.
  llvm::Constant *runtime = llvm::ConstantStruct::getAnon(
      b.context, {imageTable(b, images), b.u64(images.size()), kernelNames(b, plan),
                  b.u64(plan.kernels.size()), *placements, b.u64(plan.buffers.size()),
                  kernelFlags(b, plan), tensorMapTable(b, plan),
                  b.u64(plan.tensorMaps.size())});
  size_t numArgs = 0;
  for (const PlanStep &step : plan.steps)
    numArgs += step.args.size();
  llvm::Constant *init = llvm::ConstantStruct::getAnon(
      b.context, {runtime, weightTable(b, plan), steps, args, b.u32(plan.weights.size()),
                  b.u32(plan.steps.size()), b.u32(numArgs), b.u32(0)});
  auto *definition = new llvm::GlobalVariable(module, init->getType(), /*isConstant=*/true,
                                              llvm::GlobalValue::ExternalLinkage, init,
                                              "kiln.cuda.plan.new");
  if (llvm::GlobalValue *declaration = module.getNamedValue("kiln_cuda_model_plan")) {
    declaration->replaceAllUsesWith(definition);
    declaration->eraseFromParent();
  }
  definition->setName("kiln_cuda_model_plan");
  return llvm::Error::success();
}

} // namespace kiln::cuda

//===- tensor_maps.cpp - TMA tensor maps of arena buffers in device memory ===//
#include "tensor_maps.h"

#include "error.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kiln::cuda {
namespace {

// Bytes per element of the data types the kernels use; 0 for others.
uint64_t elementBytes(uint32_t dataType) {
  switch (dataType) {
  case CU_TENSOR_MAP_DATA_TYPE_UINT8:
    return 1;
  case CU_TENSOR_MAP_DATA_TYPE_FLOAT16:
    return 2;
  default:
    return 0;
  }
}

// The tensor of `map` fits its arena buffer.
kiln_status checkMap(const kiln_cuda_tensor_map &map, size_t index,
                     const kiln_arena_placement *plan, size_t planCount) {
  uint64_t bytes = elementBytes(map.data_type), total = 0;
  if (bytes == 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "tensor map %zu: unsupported data type %u", index,
                map.data_type);
  if (map.buffer >= planCount)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "tensor map %zu names arena buffer %u, but the plan has %zu", index, map.buffer,
                planCount);
  if (map.rows == 0 || map.cols == 0 || __builtin_mul_overflow(map.rows, map.cols, &total) ||
      __builtin_mul_overflow(total, bytes, &total) || total > plan[map.buffer].size)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "tensor map %zu (%llu x %llu elements) does not fit arena buffer %u (%llu "
                "bytes)",
                index, static_cast<unsigned long long>(map.rows),
                static_cast<unsigned long long>(map.cols), map.buffer,
                static_cast<unsigned long long>(plan[map.buffer].size));
  return KILN_OK;
}

} // namespace

TensorMapTable::~TensorMapTable() {
  free(specs);
  free(staged);
}

kiln_status TensorMapTable::initialize(const kiln_cuda_tensor_map *maps, size_t mapCount) {
  if (mapCount == 0)
    return KILN_OK;
  if (!maps)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "the model's tensor maps are null");
  if (!driver.cuTensorMapEncodeTiled)
    return fail(KILN_ERROR_UNSUPPORTED,
                "the CUDA driver lacks cuTensorMapEncodeTiled, which the model's sm_90a "
                "kernels need: install a driver for CUDA 12.0 or newer");
  void *stagedMemory = nullptr;
  specs = static_cast<kiln_cuda_tensor_map *>(calloc(mapCount, sizeof(*specs)));
  if (!specs || posix_memalign(&stagedMemory, alignof(CUtensorMap),
                               mapCount * sizeof(CUtensorMap)) != 0)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "out of host memory for %zu tensor maps", mapCount);
  staged = static_cast<CUtensorMap *>(stagedMemory);
  memcpy(specs, maps, mapCount * sizeof(*specs));
  count = mapCount;
  // Driver allocations are at least 256-byte aligned: every map is 64-byte aligned.
  CUresult result = driver.cuMemAlloc(&device, count * sizeof(CUtensorMap));
  if (result != CUDA_SUCCESS) {
    device = 0;
    return failCuda(driver, result, "allocating device memory for the model's tensor maps");
  }
  return KILN_OK;
}

kiln_status TensorMapTable::encode(CUdeviceptr arenaBase, const kiln_arena_placement *plan,
                                   size_t planCount) {
  for (size_t i = 0; i < count; ++i) {
    const kiln_cuda_tensor_map &map = specs[i];
    if (kiln_status status = checkMap(map, i, plan, planCount))
      return status;
    uint64_t bytes = elementBytes(map.data_type);
    const uint64_t globalDim[2] = {map.cols, map.rows};
    const uint64_t globalStrides[1] = {map.cols * bytes};
    const unsigned box[2] = {map.box_cols, map.box_rows};
    const unsigned elementStrides[2] = {1, 1};
    void *address = reinterpret_cast<void *>(
        static_cast<uintptr_t>(arenaBase + plan[map.buffer].offset));
    CUresult result = driver.cuTensorMapEncodeTiled(
        &staged[i], static_cast<CUtensorMapDataType>(map.data_type), 2, address, globalDim,
        globalStrides, box, elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE,
        static_cast<int>(map.swizzle), static_cast<int>(map.l2_promotion),
        CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (result != CUDA_SUCCESS) {
      char what[256];
      snprintf(what, sizeof(what),
               "encoding TMA tensor map %zu (arena buffer %u, %llu x %llu, box %u x %u)", i,
               map.buffer, static_cast<unsigned long long>(map.rows),
               static_cast<unsigned long long>(map.cols), map.box_rows, map.box_cols);
      return failCuda(driver, result, what);
    }
  }
  return KILN_OK;
}

kiln_status TensorMapTable::upload() {
  if (count == 0)
    return KILN_OK;
  uploaded = false;
  CUresult result = driver.cuMemcpyHtoD(device, staged, count * sizeof(CUtensorMap));
  if (result != CUDA_SUCCESS)
    return failCuda(driver, result, "copying the model's tensor maps to the GPU");
  uploaded = true;
  return KILN_OK;
}

void TensorMapTable::release() {
  if (device)
    driver.cuMemFree(device);
  device = 0;
  uploaded = false;
}

kiln_status TensorMapTable::address(size_t index, uint64_t *devicePtr) const {
  if (index >= count)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "tensor map %zu does not exist (the model has %zu)",
                index, count);
  if (!uploaded || !device)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "the tensor maps are not on the GPU (only sm_90a images use them, and a "
                "failed kiln_cuda_set_plan leaves them out of date)");
  *devicePtr = device + index * sizeof(CUtensorMap);
  return KILN_OK;
}

} // namespace kiln::cuda

//===- CudaTypesTest.cpp - our driver declarations match cuda.h -----------===//
//
// Built where the CUDA toolkit's cuda.h is present; most checks are at
// compile time, so a mismatch fails the build.
//
//===----------------------------------------------------------------------===//
#include "cuda_types.h"

#include <cuda.h>

#include <gtest/gtest.h>

namespace ours = kiln::cuda;

#define KILN_SAME_VALUE(name) static_assert(ours::name == ::name, #name " differs from cuda.h")
KILN_SAME_VALUE(CUDA_SUCCESS);
KILN_SAME_VALUE(CUDA_ERROR_INVALID_VALUE);
KILN_SAME_VALUE(CUDA_ERROR_OUT_OF_MEMORY);
KILN_SAME_VALUE(CUDA_ERROR_NOT_INITIALIZED);
KILN_SAME_VALUE(CUDA_ERROR_STUB_LIBRARY);
KILN_SAME_VALUE(CUDA_ERROR_NO_DEVICE);
KILN_SAME_VALUE(CUDA_ERROR_INVALID_IMAGE);
KILN_SAME_VALUE(CUDA_ERROR_NO_BINARY_FOR_GPU);
KILN_SAME_VALUE(CUDA_ERROR_INVALID_PTX);
KILN_SAME_VALUE(CUDA_ERROR_JIT_COMPILER_NOT_FOUND);
KILN_SAME_VALUE(CUDA_ERROR_UNSUPPORTED_PTX_VERSION);
KILN_SAME_VALUE(CUDA_ERROR_NOT_FOUND);
KILN_SAME_VALUE(CUDA_ERROR_LAUNCH_FAILED);
KILN_SAME_VALUE(CUDA_ERROR_NOT_SUPPORTED);
KILN_SAME_VALUE(CUDA_ERROR_SYSTEM_DRIVER_MISMATCH);
KILN_SAME_VALUE(CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE);
KILN_SAME_VALUE(CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
KILN_SAME_VALUE(CUDA_ERROR_UNKNOWN);
KILN_SAME_VALUE(CU_JIT_ERROR_LOG_BUFFER);
KILN_SAME_VALUE(CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
KILN_SAME_VALUE(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
KILN_SAME_VALUE(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
KILN_SAME_VALUE(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
KILN_SAME_VALUE(CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
KILN_SAME_VALUE(CU_EVENT_DISABLE_TIMING);
KILN_SAME_VALUE(CU_STREAM_NON_BLOCKING);
KILN_SAME_VALUE(CU_GET_PROC_ADDRESS_LEGACY_STREAM);
KILN_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_UINT8);
KILN_SAME_VALUE(CU_TENSOR_MAP_DATA_TYPE_FLOAT16);
KILN_SAME_VALUE(CU_TENSOR_MAP_INTERLEAVE_NONE);
KILN_SAME_VALUE(CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
KILN_SAME_VALUE(CU_TENSOR_MAP_SWIZZLE_NONE);
KILN_SAME_VALUE(CU_TENSOR_MAP_SWIZZLE_128B);
#undef KILN_SAME_VALUE

static_assert(sizeof(ours::CUresult) == sizeof(::CUresult));
static_assert(sizeof(ours::CUdevice) == sizeof(::CUdevice));
static_assert(sizeof(ours::CUdeviceptr) == sizeof(::CUdeviceptr));
static_assert(sizeof(ours::CUjit_option) == sizeof(::CUjit_option));
static_assert(sizeof(ours::CUdevice_attribute) == sizeof(::CUdevice_attribute));
static_assert(sizeof(ours::CUtensorMap) == sizeof(::CUtensorMap));
static_assert(alignof(ours::CUtensorMap) == alignof(::CUtensorMap));
static_assert(sizeof(ours::CUtensorMapDataType) == sizeof(::CUtensorMapDataType));

TEST(CudaTypesTest, LegacyStreamHandleMatches) {
  EXPECT_EQ(reinterpret_cast<uintptr_t>(CU_STREAM_LEGACY), ours::kLegacyStreamHandle);
}

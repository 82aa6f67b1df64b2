//===- cuda_types.h - the few CUDA driver types the runtime needs ---------===//
//
// Declared here instead of including cuda.h so that the runtime builds without
// the CUDA toolkit. The values are the driver's ABI and never change;
// test/unit/runtime/CudaTypesTest.cpp checks them against cuda.h when the
// toolkit is present.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_TYPES_H
#define KILN_RUNTIME_CUDA_TYPES_H

#include <cstddef>
#include <cstdint>

namespace kiln::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
using CUjit_option = int;
using CUdevice_attribute = int;
using CUfunction_attribute = int;
using CUstreamCaptureMode = int;
using CUtensorMapDataType = int;
// cuda.h's CUtensorMap: 128 opaque bytes, 128-byte aligned since CUDA 13 (the
// driver needs 64).
struct alignas(128) CUtensorMap {
  uint64_t opaque[16];
};

enum : CUresult {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_STUB_LIBRARY = 34,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_IMAGE = 200,
  CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
  CUDA_ERROR_INVALID_PTX = 218,
  CUDA_ERROR_JIT_COMPILER_NOT_FOUND = 221,
  CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
  CUDA_ERROR_NOT_FOUND = 500,
  CUDA_ERROR_LAUNCH_FAILED = 719,
  CUDA_ERROR_NOT_SUPPORTED = 801,
  CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
  CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE = 804,
  CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
  CUDA_ERROR_UNKNOWN = 999,
};

enum : CUjit_option {
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
};

enum : CUdevice_attribute {
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
};

enum : CUfunction_attribute {
  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
};

enum : CUtensorMapDataType {
  CU_TENSOR_MAP_DATA_TYPE_UINT8 = 0,
  CU_TENSOR_MAP_DATA_TYPE_FLOAT16 = 6,
};

// CUtensorMapInterleave, CUtensorMapSwizzle, CUtensorMapFloatOOBfill.
enum : int {
  CU_TENSOR_MAP_INTERLEAVE_NONE = 0,
  CU_TENSOR_MAP_SWIZZLE_NONE = 0,
  CU_TENSOR_MAP_SWIZZLE_128B = 3,
  CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE = 0,
};

enum : CUstreamCaptureMode {
  CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
};

enum : unsigned {
  CU_EVENT_DISABLE_TIMING = 0x2,
  CU_STREAM_NON_BLOCKING = 0x1,
};

enum : unsigned long long {
  CU_GET_PROC_ADDRESS_LEGACY_STREAM = 1,
};

// The legacy default stream's explicit handle, cuda.h's CU_STREAM_LEGACY
// (a value, not a pointer).
constexpr uintptr_t kLegacyStreamHandle = 0x1;

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_TYPES_H

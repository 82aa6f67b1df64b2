//===- driver.h - the CUDA driver as a table of function pointers ---------===//
//
// One X-macro list names every driver entry point the runtime uses; it
// declares the table, resolves it and names what is missing. Tests fill the
// table with fakes; production fills it from libcuda.so.1 (dlopen), asking
// cuGetProcAddress for the ABI version each signature below was declared at.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_DRIVER_H
#define KILN_RUNTIME_CUDA_DRIVER_H

#include "cuda_types.h"
#include "kiln/kiln_status.h"

namespace kiln::cuda {

// X(name, exported symbol of that ABI version, CUDA version of the ABI, params)
#define KILN_CUDA_DRIVER_SYMBOLS(X)                                                       \
  X(cuInit, "cuInit", 2000, (unsigned flags))                                            \
  X(cuDriverGetVersion, "cuDriverGetVersion", 2020, (int *version))                      \
  X(cuGetErrorName, "cuGetErrorName", 6000, (CUresult error, const char **name))         \
  X(cuGetErrorString, "cuGetErrorString", 6000, (CUresult error, const char **text))     \
  X(cuDeviceGetCount, "cuDeviceGetCount", 2000, (int *count))                            \
  X(cuDeviceGet, "cuDeviceGet", 2000, (CUdevice * device, int ordinal))                  \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", 2000,                                  \
    (int *value, CUdevice_attribute attribute, CUdevice device))                         \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", 7000,                          \
    (CUcontext * context, CUdevice device))                                              \
  X(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", 11000, (CUdevice device)) \
  X(cuCtxPushCurrent, "cuCtxPushCurrent_v2", 4000, (CUcontext context))                  \
  X(cuCtxPopCurrent, "cuCtxPopCurrent_v2", 4000, (CUcontext * context))                  \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx", 2010,                                      \
    (CUmodule * module, const void *image, unsigned numOptions, CUjit_option *options,   \
     void **optionValues))                                                               \
  X(cuModuleUnload, "cuModuleUnload", 2000, (CUmodule module))                           \
  X(cuModuleGetFunction, "cuModuleGetFunction", 2000,                                    \
    (CUfunction * function, CUmodule module, const char *name))                          \
  X(cuFuncSetAttribute, "cuFuncSetAttribute", 9000,                                      \
    (CUfunction function, CUfunction_attribute attribute, int value))                    \
  X(cuMemAlloc, "cuMemAlloc_v2", 3020, (CUdeviceptr * pointer, size_t bytes))            \
  X(cuMemFree, "cuMemFree_v2", 3020, (CUdeviceptr pointer))                              \
  X(cuMemGetInfo, "cuMemGetInfo_v2", 3020, (size_t * free, size_t * total))              \
  X(cuMemcpyHtoD, "cuMemcpyHtoD_v2", 3020,                                               \
    (CUdeviceptr dst, const void *src, size_t bytes))                                    \
  X(cuMemcpyDtoH, "cuMemcpyDtoH_v2", 3020, (void *dst, CUdeviceptr src, size_t bytes))   \
  X(cuMemcpyAsync, "cuMemcpyAsync", 4000,                                                \
    (CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream))                   \
  X(cuMemsetD8Async, "cuMemsetD8Async", 3020,                                            \
    (CUdeviceptr dst, unsigned char value, size_t count, CUstream stream))               \
  X(cuLaunchKernel, "cuLaunchKernel", 4000,                                              \
    (CUfunction function, unsigned gridX, unsigned gridY, unsigned gridZ,                \
     unsigned blockX, unsigned blockY, unsigned blockZ, unsigned sharedBytes,            \
     CUstream stream, void **params, void **extra))                                      \
  X(cuStreamCreate, "cuStreamCreate", 2000, (CUstream * stream, unsigned flags))         \
  X(cuStreamDestroy, "cuStreamDestroy_v2", 4000, (CUstream stream))                      \
  X(cuStreamSynchronize, "cuStreamSynchronize", 2000, (CUstream stream))                 \
  X(cuStreamGetCtx, "cuStreamGetCtx", 9020, (CUstream stream, CUcontext * context))      \
  X(cuStreamWaitEvent, "cuStreamWaitEvent", 3020,                                        \
    (CUstream stream, CUevent event, unsigned flags))                                    \
  X(cuEventCreate, "cuEventCreate", 2000, (CUevent * event, unsigned flags))             \
  X(cuEventRecord, "cuEventRecord", 2000, (CUevent event, CUstream stream))              \
  X(cuEventSynchronize, "cuEventSynchronize", 2000, (CUevent event))                     \
  X(cuEventDestroy, "cuEventDestroy_v2", 4000, (CUevent event))                          \
  X(cuStreamBeginCapture, "cuStreamBeginCapture_v2", 10010,                              \
    (CUstream stream, CUstreamCaptureMode mode))                                         \
  X(cuStreamEndCapture, "cuStreamEndCapture", 10000, (CUstream stream, CUgraph * graph)) \
  X(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags", 11040,                   \
    (CUgraphExec * exec, CUgraph graph, unsigned long long flags))                       \
  X(cuGraphLaunch, "cuGraphLaunch", 10000, (CUgraphExec exec, CUstream stream))          \
  X(cuGraphExecDestroy, "cuGraphExecDestroy", 10000, (CUgraphExec exec))                 \
  X(cuGraphDestroy, "cuGraphDestroy", 10000, (CUgraph graph))

// Entry points only some models need: a driver without them still loads every
// model; the runtime checks for them where it needs them (null when absent).
#define KILN_CUDA_OPTIONAL_DRIVER_SYMBOLS(X)                                              \
  X(cuTensorMapEncodeTiled, "cuTensorMapEncodeTiled", 12000,                             \
    (CUtensorMap * tensorMap, CUtensorMapDataType dataType, unsigned rank,               \
     void *globalAddress, const uint64_t *globalDim, const uint64_t *globalStrides,      \
     const unsigned *boxDim, const unsigned *elementStrides, int interleave,             \
     int swizzle, int l2Promotion, int oobFill))

struct DriverTable {
#define KILN_CUDA_DECLARE_ENTRY(name, exported, abiVersion, params)                       \
  CUresult (*name) params = nullptr;
  KILN_CUDA_DRIVER_SYMBOLS(KILN_CUDA_DECLARE_ENTRY)
  KILN_CUDA_OPTIONAL_DRIVER_SYMBOLS(KILN_CUDA_DECLARE_ENTRY)
#undef KILN_CUDA_DECLARE_ENTRY
};

// Finds one entry point; returns null when the driver lacks it.
using SymbolResolver = void *(*)(void *context, const char *name, const char *exported,
                                 int abiVersion);

// Fills every entry through `resolve`. Returns how many required ones are
// missing (optional ones stay null) and writes their names, comma-separated, to `missing` (may be truncated).
size_t resolveDriverTable(SymbolResolver resolve, void *context, DriverTable *table,
                          char *missing, size_t missingSize);

// Opens libcuda.so.1 once per process and resolves the table. Fails with
// KILN_ERROR_NO_DEVICE when there is no driver, KILN_ERROR_UNSUPPORTED when it
// lacks entry points; sets the last error.
kiln_status loadSystemDriver(const DriverTable **table);

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_DRIVER_H

//===- FakeDriver.cpp - a CUDA driver table of fakes for runtime tests ----===//
#include "FakeDriver.h"

#include <cstring>

namespace kiln::cuda::testing {
namespace {

FakeGpu gpu;
std::vector<std::string> functionNames; // CUfunction i+1 is functionNames[i]
CUdeviceptr nextAddress = 0x10000000;

template <typename Handle> Handle handle(uintptr_t value) {
  return reinterpret_cast<Handle>(value);
}
CUcontext primaryContext() { return handle<CUcontext>(0xC0); }

// Every call that can fail in a real driver goes through here first.
bool injectFailure(CUresult *result) {
  if (++gpu.fallibleCalls == gpu.failCallNumber) {
    *result = gpu.failCallResult;
    return true;
  }
  return false;
}
#define FAKE_FALLIBLE()                                                                   \
  do {                                                                                    \
    CUresult injected;                                                                    \
    if (injectFailure(&injected))                                                         \
      return injected;                                                                    \
  } while (0)

CUresult fakeInit(unsigned) {
  FAKE_FALLIBLE();
  return gpu.initResult;
}
CUresult fakeDriverGetVersion(int *version) {
  *version = gpu.driverVersion;
  return CUDA_SUCCESS;
}
const std::map<CUresult, std::pair<const char *, const char *>> &errorTexts() {
  static const std::map<CUresult, std::pair<const char *, const char *>> texts = {
      {CUDA_ERROR_OUT_OF_MEMORY, {"CUDA_ERROR_OUT_OF_MEMORY", "out of memory"}},
      {CUDA_ERROR_NO_DEVICE, {"CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"}},
      {CUDA_ERROR_INVALID_PTX, {"CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"}},
      {CUDA_ERROR_NO_BINARY_FOR_GPU,
       {"CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available"}},
      {CUDA_ERROR_UNSUPPORTED_PTX_VERSION,
       {"CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an "
                                              "unsupported toolchain."}},
      {CUDA_ERROR_NOT_FOUND, {"CUDA_ERROR_NOT_FOUND", "named symbol not found"}},
      {CUDA_ERROR_LAUNCH_FAILED, {"CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"}},
      {CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED,
       {"CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "operation not permitted when stream is "
                                                 "capturing"}},
      {CUDA_ERROR_UNKNOWN, {"CUDA_ERROR_UNKNOWN", "unknown error"}},
  };
  return texts;
}
CUresult fakeGetErrorName(CUresult error, const char **name) {
  auto found = errorTexts().find(error);
  if (found == errorTexts().end())
    return CUDA_ERROR_INVALID_VALUE;
  *name = found->second.first;
  return CUDA_SUCCESS;
}
CUresult fakeGetErrorString(CUresult error, const char **text) {
  auto found = errorTexts().find(error);
  if (found == errorTexts().end())
    return CUDA_ERROR_INVALID_VALUE;
  *text = found->second.second;
  return CUDA_SUCCESS;
}
CUresult fakeDeviceGetCount(int *count) {
  FAKE_FALLIBLE();
  *count = gpu.deviceCount;
  return CUDA_SUCCESS;
}
CUresult fakeDeviceGet(CUdevice *device, int ordinal) {
  FAKE_FALLIBLE();
  *device = ordinal;
  return CUDA_SUCCESS;
}
CUresult fakeDeviceGetAttribute(int *value, CUdevice_attribute attribute, CUdevice) {
  FAKE_FALLIBLE();
  if (attribute == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
    *value = gpu.computeMajor;
  else if (attribute == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
    *value = gpu.computeMinor;
  else
    return CUDA_ERROR_INVALID_VALUE;
  return CUDA_SUCCESS;
}
CUresult fakePrimaryCtxRetain(CUcontext *context, CUdevice) {
  FAKE_FALLIBLE();
  ++gpu.contextRetains;
  *context = primaryContext();
  return CUDA_SUCCESS;
}
CUresult fakePrimaryCtxRelease(CUdevice) {
  ++gpu.contextReleases;
  return CUDA_SUCCESS;
}
CUresult fakeCtxPush(CUcontext) {
  FAKE_FALLIBLE();
  ++gpu.pushes;
  return CUDA_SUCCESS;
}
CUresult fakeCtxPop(CUcontext *context) {
  ++gpu.pops;
  *context = primaryContext();
  return CUDA_SUCCESS;
}
CUresult fakeModuleLoadDataEx(CUmodule *module, const void *image, unsigned numOptions,
                              CUjit_option *options, void **values) {
  FAKE_FALLIBLE();
  gpu.loadedImage = static_cast<const char *>(image);
  if (gpu.moduleLoadResult != CUDA_SUCCESS) {
    char *log = nullptr;
    size_t logSize = 0;
    for (unsigned i = 0; i < numOptions; ++i) {
      if (options[i] == CU_JIT_ERROR_LOG_BUFFER)
        log = static_cast<char *>(values[i]);
      if (options[i] == CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES)
        logSize = reinterpret_cast<uintptr_t>(values[i]);
    }
    if (log && logSize)
      snprintf(log, logSize, "%s", gpu.jitErrorLog.c_str());
    return gpu.moduleLoadResult;
  }
  ++gpu.modulesLoaded;
  *module = handle<CUmodule>(0xB0);
  return CUDA_SUCCESS;
}
CUresult fakeModuleUnload(CUmodule) {
  ++gpu.modulesUnloaded;
  return CUDA_SUCCESS;
}
CUresult fakeModuleGetFunction(CUfunction *function, CUmodule, const char *name) {
  FAKE_FALLIBLE();
  if (!gpu.moduleKernels.count(name))
    return CUDA_ERROR_NOT_FOUND;
  *function = fakeFunction(name);
  return CUDA_SUCCESS;
}
CUresult fakeFuncSetAttribute(CUfunction, CUfunction_attribute attribute, int value) {
  FAKE_FALLIBLE();
  if (attribute != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES || value > 227 * 1024)
    return CUDA_ERROR_INVALID_VALUE;
  ++gpu.sharedAttributeSets;
  return CUDA_SUCCESS;
}
size_t liveBytes() {
  size_t total = 0;
  for (const auto &[address, bytes] : gpu.liveAllocations)
    total += bytes;
  return total;
}
CUresult fakeMemAlloc(CUdeviceptr *pointer, size_t bytes) {
  FAKE_FALLIBLE();
  if (bytes == 0)
    return CUDA_ERROR_INVALID_VALUE;
  if (++gpu.allocations == gpu.failAllocationNumber || bytes > gpu.deviceMemory - liveBytes()) {
    --gpu.allocations; // counts successful allocations only
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  *pointer = nextAddress;
  nextAddress += (bytes + 0xFFFF) & ~size_t(0xFFFF);
  gpu.liveAllocations[*pointer] = bytes;
  return CUDA_SUCCESS;
}
CUresult fakeMemFree(CUdeviceptr pointer) {
  if (!gpu.liveAllocations.erase(pointer))
    return CUDA_ERROR_INVALID_VALUE;
  ++gpu.frees;
  return CUDA_SUCCESS;
}
CUresult fakeMemGetInfo(size_t *free, size_t *total) {
  *total = gpu.deviceMemory;
  *free = gpu.deviceMemory - liveBytes();
  return CUDA_SUCCESS;
}
// Copies into one live allocation only.
CUresult fakeMemcpyHtoD(CUdeviceptr dst, const void *src, size_t bytes) {
  FAKE_FALLIBLE();
  auto inside = gpu.liveAllocations.upper_bound(dst);
  if (inside == gpu.liveAllocations.begin())
    return CUDA_ERROR_INVALID_VALUE;
  --inside;
  if (dst + bytes > inside->first + inside->second)
    return CUDA_ERROR_INVALID_VALUE;
  gpu.hostToDevice[dst] = std::string(static_cast<const char *>(src), bytes);
  return CUDA_SUCCESS;
}
CUresult fakeTensorMapEncodeTiled(CUtensorMap *map, CUtensorMapDataType dataType, unsigned rank,
                                  void *address, const uint64_t *globalDim,
                                  const uint64_t *globalStrides, const unsigned *boxDim,
                                  const unsigned *elementStrides, int interleave, int swizzle,
                                  int l2Promotion, int oobFill) {
  FAKE_FALLIBLE();
  if (rank != 2 || elementStrides[0] != 1 || elementStrides[1] != 1 || interleave != 0 ||
      oobFill != 0 || boxDim[0] == 0 || boxDim[0] > 256 || boxDim[1] == 0 || boxDim[1] > 256)
    return CUDA_ERROR_INVALID_VALUE;
  FakeTensorMapEncode encode;
  encode.dataType = dataType;
  encode.address = reinterpret_cast<uintptr_t>(address);
  encode.cols = globalDim[0];
  encode.rows = globalDim[1];
  encode.rowStride = globalStrides[0];
  encode.boxCols = boxDim[0];
  encode.boxRows = boxDim[1];
  encode.swizzle = swizzle;
  encode.l2Promotion = l2Promotion;
  encode.alignedOutput = reinterpret_cast<uintptr_t>(map) % 64 == 0;
  gpu.tensorMapEncodes.push_back(encode);
  memset(map, 0, sizeof(*map));
  map->opaque[0] = encode.address;
  return CUDA_SUCCESS;
}
CUresult fakeMemcpyDtoH(void *, CUdeviceptr, size_t) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult fakeMemcpyAsync(CUdeviceptr, CUdeviceptr, size_t, CUstream) {
  FAKE_FALLIBLE();
  ++gpu.transfers;
  return CUDA_SUCCESS;
}
CUresult fakeMemsetD8Async(CUdeviceptr, unsigned char, size_t, CUstream) {
  FAKE_FALLIBLE();
  ++gpu.transfers;
  return CUDA_SUCCESS;
}
CUresult fakeLaunchKernel(CUfunction function, unsigned, unsigned, unsigned, unsigned,
                          unsigned, unsigned, unsigned sharedBytes, CUstream, void **,
                          void **) {
  FAKE_FALLIBLE();
  if (gpu.launchResult != CUDA_SUCCESS)
    return gpu.launchResult;
  gpu.launches.push_back(fakeFunctionName(function));
  gpu.launchesWhileCapturing += gpu.capturing;
  gpu.lastSharedBytes = sharedBytes;
  return CUDA_SUCCESS;
}
CUresult fakeStreamCreate(CUstream *, unsigned) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult fakeStreamDestroy(CUstream) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult fakeStreamSynchronize(CUstream) { return CUDA_ERROR_NOT_SUPPORTED; }
CUresult fakeStreamGetCtx(CUstream stream, CUcontext *context) {
  FAKE_FALLIBLE();
  *context = stream == foreignFakeStream() ? handle<CUcontext>(0xC1) : primaryContext();
  return CUDA_SUCCESS;
}
CUresult fakeStreamWaitEvent(CUstream, CUevent, unsigned) {
  FAKE_FALLIBLE();
  ++gpu.streamWaits;
  return CUDA_SUCCESS;
}
CUresult fakeEventCreate(CUevent *event, unsigned) {
  FAKE_FALLIBLE();
  ++gpu.eventsCreated;
  *event = handle<CUevent>(0xE0);
  return CUDA_SUCCESS;
}
CUresult fakeEventRecord(CUevent, CUstream) {
  FAKE_FALLIBLE();
  ++gpu.eventRecords;
  return CUDA_SUCCESS;
}
CUresult fakeEventSynchronize(CUevent) { return CUDA_SUCCESS; }
CUresult fakeEventDestroy(CUevent) {
  ++gpu.eventsDestroyed;
  return CUDA_SUCCESS;
}
CUresult fakeBeginCapture(CUstream stream, CUstreamCaptureMode) {
  FAKE_FALLIBLE();
  if (!stream || gpu.capturing)
    return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
  gpu.capturing = true;
  return CUDA_SUCCESS;
}
CUresult fakeEndCapture(CUstream, CUgraph *graph) {
  if (!gpu.capturing)
    return CUDA_ERROR_INVALID_VALUE;
  gpu.capturing = false;
  ++gpu.graphsCreated;
  *graph = handle<CUgraph>(0xA0);
  return CUDA_SUCCESS;
}
CUresult fakeGraphInstantiate(CUgraphExec *exec, CUgraph, unsigned long long) {
  FAKE_FALLIBLE();
  ++gpu.execsCreated;
  *exec = handle<CUgraphExec>(0xA000 + gpu.execsCreated);
  return CUDA_SUCCESS;
}
CUresult fakeGraphLaunch(CUgraphExec, CUstream) {
  FAKE_FALLIBLE();
  ++gpu.graphLaunches;
  return CUDA_SUCCESS;
}
CUresult fakeGraphExecDestroy(CUgraphExec) {
  ++gpu.execsDestroyed;
  return CUDA_SUCCESS;
}
CUresult fakeGraphDestroy(CUgraph) {
  ++gpu.graphsDestroyed;
  return CUDA_SUCCESS;
}

} // namespace

FakeGpu &fakeGpu() { return gpu; }

void resetFakeGpu() {
  gpu = FakeGpu();
  functionNames.clear();
}

CUstream fakeStream() { return handle<CUstream>(0x5000); }
CUstream foreignFakeStream() { return handle<CUstream>(0x6000); }

CUfunction fakeFunction(const std::string &name) {
  for (size_t i = 0; i < functionNames.size(); ++i)
    if (functionNames[i] == name)
      return handle<CUfunction>(i + 1);
  functionNames.push_back(name);
  return handle<CUfunction>(functionNames.size());
}

uint64_t fakeTensorMapAddress(const std::string &mapBytes) {
  uint64_t address = 0;
  if (mapBytes.size() >= sizeof(address))
    memcpy(&address, mapBytes.data(), sizeof(address));
  return address;
}

std::string fakeFunctionName(CUfunction function) {
  size_t index = reinterpret_cast<uintptr_t>(function);
  return index >= 1 && index <= functionNames.size() ? functionNames[index - 1] : "?";
}

DriverTable fakeDriverTable() {
  DriverTable table;
  table.cuInit = fakeInit;
  table.cuDriverGetVersion = fakeDriverGetVersion;
  table.cuGetErrorName = fakeGetErrorName;
  table.cuGetErrorString = fakeGetErrorString;
  table.cuDeviceGetCount = fakeDeviceGetCount;
  table.cuDeviceGet = fakeDeviceGet;
  table.cuDeviceGetAttribute = fakeDeviceGetAttribute;
  table.cuDevicePrimaryCtxRetain = fakePrimaryCtxRetain;
  table.cuDevicePrimaryCtxRelease = fakePrimaryCtxRelease;
  table.cuCtxPushCurrent = fakeCtxPush;
  table.cuCtxPopCurrent = fakeCtxPop;
  table.cuModuleLoadDataEx = fakeModuleLoadDataEx;
  table.cuModuleUnload = fakeModuleUnload;
  table.cuModuleGetFunction = fakeModuleGetFunction;
  table.cuFuncSetAttribute = fakeFuncSetAttribute;
  table.cuMemAlloc = fakeMemAlloc;
  table.cuMemFree = fakeMemFree;
  table.cuMemGetInfo = fakeMemGetInfo;
  table.cuMemcpyHtoD = fakeMemcpyHtoD;
  table.cuMemcpyDtoH = fakeMemcpyDtoH;
  table.cuMemcpyAsync = fakeMemcpyAsync;
  table.cuMemsetD8Async = fakeMemsetD8Async;
  table.cuLaunchKernel = fakeLaunchKernel;
  table.cuStreamCreate = fakeStreamCreate;
  table.cuStreamDestroy = fakeStreamDestroy;
  table.cuStreamSynchronize = fakeStreamSynchronize;
  table.cuStreamGetCtx = fakeStreamGetCtx;
  table.cuStreamWaitEvent = fakeStreamWaitEvent;
  table.cuEventCreate = fakeEventCreate;
  table.cuEventRecord = fakeEventRecord;
  table.cuEventSynchronize = fakeEventSynchronize;
  table.cuEventDestroy = fakeEventDestroy;
  table.cuStreamBeginCapture = fakeBeginCapture;
  table.cuStreamEndCapture = fakeEndCapture;
  table.cuGraphInstantiateWithFlags = fakeGraphInstantiate;
  table.cuGraphLaunch = fakeGraphLaunch;
  table.cuGraphExecDestroy = fakeGraphExecDestroy;
  table.cuGraphDestroy = fakeGraphDestroy;
  table.cuTensorMapEncodeTiled = fakeTensorMapEncodeTiled;
  return table;
}

} // namespace kiln::cuda::testing

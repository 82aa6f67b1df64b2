//===- FakeDriver.h - a CUDA driver table of fakes for runtime tests ------===//
//
// Simulates one GPU: counts every resource it hands out and gets back, can
// fail the Nth fallible call, the Nth allocation (out of memory), module
// loading (with a JIT log) or launches, and records graph captures.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_UNIT_RUNTIME_FAKE_DRIVER_H
#define KILN_TEST_UNIT_RUNTIME_FAKE_DRIVER_H

#include "driver.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace kiln::cuda::testing {

// What one cuTensorMapEncodeTiled call was asked for.
struct FakeTensorMapEncode {
  int dataType = -1;
  uint64_t address = 0;
  uint64_t cols = 0, rows = 0, rowStride = 0;
  unsigned boxCols = 0, boxRows = 0;
  int swizzle = -1, l2Promotion = -1;
  bool alignedOutput = false; // the CUtensorMap was 64-byte aligned
};

struct FakeGpu {
  // Configuration.
  int deviceCount = 1;
  int computeMajor = 9, computeMinor = 0;
  int driverVersion = 12040;
  CUresult initResult = CUDA_SUCCESS;
  size_t deviceMemory = size_t(16) << 30;
  int failAllocationNumber = 0; // the Nth cuMemAlloc (1-based) runs out of memory
  int failCallNumber = 0;       // the Nth fallible call fails with failCallResult
  CUresult failCallResult = CUDA_ERROR_UNKNOWN;
  CUresult moduleLoadResult = CUDA_SUCCESS;
  std::string jitErrorLog;
  std::set<std::string> moduleKernels = {"vector_add", "scale"};
  CUresult launchResult = CUDA_SUCCESS;

  // Observations.
  int fallibleCalls = 0;
  int allocations = 0, frees = 0;
  std::map<CUdeviceptr, size_t> liveAllocations;
  int contextRetains = 0, contextReleases = 0, pushes = 0, pops = 0;
  int modulesLoaded = 0, modulesUnloaded = 0;
  std::string loadedImage; // bytes of the last image given to cuModuleLoadDataEx
  int eventsCreated = 0, eventsDestroyed = 0, eventRecords = 0, streamWaits = 0;
  int graphsCreated = 0, graphsDestroyed = 0, execsCreated = 0, execsDestroyed = 0;
  int graphLaunches = 0;
  int transfers = 0; // memcpy and memset
  bool capturing = false;
  std::vector<std::string> launches; // kernel names, in order
  int launchesWhileCapturing = 0;
  unsigned lastSharedBytes = 0;
  int sharedAttributeSets = 0;
  std::vector<FakeTensorMapEncode> tensorMapEncodes;
  // cuMemcpyHtoD: the last bytes copied to each device address.
  std::map<CUdeviceptr, std::string> hostToDevice;
};

// The fake encodes a map as its global address in the first 8 bytes.
uint64_t fakeTensorMapAddress(const std::string &mapBytes);

// The fake GPU the table below acts on; reset before each test.
FakeGpu &fakeGpu();
void resetFakeGpu();
DriverTable fakeDriverTable();

// Handles the fake hands out.
CUstream fakeStream();        // a stream of the fake primary context
CUstream foreignFakeStream(); // a stream of some other context
CUfunction fakeFunction(const std::string &name);
std::string fakeFunctionName(CUfunction function);

} // namespace kiln::cuda::testing

#endif // KILN_TEST_UNIT_RUNTIME_FAKE_DRIVER_H

//===- runtime.cpp - the kiln_cuda_* C API --------------------------------===//
//
// Linked into every GPU model .so, which may depend on libc, libdl and
// libpthread only: no exceptions, RTTI, operator new or C++ library calls;
// memory comes from malloc, ownership is held by RAII members.
//
//===----------------------------------------------------------------------===//
#include "kiln/kiln_cuda.h"

#include "error.h"
#include "graph_cache.h"
#include "module_image.h"
#include "runtime_internal.h"
#include "tensor_maps.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <pthread.h>

using namespace kiln::cuda;

namespace {

constexpr unsigned kDefaultSharedLimit = 48 * 1024;
constexpr uint64_t kDriverAllocationAlignment = 256;

// The legacy default stream (NULL or CU_STREAM_LEGACY) cannot be captured.
bool isLegacyDefaultStream(CUstream stream) {
  return stream == nullptr || stream == reinterpret_cast<CUstream>(kLegacyStreamHandle);
}

class Lock {
public:
  explicit Lock(pthread_mutex_t &mutex) : mutex(mutex) { pthread_mutex_lock(&mutex); }
  ~Lock() { pthread_mutex_unlock(&mutex); }
  Lock(const Lock &) = delete;
  Lock &operator=(const Lock &) = delete;

private:
  pthread_mutex_t &mutex;
};

// Makes the model's context current for a scope, restoring the caller's.
class ContextScope {
public:
  ContextScope(const DriverTable &driver, CUcontext context)
      : driver(driver), result(driver.cuCtxPushCurrent(context)) {}
  ~ContextScope() {
    if (result == CUDA_SUCCESS) {
      CUcontext popped;
      driver.cuCtxPopCurrent(&popped);
    }
  }
  ContextScope(const ContextScope &) = delete;
  ContextScope &operator=(const ContextScope &) = delete;

  kiln_status status() const {
    if (result == CUDA_SUCCESS)
      return KILN_OK;
    return failCuda(driver, result, "making the model's CUDA context current");
  }

private:
  const DriverTable &driver;
  CUresult result;
};

// A malloc'd array that frees itself.
template <typename T> class HostArray {
public:
  HostArray() = default;
  HostArray(const HostArray &) = delete;
  HostArray &operator=(const HostArray &) = delete;
  ~HostArray() { free(items); }

  bool allocate(size_t newCount) {
    T *fresh = static_cast<T *>(calloc(newCount ? newCount : 1, sizeof(T)));
    if (!fresh)
      return false;
    free(items);
    items = fresh;
    count = newCount;
    return true;
  }
  void swap(HostArray &other) {
    T *otherItems = other.items;
    size_t otherCount = other.count;
    other.items = items, other.count = count;
    items = otherItems, count = otherCount;
  }
  T &operator[](size_t i) { return items[i]; }
  const T &operator[](size_t i) const { return items[i]; }
  T *data() { return items; }
  const T *data() const { return items; }
  size_t size() const { return count; }

private:
  T *items = nullptr;
  size_t count = 0;
};

void formatBytes(uint64_t bytes, char *buffer, size_t size) {
  if (bytes < (1ull << 20))
    snprintf(buffer, size, "%" PRIu64 " bytes", bytes);
  else if (bytes >= (1ull << 30))
    snprintf(buffer, size, "%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  else
    snprintf(buffer, size, "%.2f MiB", static_cast<double>(bytes) / (1ull << 20));
}

} // namespace

struct kiln_cuda_runtime {
  explicit kiln_cuda_runtime(const DriverTable &driver)
      : driver(driver), graphs(driver), tensorMaps(driver) {
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&mutex, &attributes);
    pthread_mutexattr_destroy(&attributes);
  }
  ~kiln_cuda_runtime();
  kiln_cuda_runtime(const kiln_cuda_runtime &) = delete;
  kiln_cuda_runtime &operator=(const kiln_cuda_runtime &) = delete;

  kiln_status initialize(const kiln_cuda_model_desc &desc);
  void releaseContextResources();
  kiln_status loadKernels(const kiln_cuda_model_desc &desc);
  kiln_status replacePlan(const kiln_arena_placement *buffers, size_t count);
  kiln_status captureAndLaunch(CUstream stream, const void *key, size_t keySize,
                               kiln_cuda_enqueue_fn enqueue, void *user);
  kiln_status enqueueDirectly(CUstream stream, kiln_cuda_enqueue_fn enqueue, void *user);
  kiln_status checkStream(CUstream stream);
  kiln_status checkInRun(const char *function);

  const DriverTable &driver;
  pthread_mutex_t mutex;
  CUdevice device = 0;
  bool retainedContext = false;
  CUcontext context = nullptr;
  unsigned sm = 0;
  CUmodule module = nullptr;
  size_t imageIndex = 0; // of desc.images, the one loaded
  bool sm90a = false;    // the loaded image is an sm_90a one

  HostArray<CUfunction> kernels;
  HostArray<unsigned> kernelSharedLimit; // dynamic shared bytes each kernel allows now
  HostArray<const char *> kernelNames;   // into kernelNameText
  HostArray<char> kernelNameText;

  CUdeviceptr arenaAllocation = 0;
  uint64_t arenaAllocationBytes = 0;
  CUdeviceptr arenaBase = 0; // arenaAllocation aligned to the plan's largest alignment
  HostArray<kiln_arena_placement> plan;

  CUevent runDone = nullptr; // recorded after each run: the arena is free again
  bool runRecorded = false;
  GraphCache graphs;
  TensorMapTable tensorMaps; // sm_90a images only

  bool inRun = false;
  CUstream activeStream = nullptr;
};

kiln_cuda_runtime::~kiln_cuda_runtime() {
  if (retainedContext) {
    releaseContextResources();
    driver.cuDevicePrimaryCtxRelease(device);
  }
  pthread_mutex_destroy(&mutex);
}

void kiln_cuda_runtime::releaseContextResources() {
  ContextScope scope(driver, context);
  if (runRecorded)
    driver.cuEventSynchronize(runDone);
  graphs.clear();
  tensorMaps.release();
  if (arenaAllocation)
    driver.cuMemFree(arenaAllocation);
  if (runDone)
    driver.cuEventDestroy(runDone);
  if (module)
    driver.cuModuleUnload(module);
}

kiln_status kiln_cuda_runtime::loadKernels(const kiln_cuda_model_desc &desc) {
  size_t textBytes = 0;
  for (size_t i = 0; i < desc.num_kernels; ++i) {
    if (!desc.kernel_names[i])
      return fail(KILN_ERROR_INVALID_ARGUMENT, "kernel name %zu is null", i);
    textBytes += strlen(desc.kernel_names[i]) + 1;
  }
  if (!kernels.allocate(desc.num_kernels) || !kernelSharedLimit.allocate(desc.num_kernels) ||
      !kernelNames.allocate(desc.num_kernels) || !kernelNameText.allocate(textBytes))
    return fail(KILN_ERROR_OUT_OF_MEMORY, "out of host memory for %zu kernels",
                desc.num_kernels);
  char *text = kernelNameText.data();
  for (size_t i = 0; i < desc.num_kernels; ++i) {
    size_t length = strlen(desc.kernel_names[i]) + 1;
    memcpy(text, desc.kernel_names[i], length);
    kernelNames[i] = text;
    text += length;
    kernelSharedLimit[i] = kDefaultSharedLimit;
    bool sm90aOnly = desc.kernel_flags && (desc.kernel_flags[i] & KILN_CUDA_KERNEL_SM90A_ONLY);
    if (sm90aOnly && !sm90a)
      continue; // not in this image; kiln_cuda_launch refuses it
    CUresult result = driver.cuModuleGetFunction(&kernels[i], module, kernelNames[i]);
    if (result != CUDA_SUCCESS) {
      char what[256];
      snprintf(what, sizeof(what), "kernel '%s' is not in the loaded sm_%u image",
               kernelNames[i], sm);
      return failCuda(driver, result, what);
    }
  }
  return KILN_OK;
}

kiln_status kiln_cuda_runtime::initialize(const kiln_cuda_model_desc &desc) {
  int major = 0, minor = 0;
  CUresult result =
      driver.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  if (result == CUDA_SUCCESS)
    result =
        driver.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  if (result != CUDA_SUCCESS)
    return failCuda(driver, result, "reading the GPU's compute capability");
  sm = static_cast<unsigned>(major * 10 + minor);

  result = driver.cuDevicePrimaryCtxRetain(&context, device);
  if (result != CUDA_SUCCESS)
    return failCuda(driver, result, "retaining the GPU's primary CUDA context");
  retainedContext = true;
  ContextScope scope(driver, context);
  if (kiln_status status = scope.status())
    return status;
  if (kiln_status status =
          loadBestModule(driver, desc.images, desc.num_images, sm, &module, &imageIndex))
    return status;
  const kiln_cuda_image &loaded = desc.images[imageIndex];
  sm90a = loaded.arch_specific && loaded.sm == 90;
  if (sm90a)
    if (kiln_status status = tensorMaps.initialize(desc.tensor_maps, desc.num_tensor_maps))
      return status;
  if (kiln_status status = loadKernels(desc))
    return status;
  result = driver.cuEventCreate(&runDone, CU_EVENT_DISABLE_TIMING);
  if (result != CUDA_SUCCESS)
    return failCuda(driver, result, "creating the model's CUDA event");
  return replacePlan(desc.buffers, desc.num_buffers);
}

// Needs the context current and the lock held. Allocates the new arena before
// freeing the old one, so a failure leaves the previous plan and arena intact.
kiln_status kiln_cuda_runtime::replacePlan(const kiln_arena_placement *buffers, size_t count) {
  if (count && !buffers)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "the arena plan is null");
  uint64_t planBytes = 0, maxAlignment = 1;
  char problem[256];
  if (kiln_status status =
          kiln_arena_check(buffers, count, &planBytes, &maxAlignment, problem, sizeof(problem)))
    return fail(status, "bad arena plan: %s", problem);
  uint64_t neededBytes = planBytes;
  if (maxAlignment > kDriverAllocationAlignment &&
      __builtin_add_overflow(planBytes, maxAlignment, &neededBytes))
    return fail(KILN_ERROR_INVALID_ARGUMENT, "bad arena plan: the arena size overflows");

  HostArray<kiln_arena_placement> newPlan;
  if (!newPlan.allocate(count))
    return fail(KILN_ERROR_OUT_OF_MEMORY, "out of host memory for %zu arena buffers", count);
  if (count)
    memcpy(newPlan.data(), buffers, count * sizeof(kiln_arena_placement));
  bool samePlan = count == plan.size() &&
                  (count == 0 || memcmp(plan.data(), buffers, count * sizeof(*buffers)) == 0);
  bool arenaMoves = neededBytes > arenaAllocationBytes;
  CUdeviceptr allocation = arenaAllocation;
  if (arenaMoves) {
    CUresult result = driver.cuMemAlloc(&allocation, neededBytes);
    if (result != CUDA_SUCCESS) {
      size_t freeBytes = 0, totalBytes = 0;
      driver.cuMemGetInfo(&freeBytes, &totalBytes);
      char wanted[32], available[32], what[256];
      formatBytes(neededBytes, wanted, sizeof(wanted));
      formatBytes(freeBytes, available, sizeof(available));
      snprintf(what, sizeof(what),
               "allocating the model's %s device-memory arena (%s free on the GPU)%s", wanted,
               available, arenaAllocation ? "; the previous arena stays usable" : "");
      return failCuda(driver, result, what);
    }
  }
  CUdeviceptr base = (allocation + maxAlignment - 1) & ~(CUdeviceptr)(maxAlignment - 1);
  bool buffersMove = arenaMoves || !samePlan;
  if (buffersMove && tensorMaps.size()) {
    if (kiln_status status = tensorMaps.encode(base, buffers, count)) {
      if (arenaMoves)
        driver.cuMemFree(allocation);
      return status;
    }
  }
  // Runs still in flight use the old arena and maps.
  if (buffersMove && runRecorded)
    driver.cuEventSynchronize(runDone);
  if (arenaMoves) {
    if (arenaAllocation)
      driver.cuMemFree(arenaAllocation);
    arenaAllocation = allocation;
    arenaAllocationBytes = neededBytes;
  }
  if (buffersMove)
    graphs.clear(); // they hold the old buffer addresses
  arenaBase = base;
  plan.swap(newPlan);
  // After the commit: a failed copy leaves the maps refused until the next plan.
  if (buffersMove && tensorMaps.size())
    return tensorMaps.upload();
  return KILN_OK;
}

kiln_status kiln_cuda_runtime::checkStream(CUstream stream) {
  if (!stream)
    return KILN_OK;
  CUcontext streamContext = nullptr;
  CUresult result = driver.cuStreamGetCtx(stream, &streamContext);
  if (result != CUDA_SUCCESS)
    return failCuda(driver, result, "reading the caller's stream's context");
  if (streamContext != context)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "the stream belongs to another CUDA context than the model's (the primary "
                "context of device %d): create the model on the stream's device",
                device);
  return KILN_OK;
}

kiln_status kiln_cuda_runtime::checkInRun(const char *function) {
  if (!inRun)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "%s may only be called from the enqueue function of kiln_cuda_run", function);
  return KILN_OK;
}

kiln_status kiln_cuda_runtime::enqueueDirectly(CUstream stream, kiln_cuda_enqueue_fn enqueue,
                                                void *user) {
  inRun = true;
  activeStream = stream;
  kiln_status status = enqueue(this, user);
  inRun = false;
  activeStream = nullptr;
  return status;
}

kiln_status kiln_cuda_runtime::captureAndLaunch(CUstream stream, const void *key,
                                                 size_t keySize, kiln_cuda_enqueue_fn enqueue,
                                                 void *user) {
  CUgraphExec exec = graphs.find(key, keySize);
  if (!exec) {
    CUresult result = driver.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
    if (result != CUDA_SUCCESS)
      return failCuda(driver, result, "starting a CUDA graph capture on the caller's stream");
    kiln_status status = enqueueDirectly(stream, enqueue, user);
    CUgraph graph = nullptr;
    result = driver.cuStreamEndCapture(stream, &graph); // always ends the capture
    if (status == KILN_OK && result != CUDA_SUCCESS)
      status = failCuda(driver, result, "capturing the model's kernels into a CUDA graph");
    if (status == KILN_OK) {
      result = driver.cuGraphInstantiateWithFlags(&exec, graph, 0);
      if (result != CUDA_SUCCESS)
        status = failCuda(driver, result, "instantiating the captured CUDA graph");
    }
    if (graph)
      driver.cuGraphDestroy(graph);
    if (status != KILN_OK)
      return status;
    if (!graphs.insert(key, keySize, exec))
      return fail(KILN_ERROR_OUT_OF_MEMORY, "out of host memory caching a CUDA graph");
  }
  CUresult result = driver.cuGraphLaunch(exec, stream);
  if (result != CUDA_SUCCESS)
    return failCuda(driver, result, "launching the model's CUDA graph");
  return KILN_OK;
}

namespace {
// A copy or fill of `bytes` on the active run's stream (nothing for 0 bytes).
template <typename DriverCall>
kiln_status enqueueTransfer(kiln_cuda_runtime *runtime, const char *function, const char *what,
                            size_t bytes, DriverCall call) {
  if (!runtime)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "%s: null handle", function);
  Lock lock(runtime->mutex);
  if (kiln_status status = runtime->checkInRun(function))
    return status;
  if (bytes == 0)
    return KILN_OK;
  CUresult result = call(runtime->activeStream);
  return result == CUDA_SUCCESS ? KILN_OK : failCuda(runtime->driver, result, what);
}
} // namespace

kiln_status kiln::cuda::createRuntime(const DriverTable &driver,
                                      const kiln_cuda_model_desc *desc, int deviceOrdinal,
                                      kiln_cuda_runtime **out) {
  if (!out)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_create: null output handle");
  *out = nullptr;
  if (!desc || (desc->num_images && !desc->images) ||
      (desc->num_kernels && !desc->kernel_names))
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_create: bad model description");

  CUresult result = driver.cuInit(0);
  if (result == CUDA_ERROR_NO_DEVICE)
    return fail(KILN_ERROR_NO_DEVICE, "no CUDA device (the CUDA driver is installed but "
                                      "found no GPU: CUDA_ERROR_NO_DEVICE)");
  if (result == CUDA_ERROR_STUB_LIBRARY)
    return fail(KILN_ERROR_NO_DEVICE,
                "no CUDA driver (libcuda.so.1 is the CUDA toolkit's stub library, not a "
                "driver: CUDA_ERROR_STUB_LIBRARY); install the NVIDIA driver");
  if (result != CUDA_SUCCESS)
    return failCuda(driver, result, "initializing the CUDA driver");
  int deviceCount = 0;
  result = driver.cuDeviceGetCount(&deviceCount);
  if (result != CUDA_SUCCESS)
    return failCuda(driver, result, "counting CUDA devices");
  if (deviceCount == 0)
    return fail(KILN_ERROR_NO_DEVICE, "no CUDA device (the CUDA driver found no GPU)");
  if (deviceOrdinal < 0 || deviceOrdinal >= deviceCount)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "CUDA device %d does not exist: this machine has %d (ordinals 0 to %d)",
                deviceOrdinal, deviceCount, deviceCount - 1);

  void *memory = malloc(sizeof(kiln_cuda_runtime));
  if (!memory)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "out of host memory for the model's handle");
  kiln_cuda_runtime *runtime = new (memory) kiln_cuda_runtime(driver);
  result = driver.cuDeviceGet(&runtime->device, deviceOrdinal);
  kiln_status status = result == CUDA_SUCCESS
                           ? runtime->initialize(*desc)
                           : failCuda(driver, result, "opening the CUDA device");
  if (status != KILN_OK) {
    kiln_cuda_destroy(runtime);
    return status;
  }
  *out = runtime;
  return KILN_OK;
}

extern "C" {

kiln_status kiln_cuda_create(const kiln_cuda_model_desc *desc, int device_ordinal,
                             kiln_cuda_runtime **out) {
  if (out)
    *out = nullptr;
  const DriverTable *driver = nullptr;
  if (kiln_status status = loadSystemDriver(&driver))
    return status;
  return createRuntime(*driver, desc, device_ordinal, out);
}

void kiln_cuda_destroy(kiln_cuda_runtime *runtime) {
  if (!runtime)
    return;
  runtime->~kiln_cuda_runtime();
  free(runtime);
}

kiln_status kiln_cuda_set_plan(kiln_cuda_runtime *runtime, const kiln_arena_placement *buffers,
                               size_t num_buffers) {
  if (!runtime)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_set_plan: null handle");
  Lock lock(runtime->mutex);
  if (runtime->inRun)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_set_plan inside a run's enqueue");
  ContextScope scope(runtime->driver, runtime->context);
  if (kiln_status status = scope.status())
    return status;
  return runtime->replacePlan(buffers, num_buffers);
}

uint64_t kiln_cuda_arena_bytes(const kiln_cuda_runtime *runtime) {
  return runtime ? runtime->arenaAllocationBytes : 0;
}

kiln_status kiln_cuda_run(kiln_cuda_runtime *runtime, void *stream, const void *graph_key,
                          size_t graph_key_size, kiln_cuda_enqueue_fn enqueue, void *user) {
  if (!runtime || !enqueue)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_run: null handle or enqueue function");
  if (graph_key_size && !graph_key)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_run: null graph key");
  Lock lock(runtime->mutex);
  if (runtime->inRun)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_run inside a run's enqueue");
  const DriverTable &driver = runtime->driver;
  ContextScope scope(driver, runtime->context);
  if (kiln_status status = scope.status())
    return status;
  CUstream cuStream = static_cast<CUstream>(stream);
  if (kiln_status status = runtime->checkStream(cuStream))
    return status;
  // Order this run after the previous one, which may be on another stream.
  if (runtime->runRecorded) {
    CUresult result = driver.cuStreamWaitEvent(cuStream, runtime->runDone, 0);
    if (result != CUDA_SUCCESS)
      return failCuda(driver, result, "ordering the run after the previous one");
  }
  bool useGraph = graph_key_size != 0 && !isLegacyDefaultStream(cuStream);
  kiln_status status =
      useGraph ? runtime->captureAndLaunch(cuStream, graph_key, graph_key_size, enqueue, user)
               : runtime->enqueueDirectly(cuStream, enqueue, user);
  // Recorded even after a failure: work enqueued before it still uses the arena.
  CUresult result = driver.cuEventRecord(runtime->runDone, cuStream);
  if (result == CUDA_SUCCESS)
    runtime->runRecorded = true;
  else if (status == KILN_OK)
    status = failCuda(driver, result, "recording the end of the run");
  return status;
}

kiln_status kiln_cuda_buffer(kiln_cuda_runtime *runtime, size_t index, uint64_t *device_ptr) {
  if (!runtime || !device_ptr)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_buffer: null argument");
  Lock lock(runtime->mutex);
  if (kiln_status status = runtime->checkInRun("kiln_cuda_buffer"))
    return status;
  if (index >= runtime->plan.size())
    return fail(KILN_ERROR_INVALID_ARGUMENT, "arena buffer %zu does not exist (the plan has %zu)",
                index, runtime->plan.size());
  *device_ptr = runtime->arenaBase + runtime->plan[index].offset;
  return KILN_OK;
}

kiln_status kiln_cuda_launch(kiln_cuda_runtime *runtime, size_t kernel_index,
                             const uint32_t grid[3], const uint32_t block[3],
                             uint32_t dynamic_shared_bytes, void **params) {
  if (!runtime || !grid || !block)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_launch: null argument");
  Lock lock(runtime->mutex);
  if (kiln_status status = runtime->checkInRun("kiln_cuda_launch"))
    return status;
  if (kernel_index >= runtime->kernels.size())
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kernel %zu does not exist (the model has %zu)",
                kernel_index, runtime->kernels.size());
  const DriverTable &driver = runtime->driver;
  CUfunction kernel = runtime->kernels[kernel_index];
  const char *name = runtime->kernelNames[kernel_index];
  if (!kernel)
    return fail(KILN_ERROR_UNSUPPORTED,
                "kernel '%s' exists only in sm_90a images, but this GPU (sm_%u) loaded another "
                "image",
                name, runtime->sm);
  char what[384];
  if (dynamic_shared_bytes > runtime->kernelSharedLimit[kernel_index]) {
    CUresult result = driver.cuFuncSetAttribute(
        kernel, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
        static_cast<int>(dynamic_shared_bytes));
    if (result != CUDA_SUCCESS) {
      snprintf(what, sizeof(what), "allowing kernel '%s' %u bytes of dynamic shared memory",
               name, dynamic_shared_bytes);
      return failCuda(driver, result, what);
    }
    runtime->kernelSharedLimit[kernel_index] = dynamic_shared_bytes;
  }
  CUresult result = driver.cuLaunchKernel(kernel, grid[0], grid[1], grid[2], block[0],
                                          block[1], block[2], dynamic_shared_bytes,
                                          runtime->activeStream, params, nullptr);
  if (result != CUDA_SUCCESS) {
    snprintf(what, sizeof(what),
             "launching kernel '%s' (grid %ux%ux%u, block %ux%ux%u, %u B shared)", name,
             grid[0], grid[1], grid[2], block[0], block[1], block[2], dynamic_shared_bytes);
    return failCuda(driver, result, what);
  }
  return KILN_OK;
}

kiln_status kiln_cuda_memcpy(kiln_cuda_runtime *runtime, uint64_t dst, uint64_t src,
                             size_t bytes) {
  return enqueueTransfer(runtime, "kiln_cuda_memcpy", "copying device memory", bytes,
                         [&](CUstream stream) {
                           return runtime->driver.cuMemcpyAsync(dst, src, bytes, stream);
                         });
}

kiln_status kiln_cuda_memset(kiln_cuda_runtime *runtime, uint64_t dst, uint8_t value,
                             size_t bytes) {
  return enqueueTransfer(runtime, "kiln_cuda_memset", "filling device memory", bytes,
                         [&](CUstream stream) {
                           return runtime->driver.cuMemsetD8Async(dst, value, bytes, stream);
                         });
}

kiln_status kiln_cuda_tensor_map_address(kiln_cuda_runtime *runtime, size_t index,
                                         uint64_t *device_ptr) {
  if (!runtime || !device_ptr)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "kiln_cuda_tensor_map_address: null argument");
  Lock lock(runtime->mutex);
  if (kiln_status status = runtime->checkInRun("kiln_cuda_tensor_map_address"))
    return status;
  if (!runtime->sm90a)
    return fail(KILN_ERROR_UNSUPPORTED,
                "tensor map %zu is for sm_90a kernels, but this GPU (sm_%u) loaded another image",
                index, runtime->sm);
  return runtime->tensorMaps.address(index, device_ptr);
}

int kiln_cuda_runs_sm90a(const kiln_cuda_runtime *runtime) {
  return runtime && runtime->sm90a ? 1 : 0;
}

size_t kiln_cuda_image_index(const kiln_cuda_runtime *runtime) {
  return runtime ? runtime->imageIndex : 0;
}

size_t kiln_cuda_graph_count(const kiln_cuda_runtime *runtime) {
  return runtime ? runtime->graphs.size() : 0;
}

const char *kiln_cuda_last_error(void) { return lastError(); }

} // extern "C"

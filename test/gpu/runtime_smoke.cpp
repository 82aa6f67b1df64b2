//===- runtime_smoke.cpp - the CUDA runtime on a real GPU -----------------===//
//
// Twice: with the hand-written PTX alone (JIT path), then with the cubins
// ptxas made at build time as well (the device's cubin must be chosen). Each
// time: vector_add then scale through the arena on a caller's stream, on the
// default stream, replayed as a CUDA graph with new inputs, after an
// out-of-memory arena request, and in a grown arena.
// Exits 77 (ctest: skipped) when there is no driver or device.
//
//===----------------------------------------------------------------------===//
#include "driver.h"
#include "kiln/kiln_cuda.h"
#include "runtime_smoke_images.h" // generated: kSmokePtx, kSmokeCubin*

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace kiln::cuda;

namespace {


constexpr uint32_t kCount = 1 << 20;
constexpr size_t kBytes = kCount * sizeof(float);
constexpr float kScale = 2.0f;

int failures = 0;

void check(bool ok, const char *what) {
  printf("%s %s\n", ok ? "PASS" : "FAIL", what);
  failures += !ok;
}

bool checkStatus(kiln_status status, kiln_status expected, const char *what) {
  bool ok = status == expected;
  printf("%s %s: %s%s%s\n", ok ? "PASS" : "FAIL", what, kiln_status_name(status),
         status == KILN_OK ? "" : ": ", status == KILN_OK ? "" : kiln_cuda_last_error());
  failures += !ok;
  return ok;
}

void checkDriver(const DriverTable &driver, CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return;
  const char *name = "?";
  driver.cuGetErrorName(result, &name);
  fprintf(stderr, "FAIL %s: %s\n", what, name);
  exit(1);
}

// The model's work: out = scale * (a + b), through arena buffer 0.
struct Io {
  CUdeviceptr a = 0, b = 0, out = 0;
};
kiln_status enqueue(kiln_cuda_runtime *runtime, void *user) {
  Io *io = static_cast<Io *>(user);
  uint64_t sum = 0;
  if (kiln_status status = kiln_cuda_buffer(runtime, 0, &sum))
    return status;
  uint32_t count = kCount;
  float scale = kScale;
  const uint32_t grid[3] = {(kCount + 255) / 256, 1, 1}, block[3] = {256, 1, 1};
  void *addParams[] = {&io->a, &io->b, &sum, &count};
  if (kiln_status status = kiln_cuda_launch(runtime, 0, grid, block, 0, addParams))
    return status;
  void *scaleParams[] = {&sum, &scale, &count};
  if (kiln_status status = kiln_cuda_launch(runtime, 1, grid, block, 0, scaleParams))
    return status;
  return kiln_cuda_memcpy(runtime, io->out, sum, kBytes);
}

struct Fixture {
  const DriverTable *driver = nullptr;
  CUstream stream = nullptr;
  Io io;
  std::vector<float> a = std::vector<float>(kCount), b = std::vector<float>(kCount);

  void fillInputs(float seed) {
    for (uint32_t i = 0; i < kCount; ++i) {
      a[i] = seed + static_cast<float>(i % 1000) * 0.25f;
      b[i] = std::sin(static_cast<float>(i)) * seed;
    }
    checkDriver(*driver, driver->cuMemcpyHtoD(io.a, a.data(), kBytes), "copying a");
    checkDriver(*driver, driver->cuMemcpyHtoD(io.b, b.data(), kBytes), "copying b");
    // Pageable copies may still be in flight on the legacy stream, which a
    // non-blocking stream does not wait for.
    checkDriver(*driver, driver->cuStreamSynchronize(nullptr), "finishing the copies");
  }

  // Compares the output with scale * (a + b) computed here, in float.
  bool outputMatches(CUstream waitOn) {
    checkDriver(*driver, driver->cuStreamSynchronize(waitOn), "synchronizing");
    std::vector<float> out(kCount);
    checkDriver(*driver, driver->cuMemcpyDtoH(out.data(), io.out, kBytes), "reading out");
    for (uint32_t i = 0; i < kCount; ++i) {
      float expected = (a[i] + b[i]) * kScale;
      if (out[i] != expected) {
        printf("     out[%u] = %.9g, expected %.9g\n", i, out[i], expected);
        return false;
      }
    }
    return true;
  }
};

// One model configuration through every step; false if it could not start.
bool runModel(Fixture &fixture, const char *label, const kiln_cuda_image *images,
              size_t imageCount, size_t expectedImage) {
  printf("--- %s\n", label);
  const char *const kernels[] = {"vector_add", "scale"};
  const kiln_arena_placement plan[] = {{0, kBytes, 256}};
  const kiln_cuda_model_desc desc = {images, imageCount, kernels, 2, plan, 1, nullptr, nullptr, 0};
  kiln_cuda_runtime *runtime = nullptr;
  if (!checkStatus(kiln_cuda_create(&desc, 0, &runtime), KILN_OK, "create"))
    return false;
  check(kiln_cuda_image_index(runtime) == expectedImage, "the expected image was loaded");

  fixture.fillInputs(1.0f);
  checkStatus(kiln_cuda_run(runtime, fixture.stream, nullptr, 0, enqueue, &fixture.io), KILN_OK,
              "run on the caller's stream");
  check(fixture.outputMatches(fixture.stream), "result = 2 * (a + b)");

  fixture.fillInputs(3.0f);
  checkStatus(kiln_cuda_run(runtime, nullptr, nullptr, 0, enqueue, &fixture.io), KILN_OK,
              "run on the legacy default stream");
  check(fixture.outputMatches(nullptr), "result on the default stream");

  // Graph replay: the key holds everything baked into the launches.
  const CUdeviceptr key[] = {fixture.io.a, fixture.io.b, fixture.io.out, kCount};
  for (int run = 0; run < 3; ++run) {
    fixture.fillInputs(5.0f + run);
    checkStatus(kiln_cuda_run(runtime, fixture.stream, key, sizeof(key), enqueue, &fixture.io),
                KILN_OK, run ? "graph replay" : "graph capture");
    check(fixture.outputMatches(fixture.stream), "graph result");
  }
  check(kiln_cuda_graph_count(runtime) == 1, "one graph cached");

  // Out of memory: more than the device has; the handle must stay usable.
  const DriverTable &driver = *fixture.driver;
  size_t freeBytes = 0, totalBytes = 0;
  checkDriver(driver, driver.cuMemGetInfo(&freeBytes, &totalBytes), "memory info");
  const kiln_arena_placement huge[] = {{0, 2 * static_cast<uint64_t>(totalBytes), 256}};
  checkStatus(kiln_cuda_set_plan(runtime, huge, 1), KILN_ERROR_OUT_OF_MEMORY,
              "arena larger than the GPU");
  fixture.fillInputs(11.0f);
  checkStatus(kiln_cuda_run(runtime, fixture.stream, key, sizeof(key), enqueue, &fixture.io),
              KILN_OK, "run after out of memory");
  check(fixture.outputMatches(fixture.stream), "result after out of memory");

  // A bigger plan that fits: the arena moves, graphs are captured again.
  const kiln_arena_placement bigger[] = {{64 << 20, kBytes, 4096}};
  checkStatus(kiln_cuda_set_plan(runtime, bigger, 1), KILN_OK, "grow the arena");
  fixture.fillInputs(13.0f);
  checkStatus(kiln_cuda_run(runtime, fixture.stream, key, sizeof(key), enqueue, &fixture.io),
              KILN_OK, "run in the grown arena");
  check(fixture.outputMatches(fixture.stream), "result in the grown arena");
  kiln_cuda_destroy(runtime);
  return true;
}

} // namespace

int main() {
  const kiln_cuda_image ptxOnly[] = {
      {KILN_CUDA_IMAGE_PTX, 80, 0, kSmokePtx, sizeof(kSmokePtx)}};
  // Probe: no driver or no device is a skip, not a failure.
  kiln_cuda_runtime *probe = nullptr;
  const kiln_cuda_model_desc probeDesc = {ptxOnly, 1, nullptr, 0, nullptr, 0, nullptr, nullptr, 0};
  kiln_status status = kiln_cuda_create(&probeDesc, 0, &probe);
  if (status == KILN_ERROR_NO_DEVICE) {
    printf("SKIP no GPU here: %s\n", kiln_cuda_last_error());
    return 77;
  }
  if (!checkStatus(status, KILN_OK, "probe the device"))
    return 1;
  kiln_cuda_destroy(probe);

  Fixture fixture;
  loadSystemDriver(&fixture.driver);
  const DriverTable &driver = *fixture.driver;
  int driverVersion = 0, major = 0, minor = 0;
  CUdevice device = 0;
  CUcontext context = nullptr, popped = nullptr;
  driver.cuDriverGetVersion(&driverVersion);
  checkDriver(driver, driver.cuDeviceGet(&device, 0), "device");
  driver.cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
  driver.cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
  printf("INFO driver %d.%d, device 0 is sm_%d%d\n", driverVersion / 1000,
         driverVersion % 1000 / 10, major, minor);
  checkDriver(driver, driver.cuDevicePrimaryCtxRetain(&context, device), "context");
  checkDriver(driver, driver.cuCtxPushCurrent(context), "push");
  // Non-blocking, like the streams PyTorch hands out.
  checkDriver(driver, driver.cuStreamCreate(&fixture.stream, CU_STREAM_NON_BLOCKING), "stream");
  checkDriver(driver, driver.cuMemAlloc(&fixture.io.a, kBytes), "alloc a");
  checkDriver(driver, driver.cuMemAlloc(&fixture.io.b, kBytes), "alloc b");
  checkDriver(driver, driver.cuMemAlloc(&fixture.io.out, kBytes), "alloc out");

  runModel(fixture, "PTX only: JIT-compiled by the driver", ptxOnly, 1, 0);
#if KILN_SMOKE_HAS_CUBINS
  const kiln_cuda_image all[] = {
      {KILN_CUDA_IMAGE_CUBIN, 80, 0, kSmokeCubinSm80, sizeof(kSmokeCubinSm80)},
      {KILN_CUDA_IMAGE_CUBIN, 90, 1, kSmokeCubinSm90a, sizeof(kSmokeCubinSm90a)},
      {KILN_CUDA_IMAGE_PTX, 80, 0, kSmokePtx, sizeof(kSmokePtx)}};
  size_t expected = major == 8 ? 0 : (major == 9 && minor == 0) ? 1 : 2;
  runModel(fixture, "cubins for sm_80 and sm_90a, PTX fallback", all, 3, expected);
#else
  printf("INFO built without ptxas: no cubins to check\n");
#endif

  driver.cuMemFree(fixture.io.a);
  driver.cuMemFree(fixture.io.b);
  driver.cuMemFree(fixture.io.out);
  driver.cuStreamDestroy(fixture.stream);
  driver.cuCtxPopCurrent(&popped);
  driver.cuDevicePrimaryCtxRelease(device);
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "ALL PASSED", failures);
  return failures ? 1 : 0;
}

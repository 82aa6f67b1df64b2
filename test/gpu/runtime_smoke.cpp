//===- runtime_smoke.cpp - the CUDA runtime on a real GPU -----------------===//
//
// Loads hand-written PTX (JIT path), runs vector_add then scale through the
// arena on a caller's stream, replays the run as a CUDA graph with new
// inputs, forces an out-of-memory arena request and checks the handle still
// runs. Exits 77 (ctest: skipped) when there is no driver or device.
//
//   kiln-runtime-smoke              run the checks
//   kiln-runtime-smoke --print-ptx  print the kernels' PTX (CI assembles it)
//
//===----------------------------------------------------------------------===//
#include "driver.h"
#include "kiln/kiln_cuda.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace kiln::cuda;

namespace {

// c[i] = a[i] + b[i] and x[i] *= s, for i < n.
const char kPtx[] = R"PTX(.version 7.0
.target sm_80
.address_size 64

.visible .entry vector_add(
    .param .u64 a, .param .u64 b, .param .u64 c, .param .u32 n)
{
    .reg .pred %p<2>;
    .reg .b32 %r<6>;
    .reg .f32 %f<4>;
    .reg .b64 %rd<11>;

    ld.param.u64 %rd1, [a];
    ld.param.u64 %rd2, [b];
    ld.param.u64 %rd3, [c];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mov.u32 %r4, %tid.x;
    mad.lo.s32 %r5, %r2, %r3, %r4;
    setp.ge.u32 %p1, %r5, %r1;
    @%p1 bra DONE;
    cvta.to.global.u64 %rd4, %rd1;
    cvta.to.global.u64 %rd5, %rd2;
    cvta.to.global.u64 %rd6, %rd3;
    mul.wide.u32 %rd7, %r5, 4;
    add.s64 %rd8, %rd4, %rd7;
    add.s64 %rd9, %rd5, %rd7;
    add.s64 %rd10, %rd6, %rd7;
    ld.global.f32 %f1, [%rd8];
    ld.global.f32 %f2, [%rd9];
    add.f32 %f3, %f1, %f2;
    st.global.f32 [%rd10], %f3;
DONE:
    ret;
}

.visible .entry scale(
    .param .u64 x, .param .f32 s, .param .u32 n)
{
    .reg .pred %p<2>;
    .reg .b32 %r<6>;
    .reg .f32 %f<4>;
    .reg .b64 %rd<5>;

    ld.param.u64 %rd1, [x];
    ld.param.f32 %f1, [s];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %ctaid.x;
    mov.u32 %r3, %ntid.x;
    mov.u32 %r4, %tid.x;
    mad.lo.s32 %r5, %r2, %r3, %r4;
    setp.ge.u32 %p1, %r5, %r1;
    @%p1 bra DONE;
    cvta.to.global.u64 %rd2, %rd1;
    mul.wide.u32 %rd3, %r5, 4;
    add.s64 %rd4, %rd2, %rd3;
    ld.global.f32 %f2, [%rd4];
    mul.f32 %f3, %f2, %f1;
    st.global.f32 [%rd4], %f3;
DONE:
    ret;
}
)PTX";

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

} // namespace

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--print-ptx") == 0) {
    fputs(kPtx, stdout);
    return 0;
  }
  const kiln_cuda_image images[] = {{KILN_CUDA_IMAGE_PTX, 80, 0, kPtx, sizeof(kPtx) - 1}};
  const char *const kernels[] = {"vector_add", "scale"};
  const kiln_arena_placement plan[] = {{0, kBytes, 256}};
  const kiln_cuda_model_desc desc = {images, 1, kernels, 2, plan, 1};

  kiln_cuda_runtime *runtime = nullptr;
  kiln_status status = kiln_cuda_create(&desc, 0, &runtime);
  if (status == KILN_ERROR_NO_DEVICE) {
    printf("SKIP no GPU here: %s\n", kiln_cuda_last_error());
    return 77;
  }
  if (!checkStatus(status, KILN_OK, "create (PTX JIT-compiled)"))
    return 1;

  Fixture fixture;
  loadSystemDriver(&fixture.driver);
  const DriverTable &driver = *fixture.driver;
  int driverVersion = 0;
  driver.cuDriverGetVersion(&driverVersion);
  printf("INFO driver %d.%d\n", driverVersion / 1000, driverVersion % 1000 / 10);
  CUdevice device = 0;
  CUcontext context = nullptr, popped = nullptr;
  checkDriver(driver, driver.cuDeviceGet(&device, 0), "device");
  checkDriver(driver, driver.cuDevicePrimaryCtxRetain(&context, device), "context");
  checkDriver(driver, driver.cuCtxPushCurrent(context), "push");
  // Non-blocking, like the streams PyTorch hands out.
  checkDriver(driver, driver.cuStreamCreate(&fixture.stream, CU_STREAM_NON_BLOCKING), "stream");
  checkDriver(driver, driver.cuMemAlloc(&fixture.io.a, kBytes), "alloc a");
  checkDriver(driver, driver.cuMemAlloc(&fixture.io.b, kBytes), "alloc b");
  checkDriver(driver, driver.cuMemAlloc(&fixture.io.out, kBytes), "alloc out");

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
  driver.cuMemFree(fixture.io.a);
  driver.cuMemFree(fixture.io.b);
  driver.cuMemFree(fixture.io.out);
  driver.cuStreamDestroy(fixture.stream);
  driver.cuCtxPopCurrent(&popped);
  driver.cuDevicePrimaryCtxRelease(device);
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "ALL PASSED", failures);
  return failures ? 1 : 0;
}

//===- RuntimeTest.cpp - the kiln_cuda_* API against a fake driver --------===//
#include "FakeDriver.h"
#include "runtime_internal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

using namespace kiln::cuda;
using namespace kiln::cuda::testing;
using ::testing::HasSubstr;

namespace {

const char kCubin80[] = "cubin for sm_80";
const char kCubin90a[] = "cubin for sm_90a";
const char kPtx80[] = "//\n// Generated\n//\n.version 8.7\n.target sm_80\n.address_size 64\n";

const kiln_cuda_image kImages[] = {
    {KILN_CUDA_IMAGE_CUBIN, 80, 0, kCubin80, sizeof(kCubin80)},
    {KILN_CUDA_IMAGE_CUBIN, 90, 1, kCubin90a, sizeof(kCubin90a)},
    // PTX without its NUL: the runtime must add one.
    {KILN_CUDA_IMAGE_PTX, 80, 0, kPtx80, sizeof(kPtx80) - 1},
};
const char *const kKernels[] = {"vector_add", "scale"};
const kiln_arena_placement kPlan[] = {{0, 1000, 256}, {1024, 4096, 1024}};

kiln_cuda_model_desc modelDesc() {
  return {kImages, 3, kKernels, 2, kPlan, 2, nullptr, nullptr, 0};
}

class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    resetFakeGpu();
    driver = fakeDriverTable();
  }

  kiln_status create(kiln_cuda_runtime **runtime, int ordinal = 0) {
    kiln_cuda_model_desc desc = modelDesc();
    return createRuntime(driver, &desc, ordinal, runtime);
  }

  // Everything the fake handed out came back.
  void expectNothingLeaked() {
    const FakeGpu &gpu = fakeGpu();
    EXPECT_TRUE(gpu.liveAllocations.empty());
    EXPECT_EQ(gpu.allocations, gpu.frees);
    EXPECT_EQ(gpu.contextRetains, gpu.contextReleases);
    EXPECT_EQ(gpu.pushes, gpu.pops);
    EXPECT_EQ(gpu.modulesLoaded, gpu.modulesUnloaded);
    EXPECT_EQ(gpu.eventsCreated, gpu.eventsDestroyed);
    EXPECT_EQ(gpu.graphsCreated, gpu.graphsDestroyed);
    EXPECT_EQ(gpu.execsCreated, gpu.execsDestroyed);
    EXPECT_FALSE(gpu.capturing);
  }

  DriverTable driver;
};

// Enqueues vector_add, a memset and a copy between the arena buffers, then scale.
struct TwoKernels {
  uint64_t buffers[2] = {0, 0};
  int calls = 0;
};
kiln_status enqueueTwoKernels(kiln_cuda_runtime *runtime, void *user) {
  auto *state = static_cast<TwoKernels *>(user);
  ++state->calls;
  for (size_t i = 0; i < 2; ++i)
    if (kiln_status status = kiln_cuda_buffer(runtime, i, &state->buffers[i]))
      return status;
  const uint32_t grid[3] = {4, 1, 1}, block[3] = {128, 1, 1};
  void *params[] = {&state->buffers[1]};
  if (kiln_status status = kiln_cuda_launch(runtime, 0, grid, block, 0, params))
    return status;
  if (kiln_status status = kiln_cuda_memset(runtime, state->buffers[0], 0, 1000))
    return status;
  if (kiln_status status = kiln_cuda_memcpy(runtime, state->buffers[0], state->buffers[1], 64))
    return status;
  return kiln_cuda_launch(runtime, 1, grid, block, 0, params);
}

TEST_F(RuntimeTest, CreatesRunsAndFreesEverything) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK) << kiln_cuda_last_error();
  // sm_90 device: the arch-specific sm_90a cubin wins over the sm_80 one.
  EXPECT_EQ(fakeGpu().loadedImage, kCubin90a);
  EXPECT_EQ(fakeGpu().liveAllocations.size(), 1u);
  // The plan needs 5120 bytes; 1024-byte alignment exceeds the driver's 256.
  EXPECT_EQ(kiln_cuda_arena_bytes(runtime), 5120u + 1024u);

  TwoKernels state;
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, enqueueTwoKernels, &state), KILN_OK)
      << kiln_cuda_last_error();
  EXPECT_EQ(fakeGpu().launches, (std::vector<std::string>{"vector_add", "scale"}));
  CUdeviceptr arena = fakeGpu().liveAllocations.begin()->first;
  EXPECT_EQ(state.buffers[0] % 1024, 0u);
  EXPECT_GE(state.buffers[0], arena);
  EXPECT_EQ(state.buffers[1], state.buffers[0] + 1024);
  EXPECT_LE(state.buffers[1] + 4096, arena + kiln_cuda_arena_bytes(runtime));
  EXPECT_EQ(fakeGpu().transfers, 2); // one memset, one memcpy
  EXPECT_EQ(fakeGpu().eventRecords, 1);
  // Every driver call ran inside the model's context.
  EXPECT_EQ(fakeGpu().pushes, fakeGpu().pops);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, LaterRunsWaitForThePreviousOne) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK);
  TwoKernels state;
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, enqueueTwoKernels, &state), KILN_OK);
  EXPECT_EQ(fakeGpu().streamWaits, 0);
  ASSERT_EQ(kiln_cuda_run(runtime, nullptr, nullptr, 0, enqueueTwoKernels, &state), KILN_OK);
  EXPECT_EQ(fakeGpu().streamWaits, 1);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, PicksTheBestImageForEachDevice) {
  struct Case {
    int major, minor;
    const char *image;
    size_t index;
  } cases[] = {{8, 0, kCubin80, 0}, {8, 6, kCubin80, 0}, {9, 0, kCubin90a, 1},
               {10, 0, kPtx80, 2}, {12, 0, kPtx80, 2}};
  for (const Case &c : cases) {
    SCOPED_TRACE(c.major * 10 + c.minor);
    resetFakeGpu();
    fakeGpu().computeMajor = c.major;
    fakeGpu().computeMinor = c.minor;
    kiln_cuda_runtime *runtime = nullptr;
    ASSERT_EQ(create(&runtime), KILN_OK) << kiln_cuda_last_error();
    EXPECT_EQ(fakeGpu().loadedImage, c.image);
    EXPECT_EQ(kiln_cuda_image_index(runtime), c.index);
    kiln_cuda_destroy(runtime);
    expectNothingLeaked();
  }
}

TEST_F(RuntimeTest, OlderGpuThanEveryImageIsUnsupported) {
  fakeGpu().computeMajor = 7;
  fakeGpu().computeMinor = 5;
  kiln_cuda_runtime *runtime = nullptr;
  EXPECT_EQ(create(&runtime), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(runtime, nullptr);
  std::string message = kiln_cuda_last_error();
  EXPECT_THAT(message, HasSubstr("sm_75"));
  EXPECT_THAT(message, HasSubstr("cubin sm_80, cubin sm_90a, PTX sm_80"));
  expectNothingLeaked();
}

TEST_F(RuntimeTest, DriverOlderThanThePtxNamesBothVersions) {
  fakeGpu().computeMajor = 10;
  fakeGpu().driverVersion = 12040;
  fakeGpu().moduleLoadResult = CUDA_ERROR_UNSUPPORTED_PTX_VERSION;
  fakeGpu().jitErrorLog = "ptxas fatal   : Unsupported .version 8.7; current version is '8.4'";
  kiln_cuda_runtime *runtime = nullptr;
  EXPECT_EQ(create(&runtime), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(runtime, nullptr);
  std::string message = kiln_cuda_last_error();
  EXPECT_THAT(message, HasSubstr("driver (version 12.4)"));
  EXPECT_THAT(message, HasSubstr("PTX (ISA 8.7)"));
  EXPECT_THAT(message, HasSubstr("CUDA 12.8 or newer"));
  EXPECT_THAT(message, HasSubstr("CUDA_ERROR_UNSUPPORTED_PTX_VERSION"));
  EXPECT_THAT(message, HasSubstr("current version is '8.4'"));
  // The driver got the PTX with its NUL added.
  EXPECT_EQ(fakeGpu().loadedImage, kPtx80);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, JitFailureCarriesTheLog) {
  fakeGpu().computeMajor = 10;
  fakeGpu().moduleLoadResult = CUDA_ERROR_INVALID_PTX;
  fakeGpu().jitErrorLog = "ptxas application ptx input, line 7; error: Unknown symbol 'x'";
  kiln_cuda_runtime *runtime = nullptr;
  EXPECT_EQ(create(&runtime), KILN_ERROR_DEVICE);
  std::string message = kiln_cuda_last_error();
  EXPECT_THAT(message, HasSubstr("PTX sm_80"));
  EXPECT_THAT(message, HasSubstr("CUDA_ERROR_INVALID_PTX (218)"));
  EXPECT_THAT(message, HasSubstr("line 7; error: Unknown symbol 'x'"));
  expectNothingLeaked();
}

TEST_F(RuntimeTest, RejectedCubinFallsBackToPtx) {
  // The driver refuses the sm_80 cubin (first choice on sm_86): the PTX is next.
  fakeGpu().computeMajor = 8;
  fakeGpu().computeMinor = 6;
  fakeGpu().moduleLoadResult = CUDA_ERROR_NO_BINARY_FOR_GPU;
  kiln_cuda_runtime *runtime = nullptr;
  EXPECT_EQ(create(&runtime), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(fakeGpu().loadedImage, kPtx80); // tried last
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("CUDA_ERROR_NO_BINARY_FOR_GPU"));
  expectNothingLeaked();
}

TEST_F(RuntimeTest, NoDeviceIsReported) {
  fakeGpu().initResult = CUDA_ERROR_NO_DEVICE;
  kiln_cuda_runtime *runtime = nullptr;
  EXPECT_EQ(create(&runtime), KILN_ERROR_NO_DEVICE);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("no CUDA device"));

  resetFakeGpu();
  fakeGpu().initResult = CUDA_ERROR_STUB_LIBRARY;
  EXPECT_EQ(create(&runtime), KILN_ERROR_NO_DEVICE);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("no CUDA driver (libcuda.so.1 is the CUDA "
                                                "toolkit's stub library"));

  resetFakeGpu();
  fakeGpu().deviceCount = 0;
  EXPECT_EQ(create(&runtime), KILN_ERROR_NO_DEVICE);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("no CUDA device"));
  expectNothingLeaked();
}

TEST_F(RuntimeTest, MissingDeviceOrdinalIsInvalid) {
  fakeGpu().deviceCount = 2;
  kiln_cuda_runtime *runtime = nullptr;
  EXPECT_EQ(create(&runtime, 2), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("CUDA device 2 does not exist"));
  EXPECT_EQ(create(&runtime, -1), KILN_ERROR_INVALID_ARGUMENT);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, MissingKernelIsNamed) {
  fakeGpu().moduleKernels = {"vector_add"};
  kiln_cuda_runtime *runtime = nullptr;
  EXPECT_EQ(create(&runtime), KILN_ERROR_DEVICE);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("kernel 'scale' is not in the loaded sm_90"));
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("CUDA_ERROR_NOT_FOUND"));
  expectNothingLeaked();
}

TEST_F(RuntimeTest, OutOfMemoryCreatingLeavesNothing) {
  fakeGpu().failAllocationNumber = 1;
  kiln_cuda_runtime *runtime = nullptr;
  EXPECT_EQ(create(&runtime), KILN_ERROR_OUT_OF_MEMORY);
  EXPECT_EQ(runtime, nullptr);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("CUDA_ERROR_OUT_OF_MEMORY"));
  expectNothingLeaked();
}

TEST_F(RuntimeTest, OutOfMemoryGrowingKeepsTheHandleUsable) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK);
  TwoKernels before;
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, enqueueTwoKernels, &before), KILN_OK);
  uint64_t arenaBytes = kiln_cuda_arena_bytes(runtime);

  // More than the device has.
  const kiln_arena_placement huge[] = {{0, uint64_t(64) << 30, 256}, {0, 16, 256}};
  EXPECT_EQ(kiln_cuda_set_plan(runtime, huge, 2), KILN_ERROR_OUT_OF_MEMORY);
  std::string message = kiln_cuda_last_error();
  EXPECT_THAT(message, HasSubstr("CUDA_ERROR_OUT_OF_MEMORY"));
  EXPECT_THAT(message, HasSubstr("64.00 GiB"));
  EXPECT_THAT(message, HasSubstr("previous arena stays usable"));

  // The old plan and arena are intact and runs still work.
  EXPECT_EQ(kiln_cuda_arena_bytes(runtime), arenaBytes);
  TwoKernels after;
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, enqueueTwoKernels, &after), KILN_OK)
      << kiln_cuda_last_error();
  EXPECT_EQ(after.buffers[0], before.buffers[0]);
  EXPECT_EQ(after.buffers[1], before.buffers[1]);

  // A plan that fits grows the arena afterwards.
  const kiln_arena_placement bigger[] = {{0, 1 << 20, 256}, {1 << 20, 1 << 20, 256}};
  ASSERT_EQ(kiln_cuda_set_plan(runtime, bigger, 2), KILN_OK) << kiln_cuda_last_error();
  EXPECT_EQ(kiln_cuda_arena_bytes(runtime), 2u << 20);
  EXPECT_EQ(fakeGpu().liveAllocations.size(), 1u); // the old arena was freed
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, BadPlanIsRejectedAndTheOldOneStays) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK);
  const kiln_arena_placement misaligned[] = {{100, 16, 64}};
  EXPECT_EQ(kiln_cuda_set_plan(runtime, misaligned, 1), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("bad arena plan"));
  const kiln_arena_placement overflowing[] = {{UINT64_MAX - 255, 512, 256}};
  EXPECT_EQ(kiln_cuda_set_plan(runtime, overflowing, 1), KILN_ERROR_INVALID_ARGUMENT);
  TwoKernels state;
  EXPECT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, enqueueTwoKernels, &state), KILN_OK);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, GraphIsCapturedOnceAndReplayed) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK);
  TwoKernels state;
  const int shapesA[] = {1, 4096}, shapesB[] = {16, 4096};
  for (int run = 0; run < 3; ++run)
    ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), shapesA, sizeof(shapesA), enqueueTwoKernels,
                            &state),
              KILN_OK)
        << kiln_cuda_last_error();
  EXPECT_EQ(state.calls, 1); // captured once
  EXPECT_EQ(fakeGpu().launchesWhileCapturing, 2);
  EXPECT_EQ(fakeGpu().graphLaunches, 3);
  EXPECT_EQ(fakeGpu().execsCreated, 1);
  EXPECT_EQ(kiln_cuda_graph_count(runtime), 1u);

  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), shapesB, sizeof(shapesB), enqueueTwoKernels,
                          &state),
            KILN_OK);
  EXPECT_EQ(state.calls, 2);
  EXPECT_EQ(kiln_cuda_graph_count(runtime), 2u);

  // The legacy default stream cannot be captured: the key is ignored and the
  // kernels run directly.
  for (CUstream legacy : {CUstream(nullptr), reinterpret_cast<CUstream>(kLegacyStreamHandle)})
    ASSERT_EQ(kiln_cuda_run(runtime, legacy, shapesA, sizeof(shapesA), enqueueTwoKernels, &state),
              KILN_OK)
        << kiln_cuda_last_error();
  EXPECT_EQ(state.calls, 4);
  EXPECT_EQ(fakeGpu().graphLaunches, 4);

  // A new plan invalidates the graphs (they hold arena addresses).
  const kiln_arena_placement moved[] = {{0, 1 << 20, 256}, {1 << 20, 64, 256}};
  ASSERT_EQ(kiln_cuda_set_plan(runtime, moved, 2), KILN_OK);
  EXPECT_EQ(kiln_cuda_graph_count(runtime), 0u);
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), shapesA, sizeof(shapesA), enqueueTwoKernels,
                          &state),
            KILN_OK);
  EXPECT_EQ(state.calls, 5);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, GraphCacheEvictsTheLeastRecentlyUsed) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK);
  TwoKernels state;
  for (int key = 0; key < 12; ++key)
    ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), &key, sizeof(key), enqueueTwoKernels, &state),
              KILN_OK);
  EXPECT_EQ(kiln_cuda_graph_count(runtime), 8u);
  EXPECT_EQ(fakeGpu().execsDestroyed, 4);
  int newest = 11, oldest = 0;
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), &newest, sizeof(newest), enqueueTwoKernels,
                          &state),
            KILN_OK);
  EXPECT_EQ(state.calls, 12); // replayed
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), &oldest, sizeof(oldest), enqueueTwoKernels,
                          &state),
            KILN_OK);
  EXPECT_EQ(state.calls, 13); // evicted, captured again
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, FailedCaptureEndsTheCaptureAndKeepsTheHandle) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK);
  fakeGpu().launchResult = CUDA_ERROR_LAUNCH_FAILED;
  TwoKernels state;
  const int key = 7;
  EXPECT_EQ(kiln_cuda_run(runtime, fakeStream(), &key, sizeof(key), enqueueTwoKernels, &state),
            KILN_ERROR_DEVICE);
  std::string message = kiln_cuda_last_error();
  EXPECT_THAT(message, HasSubstr("launching kernel 'vector_add' (grid 4x1x1, block 128x1x1"));
  EXPECT_THAT(message, HasSubstr("CUDA_ERROR_LAUNCH_FAILED (719): unspecified launch failure"));
  EXPECT_FALSE(fakeGpu().capturing);
  EXPECT_EQ(kiln_cuda_graph_count(runtime), 0u);

  fakeGpu().launchResult = CUDA_SUCCESS;
  EXPECT_EQ(kiln_cuda_run(runtime, fakeStream(), &key, sizeof(key), enqueueTwoKernels, &state),
            KILN_OK);
  EXPECT_EQ(kiln_cuda_graph_count(runtime), 1u);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, LargeDynamicSharedMemoryIsAllowedOnce) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK);
  auto enqueue = [](kiln_cuda_runtime *rt, void *) {
    const uint32_t grid[3] = {1, 1, 1}, block[3] = {128, 1, 1};
    return kiln_cuda_launch(rt, 0, grid, block, 100 * 1024, nullptr);
  };
  for (int run = 0; run < 2; ++run)
    ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, enqueue, nullptr), KILN_OK)
        << kiln_cuda_last_error();
  EXPECT_EQ(fakeGpu().sharedAttributeSets, 1);
  EXPECT_EQ(fakeGpu().lastSharedBytes, 100u * 1024);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(RuntimeTest, MisuseIsReportedNotCrashed) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK);
  uint64_t pointer = 0;
  EXPECT_EQ(kiln_cuda_buffer(runtime, 0, &pointer), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("only be called from the enqueue function"));
  const uint32_t dims[3] = {1, 1, 1};
  EXPECT_EQ(kiln_cuda_launch(runtime, 0, dims, dims, 0, nullptr), KILN_ERROR_INVALID_ARGUMENT);

  auto badIndices = [](kiln_cuda_runtime *rt, void *) {
    uint64_t unused = 0;
    EXPECT_EQ(kiln_cuda_buffer(rt, 2, &unused), KILN_ERROR_INVALID_ARGUMENT);
    const uint32_t one[3] = {1, 1, 1};
    EXPECT_EQ(kiln_cuda_launch(rt, 2, one, one, 0, nullptr), KILN_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(kiln_cuda_set_plan(rt, kPlan, 2), KILN_ERROR_INVALID_ARGUMENT);
    auto nothing = [](kiln_cuda_runtime *, void *) { return KILN_OK; };
    return kiln_cuda_run(rt, nullptr, nullptr, 0, nothing, nullptr);
  };
  EXPECT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, badIndices, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_cuda_run(runtime, foreignFakeStream(), nullptr, 0, enqueueTwoKernels, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("another CUDA context"));
  EXPECT_EQ(kiln_cuda_run(nullptr, fakeStream(), nullptr, 0, enqueueTwoKernels, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  kiln_cuda_destroy(runtime);
  kiln_cuda_destroy(nullptr);
  expectNothingLeaked();
}

// Calls on one handle are serialized inside it: the fake (not thread-safe
// itself) sees whole runs, and every run is ordered after the previous one.
TEST_F(RuntimeTest, SeveralThreadsShareOneHandle) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(create(&runtime), KILN_OK);
  constexpr int kThreads = 4, kRuns = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      TwoKernels state;
      for (int run = 0; run < kRuns; ++run) {
        int key = t % 2; // two threads share each graph
        kiln_status status = kiln_cuda_run(runtime, fakeStream(), run % 2 ? &key : nullptr,
                                           run % 2 ? sizeof(key) : 0, enqueueTwoKernels, &state);
        failures += status != KILN_OK;
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(failures, 0);
  const int directRuns = kThreads * kRuns / 2, graphRuns = kThreads * kRuns / 2;
  EXPECT_EQ(fakeGpu().graphLaunches, graphRuns);
  EXPECT_EQ(fakeGpu().execsCreated, 2);
  EXPECT_EQ(fakeGpu().launches.size(), size_t(2 * (directRuns + 2)));
  EXPECT_EQ(fakeGpu().eventRecords, directRuns + graphRuns);
  EXPECT_EQ(fakeGpu().streamWaits, directRuns + graphRuns - 1);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

// Fault injection: every fallible driver call, failing in turn, gives an
// error status with the CUDA error name, and nothing leaks.
TEST_F(RuntimeTest, EveryFailingDriverCallIsReportedWithoutLeaks) {
  // Destroying cannot report a failure, so only calls before it fail.
  int callsBeforeDestroy = 0;
  auto lifecycle = [this, &callsBeforeDestroy]() {
    kiln_cuda_runtime *runtime = nullptr;
    kiln_status status = create(&runtime);
    TwoKernels state;
    const int key = 1;
    for (int run = 0; status == KILN_OK && run < 2; ++run)
      status = kiln_cuda_run(runtime, fakeStream(), run ? &key : nullptr, run ? sizeof(key) : 0,
                             enqueueTwoKernels, &state);
    const kiln_arena_placement bigger[] = {{0, 1 << 20, 256}};
    if (status == KILN_OK)
      status = kiln_cuda_set_plan(runtime, bigger, 1);
    callsBeforeDestroy = fakeGpu().fallibleCalls;
    kiln_cuda_destroy(runtime);
    return status;
  };
  ASSERT_EQ(lifecycle(), KILN_OK);
  int fallibleCalls = callsBeforeDestroy;
  ASSERT_GT(fallibleCalls, 15);
  for (CUresult injected : {CUDA_ERROR_UNKNOWN, CUDA_ERROR_OUT_OF_MEMORY}) {
    for (int failing = 1; failing <= fallibleCalls; ++failing) {
      SCOPED_TRACE("call " + std::to_string(failing) + " fails with " + std::to_string(injected));
      resetFakeGpu();
      fakeGpu().failCallNumber = failing;
      fakeGpu().failCallResult = injected;
      kiln_status status = lifecycle();
      EXPECT_EQ(status, injected == CUDA_ERROR_OUT_OF_MEMORY ? KILN_ERROR_OUT_OF_MEMORY
                                                             : KILN_ERROR_DEVICE);
      EXPECT_THAT(kiln_cuda_last_error(), HasSubstr(injected == CUDA_ERROR_OUT_OF_MEMORY
                                                        ? "CUDA_ERROR_OUT_OF_MEMORY"
                                                        : "CUDA_ERROR_UNKNOWN"));
      expectNothingLeaked();
    }
  }
}

// A model with an sm_90a-only wgmma kernel reading two TMA tensor maps: an
// f16 [4, 64] tensor in buffer 0 and a byte [16, 256] tensor in buffer 1.
const char *const kWgmmaKernels[] = {"vector_add", "scale", "wgmma_gemm"};
const uint32_t kWgmmaFlags[] = {0, 0, KILN_CUDA_KERNEL_SM90A_ONLY};
const kiln_cuda_tensor_map kTensorMaps[] = {
    {0, CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 4, 64, 64, 4, CU_TENSOR_MAP_SWIZZLE_128B, 3},
    {1, CU_TENSOR_MAP_DATA_TYPE_UINT8, 16, 256, 32, 16, CU_TENSOR_MAP_SWIZZLE_NONE, 3},
};

kiln_cuda_model_desc wgmmaModelDesc() {
  return {kImages, 3, kWgmmaKernels, 3, kPlan, 2, kWgmmaFlags, kTensorMaps, 2};
}

// Launches the wgmma kernel with the two maps' addresses, as the glue does.
struct WgmmaRun {
  uint64_t buffers[2] = {0, 0};
  uint64_t maps[2] = {0, 0};
};
kiln_status enqueueWgmma(kiln_cuda_runtime *runtime, void *user) {
  auto *state = static_cast<WgmmaRun *>(user);
  for (size_t i = 0; i < 2; ++i) {
    if (kiln_status status = kiln_cuda_buffer(runtime, i, &state->buffers[i]))
      return status;
    if (kiln_status status = kiln_cuda_tensor_map_address(runtime, i, &state->maps[i]))
      return status;
  }
  const uint32_t grid[3] = {2, 1, 1}, block[3] = {160, 1, 1};
  void *params[] = {&state->maps[0], &state->maps[1], &state->buffers[1]};
  return kiln_cuda_launch(runtime, 2, grid, block, 100 * 1024, params);
}

class WgmmaRuntimeTest : public RuntimeTest {
protected:
  kiln_status createWgmma(kiln_cuda_runtime **runtime) {
    fakeGpu().moduleKernels.insert("wgmma_gemm");
    kiln_cuda_model_desc desc = wgmmaModelDesc();
    return createRuntime(driver, &desc, 0, runtime);
  }
};

TEST_F(WgmmaRuntimeTest, Sm90aImageGetsEncodedMapsInDeviceMemory) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(createWgmma(&runtime), KILN_OK) << kiln_cuda_last_error();
  EXPECT_EQ(fakeGpu().loadedImage, kCubin90a);
  EXPECT_EQ(kiln_cuda_runs_sm90a(runtime), 1);
  // The arena and the map table.
  EXPECT_EQ(fakeGpu().liveAllocations.size(), 2u);
  WgmmaRun state;
  const int key = 7;
  for (int run = 0; run < 3; ++run)
    ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), &key, sizeof(key), enqueueWgmma, &state),
              KILN_OK)
        << kiln_cuda_last_error();
  // Captured once, replayed twice; the maps are encoded once.
  EXPECT_EQ(fakeGpu().launches, std::vector<std::string>{"wgmma_gemm"});
  EXPECT_EQ(fakeGpu().graphLaunches, 3);
  EXPECT_EQ(fakeGpu().lastSharedBytes, 100u * 1024u);

  const std::vector<FakeTensorMapEncode> &encodes = fakeGpu().tensorMapEncodes;
  ASSERT_EQ(encodes.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE("map " + std::to_string(i));
    EXPECT_TRUE(encodes[i].alignedOutput);
    EXPECT_EQ(encodes[i].address, state.buffers[i]);
    EXPECT_EQ(encodes[i].dataType, int(kTensorMaps[i].data_type));
    EXPECT_EQ(encodes[i].rows, kTensorMaps[i].rows);
    EXPECT_EQ(encodes[i].cols, kTensorMaps[i].cols);
    EXPECT_EQ(encodes[i].boxCols, kTensorMaps[i].box_cols);
    EXPECT_EQ(encodes[i].boxRows, kTensorMaps[i].box_rows);
    EXPECT_EQ(encodes[i].swizzle, int(kTensorMaps[i].swizzle));
    EXPECT_EQ(encodes[i].l2Promotion, 3);
  }
  EXPECT_EQ(encodes[0].rowStride, 64u * 2u); // f16
  EXPECT_EQ(encodes[1].rowStride, 256u);
  // Both maps in one device copy, 128 bytes each, 64-byte aligned.
  EXPECT_EQ(state.maps[0] % 64, 0u);
  EXPECT_EQ(state.maps[1], state.maps[0] + 128);
  ASSERT_EQ(fakeGpu().hostToDevice.count(state.maps[0]), 1u);
  const std::string &uploaded = fakeGpu().hostToDevice[state.maps[0]];
  ASSERT_EQ(uploaded.size(), 256u);
  EXPECT_EQ(fakeTensorMapAddress(uploaded.substr(0, 128)), state.buffers[0]);
  EXPECT_EQ(fakeTensorMapAddress(uploaded.substr(128)), state.buffers[1]);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(WgmmaRuntimeTest, MovedBuffersGetNewMapsAndGraphs) {
  kiln_cuda_runtime *runtime = nullptr;
  ASSERT_EQ(createWgmma(&runtime), KILN_OK) << kiln_cuda_last_error();
  WgmmaRun before, after;
  const int key = 7;
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), &key, sizeof(key), enqueueWgmma, &before),
            KILN_OK);
  // A larger plan moves the arena: the maps are re-encoded (after the
  // previous run finished) and the stale graph is dropped.
  const kiln_arena_placement bigger[] = {{1 << 20, 1000, 256}, {0, 1 << 20, 256}};
  ASSERT_EQ(kiln_cuda_set_plan(runtime, bigger, 2), KILN_OK) << kiln_cuda_last_error();
  EXPECT_EQ(kiln_cuda_graph_count(runtime), 0u);
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), &key, sizeof(key), enqueueWgmma, &after),
            KILN_OK);
  ASSERT_EQ(fakeGpu().tensorMapEncodes.size(), 4u);
  EXPECT_EQ(fakeGpu().tensorMapEncodes[2].address, after.buffers[0]);
  EXPECT_EQ(fakeGpu().tensorMapEncodes[3].address, after.buffers[1]);
  EXPECT_NE(after.buffers[0], before.buffers[0]);
  // Same map table, new contents.
  EXPECT_EQ(after.maps[0], before.maps[0]);
  EXPECT_EQ(fakeTensorMapAddress(fakeGpu().hostToDevice[after.maps[0]].substr(0, 128)),
            after.buffers[0]);
  // A map that no longer fits its buffer is refused; the old plan stays.
  const kiln_arena_placement tooSmall[] = {{0, 100, 256}, {256, 4096, 256}};
  EXPECT_EQ(kiln_cuda_set_plan(runtime, tooSmall, 2), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("does not fit arena buffer 0"));
  WgmmaRun again;
  ASSERT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, enqueueWgmma, &again), KILN_OK);
  EXPECT_EQ(again.buffers[0], after.buffers[0]);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(WgmmaRuntimeTest, OtherGpusSkipSm90aKernelsAndMaps) {
  fakeGpu().computeMajor = 8;
  kiln_cuda_runtime *runtime = nullptr;
  // The sm_80 image has no wgmma kernel: it is not looked up.
  kiln_cuda_model_desc desc = wgmmaModelDesc();
  ASSERT_EQ(createRuntime(driver, &desc, 0, &runtime), KILN_OK) << kiln_cuda_last_error();
  EXPECT_EQ(fakeGpu().loadedImage, kCubin80);
  EXPECT_EQ(kiln_cuda_runs_sm90a(runtime), 0);
  EXPECT_TRUE(fakeGpu().tensorMapEncodes.empty());
  EXPECT_EQ(fakeGpu().liveAllocations.size(), 1u); // the arena only
  WgmmaRun state;
  EXPECT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, enqueueWgmma, &state),
            KILN_ERROR_UNSUPPORTED);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("sm_90a"));
  // The generic kernels still run.
  TwoKernels generic;
  EXPECT_EQ(kiln_cuda_run(runtime, fakeStream(), nullptr, 0, enqueueTwoKernels, &generic),
            KILN_OK);
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(WgmmaRuntimeTest, DriverWithoutTensorMapsIsNamedOnSm90aOnly) {
  driver.cuTensorMapEncodeTiled = nullptr;
  kiln_cuda_runtime *runtime = nullptr;
  EXPECT_EQ(createWgmma(&runtime), KILN_ERROR_UNSUPPORTED);
  EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("cuTensorMapEncodeTiled"));
  EXPECT_EQ(runtime, nullptr);
  expectNothingLeaked();
  fakeGpu().computeMajor = 8;
  kiln_cuda_model_desc desc = wgmmaModelDesc();
  ASSERT_EQ(createRuntime(driver, &desc, 0, &runtime), KILN_OK) << kiln_cuda_last_error();
  kiln_cuda_destroy(runtime);
  expectNothingLeaked();
}

TEST_F(WgmmaRuntimeTest, EveryFailingDriverCallIsReportedWithoutLeaks) {
  int callsBeforeDestroy = 0;
  auto lifecycle = [this, &callsBeforeDestroy]() {
    kiln_cuda_runtime *runtime = nullptr;
    kiln_status status = createWgmma(&runtime);
    WgmmaRun state;
    const int key = 1;
    if (status == KILN_OK)
      status = kiln_cuda_run(runtime, fakeStream(), &key, sizeof(key), enqueueWgmma, &state);
    const kiln_arena_placement bigger[] = {{0, 1 << 20, 256}, {1 << 20, 4096, 256}};
    if (status == KILN_OK)
      status = kiln_cuda_set_plan(runtime, bigger, 2);
    callsBeforeDestroy = fakeGpu().fallibleCalls;
    kiln_cuda_destroy(runtime);
    return status;
  };
  ASSERT_EQ(lifecycle(), KILN_OK) << kiln_cuda_last_error();
  int fallibleCalls = callsBeforeDestroy;
  for (int failing = 1; failing <= fallibleCalls; ++failing) {
    SCOPED_TRACE("call " + std::to_string(failing) + " fails");
    resetFakeGpu();
    fakeGpu().failCallNumber = failing;
    fakeGpu().failCallResult = CUDA_ERROR_UNKNOWN;
    EXPECT_EQ(lifecycle(), KILN_ERROR_DEVICE);
    EXPECT_THAT(kiln_cuda_last_error(), HasSubstr("CUDA_ERROR_UNKNOWN"));
    expectNothingLeaked();
  }
}

} // namespace

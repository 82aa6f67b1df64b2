//===- NoDeviceTest.cpp - a GPU model .so on a machine without a GPU ------===//
//
// Really dlopens a .so linked like a kilnc model. On CI (no libcuda.so.1, the
// toolkit's stub libcuda, or a driver without a GPU) creating the model must
// say KILN_ERROR_NO_DEVICE. ctest runs this once as is and once with the
// toolkit's stub as libcuda.so.1, which exercises the real symbol loading.
//
//===----------------------------------------------------------------------===//
#include "kiln/kiln_status.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <dlfcn.h>
#include <string>

namespace {

TEST(NoDeviceTest, ModelLoadsAndReportsNoDevice) {
  // KILN_NO_GPU_MODEL picks another build of the stand-in (from bitcode).
  const char *path = getenv("KILN_NO_GPU_MODEL");
  void *library = dlopen(path ? path : KILN_NO_GPU_MODEL_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(library, nullptr) << dlerror();
  using CreateFn = kiln_status (*)(const char **);
  auto create = reinterpret_cast<CreateFn>(dlsym(library, "kiln_test_model_create"));
  ASSERT_NE(create, nullptr) << dlerror();
  // The runtime's own symbols stay hidden inside the model.
  EXPECT_EQ(dlsym(library, "kiln_cuda_create"), nullptr);

  const char *message = nullptr;
  kiln_status status = create(&message);
  if (status == KILN_OK)
    GTEST_SKIP() << "this machine has a CUDA driver and GPU: " << message;
  EXPECT_EQ(status, KILN_ERROR_NO_DEVICE) << message;
  std::string text = message;
  EXPECT_TRUE(text.find("no CUDA driver (libcuda.so.1 ") == 0 ||
              text.find("no CUDA device") == 0)
      << text;
  // A second call answers the same way (the failed load is remembered).
  EXPECT_EQ(create(&message), status);
  dlclose(library);
}

} // namespace

//===- error.cpp - the thread's last error and CUDA result mapping --------===//
#include "error.h"

#include <cstdarg>
#include <cstdio>

namespace kiln::cuda {
namespace {
// Trivially destructible thread-local storage: needs no C++ runtime support.
thread_local char lastErrorText[4096];
} // namespace

kiln_status fail(kiln_status status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(lastErrorText, sizeof(lastErrorText), format, args);
  va_end(args);
  return status;
}

kiln_status statusForResult(CUresult result) {
  switch (result) {
  case CUDA_SUCCESS:
    return KILN_OK;
  case CUDA_ERROR_OUT_OF_MEMORY:
    return KILN_ERROR_OUT_OF_MEMORY;
  case CUDA_ERROR_NO_DEVICE:
    return KILN_ERROR_NO_DEVICE;
  case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
  case CUDA_ERROR_NO_BINARY_FOR_GPU:
  case CUDA_ERROR_JIT_COMPILER_NOT_FOUND:
  case CUDA_ERROR_NOT_SUPPORTED:
  case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH:
  case CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE:
  case CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED:
    return KILN_ERROR_UNSUPPORTED;
  default:
    return KILN_ERROR_DEVICE;
  }
}

void describeResult(const DriverTable &driver, CUresult result, char *buffer, size_t size) {
  const char *name = nullptr, *text = nullptr;
  if (!driver.cuGetErrorName || driver.cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    name = "CUDA_ERROR_UNRECOGNIZED";
  if (!driver.cuGetErrorString || driver.cuGetErrorString(result, &text) != CUDA_SUCCESS ||
      !text)
    text = "no description";
  snprintf(buffer, size, "%s (%d): %s", name, result, text);
}

kiln_status failCuda(const DriverTable &driver, CUresult result, const char *what) {
  char described[512];
  describeResult(driver, result, described, sizeof(described));
  return fail(statusForResult(result), "%s: %s", what, described);
}

const char *lastError() { return lastErrorText; }

} // namespace kiln::cuda

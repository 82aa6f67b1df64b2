//===- error.h - the thread's last error and CUDA result mapping ----------===//
#ifndef KILN_RUNTIME_CUDA_ERROR_H
#define KILN_RUNTIME_CUDA_ERROR_H

#include "driver.h"

namespace kiln::cuda {

// Sets the calling thread's last error and returns `status`.
kiln_status fail(kiln_status status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

// The status a CUDA result stands for.
kiln_status statusForResult(CUresult result);

// For a failed driver call: sets "<what>: CUDA_ERROR_X (code): text" and
// returns the mapped status.
kiln_status failCuda(const DriverTable &driver, CUresult result, const char *what);

// "CUDA_ERROR_X (code): text" for `result`, into `buffer`.
void describeResult(const DriverTable &driver, CUresult result, char *buffer, size_t size);

const char *lastError();

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_ERROR_H

//===- runtime_internal.h - creating a runtime over any driver table ------===//
//
// kiln_cuda_create uses the system driver; tests pass a table of fakes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_RUNTIME_INTERNAL_H
#define KILN_RUNTIME_CUDA_RUNTIME_INTERNAL_H

#include "driver.h"
#include "kiln/kiln_cuda.h"

namespace kiln::cuda {

// `driver` must outlive the handle.
kiln_status createRuntime(const DriverTable &driver, const kiln_cuda_model_desc *desc,
                          int deviceOrdinal, kiln_cuda_runtime **out);

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_RUNTIME_INTERNAL_H

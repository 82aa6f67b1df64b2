//===- module_image.h - choosing and loading the kernel image -------------===//
#ifndef KILN_RUNTIME_CUDA_MODULE_IMAGE_H
#define KILN_RUNTIME_CUDA_MODULE_IMAGE_H

#include "driver.h"
#include "kiln/kiln_cuda.h"

namespace kiln::cuda {

struct PtxIsaVersion {
  int major = 0;
  int minor = 0;
};

// Reads the `.version X.Y` directive of PTX text (not NUL-terminated).
bool parsePtxVersion(const char *text, size_t size, PtxIsaVersion *version);

// Orders the images a device of compute capability `sm` (major*10+minor) can
// run, best first: arch-specific cubin for exactly this device, then generic
// cubins of its major version, then PTX (newest target first). Writes image
// indices to `order` (room for `count`), returns how many are usable.
size_t rankImages(const kiln_cuda_image *images, size_t count, unsigned sm, size_t *order);

// Loads the best usable image into the current context, falling back to the
// next one if the driver rejects a binary for this GPU. PTX is JIT-compiled
// with the JIT error log captured into the error message. Sets *loadedImage
// to the index of the image loaded.
kiln_status loadBestModule(const DriverTable &driver, const kiln_cuda_image *images,
                           size_t count, unsigned sm, CUmodule *module, size_t *loadedImage);

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_MODULE_IMAGE_H

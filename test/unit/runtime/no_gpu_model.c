/* A stand-in for a kilnc GPU model .so: links the runtime archive, exports
 * one entry point, and must load and answer on a machine without a GPU. */
#include "kiln/kiln_cuda.h"

static const char kPtx[] = ".version 7.0\n.target sm_80\n.address_size 64\n";

__attribute__((visibility("default"))) kiln_status
kiln_test_model_create(const char **message) {
  static const kiln_cuda_image images[] = {{KILN_CUDA_IMAGE_PTX, 80, 0, kPtx, sizeof(kPtx) - 1}};
  static const kiln_arena_placement plan[] = {{0, 4096, 256}};
  kiln_cuda_model_desc desc = {images, 1, 0, 0, plan, 1, 0, 0, 0};
  kiln_cuda_runtime *runtime = 0;
  kiln_status status = kiln_cuda_create(&desc, 0, &runtime);
  *message = kiln_cuda_last_error();
  kiln_cuda_destroy(runtime);
  return status;
}

//===- tensor_maps.h - TMA tensor maps of arena buffers in device memory --===//
//
// Kernels with TMA loads (the sm_90a wgmma GEMM) take the device address of
// a CUtensorMap. The maps name arena buffers by address, so they are
// encoded (cuTensorMapEncodeTiled, host only) whenever the arena is placed
// and copied into one device allocation that never moves: captured CUDA
// graphs keep pointing at valid maps.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_TENSOR_MAPS_H
#define KILN_RUNTIME_CUDA_TENSOR_MAPS_H

#include "driver.h"
#include "kiln/kiln_cuda.h"

namespace kiln::cuda {

class TensorMapTable {
public:
  explicit TensorMapTable(const DriverTable &driver) : driver(driver) {}
  ~TensorMapTable();
  TensorMapTable(const TensorMapTable &) = delete;
  TensorMapTable &operator=(const TensorMapTable &) = delete;

  // Copies the map descriptions and allocates their device memory (the
  // model's context must be current). Nothing for count 0.
  kiln_status initialize(const kiln_cuda_tensor_map *maps, size_t count);
  // Encodes every map for buffers placed at arenaBase + plan[i].offset into
  // host staging memory; the device copy is untouched.
  kiln_status encode(CUdeviceptr arenaBase, const kiln_arena_placement *plan, size_t planCount);
  // Copies the staged maps to device memory (synchronous; the caller waits
  // for runs that read the previous maps first). Until one succeeds the
  // addresses are refused.
  kiln_status upload();
  // Frees the device memory (the model's context must be current).
  void release();

  size_t size() const { return count; }
  kiln_status address(size_t index, uint64_t *devicePtr) const;

private:
  const DriverTable &driver;
  kiln_cuda_tensor_map *specs = nullptr;
  CUtensorMap *staged = nullptr;
  size_t count = 0;
  CUdeviceptr device = 0;
  bool uploaded = false;
};

} // namespace kiln::cuda

#endif // KILN_RUNTIME_CUDA_TENSOR_MAPS_H

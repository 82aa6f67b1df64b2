/*===- kiln_cuda.h - the CUDA runtime that compiled GPU models link -------===
 *
 * Plain C. A compiled GPU model (.so from kilnc) links this runtime statically
 * (hidden symbols, so several models share a process) and calls it to load
 * its kernels, own its device-memory arena and enqueue its kernels on the
 * caller's stream. The runtime opens libcuda.so.1 with dlopen: a model loads
 * on a machine without a GPU and reports KILN_ERROR_NO_DEVICE.
 *
 * Errors: every function returns a kiln_status; kiln_cuda_last_error() gives
 * the calling thread's message for the last failure (CUDA error names
 * included). KILN_ERROR_OUT_OF_MEMORY leaves the handle usable as it was.
 *
 * Threads: calls on one handle are serialized by a lock inside the handle.
 * Runs on different streams are ordered by an event, so they never race on
 * the arena; runs on one stream are ordered by the stream.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_CUDA_H
#define KILN_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "kiln/kiln_arena.h"
#include "kiln/kiln_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_cuda_runtime kiln_cuda_runtime;

typedef enum kiln_cuda_image_kind {
  KILN_CUDA_IMAGE_CUBIN = 0,
  KILN_CUDA_IMAGE_PTX = 1
} kiln_cuda_image_kind;

/* One embedded kernel image. A cubin for sm_XY runs on devices X.Z with
 * Z >= Y; an arch-specific one (sm_90a) only on exactly X.Y. PTX for sm_XY is
 * JIT-compiled on any device >= X.Y (arch-specific PTX: exactly X.Y). */
typedef struct kiln_cuda_image {
  kiln_cuda_image_kind kind;
  uint32_t sm;            /* compute capability major*10 + minor: 80, 90, 100 */
  uint32_t arch_specific; /* nonzero for "a" targets such as sm_90a */
  const void *data;       /* PTX text need not be NUL-terminated */
  size_t size;
} kiln_cuda_image;

/* kiln_cuda_model_desc.kernel_flags bits. */
enum {
  /* The kernel exists only in sm_90a images (wgmma, TMA): it is looked up and
   * launched only when the loaded image is an sm_90a one. */
  KILN_CUDA_KERNEL_SM90A_ONLY = 1
};

/* A TMA tensor map (CUtensorMap) of a row-major [rows, cols] arena buffer:
 * encoded with cuTensorMapEncodeTiled once the arena is placed (again when
 * kiln_cuda_set_plan moves buffers), kept in device memory (128 bytes,
 * 64-byte aligned) for kernels that take its address. Rank 2, element
 * strides 1, no interleave, out-of-bounds elements read as zero. Only when
 * the loaded image is an sm_90a one (the only kernels that read maps). */
typedef struct kiln_cuda_tensor_map {
  uint32_t buffer;       /* arena buffer; the tensor starts at its first byte */
  uint32_t data_type;    /* CUtensorMapDataType: 0 UINT8, 6 FLOAT16 */
  uint64_t rows, cols;   /* in elements; rows are cols elements apart */
  uint32_t box_cols, box_rows;
  uint32_t swizzle;      /* CUtensorMapSwizzle: 0 none, 3 128B */
  uint32_t l2_promotion; /* CUtensorMapL2promotion */
} kiln_cuda_tensor_map;

/* What a compiled model hands the runtime; all arrays stay owned by the model
 * (typically static constants) and are copied where needed. */
typedef struct kiln_cuda_model_desc {
  const kiln_cuda_image *images;
  size_t num_images;
  const char *const *kernel_names; /* kernel i is launched by index i */
  size_t num_kernels;
  /* The arena plan computed at compile time (kiln_arena_plan). */
  const kiln_arena_placement *buffers;
  size_t num_buffers;
  const uint32_t *kernel_flags; /* num_kernels KILN_CUDA_KERNEL_* bits; NULL: none */
  const kiln_cuda_tensor_map *tensor_maps;
  size_t num_tensor_maps;
} kiln_cuda_model_desc;

/* Loads the driver, retains the primary context of `device_ordinal` (the one
 * the CUDA runtime API and PyTorch use), loads the best image for the device,
 * looks up every kernel and allocates the arena. On failure *out is NULL and
 * nothing is left allocated. */
kiln_status kiln_cuda_create(const kiln_cuda_model_desc *desc, int device_ordinal,
                             kiln_cuda_runtime **out);

/* Waits for the handle's last run, then frees everything. NULL is a no-op. */
void kiln_cuda_destroy(kiln_cuda_runtime *runtime);

/* Replaces the buffer placements (e.g. a plan made at run time for new
 * dynamic shapes) and grows the arena if it is too small. On failure,
 * including KILN_ERROR_OUT_OF_MEMORY, the previous plan and arena stay. */
kiln_status kiln_cuda_set_plan(kiln_cuda_runtime *runtime,
                               const kiln_arena_placement *buffers, size_t num_buffers);

/* Bytes of device memory the arena holds now. */
uint64_t kiln_cuda_arena_bytes(const kiln_cuda_runtime *runtime);

/* Enqueues the model's work: `stream` is the caller's CUstream (NULL: the
 * legacy default stream) on the handle's device. The runtime calls
 * `enqueue(runtime, user)`, which enqueues through kiln_cuda_launch,
 * kiln_cuda_memcpy and kiln_cuda_memset only (no host work whose effect must
 * repeat: with a graph key it may run only once).
 *
 * Graph replay: with a non-empty `graph_key`, the first run with that key is
 * captured into a CUDA Graph and later runs with an identical key replay it
 * without calling `enqueue`. The key must therefore contain everything baked
 * into the launches: shapes and the caller's device pointers. Graphs need a
 * non-default stream; on the legacy default stream (NULL or CU_STREAM_LEGACY)
 * the key is ignored. */
typedef kiln_status (*kiln_cuda_enqueue_fn)(kiln_cuda_runtime *runtime, void *user);
kiln_status kiln_cuda_run(kiln_cuda_runtime *runtime, void *stream,
                          const void *graph_key, size_t graph_key_size,
                          kiln_cuda_enqueue_fn enqueue, void *user);

/* Only inside enqueue: */
/* Device address of arena buffer `index` of the current plan. */
kiln_status kiln_cuda_buffer(kiln_cuda_runtime *runtime, size_t index, uint64_t *device_ptr);
/* Launches kernel `kernel_index`; `params` as for cuLaunchKernel. */
kiln_status kiln_cuda_launch(kiln_cuda_runtime *runtime, size_t kernel_index,
                             const uint32_t grid[3], const uint32_t block[3],
                             uint32_t dynamic_shared_bytes, void **params);
/* Stream-ordered copy between any two addresses (unified addressing). */
kiln_status kiln_cuda_memcpy(kiln_cuda_runtime *runtime, uint64_t dst, uint64_t src,
                             size_t bytes);
kiln_status kiln_cuda_memset(kiln_cuda_runtime *runtime, uint64_t dst, uint8_t value,
                             size_t bytes);

/* Only inside enqueue: device address of tensor map `index` (sm_90a images). */
kiln_status kiln_cuda_tensor_map_address(kiln_cuda_runtime *runtime, size_t index,
                                         uint64_t *device_ptr);

/* Nonzero when the loaded image is an sm_90a one, so that kernels flagged
 * KILN_CUDA_KERNEL_SM90A_ONLY and the tensor maps exist. */
int kiln_cuda_runs_sm90a(const kiln_cuda_runtime *runtime);

/* Index in desc->images of the image that was loaded (diagnostics). */
size_t kiln_cuda_image_index(const kiln_cuda_runtime *runtime);

/* Number of cached graphs (for tests and diagnostics). */
size_t kiln_cuda_graph_count(const kiln_cuda_runtime *runtime);

/* The calling thread's message for the last failure; never NULL. */
const char *kiln_cuda_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* KILN_CUDA_H */

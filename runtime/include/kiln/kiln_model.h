/*===- kiln_model.h - types shared by the C API of every compiled model ---===
 *
 * Plain C99, no dependencies. Every generated model header embeds this file
 * (and kiln_status.h) verbatim, so a model ships as one .so plus one .h;
 * the include guards let several model headers live in one translation unit.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_MODEL_H
#define KILN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the C API described here; `<prefix>_abi_version()` returns it. */
#define KILN_MODEL_ABI_VERSION 1

/* Weights. By default a model's weights are constants inside its .so. A
 * model compiled with `kilnc --weights=external` keeps them in
 * `<name>.safetensors` (standard safetensors; its __metadata__ names the
 * model and a checksum) beside the library: `<name>_create` maps that file
 * read-only from the folder the library was loaded from, and
 *   kiln_status <name>_create_with_weights(const char *weights_path,
 *                                          <name>_model **out);
 * maps `weights_path` instead (NULL: the default). Either checks the
 * header (tensor names, dtypes, shapes, offsets) and the data's checksum
 * against what the library recorded and fails with KILN_ERROR_WEIGHTS and a
 * last-error message naming the file and the mismatch. The mapping belongs
 * to the handle and is released by `<name>_destroy`. A model with embedded
 * weights accepts only NULL. See docs/c-api.md. */

/* Element types of inputs and outputs (ONNX names in the JSON). */
typedef enum kiln_dtype {
  KILN_DTYPE_F32 = 1,
  KILN_DTYPE_F16 = 2,
  KILN_DTYPE_BF16 = 3,
  KILN_DTYPE_F64 = 4,
  KILN_DTYPE_I8 = 5,
  KILN_DTYPE_I16 = 6,
  KILN_DTYPE_I32 = 7,
  KILN_DTYPE_I64 = 8,
  KILN_DTYPE_U8 = 9,
  KILN_DTYPE_U16 = 10,
  KILN_DTYPE_U32 = 11,
  KILN_DTYPE_U64 = 12,
  KILN_DTYPE_BOOL = 13 /* one byte per element, 0 or 1 */
} kiln_dtype;

/* A dense row-major tensor in caller-owned memory. The model never keeps,
 * frees or reallocates `data` or `shape`: they only need to live for the
 * duration of the call they are passed to. */
typedef struct kiln_tensor {
  int32_t dtype;        /* a kiln_dtype */
  int32_t rank;         /* number of entries in `shape` */
  const int64_t *shape; /* may be NULL for outputs: then only size_bytes is checked */
  void *data;           /* inputs are only read; outputs are written */
  size_t size_bytes;    /* bytes available at `data` (a capacity for outputs) */
} kiln_tensor;

/* Static description of one input or output; all pointers point into the
 * .so's read-only data and stay valid while the library is loaded. */
typedef struct kiln_tensor_info {
  const char *name;              /* the ONNX name */
  int32_t dtype;                 /* a kiln_dtype */
  int32_t rank;
  const int64_t *shape;          /* `rank` entries; -1 for a symbolic dimension */
  const char *const *dim_names;  /* `rank` entries; "" for a static dimension */
} kiln_tensor_info;

/* ---- DLPack 1.x ABI (only what the model reads), written from the spec.
 * Guarded with dlpack.h's own macro, so including dlpack.h first works. */
#ifndef DLPACK_MAJOR_VERSION
#define DLPACK_MAJOR_VERSION 1
#define DLPACK_MINOR_VERSION 1
#define DLPACK_FLAG_BITMASK_READ_ONLY (1UL << 0UL)
typedef struct { uint32_t major; uint32_t minor; } DLPackVersion;
typedef enum { kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3 } DLDeviceType;
typedef struct { DLDeviceType device_type; int32_t device_id; } DLDevice;
typedef enum { kDLInt = 0U, kDLUInt = 1U, kDLFloat = 2U, kDLBfloat = 4U, kDLBool = 6U } DLDataTypeCode;
typedef struct { uint8_t code; uint8_t bits; uint16_t lanes; } DLDataType;
typedef struct {
  void *data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t *shape;
  int64_t *strides; /* NULL means compact row-major */
  uint64_t byte_offset;
} DLTensor;
typedef struct DLManagedTensorVersioned {
  DLPackVersion version;
  void *manager_ctx;
  void (*deleter)(struct DLManagedTensorVersioned *self);
  uint64_t flags;
  DLTensor dl_tensor;
} DLManagedTensorVersioned;
#endif

#ifdef __cplusplus
}
#endif

#endif /* KILN_MODEL_H */

/*===- kiln_model_glue.c - the C API of a compiled model ------------------===
 *
 * Generic, model-independent half of every host .so: argument checking,
 * symbolic-dimension binding, DLPack, errors. kilnc compiles this file to
 * bitcode at build time, links it with the model's code, renames every
 * `KILN_MODEL_x` function to `<name>_x` and internalizes everything else, so
 * several models live in one process.
 *
 * memrefCopy below serves the compiled code. Only libc is used. Thread safety: the handle is immutable after create;
 * each run allocates its own scratch, so concurrent runs on one handle are
 * safe and deterministic.
 *
 * External weights (host, kilnc --weights=external): create maps and checks
 * `<name>.safetensors` (kiln_weights.c); each run publishes the handle's
 * mapping in the thread-local kiln_model_weights_base, from which the
 * compiled code addresses every weight, so handles with different files
 * run side by side.
 *
 *===----------------------------------------------------------------------===*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include "kiln/kiln_model.h"
#include "kiln/kiln_status.h"
#include "kiln_model_desc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KILN_HANDLE_MAGIC 0x4b494c4e4d4f444cULL /* "KILNMODL" */
#define KILN_MAX_RANK 32

#ifndef KILN_MODEL_TARGET_HOOKS
#include "kiln_weights.h"

#include <dlfcn.h>

/* The data section of the running handle's weights file (NULL when the
 * weights are embedded); read by the compiled code, set around each run. */
_Thread_local const unsigned char *kiln_model_weights_base = NULL;
#endif

struct kiln_model_handle {
  uint64_t magic;
  void *target; /* the target's per-handle state (NULL on the host) */
#ifndef KILN_MODEL_TARGET_HOOKS
  kiln_weights_mapping weights; /* all zero when the weights are embedded */
#endif
};

#ifdef KILN_MODEL_TARGET_HOOKS
/* A device target's glue (e.g. runtime/cuda/model/kiln_cuda_model_glue.c)
 * includes this file and defines these; `memref_descriptors` are as for
 * kiln_model_invoke, with device addresses. They report errors with fail(). */
static kiln_status kiln_model_target_create(void **state);
static void kiln_model_target_destroy(void *state);
static kiln_status kiln_model_target_run(void *state, void *stream, void **memref_descriptors);
/* DLPack tensors must live on the target's device. */
#define KILN_DLPACK_DEVICE_OK(type) ((type) == kDLCUDA)
#define KILN_DLPACK_DEVICE_NAME "CUDA"
#else
#define KILN_DLPACK_DEVICE_OK(type) ((type) == kDLCPU || (type) == kDLCUDAHost)
#define KILN_DLPACK_DEVICE_NAME "CPU"
#endif

static _Thread_local char last_error[1024];

static kiln_status fail(kiln_status status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static kiln_status fail(kiln_status status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(last_error, sizeof last_error, format, args);
  va_end(args);
  return status;
}

static kiln_status ok(void) {
  last_error[0] = '\0';
  return KILN_OK;
}

static const char *dtype_name(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F32: return "float32";
  case KILN_DTYPE_F16: return "float16";
  case KILN_DTYPE_BF16: return "bfloat16";
  case KILN_DTYPE_F64: return "float64";
  case KILN_DTYPE_I8: return "int8";
  case KILN_DTYPE_I16: return "int16";
  case KILN_DTYPE_I32: return "int32";
  case KILN_DTYPE_I64: return "int64";
  case KILN_DTYPE_U8: return "uint8";
  case KILN_DTYPE_U16: return "uint16";
  case KILN_DTYPE_U32: return "uint32";
  case KILN_DTYPE_U64: return "uint64";
  case KILN_DTYPE_BOOL: return "bool";
  }
  return "unknown";
}

static size_t dtype_size(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F64: case KILN_DTYPE_I64: case KILN_DTYPE_U64: return 8;
  case KILN_DTYPE_F32: case KILN_DTYPE_I32: case KILN_DTYPE_U32: return 4;
  case KILN_DTYPE_F16: case KILN_DTYPE_BF16: case KILN_DTYPE_I16: case KILN_DTYPE_U16: return 2;
  case KILN_DTYPE_I8: case KILN_DTYPE_U8: case KILN_DTYPE_BOOL: return 1;
  }
  return 0;
}

/* ---- static description -------------------------------------------------*/

uint32_t KILN_MODEL_abi_version(void) { return KILN_MODEL_ABI_VERSION; }

const char *KILN_MODEL_last_error(void) { return last_error; }

int32_t KILN_MODEL_num_inputs(void) { return kiln_model_descriptor.num_inputs; }

int32_t KILN_MODEL_num_outputs(void) { return kiln_model_descriptor.num_outputs; }

const char *KILN_MODEL_signature_json(void) { return kiln_model_descriptor.json; }

static kiln_status describe(const kiln_io_desc *io, int32_t count, const char *what,
                            int32_t index, kiln_tensor_info *info) {
  if (!info)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "%s_info: info is NULL", what);
  if (index < 0 || index >= count)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "%s_info: index %d is out of range [0, %d)",
                what, (int)index, (int)count);
  info->name = io[index].name;
  info->dtype = io[index].dtype;
  info->rank = io[index].rank;
  info->shape = io[index].shape;
  info->dim_names = io[index].dim_names;
  return ok();
}

kiln_status KILN_MODEL_input_info(int32_t index, kiln_tensor_info *info) {
  return describe(kiln_model_descriptor.inputs, kiln_model_descriptor.num_inputs, "input",
                  index, info);
}

kiln_status KILN_MODEL_output_info(int32_t index, kiln_tensor_info *info) {
  return describe(kiln_model_descriptor.outputs, kiln_model_descriptor.num_outputs, "output",
                  index, info);
}

kiln_status KILN_MODEL_dim_bounds(const char *dim_name, int64_t *min, int64_t *max) {
  if (!dim_name || !min || !max)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "dim_bounds: dim_name, min and max must not be NULL");
  for (int32_t i = 0; i < kiln_model_descriptor.num_symbols; ++i) {
    const kiln_symbol_desc *symbol = &kiln_model_descriptor.symbols[i];
    if (strcmp(symbol->name, dim_name) == 0) {
      *min = symbol->min;
      *max = symbol->max;
      return ok();
    }
  }
  return fail(KILN_ERROR_INVALID_ARGUMENT, "dim_bounds: the model has no symbolic dimension '%s'",
              dim_name);
}

/* ---- handles --------------------------------------------------------------*/

#ifndef KILN_MODEL_TARGET_HOOKS
/* `<name>.safetensors` in the folder this library was loaded from. */
static int default_weights_path(char *path, size_t size) {
  Dl_info info;
  if (!dladdr((const void *)&kiln_model_weights, &info) || !info.dli_fname)
    return 0;
  const char *slash = strrchr(info.dli_fname, '/');
  int folder_length = slash ? (int)(slash - info.dli_fname + 1) : 0;
  int length = snprintf(path, size, "%.*s%s", folder_length, info.dli_fname,
                        kiln_model_weights.file_name);
  return length > 0 && (size_t)length < size;
}

static kiln_status open_weights(const char *path, kiln_weights_mapping *mapping) {
  const kiln_weights_desc *weights = &kiln_model_weights;
  memset(mapping, 0, sizeof *mapping);
  if (!weights->external) {
    if (path)
      return fail(KILN_ERROR_INVALID_ARGUMENT,
                  "create_with_weights: model '%s' has its weights embedded in the library "
                  "(compiled without --weights=external); pass NULL or call %s_create",
                  weights->model_name, weights->model_name);
    return KILN_OK;
  }
  char beside_library[4096];
  if (!path) {
    if (!default_weights_path(beside_library, sizeof beside_library))
      return fail(KILN_ERROR_WEIGHTS,
                  "create: cannot tell which folder this library was loaded from; pass the path "
                  "of %s to %s_create_with_weights",
                  weights->file_name, weights->model_name);
    path = beside_library;
  }
  return kiln_weights_map(weights, path, mapping, last_error, sizeof last_error);
}
#endif

static kiln_status create_handle(const char *weights_path, struct kiln_model_handle **out) {
  if (!out)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "create: out is NULL");
  *out = NULL;
  struct kiln_model_handle *handle = malloc(sizeof *handle);
  if (!handle)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "create: cannot allocate the model handle");
  handle->magic = KILN_HANDLE_MAGIC;
  handle->target = NULL;
#ifdef KILN_MODEL_TARGET_HOOKS
  kiln_status status = weights_path ? fail(KILN_ERROR_UNSUPPORTED,
                                           "create_with_weights: this target keeps its weights "
                                           "in the library; pass NULL")
                                    : kiln_model_target_create(&handle->target);
#else
  kiln_status status = open_weights(weights_path, &handle->weights);
#endif
  if (status != KILN_OK) {
    free(handle);
    return status;
  }
  *out = handle;
  return ok();
}

kiln_status KILN_MODEL_create(struct kiln_model_handle **out) { return create_handle(NULL, out); }

kiln_status KILN_MODEL_create_with_weights(const char *weights_path,
                                           struct kiln_model_handle **out) {
  return create_handle(weights_path, out);
}

void KILN_MODEL_destroy(struct kiln_model_handle *handle) {
  if (!handle)
    return;
  handle->magic = 0;
#ifdef KILN_MODEL_TARGET_HOOKS
  kiln_model_target_destroy(handle->target);
#else
  kiln_weights_unmap(&handle->weights);
#endif
  free(handle);
}

/* ---- running --------------------------------------------------------------*/

/* A tensor as run() sees it, whichever API it came from. */
typedef struct tensor_view {
  int32_t dtype;
  int32_t rank;
  const int64_t *shape;
  void *data;
  size_t size_bytes;
  int size_known; /* 0 for DLPack: the producer guarantees the extent */
} tensor_view;

typedef struct run_state {
  int64_t symbols[64];
  int bound[64];
} run_state;

static kiln_status check_dtype(const char *what, const kiln_io_desc *io, const tensor_view *t) {
  if (t->dtype != io->dtype)
    return fail(KILN_ERROR_TYPE_MISMATCH, "%s '%s': expected element type %s, got %s", what,
                io->name, dtype_name(io->dtype), dtype_name(t->dtype));
  return KILN_OK;
}

/* Binds (inputs) or resolves (outputs) every dimension; checks bounds. */
static kiln_status bind_shape(const char *what, const kiln_io_desc *io, const tensor_view *t,
                              run_state *state, int64_t *dims) {
  if (t->shape && t->rank != io->rank)
    return fail(KILN_ERROR_SHAPE_MISMATCH, "%s '%s': expected rank %d, got %d", what, io->name,
                (int)io->rank, (int)t->rank);
  for (int32_t d = 0; d < io->rank; ++d) {
    int32_t symbol = io->dim_symbols[d];
    if (symbol < 0) {
      dims[d] = io->shape[d];
    } else if (state->bound[symbol]) {
      dims[d] = state->symbols[symbol];
    } else {
      if (!t->shape)
        return fail(KILN_ERROR_INTERNAL, "%s '%s': dimension %d ('%s') is not bound by any input",
                    what, io->name, (int)d, io->dim_names[d]);
      const kiln_symbol_desc *bounds = &kiln_model_descriptor.symbols[symbol];
      int64_t value = t->shape[d];
      if (value < bounds->min || value > bounds->max)
        return fail(KILN_ERROR_SHAPE_MISMATCH,
                    "%s '%s': dimension %d ('%s') is %lld, outside its bounds [%lld, %lld]", what,
                    io->name, (int)d, bounds->name, (long long)value, (long long)bounds->min,
                    (long long)bounds->max);
      state->symbols[symbol] = value;
      state->bound[symbol] = 1;
      dims[d] = value;
    }
    if (t->shape && t->shape[d] != dims[d]) {
      if (symbol >= 0)
        return fail(KILN_ERROR_SHAPE_MISMATCH,
                    "%s '%s': dimension %d ('%s') is %lld, but '%s' is %lld from an earlier "
                    "tensor",
                    what, io->name, (int)d, io->dim_names[d], (long long)t->shape[d],
                    io->dim_names[d], (long long)dims[d]);
      return fail(KILN_ERROR_SHAPE_MISMATCH, "%s '%s': dimension %d must be %lld, got %lld", what,
                  io->name, (int)d, (long long)dims[d], (long long)t->shape[d]);
    }
  }
  return KILN_OK;
}

static kiln_status check_size(const char *what, const kiln_io_desc *io, const tensor_view *t,
                              const int64_t *dims) {
  uint64_t bytes = dtype_size(io->dtype);
  for (int32_t d = 0; d < io->rank; ++d)
    if (__builtin_mul_overflow(bytes, (uint64_t)dims[d], &bytes))
      return fail(KILN_ERROR_SHAPE_MISMATCH, "%s '%s': the shape's byte size overflows", what,
                  io->name);
  if (t->size_known && t->size_bytes < bytes)
    return fail(KILN_ERROR_BUFFER_TOO_SMALL, "%s '%s': needs %llu bytes, the buffer has %llu",
                what, io->name, (unsigned long long)bytes, (unsigned long long)t->size_bytes);
  if (!t->data && bytes != 0)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "%s '%s': data is NULL", what, io->name);
  return KILN_OK;
}

/* Writes one memref descriptor {allocated, aligned, offset, sizes, strides}. */
static int64_t *write_descriptor(int64_t *words, void *data, int32_t rank, const int64_t *dims) {
  words[0] = (int64_t)(intptr_t)data;
  words[1] = (int64_t)(intptr_t)data;
  words[2] = 0;
  int64_t stride = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    words[3 + d] = dims[d];
    words[3 + rank + d] = stride;
    stride *= dims[d];
  }
  return words + 3 + 2 * rank;
}

static kiln_status run_views(struct kiln_model_handle *handle, void *stream,
                             const tensor_view *inputs,
                             int32_t num_inputs, const tensor_view *outputs, int32_t num_outputs) {
  const kiln_model_desc *model = &kiln_model_descriptor;
  if (!handle || handle->magic != KILN_HANDLE_MAGIC)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "run: the model handle is NULL or was destroyed");
  if (num_inputs != model->num_inputs || num_outputs != model->num_outputs)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "run: expected %d inputs and %d outputs, got %d and %d",
                (int)model->num_inputs, (int)model->num_outputs, (int)num_inputs,
                (int)num_outputs);
  if (model->num_symbols > 64)
    return fail(KILN_ERROR_INTERNAL, "run: too many symbolic dimensions");

  size_t words = 0;
  for (int32_t i = 0; i < num_inputs; ++i)
    words += 3 + 2 * (size_t)model->inputs[i].rank;
  for (int32_t i = 0; i < num_outputs; ++i)
    words += 3 + 2 * (size_t)model->outputs[i].rank;
  size_t count = (size_t)num_inputs + (size_t)num_outputs;
  int64_t *storage = malloc(words * sizeof(int64_t) + count * sizeof(void *) + 1);
  if (!storage)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "run: cannot allocate %zu argument words", words);
  void **arguments = (void **)(storage + words);

  run_state state;
  memset(&state, 0, sizeof state);
  int64_t dims[KILN_MAX_RANK];
  int64_t *cursor = storage;
  kiln_status status = KILN_OK;
  for (size_t i = 0; i < count && status == KILN_OK; ++i) {
    int is_input = i < (size_t)num_inputs;
    const char *what = is_input ? "input" : "output";
    const kiln_io_desc *io = is_input ? &model->inputs[i] : &model->outputs[i - num_inputs];
    const tensor_view *t = is_input ? &inputs[i] : &outputs[i - num_inputs];
    if (io->rank > KILN_MAX_RANK) {
      status = fail(KILN_ERROR_INTERNAL, "%s '%s': rank above %d", what, io->name, KILN_MAX_RANK);
      break;
    }
    if ((status = check_dtype(what, io, t)) != KILN_OK)
      break;
    if (!is_input || t->shape || io->rank == 0) {
      if ((status = bind_shape(what, io, t, &state, dims)) != KILN_OK)
        break;
    } else {
      status = fail(KILN_ERROR_INVALID_ARGUMENT, "input '%s': shape is NULL (rank %d expected)",
                    io->name, (int)io->rank);
      break;
    }
    if ((status = check_size(what, io, t, dims)) != KILN_OK)
      break;
    arguments[i] = cursor;
    cursor = write_descriptor(cursor, t->data, io->rank, dims);
  }
  if (status == KILN_OK) {
#ifdef KILN_MODEL_TARGET_HOOKS
    status = kiln_model_target_run(handle->target, stream, arguments);
    if (status == KILN_OK)
      status = ok();
#else
    (void)stream;
    kiln_model_weights_base = handle->weights.data;
    kiln_model_invoke(arguments);
    kiln_model_weights_base = NULL;
    status = ok();
#endif
  }
  free(storage);
  return status;
}

static kiln_status run_tensors(struct kiln_model_handle *handle, void *stream,
                               const kiln_tensor *inputs, int32_t num_inputs,
                               const kiln_tensor *outputs, int32_t num_outputs) {
  if ((num_inputs > 0 && !inputs) || (num_outputs > 0 && !outputs))
    return fail(KILN_ERROR_INVALID_ARGUMENT, "run: inputs or outputs is NULL");
  if (num_inputs < 0 || num_outputs < 0 || num_inputs > 4096 || num_outputs > 4096)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "run: bad tensor counts %d, %d", (int)num_inputs,
                (int)num_outputs);
  size_t total = (size_t)num_inputs + (size_t)num_outputs;
  tensor_view *all = malloc((total ? total : 1) * sizeof *all);
  if (!all)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "run: cannot allocate tensor views");
  for (size_t i = 0; i < total; ++i) {
    const kiln_tensor *t = i < (size_t)num_inputs ? &inputs[i] : &outputs[i - num_inputs];
    all[i] = (tensor_view){t->dtype, t->rank, t->shape, t->data, t->size_bytes, 1};
  }
  kiln_status status = run_views(handle, stream, all, num_inputs, all + num_inputs, num_outputs);
  free(all);
  return status;
}

kiln_status KILN_MODEL_run(struct kiln_model_handle *handle, const kiln_tensor *inputs,
                           int32_t num_inputs, const kiln_tensor *outputs, int32_t num_outputs) {
  return run_tensors(handle, NULL, inputs, num_inputs, outputs, num_outputs);
}

/* ---- DLPack ---------------------------------------------------------------*/

static int32_t dtype_from_dlpack(DLDataType type) {
  if (type.lanes != 1)
    return 0;
  switch (type.code) {
  case kDLFloat:
    return type.bits == 32 ? KILN_DTYPE_F32 : type.bits == 16 ? KILN_DTYPE_F16
           : type.bits == 64 ? KILN_DTYPE_F64 : 0;
  case kDLBfloat: return type.bits == 16 ? KILN_DTYPE_BF16 : 0;
  case kDLInt:
    return type.bits == 8 ? KILN_DTYPE_I8 : type.bits == 16 ? KILN_DTYPE_I16
           : type.bits == 32 ? KILN_DTYPE_I32 : type.bits == 64 ? KILN_DTYPE_I64 : 0;
  case kDLUInt:
    return type.bits == 8 ? KILN_DTYPE_U8 : type.bits == 16 ? KILN_DTYPE_U16
           : type.bits == 32 ? KILN_DTYPE_U32 : type.bits == 64 ? KILN_DTYPE_U64 : 0;
  case kDLBool: return type.bits == 8 ? KILN_DTYPE_BOOL : 0;
  }
  return 0;
}

static kiln_status view_dlpack(const char *what, int32_t index, const kiln_io_desc *io,
                               const DLManagedTensorVersioned *managed, int is_output,
                               tensor_view *view) {
  if (!managed)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "%s %d ('%s'): the DLPack tensor is NULL", what,
                (int)index, io->name);
  if (managed->version.major != 1)
    return fail(KILN_ERROR_UNSUPPORTED, "%s '%s': DLPack major version %u, expected 1", what,
                io->name, (unsigned)managed->version.major);
  if (is_output && (managed->flags & DLPACK_FLAG_BITMASK_READ_ONLY))
    return fail(KILN_ERROR_INVALID_ARGUMENT, "output '%s': the DLPack tensor is read-only",
                io->name);
  const DLTensor *t = &managed->dl_tensor;
  if (!KILN_DLPACK_DEVICE_OK(t->device.device_type))
    return fail(KILN_ERROR_INVALID_ARGUMENT, "%s '%s': expected a " KILN_DLPACK_DEVICE_NAME
                " tensor, got device type %d", what, io->name, (int)t->device.device_type);
  int32_t dtype = dtype_from_dlpack(t->dtype);
  if (dtype == 0)
    return fail(KILN_ERROR_TYPE_MISMATCH,
                "%s '%s': unsupported DLPack dtype (code %u, %u bits, %u lanes); expected %s",
                what, io->name, (unsigned)t->dtype.code, (unsigned)t->dtype.bits,
                (unsigned)t->dtype.lanes, dtype_name(io->dtype));
  if (t->ndim < 0 || (t->ndim > 0 && !t->shape))
    return fail(KILN_ERROR_INVALID_ARGUMENT, "%s '%s': bad DLPack ndim/shape", what, io->name);
  if (t->strides) {
    int64_t expected = 1;
    for (int32_t d = t->ndim - 1; d >= 0; --d) {
      if (t->shape[d] != 1 && t->strides[d] != expected)
        return fail(KILN_ERROR_INVALID_ARGUMENT,
                    "%s '%s': only compact row-major DLPack tensors are accepted (dimension %d "
                    "has stride %lld, expected %lld)",
                    what, io->name, (int)d, (long long)t->strides[d], (long long)expected);
      expected *= t->shape[d];
    }
  }
  view->dtype = dtype;
  view->rank = t->ndim;
  view->shape = t->shape;
  view->data = t->data ? (char *)t->data + t->byte_offset : NULL;
  view->size_bytes = 0;
  view->size_known = 0;
  return KILN_OK;
}

static kiln_status run_dlpack(struct kiln_model_handle *handle, void *stream,
                              DLManagedTensorVersioned *const *inputs, int32_t num_inputs,
                              DLManagedTensorVersioned *const *outputs, int32_t num_outputs) {
  const kiln_model_desc *model = &kiln_model_descriptor;
  if ((num_inputs > 0 && !inputs) || (num_outputs > 0 && !outputs))
    return fail(KILN_ERROR_INVALID_ARGUMENT, "run_dlpack: inputs or outputs is NULL");
  if (num_inputs != model->num_inputs || num_outputs != model->num_outputs)
    return fail(KILN_ERROR_INVALID_ARGUMENT,
                "run_dlpack: expected %d inputs and %d outputs, got %d and %d",
                (int)model->num_inputs, (int)model->num_outputs, (int)num_inputs,
                (int)num_outputs);
  size_t total = (size_t)num_inputs + (size_t)num_outputs;
  tensor_view *all = malloc((total ? total : 1) * sizeof *all);
  if (!all)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "run_dlpack: cannot allocate tensor views");
  kiln_status status = KILN_OK;
  for (int32_t i = 0; i < num_inputs && status == KILN_OK; ++i)
    status = view_dlpack("input", i, &model->inputs[i], inputs[i], 0, &all[i]);
  for (int32_t i = 0; i < num_outputs && status == KILN_OK; ++i)
    status = view_dlpack("output", i, &model->outputs[i], outputs[i], 1, &all[num_inputs + i]);
  if (status == KILN_OK)
    status = run_views(handle, stream, all, num_inputs, all + num_inputs, num_outputs);
  free(all);
  return status;
}

kiln_status KILN_MODEL_run_dlpack(struct kiln_model_handle *handle,
                                  DLManagedTensorVersioned *const *inputs, int32_t num_inputs,
                                  DLManagedTensorVersioned *const *outputs, int32_t num_outputs) {
  return run_dlpack(handle, NULL, inputs, num_inputs, outputs, num_outputs);
}

kiln_status KILN_MODEL_output_shape(const kiln_tensor *inputs, int32_t num_inputs,
                                    int32_t output_index, int64_t *shape) {
  const kiln_model_desc *model = &kiln_model_descriptor;
  if (!shape || (num_inputs > 0 && !inputs))
    return fail(KILN_ERROR_INVALID_ARGUMENT, "output_shape: inputs or shape is NULL");
  if (num_inputs != model->num_inputs)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "output_shape: expected %d inputs, got %d",
                (int)model->num_inputs, (int)num_inputs);
  if (output_index < 0 || output_index >= model->num_outputs)
    return fail(KILN_ERROR_INVALID_ARGUMENT, "output_shape: output index %d out of range [0, %d)",
                (int)output_index, (int)model->num_outputs);
  run_state state;
  memset(&state, 0, sizeof state);
  int64_t dims[KILN_MAX_RANK];
  for (int32_t i = 0; i < num_inputs; ++i) {
    const kiln_tensor *t = &inputs[i];
    tensor_view view = {t->dtype, t->rank, t->shape, t->data, t->size_bytes, 0};
    if (!t->shape && model->inputs[i].rank > 0)
      return fail(KILN_ERROR_INVALID_ARGUMENT, "input '%s': shape is NULL", model->inputs[i].name);
    kiln_status status = bind_shape("input", &model->inputs[i], &view, &state, dims);
    if (status != KILN_OK)
      return status;
  }
  const kiln_io_desc *io = &model->outputs[output_index];
  tensor_view unknown = {io->dtype, io->rank, NULL, NULL, 0, 0};
  kiln_status status = bind_shape("output", io, &unknown, &state, dims);
  if (status != KILN_OK)
    return status;
  memcpy(shape, dims, (size_t)io->rank * sizeof(int64_t));
  return ok();
}

/* ---- support for the compiled code ---------------------------------------*/

/* MLIR lowers a memref.copy between non-contiguous layouts to this call (the
 * name and ABI of MLIR's C runner utility): copy `src` into `dst`, both of
 * the same shape, elements of `element_size` bytes, any strides. */
typedef struct kiln_unranked_memref {
  int64_t rank;
  int64_t *descriptor; /* {allocated, aligned, offset, sizes[rank], strides[rank]} */
} kiln_unranked_memref;

void memrefCopy(int64_t element_size, kiln_unranked_memref *src, kiln_unranked_memref *dst) {
  int64_t rank = src->rank;
  const int64_t *sizes = src->descriptor + 3, *src_strides = sizes + rank;
  const int64_t *dst_strides = dst->descriptor + 3 + rank;
  const char *from = (const char *)(intptr_t)src->descriptor[1] + src->descriptor[2] * element_size;
  char *to = (char *)(intptr_t)dst->descriptor[1] + dst->descriptor[2] * element_size;
  int64_t index[KILN_MAX_RANK] = {0};
  for (int64_t d = 0; d < rank; ++d)
    if (sizes[d] == 0)
      return;
  for (;;) {
    int64_t src_offset = 0, dst_offset = 0;
    for (int64_t d = 0; d < rank; ++d) {
      src_offset += index[d] * src_strides[d];
      dst_offset += index[d] * dst_strides[d];
    }
    memcpy(to + dst_offset * element_size, from + src_offset * element_size,
           (size_t)element_size);
    int64_t d = rank - 1;
    while (d >= 0 && ++index[d] == sizes[d])
      index[d--] = 0;
    if (d < 0)
      return;
  }
}

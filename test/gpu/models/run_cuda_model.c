/*===- run_cuda_model.c - run a kilnc --target=cuda model, compare outputs --===
 *
 *   run_cuda_model LIB PREFIX            expect KILN_ERROR_NO_DEVICE (CI, no GPU)
 *   run_cuda_model LIB PREFIX DIR TOL    run on GPU 0 with DIR/input_<i>.bin, compare
 *                                        each float32 output with DIR/reference_<i>.bin
 *
 * The second form prints one line per output:
 *   output <i> '<name>': max_abs_error <e> max_abs_reference <r>
 * and fails if e > TOL * max(1, r). It compares three times: after PREFIX_run
 * (legacy stream), after three PREFIX_run_on_stream on a non-blocking stream
 * (the second and third replay a CUDA graph), and after
 * PREFIX_run_dlpack_on_stream with kDLCUDA tensors; outputs are cleared before
 * each. Allocation and copies use the CUDA driver
 * API, loaded with dlopen like the model's runtime does (no toolkit needed).
 *
 *===----------------------------------------------------------------------===*/
#define _POSIX_C_SOURCE 200809L
#include "kiln/kiln_model.h"
#include "kiln/kiln_status.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef unsigned long long CUdeviceptr;

static struct {
  int (*cuInit)(unsigned);
  int (*cuDeviceGet)(int *, int);
  int (*cuDevicePrimaryCtxRetain)(void **, int);
  int (*cuCtxSetCurrent)(void *);
  int (*cuMemAlloc)(CUdeviceptr *, size_t);
  int (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  int (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  int (*cuCtxSynchronize)(void);
  int (*cuStreamCreate)(void **, unsigned);
  int (*cuStreamSynchronize)(void *);
  int (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  int (*cuMemFree)(CUdeviceptr);
} cu;

#define MAX_TENSORS 64

typedef kiln_status (*create_fn)(void **);
typedef kiln_status (*run_fn)(void *, const kiln_tensor *, int32_t, const kiln_tensor *, int32_t);
typedef kiln_status (*run_stream_fn)(void *, void *, const kiln_tensor *, int32_t,
                                     const kiln_tensor *, int32_t);
typedef kiln_status (*run_dlpack_stream_fn)(void *, void *, DLManagedTensorVersioned *const *,
                                            int32_t, DLManagedTensorVersioned *const *, int32_t);
typedef kiln_status (*info_fn)(int32_t, kiln_tensor_info *);
typedef int32_t (*count_fn)(void);
typedef const char *(*error_fn)(void);

static void *symbol(void *lib, const char *prefix, const char *name) {
  char full[256];
  snprintf(full, sizeof full, "%s_%s", prefix, name);
  void *found = dlsym(lib, full);
  if (!found) {
    fprintf(stderr, "run_cuda_model: the library has no %s\n", full);
    exit(1);
  }
  return found;
}

static int load_driver(void) {
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver)
    return 0;
  *(void **)&cu.cuInit = dlsym(driver, "cuInit");
  *(void **)&cu.cuDeviceGet = dlsym(driver, "cuDeviceGet");
  *(void **)&cu.cuDevicePrimaryCtxRetain = dlsym(driver, "cuDevicePrimaryCtxRetain");
  *(void **)&cu.cuCtxSetCurrent = dlsym(driver, "cuCtxSetCurrent");
  *(void **)&cu.cuMemAlloc = dlsym(driver, "cuMemAlloc_v2");
  *(void **)&cu.cuMemcpyHtoD = dlsym(driver, "cuMemcpyHtoD_v2");
  *(void **)&cu.cuMemcpyDtoH = dlsym(driver, "cuMemcpyDtoH_v2");
  *(void **)&cu.cuCtxSynchronize = dlsym(driver, "cuCtxSynchronize");
  *(void **)&cu.cuStreamCreate = dlsym(driver, "cuStreamCreate");
  *(void **)&cu.cuStreamSynchronize = dlsym(driver, "cuStreamSynchronize");
  *(void **)&cu.cuMemsetD8 = dlsym(driver, "cuMemsetD8_v2");
  *(void **)&cu.cuMemFree = dlsym(driver, "cuMemFree_v2");
  int device = 0;
  void *context = NULL;
  return cu.cuInit && cu.cuMemFree && cu.cuInit(0) == 0 && cu.cuDeviceGet(&device, 0) == 0 &&
         cu.cuDevicePrimaryCtxRetain(&context, device) == 0 && cu.cuCtxSetCurrent(context) == 0;
}

/* Fills up to 1 GiB of device memory with 0xFF bytes (NaN in f16/f32, -1 in
 * integers) and frees it, so the model's arena most likely starts out
 * poisoned: a kernel that reads bytes nothing wrote gets NaN outputs or
 * out-of-range indices every time, not only after another process left
 * unlucky data behind. */
static void poison_device_memory(void) {
  for (size_t bytes = (size_t)1 << 30; bytes >= ((size_t)1 << 24); bytes /= 2) {
    CUdeviceptr block = 0;
    if (cu.cuMemAlloc(&block, bytes) != 0)
      continue;
    cu.cuMemsetD8(block, 0xff, bytes);
    cu.cuCtxSynchronize();
    cu.cuMemFree(block);
    return;
  }
}

static size_t dtype_bytes(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F64: case KILN_DTYPE_I64: case KILN_DTYPE_U64: return 8;
  case KILN_DTYPE_F32: case KILN_DTYPE_I32: case KILN_DTYPE_U32: return 4;
  case KILN_DTYPE_F16: case KILN_DTYPE_BF16: case KILN_DTYPE_I16: case KILN_DTYPE_U16: return 2;
  default: return 1;
  }
}

static void *read_file(const char *path, size_t expected) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "run_cuda_model: cannot open %s\n", path);
    exit(1);
  }
  void *data = malloc(expected ? expected : 1);
  size_t got = fread(data, 1, expected, file);
  int extra = fgetc(file) != EOF;
  fclose(file);
  if (got != expected || extra) {
    fprintf(stderr, "run_cuda_model: %s must hold exactly %zu bytes\n", path, expected);
    exit(1);
  }
  return data;
}

typedef struct tensor_slot {
  kiln_tensor tensor;
  kiln_tensor_info info;
  CUdeviceptr device;
} tensor_slot;

static void prepare(info_fn describe, int32_t index, tensor_slot *slot) {
  if (describe(index, &slot->info) != KILN_OK)
    exit(1);
  size_t bytes = dtype_bytes(slot->info.dtype);
  for (int32_t d = 0; d < slot->info.rank; ++d)
    bytes *= (size_t)slot->info.shape[d];
  if (cu.cuMemAlloc(&slot->device, bytes ? bytes : 1) != 0) {
    fprintf(stderr, "run_cuda_model: cuMemAlloc of %zu bytes failed\n", bytes);
    exit(1);
  }
  slot->tensor = (kiln_tensor){slot->info.dtype, slot->info.rank, slot->info.shape,
                               (void *)(uintptr_t)slot->device, bytes};
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Fills every output with NaN bytes, so a run that writes nothing fails. */
static void clear(tensor_slot *outputs, int32_t num_outputs) {
  for (int32_t i = 0; i < num_outputs; ++i)
    cu.cuMemsetD8(outputs[i].device, 0xff, outputs[i].tensor.size_bytes);
  cu.cuCtxSynchronize();
}

static DLDataType dlpack_type(int32_t dtype) {
  DLDataType type = {kDLFloat, 32, 1};
  switch (dtype) {
  case KILN_DTYPE_F16: type.bits = 16; break;
  case KILN_DTYPE_F64: type.bits = 64; break;
  case KILN_DTYPE_I32: type.code = kDLInt; break;
  case KILN_DTYPE_I64: type.code = kDLInt; type.bits = 64; break;
  case KILN_DTYPE_I8: type.code = kDLInt; type.bits = 8; break;
  case KILN_DTYPE_U8: type.code = kDLUInt; type.bits = 8; break;
  case KILN_DTYPE_BOOL: type.code = kDLBool; type.bits = 8; break;
  default: break;
  }
  return type;
}

/* Compares every float32 output with DIR/reference_<i>.bin; 1 if any is off. */
static int compare(const char *label, const char *dir, tensor_slot *outputs, int32_t num_outputs,
                   double tolerance) {
  char path[4096];
  int failed = 0;
  for (int32_t i = 0; i < num_outputs; ++i) {
    if (outputs[i].info.dtype != KILN_DTYPE_F32)
      continue;
    size_t bytes = outputs[i].tensor.size_bytes, count = bytes / sizeof(float);
    float *got = malloc(bytes ? bytes : 1);
    cu.cuMemcpyDtoH(got, outputs[i].device, bytes);
    snprintf(path, sizeof path, "%s/reference_%d.bin", dir, (int)i);
    float *expected = read_file(path, bytes);
    double max_error = 0, max_reference = 0;
    for (size_t k = 0; k < count; ++k) {
      double error = fabs((double)got[k] - (double)expected[k]);
      if (!(error <= max_error)) /* NaN counts as an error */
        max_error = isnan(error) ? INFINITY : error;
      if (fabs((double)expected[k]) > max_reference)
        max_reference = fabs((double)expected[k]);
    }
    printf("%s: output %d '%s': max_abs_error %.3g max_abs_reference %.3g\n", label, (int)i,
           outputs[i].info.name, max_error, max_reference);
    if (max_error > tolerance * (max_reference > 1 ? max_reference : 1))
      failed = 1;
    free(got);
    free(expected);
  }
  return failed;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 5) {
    fprintf(stderr, "usage: run_cuda_model LIB PREFIX [DIR TOLERANCE]\n");
    return 2;
  }
  const char *prefix = argv[2];
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "run_cuda_model: %s\n", dlerror());
    return 1;
  }
  create_fn create = (create_fn)symbol(lib, prefix, "create");
  error_fn last_error = (error_fn)symbol(lib, prefix, "last_error");
  void *model = NULL;
  if (argc == 3) {
    kiln_status status = create(&model);
    printf("create: %s: %s\n", kiln_status_name(status), last_error());
    return status == KILN_ERROR_NO_DEVICE && model == NULL && last_error()[0] ? 0 : 1;
  }
  if (!load_driver()) {
    fprintf(stderr, "run_cuda_model: no usable CUDA driver or device\n");
    return 77;
  }
  poison_device_memory();
  kiln_status status = create(&model);
  if (status != KILN_OK) {
    fprintf(stderr, "create: %s: %s\n", kiln_status_name(status), last_error());
    return 1;
  }
  int32_t num_inputs = ((count_fn)symbol(lib, prefix, "num_inputs"))();
  int32_t num_outputs = ((count_fn)symbol(lib, prefix, "num_outputs"))();
  if (num_inputs > MAX_TENSORS || num_outputs > MAX_TENSORS)
    return 1;
  static tensor_slot inputs[MAX_TENSORS], outputs[MAX_TENSORS];
  kiln_tensor in[MAX_TENSORS], out[MAX_TENSORS];
  char path[4096];
  for (int32_t i = 0; i < num_inputs; ++i) {
    prepare((info_fn)symbol(lib, prefix, "input_info"), i, &inputs[i]);
    snprintf(path, sizeof path, "%s/input_%d.bin", argv[3], (int)i);
    void *host = read_file(path, inputs[i].tensor.size_bytes);
    cu.cuMemcpyHtoD(inputs[i].device, host, inputs[i].tensor.size_bytes);
    free(host);
    in[i] = inputs[i].tensor;
  }
  for (int32_t i = 0; i < num_outputs; ++i) {
    prepare((info_fn)symbol(lib, prefix, "output_info"), i, &outputs[i]);
    out[i] = outputs[i].tensor;
  }
  run_fn run = (run_fn)symbol(lib, prefix, "run");
  if ((status = run(model, in, num_inputs, out, num_outputs)) != KILN_OK) {
    fprintf(stderr, "run: %s: %s\n", kiln_status_name(status), last_error());
    return 1;
  }
  /* A kernel fault surfaces here, after run returned KILN_OK. */
  int sync_error = cu.cuCtxSynchronize();
  if (sync_error != 0) {
    fprintf(stderr, "run: the work it enqueued failed: CUDA error %d (rerun under "
                    "compute-sanitizer to find the kernel)\n", sync_error);
    return 1;
  }
  enum { kTimedRuns = 20 };
  double start = now_seconds();
  for (int r = 0; r < kTimedRuns; ++r)
    run(model, in, num_inputs, out, num_outputs);
  cu.cuCtxSynchronize();
  printf("time_per_run_us %.1f\n", 1e6 * (now_seconds() - start) / kTimedRuns);
  double tolerance = atof(argv[4]);
  int failed = compare("run", argv[3], outputs, num_outputs, tolerance);

  void *stream = NULL;
  if (cu.cuStreamCreate(&stream, 1 /* CU_STREAM_NON_BLOCKING */) != 0)
    return 1;
  run_stream_fn run_on_stream = (run_stream_fn)symbol(lib, prefix, "run_on_stream");
  clear(outputs, num_outputs);
  for (int r = 0; r < 3; ++r) /* capture, then replay the graph */
    if ((status = run_on_stream(model, stream, in, num_inputs, out, num_outputs)) != KILN_OK) {
      fprintf(stderr, "run_on_stream: %s: %s\n", kiln_status_name(status), last_error());
      return 1;
    }
  cu.cuStreamSynchronize(stream);
  failed |= compare("run_on_stream (graph replay)", argv[3], outputs, num_outputs, tolerance);
  start = now_seconds();
  for (int r = 0; r < kTimedRuns; ++r)
    run_on_stream(model, stream, in, num_inputs, out, num_outputs);
  cu.cuStreamSynchronize(stream);
  printf("time_per_run_us_graph %.1f\n", 1e6 * (now_seconds() - start) / kTimedRuns);

  static DLManagedTensorVersioned managed[2 * MAX_TENSORS];
  DLManagedTensorVersioned *dl_in[MAX_TENSORS], *dl_out[MAX_TENSORS];
  for (int32_t i = 0; i < num_inputs + num_outputs; ++i) {
    tensor_slot *slot = i < num_inputs ? &inputs[i] : &outputs[i - num_inputs];
    DLManagedTensorVersioned *t = &managed[i];
    t->version.major = 1;
    t->dl_tensor.data = slot->tensor.data;
    t->dl_tensor.device.device_type = kDLCUDA;
    t->dl_tensor.ndim = slot->info.rank;
    t->dl_tensor.shape = (int64_t *)slot->info.shape;
    t->dl_tensor.dtype = dlpack_type(slot->info.dtype);
    if (i < num_inputs)
      dl_in[i] = t;
    else
      dl_out[i - num_inputs] = t;
  }
  clear(outputs, num_outputs);
  run_dlpack_stream_fn run_dlpack = (run_dlpack_stream_fn)symbol(lib, prefix,
                                                                 "run_dlpack_on_stream");
  if ((status = run_dlpack(model, stream, dl_in, num_inputs, dl_out, num_outputs)) != KILN_OK) {
    fprintf(stderr, "run_dlpack_on_stream: %s: %s\n", kiln_status_name(status), last_error());
    return 1;
  }
  cu.cuStreamSynchronize(stream);
  failed |= compare("run_dlpack_on_stream", argv[3], outputs, num_outputs, tolerance);
  ((void (*)(void *))symbol(lib, prefix, "destroy"))(model);
  return failed;
}

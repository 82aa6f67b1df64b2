/*===- kiln_cuda_model_glue.c - the C API of a compiled CUDA model --------===
 *
 * The host glue (argument checking, shapes, DLPack, errors) with the CUDA
 * target's hooks: create makes a kiln_cuda runtime and copies the weights into
 * their arena buffers once; a run enqueues the model's steps (kernel launches
 * and device copies) on the caller's stream. Tensor data are device pointers.
 *
 *===----------------------------------------------------------------------===*/
#define KILN_MODEL_TARGET_HOOKS 1
#include "kiln_model_glue.c"

#include "kiln_cuda_plan.h"

/* Copies every weight into its arena buffer (stream-ordered, pageable source). */
static kiln_status upload_weights(kiln_cuda_runtime *runtime, void *user) {
  (void)user;
  const kiln_cuda_plan *plan = &kiln_cuda_model_plan;
  for (uint32_t i = 0; i < plan->num_weights; ++i) {
    uint64_t device = 0;
    kiln_status status = kiln_cuda_buffer(runtime, plan->weights[i].buffer, &device);
    if (status == KILN_OK)
      status = kiln_cuda_memcpy(runtime, device, (uint64_t)(uintptr_t)plan->weights[i].data,
                                (size_t)plan->weights[i].size);
    if (status != KILN_OK)
      return status;
  }
  return KILN_OK;
}

static kiln_status kiln_model_target_create(void **state) {
  kiln_cuda_runtime *runtime = NULL;
  kiln_status status = kiln_cuda_create(&kiln_cuda_model_plan.runtime, 0, &runtime);
  if (status != KILN_OK)
    return fail(status, "create: %s", kiln_cuda_last_error());
  status = kiln_cuda_run(runtime, NULL, NULL, 0, upload_weights, NULL);
  if (status != KILN_OK) {
    fail(status, "create: uploading the weights: %s", kiln_cuda_last_error());
    kiln_cuda_destroy(runtime);
    return status;
  }
  *state = runtime;
  return KILN_OK;
}

static void kiln_model_target_destroy(void *state) { kiln_cuda_destroy(state); }

typedef struct run_args {
  void **descriptors; /* memref descriptors: inputs, then outputs */
  int32_t num_inputs;
} run_args;

/* The device address of one argument (buffers) or its scalar value. */
static kiln_status resolve(kiln_cuda_runtime *runtime, const run_args *run,
                           const kiln_cuda_arg *arg, uint64_t *value) {
  switch (arg->kind) {
  case KILN_CUDA_ARG_ARENA:
    return kiln_cuda_buffer(runtime, (size_t)arg->index, value);
  case KILN_CUDA_ARG_TENSOR_MAP:
    return kiln_cuda_tensor_map_address(runtime, (size_t)arg->index, value);
  case KILN_CUDA_ARG_INPUT:
  case KILN_CUDA_ARG_OUTPUT: {
    int32_t slot = arg->kind == KILN_CUDA_ARG_INPUT ? arg->index : run->num_inputs + arg->index;
    const int64_t *words = run->descriptors[slot];
    *value = (uint64_t)words[1]; /* the aligned pointer */
    return KILN_OK;
  }
  default:
    *value = (uint64_t)arg->value;
    return KILN_OK;
  }
}

#define KILN_CUDA_MAX_KERNEL_ARGS 256

static kiln_status enqueue_step(kiln_cuda_runtime *runtime, const run_args *run,
                                const kiln_cuda_step *step) {
  const kiln_cuda_plan *plan = &kiln_cuda_model_plan;
  uint64_t values[KILN_CUDA_MAX_KERNEL_ARGS];
  uint32_t narrow[KILN_CUDA_MAX_KERNEL_ARGS];
  void *params[KILN_CUDA_MAX_KERNEL_ARGS];
  if (step->num_args > KILN_CUDA_MAX_KERNEL_ARGS)
    return KILN_ERROR_INTERNAL;
  for (uint32_t a = 0; a < step->num_args; ++a) {
    const kiln_cuda_arg *arg = &plan->args[step->first_arg + a];
    kiln_status status = resolve(runtime, run, arg, &values[a]);
    if (status != KILN_OK)
      return status;
    narrow[a] = (uint32_t)values[a];
    params[a] = arg->kind == KILN_CUDA_ARG_I32 ? (void *)&narrow[a] : (void *)&values[a];
  }
  if (step->kind == KILN_CUDA_STEP_COPY)
    return kiln_cuda_memcpy(runtime, values[0], values[1], (size_t)step->bytes);
  /* A launch's `bytes` is its dynamic shared memory (kiln_cuda_plan.h). */
  return kiln_cuda_launch(runtime, step->kernel, step->grid, step->block, (uint32_t)step->bytes,
                          params);
}

/* Whether a step runs with the image the runtime loaded. */
static int step_runs(kiln_cuda_runtime *runtime, const kiln_cuda_step *step) {
  if (step->kind == KILN_CUDA_STEP_LAUNCH_SM90A)
    return kiln_cuda_runs_sm90a(runtime);
  if (step->kind == KILN_CUDA_STEP_LAUNCH_NOT_SM90A)
    return !kiln_cuda_runs_sm90a(runtime);
  return 1;
}

static kiln_status enqueue_model(kiln_cuda_runtime *runtime, void *user) {
  const kiln_cuda_plan *plan = &kiln_cuda_model_plan;
  for (uint32_t s = 0; s < plan->num_steps; ++s) {
    if (!step_runs(runtime, &plan->steps[s]))
      continue;
    kiln_status status = enqueue_step(runtime, user, &plan->steps[s]);
    if (status != KILN_OK)
      return status;
  }
  return KILN_OK;
}

#define KILN_CUDA_MAX_GRAPH_TENSORS 64

static kiln_status kiln_model_target_run(void *state, void *stream, void **memref_descriptors) {
  run_args run = {memref_descriptors, kiln_model_descriptor.num_inputs};
  /* Shapes are static, so the caller's pointers are all that a captured
   * graph bakes in: they are the graph key (the runtime ignores keys on the
   * NULL stream). */
  uint64_t key[KILN_CUDA_MAX_GRAPH_TENSORS];
  size_t count = (size_t)kiln_model_descriptor.num_inputs + kiln_model_descriptor.num_outputs;
  size_t key_size = count <= KILN_CUDA_MAX_GRAPH_TENSORS ? count * sizeof key[0] : 0;
  for (size_t i = 0; key_size && i < count; ++i)
    key[i] = (uint64_t)((const int64_t *)memref_descriptors[i])[1];
  kiln_status status = kiln_cuda_run(state, stream, key, key_size, enqueue_model, &run);
  if (status != KILN_OK)
    return fail(status, "run: %s", kiln_cuda_last_error());
  return KILN_OK;
}

kiln_status KILN_MODEL_run_on_stream(struct kiln_model_handle *handle, void *stream,
                                     const kiln_tensor *inputs, int32_t num_inputs,
                                     const kiln_tensor *outputs, int32_t num_outputs) {
  return run_tensors(handle, stream, inputs, num_inputs, outputs, num_outputs);
}

kiln_status KILN_MODEL_run_dlpack_on_stream(struct kiln_model_handle *handle, void *stream,
                                            DLManagedTensorVersioned *const *inputs,
                                            int32_t num_inputs,
                                            DLManagedTensorVersioned *const *outputs,
                                            int32_t num_outputs) {
  return run_dlpack(handle, stream, inputs, num_inputs, outputs, num_outputs);
}

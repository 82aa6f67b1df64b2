/*===- kiln_cuda_plan.h - what kilnc generates for each CUDA model --------===
 *
 * The contract between kiln_cuda_model_glue.c and the tables that
 * compiler/targets/cuda/lib/PlanEmitter.cpp builds as LLVM constants: keep
 * field order and types in sync. Every field has a fixed width so the C and
 * LLVM layouts agree without explicit padding.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_CUDA_PLAN_H
#define KILN_CUDA_PLAN_H

#include "kiln/kiln_cuda.h"

#include <stdint.h>

/* Where a kernel argument or copy operand lives. */
enum kiln_cuda_arg_kind {
  KILN_CUDA_ARG_ARENA = 0,  /* arena buffer `index` (intermediates and weights) */
  KILN_CUDA_ARG_INPUT = 1,  /* the caller's input `index` */
  KILN_CUDA_ARG_OUTPUT = 2, /* the caller's output `index` */
  KILN_CUDA_ARG_I64 = 3,    /* the scalar `value` */
  KILN_CUDA_ARG_I32 = 4,    /* the low 32 bits of `value` */
  KILN_CUDA_ARG_TENSOR_MAP = 5, /* device address of tensor map `index` (sm_90a) */
};

typedef struct kiln_cuda_arg {
  int32_t kind;  /* kiln_cuda_arg_kind */
  int32_t index;
  int64_t value;
} kiln_cuda_arg;

enum kiln_cuda_step_kind {
  KILN_CUDA_STEP_LAUNCH = 0, /* kernel `kernel` with args [first_arg, first_arg + num_args) */
  KILN_CUDA_STEP_COPY = 1,   /* `bytes` from args[first_arg + 1] to args[first_arg] */
  /* A launch for sm_90a images only (wgmma), and its alternative for every
   * other image: exactly one of each pair runs. */
  KILN_CUDA_STEP_LAUNCH_SM90A = 2,
  KILN_CUDA_STEP_LAUNCH_NOT_SM90A = 3,
};

typedef struct kiln_cuda_step {
  int32_t kind; /* kiln_cuda_step_kind */
  uint32_t kernel;
  uint32_t grid[3];
  uint32_t block[3];
  uint32_t first_arg;
  uint32_t num_args;
  uint64_t bytes; /* copy: bytes to copy; launch: dynamic shared memory bytes */
} kiln_cuda_step;

/* Weight bytes in the .so, copied into their arena buffer at create. */
typedef struct kiln_cuda_weight {
  const void *data;
  uint64_t size;
  uint32_t buffer;
  uint32_t reserved;
} kiln_cuda_weight;

typedef struct kiln_cuda_plan {
  kiln_cuda_model_desc runtime;
  const kiln_cuda_weight *weights;
  const kiln_cuda_step *steps;
  const kiln_cuda_arg *args;
  uint32_t num_weights;
  uint32_t num_steps;
  uint32_t num_args;
  uint32_t reserved;
} kiln_cuda_plan;

/* Generated per model (internal to the .so). */
extern const kiln_cuda_plan kiln_cuda_model_plan;

#endif /* KILN_CUDA_PLAN_H */

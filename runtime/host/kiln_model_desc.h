/*===- kiln_model_desc.h - what kilnc generates for each model ------------===
 *
 * The contract between the generic C glue (kiln_model_glue.c) and the code
 * kilnc generates per model. compiler/targets/host/ModelDescriptor.cpp builds
 * these structs as LLVM constants: keep the two in sync (field order and
 * types), and bump KILN_MODEL_DESC_LAYOUT when changing them.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_MODEL_DESC_H
#define KILN_MODEL_DESC_H

#include <stdint.h>

#define KILN_MODEL_DESC_LAYOUT 1

typedef struct kiln_io_desc {
  const char *name;
  int32_t dtype;               /* kiln_dtype */
  int32_t rank;
  const int64_t *shape;        /* -1 for symbolic dims */
  const int32_t *dim_symbols;  /* index into kiln_model_desc.symbols, -1 if static */
  const char *const *dim_names;
} kiln_io_desc;

typedef struct kiln_symbol_desc {
  const char *name;
  int64_t min; /* inclusive bounds a run accepts */
  int64_t max;
} kiln_symbol_desc;

typedef struct kiln_model_desc {
  int32_t layout;         /* KILN_MODEL_DESC_LAYOUT */
  int32_t num_inputs;
  int32_t num_outputs;
  int32_t num_symbols;
  const kiln_io_desc *inputs;
  const kiln_io_desc *outputs;
  const kiln_symbol_desc *symbols;
  const char *json;
} kiln_model_desc;

/* One tensor of an external weights file (kilnc --weights=external): what
 * the safetensors header must say about it. */
typedef struct kiln_weight_desc {
  const char *name;
  const char *dtype;     /* safetensors dtype: "F32", "F16", "BF16", "I8", ... */
  int32_t rank;
  const int64_t *shape;
  uint64_t begin;        /* data_offsets, relative to the data section */
  uint64_t end;
} kiln_weight_desc;

/* The weights file a model expects; `external` is 0 when the weights are
 * embedded in the .so (then nothing else is read). Host target only; a
 * separate global so that the layout of kiln_model_desc stays as is. */
typedef struct kiln_weights_desc {
  int32_t external;
  int32_t num_tensors;
  const kiln_weight_desc *tensors;
  uint64_t data_size;    /* bytes after the header */
  uint64_t checksum;     /* kiln_weights_checksum() of those bytes */
  const char *file_name; /* "<name>.safetensors", looked up beside the .so */
  const char *model_name;
} kiln_weights_desc;

/* Generated per model (internal to the .so). */
extern const kiln_model_desc kiln_model_descriptor;
extern const kiln_weights_desc kiln_model_weights;
/* Calls the compiled entry with one memref descriptor per input, then one
 * per output (out-parameters), in signature order. */
void kiln_model_invoke(void **memref_descriptors);

#endif /* KILN_MODEL_DESC_H */

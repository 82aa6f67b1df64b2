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

/* Generated per model (internal to the .so). */
extern const kiln_model_desc kiln_model_descriptor;
/* Calls the compiled entry with one memref descriptor per input, then one
 * per output (out-parameters), in signature order. */
void kiln_model_invoke(void **memref_descriptors);

#endif /* KILN_MODEL_DESC_H */

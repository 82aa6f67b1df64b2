/*===- kiln_weights.h - mapping and checking an external weights file -----===
 *
 * kilnc --weights=external writes a model's constant tensors to
 * `<name>.safetensors` (https://huggingface.co/docs/safetensors: an 8-byte
 * little-endian header length, a JSON header, then the data). The model's
 * glue maps it read-only at create time and checks, against what kilnc
 * recorded in the .so (kiln_weights_desc): the header's structure, every
 * tensor's name, dtype, shape and offsets, the data size and the checksum.
 * Plain C and POSIX (open, fstat, mmap); compiled into every model.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_WEIGHTS_H
#define KILN_WEIGHTS_H

#include "kiln/kiln_status.h"
#include "kiln_model_desc.h"

#include <stddef.h>
#include <stdint.h>

/* A mapped and checked weights file; `data` is the start of its data
 * section (tensor `t` lives at data + t.begin). */
typedef struct kiln_weights_mapping {
  void *map;
  size_t map_size;
  const unsigned char *data;
} kiln_weights_mapping;

/* Maps `path` and checks it against `expected`. On failure returns
 * KILN_ERROR_WEIGHTS (or KILN_ERROR_OUT_OF_MEMORY), leaves nothing mapped
 * and writes a message naming the file and the mismatch into `error`. */
kiln_status kiln_weights_map(const kiln_weights_desc *expected, const char *path,
                             kiln_weights_mapping *out, char *error, size_t error_size);

/* Unmaps (a zeroed mapping is a no-op). */
void kiln_weights_unmap(kiln_weights_mapping *mapping);

/* The checks of kiln_weights_map on a file image already in memory;
 * `*data` is set to its data section on success. */
kiln_status kiln_weights_check(const kiln_weights_desc *expected, const unsigned char *file,
                               uint64_t size, const char *path, const unsigned char **data,
                               char *error, size_t error_size);

#endif /* KILN_WEIGHTS_H */

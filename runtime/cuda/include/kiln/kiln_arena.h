/*===- kiln_arena.h - one arena for all intermediate buffers --------------===
 *
 * Plain C interface, plain C++ implementation, no dependencies: the compiler
 * calls kiln_arena_plan at compile time and embeds the placements in the
 * model; the runtime checks them (kiln_arena_check) and allocates one arena.
 * Every size computation is overflow-checked.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_ARENA_H
#define KILN_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "kiln/kiln_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A buffer live from step first_use to step last_use, both included (steps
 * are the positions of the kernels that write and last read it). */
typedef struct kiln_arena_buffer {
  uint64_t size;
  uint64_t alignment; /* a power of two */
  uint32_t first_use;
  uint32_t last_use;
} kiln_arena_buffer;

/* Where a buffer lives in the arena. */
typedef struct kiln_arena_placement {
  uint64_t offset;
  uint64_t size;
  uint64_t alignment;
} kiln_arena_placement;

/* Places buffers greedily, largest first, each in the smallest gap between
 * buffers whose lifetimes overlap its own (best fit), so buffers never live
 * in the same bytes at the same time. Writes placements[i] for buffers[i] and
 * the arena size. `error` (optional, error_size bytes) says what is wrong on
 * failure: KILN_ERROR_INVALID_ARGUMENT for a bad alignment or lifetime or a
 * size overflow, KILN_ERROR_OUT_OF_MEMORY if host scratch memory fails. */
kiln_status kiln_arena_plan(const kiln_arena_buffer *buffers, size_t num_buffers,
                            kiln_arena_placement *placements, uint64_t *arena_size,
                            char *error, size_t error_size);

/* Checks placements made elsewhere (alignment a power of two, offset aligned,
 * offset + size without overflow) and returns the arena size they need and
 * their largest alignment. */
kiln_status kiln_arena_check(const kiln_arena_placement *placements, size_t num_placements,
                             uint64_t *arena_size, uint64_t *max_alignment, char *error,
                             size_t error_size);

#ifdef __cplusplus
}
#endif

#endif /* KILN_ARENA_H */

//===- arena_plan.cpp - greedy best-fit placement by lifetime -------------===//
//
// No C++ library beyond headers: this file is linked into every model .so,
// which may depend on libc only.
//
//===----------------------------------------------------------------------===//
#include "kiln/kiln_arena.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace {

void describe(char *error, size_t errorSize, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

void describe(char *error, size_t errorSize, const char *format, ...) {
  if (!error || errorSize == 0)
    return;
  va_list args;
  va_start(args, format);
  vsnprintf(error, errorSize, format, args);
  va_end(args);
}

bool isPowerOfTwo(uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

// Rounds `value` up to `alignment` (a power of two); false on overflow.
bool alignUp(uint64_t value, uint64_t alignment, uint64_t *result) {
  uint64_t bumped;
  if (__builtin_add_overflow(value, alignment - 1, &bumped))
    return false;
  *result = bumped & ~(alignment - 1);
  return true;
}

bool livesOverlap(const kiln_arena_buffer &a, const kiln_arena_buffer &b) {
  return a.first_use <= b.last_use && b.first_use <= a.last_use;
}

// Larger buffers first; ties by earlier start, then index, for a stable plan.
bool placedBefore(const kiln_arena_buffer *buffers, size_t a, size_t b) {
  if (buffers[a].size != buffers[b].size)
    return buffers[a].size > buffers[b].size;
  if (buffers[a].first_use != buffers[b].first_use)
    return buffers[a].first_use < buffers[b].first_use;
  return a < b;
}

void insertionSort(size_t *indices, size_t count, bool (*less)(const void *, size_t, size_t),
                   const void *context) {
  for (size_t i = 1; i < count; ++i) {
    size_t moving = indices[i], j = i;
    for (; j > 0 && less(context, moving, indices[j - 1]); --j)
      indices[j] = indices[j - 1];
    indices[j] = moving;
  }
}

// Smallest gap between lifetime-overlapping placed buffers (sorted by offset)
// that fits `buffer`, else the first aligned offset after all of them.
bool bestFitOffset(const kiln_arena_buffer *buffers, const kiln_arena_placement *placements,
                   const size_t *byOffset, size_t placedCount, size_t buffer,
                   uint64_t *offset) {
  const kiln_arena_buffer &wanted = buffers[buffer];
  uint64_t cursor = 0, bestGap = UINT64_MAX;
  bool found = false;
  for (size_t i = 0; i < placedCount; ++i) {
    size_t other = byOffset[i];
    if (!livesOverlap(buffers[other], wanted))
      continue;
    uint64_t candidate;
    if (alignUp(cursor, wanted.alignment, &candidate) &&
        placements[other].offset >= candidate &&
        placements[other].offset - candidate >= wanted.size &&
        placements[other].offset - candidate < bestGap) {
      bestGap = placements[other].offset - candidate;
      *offset = candidate;
      found = true;
    }
    uint64_t end = placements[other].offset + placements[other].size; // checked when placed
    if (end > cursor)
      cursor = end;
  }
  return found || alignUp(cursor, wanted.alignment, offset);
}

kiln_status checkBuffers(const kiln_arena_buffer *buffers, size_t count, char *error,
                         size_t errorSize) {
  for (size_t i = 0; i < count; ++i) {
    if (!isPowerOfTwo(buffers[i].alignment)) {
      describe(error, errorSize, "buffer %zu: alignment %" PRIu64 " is not a power of two", i,
               buffers[i].alignment);
      return KILN_ERROR_INVALID_ARGUMENT;
    }
    if (buffers[i].first_use > buffers[i].last_use) {
      describe(error, errorSize, "buffer %zu: first use %u is after last use %u", i,
               buffers[i].first_use, buffers[i].last_use);
      return KILN_ERROR_INVALID_ARGUMENT;
    }
  }
  return KILN_OK;
}

} // namespace

extern "C" kiln_status kiln_arena_plan(const kiln_arena_buffer *buffers, size_t num_buffers,
                                       kiln_arena_placement *placements,
                                       uint64_t *arena_size, char *error, size_t error_size) {
  if ((num_buffers && (!buffers || !placements)) || !arena_size) {
    describe(error, error_size, "kiln_arena_plan: null argument");
    return KILN_ERROR_INVALID_ARGUMENT;
  }
  if (kiln_status status = checkBuffers(buffers, num_buffers, error, error_size))
    return status;
  *arena_size = 0;
  if (num_buffers == 0)
    return KILN_OK;

  size_t scratchBytes;
  if (__builtin_mul_overflow(num_buffers, 2 * sizeof(size_t), &scratchBytes)) {
    describe(error, error_size, "kiln_arena_plan: %zu buffers is too many", num_buffers);
    return KILN_ERROR_INVALID_ARGUMENT;
  }
  size_t *scratch = static_cast<size_t *>(malloc(scratchBytes));
  if (!scratch) {
    describe(error, error_size, "kiln_arena_plan: out of host memory for %zu buffers",
             num_buffers);
    return KILN_ERROR_OUT_OF_MEMORY;
  }
  size_t *order = scratch, *byOffset = scratch + num_buffers;
  for (size_t i = 0; i < num_buffers; ++i)
    order[i] = i;
  insertionSort(
      order, num_buffers,
      [](const void *context, size_t a, size_t b) {
        return placedBefore(static_cast<const kiln_arena_buffer *>(context), a, b);
      },
      buffers);

  kiln_status status = KILN_OK;
  uint64_t arenaEnd = 0;
  for (size_t placedCount = 0; placedCount < num_buffers; ++placedCount) {
    size_t buffer = order[placedCount];
    uint64_t offset = 0, end;
    if (!bestFitOffset(buffers, placements, byOffset, placedCount, buffer, &offset) ||
        __builtin_add_overflow(offset, buffers[buffer].size, &end)) {
      describe(error, error_size,
               "buffer %zu (%" PRIu64 " bytes): the arena size overflows 64 bits", buffer,
               buffers[buffer].size);
      status = KILN_ERROR_INVALID_ARGUMENT;
      break;
    }
    placements[buffer] = {offset, buffers[buffer].size, buffers[buffer].alignment};
    if (end > arenaEnd)
      arenaEnd = end;
    // Keep byOffset sorted by offset.
    size_t slot = placedCount;
    for (; slot > 0 && placements[byOffset[slot - 1]].offset > offset; --slot)
      byOffset[slot] = byOffset[slot - 1];
    byOffset[slot] = buffer;
  }
  free(scratch);
  if (status == KILN_OK)
    *arena_size = arenaEnd;
  return status;
}

extern "C" kiln_status kiln_arena_check(const kiln_arena_placement *placements,
                                        size_t num_placements, uint64_t *arena_size,
                                        uint64_t *max_alignment, char *error,
                                        size_t error_size) {
  if ((num_placements && !placements) || !arena_size || !max_alignment) {
    describe(error, error_size, "kiln_arena_check: null argument");
    return KILN_ERROR_INVALID_ARGUMENT;
  }
  uint64_t end = 0, alignment = 1;
  for (size_t i = 0; i < num_placements; ++i) {
    const kiln_arena_placement &placement = placements[i];
    uint64_t bufferEnd;
    if (!isPowerOfTwo(placement.alignment) ||
        (placement.offset & (placement.alignment - 1)) != 0) {
      describe(error, error_size,
               "buffer %zu: offset %" PRIu64 " is not a multiple of its alignment %" PRIu64
               " (a power of two)",
               i, placement.offset, placement.alignment);
      return KILN_ERROR_INVALID_ARGUMENT;
    }
    if (__builtin_add_overflow(placement.offset, placement.size, &bufferEnd)) {
      describe(error, error_size, "buffer %zu: offset + size overflows 64 bits", i);
      return KILN_ERROR_INVALID_ARGUMENT;
    }
    if (bufferEnd > end)
      end = bufferEnd;
    if (placement.alignment > alignment)
      alignment = placement.alignment;
  }
  *arena_size = end;
  *max_alignment = alignment;
  return KILN_OK;
}

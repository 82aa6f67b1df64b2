/*===- kiln_checksum.h - the checksum of an external weights file ---------===
 *
 * Shared by kilnc (which writes it into the .so and the file's metadata)
 * and the model's C glue (which checks the mapped file against it), so the
 * two cannot drift. Plain C99, header-only.
 *
 * "fnv1a64x4": FNV-1a with the 64-bit constants, run over little-endian
 * 8-byte words in four interleaved lanes (word i feeds lane i % 4, so the
 * four multiply chains run in parallel), then the 0..31 tail bytes, the four
 * lane states and the byte count, byte by byte, into one final FNV-1a state.
 * Every change of a single word changes the result. It detects accidental
 * corruption and mismatched files; it is not a cryptographic hash.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_CHECKSUM_H
#define KILN_CHECKSUM_H

#include <stdint.h>
#include <string.h>

#define KILN_CHECKSUM_NAME "fnv1a64x4"
#define KILN_FNV64_OFFSET 0xcbf29ce484222325ULL
#define KILN_FNV64_PRIME 0x100000001b3ULL

static inline uint64_t kiln_fnv1a64_bytes(uint64_t state, const unsigned char *bytes,
                                          uint64_t count) {
  for (uint64_t i = 0; i < count; ++i)
    state = (state ^ bytes[i]) * KILN_FNV64_PRIME;
  return state;
}

static inline uint64_t kiln_fnv1a64_word_bytes(uint64_t state, uint64_t word) {
  for (int b = 0; b < 8; ++b)
    state = (state ^ ((word >> (8 * b)) & 0xff)) * KILN_FNV64_PRIME;
  return state;
}

/* A little-endian 64-bit word (one load on x86-64). */
static inline uint64_t kiln_load_le64(const unsigned char *bytes) {
  uint64_t word;
  memcpy(&word, bytes, sizeof word);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  word = __builtin_bswap64(word);
#endif
  return word;
}

static inline uint64_t kiln_weights_checksum(const unsigned char *data, uint64_t size) {
  /* Four named lanes: independent multiply chains the CPU overlaps. */
  uint64_t lane0 = KILN_FNV64_OFFSET, lane1 = KILN_FNV64_OFFSET ^ 1,
           lane2 = KILN_FNV64_OFFSET ^ 2, lane3 = KILN_FNV64_OFFSET ^ 3;
  uint64_t i = 0;
  for (; size - i >= 32; i += 32) {
    lane0 = (lane0 ^ kiln_load_le64(data + i)) * KILN_FNV64_PRIME;
    lane1 = (lane1 ^ kiln_load_le64(data + i + 8)) * KILN_FNV64_PRIME;
    lane2 = (lane2 ^ kiln_load_le64(data + i + 16)) * KILN_FNV64_PRIME;
    lane3 = (lane3 ^ kiln_load_le64(data + i + 24)) * KILN_FNV64_PRIME;
  }
  uint64_t state = kiln_fnv1a64_bytes(KILN_FNV64_OFFSET, data + i, size - i);
  state = kiln_fnv1a64_word_bytes(state, lane0);
  state = kiln_fnv1a64_word_bytes(state, lane1);
  state = kiln_fnv1a64_word_bytes(state, lane2);
  state = kiln_fnv1a64_word_bytes(state, lane3);
  return kiln_fnv1a64_word_bytes(state, size);
}

#endif /* KILN_CHECKSUM_H */

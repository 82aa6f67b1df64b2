/*===- kiln_weights.c - mapping and checking an external weights file -----===
 *
 * A strict reader for the one JSON shape a safetensors header has: an object
 * whose values are tensor objects {"dtype", "shape", "data_offsets"} and an
 * optional "__metadata__" object of strings. Every length and offset read
 * from the file is bounds- and overflow-checked before use; the file is
 * untrusted input.
 *
 *===----------------------------------------------------------------------===*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_CLOEXEC, MAP_PRIVATE under -std=c11 */
#endif
#include "kiln_weights.h"
#include "kiln_checksum.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define KILN_MAX_HEADER_BYTES (100ULL << 20) /* the limit of safetensors itself */
#define KILN_WEIGHTS_MAX_RANK 32

/* Where a message about one file goes, and what to tell the user. */
typedef struct report {
  const kiln_weights_desc *expected;
  const char *path;
  char *error;
  size_t error_size;
} report;

static kiln_status report_failure(const report *to, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static kiln_status report_failure(const report *to, const char *format, ...) {
  int used = snprintf(to->error, to->error_size, "weights file '%s': ", to->path);
  if (used < 0 || (size_t)used >= to->error_size)
    return KILN_ERROR_WEIGHTS;
  va_list args;
  va_start(args, format);
  int more = vsnprintf(to->error + used, to->error_size - (size_t)used, format, args);
  va_end(args);
  if (more >= 0 && (size_t)(used + more) < to->error_size)
    snprintf(to->error + used + more, to->error_size - (size_t)(used + more),
             ". Use the %s that kilnc wrote together with this library (pass its path to "
             "%s_create_with_weights), or recompile the model with --weights=external",
             to->expected->file_name, to->expected->model_name);
  return KILN_ERROR_WEIGHTS;
}

/* ---- the header's JSON ---------------------------------------------------*/

typedef struct reader {
  const char *begin, *p, *end;
  char *scratch; /* decoded strings; never longer than their encoding */
  size_t scratch_used;
  const report *to;
  kiln_status status;
} reader;

static int syntax_error(reader *r, const char *expected) {
  if (r->status == KILN_OK)
    r->status = report_failure(r->to, "the header is not valid safetensors JSON: expected %s at "
                                      "header byte %lld",
                               expected, (long long)(r->p - r->begin));
  return 0;
}

static void skip_space(reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    ++r->p;
}

static int consume(reader *r, char c) {
  skip_space(r);
  if (r->p < r->end && *r->p == c) {
    ++r->p;
    return 1;
  }
  return 0;
}

static int expect(reader *r, char c, const char *what) {
  return consume(r, c) || syntax_error(r, what);
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int read_hex4(reader *r, unsigned *value) {
  if (r->end - r->p < 4)
    return syntax_error(r, "four hex digits");
  *value = 0;
  for (int i = 0; i < 4; ++i) {
    int digit = hex_digit(r->p[i]);
    if (digit < 0)
      return syntax_error(r, "four hex digits");
    *value = *value * 16 + (unsigned)digit;
  }
  r->p += 4;
  return 1;
}

static void put_utf8(char **out, unsigned code) {
  unsigned char *o = (unsigned char *)*out;
  if (code < 0x80) {
    *o++ = (unsigned char)code;
  } else if (code < 0x800) {
    *o++ = (unsigned char)(0xc0 | (code >> 6));
    *o++ = (unsigned char)(0x80 | (code & 0x3f));
  } else if (code < 0x10000) {
    *o++ = (unsigned char)(0xe0 | (code >> 12));
    *o++ = (unsigned char)(0x80 | ((code >> 6) & 0x3f));
    *o++ = (unsigned char)(0x80 | (code & 0x3f));
  } else {
    *o++ = (unsigned char)(0xf0 | (code >> 18));
    *o++ = (unsigned char)(0x80 | ((code >> 12) & 0x3f));
    *o++ = (unsigned char)(0x80 | ((code >> 6) & 0x3f));
    *o++ = (unsigned char)(0x80 | (code & 0x3f));
  }
  *out = (char *)o;
}

/* A \uXXXX escape (the backslash and 'u' already read), pairs included. */
static int read_unicode_escape(reader *r, char **out) {
  unsigned code;
  if (!read_hex4(r, &code))
    return 0;
  if (code >= 0xd800 && code < 0xdc00) {
    unsigned low;
    if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
      return syntax_error(r, "the low half of a surrogate pair");
    r->p += 2;
    if (!read_hex4(r, &low) || low < 0xdc00 || low >= 0xe000)
      return syntax_error(r, "the low half of a surrogate pair");
    code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
  } else if (code >= 0xdc00 && code < 0xe000) {
    return syntax_error(r, "a character, not a lone surrogate");
  }
  put_utf8(out, code);
  return 1;
}

/* A JSON string, decoded into the scratch buffer and NUL-terminated. */
static int read_string(reader *r, const char **value) {
  if (!expect(r, '"', "a string"))
    return 0;
  char *start = r->scratch + r->scratch_used, *out = start;
  for (;;) {
    if (r->p >= r->end)
      return syntax_error(r, "the end of a string");
    unsigned char c = (unsigned char)*r->p++;
    if (c == '"')
      break;
    if (c < 0x20)
      return syntax_error(r, "an escaped control character");
    if (c != '\\') {
      *out++ = (char)c;
      continue;
    }
    if (r->p >= r->end)
      return syntax_error(r, "an escape sequence");
    char escape = *r->p++;
    switch (escape) {
    case '"': case '\\': case '/': *out++ = escape; break;
    case 'b': *out++ = '\b'; break;
    case 'f': *out++ = '\f'; break;
    case 'n': *out++ = '\n'; break;
    case 'r': *out++ = '\r'; break;
    case 't': *out++ = '\t'; break;
    case 'u':
      if (!read_unicode_escape(r, &out))
        return 0;
      break;
    default: return syntax_error(r, "a valid escape sequence");
    }
  }
  *out++ = '\0';
  r->scratch_used += (size_t)(out - start);
  *value = start;
  return 1;
}

/* A non-negative integer below 2^63. */
static int read_count(reader *r, uint64_t *value) {
  skip_space(r);
  if (r->p >= r->end || *r->p < '0' || *r->p > '9')
    return syntax_error(r, "a non-negative integer");
  uint64_t v = 0;
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
    if (v > (UINT64_C(1) << 62) / 5) /* v * 10 + 9 would reach 2^63 */
      return syntax_error(r, "an integer below 2^63");
    v = v * 10 + (uint64_t)(*r->p++ - '0');
  }
  if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
    return syntax_error(r, "an integer, not a fraction");
  *value = v;
  return 1;
}

/* [n, n, ...] with at most `capacity` entries. */
static int read_count_list(reader *r, uint64_t *values, int capacity, int *count) {
  if (!expect(r, '[', "'['"))
    return 0;
  *count = 0;
  if (consume(r, ']'))
    return 1;
  do {
    if (*count == capacity)
      return syntax_error(r, "at most 32 dimensions and 2 data offsets");
    if (!read_count(r, &values[(*count)++]))
      return 0;
  } while (consume(r, ','));
  return expect(r, ']', "',' or ']'");
}

/* ---- what the header says against what the library expects ---------------*/

static uint64_t dtype_bytes(const char *dtype) {
  static const struct { const char *name; uint64_t bytes; } table[] = {
      {"F64", 8}, {"I64", 8}, {"U64", 8}, {"F32", 4}, {"I32", 4}, {"U32", 4},
      {"F16", 2}, {"BF16", 2}, {"I16", 2}, {"U16", 2}, {"I8", 1}, {"U8", 1},
      {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; ++i)
    if (strcmp(table[i].name, dtype) == 0)
      return table[i].bytes;
  return 0;
}

static void format_shape(char *text, size_t size, const uint64_t *dims, int rank) {
  size_t used = (size_t)snprintf(text, size, "[");
  for (int d = 0; d < rank && used < size; ++d)
    used += (size_t)snprintf(text + used, size - used, "%s%llu", d ? ", " : "",
                             (unsigned long long)dims[d]);
  if (used < size)
    snprintf(text + used, size - used, "]");
}

typedef struct tensor_entry {
  const char *dtype;
  uint64_t shape[KILN_WEIGHTS_MAX_RANK];
  int rank;
  uint64_t offsets[2];
  int num_offsets;
} tensor_entry;

/* The entry's own consistency: offsets within the data, size = shape x dtype. */
static kiln_status check_entry_alone(const report *to, const char *name, const tensor_entry *e,
                                     uint64_t data_size) {
  if (e->num_offsets != 2)
    return report_failure(to, "tensor '%s': data_offsets must have 2 entries, it has %d", name,
                          e->num_offsets);
  if (e->offsets[0] > e->offsets[1] || e->offsets[1] > data_size)
    return report_failure(to, "tensor '%s': data_offsets [%llu, %llu] do not lie within the %llu "
                              "data bytes of the file",
                          name, (unsigned long long)e->offsets[0],
                          (unsigned long long)e->offsets[1], (unsigned long long)data_size);
  uint64_t bytes = dtype_bytes(e->dtype);
  if (bytes == 0)
    return report_failure(to, "tensor '%s': unknown dtype '%s'", name, e->dtype);
  for (int d = 0; d < e->rank; ++d)
    if (__builtin_mul_overflow(bytes, e->shape[d], &bytes))
      return report_failure(to, "tensor '%s': the byte size of its shape overflows", name);
  if (bytes != e->offsets[1] - e->offsets[0])
    return report_failure(to, "tensor '%s': its %s shape needs %llu bytes, its data_offsets "
                              "span %llu",
                          name, e->dtype, (unsigned long long)bytes,
                          (unsigned long long)(e->offsets[1] - e->offsets[0]));
  return KILN_OK;
}

static kiln_status check_entry_matches(const report *to, const kiln_weight_desc *t,
                                       const tensor_entry *e) {
  if (strcmp(e->dtype, t->dtype) != 0)
    return report_failure(to, "tensor '%s' has dtype %s, this model expects %s", t->name,
                          e->dtype, t->dtype);
  int same_shape = e->rank == t->rank;
  for (int d = 0; same_shape && d < e->rank; ++d)
    same_shape = e->shape[d] == (uint64_t)t->shape[d];
  if (!same_shape) {
    char got[256], want[256];
    uint64_t expected_dims[KILN_WEIGHTS_MAX_RANK];
    int rank = t->rank < KILN_WEIGHTS_MAX_RANK ? t->rank : KILN_WEIGHTS_MAX_RANK;
    for (int d = 0; d < rank; ++d)
      expected_dims[d] = (uint64_t)t->shape[d];
    format_shape(got, sizeof got, e->shape, e->rank);
    format_shape(want, sizeof want, expected_dims, rank);
    return report_failure(to, "tensor '%s' has shape %s, this model expects %s", t->name, got,
                          want);
  }
  if (e->offsets[0] != t->begin || e->offsets[1] != t->end)
    return report_failure(to, "tensor '%s' is at data_offsets [%llu, %llu], this model expects "
                              "[%llu, %llu]",
                          t->name, (unsigned long long)e->offsets[0],
                          (unsigned long long)e->offsets[1], (unsigned long long)t->begin,
                          (unsigned long long)t->end);
  return KILN_OK;
}

static int read_tensor(reader *r, const char *name, tensor_entry *e) {
  e->dtype = NULL;
  e->rank = -1;
  e->num_offsets = -1;
  if (!expect(r, '{', "'{' (a tensor entry)"))
    return 0;
  if (consume(r, '}'))
    return 1;
  do {
    const char *key;
    if (!read_string(r, &key) || !expect(r, ':', "':'"))
      return 0;
    int ok;
    if (strcmp(key, "dtype") == 0 && !e->dtype)
      ok = read_string(r, &e->dtype);
    else if (strcmp(key, "shape") == 0 && e->rank < 0)
      ok = read_count_list(r, e->shape, KILN_WEIGHTS_MAX_RANK, &e->rank);
    else if (strcmp(key, "data_offsets") == 0 && e->num_offsets < 0)
      ok = read_count_list(r, e->offsets, 2, &e->num_offsets);
    else {
      r->status = report_failure(r->to, "tensor '%s': unexpected or repeated field '%s'", name,
                                 key);
      return 0;
    }
    if (!ok)
      return 0;
  } while (consume(r, ','));
  return expect(r, '}', "',' or '}'");
}

typedef struct metadata {
  int present;
  const char *format, *model, *checksum;
} metadata;

static int read_metadata(reader *r, metadata *meta) {
  if (meta->present) {
    r->status = report_failure(r->to, "the header has two __metadata__ entries");
    return 0;
  }
  meta->present = 1;
  if (!expect(r, '{', "'{' (the metadata)"))
    return 0;
  if (consume(r, '}'))
    return 1;
  do {
    const char *key, *value;
    if (!read_string(r, &key) || !expect(r, ':', "':'") || !read_string(r, &value))
      return 0;
    if (strcmp(key, "format") == 0)
      meta->format = value;
    else if (strcmp(key, "kiln.model") == 0)
      meta->model = value;
    else if (strcmp(key, "kiln.checksum") == 0)
      meta->checksum = value;
  } while (consume(r, ','));
  return expect(r, '}', "',' or '}'");
}

/* The expected tensor called `name`; files list them in our order, so the
 * search starts after the previous hit. */
static int32_t find_tensor(const kiln_weights_desc *expected, const char *name, int32_t hint) {
  for (int32_t n = 0; n < expected->num_tensors; ++n) {
    int32_t i = (hint + n) % expected->num_tensors;
    if (strcmp(expected->tensors[i].name, name) == 0)
      return i;
  }
  return -1;
}

/* Reads the whole header, checking each tensor as it comes. */
static kiln_status read_header(reader *r, uint64_t data_size, const unsigned char *data,
                               unsigned char *seen, metadata *meta) {
  const kiln_weights_desc *expected = r->to->expected;
  int32_t hint = 0;
  if (!expect(r, '{', "'{' (the header object)"))
    return r->status;
  if (!consume(r, '}')) {
    do {
      const char *key;
      if (!read_string(r, &key) || !expect(r, ':', "':'"))
        return r->status;
      if (strcmp(key, "__metadata__") == 0) {
        if (!read_metadata(r, meta))
          return r->status;
        continue;
      }
      int32_t index = find_tensor(expected, key, hint);
      if (index < 0)
        return report_failure(r->to, "it holds tensor '%s', which this model does not have", key);
      if (seen[index])
        return report_failure(r->to, "tensor '%s' is listed twice", key);
      seen[index] = 1;
      hint = index + 1;
      tensor_entry entry;
      if (!read_tensor(r, key, &entry))
        return r->status;
      if (!entry.dtype || entry.rank < 0 || entry.num_offsets < 0)
        return report_failure(r->to, "tensor '%s' lacks its dtype, shape or data_offsets", key);
      kiln_status status = check_entry_alone(r->to, key, &entry, data_size);
      if (status == KILN_OK)
        status = check_entry_matches(r->to, &expected->tensors[index], &entry);
      if (status != KILN_OK)
        return status;
      if ((uintptr_t)(data + entry.offsets[0]) % dtype_bytes(entry.dtype) != 0)
        return report_failure(r->to, "tensor '%s' is not aligned to its element size in the "
                                     "file (a header of another length was written)",
                              key);
    } while (consume(r, ','));
    if (!expect(r, '}', "',' or '}'"))
      return r->status;
  }
  skip_space(r);
  if (r->p != r->end)
    return syntax_error(r, "the end of the header"), r->status;
  return KILN_OK;
}

static kiln_status check_metadata(const report *to, const metadata *meta) {
  const kiln_weights_desc *expected = to->expected;
  if (!meta->checksum || !meta->model)
    return report_failure(to, "its __metadata__ has no kiln.model and kiln.checksum (it was not "
                              "written by kilnc --weights=external)");
  if (strcmp(meta->model, expected->model_name) != 0)
    return report_failure(to, "it was written for model '%s', this library is model '%s'",
                          meta->model, expected->model_name);
  char want[64];
  snprintf(want, sizeof want, KILN_CHECKSUM_NAME ":%016llx",
           (unsigned long long)expected->checksum);
  if (strcmp(meta->checksum, want) != 0)
    return report_failure(to, "it was written by another build of model '%s' (its checksum is "
                              "%s, this library expects %s)",
                          expected->model_name, meta->checksum, want);
  return KILN_OK;
}

kiln_status kiln_weights_check(const kiln_weights_desc *expected, const unsigned char *file,
                               uint64_t size, const char *path, const unsigned char **data,
                               char *error, size_t error_size) {
  report to = {expected, path, error, error_size};
  if (size < 8)
    return report_failure(&to, "it is %llu bytes long, too short for a safetensors file",
                          (unsigned long long)size);
  uint64_t header_size = kiln_load_le64(file);
  if (header_size > size - 8 || header_size > KILN_MAX_HEADER_BYTES)
    return report_failure(&to, "its header length %llu does not fit in the file (%llu bytes) or "
                               "in 100 MiB: it is not a safetensors file or is truncated",
                          (unsigned long long)header_size, (unsigned long long)size);
  const unsigned char *data_start = file + 8 + header_size;
  uint64_t data_size = size - 8 - header_size;
  if (data_size != expected->data_size)
    return report_failure(&to, "it has %llu bytes of tensor data, this model expects %llu (the "
                               "file is truncated or belongs to another build)",
                          (unsigned long long)data_size, (unsigned long long)expected->data_size);

  char *scratch = malloc(header_size + 1);
  unsigned char *seen = calloc((size_t)expected->num_tensors + 1, 1);
  if (!scratch || !seen) {
    free(scratch);
    free(seen);
    snprintf(error, error_size, "weights file '%s': cannot allocate memory to read its header",
             path);
    return KILN_ERROR_OUT_OF_MEMORY;
  }
  reader r = {(const char *)file + 8, (const char *)file + 8, (const char *)data_start,
              scratch, 0, &to, KILN_OK};
  metadata meta = {0, NULL, NULL, NULL};
  kiln_status status = read_header(&r, data_size, data_start, seen, &meta);
  for (int32_t i = 0; status == KILN_OK && i < expected->num_tensors; ++i)
    if (!seen[i])
      status = report_failure(&to, "it lacks tensor '%s'", expected->tensors[i].name);
  if (status == KILN_OK)
    status = check_metadata(&to, &meta);
  free(scratch);
  free(seen);
  if (status != KILN_OK)
    return status;

  uint64_t checksum = kiln_weights_checksum(data_start, data_size);
  if (checksum != expected->checksum)
    return report_failure(&to, "its tensor data is corrupt: it hashes to " KILN_CHECKSUM_NAME
                               ":%016llx, its header and this library expect " KILN_CHECKSUM_NAME
                               ":%016llx",
                          (unsigned long long)checksum, (unsigned long long)expected->checksum);
  *data = data_start;
  return KILN_OK;
}

/* ---- the file ---------------------------------------------------------------*/

kiln_status kiln_weights_map(const kiln_weights_desc *expected, const char *path,
                             kiln_weights_mapping *out, char *error, size_t error_size) {
  report to = {expected, path, error, error_size};
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return report_failure(&to, "cannot open it: %s", strerror(errno));
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    return report_failure(&to, "it is not a regular file");
  }
  uint64_t size = (uint64_t)info.st_size;
  if (size < 8 || size > (uint64_t)SIZE_MAX) {
    close(fd);
    return report_failure(&to, "it is %llu bytes long, too short for a safetensors file",
                          (unsigned long long)size);
  }
  void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_error = errno;
  close(fd);
  if (map == MAP_FAILED)
    return report_failure(&to, "cannot map it: %s", strerror(map_error));
  const unsigned char *data;
  kiln_status status = kiln_weights_check(expected, map, size, path, &data, error, error_size);
  if (status != KILN_OK) {
    munmap(map, (size_t)size);
    return status;
  }
  out->map = map;
  out->map_size = (size_t)size;
  out->data = data;
  return KILN_OK;
}

void kiln_weights_unmap(kiln_weights_mapping *mapping) {
  if (mapping->map)
    munmap(mapping->map, mapping->map_size);
  memset(mapping, 0, sizeof *mapping);
}

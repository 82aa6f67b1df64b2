/*===- kiln_status.h - status codes shared by every compiled model --------===
 *
 * Plain C, no dependencies. Every entry point of a compiled model and of the
 * runtime returns one of these; the thread-local last-error string of the
 * model (`<prefix>_last_error()`) says what went wrong in words.
 *
 *===----------------------------------------------------------------------===*/
#ifndef KILN_STATUS_H
#define KILN_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kiln_status {
  KILN_OK = 0,
  KILN_ERROR_INVALID_ARGUMENT = 1, /* null pointer, bad index, bad option */
  KILN_ERROR_SHAPE_MISMATCH = 2,   /* wrong rank or dims, dim outside its bounds */
  KILN_ERROR_TYPE_MISMATCH = 3,    /* wrong element type */
  KILN_ERROR_BUFFER_TOO_SMALL = 4, /* caller's buffer smaller than needed */
  KILN_ERROR_OUT_OF_MEMORY = 5,    /* host or device allocation failed; handle stays usable */
  KILN_ERROR_NO_DEVICE = 6,        /* no CUDA driver, or no device */
  KILN_ERROR_DEVICE = 7,           /* any other CUDA driver error */
  KILN_ERROR_UNSUPPORTED = 8,      /* e.g. a driver older than the PTX, wrong architecture */
  KILN_ERROR_WEIGHTS = 9,          /* external weights missing, wrong size or checksum */
  KILN_ERROR_INTERNAL = 10
} kiln_status;

/* A short constant name for a status ("KILN_ERROR_SHAPE_MISMATCH"). */
static inline const char *kiln_status_name(kiln_status status) {
  switch (status) {
  case KILN_OK: return "KILN_OK";
  case KILN_ERROR_INVALID_ARGUMENT: return "KILN_ERROR_INVALID_ARGUMENT";
  case KILN_ERROR_SHAPE_MISMATCH: return "KILN_ERROR_SHAPE_MISMATCH";
  case KILN_ERROR_TYPE_MISMATCH: return "KILN_ERROR_TYPE_MISMATCH";
  case KILN_ERROR_BUFFER_TOO_SMALL: return "KILN_ERROR_BUFFER_TOO_SMALL";
  case KILN_ERROR_OUT_OF_MEMORY: return "KILN_ERROR_OUT_OF_MEMORY";
  case KILN_ERROR_NO_DEVICE: return "KILN_ERROR_NO_DEVICE";
  case KILN_ERROR_DEVICE: return "KILN_ERROR_DEVICE";
  case KILN_ERROR_UNSUPPORTED: return "KILN_ERROR_UNSUPPORTED";
  case KILN_ERROR_WEIGHTS: return "KILN_ERROR_WEIGHTS";
  case KILN_ERROR_INTERNAL: return "KILN_ERROR_INTERNAL";
  }
  return "KILN_ERROR_UNKNOWN";
}

#ifdef __cplusplus
}
#endif

#endif /* KILN_STATUS_H */

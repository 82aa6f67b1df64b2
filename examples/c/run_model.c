/*===- run_model.c - load a Kiln-compiled model and run it ----------------===
 *
 *   kiln-run-model LIBRARY NAME [--dim SYMBOL=SIZE]... [--input INDEX=FILE]...
 *                  [--fill VALUE | --seed N] [--print-all] [--weights FILE]
 *
 * LIBRARY is a .so made by `kilnc --target=host --name=NAME`. Inputs come
 * from raw row-major files (--input 0=x.bin), else are filled with VALUE or
 * uniform random numbers in [-1, 1). Symbolic dimensions default to their
 * lower bound. Prints every output's name, shape and values. --weights
 * passes a weights file to NAME_create_with_weights (models compiled with
 * --weights=external; by default NAME.safetensors beside LIBRARY is used).
 *
 * The program resolves NAME_* with dlsym so it works with any model; an
 * application linking one model would include the generated NAME.h and call
 * NAME_create, NAME_run, ... directly.
 *===----------------------------------------------------------------------===*/
#include "kiln/kiln_model.h"
#include "kiln/kiln_status.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TENSORS 64
#define MAX_DIMS 16

typedef struct api {
  const char *(*last_error)(void);
  kiln_status (*create)(void **);
  void (*destroy)(void *);
  int32_t (*num_inputs)(void);
  int32_t (*num_outputs)(void);
  kiln_status (*input_info)(int32_t, kiln_tensor_info *);
  kiln_status (*output_info)(int32_t, kiln_tensor_info *);
  kiln_status (*dim_bounds)(const char *, int64_t *, int64_t *);
  kiln_status (*output_shape)(const kiln_tensor *, int32_t, int32_t, int64_t *);
  kiln_status (*run)(void *, const kiln_tensor *, int32_t, const kiln_tensor *, int32_t);
} api;

typedef struct options {
  const char *dims[MAX_DIMS];
  int num_dims;
  const char *input_files[MAX_TENSORS];
  int fill_set;
  double fill;
  unsigned seed;
  int print_all;
  const char *weights;
} options;

static void *lookup(void *library, const char *name, const char *suffix) {
  char symbol[256];
  snprintf(symbol, sizeof symbol, "%s_%s", name, suffix);
  void *address = dlsym(library, symbol);
  if (!address) {
    fprintf(stderr, "error: %s not found; is '%s' the --name the model was compiled with?\n",
            symbol, name);
    exit(2);
  }
  return address;
}

static size_t dtype_size(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F64: case KILN_DTYPE_I64: case KILN_DTYPE_U64: return 8;
  case KILN_DTYPE_F32: case KILN_DTYPE_I32: case KILN_DTYPE_U32: return 4;
  case KILN_DTYPE_F16: case KILN_DTYPE_BF16: case KILN_DTYPE_I16: case KILN_DTYPE_U16: return 2;
  default: return 1;
  }
}

/* A uniform number in [-1, 1) from a small xorshift generator. */
static double next_random(unsigned *state) {
  *state ^= *state << 13;
  *state ^= *state >> 17;
  *state ^= *state << 5;
  return (*state / 4294967296.0) * 2.0 - 1.0;
}

static void fill_element(void *data, size_t i, int32_t dtype, double value) {
  switch (dtype) {
  case KILN_DTYPE_F32: ((float *)data)[i] = (float)value; break;
  case KILN_DTYPE_F64: ((double *)data)[i] = value; break;
  case KILN_DTYPE_I32: ((int32_t *)data)[i] = (int32_t)(value * 100); break;
  case KILN_DTYPE_I64: ((int64_t *)data)[i] = (int64_t)(value * 100); break;
  case KILN_DTYPE_I8: ((int8_t *)data)[i] = (int8_t)(value * 100); break;
  case KILN_DTYPE_U8: ((uint8_t *)data)[i] = (uint8_t)((value + 1) * 100); break;
  case KILN_DTYPE_BOOL: ((uint8_t *)data)[i] = value > 0; break;
  default: break; /* other types stay zero */
  }
}

static void print_element(const void *data, size_t i, int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F32: printf("%.9g", ((const float *)data)[i]); break;
  case KILN_DTYPE_F64: printf("%.17g", ((const double *)data)[i]); break;
  case KILN_DTYPE_I32: printf("%d", ((const int32_t *)data)[i]); break;
  case KILN_DTYPE_I64: printf("%lld", (long long)((const int64_t *)data)[i]); break;
  case KILN_DTYPE_I8: printf("%d", ((const int8_t *)data)[i]); break;
  case KILN_DTYPE_U8: case KILN_DTYPE_BOOL: printf("%u", ((const uint8_t *)data)[i]); break;
  default: printf("?"); break;
  }
}

static int64_t dim_size(const api *model, const options *opts, const char *symbol) {
  size_t length = strlen(symbol);
  for (int i = 0; i < opts->num_dims; ++i)
    if (strncmp(opts->dims[i], symbol, length) == 0 && opts->dims[i][length] == '=')
      return atoll(opts->dims[i] + length + 1);
  int64_t min = 1, max = 1;
  model->dim_bounds(symbol, &min, &max);
  return min;
}

static int read_file(const char *path, void *data, size_t bytes) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "error: cannot open %s\n", path);
    return 0;
  }
  size_t got = fread(data, 1, bytes, file);
  fclose(file);
  if (got != bytes) {
    fprintf(stderr, "error: %s has %zu bytes, the input needs %zu\n", path, got, bytes);
    return 0;
  }
  return 1;
}

static int parse_options(int argc, char **argv, options *opts) {
  memset(opts, 0, sizeof *opts);
  opts->seed = 12345;
  for (int i = 3; i < argc; ++i) {
    if (!strcmp(argv[i], "--dim") && i + 1 < argc && opts->num_dims < MAX_DIMS) {
      opts->dims[opts->num_dims++] = argv[++i];
    } else if (!strcmp(argv[i], "--input") && i + 1 < argc) {
      char *spec = argv[++i];
      char *eq = strchr(spec, '=');
      int index = atoi(spec);
      if (!eq || index < 0 || index >= MAX_TENSORS)
        return 0;
      opts->input_files[index] = eq + 1;
    } else if (!strcmp(argv[i], "--fill") && i + 1 < argc) {
      opts->fill_set = 1;
      opts->fill = atof(argv[++i]);
    } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
      opts->seed = (unsigned)atol(argv[++i]) | 1u;
    } else if (!strcmp(argv[i], "--print-all")) {
      opts->print_all = 1;
    } else if (!strcmp(argv[i], "--weights") && i + 1 < argc) {
      opts->weights = argv[++i];
    } else {
      return 0;
    }
  }
  return 1;
}

/* Allocates and fills tensor `t` described by `info`; returns 0 on failure. */
static int make_tensor(const api *model, const options *opts, const kiln_tensor_info *info,
                       int64_t *shape, kiln_tensor *t) {
  size_t count = 1;
  for (int32_t d = 0; d < info->rank; ++d) {
    if (shape[d] < 0)
      shape[d] = dim_size(model, opts, info->dim_names[d]);
    count *= (size_t)shape[d];
  }
  t->dtype = info->dtype;
  t->rank = info->rank;
  t->shape = shape;
  t->size_bytes = count * dtype_size(info->dtype);
  t->data = calloc(count ? count : 1, dtype_size(info->dtype));
  return t->data != NULL;
}

int main(int argc, char **argv) {
  options opts;
  if (argc < 3 || !parse_options(argc, argv, &opts)) {
    fprintf(stderr, "usage: %s LIBRARY NAME [--dim SYMBOL=SIZE]... [--input INDEX=FILE]... "
                    "[--fill VALUE | --seed N] [--print-all] [--weights FILE]\n", argv[0]);
    return 2;
  }
  void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    fprintf(stderr, "error: %s\n", dlerror());
    return 1;
  }
  const char *name = argv[2];
  api model = {lookup(library, name, "last_error"),   lookup(library, name, "create"),
               lookup(library, name, "destroy"),      lookup(library, name, "num_inputs"),
               lookup(library, name, "num_outputs"),  lookup(library, name, "input_info"),
               lookup(library, name, "output_info"),  lookup(library, name, "dim_bounds"),
               lookup(library, name, "output_shape"), lookup(library, name, "run")};
  int32_t num_inputs = model.num_inputs(), num_outputs = model.num_outputs();
  if (num_inputs > MAX_TENSORS || num_outputs > MAX_TENSORS) {
    fprintf(stderr, "error: more than %d inputs or outputs\n", MAX_TENSORS);
    return 1;
  }
  static int64_t shapes[2 * MAX_TENSORS][32];
  kiln_tensor inputs[MAX_TENSORS], outputs[MAX_TENSORS];
  kiln_tensor_info infos[2 * MAX_TENSORS];
  unsigned state = opts.seed;
  for (int32_t i = 0; i < num_inputs; ++i) {
    model.input_info(i, &infos[i]);
    memcpy(shapes[i], infos[i].shape, (size_t)infos[i].rank * sizeof(int64_t));
    if (!make_tensor(&model, &opts, &infos[i], shapes[i], &inputs[i]))
      return 1;
    if (opts.input_files[i]) {
      if (!read_file(opts.input_files[i], inputs[i].data, inputs[i].size_bytes))
        return 1;
      continue;
    }
    size_t count = inputs[i].size_bytes / dtype_size(infos[i].dtype);
    for (size_t e = 0; e < count; ++e)
      fill_element(inputs[i].data, e, infos[i].dtype,
                   opts.fill_set ? opts.fill : next_random(&state));
  }
  for (int32_t o = 0; o < num_outputs; ++o) {
    kiln_tensor_info *info = &infos[num_inputs + o];
    model.output_info(o, info);
    int64_t *shape = shapes[num_inputs + o];
    if (model.output_shape(inputs, num_inputs, o, shape) != KILN_OK) {
      fprintf(stderr, "error: %s\n", model.last_error());
      return 1;
    }
    if (!make_tensor(&model, &opts, info, shape, &outputs[o]))
      return 1;
  }

  void *handle = NULL;
  kiln_status status;
  if (opts.weights) {
    kiln_status (*create_with_weights)(const char *, void **) =
        (kiln_status(*)(const char *, void **))lookup(library, name, "create_with_weights");
    status = create_with_weights(opts.weights, &handle);
  } else {
    status = model.create(&handle);
  }
  if (status == KILN_OK)
    status = model.run(handle, inputs, num_inputs, outputs, num_outputs);
  if (status != KILN_OK) {
    fprintf(stderr, "error: %s: %s\n", kiln_status_name(status), model.last_error());
    return 1;
  }
  for (int32_t o = 0; o < num_outputs; ++o) {
    const kiln_tensor_info *info = &infos[num_inputs + o];
    printf("%s [", info->name);
    for (int32_t d = 0; d < info->rank; ++d)
      printf("%s%lld", d ? ", " : "", (long long)outputs[o].shape[d]);
    printf("]:");
    size_t count = outputs[o].size_bytes / dtype_size(info->dtype);
    size_t shown = opts.print_all || count <= 16 ? count : 16;
    for (size_t e = 0; e < shown; ++e) {
      printf(" ");
      print_element(outputs[o].data, e, info->dtype);
    }
    printf(shown < count ? " ...\n" : "\n");
  }
  model.destroy(handle);
  for (int32_t i = 0; i < num_inputs; ++i)
    free(inputs[i].data);
  for (int32_t o = 0; o < num_outputs; ++o)
    free(outputs[o].data);
  dlclose(library);
  return 0;
}

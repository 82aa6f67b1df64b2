//===- driver.cpp - resolving the driver table from libcuda.so.1 ----------===//
#include "driver.h"

#include "error.h"

#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <pthread.h>

namespace kiln::cuda {
namespace {

void appendName(char *list, size_t size, const char *name) {
  if (!list || size == 0)
    return;
  size_t used = strnlen(list, size);
  const char *separator = used ? ", " : "";
  if (used + 1 < size)
    snprintf(list + used, size - used, "%s%s", separator, name);
}

// cuGetProcAddress as declared since CUDA 12.0 (_v2) and in CUDA 11.3 (v1).
using GetProcAddressV2 = CUresult (*)(const char *, void **, int, unsigned long long, int *);
using GetProcAddressV1 = CUresult (*)(const char *, void **, int, unsigned long long);

struct SystemDriver {
  void *library = nullptr;
  GetProcAddressV2 getProcAddressV2 = nullptr;
  GetProcAddressV1 getProcAddressV1 = nullptr;
};

// Asks the driver for the entry point of the ABI version we declared; drivers
// without cuGetProcAddress (before 11.3) export the versioned name directly.
void *resolveFromLibrary(void *context, const char *name, const char *exported,
                         int abiVersion) {
  auto *driver = static_cast<SystemDriver *>(context);
  void *function = nullptr;
  if (driver->getProcAddressV2) {
    int found = 0;
    if (driver->getProcAddressV2(name, &function, abiVersion,
                                 CU_GET_PROC_ADDRESS_LEGACY_STREAM, &found) == CUDA_SUCCESS &&
        function)
      return function;
  } else if (driver->getProcAddressV1) {
    if (driver->getProcAddressV1(name, &function, abiVersion,
                                 CU_GET_PROC_ADDRESS_LEGACY_STREAM) == CUDA_SUCCESS &&
        function)
      return function;
  }
  return dlsym(driver->library, exported);
}

pthread_once_t loadOnce = PTHREAD_ONCE_INIT;
DriverTable systemTable;
kiln_status loadStatus = KILN_ERROR_INTERNAL;
char loadError[1024];

void loadOnceImpl() {
  SystemDriver driver;
  // RTLD_LOCAL: the driver's symbols never interpose on anything else.
  driver.library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver.library) {
    const char *reason = dlerror();
    snprintf(loadError, sizeof(loadError),
             "no CUDA driver (libcuda.so.1 not found: %s); install the NVIDIA driver to run "
             "this model on a GPU",
             reason ? reason : "unknown reason");
    loadStatus = KILN_ERROR_NO_DEVICE;
    return;
  }
  driver.getProcAddressV2 =
      reinterpret_cast<GetProcAddressV2>(dlsym(driver.library, "cuGetProcAddress_v2"));
  if (!driver.getProcAddressV2)
    driver.getProcAddressV1 =
        reinterpret_cast<GetProcAddressV1>(dlsym(driver.library, "cuGetProcAddress"));
  char missing[512] = "";
  size_t missingCount =
      resolveDriverTable(resolveFromLibrary, &driver, &systemTable, missing, sizeof(missing));
  if (missingCount) {
    int version = 0;
    if (systemTable.cuDriverGetVersion)
      systemTable.cuDriverGetVersion(&version);
    snprintf(loadError, sizeof(loadError),
             "the CUDA driver (version %d.%d) is too old: it lacks %zu entry points (%s); "
             "install a driver for CUDA 11.4 or newer",
             version / 1000, version % 1000 / 10, missingCount, missing);
    systemTable = DriverTable();
    dlclose(driver.library);
    loadStatus = KILN_ERROR_UNSUPPORTED;
    return;
  }
  // The library stays open for the life of the process: kernels and contexts
  // may outlive any one model handle.
  loadStatus = KILN_OK;
}

} // namespace

size_t resolveDriverTable(SymbolResolver resolve, void *context, DriverTable *table,
                          char *missing, size_t missingSize) {
  size_t missingCount = 0;
  if (missing && missingSize)
    missing[0] = '\0';
#define KILN_CUDA_RESOLVE_ENTRY(name, exported, abiVersion, params)                         \
  table->name = reinterpret_cast<decltype(table->name)>(                                  \
      resolve(context, #name, exported, abiVersion));                                     \
  if (!table->name) {                                                                     \
    ++missingCount;                                                                       \
    appendName(missing, missingSize, exported);                                           \
  }
  KILN_CUDA_DRIVER_SYMBOLS(KILN_CUDA_RESOLVE_ENTRY)
#undef KILN_CUDA_RESOLVE_ENTRY
#define KILN_CUDA_RESOLVE_OPTIONAL(name, exported, abiVersion, params)                      \
  table->name = reinterpret_cast<decltype(table->name)>(                                  \
      resolve(context, #name, exported, abiVersion));
  KILN_CUDA_OPTIONAL_DRIVER_SYMBOLS(KILN_CUDA_RESOLVE_OPTIONAL)
#undef KILN_CUDA_RESOLVE_OPTIONAL
  return missingCount;
}

kiln_status loadSystemDriver(const DriverTable **table) {
  pthread_once(&loadOnce, loadOnceImpl);
  if (loadStatus != KILN_OK) {
    *table = nullptr;
    return fail(loadStatus, "%s", loadError);
  }
  *table = &systemTable;
  return KILN_OK;
}

} // namespace kiln::cuda

//===- module_image.cpp - choosing and loading the kernel image -----------===//
#include "module_image.h"

#include "error.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kiln::cuda {
namespace {

constexpr size_t kJitLogBytes = 2048;

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Parses a decimal number at text[*at] (at most 4 digits); advances *at.
bool parseSmallNumber(const char *text, size_t size, size_t *at, int *value) {
  size_t start = *at;
  *value = 0;
  while (*at < size && isDigit(text[*at]) && *at - start < 4)
    *value = *value * 10 + (text[(*at)++] - '0');
  return *at > start;
}

// Preference of an image on a device; 0 when it cannot run there.
unsigned imageScore(const kiln_cuda_image &image, unsigned sm) {
  bool exact = image.sm == sm;
  if (image.kind == KILN_CUDA_IMAGE_CUBIN) {
    if (image.arch_specific)
      return exact ? 30000 : 0;
    bool sameMajor = image.sm / 10 == sm / 10 && image.sm <= sm;
    return sameMajor ? 20000 + image.sm : 0;
  }
  if (image.kind != KILN_CUDA_IMAGE_PTX)
    return 0;
  if (image.arch_specific)
    return exact ? 10000 + 2 * image.sm + 1 : 0;
  return image.sm <= sm ? 10000 + 2 * image.sm : 0;
}

void describeImage(const kiln_cuda_image &image, char *buffer, size_t size) {
  snprintf(buffer, size, "%s sm_%u%s", image.kind == KILN_CUDA_IMAGE_PTX ? "PTX" : "cubin",
           image.sm, image.arch_specific ? "a" : "");
}

kiln_status failNoUsableImage(const kiln_cuda_image *images, size_t count, unsigned sm) {
  char available[512] = "";
  for (size_t i = 0; i < count; ++i) {
    char one[64];
    describeImage(images[i], one, sizeof(one));
    size_t used = strlen(available);
    snprintf(available + used, sizeof(available) - used, "%s%s", i ? ", " : "", one);
  }
  return fail(KILN_ERROR_UNSUPPORTED,
              "no kernel image in the model runs on this GPU (sm_%u); the model has: %s; "
              "recompile it with kilnc --gpu-arch for this GPU",
              sm, count ? available : "nothing");
}

// The CUDA release that introduced a PTX ISA version, e.g. 8.7 -> 12.8.
bool cudaReleaseForPtx(PtxIsaVersion ptx, int *major, int *minor) {
  if (ptx.major == 7 && ptx.minor <= 8) {
    *major = 11, *minor = ptx.minor;
    return true;
  }
  if (ptx.major == 8 && ptx.minor <= 5) {
    *major = 12, *minor = ptx.minor;
    return true;
  }
  if (ptx.major == 8 && ptx.minor <= 8) { // 12.6 kept ISA 8.5
    *major = 12, *minor = ptx.minor + 1;
    return true;
  }
  if (ptx.major == 9 && ptx.minor == 0) {
    *major = 13, *minor = 0;
    return true;
  }
  return false;
}

kiln_status failPtxTooNew(const DriverTable &driver, const kiln_cuda_image &image,
                          const char *jitLog) {
  int driverVersion = 0;
  driver.cuDriverGetVersion(&driverVersion);
  PtxIsaVersion ptx;
  bool known = parsePtxVersion(static_cast<const char *>(image.data), image.size, &ptx);
  char needed[96] = "";
  int cudaMajor, cudaMinor;
  if (known && cudaReleaseForPtx(ptx, &cudaMajor, &cudaMinor))
    snprintf(needed, sizeof(needed), " (needs a driver for CUDA %d.%d or newer)", cudaMajor,
             cudaMinor);
  char isa[32] = "unknown";
  if (known)
    snprintf(isa, sizeof(isa), "%d.%d", ptx.major, ptx.minor);
  return fail(KILN_ERROR_UNSUPPORTED,
              "the CUDA driver (version %d.%d) is older than the model's PTX (ISA %s)%s: "
              "update the NVIDIA driver, or recompile the model with a cubin for this GPU "
              "(kilnc --gpu-arch); CUDA_ERROR_UNSUPPORTED_PTX_VERSION; JIT log: %s",
              driverVersion / 1000, driverVersion % 1000 / 10, isa, needed,
              jitLog[0] ? jitLog : "(empty)");
}

// Loads one image; PTX is copied to add the NUL the driver needs.
CUresult loadImage(const DriverTable &driver, const kiln_cuda_image &image, char *jitLog,
                   CUmodule *module) {
  char *terminated = nullptr;
  const void *data = image.data;
  if (image.kind == KILN_CUDA_IMAGE_PTX) {
    terminated = static_cast<char *>(malloc(image.size + 1));
    if (!terminated)
      return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy(terminated, image.data, image.size);
    terminated[image.size] = '\0';
    data = terminated;
  }
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {jitLog, reinterpret_cast<void *>(static_cast<uintptr_t>(kJitLogBytes))};
  jitLog[0] = '\0';
  CUresult result = driver.cuModuleLoadDataEx(module, data, 2, options, values);
  jitLog[kJitLogBytes - 1] = '\0';
  free(terminated);
  return result;
}

bool binaryRejected(CUresult result) {
  return result == CUDA_ERROR_NO_BINARY_FOR_GPU || result == CUDA_ERROR_INVALID_IMAGE;
}

} // namespace

bool parsePtxVersion(const char *text, size_t size, PtxIsaVersion *version) {
  static const char directive[] = ".version";
  const size_t directiveLength = sizeof(directive) - 1;
  for (size_t line = 0; line < size;) {
    size_t at = line;
    while (at < size && isSpace(text[at]))
      ++at;
    if (size - at > directiveLength && memcmp(text + at, directive, directiveLength) == 0 &&
        isSpace(text[at + directiveLength])) {
      at += directiveLength;
      while (at < size && isSpace(text[at]))
        ++at;
      int major, minor;
      if (!parseSmallNumber(text, size, &at, &major) || at >= size || text[at] != '.')
        return false;
      ++at;
      if (!parseSmallNumber(text, size, &at, &minor))
        return false;
      version->major = major;
      version->minor = minor;
      return true;
    }
    const void *newline = memchr(text + line, '\n', size - line);
    if (!newline)
      break;
    line = static_cast<size_t>(static_cast<const char *>(newline) - text) + 1;
  }
  return false;
}

size_t rankImages(const kiln_cuda_image *images, size_t count, unsigned sm, size_t *order) {
  size_t usable = 0;
  for (size_t i = 0; i < count; ++i) {
    unsigned score = imageScore(images[i], sm);
    if (score == 0)
      continue;
    size_t slot = usable++;
    for (; slot > 0 && imageScore(images[order[slot - 1]], sm) < score; --slot)
      order[slot] = order[slot - 1];
    order[slot] = i;
  }
  return usable;
}

kiln_status loadBestModule(const DriverTable &driver, const kiln_cuda_image *images,
                           size_t count, unsigned sm, CUmodule *module, size_t *loadedImage) {
  *module = nullptr;
  for (size_t i = 0; i < count; ++i)
    if (!images[i].data || images[i].size == 0)
      return fail(KILN_ERROR_INVALID_ARGUMENT, "kernel image %zu is empty", i);
  size_t *order = static_cast<size_t *>(malloc((count ? count : 1) * sizeof(size_t)));
  if (!order)
    return fail(KILN_ERROR_OUT_OF_MEMORY, "out of host memory choosing a kernel image");
  size_t usable = rankImages(images, count, sm, order);
  kiln_status status = usable ? KILN_OK : failNoUsableImage(images, count, sm);
  char jitLog[kJitLogBytes];
  for (size_t rank = 0; rank < usable; ++rank) {
    const kiln_cuda_image &image = images[order[rank]];
    CUresult result = loadImage(driver, image, jitLog, module);
    if (result == CUDA_SUCCESS) {
      *loadedImage = order[rank];
      status = KILN_OK;
      break;
    }
    char what[kJitLogBytes + 128];
    char described[64];
    describeImage(image, described, sizeof(described));
    if (result == CUDA_ERROR_UNSUPPORTED_PTX_VERSION) {
      status = failPtxTooNew(driver, image, jitLog);
    } else {
      snprintf(what, sizeof(what), "loading the %s image on an sm_%u GPU%s%s", described, sm,
               jitLog[0] ? " (JIT log: " : "", jitLog[0] ? jitLog : "");
      if (jitLog[0])
        strncat(what, ")", sizeof(what) - strlen(what) - 1);
      status = failCuda(driver, result, what);
    }
    if (!binaryRejected(result))
      break; // A real failure, not an image this GPU cannot take.
  }
  free(order);
  return status;
}

} // namespace kiln::cuda

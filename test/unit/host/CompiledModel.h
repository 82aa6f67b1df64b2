//===- CompiledModel.h - compile MLIR with kilnc and dlopen the result ---===//
#ifndef KILN_TEST_UNIT_HOST_COMPILEDMODEL_H
#define KILN_TEST_UNIT_HOST_COMPILEDMODEL_H

#include "kiln/kiln_model.h"
#include "kiln/kiln_status.h"

#include <memory>
#include <string>
#include <vector>

namespace kiln::test {

/// The C API of one compiled model, resolved with dlsym.
struct ModelApi {
  uint32_t (*abiVersion)(void);
  const char *(*lastError)(void);
  kiln_status (*create)(void **);
  kiln_status (*createWithWeights)(const char *, void **);
  void (*destroy)(void *);
  int32_t (*numInputs)(void);
  int32_t (*numOutputs)(void);
  kiln_status (*inputInfo)(int32_t, kiln_tensor_info *);
  kiln_status (*outputInfo)(int32_t, kiln_tensor_info *);
  kiln_status (*dimBounds)(const char *, int64_t *, int64_t *);
  const char *(*signatureJson)(void);
  kiln_status (*outputShape)(const kiln_tensor *, int32_t, int32_t, int64_t *);
  kiln_status (*run)(void *, const kiln_tensor *, int32_t, const kiln_tensor *, int32_t);
  kiln_status (*runDlpack)(void *, DLManagedTensorVersioned *const *, int32_t,
                           DLManagedTensorVersioned *const *, int32_t);
};

/// A model compiled from MLIR text into a fresh directory and loaded.
class CompiledModel {
public:
  /// Compiles `mlir` with `kilnc --target=host --name=<name>`; on failure
  /// `error()` says why.
  CompiledModel(const std::string &mlir, const std::string &name,
                const std::string &extraFlags = "");
  ~CompiledModel();
  CompiledModel(const CompiledModel &) = delete;
  CompiledModel &operator=(const CompiledModel &) = delete;

  bool ok() const { return handle != nullptr; }
  const std::string &error() const { return message; }
  const ModelApi &api() const { return functions; }
  const std::string &directory() const { return dir; }
  const std::string &libraryPath() const { return library; }

private:
  std::string dir, library, message;
  void *handle = nullptr;
  ModelApi functions{};
};

/// An f32 `arith.constant` of `shape` ("64x37") holding `values` exactly
/// (the hex form of dense<>), ending in a newline.
std::string f32Constant(const std::vector<float> &values, const std::string &shape);

/// A handle that destroys itself.
struct ModelHandle {
  ModelHandle(const ModelApi &api) : api(api) { status = api.create(&handle); }
  ~ModelHandle() { api.destroy(handle); }
  const ModelApi &api;
  void *handle = nullptr;
  kiln_status status;
};

} // namespace kiln::test

#endif // KILN_TEST_UNIT_HOST_COMPILEDMODEL_H

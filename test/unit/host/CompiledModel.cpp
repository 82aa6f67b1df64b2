//===- CompiledModel.cpp - compile MLIR with kilnc and dlopen the result -===//
#include "CompiledModel.h"

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#ifndef KILN_TEST_KILNC_FLAGS
#define KILN_TEST_KILNC_FLAGS ""
#endif

namespace kiln::test {

namespace {

template <typename Fn>
void bind(void *handle, const std::string &prefix, const char *suffix, Fn &out,
          std::string &message) {
  std::string symbol = prefix + "_" + suffix;
  out = reinterpret_cast<Fn>(dlsym(handle, symbol.c_str()));
  if (!out)
    message += "missing symbol " + symbol + "; ";
}

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

} // namespace

std::string f32Constant(const std::vector<float> &values, const std::string &shape) {
  std::ostringstream os;
  os << "arith.constant dense<\"0x";
  const char *digits = "0123456789ABCDEF";
  const auto *bytes = reinterpret_cast<const unsigned char *>(values.data());
  for (size_t i = 0; i < values.size() * sizeof(float); ++i)
    os << digits[bytes[i] >> 4] << digits[bytes[i] & 15];
  os << "\"> : tensor<" << shape << "xf32>\n";
  return os.str();
}

CompiledModel::CompiledModel(const std::string &mlir, const std::string &name,
                             const std::string &extraFlags) {
  char pattern[] = "/tmp/kiln-host-test-XXXXXX";
  if (!mkdtemp(pattern)) {
    message = "mkdtemp failed";
    return;
  }
  dir = pattern;
  std::ofstream(dir + "/model.mlir") << mlir;
  library = dir + "/lib" + name + ".so";
  std::string command = std::string(KILN_KILNC_PATH) + " " + dir + "/model.mlir --target=host --name=" +
                        name + " " + KILN_TEST_KILNC_FLAGS + " " + extraFlags + " -o " + library +
                        " 2> " + dir + "/kilnc.log";
  int rc = std::system(command.c_str());
  if (rc != 0) {
    message = "kilnc failed: " + readFile(dir + "/kilnc.log");
    return;
  }
  // RTLD_LOCAL: the test also checks that prefixes keep models apart.
  handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    message = std::string("dlopen failed: ") + dlerror();
    return;
  }
  bind(handle, name, "abi_version", functions.abiVersion, message);
  bind(handle, name, "last_error", functions.lastError, message);
  bind(handle, name, "create", functions.create, message);
  bind(handle, name, "create_with_weights", functions.createWithWeights, message);
  bind(handle, name, "destroy", functions.destroy, message);
  bind(handle, name, "num_inputs", functions.numInputs, message);
  bind(handle, name, "num_outputs", functions.numOutputs, message);
  bind(handle, name, "input_info", functions.inputInfo, message);
  bind(handle, name, "output_info", functions.outputInfo, message);
  bind(handle, name, "dim_bounds", functions.dimBounds, message);
  bind(handle, name, "signature_json", functions.signatureJson, message);
  bind(handle, name, "output_shape", functions.outputShape, message);
  bind(handle, name, "run", functions.run, message);
  bind(handle, name, "run_dlpack", functions.runDlpack, message);
  if (!message.empty()) {
    dlclose(handle);
    handle = nullptr;
  }
}

CompiledModel::~CompiledModel() {
  if (handle)
    dlclose(handle);
  if (!dir.empty() && !std::getenv("KILN_KEEP_TEST_MODELS"))
    std::system(("rm -rf " + dir).c_str());
}

} // namespace kiln::test

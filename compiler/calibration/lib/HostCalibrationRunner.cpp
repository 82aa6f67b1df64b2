//===- HostCalibrationRunner.cpp - calibration through compiled host code -===//
//
// Compiles an instrumented copy of the model (its results plus every probed
// value as extra outputs) with the host target, in-process, into a
// temporary folder, dlopens it and runs every calibration sample through the
// model's C API.
//
//===----------------------------------------------------------------------===//
#include "kiln/Calibration/HostCalibrationRunner.h"
#include "InstrumentedModel.h"

#include "kiln/Dialect/KilnDialect.h"
#include "kiln/Lowering/CalibrationRunner.h"
#include "kiln/Lowering/Progress.h"
#include "kiln/Targets/Host/HostTarget.h"
#include "kiln/Targets/Host/ModelSignature.h"
#include "kiln/kiln_model.h"
#include "kiln/kiln_status.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/xxhash.h"

#include <dlfcn.h>

#include <memory>
#include <mutex>

using namespace mlir;

namespace kiln {

namespace {

constexpr llvm::StringLiteral kModelName = "kiln_calibration";

llvm::Error failure(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// A temporary folder, removed with everything in it.
class TemporaryFolder {
public:
  llvm::Error create() {
    if (std::error_code error = llvm::sys::fs::createUniqueDirectory("kiln-calibration", path))
      return failure("cannot create a temporary folder for the calibration model: " +
                     error.message());
    return llvm::Error::success();
  }
  ~TemporaryFolder() {
    if (!path.empty())
      (void)llvm::sys::fs::remove_directories(path);
  }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> file(path);
    llvm::sys::path::append(file, name);
    return std::string(file);
  }

private:
  llvm::SmallString<256> path;
};

/// The compiled model's C API, loaded with dlopen, and one model handle.
class LoadedModel {
public:
  ~LoadedModel() {
    if (model)
      destroy(model);
    if (library)
      dlclose(library);
  }

  llvm::Error load(const std::string &path) {
    library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library)
      return failure("cannot load the calibration model " + path + ": " + dlerror());
    if (llvm::Error error = bind("create", create))
      return error;
    if (llvm::Error error = bind("destroy", destroy))
      return error;
    if (llvm::Error error = bind("run", runModel))
      return error;
    if (llvm::Error error = bind("last_error", lastError))
      return error;
    if (create(&model) != KILN_OK)
      return failure(llvm::Twine("cannot create the calibration model: ") + lastError());
    return llvm::Error::success();
  }

  llvm::Error run(llvm::ArrayRef<kiln_tensor> inputs, llvm::ArrayRef<kiln_tensor> outputs) {
    if (runModel(model, inputs.data(), int32_t(inputs.size()), outputs.data(),
                 int32_t(outputs.size())) != KILN_OK)
      return failure(llvm::Twine("the compiled model failed: ") + lastError());
    return llvm::Error::success();
  }

private:
  template <typename Function> llvm::Error bind(llvm::StringRef suffix, Function &function) {
    std::string symbol = (kModelName + "_" + suffix).str();
    function = reinterpret_cast<Function>(dlsym(library, symbol.c_str()));
    if (!function)
      return failure("the calibration model does not export " + symbol);
    return llvm::Error::success();
  }

  void *library = nullptr;
  struct kiln_model_handle *model = nullptr;
  kiln_status (*create)(struct kiln_model_handle **) = nullptr;
  void (*destroy)(struct kiln_model_handle *) = nullptr;
  kiln_status (*runModel)(struct kiln_model_handle *, const kiln_tensor *, int32_t,
                          const kiln_tensor *, int32_t) = nullptr;
  const char *(*lastError)() = nullptr;
};

/// Bytes per element of a static tensor as the C API passes it (bool: one).
size_t elementBytes(RankedTensorType type) {
  return std::max<size_t>(8, type.getElementTypeBitWidth()) / 8;
}

kiln_tensor tensorOf(RankedTensorType type, host::DType dtype, void *data) {
  return kiln_tensor{int32_t(dtype), int32_t(type.getRank()), type.getShape().data(), data,
                     size_t(type.getNumElements()) * elementBytes(type)};
}

/// An instrumented model compiled and loaded, kept for reuse: calibrated
/// stages, kiln-distill and the report often instrument the same unchanged
/// model (the uncompressed teacher), and the same bytecode compiles to the
/// same code.
struct CompiledModel {
  llvm::XXH128_hash_t key;
  TemporaryFolder folder; // declared before `loaded`: the library closes first
  LoadedModel loaded;
  host::ModelSignature signature;
  std::vector<RankedTensorType> inputs, outputs;
  size_t numResults = 0;
};

/// The 128-bit hash of `module`'s bytecode (weights and resources included).
llvm::Expected<llvm::XXH128_hash_t> moduleKey(ModuleOp module) {
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  if (failed(writeBytecodeToFile(module, os)))
    return failure("cannot serialize the calibration model");
  return llvm::xxh3_128bits(llvm::arrayRefFromStringRef(bytes));
}

struct HostCalibrationRunner : CalibrationRunnerInterface {
  using CalibrationRunnerInterface::CalibrationRunnerInterface;

  llvm::StringRef describe() const override { return "Kiln's compiled host code"; }

  llvm::Expected<CalibrationOutputs> run(func::FuncOp func, ArrayRef<Value> probes,
                                         ArrayRef<CalibrationRun> runs,
                                         std::vector<std::vector<float>> &probeValues) const override {
    std::lock_guard<std::mutex> lock(mutex);
    llvm::Expected<CompiledModel *> compiled = compile(func, probes);
    if (!compiled)
      return compiled.takeError();
    return runAll(**compiled, runs, probeValues);
  }

private:
  static constexpr size_t kCachedModels = 2;

  /// The compiled instrumented model of `func` with `probes`: from the cache
  /// when an identical module was compiled before, else compiled now (the
  /// time shows with --progress).
  llvm::Expected<CompiledModel *> compile(func::FuncOp func, ArrayRef<Value> probes) const {
    llvm::Expected<calibration::InstrumentedModel> model =
        calibration::instrumentForCalibration(func, probes);
    if (!model)
      return model.takeError();
    llvm::Expected<llvm::XXH128_hash_t> key = moduleKey(*model->module);
    if (!key)
      return key.takeError();
    for (const std::unique_ptr<CompiledModel> &cached : cache)
      if (cached->key == *key) {
        Progress reuse("calibration model unchanged: reusing its compiled code", 1);
        reuse.advance();
        return cached.get();
      }
    auto compiled = std::make_unique<CompiledModel>();
    compiled->key = *key;
    if (llvm::Error error = compiled->folder.create())
      return std::move(error);
    host::HostTargetOptions options;
    options.name = kModelName.str();
    options.outputPath = compiled->folder.file(("lib" + kModelName + ".so").str());
    // The inputs' C dtypes as the compiled model declares them (kiln.dtype
    // tells uint8 from int8); the instrumented outputs are all f32.
    llvm::Expected<host::ModelSignature> signature = host::extractModelSignature(*model->module);
    if (!signature)
      return signature.takeError();
    compiled->signature = std::move(*signature);
    compiled->inputs = model->inputs;
    compiled->outputs = model->outputs;
    compiled->numResults = model->numResults;
    {
      Progress compiling("compiling the calibration model for the host", 1);
      if (llvm::Error error = host::compileForHost(*model->module, options))
        return std::move(error);
      compiling.advance();
    }
    if (llvm::Error error = compiled->loaded.load(options.outputPath))
      return std::move(error);
    if (cache.size() == kCachedModels)
      cache.erase(cache.begin());
    cache.push_back(std::move(compiled));
    return cache.back().get();
  }

  static llvm::Expected<CalibrationOutputs> runAll(CompiledModel &model,
                                                   ArrayRef<CalibrationRun> runs,
                                                   std::vector<std::vector<float>> &probeValues) {
    probeValues.resize(model.outputs.size() - model.numResults);
    CalibrationOutputs outputs;
    Progress progress("calibration runs (compiled host code)", int64_t(runs.size()));
    for (auto [runIndex, run] : llvm::enumerate(runs)) {
      if (run.size() != model.inputs.size())
        return failure("calibration run " + llvm::Twine(runIndex) + " has " +
                       llvm::Twine(run.size()) + " inputs; the model takes " +
                       llvm::Twine(model.inputs.size()));
      std::vector<kiln_tensor> inputTensors, outputTensors;
      for (auto [index, type] : llvm::enumerate(model.inputs)) {
        const host::TensorSignature &input = model.signature.inputs[index];
        size_t bytes = size_t(type.getNumElements()) * elementBytes(type);
        if (run[index].size() != bytes)
          return failure("calibration run " + llvm::Twine(runIndex) + ": input '" + input.name +
                         "' has " + llvm::Twine(run[index].size()) + " bytes, not " +
                         llvm::Twine(bytes) + " (" + host::onnxDTypeName(input.dtype) + ")");
        inputTensors.push_back(
            tensorOf(type, input.dtype, const_cast<uint8_t *>(run[index].data())));
      }
      std::vector<std::vector<float>> results;
      for (RankedTensorType type : model.outputs)
        results.emplace_back(size_t(type.getNumElements()));
      for (auto [type, buffer] : llvm::zip(model.outputs, results))
        outputTensors.push_back(tensorOf(type, host::DType::F32, buffer.data()));
      if (llvm::Error error = model.loaded.run(inputTensors, outputTensors))
        return std::move(error);
      for (size_t p = 0; p < probeValues.size(); ++p) {
        const std::vector<float> &values = results[model.numResults + p];
        probeValues[p].insert(probeValues[p].end(), values.begin(), values.end());
      }
      results.resize(model.numResults);
      outputs.push_back(std::move(results));
      progress.advance();
    }
    return outputs;
  }

  mutable std::mutex mutex;
  mutable std::vector<std::unique_ptr<CompiledModel>> cache; // oldest first
};

} // namespace

void registerHostCalibrationRunner(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *, KilnDialect *dialect) {
    dialect->addInterfaces<HostCalibrationRunner>();
  });
}

} // namespace kiln

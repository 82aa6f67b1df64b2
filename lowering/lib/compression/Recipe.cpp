//===- Recipe.cpp - per-layer compression recipes from JSON --------------===//
//
// A recipe is a JSON object {"stages": [...]}; each stage names a method
// (a compression pass without its "kiln-" prefix), an optional "layers"
// regex and an optional "options" object. Stages run in order and a pass
// never recompresses a weight, so the first stage that selects a layer wins:
// list per-layer overrides first and the model-wide default last.
//
//===----------------------------------------------------------------------===//
#include "kiln/Lowering/CompressionPasses.h"
#include "kiln/Lowering/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <mutex>

using namespace mlir;

namespace kiln {

static constexpr llvm::StringLiteral kMethods[] = {
    "quantize-weights", "quantize-fp8", "quantize-log2", "quantize-codebook",
    "prune-magnitude", "prune-channels", "low-rank", "tucker-conv", "gptq", "awq", "smoothquant",
    "prune-allocate"};

static llvm::Error recipeError(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": recipe: " + message);
}

/// "kiln-<method>{layers="..." key=value ...}" for one stage.
static llvm::Expected<std::string> stagePipeline(StringRef path, size_t index,
                                                 const llvm::json::Value &stage,
                                                 StringRef calibPath) {
  std::string where = "stage " + std::to_string(index);
  const llvm::json::Object *object = stage.getAsObject();
  if (!object)
    return recipeError(path, where + " is not a JSON object");
  std::optional<StringRef> method = object->getString("method");
  if (!method || !llvm::is_contained(kMethods, *method)) {
    std::string known;
    for (StringRef name : kMethods)
      known += (known.empty() ? "" : ", ") + name.str();
    return recipeError(path, where + ": \"method\" must be one of " + known);
  }
  std::string pipeline = "kiln-" + method->str() + "{";
  auto quoted = [&](StringRef text) -> llvm::Expected<std::string> {
    if (text.contains('"'))
      return recipeError(path, where + ": values may not contain '\"'");
    return "\"" + text.str() + "\"";
  };
  if (const llvm::json::Value *layers = object->get("layers")) {
    std::optional<StringRef> pattern = layers->getAsString();
    if (!pattern)
      return recipeError(path, where + ": \"layers\" must be a string (a regex)");
    llvm::Expected<std::string> value = quoted(*pattern);
    if (!value)
      return value.takeError();
    pipeline += "layers=" + *value + " ";
  }
  if (const llvm::json::Value *options = object->get("options")) {
    const llvm::json::Object *map = options->getAsObject();
    if (!map)
      return recipeError(path, where + ": \"options\" must be an object");
    for (const auto &[key, value] : *map) {
      std::string text;
      if (std::optional<int64_t> integer = value.getAsInteger())
        text = std::to_string(*integer);
      else if (std::optional<double> number = value.getAsNumber())
        text = llvm::formatv("{0}", *number).str();
      else if (std::optional<bool> flag = value.getAsBoolean())
        text = *flag ? "true" : "false";
      else if (std::optional<StringRef> string = value.getAsString()) {
        llvm::Expected<std::string> quotedValue = quoted(*string);
        if (!quotedValue)
          return quotedValue.takeError();
        text = *quotedValue;
      } else
        return recipeError(path, where + ": option '" + key.str() +
                                     "' must be a number, boolean or string");
      pipeline += key.str() + "=" + text + " ";
    }
  }
  bool calibrated = llvm::is_contained({"gptq", "awq", "smoothquant", "prune-allocate"}, *method);
  const llvm::json::Object *options = object->getObject("options");
  if (calibrated && !calibPath.empty() && !(options && options->get("calib"))) {
    llvm::Expected<std::string> value = quoted(calibPath);
    if (!value)
      return value.takeError();
    pipeline += "calib=" + *value + " ";
  }
  pipeline += "}";
  return pipeline;
}

llvm::Error addRecipePasses(OpPassManager &pm, StringRef path, StringRef calibPath) {
  static std::once_flag registered;
  std::call_once(registered, [] {
    registerKilnPasses();
    registerKilnCompressionPasses();
  });
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return recipeError(path, "cannot read: " + buffer.getError().message());
  llvm::Expected<llvm::json::Value> json = llvm::json::parse((*buffer)->getBuffer());
  if (!json)
    return recipeError(path, "invalid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Array *stages = root ? root->getArray("stages") : nullptr;
  if (!stages)
    return recipeError(path, "expected an object with a \"stages\" array");
  for (auto [index, stage] : llvm::enumerate(*stages)) {
    llvm::Expected<std::string> pipeline = stagePipeline(path, index, stage, calibPath);
    if (!pipeline)
      return pipeline.takeError();
    std::string errors;
    llvm::raw_string_ostream os(errors);
    if (failed(parsePassPipeline(*pipeline, pm, os)))
      return recipeError(path, "stage " + std::to_string(index) + " (" + *pipeline +
                                   "): " + errors);
  }
  return llvm::Error::success();
}

} // namespace kiln

//===- InstrumentedModel.cpp - a model that also returns what layers see -===//
#include "InstrumentedModel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;

namespace kiln::calibration {

namespace {

llvm::Error failure(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string inputName(func::FuncOp func, unsigned index) {
  if (auto name = func.getArgAttrOfType<StringAttr>(index, "kiln.name"))
    return name.str();
  return "arg" + std::to_string(index);
}

/// `value` as a static f32 tensor (numbers are converted), or an error.
llvm::Expected<Value> asStaticF32(OpBuilder &builder, Value value, const llvm::Twine &what) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape())
    return failure(what + " needs a static tensor shape for calibration (pin symbolic "
                          "dimensions with --dim)");
  Type element = type.getElementType();
  Location loc = value.getLoc();
  auto f32 = type.clone(builder.getF32Type());
  if (element.isF32())
    return value;
  if (auto floatType = dyn_cast<FloatType>(element))
    return floatType.getWidth() < 32
               ? Value(arith::ExtFOp::create(builder, loc, f32, value))
               : Value(arith::TruncFOp::create(builder, loc, f32, value));
  if (element.isInteger(1))
    return Value(arith::UIToFPOp::create(builder, loc, f32, value));
  if (element.isIntOrFloat())
    return Value(arith::SIToFPOp::create(builder, loc, f32, value));
  return failure(what + " has element type that calibration cannot read back");
}

} // namespace

llvm::Expected<InstrumentedModel> instrumentForCalibration(func::FuncOp func,
                                                           ArrayRef<Value> probes) {
  auto module = func->getParentOfType<ModuleOp>();
  if (!module || func.isExternal())
    return failure("@" + func.getSymName() + " is not a function with a body in a module");
  IRMapping mapping;
  InstrumentedModel model;
  model.module = cast<ModuleOp>(module->clone(mapping));
  auto main = cast<func::FuncOp>(mapping.lookup(func.getOperation()));
  for (auto other : llvm::to_vector(model.module->getOps<func::FuncOp>()))
    if (other != main)
      other.erase();
  main.setSymName("main");
  main.setPublic();

  MLIRContext *context = main.getContext();
  for (auto [index, argument] : llvm::enumerate(main.getArguments())) {
    auto type = dyn_cast<RankedTensorType>(argument.getType());
    if (!type || !type.hasStaticShape()) {
      std::string typeText;
      llvm::raw_string_ostream(typeText) << argument.getType();
      return failure("input '" + inputName(func, index) + "' is " + typeText +
                     "; calibration runs static shapes (pin symbolic dimensions with --dim)");
    }
    model.inputs.push_back(type);
  }

  Operation *terminator = main.getBody().front().getTerminator();
  OpBuilder builder(terminator);
  SmallVector<Value> returned;
  for (auto [index, result] : llvm::enumerate(terminator->getOperands())) {
    auto converted = asStaticF32(builder, result, "result " + llvm::Twine(index));
    if (!converted)
      return converted.takeError();
    returned.push_back(*converted);
  }
  model.numResults = returned.size();
  for (auto [index, probe] : llvm::enumerate(probes)) {
    auto converted = asStaticF32(builder, mapping.lookup(probe), "probed value " + llvm::Twine(index));
    if (!converted)
      return converted.takeError();
    returned.push_back(*converted);
  }
  terminator->setOperands(returned);

  SmallVector<Type> resultTypes;
  SmallVector<DictionaryAttr> resultAttrs;
  for (auto [index, value] : llvm::enumerate(returned)) {
    model.outputs.push_back(cast<RankedTensorType>(value.getType()));
    resultTypes.push_back(value.getType());
    std::string name = (index < model.numResults ? "output" : "probe") +
                       std::to_string(index < model.numResults ? index : index - model.numResults);
    resultAttrs.push_back(DictionaryAttr::get(
        context, {NamedAttribute(StringAttr::get(context, "kiln.name"),
                                 StringAttr::get(context, name))}));
  }
  main.setFunctionType(FunctionType::get(context, main.getArgumentTypes(), resultTypes));
  main.setAllResultAttrs(resultAttrs);
  // The host target takes imported IR, where elementwise ops on tensors
  // are linalg.generic; passes and hand-written tests use arith/math ops.
  PassManager pm(context);
  pm.addPass(createConvertElementwiseToLinalgPass());
  if (failed(pm.run(*model.module)))
    return failure("cannot convert the model's elementwise ops to linalg (see above)");
  return std::move(model);
}

} // namespace kiln::calibration

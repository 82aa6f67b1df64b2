//===- ExternalWeights.cpp - constant tensors into a safetensors file ----===//
//
// kilnc --weights=external: every constant array of the translated model
// leaves the module; its bytes go to `<name>.safetensors` and its uses
// address `kiln_model_weights_base + offset`, a thread-local pointer the
// glue sets to the running handle's mapped file (runtime/host/kiln_weights.c
// checks that file against kiln_model_weights, emitted in
// ModelDescriptor.cpp).
//
//===----------------------------------------------------------------------===//
#include "HostTargetInternal.h"

#include "kiln/kiln_model.h"
#include "kiln_checksum.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/ReplaceConstant.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

namespace kiln::host {

namespace {

constexpr llvm::StringLiteral kWeightsBaseName = "kiln_model_weights_base";
/// The data section starts at a multiple of this (a cache line), so that
/// with tensors in decreasing element size each one is naturally aligned.
constexpr uint64_t kDataAlignment = 64;

/// The safetensors dtype and byte size of an LLVM scalar type, or nothing
/// for types a weights file cannot hold (i1 arrays stay in the library).
std::optional<std::pair<llvm::StringRef, unsigned>> safetensorsDType(llvm::Type *type) {
  if (type->isDoubleTy())
    return std::make_pair(llvm::StringRef("F64"), 8u);
  if (type->isFloatTy())
    return std::make_pair(llvm::StringRef("F32"), 4u);
  if (type->isHalfTy())
    return std::make_pair(llvm::StringRef("F16"), 2u);
  if (type->isBFloatTy())
    return std::make_pair(llvm::StringRef("BF16"), 2u);
  switch (type->isIntegerTy() ? type->getIntegerBitWidth() : 0) {
  case 8: return std::make_pair(llvm::StringRef("I8"), 1u);
  case 16: return std::make_pair(llvm::StringRef("I16"), 2u);
  case 32: return std::make_pair(llvm::StringRef("I32"), 4u);
  case 64: return std::make_pair(llvm::StringRef("I64"), 8u);
  default: return std::nullopt;
  }
}

/// Appends the bytes of `value` as they lie in memory (little-endian).
bool appendBytes(const llvm::Constant *value, const llvm::DataLayout &layout, std::string &out) {
  if (auto *data = llvm::dyn_cast<llvm::ConstantDataSequential>(value)) {
    out += data->getRawDataValues();
    return true;
  }
  if (llvm::isa<llvm::ConstantAggregateZero, llvm::UndefValue>(value)) {
    out.append(layout.getTypeAllocSize(value->getType()).getFixedValue(), '\0');
    return true;
  }
  if (auto *array = llvm::dyn_cast<llvm::ConstantArray>(value)) {
    for (const llvm::Use &element : array->operands())
      if (!appendBytes(llvm::cast<llvm::Constant>(element.get()), layout, out))
        return false;
    return true;
  }
  llvm::APInt bits;
  if (auto *integer = llvm::dyn_cast<llvm::ConstantInt>(value))
    bits = integer->getValue();
  else if (auto *real = llvm::dyn_cast<llvm::ConstantFP>(value))
    bits = real->getValueAPF().bitcastToAPInt();
  else
    return false;
  for (unsigned byte = 0; byte < bits.getBitWidth() / 8; ++byte)
    out.push_back(char(bits.extractBitsAsZExtValue(8, byte * 8)));
  return true;
}

struct Candidate {
  llvm::GlobalVariable *global;
  ExternalWeights::Tensor tensor;
  unsigned elementBytes;
  size_t order = 0;
};

/// A constant array of scalars (nested arrays give the shape), or nothing.
std::optional<Candidate> asWeight(llvm::GlobalVariable &global) {
  if (!global.isConstant() || !global.hasInitializer() || global.isThreadLocal())
    return std::nullopt;
  llvm::Type *type = global.getValueType();
  llvm::SmallVector<int64_t> shape;
  while (auto *array = llvm::dyn_cast<llvm::ArrayType>(type)) {
    shape.push_back(int64_t(array->getNumElements()));
    type = array->getElementType();
  }
  auto dtype = safetensorsDType(type);
  if (shape.empty() || !dtype)
    return std::nullopt;
  Candidate candidate{&global, {}, dtype->second, 0};
  candidate.tensor.name = global.getName().str();
  candidate.tensor.dtype = dtype->first.str();
  candidate.tensor.shape = std::move(shape);
  return candidate;
}

/// Replaces every use of `global` by `kiln_model_weights_base + offset`,
/// loading the base once per function, at its entry.
class UseRewriter {
public:
  explicit UseRewriter(llvm::Module &module)
      : ptr(llvm::PointerType::getUnqual(module.getContext())) {
    base = new llvm::GlobalVariable(module, ptr, /*isConstant=*/false,
                                    llvm::GlobalValue::ExternalLinkage, nullptr, kWeightsBaseName,
                                    nullptr, llvm::GlobalValue::GeneralDynamicTLSModel);
  }

  llvm::Error rewrite(llvm::GlobalVariable *global, uint64_t offset) {
    for (llvm::Use &use : llvm::make_early_inc_range(global->uses())) {
      auto *user = llvm::dyn_cast<llvm::Instruction>(use.getUser());
      if (!user)
        return llvm::createStringError("internal error: weight '" + global->getName() +
                                       "' is used outside the code; cannot move it to the "
                                       "weights file");
      use.set(addressIn(*user->getFunction(), global, offset));
    }
    global->eraseFromParent();
    return llvm::Error::success();
  }

private:
  llvm::Value *addressIn(llvm::Function &function, llvm::GlobalVariable *global,
                         uint64_t offset) {
    llvm::Value *&address = addresses[{&function, global}];
    if (address)
      return address;
    llvm::Instruction *&loaded = bases[&function];
    if (!loaded) {
      llvm::IRBuilder<> b(&*function.getEntryBlock().getFirstInsertionPt());
      loaded = b.CreateLoad(ptr, b.CreateThreadLocalAddress(base), "kiln.weights");
    }
    llvm::IRBuilder<> b(loaded->getNextNode());
    address = b.CreateInBoundsGEP(b.getInt8Ty(), loaded, b.getInt64(offset),
                                  global->getName());
    return address;
  }

  llvm::PointerType *ptr;
  llvm::GlobalVariable *base;
  llvm::DenseMap<llvm::Function *, llvm::Instruction *> bases;
  llvm::DenseMap<std::pair<llvm::Function *, llvm::GlobalVariable *>, llvm::Value *> addresses;
};

std::string checksumText(uint64_t checksum) {
  std::string text;
  llvm::raw_string_ostream(text) << KILN_CHECKSUM_NAME << ":"
                                 << llvm::format_hex_no_prefix(checksum, 16);
  return text;
}

} // namespace

llvm::Error externalizeWeights(llvm::Module &module, ExternalWeights &weights) {
  std::vector<Candidate> candidates;
  for (llvm::GlobalVariable &global : module.globals())
    if (std::optional<Candidate> candidate = asWeight(global))
      candidates.push_back(std::move(*candidate));
  // Larger elements first: every tensor then starts at a multiple of its
  // element size, with no gaps (safetensors forbids holes).
  // (std::sort with the module order as tie-break: libstdc++'s
  // stable_sort uses a deprecated helper.)
  for (size_t i = 0; i < candidates.size(); ++i)
    candidates[i].order = i;
  std::sort(candidates.begin(), candidates.end(), [](const Candidate &a, const Candidate &b) {
    return std::make_pair(-int64_t(a.elementBytes), a.order) <
           std::make_pair(-int64_t(b.elementBytes), b.order);
  });

  const llvm::DataLayout &layout = module.getDataLayout();
  for (Candidate &candidate : candidates) {
    uint64_t begin = weights.data.size();
    if (!appendBytes(candidate.global->getInitializer(), layout, weights.data))
      return llvm::createStringError("internal error: weight '" + candidate.tensor.name +
                                     "' has an initializer kilnc cannot serialize");
    uint64_t expected = layout.getTypeAllocSize(candidate.global->getValueType()).getFixedValue();
    if (weights.data.size() - begin != expected)
      return llvm::createStringError("internal error: weight '" + candidate.tensor.name +
                                     "' serialized to the wrong size");
    candidate.tensor.begin = begin;
    candidate.tensor.end = weights.data.size();
  }

  llvm::SmallVector<llvm::Constant *> globals;
  for (const Candidate &candidate : candidates)
    globals.push_back(candidate.global);
  llvm::convertUsersOfConstantsToInstructions(globals);
  UseRewriter rewriter(module);
  for (Candidate &candidate : candidates) {
    if (llvm::Error error = rewriter.rewrite(candidate.global, candidate.tensor.begin))
      return error;
    weights.tensors.push_back(std::move(candidate.tensor));
  }
  weights.checksum = kiln_weights_checksum(
      reinterpret_cast<const unsigned char *>(weights.data.data()), weights.data.size());
  return llvm::Error::success();
}

std::string serializeSafetensors(const ExternalWeights &weights, llvm::StringRef modelName) {
  std::string header;
  llvm::raw_string_ostream os(header);
  llvm::json::OStream json(os);
  json.object([&] {
    json.attributeObject("__metadata__", [&] {
      json.attribute("format", "kiln");
      json.attribute("kiln.model", modelName);
      json.attribute("kiln.abi", std::to_string(KILN_MODEL_ABI_VERSION));
      json.attribute("kiln.checksum", checksumText(weights.checksum));
    });
    for (const ExternalWeights::Tensor &tensor : weights.tensors)
      json.attributeObject(tensor.name, [&] {
        json.attribute("dtype", tensor.dtype);
        json.attributeArray("shape", [&] {
          for (int64_t dim : tensor.shape)
            json.value(dim);
        });
        json.attributeArray("data_offsets", [&] {
          json.value(int64_t(tensor.begin));
          json.value(int64_t(tensor.end));
        });
      });
  });
  os.flush();
  // Spaces after the JSON (allowed by the format) align the data section.
  header.append(llvm::alignTo(8 + header.size(), kDataAlignment) - 8 - header.size(), ' ');
  std::string file(8, '\0');
  llvm::support::endian::write64le(file.data(), header.size());
  file += header;
  file += weights.data;
  return file;
}

} // namespace kiln::host

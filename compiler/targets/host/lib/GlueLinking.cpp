//===- GlueLinking.cpp - the C glue and the exported symbols -------------===//
#include "HostTargetInternal.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Linker/Linker.h"
#include "llvm/Support/MemoryBuffer.h"

namespace kiln::host {

namespace {
/// runtime/host/kiln_model_glue.c and kiln_weights.c compiled to bitcode at
/// build time, plain and with ASan/UBSan instrumentation.
const unsigned char kGlueBitcode[] = {
#include "EmbeddedGlueBitcode.inc"
};
const unsigned char kSanitizedGlueBitcode[] = {
#include "EmbeddedSanitizedGlueBitcode.inc"
};
constexpr llvm::StringLiteral kGluePrefix = "KILN_MODEL_";
} // namespace

llvm::Error linkModelGlue(llvm::Module &module, bool sanitized) {
  llvm::StringRef bytes =
      sanitized ? llvm::StringRef(reinterpret_cast<const char *>(kSanitizedGlueBitcode),
                                  sizeof(kSanitizedGlueBitcode))
                : llvm::StringRef(reinterpret_cast<const char *>(kGlueBitcode),
                                  sizeof(kGlueBitcode));
  auto buffer = llvm::MemoryBuffer::getMemBuffer(bytes, "kiln_model_glue.bc",
                                                 /*RequiresNullTerminator=*/false);
  auto glue = llvm::parseBitcodeFile(buffer->getMemBufferRef(), module.getContext());
  if (!glue)
    return glue.takeError();
  (*glue)->setDataLayout(module.getDataLayout());
  (*glue)->setTargetTriple(module.getTargetTriple());
  if (llvm::Linker::linkModules(module, std::move(*glue)))
    return llvm::createStringError("cannot link the model's C glue (see the messages above)");
  return llvm::Error::success();
}

void applySymbolPrefix(llvm::Module &module, llvm::StringRef prefix) {
  for (llvm::GlobalValue &value : module.global_values()) {
    if (value.isDeclaration() || value.getName().starts_with("llvm."))
      continue;
    if (llvm::isa<llvm::Function>(value) && value.getName().starts_with(kGluePrefix)) {
      std::string exported = (prefix + "_" + value.getName().drop_front(kGluePrefix.size())).str();
      value.setName(exported);
      value.setLinkage(llvm::GlobalValue::ExternalLinkage);
      value.setVisibility(llvm::GlobalValue::DefaultVisibility);
      continue;
    }
    value.setLinkage(llvm::GlobalValue::InternalLinkage);
  }
}

} // namespace kiln::host

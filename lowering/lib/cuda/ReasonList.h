//===- ReasonList.h - "reason: a, b; other reason: c" for pass remarks ----===//
#ifndef KILN_LOWERING_CUDA_REASONLIST_H
#define KILN_LOWERING_CUDA_REASONLIST_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <utility>

namespace kiln {

/// Groups (name, reason) pairs by reason: "M = 32 > 16: fc1 (Gemm), fc2
/// (Gemm); zero points (...): fc3 (MatMul)", reasons in order of first
/// appearance.
inline std::string listByReason(llvm::ArrayRef<std::pair<std::string, std::string>> items) {
  llvm::MapVector<llvm::StringRef, std::string> namesByReason;
  for (const auto &[name, reason] : items) {
    std::string &names = namesByReason[reason];
    names += (names.empty() ? "" : ", ") + name;
  }
  std::string text;
  for (const auto &[reason, names] : namesByReason)
    text += (text.empty() ? "" : "; ") + reason.str() + ": " + names;
  return text;
}

} // namespace kiln

#endif // KILN_LOWERING_CUDA_REASONLIST_H

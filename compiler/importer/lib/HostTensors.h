//===- HostTensors.h - tensor contents known at import time --------------===//
#ifndef KILN_IMPORTER_HOSTTENSORS_H
#define KILN_IMPORTER_HOSTTENSORS_H

#include "ImportContext.h"

#include "llvm/ADT/STLFunctionalExtras.h"

namespace kiln::onnx_import {

/// Decodes little-endian ONNX storage into a HostTensor (nullopt for types
/// that folding does not handle).
std::optional<HostTensor> decodeHostTensor(llvm::ArrayRef<char> bytes, int32_t dtype,
                                           llvm::ArrayRef<int64_t> shape);

/// Little-endian bytes of an all-constant host tensor.
std::vector<char> encodeHostTensor(const HostTensor &tensor);

/// Creates the SSA value of `tensor`: an arith.constant when every element
/// is known, otherwise tensor.from_elements over the run-time values.
using MakeElementsFn =
    llvm::function_ref<mlir::ElementsAttr(mlir::RankedTensorType, llvm::ArrayRef<char>)>;
mlir::Value materializeHostTensor(mlir::OpBuilder &builder, mlir::Location loc,
                                  const HostTensor &tensor, mlir::RankedTensorType type,
                                  MakeElementsFn makeElements);

/// Row-major strides of `shape`.
std::vector<int64_t> rowMajorStrides(llvm::ArrayRef<int64_t> shape);
/// Element count of a host shape.
int64_t elementCount(llvm::ArrayRef<int64_t> shape);

/// A host tensor of `shape` (and `input`'s type) whose element at each
/// multi-index is `input`'s element at flat index `source(index)`.
HostTensor rearrangeHost(const HostTensor &input, llvm::ArrayRef<int64_t> shape,
                         llvm::function_ref<int64_t(llvm::ArrayRef<int64_t>)> source);

/// Folds an integer elementwise op over numpy-broadcast host inputs; null
/// when shapes do not broadcast or `fn` cannot fold an element.
using IntFold = llvm::function_ref<std::optional<SymInt>(llvm::ArrayRef<SymInt>)>;
std::optional<HostTensor> foldIntElementwise(llvm::ArrayRef<const HostTensor *> inputs,
                                             int32_t resultDType, IntFold fn);

/// Converts a value to `dtype` with ONNX Cast semantics on the host.
double castReal(double value, int32_t dtype);
int64_t castInt(int64_t value, int32_t dtype);

} // namespace kiln::onnx_import

#endif // KILN_IMPORTER_HOSTTENSORS_H

//===- CudaCodegenPasses.h - CUDA kernel formation passes ----------------===//
#ifndef KILN_LOWERING_CUDACODEGENPASSES_H
#define KILN_LOWERING_CUDACODEGENPASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Lowering/CudaCodegenPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Lowering/CudaCodegenPasses.h.inc"

} // namespace kiln

#endif // KILN_LOWERING_CUDACODEGENPASSES_H

//===- CudaRowPasses.h - cooperative row kernels for CUDA ----------------===//
#ifndef KILN_LOWERING_CUDAROWPASSES_H
#define KILN_LOWERING_CUDAROWPASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Lowering/CudaRowPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Lowering/CudaRowPasses.h.inc"

} // namespace kiln

#endif // KILN_LOWERING_CUDAROWPASSES_H

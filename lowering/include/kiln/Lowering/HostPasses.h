//===- HostPasses.h - passes and pipeline of the host target -------------===//
#ifndef KILN_LOWERING_HOSTPASSES_H
#define KILN_LOWERING_HOSTPASSES_H

#include "kiln/Dialect/KilnDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Lowering/HostPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Lowering/HostPasses.h.inc"

/// The name @main gets once prepared for the host C ABI.
inline constexpr llvm::StringLiteral kHostEntryName = "kiln_model_entry";

/// Adds the passes from imported (and compressed) kiln IR down to the LLVM
/// dialect for x86-64: kiln ops to linalg, tiling and vectorization,
/// bufferization with caller-owned outputs, and conversion to LLVM.
void buildHostLoweringPipeline(mlir::OpPassManager &pm);

/// Registers `kiln-host-lowering` with the pass registry (for kiln-opt).
void registerHostPipelines();

} // namespace kiln

#endif // KILN_LOWERING_HOSTPASSES_H

//===- CudaCopiesToLinalg.cpp - buffer copies become copy kernels --------===//
#include "kiln/Lowering/CudaCodegenPasses.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_CUDACOPIESTOLINALG
#include "kiln/Lowering/CudaCodegenPasses.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct CudaCopiesToLinalg : impl::CudaCopiesToLinalgBase<CudaCopiesToLinalg> {
  void runOnOperation() override {
    getOperation().walk([](memref::CopyOp copy) {
      // Unranked copies are left for the launch plan to reject by name.
      if (!isa<MemRefType>(copy.getSource().getType()) ||
          !isa<MemRefType>(copy.getTarget().getType()))
        return;
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(), copy.getTarget());
      copy.erase();
    });
  }
};

} // namespace
} // namespace kiln

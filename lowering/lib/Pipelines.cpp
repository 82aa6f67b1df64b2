//===- Pipelines.cpp - pass pipelines as C++ builders --------------------===//
#include "kiln/Lowering/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace kiln {

void buildCompressionPipeline(OpPassManager &pm, const CompressionOptions &options) {
  if (options.weightBits != 0) {
    QuantizeWeightsOptions quantize;
    quantize.bits = options.weightBits;
    quantize.granularity = options.perGroup ? "group" : "channel";
    quantize.groupSize = options.groupSize;
    quantize.symmetric = options.symmetric;
    pm.addPass(createQuantizeWeights(quantize));
  }
  pm.addPass(createCanonicalizerPass());
}

namespace {
struct CompressPipelineOptions : PassPipelineOptions<CompressPipelineOptions> {
  Option<unsigned> bits{*this, "bits", llvm::cl::desc("weight bits (0: none)"),
                        llvm::cl::init(0)};
  Option<int64_t> groupSize{*this, "group-size",
                            llvm::cl::desc("group size (0: per channel)"),
                            llvm::cl::init(0)};
  Option<bool> symmetric{*this, "symmetric", llvm::cl::init(true)};
};
} // namespace

void registerKilnPipelines() {
  PassPipelineRegistration<CompressPipelineOptions>(
      "kiln-compress", "Kiln's weight-compression pipeline",
      [](OpPassManager &pm, const CompressPipelineOptions &opts) {
        CompressionOptions options;
        options.weightBits = opts.bits;
        options.perGroup = opts.groupSize > 0;
        options.groupSize = opts.groupSize > 0 ? int64_t(opts.groupSize) : 128;
        options.symmetric = opts.symmetric;
        buildCompressionPipeline(pm, options);
      });
}

} // namespace kiln

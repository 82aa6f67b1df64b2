//===- QuantizeFp8.cpp - fp8 e4m3 weights with per-channel scales --------===//
#include "CompressionUtils.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Lowering/CompressionPasses.h"

namespace kiln {
#define GEN_PASS_DEF_QUANTIZEFP8
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

constexpr float kLargestE4M3 = 448.0f;

struct QuantizeFp8Pass : kiln::impl::QuantizeFp8Base<QuantizeFp8Pass> {
  using QuantizeFp8Base::QuantizeFp8Base;

  void runOnOperation() override {
    if (failed(rewriteEachDenseLayer(getOperation(), layers, getArgument(),
                                     [this](LinearOp l, DenseWeight &w) { quantize(l, w); })))
      signalPassFailure();
  }

  void quantize(LinearOp linear, DenseWeight &weight) {
    CodedWeight coded = encodePerChannel(weight, kLargestE4M3, [](float value, float scale) {
      return codec::floatToE4M3(value / scale);
    });
    coded.encoding =
        perChannelEncoding(weight, Float8E4M3FNType::get(&getContext()), QuantScheme::Linear);
    commitCodedWeight(linear, weight, coded, "fp8", resourceThreshold, getArgument());
  }
};

} // namespace

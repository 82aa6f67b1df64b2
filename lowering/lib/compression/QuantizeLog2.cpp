//===- QuantizeLog2.cpp - power-of-two weight quantization ----------------===//
#include "CompressionUtils.h"

#include "kiln/Dialect/Codec.h"
#include "kiln/Lowering/CompressionPasses.h"

namespace kiln {
#define GEN_PASS_DEF_QUANTIZELOG2
#include "kiln/Lowering/CompressionPasses.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;
using namespace kiln::compression;

namespace {

struct QuantizeLog2Pass : kiln::impl::QuantizeLog2Base<QuantizeLog2Pass> {
  using QuantizeLog2Base::QuantizeLog2Base;

  void runOnOperation() override {
    if (bits < 3 || bits > 8) {
      getOperation()->emitError() << getArgument() << ": bits must be 3 to 8, got " << unsigned(bits);
      return signalPassFailure();
    }
    if (failed(rewriteEachDenseLayer(getOperation(), layers, getArgument(),
                                     [this](LinearOp l, DenseWeight &w) { quantize(l, w); })))
      signalPassFailure();
  }

  void quantize(LinearOp linear, DenseWeight &weight) {
    // Scale max |row|: codes are sign and exponent below 1.
    CodedWeight coded = encodePerChannel(weight, 1.0f, [&](float value, float scale) {
      return codec::quantizeLog2(value, scale, bits);
    });
    coded.encoding = perChannelEncoding(
        weight, IntegerType::get(&getContext(), bits, IntegerType::Unsigned), QuantScheme::Log2);
    commitCodedWeight(linear, weight, coded, "log2", resourceThreshold, getArgument());
  }
};

} // namespace

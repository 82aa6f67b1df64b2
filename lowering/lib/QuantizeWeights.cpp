//===- QuantizeWeights.cpp - round-to-nearest weight-only quantization ---===//
#include "kiln/Dialect/Codec.h"
#include "kiln/Dialect/Semantics.h"
#include "kiln/Lowering/LayerName.h"
#include "kiln/Lowering/Passes.h"
#include "kiln/Lowering/WeightBuilder.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace kiln {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "kiln/Lowering/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

struct QuantizeWeightsPass : kiln::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using QuantizeWeightsBase::QuantizeWeightsBase;

  void runOnOperation() override {
    if (bits < 2 || bits > 8) {
      getOperation()->emitError() << "kiln-quantize-weights: bits must be 2 to 8, got " << unsigned(bits);
      return signalPassFailure();
    }
    if (granularity != "channel" && granularity != "group") {
      getOperation()->emitError()
          << "kiln-quantize-weights: granularity must be 'channel' or 'group', got '"
          << granularity << "'";
      return signalPassFailure();
    }
    if (granularity == "group" && groupSize <= 0) {
      getOperation()->emitError() << "kiln-quantize-weights: group-size must be positive";
      return signalPassFailure();
    }
    unsigned counter = 0;
    getOperation()->walk([&](LinearOp linear) { quantize(linear, counter++); });
  }

  void quantize(LinearOp linear, unsigned index) {
    auto constant = linear.getWeight().getDefiningOp<arith::ConstantOp>();
    if (!constant)
      return; // not a constant weight (or already compressed)
    auto type = cast<RankedTensorType>(constant.getType());
    if (!type.hasStaticShape())
      return;
    int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
    bool perGroup = granularity == "group";
    if (perGroup && cols % groupSize != 0) {
      linear.emitWarning() << "layer '" << layerName(linear) << "': group size " << int64_t(groupSize)
                           << " does not divide K = " << cols << "; weight left unquantized";
      return;
    }
    FailureOr<std::vector<float>> values =
        getElementsAsFloats(cast<ElementsAttr>(constant.getValue()));
    if (failed(values))
      return;

    codec::QuantizedMatrix quantized = codec::quantizeMatrix(
        values->data(), rows, cols, bits, perGroup ? groupSize : 0, symmetric);
    // Tiny groups can make codes plus scales larger than the dense weight.
    int64_t denseBytes = rows * cols * int64_t(type.getElementTypeBitWidth() / 8);
    int64_t packedBytes = (rows * cols * int64_t(bits) + 7) / 8 +
                          int64_t(quantized.scales.size()) * (type.getElementTypeBitWidth() / 8) +
                          (symmetric ? 0 : int64_t(quantized.zeroPoints.size()));
    if (packedBytes >= denseBytes) {
      linear.emitWarning() << "layer '" << layerName(linear) << "': int" << unsigned(bits)
                           << " codes and scales would take " << packedBytes
                           << " bytes, not fewer than the dense " << denseBytes
                           << "; weight left unquantized";
      return;
    }

    MLIRContext *ctx = &getContext();
    auto storage = IntegerType::get(ctx, bits, symmetric ? IntegerType::Signed
                                                         : IntegerType::Unsigned);
    auto zeroPointType = IntegerType::get(ctx, 8, IntegerType::Unsigned);
    Type scaleType = type.getElementType();
    auto encoding = QuantEncodingAttr::get(
        ctx, storage, QuantScheme::Linear,
        perGroup ? QuantGranularity::PerGroup : QuantGranularity::PerChannel,
        /*axis=*/perGroup ? 1 : 0, perGroup ? groupSize : 0, symmetric, scaleType,
        symmetric ? Type() : Type(zeroPointType), /*vectorSize=*/1);
    auto compressedType = CompressedType::get(ctx, type.getShape(), type.getElementType(),
                                              encoding, nullptr, nullptr);

    WeightBuilder arrays(ctx, resourceThreshold, layerName(linear) + "." + std::to_string(index));
    SmallVector<int64_t> scaleShape = encoding.getScaleShape(type.getShape());
    ElementsAttr payload = arrays.bytes(codec::packCodes(quantized.codes, bits), "payload");
    ElementsAttr scales = arrays.floats(quantized.scales, scaleShape, scaleType, "scales");
    ElementsAttr zeroPoints;
    if (!symmetric)
      zeroPoints = arrays.ints8(quantized.zeroPoints, scaleShape, zeroPointType, "zero_points");

    OpBuilder builder(linear);
    auto weight = WeightOp::create(builder, constant.getLoc(), compressedType, payload, scales,
                                           zeroPoints, /*codebook=*/nullptr,
                                           /*sparsity_meta=*/nullptr);
    linear.getWeightMutable().assign(weight.getResult());
    if (constant->use_empty())
      constant->erase();
  }
};

} // namespace

//===- Passes.td - Kiln passes -----------------------------*- tablegen -*-===//
#ifndef KILN_LOWERING_PASSES_TD
#define KILN_LOWERING_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeWeights : Pass<"kiln-quantize-weights"> {
  let summary = "Round-to-nearest weight-only quantization of constant linear weights";
  let description = [{
    Replaces the dense constant weight [N, K] of every `kiln.linear` with a
    `kiln.weight` of `bits`-bit integer codes, one scale per output channel
    (`granularity=channel`) or per group of `group-size` consecutive input
    channels (`granularity=group`). Symmetric codes are signed with zero
    point 0; asymmetric codes are unsigned with a `ui8` zero point per scale.
    Weights whose K is not a multiple of the group size stay dense, with a
    warning that names the layer.
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
  let options = [
    Option<"bits", "bits", "unsigned", "8", "bits per code (2 to 8)">,
    Option<"granularity", "granularity", "std::string", "\"channel\"",
           "'channel' or 'group'">,
    Option<"groupSize", "group-size", "int64_t", "128", "group size along K">,
    Option<"symmetric", "symmetric", "bool", "true",
           "symmetric (signed, no zero point) or asymmetric codes">,
    Option<"resourceThreshold", "resource-threshold", "int64_t", "64",
           "arrays of at least this many bytes go into dense_resource blobs">
  ];
}

def ExpandCompressedWeights : Pass<"kiln-expand-compressed-weights"> {
  let summary = "Decode every compressed constant weight into a dense constant";
  let description = [{
    The reference semantics of kiln's encodings: each `kiln.dequantize` of a
    constant weight, and each compressed constant used by `kiln.linear`,
    is replaced by the dense `arith.constant` it stands for. Kernels are
    tested against the result.
  }];
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::arith::ArithDialect"];
}

#endif // KILN_LOWERING_PASSES_TD

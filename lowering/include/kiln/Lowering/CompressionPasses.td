//===- CompressionPasses.td - weight compression passes ----*- tablegen -*-===//
//
// Each pass rewrites the dense constant weight [N, K] of selected
// `kiln.linear` ops into a compressed `kiln.weight` / `kiln.low_rank`. Every
// pass takes `layers`, a regular expression matched against the layer name
// (the op's NameLoc, "<node name> (<OpType>)"); empty selects every layer.
// Weights that are already compressed are left alone.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_LOWERING_COMPRESSIONPASSES_TD
#define KILN_LOWERING_COMPRESSIONPASSES_TD

include "mlir/Pass/PassBase.td"

class KilnCompressionPass<string name> : Pass<name> {
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::arith::ArithDialect"];
  list<Option> commonOptions = [
    Option<"layers", "layers", "std::string", "\"\"",
           "regex over layer names; empty selects every kiln.linear">,
    Option<"resourceThreshold", "resource-threshold", "int64_t", "64",
           "arrays of at least this many bytes go into dense_resource blobs">
  ];
}

def QuantizeFp8 : KilnCompressionPass<"kiln-quantize-fp8"> {
  let summary = "fp8 e4m3 weights with one f32 scale per output channel";
  let description = [{
    Each output channel n gets scale = max|W[n, :]| / 448 (the largest
    finite e4m3 value) and codes e4m3(W / scale), rounded to nearest even.
  }];
  let options = commonOptions;
}

def QuantizeLog2 : KilnCompressionPass<"kiln-quantize-log2"> {
  let summary = "power-of-two (logarithmic) weight quantization";
  let description = [{
    Codes are a sign bit and an exponent e in [1, 2^(bits-1)-1] standing for
    scale * 2^-(e-1); code 0 is zero. One scale per output channel,
    max|W[n, :]|, so the largest weight of a channel is exact.
  }];
  let options = !listconcat(commonOptions, [
    Option<"bits", "bits", "unsigned", "4", "bits per code (3 to 8)">
  ]);
}

def QuantizeCodebook : KilnCompressionPass<"kiln-quantize-codebook"> {
  let summary = "k-means codebook (vector) quantization";
  let description = [{
    Clusters the weights (or runs of `vector-size` consecutive weights along
    K) with deterministic k-means into 2^bits entries, one codebook for the
    whole tensor (`group-size=0`) or one per group of `group-size` weights of
    a row. Codes are unsigned indices.
  }];
  let options = !listconcat(commonOptions, [
    Option<"bits", "bits", "unsigned", "4", "index bits: 4 (16 entries) or 8 (256)">,
    Option<"groupSize", "group-size", "int64_t", "0", "0: per tensor; else per group along K">,
    Option<"vectorSize", "vector-size", "int64_t", "1", "weights per codebook entry (1 or 2)">
  ]);
}

def PruneMagnitude : KilnCompressionPass<"kiln-prune-magnitude"> {
  let summary = "magnitude pruning: unstructured to a density, or N:M";
  let description = [{
    With `n`/`m` set, keeps the `n` largest-magnitude weights of every run of
    `m` along K (ties: lower index first) in an `n_m` sparse weight. Otherwise
    keeps the round(density * N * K) largest-magnitude weights of the tensor
    (ties: lower flat index first) in an `unstructured` weight. Surviving
    values are stored unquantized. A layer whose sparse form would not be
    smaller than the dense one is left dense with a warning.
  }];
  let options = !listconcat(commonOptions, [
    Option<"density", "density", "double", "0.5", "fraction of weights kept (unstructured)">,
    Option<"n", "n", "int64_t", "0", "weights kept per run (N:M)">,
    Option<"m", "m", "int64_t", "0", "run length (N:M); 0 selects unstructured">
  ]);
}

def PruneChannels : KilnCompressionPass<"kiln-prune-channels"> {
  let summary = "remove whole output channels and shrink the consumer";
  let description = [{
    For a `kiln.linear` P whose result reaches exactly one `kiln.linear` C
    through elementwise ops that map zero to zero channel by channel (relu,
    add/mul with a per-channel constant or a scalar splat; see
    docs/compression.md), drops the `fraction` of P's output channels with the
    smallest score ||W_P[n, :]|| * ||W_C[:, n]||, along with their bias
    entries, and the matching input columns of C. Every tensor on the path
    gets the smaller shape; the pruned channels' bias entries go with them
    (their constant contribution is lost, like the rest of the channel).
    Layers whose path has any other op are skipped with a remark.
  }];
  let options = !listconcat(commonOptions, [
    Option<"fraction", "fraction", "double", "0.25", "fraction of output channels removed">
  ]);
}

def LowRank : KilnCompressionPass<"kiln-low-rank"> {
  let summary = "truncated-SVD low-rank factorisation W ≈ U·V";
  let description = [{
    Factorises W [N, K] as U [N, r] · V [r, K] with U = left singular
    vectors scaled by the singular values. r is `rank` if set, else the
    smallest rank keeping `energy` of the squared singular values, else the
    smallest rank whose relative Frobenius error is at most `max-error`.
    Applied only where r·(N+K) < N·K (fewer bytes and FLOPs); other layers
    stay dense with a remark. `factor-bits` > 0 quantizes both factors
    (symmetric, per row) to that many bits.
  }];
  let options = !listconcat(commonOptions, [
    Option<"rank", "rank", "int64_t", "0", "fixed rank (0: use energy or max-error)">,
    Option<"energy", "energy", "double", "0", "kept fraction of squared singular values">,
    Option<"maxError", "max-error", "double", "0", "relative Frobenius error budget">,
    Option<"factorBits", "factor-bits", "unsigned", "0", "quantize factors to this many bits (0: f32)">
  ]);
}

def Gptq : KilnCompressionPass<"kiln-gptq"> {
  let summary = "GPTQ weight-only quantization calibrated on layer inputs";
  let description = [{
    Quantizes each selected weight column by column, spreading each column's
    rounding error over the not yet quantized columns through the inverse of
    the damped Hessian H = XᵀX of the layer's calibration inputs X (Frantar
    et al., 2022). The output has the same encoding as
    `kiln-quantize-weights` (si<bits> symmetric or ui<bits> with ui8 zero
    points; per channel or per group along K), so it decodes the same way.

    Calibration inputs come from running every function once per sample on
    `calib-samples` standard-normal argument sets drawn from `calib-seed`,
    through the reference evaluator (kiln.linear and same-shape elementwise
    arith ops); all layers see the uncompressed model's activations.
  }];
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
  let options = !listconcat(commonOptions, [
    Option<"bits", "bits", "unsigned", "4", "bits per code (2 to 8)">,
    Option<"groupSize", "group-size", "int64_t", "128", "group size along K (0: per channel)">,
    Option<"symmetric", "symmetric", "bool", "true", "symmetric (signed) or asymmetric codes">,
    Option<"damp", "damp", "double", "0.01", "damping, as a fraction of H's mean diagonal">,
    Option<"calib", "calib", "std::string", "\"\"",
           "calibration inputs: .npz, .npy, .pb or a folder of them (empty: synthetic)">,
    Option<"calibSamples", "calib-samples", "int64_t", "64", "synthetic calibration runs">,
    Option<"calibSeed", "calib-seed", "unsigned", "0", "seed of the synthetic calibration inputs">
  ]);
}

def Distill : KilnCompressionPass<"kiln-distill"> {
  let summary = "refit compressed layers to the uncompressed teacher's outputs";
  let description = [{
    Compile-time distillation: for each compressed `kiln.linear` weight, the
    free parameters are refit by least squares so that the layer's output on
    the teacher's calibration inputs X matches the teacher's (the
    uncompressed model in `teacher`, layers matched by name and order):
    the scales of linear / log2 / fp8 quantized weights (codes fixed), the
    surviving values of unstructured or N:M sparse weights, and the first
    factor U of a low-rank product with a dense U. A refit is kept only if
    it lowers the error; a remark per layer reports the relative output error
    before and after. Codebooks, block sparsity and quantized factors are
    left as they are (remark).
  }];
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
  let options = !listconcat(commonOptions, [
    Option<"teacher", "teacher", "std::string", "\"\"", "the uncompressed model (.mlir)">,
    Option<"calib", "calib", "std::string", "\"\"",
           "calibration inputs: .npz, .npy, .pb or a folder of them (empty: synthetic)">,
    Option<"calibSamples", "calib-samples", "int64_t", "64", "synthetic calibration runs">,
    Option<"calibSeed", "calib-seed", "unsigned", "0", "seed of the synthetic calibration inputs">
  ]);
}

def Awq : KilnCompressionPass<"kiln-awq"> {
  let summary = "activation-aware weight quantization (AWQ)";
  let description = [{
    Per layer, with a_k = mean |X[:, k]| over the calibration inputs, tries
    per-input-channel scales s = a^alpha (normalised so that
    max(s)·min(s) = 1) for alpha on a grid over [0, 1] and keeps the one whose
    round-to-nearest quantization of W·diag(s) gives the smallest output
    error ||X·Wᵀ - (X·diag(1/s))·Q(W·diag(s))ᵀ|| (alpha = 0 is plain RTN, so
    AWQ is never worse on the calibration data; Lin et al., 2023). The
    weight stores Q(W·diag(s)) like kiln-quantize-weights; the 1/s goes into
    the producing linear when the path to it allows (see
    docs/compression.md), else into an explicit arith.mulf of the input.
    Layers are processed last to first so that folds land in dense weights.
  }];
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
  let options = !listconcat(commonOptions, [
    Option<"bits", "bits", "unsigned", "4", "bits per code (2 to 8)">,
    Option<"groupSize", "group-size", "int64_t", "128", "group size along K (0: per channel)">,
    Option<"symmetric", "symmetric", "bool", "true", "symmetric (signed) or asymmetric codes">,
    Option<"gridPoints", "grid", "int64_t", "20",
           "alpha grid steps over [0, 1]; 0: plain round-to-nearest">,
    Option<"calib", "calib", "std::string", "\"\"",
           "calibration inputs: .npz, .npy, .pb or a folder of them (empty: synthetic)">,
    Option<"calibSamples", "calib-samples", "int64_t", "64", "synthetic calibration runs">,
    Option<"calibSeed", "calib-seed", "unsigned", "0", "seed of the synthetic calibration inputs">
  ]);
}

def SmoothQuant : KilnCompressionPass<"kiln-smoothquant"> {
  let summary = "W8A8: SmoothQuant scale migration, int8 weights and activations";
  let description = [{
    Migrates activation outliers into the weights (Xiao et al., 2023): with
    s_k = max|X[:, k]|^alpha / max|W[:, k]|^(1-alpha), the layer computes
    (X·diag(1/s))·(W·diag(s))ᵀ; 1/s goes into the producing linear when
    possible (as in kiln-awq), else into an explicit arith.mulf. W·diag(s) is
    stored as si8 codes with one scale per output channel. The smoothed
    input is quantized to int8 per tensor with a static scale a = clip / 127
    chosen on the calibration data (`act-clip`: minmax, percentile or mse),
    written as explicit ops before the linear:
    x_q = min(max(roundeven(x / a), -127), 127) * a, and recorded on the
    linear as `kiln.act_quant = {bits = 8, scale = a}` so an int8 GEMM
    lowering can match it; without such a lowering the ops compute the same
    values in float.
  }];
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect", "::mlir::math::MathDialect"];
  let options = !listconcat(commonOptions, [
    Option<"alpha", "alpha", "double", "0.5", "migration strength in [0, 1]">,
    Option<"migrate", "migrate", "bool", "true", "false: plain W8A8 without scale migration">,
    Option<"actClip", "act-clip", "std::string", "\"minmax\"",
           "activation range: minmax, percentile or mse">,
    Option<"percentile", "percentile", "double", "99.9", "percentile for act-clip=percentile">,
    Option<"calib", "calib", "std::string", "\"\"",
           "calibration inputs: .npz, .npy, .pb or a folder of them (empty: synthetic)">,
    Option<"calibSamples", "calib-samples", "int64_t", "64", "synthetic calibration runs">,
    Option<"calibSeed", "calib-seed", "unsigned", "0", "seed of the synthetic calibration inputs">
  ]);
}

def PruneAllocate : KilnCompressionPass<"kiln-prune-allocate"> {
  let summary = "unstructured pruning with per-layer densities from calibration sensitivity";
  let description = [{
    Chooses each selected layer's density from {1.0, 0.9, ..., 0.1} so that
    the selected layers together keep at most `density` of their weights,
    greedily giving up weights where magnitude pruning raises the layer's
    relative squared output error on the calibration inputs the least per
    weight removed; then prunes each layer (as kiln-prune-magnitude) to its
    density and reports it in a remark.
  }];
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect"];
  let options = !listconcat(commonOptions, [
    Option<"density", "density", "double", "0.5", "fraction of all selected weights kept">,
    Option<"calib", "calib", "std::string", "\"\"",
           "calibration inputs: .npz, .npy, .pb or a folder of them (empty: synthetic)">,
    Option<"calibSamples", "calib-samples", "int64_t", "64", "synthetic calibration runs">,
    Option<"calibSeed", "calib-seed", "unsigned", "0", "seed of the synthetic calibration inputs">
  ]);
}

def TuckerConv : KilnCompressionPass<"kiln-tucker-conv"> {
  let summary = "Tucker-2 factorisation of convolution filters (HOSVD)";
  let description = [{
    Rewrites each selected group-1 convolution (the importer's linalg.generic
    with a constant filter W [K, C, k...]) into a 1x1 convolution C -> r1, a
    convolution r1 -> r2 with the HOSVD core, and a 1x1 convolution r2 -> K.
    The ranks are `rank-in` / `rank-out`, or the smallest that keep `energy`
    of each unfolding's squared singular values. A layer whose factors would
    not have fewer parameters and fewer multiply-adds stays as it is, with a
    warning naming it. `layers` is matched against the convolution's name.
    With `factor-bits`, the three factors (the 1x1 mixes and the core, as
    [output channels, rest] matrices) are stored as symmetric per-row integer
    codes (kiln.weight + kiln.dequantize), as kiln-low-rank's factor-bits.
  }];
  let dependentDialects = ["::kiln::KilnDialect", "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
  let options = !listconcat(commonOptions, [
    Option<"rankIn", "rank-in", "int64_t", "0", "r1: channels after the first 1x1 convolution">,
    Option<"rankOut", "rank-out", "int64_t", "0", "r2: channels of the core convolution's output">,
    Option<"energy", "energy", "double", "0.0", "kept energy fraction of each unfolding (0, 1]">,
    Option<"factorBits", "factor-bits", "unsigned", "0", "quantize factors to this many bits (0: f32)">
  ]);
}

def CalibrationStats : Pass<"kiln-calibration-stats", "::mlir::ModuleOp"> {
  let summary = "write every layer's calibration statistics as JSON";
  let description = [{
    Runs the model on the calibration inputs (through Kiln's compiled host
    code where the tool attaches it, see docs/compression.md) and writes,
    per kiln.linear, what the calibrated passes consume: the rows of its
    input X, mean |X[:, k]| (AWQ), max |X[:, k]| (SmoothQuant) and the Gram
    matrix XᵀX (GPTQ, distillation). The IR is not changed.
  }];
  let options = [
    Option<"output", "output", "std::string", "\"-\"", "JSON file ('-': stdout)">,
    Option<"calib", "calib", "std::string", "\"\"",
           "calibration inputs: .npz, .npy or a folder of .npy / .pb (empty: synthetic)">,
    Option<"calibSamples", "calib-samples", "int64_t", "64", "synthetic calibration runs">,
    Option<"calibSeed", "calib-seed", "unsigned", "0", "seed of the synthetic calibration inputs">
  ];
}

#endif // KILN_LOWERING_COMPRESSIONPASSES_TD

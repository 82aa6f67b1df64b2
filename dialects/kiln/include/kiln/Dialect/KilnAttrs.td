//===- KilnAttrs.td - encodings of compressed weights ------*- tablegen -*-===//
#ifndef KILN_ATTRS_TD
#define KILN_ATTRS_TD

include "kiln/Dialect/KilnBase.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Kiln_QuantScheme : I32EnumAttr<"QuantScheme", "how stored codes map to values", [
    I32EnumAttrCase<"Linear", 0, "linear">,     // v = scale * (q - zp)
    I32EnumAttrCase<"Log2", 1, "log2">,         // v = sign(q) * scale * 2^-(|q|-1), q = 0 -> 0
    I32EnumAttrCase<"Codebook", 2, "codebook">  // v = codebook[q] (vector of `vector_size`)
  ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}

def Kiln_QuantGranularity : I32EnumAttr<"QuantGranularity", "what one scale covers", [
    I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
    I32EnumAttrCase<"PerChannel", 1, "per_channel">,
    I32EnumAttrCase<"PerGroup", 2, "per_group">
  ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}

def Kiln_SparsityKind : I32EnumAttr<"SparsityKind", "sparsity pattern", [
    I32EnumAttrCase<"NM", 0, "n_m">,
    I32EnumAttrCase<"Unstructured", 1, "unstructured">,
    I32EnumAttrCase<"Block", 2, "block">
  ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}

def Kiln_FactorLayout : I32EnumAttr<"FactorLayout", "how low-rank factors are stored", [
    // W[N,K] = U[N,r] * V[r,K]
    I32EnumAttrCase<"UV", 0, "uv">,
    // W[N,K] = transpose(Ut[r,N]) * V[r,K]; both factors reduce along r rows,
    // which suits kernels that stream both factors row by row.
    I32EnumAttrCase<"UtV", 1, "ut_v">
  ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Encodings
//===----------------------------------------------------------------------===//

// Kiln keeps its own quantization encoding rather than upstream
// `!quant.uniform` element types because (1) upstream types carry every scale
// inline in the type, which for per-group weights of a multi-GB model would
// make types megabytes long, while kiln keeps scales in resource blobs on the
// weight op; (2) upstream has no log2, codebook, fp8-storage or sub-byte
// packing semantics. `toUpstreamQuantType` (UpstreamQuant.h) converts the linear
// cases that upstream can express, given the scale values.
def Kiln_QuantEncodingAttr : Kiln_Attr<"QuantEncoding", "quant"> {
  let summary = "quantization of a weight";
  let description = [{
    `storage` is the type of one stored code: `si2`..`si8` / `ui2`..`ui8`
    integers (packed little-endian, low bits first, with no padding between
    codes), or `f8E4M3FN` / `f8E5M2`. For `codebook`, the code is an unsigned
    index into a codebook of 2^bits entries of `vector_size` elements.

    `granularity` says what one scale covers. `per_channel`: one scale per
    index of dimension `axis`. `per_group`: dimension `axis` is cut into
    groups of `group_size` consecutive elements; the scales have the weight's
    shape with dimension `axis` divided by `group_size` (ONNX blocked
    quantization).

    Asymmetric encodings have a zero point of `zero_point_type` per scale.
  }];
  let parameters = (ins
    "::mlir::Type":$storage,
    DefaultValuedParameter<"::kiln::QuantScheme", "::kiln::QuantScheme::Linear">:$scheme,
    DefaultValuedParameter<"::kiln::QuantGranularity", "::kiln::QuantGranularity::PerTensor">:$granularity,
    DefaultValuedParameter<"int64_t", "0">:$axis,
    DefaultValuedParameter<"int64_t", "0">:$group_size,
    DefaultValuedParameter<"bool", "true">:$symmetric,
    DefaultValuedParameter<"::mlir::Type", "::mlir::Float32Type::get($_ctxt)">:$scale_type,
    OptionalParameter<"::mlir::Type">:$zero_point_type,
    DefaultValuedParameter<"int64_t", "1">:$vector_size
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Bits of one stored code (2..8).
    unsigned getBits() const;
    bool isFloatStorage() const;
    bool isSignedStorage() const;
    /// Shape of the scale (and zero-point) tensor for a weight of `shape`.
    ::llvm::SmallVector<int64_t> getScaleShape(::llvm::ArrayRef<int64_t> shape) const;
    /// Number of codebook entries (codebook scheme only).
    int64_t getCodebookEntries() const { return int64_t(1) << getBits(); }
    /// Check this encoding against a weight shape; explains in `why`.
    ::mlir::LogicalResult checkShape(::llvm::ArrayRef<int64_t> shape,
                                     std::string &why) const;
  }];
}

// A list of dimensions written in brackets: `[2, 2]`.
def Kiln_BracketedDims : OptionalArrayRefParameter<"int64_t"> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::llvm::SmallVector<int64_t>> {
    ::llvm::SmallVector<int64_t> dims;
    if ($_parser.parseCommaSeparatedList(::mlir::AsmParser::Delimiter::Square,
            [&]() { return $_parser.parseInteger(dims.emplace_back()); }))
      return ::mlir::failure();
    return dims;
  }() }];
  let printer = [{
    $_printer << '[';
    ::llvm::interleaveComma($_self, $_printer);
    $_printer << ']';
  }];
}

def Kiln_SparsityEncodingAttr : Kiln_Attr<"SparsityEncoding", "sparsity"> {
  let summary = "sparsity of a weight";
  let description = [{
    `n_m`: in every run of `m` consecutive elements of the last dimension at
    most `n` are non-zero; the payload holds exactly `n` values per run and
    the metadata holds, for each kept value, its index in the run
    (ceil(log2(m)) bits, packed like integer codes).
    `unstructured`: a bitmask (one bit per element, row-major, low bit
    first) says which elements are stored; `density` is the fraction kept.
    `block`: a bitmask with one bit per block of `block_shape`; kept blocks
    are stored whole, in row-major block order.
  }];
  let parameters = (ins
    "::kiln::SparsityKind":$kind,
    DefaultValuedParameter<"int64_t", "0">:$n,
    DefaultValuedParameter<"int64_t", "0">:$m,
    OptionalParameter<"::mlir::FloatAttr">:$density,
    Kiln_BracketedDims:$block_shape
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    ::mlir::LogicalResult checkShape(::llvm::ArrayRef<int64_t> shape,
                                     std::string &why) const;
    /// Bits of one n:m index in the metadata.
    unsigned getIndexBits() const;
  }];
}

def Kiln_LowRankEncodingAttr : Kiln_Attr<"LowRankEncoding", "low_rank"> {
  let summary = "a weight stored as the product of two factors";
  let parameters = (ins
    "int64_t":$rank,
    DefaultValuedParameter<"::kiln::FactorLayout", "::kiln::FactorLayout::UV">:$layout
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Shapes of the two factors for a weight of shape [N, K].
    ::llvm::SmallVector<int64_t, 2> getFirstFactorShape(::llvm::ArrayRef<int64_t> shape) const;
    ::llvm::SmallVector<int64_t, 2> getSecondFactorShape(::llvm::ArrayRef<int64_t> shape) const;
  }];
}

#endif // KILN_ATTRS_TD

//===- KilnTypes.td - the compressed tensor type -----------*- tablegen -*-===//
#ifndef KILN_TYPES_TD
#define KILN_TYPES_TD

include "kiln/Dialect/KilnAttrs.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def Kiln_CompressedType : Kiln_Type<"Compressed", "compressed",
                                    [ShapedTypeInterface]> {
  let summary = "a weight tensor held in compressed form";
  let description = [{
    The logical value is a tensor of `shape` and `elementType` (the type
    the weight decompresses to); the encodings say how it is stored.
    Encodings compose: quantized values of a sparse tensor (`quant` +
    `sparsity`), or a low-rank product whose factors are themselves
    compressed (`low_rank`, see `kiln.low_rank`).

    ```mlir
    !kiln.compressed<4096x4096xf16, quant = #kiln.quant<storage = si4,
        granularity = per_group, axis = 1, group_size = 128>>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t">:$shape,
    "::mlir::Type":$elementType,
    OptionalParameter<"::kiln::QuantEncodingAttr">:$quant,
    OptionalParameter<"::kiln::SparsityEncodingAttr">:$sparsity,
    OptionalParameter<"::kiln::LowRankEncodingAttr">:$lowRank
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    using ::mlir::ShapedType::Trait<CompressedType>::clone;
    bool hasRank() const { return true; }
    CompressedType cloneWith(std::optional<::llvm::ArrayRef<int64_t>> shape,
                             ::mlir::Type elementType) const;
    /// The dense tensor this weight decompresses to.
    ::mlir::RankedTensorType getDecompressedType() const;
    /// Number of logical elements, or failure on overflow.
    ::mlir::FailureOr<int64_t> getNumLogicalElements() const;
  }];
}

#endif // KILN_TYPES_TD

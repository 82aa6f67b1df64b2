//===- KilnOps.td - kiln operations ------------------------*- tablegen -*-===//
#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "kiln/Dialect/KilnTypes.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

def Kiln_WeightOrTensor : AnyTypeOf<[AnyRankedTensor, Kiln_CompressedType],
                                    "ranked tensor or !kiln.compressed">;

def Kiln_WeightOp : Kiln_Op<"weight", [Pure]> {
  let summary = "a compressed constant weight";
  let description = [{
    The stored form of a compressed weight. `payload` holds the packed codes
    as bytes (`i8` elements); `scales`, `zero_points`, `codebook` and
    `sparsity_meta` appear exactly when the result type's encodings need
    them. Large arrays live in `dense_resource` blobs, so the IR of a
    multi-GB model prints small.

    ```mlir
    %w = kiln.weight payload(dense_resource<w0> : tensor<32xi8>)
           scales(dense_resource<s0> : tensor<8x1xf32>)
           : !kiln.compressed<8x8xf32, quant = #kiln.quant<storage = si4,
               granularity = per_group, axis = 1, group_size = 8>>
    ```
  }];
  let arguments = (ins ElementsAttr:$payload,
                       OptionalAttr<ElementsAttr>:$scales,
                       OptionalAttr<ElementsAttr>:$zero_points,
                       OptionalAttr<ElementsAttr>:$codebook,
                       OptionalAttr<ElementsAttr>:$sparsity_meta);
  let results = (outs Kiln_CompressedType:$result);
  let assemblyFormat = [{
    `payload` `(` $payload `)`
    (`scales` `(` $scales^ `)`)?
    (`zero_points` `(` $zero_points^ `)`)?
    (`codebook` `(` $codebook^ `)`)?
    (`sparsity_meta` `(` $sparsity_meta^ `)`)?
    attr-dict `:` qualified(type($result))
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    CompressedType getType() { return ::llvm::cast<CompressedType>(getResult().getType()); }
  }];
}

def Kiln_LowRankOp : Kiln_Op<"low_rank", [Pure]> {
  let summary = "a weight formed as the product of two factors";
  let description = [{
    Combines two factors (dense tensors or compressed weights, so int4
    factors compose with low rank) into one weight whose type carries a
    `#kiln.low_rank` encoding. With layout `uv`, `first` is U[N, r] and
    `second` is V[r, K]; with `ut_v`, `first` is Uᵀ[r, N].
  }];
  let arguments = (ins Kiln_WeightOrTensor:$first, Kiln_WeightOrTensor:$second);
  let results = (outs Kiln_CompressedType:$result);
  let assemblyFormat = [{
    $first `,` $second attr-dict `:` qualified(type($first)) `,` qualified(type($second)) `->` qualified(type($result))
  }];
  let hasVerifier = 1;
}

def Kiln_DequantizeOp : Kiln_Op<"dequantize", [Pure]> {
  let summary = "decompress a weight into a dense tensor";
  let description = [{
    The reference semantics of every encoding: the result is the dense
    tensor that the weight stands for. Kernels fold this op into their load
    path; the `kiln-expand-compressed-weights` pass evaluates it on
    constants.
  }];
  let arguments = (ins Kiln_CompressedType:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` type($result)";
  let hasVerifier = 1;
}

def Kiln_LinearOp : Kiln_Op<"linear", [Pure]> {
  let summary = "y = x · Wᵀ + bias, with W of any encoding";
  let description = [{
    `input` has shape [..., K]; `weight` has shape [N, K] (output channels
    first, as in a PyTorch Linear and in per-channel quantization), dense or
    compressed; the optional `bias` has shape [N]; the result is [..., N].
  }];
  let arguments = (ins AnyRankedTensor:$input, Kiln_WeightOrTensor:$weight,
                       Optional<AnyRankedTensor>:$bias);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kiln_FusedOp : Kiln_Op<"fused", [IsolatedFromAbove,
    SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "one contraction with its prologue and epilogue, one kernel";
  let description = [{
    A region that code generation turns into a single kernel: exactly one
    contraction (`kiln.linear`, a linalg contraction or convolution) and
    elementwise ops before it (prologue, such as a dequantize or an input
    cast) and after it (epilogue, such as bias, activation, residual add and
    output cast). Block arguments are the `inputs`.
  }];
  let arguments = (ins Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    (`ins` `(` $inputs^ `:` type($inputs) `)`)? attr-dict-with-keyword
    (`->` type($results)^)? $body
  }];
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The single contraction in the body.
    ::mlir::Operation *getContraction();
  }];
}

def Kiln_YieldOp : Kiln_Op<"yield", [Pure, Terminator, ReturnLike,
                                     HasParent<"FusedOp">]> {
  let summary = "returns the results of a kiln.fused region";
  let arguments = (ins Variadic<AnyType>:$values);
  let builders = [OpBuilder<(ins), [{ /* nothing to yield */ }]>];
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // KILN_OPS_TD

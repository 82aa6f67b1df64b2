//===- KilnBase.td - the kiln dialect ----------------------*- tablegen -*-===//
#ifndef KILN_BASE_TD
#define KILN_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let cppNamespace = "::kiln";
  let summary = "Compressed models as first-class IR";
  let description = [{
    The kiln dialect describes compressed weights (quantized, sparse,
    low-rank, and compositions of these) as values of the
    `!kiln.compressed` type, the ops that consume them, and fused regions
    that code generation turns into single kernels.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::quant::QuantDialect",
                           "::mlir::tensor::TensorDialect"];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let extraClassDeclaration = [{
    // Defined next to the storage classes they need.
    void registerAttributes();
    void registerTypes();
  }];
}

class Kiln_Attr<string name, string mnemonicName, list<Trait> traits = []>
    : AttrDef<Kiln_Dialect, name, traits> {
  let mnemonic = mnemonicName;
}

class Kiln_Type<string name, string mnemonicName, list<Trait> traits = []>
    : TypeDef<Kiln_Dialect, name, traits> {
  let mnemonic = mnemonicName;
}

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

#endif // KILN_BASE_TD

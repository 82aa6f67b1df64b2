//===- LayerName.h - the name passes use for a layer ---------------------===//
#ifndef KILN_LOWERING_LAYERNAME_H
#define KILN_LOWERING_LAYERNAME_H

#include "mlir/IR/Operation.h"

#include <string>

namespace kiln {

/// The ONNX node name of a layer ("<node> (<OpType>)", from its NameLoc), for
/// diagnostics, recipes and blob names; "unnamed <op>" when it has none.
std::string layerName(mlir::Operation *op);

} // namespace kiln

#endif // KILN_LOWERING_LAYERNAME_H

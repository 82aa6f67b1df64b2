//===- LayerName.cpp - the name passes use for a layer -------------------===//
#include "kiln/Lowering/LayerName.h"

#include "mlir/IR/Location.h"

using namespace mlir;

namespace kiln {

std::string layerName(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
    loc = fused.getLocations()[0];
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  return "unnamed " + op->getName().getStringRef().str();
}

} // namespace kiln

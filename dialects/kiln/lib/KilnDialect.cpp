//===- KilnDialect.cpp - the kiln dialect --------------------------------===//
#include "kiln/Dialect/KilnDialect.h"

using namespace mlir;
using namespace kiln;

#include "kiln/Dialect/KilnDialect.cpp.inc"

void KilnDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "kiln/Dialect/KilnOps.cpp.inc"
      >();
}

// RUN: not kiln-opt %s --kiln-quantize-weights="bits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not kiln-opt %s --kiln-quantize-weights="granularity=row" 2>&1 | FileCheck %s --check-prefix=GRAN
// BITS: kiln-quantize-weights: bits must be 2 to 8, got 9
// GRAN: kiln-quantize-weights: granularity must be 'channel' or 'group', got 'row'
func.func @f() {
  return
}

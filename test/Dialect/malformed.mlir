// RUN: not kiln-opt %s 2>&1 | FileCheck %s
// Malformed IR is a diagnostic and a non-zero exit, never a crash.
// CHECK: malformed.mlir:[[@LINE+1]]:{{[0-9]+}}: error: unbalanced '<' character in pretty dialect name
func.func private @f() -> !kiln.compressed<4x8xf32, quant = #kiln.quant<storage = si4>
func.func private @g()

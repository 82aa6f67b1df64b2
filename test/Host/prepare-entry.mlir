// RUN: kiln-opt %s --kiln-host-prepare-entry --split-input-file --verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @kiln_model_entry
// CHECK-SAME: %arg0: tensor<?x4xf32> {bufferization.writable = false, kiln.name = "x"}
// CHECK-SAME: %arg1: tensor<4xi64> {bufferization.writable = false}
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK-NOT: @main
func.func @main(%x: tensor<?x4xf32> {kiln.name = "x"}, %i: tensor<4xi64>) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}

// -----

// expected-error @+1 {{the host target needs a public func.func @main with a body}}
module {
  func.func private @main(%x: tensor<4xf32>) -> tensor<4xf32>
}

// -----

// expected-error @+1 {{input 0 has type 'memref<4xf32>'; the host C API takes ranked tensors only}}
func.func @main(%x: memref<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  return %e : tensor<4xf32>
}

// -----

// expected-error @+1 {{input 0 has element type 'complex<f32>', which the host C API cannot pass}}
func.func @main(%x: tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>> {
  return %x : tensor<4xcomplex<f32>>
}

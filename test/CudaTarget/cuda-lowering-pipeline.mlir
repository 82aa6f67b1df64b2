// RUN: kiln-opt %S/Inputs/linear-relu.mlir --kiln-cuda-lowering | FileCheck %s

// kiln.linear + ReLU through the whole CUDA lowering: caller-owned output
// (no allocation left for it), weights as globals, one kernel per linalg op
// (bias broadcast, contraction with the reduction loop in the thread, ReLU),
// all in one gpu.module, launched with constant sizes.
// CHECK: module attributes {gpu.container_module}
// CHECK-DAG: memref.global "private" constant @[[W:.*]] : memref<3x4xf32>
// CHECK-DAG: memref.global "private" constant @[[B:.*]] : memref<3xf32>
// CHECK: func.func @kiln_model_entry(%[[X:.*]]: memref<2x4xf32> {{.*}}, %[[Y:.*]]: memref<2x3xf32>
// CHECK-NOT: memref.alloc
// CHECK-DAG: %[[WV:.*]] = memref.get_global @[[W]]
// CHECK-DAG: %[[BV:.*]] = memref.get_global @[[B]]
// CHECK: gpu.launch_func @[[MOD:kiln_model_entry_kernel]]::@[[K0:.*]] blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args({{.*}}%[[BV]] : memref<3xf32>, %[[Y]] : memref<2x3xf32>)
// CHECK: gpu.launch_func @[[MOD]]::@[[K1:.*]] blocks in {{.*}} args({{.*}}%[[X]] : memref<2x4xf32>, %[[WV]] : memref<3x4xf32>, %[[Y]] : memref<2x3xf32>
// CHECK: gpu.launch_func @[[MOD]]::@[[K2:.*]] blocks in {{.*}} args({{.*}}%[[Y]] : memref<2x3xf32>
// CHECK-NEXT: return
// CHECK: gpu.module @[[MOD]]
// CHECK: gpu.func @[[K0]](
// CHECK: gpu.func @[[K1]](
// CHECK:   scf.if
// CHECK:     scf.for
// CHECK:       arith.mulf
// CHECK:       arith.addf
// CHECK: gpu.func @[[K2]](
// CHECK:   arith.maximumf
// CHECK-NOT: gpu.module

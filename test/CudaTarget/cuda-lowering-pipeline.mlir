// RUN: kiln-opt %S/Inputs/linear-relu.mlir --kiln-cuda-lowering=library-kernels=false | FileCheck %s
// RUN: kiln-opt %S/Inputs/linear-relu.mlir --kiln-cuda-lowering | FileCheck %s --check-prefix=LIB

// With the library kernels (the default), the f32 linear runs on the exact
// f32 GEMV and its bias and the ReLU form one epilogue kernel that writes the
// caller's y.
// LIB: func.func @kiln_model_entry(%{{.*}}: memref<2x4xf32> {{.*}}, %[[LY:.*]]: memref<2x3xf32>
// LIB: gpu.launch_func @kiln_model_entry_kernel::@sgemv_f32_m2_n3_k4_{{[a-z0-9]+}} blocks {{.*}} args(%{{.*}} : memref<2x1xvector<4xf32>>, %{{.*}} : memref<3x1xvector<4xf32>>, %[[P:.*]] : memref<2x3xf32>)
// LIB-NEXT: gpu.launch_func @kiln_model_entry_kernel::@[[EPI:.*]] blocks {{.*}} args({{.*}}%[[P]] : memref<2x3xf32>, %{{.*}} : memref<3xf32>, %{{.*}} : f32, %[[LY]] : memref<2x3xf32>)
// LIB-NEXT: return
// LIB: gpu.func @[[EPI]](
// LIB: arith.addf
// LIB-NEXT: arith.maximumf

// kiln.linear + ReLU through the whole CUDA lowering on the generic kernels: caller-owned output
// (no allocation left for it), weights as globals, and one kernel: the bias
// broadcast, the contraction (its reduction loop in the thread) and the ReLU
// epilogue all write y[i, j] from thread (i, j) only, so their loop nests
// fuse; launched with constant sizes from the single gpu.module.
// CHECK: module attributes {gpu.container_module}
// CHECK-DAG: memref.global "private" constant @[[W:.*]] : memref<3x4xf32>
// CHECK-DAG: memref.global "private" constant @[[B:.*]] : memref<3xf32>
// CHECK: func.func @kiln_model_entry(%[[X:.*]]: memref<2x4xf32> {{.*}}, %[[Y:.*]]: memref<2x3xf32>
// CHECK-NOT: memref.alloc
// CHECK-DAG: %[[WV:.*]] = memref.get_global @[[W]]
// CHECK-DAG: %[[BV:.*]] = memref.get_global @[[B]]
// CHECK: gpu.launch_func @[[MOD:kiln_model_entry_kernel]]::@[[K:.*]] blocks in (%c1, %c1, %c1) threads in (%c256, %c1, %c1) args({{.*}}%[[BV]] : memref<3xf32>, %[[Y]] : memref<2x3xf32>, %[[X]] : memref<2x4xf32>, %[[WV]] : memref<3x4xf32>
// CHECK-NEXT: return
// CHECK: gpu.module @[[MOD]]
// CHECK: gpu.func @[[K]](
// CHECK:   scf.if
// CHECK:     memref.load
// CHECK:     memref.store
// CHECK:     scf.for
// CHECK:       arith.mulf
// CHECK:       arith.addf
// CHECK:     arith.maximumf
// CHECK:     memref.store
// CHECK-NOT: gpu.func
// CHECK-NOT: gpu.module

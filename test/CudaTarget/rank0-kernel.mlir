// RUN: kiln-opt %S/Inputs/rank0.mlir --kiln-cuda-lowering | FileCheck %s

// A rank-0 linalg op leaves no host-side loads or stores: it becomes a
// single-thread kernel.
// CHECK: func.func @kiln_model_entry(%[[X:.*]]: memref<f32> {{.*}}, %[[Y:.*]]: memref<f32>
// CHECK-NOT: memref.load
// CHECK: gpu.launch_func @{{.*}}::@[[K:.*]] blocks in (%[[C1:.*]], %[[C1]], %[[C1]]) threads in (%[[C1]], %[[C1]], %[[C1]]) args({{.*}}%[[X]] : memref<f32>, %[[Y]] : memref<f32>)
// CHECK-NEXT: return
// CHECK: gpu.func @[[K]](
// CHECK:   memref.load
// CHECK:   arith.negf
// CHECK:   memref.store

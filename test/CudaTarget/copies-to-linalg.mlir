// RUN: kiln-opt %s --kiln-cuda-copies-to-linalg | FileCheck %s
// RUN: kiln-opt %s --kiln-cuda-copies-to-linalg --convert-linalg-to-parallel-loops \
// RUN:   --kiln-cuda-loops-to-launch | FileCheck %s --check-prefix=LAUNCH

// Bufferized pad and concat copy into strided views, which the runtime
// cannot do as one memcpy of whole buffers: every copy becomes a
// linalg.copy, so later passes make it a kernel that writes through the
// view (base pointer plus the offset and strides in its type).
// CHECK-LABEL: func.func @pad_interior
// CHECK: %[[VIEW:.*]] = memref.subview %[[Y:.*]][1, 1] [2, 3] [1, 1]
// CHECK: linalg.copy ins(%{{.*}} : memref<2x3xf32>) outs(%[[VIEW]] : memref<2x3xf32, strided<[5, 1], offset: 6>>)
// CHECK: linalg.copy ins(%{{.*}} : memref<4x5xf32>) outs(%{{.*}} : memref<4x5xf32>)
// CHECK-NOT: memref.copy
// LAUNCH-LABEL: func.func @pad_interior
// LAUNCH: gpu.launch
// LAUNCH:   %[[V:.*]] = memref.load %{{.*}} : memref<2x3xf32>
// LAUNCH:   memref.store %[[V]], %{{.*}} : memref<2x3xf32, strided<[5, 1], offset: 6>>
// LAUNCH: gpu.launch
// LAUNCH-NOT: memref.copy
func.func @pad_interior(%x: memref<2x3xf32>, %y: memref<4x5xf32>, %z: memref<4x5xf32>) {
  %view = memref.subview %y[1, 1] [2, 3] [1, 1]
      : memref<4x5xf32> to memref<2x3xf32, strided<[5, 1], offset: 6>>
  memref.copy %x, %view : memref<2x3xf32> to memref<2x3xf32, strided<[5, 1], offset: 6>>
  memref.copy %y, %z : memref<4x5xf32> to memref<4x5xf32>
  return
}

// Slices read through a view: the copy out of it becomes a kernel as well.
// CHECK-LABEL: func.func @slice_out
// CHECK: linalg.copy ins(%{{.*}} : memref<2x2xi1, strided<[4, 1], offset: 2>>) outs(%{{.*}} : memref<2x2xi1>)
func.func @slice_out(%x: memref<2x4xi1>, %y: memref<2x2xi1>) {
  %view = memref.subview %x[0, 2] [2, 2] [1, 1]
      : memref<2x4xi1> to memref<2x2xi1, strided<[4, 1], offset: 2>>
  memref.copy %view, %y : memref<2x2xi1, strided<[4, 1], offset: 2>> to memref<2x2xi1>
  return
}

// RUN: kiln-opt %s --kiln-cuda-loops-to-launch=block-size=128 | FileCheck %s

// A 2-D parallel nest with an inner reduction loop: one launch of 4*10
// threads in blocks of 128, the innermost dimension fastest, the reduction
// loop kept inside the thread.
// CHECK-LABEL: func.func @matvec
// CHECK: %[[C128:.*]] = arith.constant 128 : index
// CHECK-NEXT: %[[GRID:.*]] = arith.ceildivsi %[[TOTAL:.*]], %[[C128]]
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]]
// CHECK:   %[[BASE:.*]] = arith.muli %[[BX]], %[[C128]]
// CHECK:   %[[ID:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK:   %[[IN:.*]] = arith.cmpi slt, %[[ID]], %[[TOTAL]]
// CHECK:   scf.if %[[IN]]
// CHECK:     %[[J:.*]] = arith.remsi %[[ID]], %[[N:.*]] : index
// CHECK:     %[[I:.*]] = arith.divsi %[[ID]], %[[N]] : index
// CHECK:     %[[JS:.*]] = arith.muli %[[J]]
// CHECK:     %[[JV:.*]] = arith.addi %[[JS]]
// CHECK:     %[[IS:.*]] = arith.muli %[[I]]
// CHECK:     %[[IV:.*]] = arith.addi %[[IS]]
// CHECK:     scf.for
// CHECK:       memref.load %{{.*}}[%[[IV]], %{{.*}}]
// CHECK:       memref.load %{{.*}}[%[[JV]], %{{.*}}]
// CHECK:   gpu.terminator
// CHECK-NOT: scf.parallel
func.func @matvec(%x: memref<4x8xf32>, %w: memref<10x8xf32>, %y: memref<4x10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c10 = arith.constant 10 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c10) step (%c1, %c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %a = memref.load %x[%i, %k] : memref<4x8xf32>
      %b = memref.load %w[%j, %k] : memref<10x8xf32>
      %acc = memref.load %y[%i, %j] : memref<4x10xf32>
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %acc, %p : f32
      memref.store %s, %y[%i, %j] : memref<4x10xf32>
    }
    scf.reduce
  }
  return
}

// A loop nest without parallel dimensions runs in a single thread.
// CHECK-LABEL: func.func @sum
// CHECK: gpu.launch
// CHECK:   scf.for
// CHECK:   gpu.terminator
func.func @sum(%x: memref<8xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %k = %c0 to %c8 step %c1 {
    %a = memref.load %x[%k] : memref<8xf32>
    %acc = memref.load %out[] : memref<f32>
    %s = arith.addf %acc, %a : f32
    memref.store %s, %out[] : memref<f32>
  }
  return
}

// A rank-0 op (a top-level store) runs in one thread with the loads and
// scalar ops that compute the stored value; constants stay outside.
// CHECK-LABEL: func.func @scalar
// CHECK: %[[TWO:.*]] = arith.constant 2.0
// CHECK: gpu.launch
// CHECK:   %[[V:.*]] = memref.load %{{.*}}[] : memref<f32>
// CHECK:   %[[M:.*]] = arith.mulf %[[V]], %[[TWO]]
// CHECK:   memref.store %[[M]], %{{.*}}[] : memref<f32>
// CHECK:   gpu.terminator
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func @scalar(%x: memref<f32>, %y: memref<f32>) {
  %two = arith.constant 2.0 : f32
  %v = memref.load %x[] : memref<f32>
  %m = arith.mulf %v, %two : f32
  memref.store %m, %y[] : memref<f32>
  return
}

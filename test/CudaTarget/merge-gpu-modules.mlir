// RUN: kiln-opt %s --kiln-cuda-merge-gpu-modules | FileCheck %s

// Outlining names kernels after their function in separate modules; merged,
// the second kernel is renamed and its launch follows it.
// CHECK: func.func @entry
// CHECK: gpu.launch_func @entry_kernel::@entry_kernel blocks
// CHECK: gpu.launch_func @entry_kernel::@[[SECOND:entry_kernel_[0-9]+]] blocks
// CHECK: gpu.module @entry_kernel
// CHECK:   gpu.func @entry_kernel(
// CHECK:   gpu.func @[[SECOND]](
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @entry(%x: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @entry_kernel::@entry_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    gpu.launch_func @entry_kernel_0::@entry_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<4xf32>)
    return
  }
  gpu.module @entry_kernel {
    gpu.func @entry_kernel(%x: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @entry_kernel_0 {
    gpu.func @entry_kernel(%x: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      %v = memref.load %x[%c0] : memref<4xf32>
      memref.store %v, %x[%c0] : memref<4xf32>
      gpu.return
    }
  }
}

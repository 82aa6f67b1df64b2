// RUN: kiln-opt %s --convert-linalg-to-parallel-loops --cse --kiln-cuda-fuse-loop-nests \
// RUN:   --kiln-cuda-cooperative-rows --cse | FileCheck %s
// RUN: kiln-opt %s --convert-linalg-to-parallel-loops --cse --kiln-cuda-fuse-loop-nests \
// RUN:   --kiln-cuda-cooperative-rows="report=true" --mlir-print-op-on-diagnostic=false \
// RUN:   -o /dev/null 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: not kiln-opt %s --kiln-cuda-cooperative-rows="rows-per-block=33" -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=OPTION
// OPTION: rows-per-block must be in [1, 32]

#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#col = affine_map<(i, j) -> (j)>
#id3 = affine_map<(b, s, j) -> (b, s, j)>
#row3 = affine_map<(b, s, j) -> (b, s)>
#col3 = affine_map<(b, s, j) -> (j)>

// Softmax over 2048 rows of 64: a warp per row, 8 rows per block. The row max
// starts each lane at maximumf's identity (-inf), walks lane, lane + 32, ...,
// is reduced across the warp by five xor shuffles, and is combined once with
// the value the max buffer held before (the fill, in the same nest); a warp
// barrier separates each store from the other lanes' reads of that buffer.
// REPORT: remark: kiln-cuda-cooperative-rows: 1 of 1 nests with loops in their threads run a warp per row
// CHECK-LABEL: func.func @softmax
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[LOWEST:.*]] = arith.constant 0xFF800000 : f32
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}}) threads(%[[LANE:.*]], %[[WARP:[^,]*]], %{{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %[[C8]],
// CHECK:   %[[ROW0:.*]] = arith.muli %{{.*}}, %[[C8]]
// CHECK:   %[[ROW:.*]] = arith.addi %[[ROW0]], %[[WARP]]
// CHECK:   scf.if
// CHECK:     memref.store %{{.*}}, %[[MAX:.*]][%[[R:.*]]] : memref<2048xf32>
// CHECK:     nvvm.bar.warp.sync
// CHECK:     %[[OLD:.*]] = memref.load %[[MAX]][%[[R]]]
// CHECK:     %[[PART:.*]] = scf.for %[[K:.*]] = %[[LANE]] to %[[C64]] step %[[C32]] iter_args(%[[P:.*]] = %[[LOWEST]]) -> (f32) {
// CHECK:       %[[X:.*]] = memref.load %{{.*}}[%[[R]], %[[K]]]
// CHECK:       %[[M:.*]] = arith.maximumf %[[X]], %[[P]] : f32
// CHECK:       scf.yield %[[M]]
// CHECK:     %[[S16:.*]], %{{.*}} = gpu.shuffle xor %[[PART]], %{{.*}}, %{{.*}} : f32
// CHECK:     %[[M16:.*]] = arith.maximumf %[[S16]], %[[PART]]
// CHECK-COUNT-4: gpu.shuffle xor
// CHECK:     %[[TOTAL:.*]] = arith.maximumf
// CHECK:     %[[NEW:.*]] = arith.maximumf %{{.*}}, %[[OLD]]
// CHECK:     nvvm.bar.warp.sync
// CHECK:     memref.store %[[NEW]], %[[MAX]][%[[R]]]
// The row sum of exp: addf, from -0.0 (the exact identity of addf).
// CHECK:     memref.store
// CHECK:     nvvm.bar.warp.sync
// CHECK:     arith.constant -0.000000e+00 : f32
// CHECK:     scf.for %{{.*}} = %[[LANE]] to %[[C64]] step %{{.*}} iter_args
// CHECK:       math.exp
// CHECK:       arith.addf
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK:     nvvm.bar.warp.sync
// CHECK:     memref.store
// The normalization: an elementwise loop, lane-strided, after a barrier.
// CHECK:     nvvm.bar.warp.sync
// CHECK:     scf.for %[[J:.*]] = %[[LANE]] to %[[C64]] step %{{.*}} {
// CHECK:       arith.divf
// CHECK:       memref.store %{{.*}}, %{{.*}}[%[[R]], %[[J]]]
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @softmax(%x: memref<2048x64xf32>, %y: memref<2048x64xf32>) {
  %lowest = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %max = memref.alloc() : memref<2048xf32>
  %sum = memref.alloc() : memref<2048xf32>
  linalg.fill ins(%lowest : f32) outs(%max : memref<2048xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2048x64xf32>) outs(%max : memref<2048xf32>) {
  ^bb0(%a: f32, %m: f32):
    %n = arith.maximumf %a, %m : f32
    linalg.yield %n : f32
  }
  linalg.fill ins(%zero : f32) outs(%sum : memref<2048xf32>)
  linalg.generic {indexing_maps = [#id, #row, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x, %max : memref<2048x64xf32>, memref<2048xf32>) outs(%sum : memref<2048xf32>) {
  ^bb0(%a: f32, %m: f32, %s: f32):
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    %t = arith.addf %s, %e : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %max, %sum : memref<2048x64xf32>, memref<2048xf32>, memref<2048xf32>) outs(%y : memref<2048x64xf32>) {
  ^bb0(%a: f32, %m: f32, %s: f32, %o: f32):
    %d = arith.subf %a, %m : f32
    %e = math.exp %d : f32
    %q = arith.divf %e, %s : f32
    linalg.yield %q : f32
  }
  return
}

// LayerNorm over [2, 3, 128] (rows indexed by two induction variables,
// recovered from the row id innermost first): mean and variance are two
// addf reductions, the normalization with gamma (shared by all rows) an
// elementwise loop. 6 rows (fewer than 128 blocks of 8): a warp per block.
// REPORT: remark: kiln-cuda-cooperative-rows: 1 of 1 nests
// CHECK-LABEL: func.func @layernorm
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: gpu.launch {{.*}} threads(%[[LANE:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %[[C1]],
// CHECK:   scf.if
// CHECK:     affine.delinearize_index %{{.*}} into (%{{.*}}, %{{.*}}) : index, index
// CHECK:     scf.for %[[K:.*]] = %[[LANE]] to {{.*}} iter_args
// CHECK:       memref.load %{{.*}}[%{{.*}}, %{{.*}}, %[[K]]] : memref<2x3x128xf32>
// CHECK:       arith.addf
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK:     scf.for {{.*}} iter_args
// CHECK:       arith.mulf
// CHECK:       arith.addf
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK:     scf.for %[[J:.*]] = %[[LANE]] to
// CHECK:       memref.load %{{.*}}[%[[J]]] : memref<128xf32>
// CHECK:       math.rsqrt
// CHECK:       memref.store
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @layernorm(%x: memref<2x3x128xf32>, %g: memref<128xf32>, %y: memref<2x3x128xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 128.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %sum = memref.alloc() : memref<2x3xf32>
  %var = memref.alloc() : memref<2x3xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<2x3xf32>)
  linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<2x3x128xf32>) outs(%sum : memref<2x3xf32>) {
  ^bb0(%a: f32, %s: f32):
    %t = arith.addf %a, %s : f32
    linalg.yield %t : f32
  }
  linalg.fill ins(%zero : f32) outs(%var : memref<2x3xf32>)
  linalg.generic {indexing_maps = [#id3, #row3, #row3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %sum : memref<2x3x128xf32>, memref<2x3xf32>) outs(%var : memref<2x3xf32>) {
  ^bb0(%a: f32, %s: f32, %v: f32):
    %m = arith.divf %s, %n : f32
    %d = arith.subf %a, %m : f32
    %q = arith.mulf %d, %d : f32
    %t = arith.addf %v, %q : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id3, #row3, #row3, #col3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %sum, %var, %g : memref<2x3x128xf32>, memref<2x3xf32>, memref<2x3xf32>, memref<128xf32>) outs(%y : memref<2x3x128xf32>) {
  ^bb0(%a: f32, %s: f32, %v: f32, %gg: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %d = arith.subf %a, %m : f32
    %vv = arith.divf %v, %n : f32
    %ve = arith.addf %vv, %eps : f32
    %r = math.rsqrt %ve : f32
    %z = arith.mulf %d, %r : f32
    %w = arith.mulf %z, %gg : f32
    linalg.yield %w : f32
  }
  return
}

// RMSNorm of one token (a decode step): one row, so one warp instead of one
// thread. The accumulator was filled by an
// earlier kernel: its value is loaded before the loop and combined once.
// REPORT: remark: kiln-cuda-cooperative-rows: 1 of 1 nests
// CHECK-LABEL: func.func @rmsnorm_decode
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]])
// CHECK:   %[[OLD:.*]] = memref.load %[[SS:.*]][%{{.*}}, %{{.*}}] : memref<1x1xf32>
// CHECK:   scf.for {{.*}} iter_args
// CHECK:     arith.mulf
// CHECK:     arith.addf
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK:   %[[NEW:.*]] = arith.addf %[[OLD]], %{{.*}} : f32
// CHECK:   nvvm.bar.warp.sync
// CHECK:   memref.store %[[NEW]], %[[SS]]
// CHECK:   nvvm.bar.warp.sync
// CHECK:   scf.for
// CHECK:     math.rsqrt
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @rmsnorm_decode(%x: memref<1x1x256xf32>, %w: memref<256xf32>, %ss: memref<1x1xf32>,
                          %y: memref<1x1x256xf32>) {
  %n = arith.constant 256.0 : f32
  %eps = arith.constant 1.0e-6 : f32
  linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<1x1x256xf32>) outs(%ss : memref<1x1xf32>) {
  ^bb0(%a: f32, %s: f32):
    %q = arith.mulf %a, %a : f32
    %t = arith.addf %s, %q : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id3, #row3, #col3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %ss, %w : memref<1x1x256xf32>, memref<1x1xf32>, memref<256xf32>) outs(%y : memref<1x1x256xf32>) {
  ^bb0(%a: f32, %s: f32, %ww: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    %e = arith.addf %m, %eps : f32
    %r = math.rsqrt %e : f32
    %z = arith.mulf %a, %r : f32
    %v = arith.mulf %z, %ww : f32
    linalg.yield %v : f32
  }
  return
}

// A contraction keeps a thread per output: its k loop reads x[i, k] (shared
// by every j) and w[k, j] (shared by every i), never a row of its own.
// REPORT: remark: kiln-cuda-cooperative-rows: 0 of 1 nests
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: gpu.launch
// CHECK: scf.parallel
// CHECK:   scf.for
// CHECK:     arith.mulf
// CHECK: return
func.func @matmul(%x: memref<8x64xf32>, %w: memref<64x64xf32>, %y: memref<8x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<8x64xf32>)
  linalg.matmul ins(%x, %w : memref<8x64xf32>, memref<64x64xf32>) outs(%y : memref<8x64xf32>)
  return
}

// A combiner that is not associative (subf) keeps a thread per row.
// REPORT: remark: kiln-cuda-cooperative-rows: 0 of 1 nests
// CHECK-LABEL: func.func @subf_combiner
// CHECK-NOT: gpu.launch
// CHECK: scf.parallel
// CHECK:   arith.subf
// CHECK: return
func.func @subf_combiner(%x: memref<4x64xf32>, %s: memref<4xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %d = arith.subf %acc, %a : f32
    linalg.yield %d : f32
  }
  return
}

// Integer and f64 reductions keep a thread per row (f32 combiners only).
// REPORT: remark: kiln-cuda-cooperative-rows: 0 of 1 nests
// REPORT: remark: kiln-cuda-cooperative-rows: 0 of 1 nests
// CHECK-LABEL: func.func @integer_sum
// CHECK-NOT: gpu.launch
// CHECK: scf.parallel
// CHECK:   arith.addi
// CHECK: return
func.func @integer_sum(%i: memref<4x64xi32>, %t: memref<4xi32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%i : memref<4x64xi32>) outs(%t : memref<4xi32>) {
  ^bb0(%a: i32, %acc: i32):
    %d = arith.addi %acc, %a : i32
    linalg.yield %d : i32
  }
  return
}
// CHECK-LABEL: func.func @f64_max
// CHECK-NOT: gpu.launch
// CHECK: scf.parallel
// CHECK:   arith.maximumf
// CHECK: return
func.func @f64_max(%i: memref<4x64xf64>, %t: memref<4xf64>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%i : memref<4x64xf64>) outs(%t : memref<4xf64>) {
  ^bb0(%a: f64, %acc: f64):
    %d = arith.maximumf %acc, %a : f64
    linalg.yield %d : f64
  }
  return
}

// Rows shorter than a warp keep a thread each (most lanes would idle).
// REPORT: remark: kiln-cuda-cooperative-rows: 0 of 1 nests
// CHECK-LABEL: func.func @short_rows
// CHECK-NOT: gpu.launch
// CHECK: scf.parallel
// CHECK: return
func.func @short_rows(%x: memref<64x16xf32>, %s: memref<64xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<64x16xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %d = arith.addf %acc, %a : f32
    linalg.yield %d : f32
  }
  return
}

// One loop both storing exp(x) and summing it: the stored element belongs
// to its iteration (so to one lane), the sum is an accumulator. Converted.
// REPORT: remark: kiln-cuda-cooperative-rows: 1 of 1 nests
// CHECK-LABEL: func.func @store_and_sum
// CHECK: gpu.launch
// CHECK:   scf.for %[[K:.*]] = {{.*}} iter_args(%[[P:.*]] = %{{.*}}) -> (f32) {
// CHECK:     %[[E:.*]] = math.exp
// CHECK:     memref.store %[[E]], %{{.*}}[%{{.*}}, %[[K]]]
// CHECK:     arith.addf %[[P]], %[[E]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @store_and_sum(%x: memref<4x64xf32>, %e: memref<4x64xf32>, %s: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %a = memref.load %x[%r, %k] : memref<4x64xf32>
      %ex = math.exp %a : f32
      memref.store %ex, %e[%r, %k] : memref<4x64xf32>
      %acc = memref.load %s[%r] : memref<4xf32>
      %t = arith.addf %acc, %ex : f32
      memref.store %t, %s[%r] : memref<4xf32>
    }
    scf.reduce
  }
  return
}

// Left alone: iteration k reads element k + 1, which iteration k + 1 (another
// lane) overwrites.
// REPORT: remark: kiln-cuda-cooperative-rows: 0 of 1 nests
// CHECK-LABEL: func.func @reads_next_iteration
// CHECK-NOT: gpu.launch
// CHECK: scf.parallel
// CHECK: return
func.func @reads_next_iteration(%x: memref<4x65xf32>, %y: memref<4x65xf32>, %s: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %acc = memref.load %s[%r] : memref<4xf32>
      %a = memref.load %x[%r, %k] : memref<4x65xf32>
      %t = arith.addf %acc, %a : f32
      memref.store %t, %s[%r] : memref<4xf32>
      %k1 = arith.addi %k, %c1 : index
      %next = memref.load %y[%r, %k1] : memref<4x65xf32>
      %u = arith.addf %next, %a : f32
      memref.store %u, %y[%r, %k] : memref<4x65xf32>
    }
    scf.reduce
  }
  return
}

// Left alone: a fixed element stored in every iteration (the last value wins;
// not an accumulator).
// REPORT: remark: kiln-cuda-cooperative-rows: 0 of 1 nests
// CHECK-LABEL: func.func @last_value
// CHECK-NOT: gpu.launch
// CHECK: scf.parallel
// CHECK: return
func.func @last_value(%x: memref<4x65xf32>, %s: memref<4xf32>, %last: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %acc = memref.load %s[%r] : memref<4xf32>
      %a = memref.load %x[%r, %k] : memref<4x65xf32>
      %t = arith.addf %acc, %a : f32
      memref.store %t, %s[%r] : memref<4xf32>
      memref.store %a, %last[%r] : memref<4xf32>
    }
    scf.reduce
  }
  return
}

// Left alone: a max whose flags rule out the -inf that every lane starts at.
// REPORT: remark: kiln-cuda-cooperative-rows: 0 of 1 nests
// CHECK-LABEL: func.func @max_without_infinities
// CHECK-NOT: gpu.launch
// CHECK: scf.parallel
// CHECK: return
func.func @max_without_infinities(%x: memref<4x64xf32>, %s: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %acc = memref.load %s[%r] : memref<4xf32>
      %a = memref.load %x[%r, %k] : memref<4x64xf32>
      %t = arith.maximumf %acc, %a fastmath<ninf> : f32
      memref.store %t, %s[%r] : memref<4xf32>
    }
    scf.reduce
  }
  return
}

// The end-to-end comparison with round-to-nearest and the fold into a
// producing linear are tested in test/unit/compression/AwqPassTest.cpp;
// here: a layer fed by a function argument gets an explicit input scaling.
// RUN: kiln-opt %S/Inputs/mlp-teacher.mlir --kiln-awq="bits=3 group-size=4 layers=^fc1" 2>&1 | FileCheck %s
// CHECK: remark: {{.*}}kiln-awq: layer 'fc1 (Gemm)': alpha {{.*}}, 1/s an explicit arith.mulf on its input; output error / RTN's
// CHECK: %[[SCALED:.*]] = arith.mulf %arg0, %{{.*}} : tensor<2x4xf32>
// CHECK: kiln.linear %[[SCALED]], %{{.*}} : (tensor<2x4xf32>, !kiln.compressed<8x4xf32, quant = #kiln.quant<storage = si3, granularity = per_group, axis = 1, group_size = 4>>)
// RUN: kiln-opt %S/Inputs/mlp-teacher.mlir --kiln-awq="bits=3 group-size=3" 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: warning: {{.*}}kiln-awq: layer 'fc2 (Gemm)' left dense: group size 3 does not divide K = 8

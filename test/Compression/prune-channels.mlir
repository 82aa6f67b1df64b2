// RUN: kiln-opt %s --kiln-prune-channels=fraction=0.5 --canonicalize | FileCheck %s
// RUN: kiln-opt %s --kiln-prune-channels=fraction=0.5 2>&1 >/dev/null | FileCheck %s --check-prefix=SKIP

// Channel scores ||W1[n, :]|| * ||W2[:, n]||: row norms 1, 1, sqrt(2), 0.1
// times column norms sqrt(26), sqrt(40), sqrt(58), sqrt(80) give 5.10,
// 6.32, 10.77, 0.89: channels 3 and 0 go, channels 1 and 2 stay, with their
// bias entries, their entries of the per-channel add and W2's columns 1, 2.
// CHECK-LABEL: func.func @chain
// CHECK-DAG: %[[W1:.*]] = arith.constant dense<{{\[\[}}0.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[B1:.*]] = arith.constant dense<[2.000000e+01, 3.000000e+01]> : tensor<2xf32>
// CHECK-DAG: %[[SHIFT:.*]] = arith.constant dense<{{\[\[}}2.000000e+00, 3.000000e+00]]> : tensor<1x2xf32>
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<1x2xf32>
// CHECK-DAG: %[[W2:.*]] = arith.constant dense<{{\[\[}}2.000000e+00, 3.000000e+00], [6.000000e+00, 7.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[H:.*]] = kiln.linear %{{.*}}, %[[W1]] bias %[[B1]] : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
// CHECK: %[[R:.*]] = arith.maximumf %[[H]], %[[ZERO]] : tensor<1x2xf32>
// CHECK: %[[S:.*]] = arith.addf %[[R]], %[[SHIFT]] : tensor<1x2xf32>
// CHECK: kiln.linear %[[S]], %[[W2]] bias %{{.*}} : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
func.func @chain(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w1 = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.1, 0.0]]> : tensor<4x2xf32>
  %b1 = arith.constant dense<[10.0, 20.0, 30.0, 40.0]> : tensor<4xf32>
  %zero = arith.constant dense<0.0> : tensor<1x4xf32>
  %shift = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %w2 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
  %b2 = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %h = kiln.linear %x, %w1 bias %b1 : (tensor<1x2xf32>, tensor<4x2xf32>, tensor<4xf32>) -> tensor<1x4xf32> loc("fc1 (Gemm)")
  %r = arith.maximumf %h, %zero : tensor<1x4xf32>
  %s = arith.addf %r, %shift : tensor<1x4xf32>
  %y = kiln.linear %s, %w2 bias %b2 : (tensor<1x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<1x2xf32> loc("fc2 (Gemm)")
  return %y : tensor<1x2xf32>
}

// A layer whose output also leaves the function keeps its channels, and so
// does a last layer, whose output is the model's.
// SKIP: remark: {{.*}}kiln-prune-channels: layer 'fc2 (Gemm)' keeps its channels: 'func.return' on the path is not an elementwise op with constant operands
// SKIP: remark: {{.*}}kiln-prune-channels: layer 'fc1 (Gemm)' keeps its channels: its output has more than one use
func.func @shared(%x: tensor<1x2xf32>) -> (tensor<1x4xf32>, tensor<1x2xf32>) {
  %w1 = arith.constant dense<1.0> : tensor<4x2xf32>
  %w2 = arith.constant dense<1.0> : tensor<2x4xf32>
  %h = kiln.linear %x, %w1 : (tensor<1x2xf32>, tensor<4x2xf32>) -> tensor<1x4xf32> loc("fc1 (Gemm)")
  %y = kiln.linear %h, %w2 : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32> loc("fc2 (Gemm)")
  return %h, %y : tensor<1x4xf32>, tensor<1x2xf32>
}

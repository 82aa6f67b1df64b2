// A quantization that would make the weight larger leaves it dense, with a
// warning naming the layer: int8 codes in groups of 1 take 8 bytes plus one
// f32 scale (32 bytes) and one zero point (8 bytes) each: 48 >= 32.
// RUN: kiln-opt %s --kiln-quantize-weights="bits=8 granularity=group group-size=1 symmetric=false" 2>&1 | FileCheck %s
// CHECK: warning: {{.*}}layer 'tiny (Gemm)': int8 codes and scales would take 48 bytes, not fewer than the dense 32; weight left unquantized
// CHECK-NOT: kiln.weight
// The same layer per channel (8 code bytes + 2 scales = 16 bytes) is quantized.
// RUN: kiln-opt %s --kiln-quantize-weights="bits=8" | FileCheck %s --check-prefix=CHANNEL
// CHANNEL: kiln.weight
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1.0, -2.0, 3.0, -4.0], [0.5, 0.25, -0.75, 1.0]]> : tensor<2x4xf32>
  %y = kiln.linear %x, %w : (tensor<1x4xf32>, tensor<2x4xf32>) -> tensor<1x2xf32> loc("tiny (Gemm)")
  return %y : tensor<1x2xf32>
}

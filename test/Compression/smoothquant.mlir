// W8A8: int8 weights per channel and explicit int8 fake quantization of
// the input; fc2's 1/s goes into fc1 (through the subf, whose constant is
// scaled too). Error reductions are tested in SmoothQuantTest.cpp.
// RUN: kiln-opt %S/Inputs/mlp-teacher.mlir --kiln-smoothquant="act-clip=mse" 2>&1 | FileCheck %s
// CHECK: remark: {{.*}}layer 'fc2 (Gemm)': 1/s folded into 'fc1 (Gemm)'; int8 activations with scale {{.*}} (mse)
// CHECK: remark: {{.*}}layer 'fc1 (Gemm)': 1/s an explicit arith.mulf on its input
// CHECK: %[[SCALED:.*]] = arith.mulf %arg0
// CHECK: %[[DIV:.*]] = arith.divf %[[SCALED]], %[[A:.*]] : tensor<2x4xf32>
// CHECK: %[[ROUND:.*]] = math.roundeven %[[DIV]]
// CHECK: %[[LOW:.*]] = arith.maximumf %[[ROUND]], %{{.*}}
// CHECK: %[[HIGH:.*]] = arith.minimumf %[[LOW]], %{{.*}}
// CHECK: %[[Q:.*]] = arith.mulf %[[HIGH]], %[[A]]
// CHECK: kiln.linear %[[Q]], %{{.*}} {kiln.act_quant = {bits = 8 : i64, scale = {{.*}} : f32}, kiln.rescaled} : (tensor<2x4xf32>, !kiln.compressed<8x4xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>)
// RUN: not kiln-opt %S/Inputs/mlp-teacher.mlir --kiln-smoothquant="act-clip=max" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: kiln-smoothquant: needs act-clip minmax, percentile or mse

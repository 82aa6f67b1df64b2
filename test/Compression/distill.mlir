// Each compressed fc2 is refit to the teacher (the uncompressed input file)
// on calibration inputs; the remark reports the error before and after.
// RUN: kiln-opt %S/Inputs/mlp-teacher.mlir --pass-pipeline="builtin.module(kiln-prune-magnitude{density=0.5 layers=^fc2},kiln-distill{teacher=%S/Inputs/mlp-teacher.mlir})" 2>&1 | FileCheck %s --check-prefix=SPARSE
// SPARSE: remark: {{.*}}kiln-distill: layer 'fc2 (Gemm)': refit the surviving weights; relative output error {{.*}} -> {{.*}}
// The refit keeps the sparsity pattern (the 16 largest magnitudes, ties to
// the lower index, as computed with numpy): only the stored values change.
// SPARSE: kiln.weight payload({{.*}}) sparsity_meta(dense<[-87, -8, 69, -86]> : tensor<4xi8>)
// RUN: kiln-opt %S/Inputs/mlp-teacher.mlir --pass-pipeline="builtin.module(kiln-gptq{bits=3 group-size=4 layers=^fc2},kiln-distill{teacher=%S/Inputs/mlp-teacher.mlir})" 2>&1 | FileCheck %s --check-prefix=SCALES
// SCALES: remark: {{.*}}layer 'fc2 (Gemm)': refit the scales; relative output error
// RUN: kiln-opt %S/Inputs/mlp-teacher.mlir --pass-pipeline="builtin.module(kiln-low-rank{rank=1 layers=^fc2},kiln-distill{teacher=%S/Inputs/mlp-teacher.mlir})" 2>&1 | FileCheck %s --check-prefix=LOWRANK
// LOWRANK: remark: {{.*}}layer 'fc2 (Gemm)': refit the first low-rank factor; relative output error
// RUN: kiln-opt %S/Inputs/mlp-teacher.mlir --pass-pipeline="builtin.module(kiln-quantize-codebook{bits=2 layers=^fc2},kiln-distill{teacher=%S/Inputs/mlp-teacher.mlir})" 2>&1 | FileCheck %s --check-prefix=CODEBOOK
// CODEBOOK: remark: {{.*}}layer 'fc2 (Gemm)' not refit: its scales are not per output channel or per group along K
// RUN: not kiln-opt %S/Inputs/mlp-teacher.mlir --kiln-distill 2>&1 | FileCheck %s --check-prefix=NOTEACHER
// NOTEACHER: kiln-distill: runs on a module and needs teacher=<uncompressed .mlir>

// fc1 has one large weight per row and three tiny ones: pruning it to 30%
// costs almost nothing, so the 50% global budget goes there first and fc2,
// whose weights all matter, keeps 70% (0.3 * 32 + 0.7 * 32 = 32 of 64).
// RUN: kiln-opt %S/Inputs/allocate.mlir --kiln-prune-allocate=density=0.5 2>&1 | FileCheck %s
// CHECK: remark: {{.*}}kiln-prune-allocate: layer 'fc1 (Gemm)': density 3.000000e-01, relative squared output error {{[0-9.]+}}e-06
// CHECK: remark: {{.*}}kiln-prune-allocate: layer 'fc2 (Gemm)': density 7.000000e-01
// round(0.3 * 32) = 10 of fc1's weights stay, round(0.7 * 32) = 22 of fc2's.
// CHECK: sparsity = #kiln.sparsity<kind = unstructured, density = 3.125000e-01 : f64>
// CHECK: sparsity = #kiln.sparsity<kind = unstructured, density = 6.875000e-01 : f64>
// RUN: not kiln-opt %S/Inputs/allocate.mlir --kiln-prune-allocate=density=0 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: kiln-prune-allocate: density must lie in (0, 1]

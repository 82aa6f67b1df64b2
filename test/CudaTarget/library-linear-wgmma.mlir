// RUN: kiln-opt %s --kiln-cuda-library-linear=sm90a-wgmma=true | FileCheck %s
// RUN: kiln-opt %s --kiln-cuda-library-linear | FileCheck %s --check-prefix=OFF
// RUN: kiln-opt %s --kiln-cuda-library-linear="sm90a-wgmma=true wgmma-min-m=32" \
// RUN:   | FileCheck %s --check-prefix=MIN32

// Compiled for sm_90a too (sm90a-wgmma): a GEMM with M >= 128 keeps its
// mma.sync launch for other images (kiln.not_sm90a) and gets a second launch
// of the TMA + wgmma kernel for sm_90a images (kiln.sm90a_only, also on its
// gpu.func). The wgmma launch reads x from the same staging buffer and W
// from the same weight global, each through a TMA descriptor (box and
// swizzle of kernels/WgmmaGemm.h: f16 rows of 64 with the 128B swizzle;
// int4 weights as bytes, 32 per row of a 64-deep K tile, no swizzle), and
// writes the same y.

// CHECK-LABEL: func.func @f16_m128
// CHECK: %[[XBUF:.*]] = memref.alloc() : memref<32768xi8>
// CHECK: %[[X:.*]] = memref.view %[[XBUF]][%{{.*}}][] : memref<32768xi8> to memref<128x128xf16>
// CHECK: %[[XG:.*]] = memref.view %[[XBUF]][%{{.*}}][] : memref<32768xi8> to memref<128x128xf16>
// CHECK: %[[W:.*]] = memref.get_global @kiln_library_weight : memref<32768xi8>
// CHECK: %[[Y:.*]] = memref.view %{{.*}} to memref<128x64xvector<2xf16>>
// CHECK: gpu.launch_func @kiln_library_kernels::@[[GEMM:gemm_f16_m128_n128_k128_[a-z0-9x]+]] {{.*}} args(%[[XG]] : memref<128x128xf16>, %{{.*}} : memref<128x128xf16>, %[[Y]] : memref<128x64xvector<2xf16>>) {kiln.not_sm90a}
// CHECK: %[[W2:.*]] = memref.view %[[W]][%{{.*}}][] : memref<32768xi8> to memref<128x128xf16>
// CHECK: %[[XU:.*]] = memref.cast %[[X]] : memref<128x128xf16> to memref<*xf16>
// CHECK: %[[XD:.*]] = nvgpu.tma.create.descriptor %[[XU]] box[%c64{{.*}}, %c64{{.*}}] : memref<*xf16> -> <tensor = memref<64x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, interleave = none>
// CHECK: %[[XP:.*]] = builtin.unrealized_conversion_cast %[[XD]] : {{.*}} to !llvm.ptr
// CHECK: %[[WU:.*]] = memref.cast %[[W2]] : memref<128x128xf16> to memref<*xf16>
// CHECK: %[[WD:.*]] = nvgpu.tma.create.descriptor %[[WU]] box[%c128{{.*}}, %c64{{.*}}] : memref<*xf16> -> <tensor = memref<128x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b
// CHECK: %[[WP:.*]] = builtin.unrealized_conversion_cast %[[WD]]
// CHECK: gpu.launch_func @kiln_library_kernels::@[[WGMMA:wgmma_f16_m128_n128_k128_b64x128x64s8]] blocks in (%c1{{.*}}, %c2{{.*}}, %c1{{.*}}) threads in (%c160{{.*}}, %c1{{.*}}, %c1{{.*}}) dynamic_shared_memory_size %c{{[0-9]+}}_i32 args(%[[XP]] : !llvm.ptr, %[[WP]] : !llvm.ptr, %[[Y]] : memref<128x64xvector<2xf16>>) {kiln.sm90a_only}
// CHECK: bufferization.to_tensor
// OFF-LABEL: func.func @f16_m128
// OFF: gpu.launch_func @kiln_library_kernels::@gemm_f16_m128_n128_k128_{{[a-z0-9x]+}} {{.*}}>){{ *$}}
// OFF-NOT: wgmma
// OFF-NOT: nvgpu.tma.create.descriptor
// OFF-LABEL: func.func @int4_m256
func.func @f16_m128(%x: tensor<128x128xf16>) -> tensor<128x128xf16> {
  %w = arith.constant dense<1.0> : tensor<128x128xf16>
  %y = kiln.linear %x, %w : (tensor<128x128xf16>, tensor<128x128xf16>) -> tensor<128x128xf16>
  return %y : tensor<128x128xf16>
}

// int4, groups of 128, M = 256 (the leading dimensions): the scales are the
// mma.sync launch's.
// CHECK-LABEL: func.func @int4_m256
// CHECK: %[[S:.*]] = memref.get_global @kiln_library_scales : memref<64x1xf16>
// CHECK: gpu.launch_func @kiln_library_kernels::@gemm_int4_g128_m256_n64_k128_{{[a-z0-9x]+}} {{.*}} {kiln.not_sm90a}
// CHECK: memref.view %{{.*}} : memref<4096xi8> to memref<64x64xi8>
// CHECK: nvgpu.tma.create.descriptor %{{.*}} box[%c64{{.*}}, %c32{{.*}}] : memref<*xi8> -> <tensor = memref<64x32xi8, #gpu.address_space<workgroup>>, swizzle = none
// CHECK: gpu.launch_func @kiln_library_kernels::@wgmma_int4_g128_m256_n64_k128_{{[a-z0-9x]+}} {{.*}} args(%{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %[[S]] : memref<64x1xf16>, %{{.*}} : memref<256x32xvector<2xf16>>) {kiln.sm90a_only}
func.func @int4_m256(%x: tensor<2x128x128xf32>) -> tensor<2x128x64xf32> {
  %w = kiln.weight payload(dense<18> : tensor<4096xi8>) scales(dense<0.5> : tensor<64x1xf32>)
      : !kiln.compressed<64x128xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 128>>
  %y = kiln.linear %x, %w : (tensor<2x128x128xf32>, !kiln.compressed<64x128xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 128>>) -> tensor<2x128x64xf32>
  return %y : tensor<2x128x64xf32>
}

// M = 32 < wgmma-min-m (128): the mma.sync GEMM only, unmarked; with
// wgmma-min-m=32 it gets the wgmma alternative too (int8 per channel: one
// scale per row, K = 64).
// CHECK-LABEL: func.func @int8_m32
// CHECK: gpu.launch_func @kiln_library_kernels::@gemm_int8_g64_m32_n64_k64_{{[a-z0-9x]+}} {{.*}}>){{ *$}}
// CHECK-NOT: wgmma
// MIN32-LABEL: func.func @int8_m32
// MIN32: gpu.launch_func {{.*}}@gemm_int8_g64_m32_n64_k64_{{.*}} {kiln.not_sm90a}
// MIN32: gpu.launch_func {{.*}}@wgmma_int8_g64_m32_n64_k64_{{.*}} {kiln.sm90a_only}
func.func @int8_m32(%x: tensor<32x64xf32>) -> tensor<32x64xf32> {
  %w = kiln.weight payload(dense<-3> : tensor<4096xi8>) scales(dense<0.25> : tensor<64xf32>)
      : !kiln.compressed<64x64xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>
  %y = kiln.linear %x, %w : (tensor<32x64xf32>, !kiln.compressed<64x64xf32, quant = #kiln.quant<storage = si8, granularity = per_channel>>) -> tensor<32x64xf32>
  return %y : tensor<32x64xf32>
}

// int4 groups of 32 are not a multiple of the wgmma kernel's 64-deep K
// tile: the mma.sync GEMM runs on every GPU, unmarked.
// CHECK-LABEL: func.func @int4_g32
// CHECK: gpu.launch_func @kiln_library_kernels::@gemm_int4_g32_m128_n64_k64_{{[a-z0-9x]+}} {{.*}}>){{ *$}}
// CHECK-NOT: nvgpu.tma.create.descriptor
// CHECK: return
func.func @int4_g32(%x: tensor<128x64xf32>) -> tensor<128x64xf32> {
  %w = kiln.weight payload(dense<18> : tensor<2048xi8>) scales(dense<0.5> : tensor<64x2xf32>)
      : !kiln.compressed<64x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 32>>
  %y = kiln.linear %x, %w : (tensor<128x64xf32>, !kiln.compressed<64x64xf32, quant = #kiln.quant<storage = si4, granularity = per_group, axis = 1, group_size = 32>>) -> tensor<128x64xf32>
  return %y : tensor<128x64xf32>
}

// Tiling: above M = 256 the generator's default 128x256 tiles are kept when
// they make enough blocks for the GPU (M = 2048, N = 2816: 16 x 11 = 176),
// else the first smaller tiling that does, or the one with the most blocks
// (M = 512, N = 256: 4 blocks of 128x256, 32 of 64x64).
// CHECK-LABEL: func.func @tiling
// CHECK: gpu.launch_func {{.*}}@wgmma_f16_m2048_n2816_k64_b128x256x64s4 blocks in (%c11{{.*}}, %c16{{.*}}, %c1{{.*}})
// CHECK: gpu.launch_func {{.*}}@wgmma_f16_m512_n256_k64_b64x64x64s8 blocks in (%c4{{.*}}, %c8{{.*}}, %c1{{.*}})
func.func @tiling(%x: tensor<2048x64xf16>, %x2: tensor<512x64xf16>) -> (tensor<2048x2816xf16>, tensor<512x256xf16>) {
  %w = arith.constant dense<1.0> : tensor<2816x64xf16>
  %y = kiln.linear %x, %w : (tensor<2048x64xf16>, tensor<2816x64xf16>) -> tensor<2048x2816xf16>
  %w2 = arith.constant dense<1.0> : tensor<256x64xf16>
  %y2 = kiln.linear %x2, %w2 : (tensor<512x64xf16>, tensor<256x64xf16>) -> tensor<512x256xf16>
  return %y, %y2 : tensor<2048x2816xf16>, tensor<512x256xf16>
}

// The generated kernels: only the wgmma ones are marked.
// CHECK: gpu.module @kiln_library_kernels
// CHECK-DAG: gpu.func @gemm_f16_m128_n128_k128_{{[a-z0-9x]+}}({{.*}}) kernel attributes {known_block_size
// CHECK-DAG: gpu.func @wgmma_f16_m128_n128_k128_b64x128x64s8({{.*}}) kernel attributes {kiln.sm90a_only,
// CHECK-DAG: gpu.func @wgmma_int4_g128_m256_n64_k128_{{[a-z0-9x]+}}({{.*}}) kernel attributes {kiln.sm90a_only,

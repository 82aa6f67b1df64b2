//===- Sparsify.cpp - building sparse weights by magnitude ----------------===//
#include "Sparsify.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir;

namespace kiln::compression {

std::vector<int64_t> largestMagnitudes(const float *first, int64_t count, int64_t keep) {
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    float magnitudeA = std::fabs(first[a]), magnitudeB = std::fabs(first[b]);
    return magnitudeA > magnitudeB || (magnitudeA == magnitudeB && a < b);
  });
  order.resize(size_t(keep));
  std::sort(order.begin(), order.end());
  return order;
}

static int64_t keptCount(const DenseWeight &weight, double density) {
  int64_t count = int64_t(weight.values.size());
  return std::clamp<int64_t>(int64_t(std::llround(density * double(count))), 1, count);
}

std::vector<float> magnitudePruned(const DenseWeight &weight, double density) {
  std::vector<float> pruned(weight.values.size(), 0.0f);
  for (int64_t index : largestMagnitudes(weight.values.data(), int64_t(weight.values.size()),
                                         keptCount(weight, density)))
    pruned[index] = weight.values[index];
  return pruned;
}

WeightOp createSparseWeight(OpBuilder &builder, LinearOp linear, const DenseWeight &weight,
                            SparsityEncodingAttr sparsity, ArrayRef<float> kept,
                            const std::vector<uint32_t> &meta, int64_t resourceThreshold) {
  unsigned metaBits = sparsity.getKind() == SparsityKind::NM ? sparsity.getIndexBits() : 1;
  Type elementType = weight.type.getElementType();
  auto type = CompressedType::get(linear.getContext(), weight.type.getShape(), elementType,
                                  nullptr, sparsity, nullptr);
  WeightBuilder arrays = makeArrays(linear, "sparse", resourceThreshold);
  return createWeight(builder, weight.constant->getLoc(), type,
                      arrays.bytes(floatsAsBytes(kept, elementType), "payload"), nullptr, nullptr,
                      arrays.bytes(codec::packCodes(meta, metaBits), "sparsity_meta"));
}

WeightOp createUnstructuredWeight(OpBuilder &builder, LinearOp linear, const DenseWeight &weight,
                                  double density, int64_t resourceThreshold) {
  MLIRContext *ctx = linear.getContext();
  int64_t count = int64_t(weight.values.size()), keep = keptCount(weight, density);
  std::vector<uint32_t> meta(static_cast<size_t>(count), 0);
  std::vector<float> kept;
  for (int64_t index : largestMagnitudes(weight.values.data(), count, keep)) {
    meta[index] = 1;
    kept.push_back(weight.values[index]);
  }
  auto sparsity = SparsityEncodingAttr::get(
      ctx, SparsityKind::Unstructured, 0, 0,
      FloatAttr::get(Float64Type::get(ctx), double(keep) / double(count)), {});
  return createSparseWeight(builder, linear, weight, sparsity, kept, meta, resourceThreshold);
}

} // namespace kiln::compression

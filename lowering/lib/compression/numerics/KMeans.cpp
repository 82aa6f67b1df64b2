//===- KMeans.cpp - deterministic Lloyd's k-means -------------------------===//
#include "Numerics.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace kiln::numerics {

namespace {
double squaredDistance(const float *a, const float *b, int64_t dim) {
  double sum = 0;
  for (int64_t d = 0; d < dim; ++d)
    sum += (double(a[d]) - b[d]) * (double(a[d]) - b[d]);
  return sum;
}
} // namespace

Clustering kmeans(const float *points, int64_t count, int64_t dim, int64_t k,
                  int maxIterations) {
  Clustering result;
  result.centroids.assign(size_t(k * dim), 0.0f);
  result.assignment.assign(size_t(count), 0);
  if (count == 0)
    return result;
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
    const float *a = points + x * dim, *b = points + y * dim;
    if (std::lexicographical_compare(a, a + dim, b, b + dim))
      return true;
    return !std::lexicographical_compare(b, b + dim, a, a + dim) && x < y;
  });
  // Centroid c starts at the point of rank (2c+1)/(2k) of the sorted order.
  for (int64_t c = 0; c < k; ++c) {
    int64_t rank = std::min(count - 1, (2 * c + 1) * count / (2 * k));
    std::copy(points + order[rank] * dim, points + (order[rank] + 1) * dim,
              result.centroids.begin() + c * dim);
  }
  auto assignToNearest = [&] {
    bool changed = false;
    for (int64_t p = 0; p < count; ++p) {
      uint32_t best = 0;
      double bestDistance = std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < k; ++c) {
        double distance = squaredDistance(points + p * dim, &result.centroids[c * dim], dim);
        if (distance < bestDistance) {
          bestDistance = distance;
          best = uint32_t(c);
        }
      }
      changed |= result.assignment[p] != best;
      result.assignment[p] = best;
    }
    return changed;
  };
  assignToNearest();
  for (int iteration = 0; iteration < maxIterations; ++iteration) {
    std::vector<double> sums(size_t(k * dim), 0.0);
    std::vector<int64_t> members(size_t(k), 0);
    for (int64_t p = 0; p < count; ++p) {
      int64_t c = result.assignment[p];
      ++members[c];
      for (int64_t d = 0; d < dim; ++d)
        sums[c * dim + d] += points[p * dim + d];
    }
    for (int64_t c = 0; c < k; ++c)
      if (members[c] > 0)
        for (int64_t d = 0; d < dim; ++d)
          result.centroids[c * dim + d] = float(sums[c * dim + d] / double(members[c]));
    // Stop once the assignment is stable: centroids and assignment agree.
    if (!assignToNearest())
      break;
  }
  return result;
}

} // namespace kiln::numerics

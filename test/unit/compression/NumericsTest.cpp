//===- NumericsTest.cpp - SVD, k-means, Cholesky and GPTQ ----------------===//
#include "Numerics.h"
#include "TestModels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace kiln;
using namespace kiln::numerics;

namespace {

using testmodels::randomMatrix;

TEST(Numerics, SolveSpdSolvesTheSystem) {
  const int64_t n = 6;
  std::vector<float> x = randomMatrix(20, n, 1);
  std::vector<double> a = gram(x.data(), 20, n);
  std::vector<double> b = {1, -2, 3, 0.5, 0, 4};
  std::optional<std::vector<double>> solution = solveSpd(a, b, n, 1);
  ASSERT_TRUE(solution);
  for (int64_t i = 0; i < n; ++i) {
    double row = 0;
    for (int64_t j = 0; j < n; ++j)
      row += a[i * n + j] * (*solution)[j];
    EXPECT_NEAR(row, b[i], 1e-9);
  }
}

TEST(Numerics, CholeskyRejectsIndefiniteMatrices) {
  EXPECT_FALSE(cholesky({1, 2, 2, 1}, 2)); // eigenvalues 3 and -1
}

void checkSvd(int64_t m, int64_t n, unsigned seed) {
  std::vector<float> a = randomMatrix(m, n, seed);
  Svd svd = computeSvd(a.data(), m, n);
  ASSERT_EQ(svd.rank, std::min(m, n));
  for (int64_t k = 1; k < svd.rank; ++k)
    EXPECT_GE(svd.singular[k - 1], svd.singular[k]);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < svd.rank; ++k)
        sum += svd.u[i * svd.rank + k] * svd.singular[k] * svd.vt[k * n + j];
      EXPECT_NEAR(sum, a[i * n + j], 1e-9);
    }
  // Orthonormal columns of U and rows of Vt.
  for (int64_t p = 0; p < svd.rank; ++p)
    for (int64_t q = 0; q < svd.rank; ++q) {
      double uu = 0, vv = 0;
      for (int64_t i = 0; i < m; ++i)
        uu += svd.u[i * svd.rank + p] * svd.u[i * svd.rank + q];
      for (int64_t j = 0; j < n; ++j)
        vv += svd.vt[p * n + j] * svd.vt[q * n + j];
      EXPECT_NEAR(uu, p == q ? 1.0 : 0.0, 1e-9);
      EXPECT_NEAR(vv, p == q ? 1.0 : 0.0, 1e-9);
    }
}

TEST(Numerics, SvdReconstructsTallAndWideMatrices) {
  checkSvd(9, 5, 2);
  checkSvd(4, 11, 3);
}

TEST(Numerics, SvdOfAKnownMatrix) {
  // [[3, 0], [4, 5]] has singular values sqrt(45) and sqrt(5).
  std::vector<float> a = {3, 0, 4, 5};
  Svd svd = computeSvd(a.data(), 2, 2);
  EXPECT_NEAR(svd.singular[0], std::sqrt(45.0), 1e-12);
  EXPECT_NEAR(svd.singular[1], std::sqrt(5.0), 1e-12);
}

TEST(Numerics, KMeansFindsSeparatedClusters) {
  // Three clusters of 2-D points; each centroid must be its cluster's mean.
  std::vector<float> points = {0, 0, 0.2f, 0, 0, 0.4f,    10, 10, 10.6f, 10,
                               -10, 5, -10.3f, 5.3f, -9.7f, 5};
  Clustering clustering = kmeans(points.data(), 8, 2, 3);
  auto centroidOf = [&](int64_t p) { return &clustering.centroids[clustering.assignment[p] * 2]; };
  EXPECT_NEAR(centroidOf(0)[0], 0.2f / 3, 1e-6);
  EXPECT_NEAR(centroidOf(0)[1], 0.4f / 3, 1e-6);
  EXPECT_NEAR(centroidOf(3)[0], 10.3f, 1e-5);
  EXPECT_NEAR(centroidOf(5)[0], -10.0f, 1e-5);
  EXPECT_NEAR(centroidOf(5)[1], 5.1f, 1e-5);
  EXPECT_EQ(clustering.assignment[0], clustering.assignment[2]);
  EXPECT_NE(clustering.assignment[0], clustering.assignment[3]);
}

TEST(Numerics, KMeansIsExactWithFewDistinctValues) {
  std::vector<float> points = {1, 3, 3, 7, 1, 7, 7, 3};
  Clustering clustering = kmeans(points.data(), 8, 1, 4);
  for (int64_t p = 0; p < 8; ++p)
    EXPECT_EQ(clustering.centroids[clustering.assignment[p]], points[p]);
}

TEST(Numerics, GptqWithDiagonalHessianIsRoundToNearest) {
  // No correlation between inputs: nothing to compensate, so GPTQ's codes
  // and scales must equal plain round-to-nearest.
  const int64_t rows = 4, cols = 16;
  std::vector<float> w = randomMatrix(rows, cols, 4);
  std::vector<double> h(size_t(cols * cols), 0.0);
  for (int64_t i = 0; i < cols; ++i)
    h[i * cols + i] = 1.0 + i;
  for (bool symmetric : {true, false}) {
    auto gptq = gptqQuantize(w.data(), rows, cols, h, 4, 8, symmetric);
    ASSERT_TRUE(gptq);
    codec::QuantizedMatrix rtn = codec::quantizeMatrix(w.data(), rows, cols, 4, 8, symmetric);
    EXPECT_EQ(gptq->codes, rtn.codes);
    EXPECT_EQ(gptq->scales, rtn.scales);
    EXPECT_EQ(gptq->zeroPoints, rtn.zeroPoints);
  }
}

TEST(Numerics, GptqBeatsRoundToNearestOnCorrelatedInputs) {
  const int64_t rows = 16, cols = 64, samples = 256;
  std::vector<float> w = randomMatrix(rows, cols, 5);
  // Correlated inputs: x = z·M with a random mixing matrix M.
  std::vector<float> z = randomMatrix(samples, cols, 6), mix = randomMatrix(cols, cols, 7);
  std::vector<float> x(size_t(samples * cols), 0.0f);
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t i = 0; i < cols; ++i)
        x[s * cols + j] += z[s * cols + i] * mix[i * cols + j] * (i < 8 ? 3.0f : 0.3f);
  std::vector<double> h = gram(x.data(), samples, cols);
  for (unsigned bits : {3u, 4u}) {
    auto gptq = gptqQuantize(w.data(), rows, cols, h, bits, 32, true);
    ASSERT_TRUE(gptq);
    std::vector<float> gptqValues = dequantizeMatrix(*gptq, rows, cols, bits, 32, true);
    std::vector<float> rtnValues = dequantizeMatrix(
        codec::quantizeMatrix(w.data(), rows, cols, bits, 32, true), rows, cols, bits, 32, true);
    double gptqError = relativeOutputError(x.data(), samples, w.data(), gptqValues.data(), rows, cols);
    double rtnError = relativeOutputError(x.data(), samples, w.data(), rtnValues.data(), rows, cols);
    EXPECT_LT(gptqError, 0.8 * rtnError) << bits << " bits";
  }
}

} // namespace

namespace {

/// W [k, c, s] = Σ_a Σ_b out[k, a]·in[c, b]·core[a, b, s] for random factors.
std::vector<float> multilinearFilter(int64_t k, int64_t c, int64_t s, int64_t rankOut,
                                     int64_t rankIn) {
  std::vector<float> out = randomMatrix(k, rankOut, 11), in = randomMatrix(c, rankIn, 12);
  std::vector<float> core = randomMatrix(rankOut * rankIn, s, 13);
  std::vector<float> w(size_t(k * c * s), 0.0f);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < c; ++j)
      for (int64_t a = 0; a < rankOut; ++a)
        for (int64_t b = 0; b < rankIn; ++b)
          for (int64_t p = 0; p < s; ++p)
            w[(i * c + j) * s + p] +=
                out[i * rankOut + a] * in[j * rankIn + b] * core[(a * rankIn + b) * s + p];
  return w;
}

} // namespace

TEST(Numerics, Tucker2RecoversAFilterOfItsMultilinearRank) {
  const int64_t k = 7, c = 5, s = 9, rankOut = 3, rankIn = 2;
  std::vector<float> w = multilinearFilter(k, c, s, rankOut, rankIn);
  Svd outSvd = unfoldingSvd(w.data(), k, c, s, 0), inSvd = unfoldingSvd(w.data(), k, c, s, 1);
  // The unfoldings have exactly the ranks the filter was built with.
  EXPECT_EQ(rankForEnergy(outSvd.singular, 1.0 - 1e-9), rankOut);
  EXPECT_EQ(rankForEnergy(inSvd.singular, 1.0 - 1e-9), rankIn);
  Tucker2 tucker = tucker2(w.data(), k, c, s, outSvd, rankOut, inSvd, rankIn);
  double worst = 0, largest = 0;
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < c; ++j)
      for (int64_t p = 0; p < s; ++p) {
        double value = 0;
        for (int64_t a = 0; a < rankOut; ++a)
          for (int64_t b = 0; b < rankIn; ++b)
            value += double(tucker.out[i * rankOut + a]) * tucker.in[j * rankIn + b] *
                     tucker.core[(a * rankIn + b) * s + p];
        worst = std::max(worst, std::fabs(value - w[(i * c + j) * s + p]));
        largest = std::max(largest, std::fabs(double(w[(i * c + j) * s + p])));
      }
  EXPECT_LT(worst, 1e-5 * largest);
  // The factors are orthonormal columns.
  for (int64_t a = 0; a < rankOut; ++a) {
    double norm = 0;
    for (int64_t i = 0; i < k; ++i)
      norm += double(tucker.out[i * rankOut + a]) * tucker.out[i * rankOut + a];
    EXPECT_NEAR(norm, 1.0, 1e-6);
  }
}

//===- RefitTest.cpp - least-squares distillation refits -----------------===//
#include "Numerics.h"
#include "TestModels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace kiln;
using namespace kiln::numerics;

namespace {

using testmodels::randomMatrix;

/// Correlated inputs X [samples, k]: standard normals through a random mix.
std::vector<float> correlatedInputs(int64_t samples, int64_t k, unsigned seed) {
  std::vector<float> z = randomMatrix(samples, k, seed), mix = randomMatrix(k, k, seed + 1);
  std::vector<float> x(static_cast<size_t>(samples * k), 0.0f);
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < k; ++i)
        x[s * k + j] += z[s * k + i] * mix[i * k + j];
  return x;
}

constexpr int64_t kRows = 8, kCols = 32, kSamples = 128;

TEST(Refit, ScalesAreExactWhenTheTeacherIsRepresentable) {
  std::vector<float> pattern = randomMatrix(kRows, kCols, 1);
  for (float &p : pattern)
    p = std::round(p * 3);
  std::vector<float> scales(kRows * 4), teacher(kRows * kCols);
  for (int64_t i = 0; i < kRows * 4; ++i)
    scales[i] = 0.1f + 0.01f * float(i);
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t c = 0; c < kCols; ++c)
      teacher[r * kCols + c] = pattern[r * kCols + c] * scales[r * 4 + c / 8];
  std::vector<float> x = correlatedInputs(kSamples, kCols, 2);
  std::vector<float> start(kRows * 4, 1.0f);
  std::vector<float> refit = refitGroupScales(teacher.data(), pattern.data(), kRows, kCols, 8,
                                              gram(x.data(), kSamples, kCols), start);
  for (int64_t i = 0; i < kRows * 4; ++i)
    EXPECT_NEAR(refit[i], scales[i], 1e-4) << i;
}

TEST(Refit, ScalesReduceTheOutputErrorOfGptq) {
  std::vector<float> w = randomMatrix(kRows, kCols, 3), x = correlatedInputs(kSamples, kCols, 4);
  std::vector<double> h = gram(x.data(), kSamples, kCols);
  auto q = gptqQuantize(w.data(), kRows, kCols, h, 3, 8, true);
  ASSERT_TRUE(q);
  std::vector<float> before = dequantizeMatrix(*q, kRows, kCols, 3, 8, true);
  std::vector<float> pattern(before.size());
  for (int64_t i = 0; i < kRows * kCols; ++i)
    pattern[i] = float(codec::signExtend(q->codes[i], 3));
  std::vector<float> scales = refitGroupScales(w.data(), pattern.data(), kRows, kCols, 8, h, q->scales);
  std::vector<float> after(before.size());
  for (int64_t i = 0; i < kRows * kCols; ++i)
    after[i] = pattern[i] * scales[(i / kCols) * 4 + (i % kCols) / 8];
  EXPECT_LT(relativeOutputError(x.data(), kSamples, w.data(), after.data(), kRows, kCols),
            relativeOutputError(x.data(), kSamples, w.data(), before.data(), kRows, kCols));
}

TEST(Refit, SurvivorsCompensateForPrunedWeights) {
  std::vector<float> w = randomMatrix(kRows, kCols, 5), x = correlatedInputs(kSamples, kCols, 6);
  std::vector<double> h = gram(x.data(), kSamples, kCols);
  std::vector<bool> kept(w.size());
  std::vector<float> pruned(w.size(), 0.0f);
  for (size_t i = 0; i < w.size(); ++i)
    if ((kept[i] = std::fabs(w[i]) > 0.7f))
      pruned[i] = w[i];
  std::vector<float> refit = refitSurvivors(w.data(), kept, kRows, kCols, h);
  for (size_t i = 0; i < w.size(); ++i)
    if (!kept[i])
      EXPECT_EQ(refit[i], 0.0f);
  double before = relativeOutputError(x.data(), kSamples, w.data(), pruned.data(), kRows, kCols);
  double after = relativeOutputError(x.data(), kSamples, w.data(), refit.data(), kRows, kCols);
  EXPECT_LT(after, 0.7 * before);
  // A teacher that already is sparse is reproduced exactly.
  std::vector<float> again = refitSurvivors(pruned.data(), kept, kRows, kCols, h);
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_NEAR(again[i], pruned[i], 1e-4);
}

TEST(Refit, LeftFactorRecoversAnExactFactorisation) {
  const int64_t rank = 3;
  std::vector<float> u = randomMatrix(kRows, rank, 7), v = randomMatrix(rank, kCols, 8);
  std::vector<float> w(kRows * kCols, 0.0f);
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t q = 0; q < rank; ++q)
      for (int64_t c = 0; c < kCols; ++c)
        w[r * kCols + c] += u[r * rank + q] * v[q * kCols + c];
  std::vector<float> x = correlatedInputs(kSamples, kCols, 9);
  auto refit = refitLeftFactor(w.data(), v.data(), kRows, kCols, rank, gram(x.data(), kSamples, kCols));
  ASSERT_TRUE(refit);
  for (int64_t i = 0; i < kRows * rank; ++i)
    EXPECT_NEAR((*refit)[i], u[i], 1e-3);
}

} // namespace

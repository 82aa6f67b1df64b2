//===- ArenaPlanTest.cpp - the greedy best-fit arena planner --------------===//
#include "kiln/kiln_arena.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace {

struct Plan {
  kiln_status status;
  std::vector<kiln_arena_placement> placements;
  uint64_t arenaSize = 0;
  std::string error;
};

Plan plan(const std::vector<kiln_arena_buffer> &buffers) {
  Plan result;
  result.placements.resize(buffers.size());
  char error[256] = "";
  result.status = kiln_arena_plan(buffers.data(), buffers.size(), result.placements.data(),
                                  &result.arenaSize, error, sizeof(error));
  result.error = error;
  return result;
}

// Independent check: aligned, inside the arena, and no two buffers alive at
// the same step share a byte.
void expectValid(const std::vector<kiln_arena_buffer> &buffers, const Plan &result) {
  ASSERT_EQ(result.status, KILN_OK) << result.error;
  for (size_t i = 0; i < buffers.size(); ++i) {
    const kiln_arena_placement &p = result.placements[i];
    EXPECT_EQ(p.size, buffers[i].size);
    EXPECT_EQ(p.offset % buffers[i].alignment, 0u) << "buffer " << i;
    EXPECT_LE(p.offset + p.size, result.arenaSize) << "buffer " << i;
    for (size_t j = 0; j < i; ++j) {
      bool liveTogether = buffers[i].first_use <= buffers[j].last_use &&
                          buffers[j].first_use <= buffers[i].last_use;
      const kiln_arena_placement &q = result.placements[j];
      bool bytesOverlap = p.size && q.size && p.offset < q.offset + q.size &&
                          q.offset < p.offset + p.size;
      EXPECT_FALSE(liveTogether && bytesOverlap) << "buffers " << i << " and " << j;
    }
  }
}

// No plan can be smaller than the most bytes alive at one step.
uint64_t peakLiveBytes(const std::vector<kiln_arena_buffer> &buffers) {
  uint64_t peak = 0;
  for (const kiln_arena_buffer &at : buffers) {
    uint64_t live = 0;
    for (const kiln_arena_buffer &b : buffers)
      if (b.first_use <= at.first_use && at.first_use <= b.last_use)
        live += b.size;
    peak = std::max(peak, live);
  }
  return peak;
}

TEST(ArenaPlanTest, ReusesMemoryOfDeadBuffers) {
  // A chain a -> b -> c: a and c never live together, so c reuses a's bytes.
  std::vector<kiln_arena_buffer> buffers = {
      {1024, 256, 0, 1}, {512, 256, 1, 2}, {1024, 256, 2, 3}};
  Plan result = plan(buffers);
  expectValid(buffers, result);
  EXPECT_EQ(result.arenaSize, 1536u);
  EXPECT_EQ(result.placements[0].offset, result.placements[2].offset);
}

TEST(ArenaPlanTest, BestFitTakesTheSmallestGap) {
  // Short-lived X and Y leave a 4096-byte and a 1024-byte hole between the
  // long-lived L1 and L2; Z (alive later) fits both and must take the smaller.
  std::vector<kiln_arena_buffer> buffers = {
      {4096, 256, 0, 1}, // X: 0..4096
      {2048, 256, 0, 9}, // L1: 4096..6144
      {1024, 256, 0, 1}, // Y: 6144..7168
      {512, 256, 0, 9},  // L2: 7168..7680
      {256, 256, 5, 6},  // Z
  };
  Plan result = plan(buffers);
  expectValid(buffers, result);
  EXPECT_EQ(result.placements[0].offset, 0u);
  EXPECT_EQ(result.placements[2].offset, 6144u);
  EXPECT_EQ(result.placements[4].offset, 6144u); // first fit would have taken 0
  EXPECT_EQ(result.arenaSize, 7680u);
}

TEST(ArenaPlanTest, HonoursAlignment) {
  std::vector<kiln_arena_buffer> buffers = {{100, 16, 0, 5}, {64, 4096, 0, 5}, {8, 8, 0, 5}};
  Plan result = plan(buffers);
  expectValid(buffers, result);
  EXPECT_EQ(result.placements[1].offset % 4096, 0u);
}

TEST(ArenaPlanTest, RandomLifetimesAreAlwaysValidAndNearThePeak) {
  std::mt19937_64 random(1234);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<kiln_arena_buffer> buffers(1 + random() % 40);
    for (kiln_arena_buffer &b : buffers) {
      b.size = random() % 100000;
      b.alignment = uint64_t(1) << (random() % 9);
      b.first_use = random() % 30;
      b.last_use = b.first_use + random() % 10;
    }
    Plan result = plan(buffers);
    expectValid(buffers, result);
    EXPECT_GE(result.arenaSize, peakLiveBytes(buffers));
    // Greedy best fit stays within twice the lower bound on such inputs.
    EXPECT_LE(result.arenaSize, 2 * peakLiveBytes(buffers) + 256 * buffers.size());
  }
}

TEST(ArenaPlanTest, RejectsBadInput) {
  Plan badAlignment = plan({{16, 24, 0, 1}});
  EXPECT_EQ(badAlignment.status, KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(badAlignment.error.find("alignment 24 is not a power of two"), std::string::npos);
  Plan backwards = plan({{16, 8, 3, 1}});
  EXPECT_EQ(backwards.status, KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(backwards.error.find("first use 3 is after last use 1"), std::string::npos);
  // Two huge buffers alive together cannot fit in 64 bits.
  Plan overflow = plan({{UINT64_MAX / 2 + 1, 1, 0, 1}, {UINT64_MAX / 2 + 1, 1, 0, 1}});
  EXPECT_EQ(overflow.status, KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(overflow.error.find("overflows"), std::string::npos);
  Plan alignOverflow = plan({{UINT64_MAX - 10, 1, 0, 1}, {1, uint64_t(1) << 63, 0, 1}});
  EXPECT_EQ(alignOverflow.status, KILN_ERROR_INVALID_ARGUMENT);
}

TEST(ArenaPlanTest, EmptyPlanIsEmpty) {
  uint64_t size = 99;
  EXPECT_EQ(kiln_arena_plan(nullptr, 0, nullptr, &size, nullptr, 0), KILN_OK);
  EXPECT_EQ(size, 0u);
}

TEST(ArenaPlanTest, CheckAcceptsPlannerOutputAndRejectsBadPlacements) {
  std::vector<kiln_arena_buffer> buffers = {{1000, 256, 0, 2}, {4000, 1024, 1, 3}};
  Plan result = plan(buffers);
  uint64_t size = 0, alignment = 0;
  ASSERT_EQ(kiln_arena_check(result.placements.data(), 2, &size, &alignment, nullptr, 0),
            KILN_OK);
  EXPECT_EQ(size, result.arenaSize);
  EXPECT_EQ(alignment, 1024u);

  char error[128];
  kiln_arena_placement misaligned = {8, 8, 16};
  EXPECT_EQ(kiln_arena_check(&misaligned, 1, &size, &alignment, error, sizeof(error)),
            KILN_ERROR_INVALID_ARGUMENT);
  kiln_arena_placement overflowing = {UINT64_MAX - 7, 16, 8};
  EXPECT_EQ(kiln_arena_check(&overflowing, 1, &size, &alignment, error, sizeof(error)),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(error, "buffer 0: offset + size overflows 64 bits");
}

} // namespace

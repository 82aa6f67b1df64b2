//===- ProgressTest.cpp - the progress bar's line -------------------------===//
#include "kiln/Lowering/Progress.h"

#include <gtest/gtest.h>

using kiln::Progress;

TEST(Progress, HalfWayShowsCountElapsedAndEta) {
  // 3 of 12 in 1.5 s: 0.5 s per step, 9 left -> 4.5 s; 24 * 3 / 12 = 6 filled.
  EXPECT_EQ(Progress::render("gptq", 3, 12, 1.5),
            "kiln: gptq [======>                 ] 3/12  1.5 s, ETA 4.5 s");
}

TEST(Progress, FinishedHasAFullBarAndNoEta) {
  EXPECT_EQ(Progress::render("calibration runs", 4, 4, 2.0),
            "kiln: calibration runs [========================] 4/4  2.0 s");
}

TEST(Progress, NothingDoneHasNoEta) {
  EXPECT_EQ(Progress::render("distill", 0, 5, 0.0),
            "kiln: distill [>                       ] 0/5  0.0 s");
}

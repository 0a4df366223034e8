#include "cost/quick_evaluation.h"

#include <gtest/gtest.h>

using namespace layerlab::ui;

TEST(QuickEvaluation, TheQuickLevelIsAFifthOfTheRefinedOne) {
    DataSettings d;
    d.evaluationWindows = 20;
    d.evaluationItems = 200;
    EXPECT_EQ(quickLevel(d, 0).windows, 4);
    EXPECT_EQ(quickLevel(d, 0).items, 40);
    EXPECT_EQ(quickLevel(d, 1).windows, 20);
    EXPECT_EQ(quickLevel(d, 1).items, 200);
    // small samples: at least 2 windows and 10 items, never more than the refined level
    d.evaluationWindows = 3;
    d.evaluationItems = 12;
    EXPECT_EQ(quickLevel(d, 0).windows, 2);
    EXPECT_EQ(quickLevel(d, 0).items, 10);
    d.evaluationWindows = 1;
    d.evaluationItems = 5;
    EXPECT_EQ(quickLevel(d, 0).windows, 1);
    EXPECT_EQ(quickLevel(d, 0).items, 5);
}

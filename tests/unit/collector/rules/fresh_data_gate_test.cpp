#include "mingus/collector/rules/fresh_data_gate.h"

#include <gtest/gtest.h>

namespace mingus::collector::rules {
namespace {

// Times in seconds for reading; the gate takes milliseconds.
constexpr int64_t S(int64_t seconds) { return seconds * 1000; }

class FreshDataGateTest : public ::testing::Test {
 protected:
  // Every target's last scrape started at `scraped_at_`.
  FreshDataGate gate_{[this](int64_t since_ms) { return scraped_at_ >= since_ms; },
                      [this] { return longest_; }};
  int64_t scraped_at_ = S(0);
  int64_t longest_ = S(25);
};

TEST_F(FreshDataGateTest, OpenUntilClosed) { EXPECT_TRUE(gate_.Admits(S(10), S(10))); }

TEST_F(FreshDataGateTest, AdmitsTheFirstTurnDueAfterEveryTargetWasScrapedSinceClosing) {
  gate_.Close(S(100));
  EXPECT_FALSE(gate_.Admits(S(100), S(100)));
  scraped_at_ = S(99);  // a scrape that started before: its data may be from before, too
  EXPECT_FALSE(gate_.Admits(S(105), S(105)));
  scraped_at_ = S(106);
  // The turn due at 110 is looked at late, after the scrape of 106 finished at 111: it would be
  // evaluated at 110, which does not see it.
  EXPECT_FALSE(gate_.Admits(S(110), S(112)));
  EXPECT_TRUE(gate_.Admits(S(115), S(115)));
  EXPECT_TRUE(gate_.Admits(S(120), S(120)));  // and stays open
}

TEST_F(FreshDataGateTest, ATargetThatIsNeverScrapedHoldsTheRulesForTheLongestWaitOnly) {
  gate_.Close(S(100));
  EXPECT_FALSE(gate_.Admits(S(120), S(124)));
  EXPECT_TRUE(gate_.Admits(S(125), S(125)));
}

TEST_F(FreshDataGateTest, TheLongestWaitFollowsAReload) {
  gate_.Close(S(100));
  longest_ = S(60);  // a reload made the scrapes slower
  EXPECT_FALSE(gate_.Admits(S(125), S(125)));
  EXPECT_FALSE(gate_.Admits(S(155), S(159)));
  EXPECT_TRUE(gate_.Admits(S(160), S(160)));
}

TEST_F(FreshDataGateTest, ClosingAgainWaitsForNewScrapes) {
  gate_.Close(S(100));
  scraped_at_ = S(101);
  EXPECT_FALSE(gate_.Admits(S(100), S(102)));
  EXPECT_TRUE(gate_.Admits(S(105), S(105)));
  gate_.Close(S(400));  // a clock step
  EXPECT_FALSE(gate_.Admits(S(405), S(405)));
  scraped_at_ = S(406);
  EXPECT_FALSE(gate_.Admits(S(405), S(407)));
  EXPECT_TRUE(gate_.Admits(S(410), S(410)));
}

}  // namespace
}  // namespace mingus::collector::rules

#include "mingus/collector/events/sentiment.h"

#include <gtest/gtest.h>

namespace mingus::collector::events {
namespace {

TEST(SentimentScore, CountsLexiconWordsWithNegation) {
  EXPECT_EQ(SentimentScore(""), 0);
  EXPECT_EQ(SentimentScore("meh, whatever"), 0);
  EXPECT_EQ(SentimentScore("Great app, I LOVE it!"), 2);
  EXPECT_EQ(SentimentScore("slow and buggy"), -2);
  EXPECT_EQ(SentimentScore("not good"), -1);
  EXPECT_EQ(SentimentScore("never slow"), 1);
  EXPECT_EQ(SentimentScore("don't like it, but it's fast"), 0);  // -1 + 1
  EXPECT_EQ(SentimentScore("not very good"), 1);                 // only the next word is negated
  EXPECT_EQ(SentimentScore("'great' (good)"), 2);                // quotes are not part of words
  EXPECT_EQ(SentimentScore("goodness greatly"), 0);              // whole words only
  EXPECT_EQ(SentimentScore("bad\xc3\xa9good"), 0);               // non-ASCII separates: -1 + 1
  EXPECT_EQ(SentimentScore("'' ' not"), 0);
}

}  // namespace
}  // namespace mingus::collector::events

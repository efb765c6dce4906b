#include "mingus/collector/events/sentiment.h"

#include <algorithm>
#include <array>
#include <string>

namespace mingus::collector::events {

namespace {

// Keep in step with docs/insights.md ("Comment sentiment"), which the integration test reads.
constexpr auto kPositive = std::to_array<std::string_view>({
    "amazing",   "awesome", "best",   "clear",  "easy",    "excellent",
    "fantastic", "fast",    "good",   "great",  "happy",   "helpful",
    "intuitive", "like",    "love",   "nice",   "perfect", "recommend",
    "reliable",  "simple",  "smooth", "thanks", "useful",  "wonderful",
});
constexpr auto kNegative = std::to_array<std::string_view>({
    "annoying", "awful",       "bad",       "broken",       "bug",     "buggy",     "confusing",
    "crash",    "crashes",     "difficult", "disappointed", "error",   "expensive", "fail",
    "failed",   "frustrating", "hard",      "hate",         "missing", "poor",      "slow",
    "terrible", "useless",     "worst",     "wrong",
});
constexpr auto kNegators = std::to_array<std::string_view>({
    "can't",
    "cannot",
    "didn't",
    "doesn't",
    "don't",
    "hardly",
    "isn't",
    "never",
    "no",
    "not",
    "wasn't",
    "won't",
});

bool Contains(const auto& words, std::string_view word) {
  return std::binary_search(words.begin(), words.end(), word);
}

bool IsWordChar(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '\''; }

}  // namespace

int SentimentScore(std::string_view comment) {
  static_assert(std::is_sorted(kPositive.begin(), kPositive.end()) &&
                std::is_sorted(kNegative.begin(), kNegative.end()) &&
                std::is_sorted(kNegators.begin(), kNegators.end()));
  int score = 0;
  bool negated = false;
  std::string word;
  for (size_t at = 0; at < comment.size();) {
    if (!IsWordChar(comment[at])) {
      ++at;
      continue;
    }
    word.clear();
    for (; at < comment.size() && IsWordChar(comment[at]); ++at) {
      const char c = comment[at];
      word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    const size_t first = word.find_first_not_of('\'');
    if (first == std::string::npos) continue;  // apostrophes only: not a word
    const std::string_view bare =
        std::string_view(word).substr(first, word.find_last_not_of('\'') - first + 1);
    const int sign = negated ? -1 : 1;
    if (Contains(kPositive, bare)) score += sign;
    if (Contains(kNegative, bare)) score -= sign;
    negated = Contains(kNegators, bare);
  }
  return score;
}

}  // namespace mingus::collector::events

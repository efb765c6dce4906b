#pragma once

#include <string_view>

// Comment sentiment for the insights report, from a small lexicon (listed in docs/insights.md,
// which the integration test reads to check the report independently).
namespace mingus::collector::events {

// The comment's words are runs of ASCII letters and apostrophes, lower-cased, with apostrophes
// at either end dropped. Each positive word of the lexicon counts +1 and each negative word -1,
// the other way round right after a negator ("not good" is -1, "never slow" +1).
int SentimentScore(std::string_view comment);

}  // namespace mingus::collector::events

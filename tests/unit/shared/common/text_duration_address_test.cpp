#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mingus/common/address.h"
#include "mingus/common/duration.h"
#include "mingus/common/file.h"
#include "mingus/common/text.h"

namespace mingus {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using std::chrono::milliseconds;

TEST(Text, SplitFieldsSkipsRunsOfBlanks) {
  std::vector<std::string_view> fields;
  text::SplitFields("  a\tbb   c \r", fields);
  EXPECT_THAT(fields, ElementsAre("a", "bb", "c"));
  text::SplitFields("   ", fields);
  EXPECT_TRUE(fields.empty());
}

TEST(Text, ForEachLineSeesALastLineWithoutNewline) {
  std::vector<std::string_view> lines;
  text::ForEachLine("a\n\nb", [&](std::string_view l) { lines.push_back(l); });
  EXPECT_THAT(lines, ElementsAre("a", "", "b"));
}

TEST(Text, WholeStringNumbers) {
  EXPECT_EQ(text::ParseUint64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(text::ParseUint64("18446744073709551616"));
  EXPECT_FALSE(text::ParseUint64("-1"));
  EXPECT_FALSE(text::ParseUint64("12 "));
  EXPECT_FALSE(text::ParseUint64(""));
  EXPECT_EQ(text::ParseInt64("-5"), -5);
  EXPECT_EQ(text::ParseDouble("0.25"), 0.25);
  EXPECT_FALSE(text::ParseDouble("0.25x"));
}

// Short decimals take a fast path; it must give the very double std::from_chars gives, and
// refuse what it refuses.
TEST(Text, ParseDoubleAgreesWithFromChars) {
  std::mt19937_64 random(42);
  const std::string alphabet = "0123456789.-e+x";
  int fast = 0;
  for (int i = 0; i < 200'000; ++i) {
    std::string s;
    const size_t length = 1 + random() % 20;
    for (size_t k = 0; k < length; ++k) {
      // Mostly digits, so that many strings are valid numbers.
      s.push_back(random() % 4 != 0 ? alphabet[random() % 10] : alphabet[random() % alphabet.size()]);
    }
    double expected = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), expected);
    const auto parsed = text::ParseDouble(s);
    if (ec != std::errc() || end != s.data() + s.size()) {
      EXPECT_FALSE(parsed.has_value()) << s;
      continue;
    }
    ASSERT_TRUE(parsed.has_value()) << s;
    EXPECT_EQ(std::bit_cast<uint64_t>(*parsed), std::bit_cast<uint64_t>(expected)) << s;
    fast += s.find_first_of("e+") == std::string::npos && length <= 16;
  }
  EXPECT_GT(fast, 10'000);  // the fast path was exercised
  EXPECT_EQ(text::ParseDouble("-0"), -0.0);
  EXPECT_TRUE(std::signbit(*text::ParseDouble("-0.0")));
  EXPECT_EQ(text::ParseDouble("123456789012345"), 123456789012345.0);
  EXPECT_EQ(text::ParseDouble("0.1"), 0.1);
  EXPECT_EQ(text::ParseDouble("9007199254740993"), 9007199254740992.0);  // 16 digits: from_chars rounds
}

TEST(Duration, PrometheusSyntax) {
  EXPECT_EQ(*ParseDuration("15s"), milliseconds(15'000));
  EXPECT_EQ(*ParseDuration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("1m500ms"), milliseconds(60'500));
  EXPECT_EQ(*ParseDuration("1d"), milliseconds(86'400'000));
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));
  EXPECT_THAT(ParseDuration("").message(), HasSubstr("empty"));
  EXPECT_THAT(ParseDuration("10").message(), HasSubstr("unknown unit"));
  EXPECT_THAT(ParseDuration("5x").message(), HasSubstr("unknown unit"));
  EXPECT_THAT(ParseDuration("30s1m").message(), HasSubstr("largest to smallest"));
  EXPECT_THAT(ParseDuration("s").message(), HasSubstr("expected a number"));
  EXPECT_THAT(ParseDuration("99999999999999999999y").message(), HasSubstr("too large"));
  EXPECT_THAT(ParseDuration("9999999999y").message(), HasSubstr("too large"));
}

TEST(Duration, FormatReadsBack) {
  for (const char* text : {"0s", "1m30s", "500ms", "2h", "1w2d", "1y", "1y25w1d17h"}) {
    EXPECT_EQ(FormatDuration(*ParseDuration(text)), text);
  }
}

TEST(Rfc3339, FormatsUtcWithTheShortestFraction) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1'796'032'800'250), "2026-11-30T10:00:00.25Z");
  EXPECT_EQ(FormatRfc3339(1'796'032'800'007), "2026-11-30T10:00:00.007Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(-1000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(-1001), "1969-12-31T23:59:58.999Z");
}

// Found by fuzz_http_request (UBSan: signed overflow): /api/monitoring/dashboard?time=1e300
// reached FormatRfc3339 with the most negative time. Both ends format without overflow now.
TEST(Rfc3339, FormatsTheExtremeTimes) {
  EXPECT_THAT(FormatRfc3339(std::numeric_limits<int64_t>::min()), EndsWith(".192Z"));
  EXPECT_THAT(FormatRfc3339(std::numeric_limits<int64_t>::max()), EndsWith(".807Z"));
  const std::string most = FormatDuration(milliseconds(std::numeric_limits<int64_t>::max()));
  ASSERT_THAT(most, EndsWith("807ms"));
  EXPECT_EQ(FormatDuration(milliseconds(std::numeric_limits<int64_t>::min())),
            "-" + most.substr(0, most.size() - 5) + "808ms");
}

TEST(Address, ParsesTheForms) {
  EXPECT_EQ(ParseHostPort("127.0.0.1:9110")->ToString(), "127.0.0.1:9110");
  EXPECT_EQ(ParseHostPort("[::1]:0")->ToString(), "[::1]:0");
  EXPECT_EQ(ParseHostPort("localhost:80")->host, "127.0.0.1");
  EXPECT_EQ(ParseHostPort(":9110")->host, "0.0.0.0");
  EXPECT_THAT(ParseHostPort("127.0.0.1").message(), HasSubstr("missing ':port'"));
  EXPECT_THAT(ParseHostPort("127.0.0.1:70000").message(), HasSubstr("port"));
  EXPECT_THAT(ParseHostPort("example.com:80").message(), HasSubstr("IP address or localhost"));
  EXPECT_THAT(ParseHostPort("::1:80").message(), HasSubstr("brackets"));
}

TEST(File, ReadsAndRefuses) {
  EXPECT_THAT(ReadFile("/nonexistent/file").message(), HasSubstr("/nonexistent/file"));
  EXPECT_TRUE(ReadFile("/proc/self/stat").ok());  // size 0 in stat(), read to EOF
  EXPECT_THAT(ReadFile("/proc/self/stat", 4).message(), HasSubstr("larger than 4 bytes"));
  EXPECT_EQ(JoinPath("/", "proc"), "/proc");
  EXPECT_EQ(JoinPath("/host/", "/proc/1"), "/host/proc/1");
  EXPECT_EQ(JoinPath("fixtures", "stat"), "fixtures/stat");
}

}  // namespace
}  // namespace mingus

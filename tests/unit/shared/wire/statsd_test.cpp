#include "mingus/wire/statsd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mingus::wire {
namespace {

StatsdLine Parse(std::string_view line) {
  StatsdLine out;
  const auto error = ParseStatsdLine(line, out);
  EXPECT_FALSE(error) << line << ": " << ReasonName(*error);
  return out;
}

std::string_view ErrorOf(std::string_view line) {
  StatsdLine out;
  const auto error = ParseStatsdLine(line, out);
  return error ? ReasonName(*error) : "ok";
}

TEST(StatsdLine, EveryType) {
  EXPECT_EQ(Parse("hits:1|c").type, StatsdType::kCounter);
  EXPECT_EQ(Parse("temp:21.5|g").value, 21.5);
  EXPECT_EQ(Parse("latency:320|ms").type, StatsdType::kTimer);
  EXPECT_EQ(Parse("size:-3|h").value, -3);
  EXPECT_EQ(Parse("size:7|d").type, StatsdType::kDistribution);
  const StatsdLine set = Parse("users:ada|s");
  EXPECT_EQ(set.type, StatsdType::kSet);
  EXPECT_EQ(set.set_member, "ada");
  EXPECT_EQ(Parse("a.b-c_d:1|c").name, "a.b-c_d");
}

TEST(StatsdLine, GaugeDeltasCarryTheirSign) {
  EXPECT_FALSE(Parse("g:5|g").gauge_delta);
  const StatsdLine up = Parse("g:+5|g");
  EXPECT_TRUE(up.gauge_delta);
  EXPECT_EQ(up.value, 5);
  const StatsdLine down = Parse("g:-2.5|g");
  EXPECT_TRUE(down.gauge_delta);
  EXPECT_EQ(down.value, -2.5);
}

TEST(StatsdLine, SampleRateTagsAndDogStatsdSections) {
  const StatsdLine line = Parse("api.latency:12|ms|@0.25|#endpoint:/users,method:GET|c:abc123|T1700000000");
  EXPECT_EQ(line.sample_rate, 0.25);
  EXPECT_EQ(line.tags, "endpoint:/users,method:GET");
  std::vector<std::pair<std::string_view, std::string_view>> tags;
  EXPECT_EQ(ForEachTag(line.tags, [&](auto k, auto v) { tags.emplace_back(k, v); }), 0u);
  EXPECT_THAT(tags, ::testing::ElementsAre(std::pair<std::string_view, std::string_view>{"endpoint", "/users"},
                                           std::pair<std::string_view, std::string_view>{"method", "GET"}));
  EXPECT_EQ(Parse("x:1|c|#a:b|@0.5").sample_rate, 0.5);  // any order
  EXPECT_EQ(Parse("x:1|c\r").name, "x");
}

TEST(StatsdLine, MalformedTagsAreCountedAndSkipped) {
  std::vector<std::string_view> keys;
  EXPECT_EQ(ForEachTag("good:1,novalue,:nokey,,also:2", [&](auto k, auto) { keys.push_back(k); }), 2u);
  EXPECT_THAT(keys, ::testing::ElementsAre("good", "also"));
}

TEST(StatsdLine, EveryMalformedClassHasItsReason) {
  EXPECT_EQ(ErrorOf(""), "empty_line");
  EXPECT_EQ(ErrorOf("\r"), "empty_line");
  EXPECT_EQ(ErrorOf("name\xff:1|c"), "not_utf8");
  EXPECT_EQ(ErrorOf("name\xc0\xaf:1|c"), "not_utf8");  // overlong '/'
  EXPECT_EQ(ErrorOf("name"), "missing_value");
  EXPECT_EQ(ErrorOf("name:"), "missing_value");
  EXPECT_EQ(ErrorOf("name:|c"), "missing_value");
  EXPECT_EQ(ErrorOf("name:1"), "missing_type");
  EXPECT_EQ(ErrorOf("name:1|"), "missing_type");
  EXPECT_EQ(ErrorOf("name:1|x"), "unknown_type");
  EXPECT_EQ(ErrorOf("name:abc|c"), "bad_value");
  EXPECT_EQ(ErrorOf("name:1,5|g"), "bad_value");
  EXPECT_EQ(ErrorOf("name:0x10|c"), "bad_value");
  EXPECT_EQ(ErrorOf("name:NaN|g"), "not_finite");
  EXPECT_EQ(ErrorOf("name:inf|ms"), "not_finite");
  EXPECT_EQ(ErrorOf("name:-1|c"), "negative_counter");
  EXPECT_EQ(ErrorOf("name:-1|ms"), "negative_timer");
  EXPECT_EQ(ErrorOf("name:1|c|@0"), "bad_sample_rate");
  EXPECT_EQ(ErrorOf("name:1|c|@1.5"), "bad_sample_rate");
  EXPECT_EQ(ErrorOf("name:1|c|@x"), "bad_sample_rate");
  EXPECT_EQ(ErrorOf("name:1|c|#k:" + std::string(300, 'v')), "oversized_tag");
  EXPECT_EQ(ErrorOf("name:1|c|%what"), "unknown_section");
  EXPECT_EQ(ErrorOf(":1|c"), "empty_name");
}

}  // namespace
}  // namespace mingus::wire

#include "mingus/client/wire.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "mingus/common/utf8.h"
#include "mingus/wire/json_event.h"
#include "mingus/wire/statsd.h"

namespace mingus::client {
namespace {

std::string Json(std::string_view text, size_t max = kMaxStringBytes) {
  std::string out;
  wire::AppendJsonString(out, text, max);
  return out;
}

TEST(ClientWireTest, JsonStringEscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Json("plain"), R"("plain")");
  EXPECT_EQ(Json("say \"hi\" \\ bye"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(Json("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
  EXPECT_EQ(Json(std::string_view("\x01\x1f\0", 3)), R"("\u0001\u001f\u0000")");
  EXPECT_EQ(Json("\x7f/</script>"), "\"\x7f/</script>\"");
}

TEST(ClientWireTest, JsonStringKeepsUtf8AndReplacesWhatIsNot) {
  EXPECT_EQ(Json("écran 用户 😀"), "\"écran 用户 😀\"");
  // A lone continuation byte, an overlong '/', a surrogate and a truncated sequence.
  EXPECT_EQ(Json("a\x80z"), "\"a\xEF\xBF\xBDz\"");
  EXPECT_EQ(Json("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(Json("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(Json("x\xE2\x82"), "\"x\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(ClientWireTest, JsonStringTruncatesAtACharacterBoundary) {
  std::string out;
  EXPECT_FALSE(wire::AppendJsonString(out, "abcd", 4));
  EXPECT_EQ(out, R"("abcd")");
  out.clear();
  EXPECT_TRUE(wire::AppendJsonString(out, "abcde", 4));
  EXPECT_EQ(out, R"("abcd")");
  out.clear();
  // "é" is two bytes; a cut after its first byte drops it instead of writing half of it.
  EXPECT_TRUE(wire::AppendJsonString(out, "abcé", 4));
  EXPECT_EQ(out, R"("abc")");
}

TEST(ClientWireTest, NumbersAreShortestAndLocaleFree) {
  std::string out;
  wire::AppendNumber(out, 12.5);
  out += ' ';
  wire::AppendNumber(out, 200);
  out += ' ';
  wire::AppendNumber(out, 0.1);
  out += ' ';
  wire::AppendNumber(out, 1e300);
  EXPECT_EQ(out, "12.5 200 0.1 1e+300");
}

// Every line the SDK writes is accepted by the agent's own parsers, with the same values.
TEST(ClientWireTest, JsonLinesParseInTheAgent) {
  std::string line;
  wire::JsonLine event(line, "feedback");
  event.Text("user_id", "u\"1\n").Text("kind", "nps").Number("rating", 9.5);
  event.Text("comment", std::string(2000, 'x') + "\x01\xff");
  event.Finish();
  EXPECT_TRUE(event.truncated());

  mingus::wire::JsonEventParser parser;
  mingus::wire::JsonEvent parsed;
  ASSERT_EQ(parser.Parse(line, parsed), std::nullopt) << line << " " << parser.detail();
  EXPECT_EQ(parsed.type, mingus::wire::EventType::kFeedback);
  EXPECT_EQ(parsed.user_id, "u\"1\n");
  EXPECT_EQ(parsed.rating, 9.5);
  EXPECT_EQ(parsed.comment, std::string(kMaxStringBytes, 'x'));

  line.clear();
  wire::JsonLine bad_bytes(line, "feature");
  bad_bytes.Text("user_id", "\xc3(").Text("feature", std::string_view("a\0b", 3));
  bad_bytes.Finish();
  ASSERT_EQ(parser.Parse(line, parsed), std::nullopt) << line;
  EXPECT_EQ(parsed.user_id, "\xEF\xBF\xBD(");
  EXPECT_EQ(parsed.feature, std::string_view("a\0b", 3));
}

TEST(ClientWireTest, StatsdLinesAreSanitisedAndParseInTheAgent) {
  std::string line;
  const std::string long_value(400, 'v');  // Tag only views it
  const Tag tags[] = {{"route", "/users|x"}, {"code,1", "200"}, {"long", long_value}};
  EXPECT_TRUE(wire::AppendStatsdLine(line, "api:latency#1", 12.5, "ms", tags));
  mingus::wire::StatsdLine parsed;
  ASSERT_EQ(mingus::wire::ParseStatsdLine(line, parsed), std::nullopt) << line;
  EXPECT_EQ(parsed.name, "api_latency_1");
  EXPECT_EQ(parsed.type, mingus::wire::StatsdType::kTimer);
  EXPECT_EQ(parsed.value, 12.5);
  std::vector<std::pair<std::string, std::string>> seen;
  EXPECT_EQ(mingus::wire::ForEachTag(parsed.tags, [&](auto k, auto v) { seen.emplace_back(k, v); }),
            0u);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], (std::pair<std::string, std::string>{"route", "_users_x"}));
  EXPECT_EQ(seen[1].first, "code_1");
  EXPECT_EQ(seen[2].first.size() + 1 + seen[2].second.size(), kMaxTagBytes);
}

// Random bytes (controls, quotes, broken UTF-8 and all) in every string field: the agent's parser
// accepts each line, and gives back the text itself wherever it was well-formed and short enough.
TEST(ClientWireTest, RandomBytesAlwaysMakeALineTheAgentAccepts) {
  std::mt19937 random(20261129);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 700), pick(0, 3);
  mingus::wire::JsonEventParser parser;
  mingus::wire::JsonEvent parsed;
  for (int round = 0; round < 2000; ++round) {
    std::string text(static_cast<size_t>(length(random)), '\0');
    for (char& c : text) {
      // Mostly ASCII and whole UTF-8 sequences, with raw bytes mixed in.
      c = static_cast<char>(pick(random) == 0 ? byte(random) : 0x20 + byte(random) % 0x60);
    }
    if (round % 3 == 0) text += "é用😀\"\\\n";
    std::string line;
    wire::JsonLine event(line, "interaction");
    event.Text("user_id", text).Text("event_type", "click").Text("element_id", text);
    event.Text("page_url", "/");
    event.Finish();
    ASSERT_EQ(parser.Parse(line, parsed), std::nullopt) << "round " << round << ": " << line;
    if (text.size() <= kMaxStringBytes && mingus::utf8::IsValidUtf8(text)) {
      EXPECT_EQ(parsed.user_id, text) << "round " << round;
    }

    std::string statsd;
    const Tag tags[] = {{text, text}};
    wire::AppendStatsdLine(statsd, "n" + text, 1, "c", tags);
    mingus::wire::StatsdLine parsed_statsd;
    EXPECT_EQ(mingus::wire::ParseStatsdLine(statsd, parsed_statsd), std::nullopt) << statsd;
  }
}

TEST(ClientWireTest, PackingFillsDatagramsBelowTheLimitWithoutSplittingRecords) {
  std::string buffer;
  std::vector<uint32_t> ends;
  for (int i = 0; i < 500; ++i) {
    buffer += "metric." + std::to_string(i) + ":1|c";
    if (i % 7 == 0) buffer += "\nsecond.line:1|c";  // a two-line record
    buffer += '\n';
    ends.push_back(static_cast<uint32_t>(buffer.size()));
  }
  std::string joined;
  size_t records = 0;
  std::vector<size_t> sizes;
  wire::PackDatagrams(buffer, ends, kMaxDatagramBytes, [&](std::string_view d, size_t n) {
    sizes.push_back(d.size());
    records += n;
    joined.append(d);
    EXPECT_EQ(d.back(), '\n');
  });
  EXPECT_EQ(joined, buffer);
  EXPECT_EQ(records, ends.size());
  ASSERT_GT(sizes.size(), 1u);
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_LT(sizes[i], kMaxDatagramBytes);
    // Full: the next record did not fit.
    if (i + 1 < sizes.size()) {
      EXPECT_GT(sizes[i], kMaxDatagramBytes - 40);
    }
  }
  // Every datagram begins at a record's start.
  size_t offset = 0;
  for (const size_t size : sizes) {
    offset += size;
    EXPECT_NE(std::find(ends.begin(), ends.end(), offset), ends.end());
  }
}

}  // namespace
}  // namespace mingus::client

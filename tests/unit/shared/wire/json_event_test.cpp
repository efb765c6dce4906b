#include "mingus/wire/json_event.h"

#include <gtest/gtest.h>

namespace mingus::wire {
namespace {

class JsonEventTest : public ::testing::Test {
 protected:
  JsonEvent Parse(std::string_view line) {
    JsonEvent event;
    const auto error = parser_.Parse(line, event);
    EXPECT_FALSE(error) << line << ": " << ReasonName(*error) << " " << parser_.detail();
    return event;
  }
  std::string ErrorOf(std::string_view line) {
    JsonEvent event;
    const auto error = parser_.Parse(line, event);
    if (!error) return "ok";
    std::string out(ReasonName(*error));
    if (!parser_.detail().empty()) out += ":" + std::string(parser_.detail());
    return out;
  }
  JsonEventParser parser_;
};

TEST_F(JsonEventTest, EveryEventType) {
  const JsonEvent api = Parse(
      R"({"type":"api","endpoint":"/users/42","method":"GET","status":200,"duration_ms":12.5,"user_id":"u1","ts":1700000000.5,"extra":[1,2]})");
  EXPECT_EQ(api.type, EventType::kApi);
  EXPECT_EQ(api.endpoint, "/users/42");
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(api.duration_ms, 12.5);
  EXPECT_EQ(api.ts, 1700000000.5);
  EXPECT_EQ(Parse(R"({"type":"db","query":"SELECT 1","duration_ms":3,"rows":1})").rows, 1);
  EXPECT_EQ(Parse(R"({"type":"score","name":"risk","duration_ms":40,"input_size":10,"cached":true})").cached, true);
  EXPECT_EQ(Parse(R"({"type":"engagement","user_id":7,"session_id":"s","action":"login"})").action, "login");
  EXPECT_EQ(Parse(R"({"type":"feature","user_id":"u","feature":"budget","usage_time":30})").feature, "budget");
  EXPECT_EQ(Parse(R"({"type":"feedback","user_id":"u","kind":"nps","rating":9,"comment":"great"})").rating, 9);
  EXPECT_EQ(Parse(R"({"type":"user_metric","user_id":"u","metric":"savings","value":-3.5})").value, -3.5);
  EXPECT_EQ(Parse(R"({"type":"interaction","user_id":"u","session_id":"s","event_type":"click","element_id":"buy","page_url":"/cart"})").element_id, "buy");
  EXPECT_EQ(Parse(R"({"type":"experiment","experiment":"cta","variant":"B","user_id":"u","event":"conversion"})").variant, "B");
  EXPECT_EQ(Parse(R"({"type":"cache","cache":"scores","result":"hit"})").result, "hit");
  EXPECT_EQ(Parse(R"({"type":"data_source","source":"plaid","cost":0.25,"value":1.5})").cost, 0.25);
}

TEST_F(JsonEventTest, IntegerAndStringIdsAgree) {
  EXPECT_EQ(Parse(R"({"type":"engagement","user_id":42,"action":"a","session_id":9})").user_id, "42");
  const JsonEvent event = Parse(R"({"type":"engagement","user_id":42,"action":"a","session_id":9})");
  EXPECT_EQ(event.session_id, "9");
  EXPECT_EQ(Parse(R"({"type":"engagement","user_id":"42","action":"a"})").user_id, "42");
}

TEST_F(JsonEventTest, EveryMalformedClassHasItsReason) {
  EXPECT_EQ(ErrorOf(R"({"type":"api",)"), "json_syntax");
  EXPECT_EQ(ErrorOf(R"({"type":"cache","cache":"c","result":"hit"} trailing)"), "json_syntax");
  EXPECT_EQ(ErrorOf("[1,2]"), "json_not_object");
  EXPECT_EQ(ErrorOf("{\"type\":\"cache\",\"cache\":\"\xff\",\"result\":\"hit\"}"), "not_utf8");
  EXPECT_EQ(ErrorOf(R"({"cache":"c","result":"hit"})"), "unknown_event_type");
  EXPECT_EQ(ErrorOf(R"({"type":"weird"})"), "unknown_event_type");
  EXPECT_EQ(ErrorOf(R"({"type":7})"), "unknown_event_type");
  EXPECT_EQ(ErrorOf(R"({"type":"api","endpoint":"/","method":"GET","status":200})"), "missing_field:duration_ms");
  EXPECT_EQ(ErrorOf(R"({"type":"api","endpoint":"/","method":"GET","status":200,"duration_ms":null})"),
            "missing_field:duration_ms");
  EXPECT_EQ(ErrorOf(R"({"type":"api","endpoint":"/","method":"GET","status":"200","duration_ms":1})"),
            "wrong_field_type:status");
  EXPECT_EQ(ErrorOf(R"({"type":"score","name":"s","duration_ms":1,"cached":"yes"})"), "wrong_field_type:cached");
  EXPECT_EQ(ErrorOf(R"({"type":"engagement","user_id":1.5,"action":"a"})"), "wrong_field_type:user_id");
  EXPECT_EQ(ErrorOf(R"({"type":"cache","cache":"c","result":"hit","ts":"now"})"), "wrong_field_type:ts");
  EXPECT_EQ(ErrorOf(R"({"type":"api","endpoint":"/","method":"GET","status":200,"duration_ms":-1})"),
            "bad_field_value:duration_ms");
  EXPECT_EQ(ErrorOf(R"({"type":"api","endpoint":"/","method":"GET","status":999,"duration_ms":1})"),
            "bad_field_value:status");
  EXPECT_EQ(ErrorOf(R"({"type":"experiment","experiment":"e","variant":"A","user_id":"u","event":"click"})"),
            "bad_field_value:event");
  EXPECT_EQ(ErrorOf(R"({"type":"data_source","source":"s","cost":1e999,"value":1})"), "bad_field_value:cost");
  EXPECT_EQ(ErrorOf(R"({"type":"cache","cache":"c","result":"hit","x":[[[[[[[[[[1]]]]]]]]]]})"), "json_too_deep");
}

TEST_F(JsonEventTest, OnlyTopLevelMembersCountAndTheLastDuplicateWins) {
  EXPECT_EQ(Parse(R"({"type":"cache","cache":"a","result":"hit","cache":"b"})").cache, "b");
  // A nested "type" or "cache" is not the event's.
  const JsonEvent nested =
      Parse(R"({"type":"cache","x":{"type":"api","cache":"n"},"y":[{"cache":"m"}],"cache":"c","result":"hit"})");
  EXPECT_EQ(nested.type, EventType::kCache);
  EXPECT_EQ(nested.cache, "c");
  EXPECT_EQ(ErrorOf(R"({"type":"cache","cache":{"name":"c"},"result":"hit"})"), "wrong_field_type:cache");
  EXPECT_EQ(ErrorOf(R"({"type":"cache","cache":["c"],"result":"hit"})"), "wrong_field_type:cache");
  EXPECT_EQ(ErrorOf(R"([{"type":"cache","cache":"c","result":"hit"}])"), "json_not_object");
  EXPECT_EQ(ErrorOf(R"("type")"), "json_not_object");
}

TEST_F(JsonEventTest, WhitespaceAroundTheObjectIsFine) {
  // A CRLF client leaves '\r' at the end of each line.
  EXPECT_EQ(Parse(" {\"type\":\"cache\",\"cache\":\"c\",\"result\":\"hit\"} \r").result, "hit");
  EXPECT_EQ(ErrorOf("{\"type\":\"cache\",\"cache\":\"c\",\"result\":\"hit\"} x"), "json_syntax");
}

TEST_F(JsonEventTest, EscapesAreDecodedInKeysAndValues) {
  const JsonEvent event = Parse(R"({"t\u0079pe":"cache","cache":"a\"b\u00e9\n","result":"hit"})");
  EXPECT_EQ(event.type, EventType::kCache);
  EXPECT_EQ(event.cache, "a\"b\xc3\xa9\n");
  EXPECT_EQ(event.result, "hit");
}

TEST_F(JsonEventTest, ParserIsReusableAndLargeEventsStillParse) {
  const std::string big_comment(100'000, 'x');
  const JsonEvent big = Parse(R"({"type":"feedback","user_id":"u","kind":"csat","rating":4,"comment":")" +
                              big_comment + "\"}");
  EXPECT_EQ(big.comment.size(), big_comment.size());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(Parse(R"({"type":"cache","cache":"c","result":"miss"})").result, "miss");
}

}  // namespace
}  // namespace mingus::wire

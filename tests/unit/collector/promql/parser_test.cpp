#include "mingus/collector/promql/parser.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mingus::collector::promql {
namespace {

using ::testing::HasSubstr;

std::string Round(std::string_view query) {
  const auto expr = Parse(query);
  if (!expr.ok()) return "error: " + expr.message();
  return Format(**expr);
}

ValueType TypeOf(std::string_view query) { return (*Parse(query))->type; }

TEST(PromqlParser, SelectorsRangesAndOffsets) {
  EXPECT_EQ(Round("up"), "up");
  EXPECT_EQ(Round(R"(http_requests_total{job="api", code!~"2..", method=~'GET|POST', path!="/"})"),
            R"(http_requests_total{job="api", code!~"2..", method=~"GET|POST", path!="/"})");
  EXPECT_EQ(Round(R"({__name__=~"node_.*", job="agent"})"), R"({__name__=~"node_.*", job="agent"})");
  EXPECT_EQ(Round("rate(x[5m] offset 1h)"), "rate(x[300000ms] offset 3600000ms)");
  EXPECT_EQ(Round("x offset -5m"), "x offset -300000ms");
  EXPECT_EQ(Round("x[1h30m]"), "x[5400000ms]");
  EXPECT_EQ(TypeOf("x[5m]"), ValueType::kRangeVector);
  EXPECT_EQ(TypeOf("x"), ValueType::kInstantVector);
}

TEST(PromqlParser, PrecedenceAndAssociativity) {
  EXPECT_EQ(Round("1 + 2 * 3"), "1 + 2 * 3");
  const auto expr = Parse("a - b - c");
  ASSERT_TRUE(expr.ok());
  // Left-associative: (a - b) - c, so the top node's right side is c.
  const auto& top = std::get<Binary>((*expr)->node);
  EXPECT_EQ(Format(*top.rhs), "c");
  const auto power = Parse("2 ^ 3 ^ 2");
  EXPECT_EQ(Format(*std::get<Binary>((*power)->node).lhs), "2");  // right-associative
  const auto unary = Parse("-2 ^ 2");
  EXPECT_TRUE(std::holds_alternative<Unary>((*unary)->node));  // -(2 ^ 2)
  const auto sets = Parse("a or b and c");
  EXPECT_EQ(std::get<Binary>((*sets)->node).op, "or");
  EXPECT_EQ(Round("-1"), "-1");
  EXPECT_EQ(TypeOf("1 + 1"), ValueType::kScalar);
  EXPECT_EQ(TypeOf("1 + x"), ValueType::kInstantVector);
}

TEST(PromqlParser, ModifiersAggregationsAndCalls) {
  EXPECT_EQ(Round("a > bool 1"), "a > bool 1");
  EXPECT_EQ(Round("a * on(job, instance) group_left(team) b"), "a * on(job, instance) group_left(team) b");
  EXPECT_EQ(Round("a / ignoring(code) b"), "a / ignoring(code) b");
  EXPECT_EQ(Round("sum by (job) (rate(x[5m]))"), "sum by (job) (rate(x[300000ms]))");
  EXPECT_EQ(Round("sum(rate(x[5m])) without (instance)"), "sum without (instance) (rate(x[300000ms]))");
  EXPECT_EQ(Round("topk(3, x)"), "topk (3, x)");
  EXPECT_EQ(Round("histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m])))"),
            "histogram_quantile(0.95, sum by (le) (rate(h_bucket[300000ms])))");
  EXPECT_EQ(Round("predict_linear(node_filesystem_avail_bytes[1h], 4 * 3600) < 0"),
            "predict_linear(node_filesystem_avail_bytes[3600000ms], 4 * 3600) < 0");
  EXPECT_EQ(Round("absent(up{job=\"x\"})"), R"(absent(up{job="x"}))");
  EXPECT_EQ(TypeOf("time()"), ValueType::kScalar);
  EXPECT_EQ(TypeOf("scalar(x)"), ValueType::kScalar);
  EXPECT_EQ(Round("round(x)"), "round(x)");
  EXPECT_EQ(Round("label_join(x, \"dst\", \"-\", \"a\", \"b\")"), R"(label_join(x, "dst", "-", "a", "b"))");
  EXPECT_EQ(Round("1e3 + 0x10 + .5 + Inf"), "1000 + 16 + 0.5 + inf");
}

TEST(PromqlParser, ErrorsGivePositionAndReason) {
  EXPECT_EQ(Round("sum(x"), "error: 1:6: parse error: unexpected end of input, expected \")\"");
  EXPECT_EQ(Round("rate(x)"), "error: 1:6: parse error: expected type range vector in call to function \"rate\", got instant vector");
  EXPECT_EQ(Round("nope(x)"), "error: 1:1: parse error: unknown function with name \"nope\"");
  EXPECT_THAT(Round("1 > 2"), HasSubstr("comparisons between scalars must use BOOL modifier"));
  EXPECT_THAT(Round("a + bool b"), HasSubstr("bool modifier can only be used on comparison operators"));
  EXPECT_THAT(Round("1 and x"), HasSubstr("set operator \"and\" not allowed"));
  EXPECT_THAT(Round("a and on(x) group_left b"), HasSubstr("no grouping allowed for \"and\""));
  EXPECT_THAT(Round("{job=\"\"}"), HasSubstr("at least one non-empty matcher"));
  EXPECT_THAT(Round("x{__name__=\"y\"}"), HasSubstr("metric name must not be set twice"));
  EXPECT_THAT(Round("x{a=~\"(\"}"), HasSubstr("bad regular expression"));
  EXPECT_THAT(Round("(x + 1)[5m]"), HasSubstr("ranges only allowed for vector selectors"));
  EXPECT_THAT(Round("rate(x[5m:1m])"), HasSubstr("subqueries are not supported"));
  EXPECT_THAT(Round("sum(x[5m])"), HasSubstr("expected type instant vector in aggregation expression"));
  EXPECT_THAT(Round("topk(x, y)"), HasSubstr("expected type scalar in aggregation parameter"));
  EXPECT_THAT(Round("x[5m] + 1"), HasSubstr("binary expression must contain only scalar and instant vector"));
  EXPECT_THAT(Round("x\n  + \"a"), HasSubstr("2:5: parse error: unterminated quoted string"));
  EXPECT_THAT(Round("x $"), HasSubstr("1:3: parse error: unexpected character '$'"));
  EXPECT_THAT(Round("x y"), HasSubstr("1:3: parse error: unexpected identifier \"y\""));
  EXPECT_THAT(Round("label_replace(x, \"1bad\", \"\", \"a\", \"(.*)\")"), HasSubstr("invalid label name \"1bad\""));
  EXPECT_THAT(Round(std::string(300, '(') + "1" + std::string(300, ')')), HasSubstr("nested deeper than 256"));
  EXPECT_THAT(Round(""), HasSubstr("unexpected end of input"));
}

// The PromQL compliance tester's queries: every one that stays within the subset parses, and
// every one that must fail is refused (or, where Prometheus refuses it only at evaluation,
// left to the engine: listed here).
TEST(PromqlParser, ComplianceQueries) {
  std::ifstream in(MINGUS_FIXTURES_DIR "/promql-compliance-queries.tsv");
  ASSERT_TRUE(in) << "tests/fixtures/promql-compliance-queries.tsv is missing";
  const std::set<std::string> refused_by_design = {
      R"(max_over_time((time() - max(demo_batch_last_success_timestamp_seconds) < 1000)[5m:10s] offset 5m))",
      R"(avg_over_time(rate(demo_cpu_usage_seconds_total[1m])[2m:10s]))"};
  const std::set<std::string> fail_at_evaluation = {R"(label_replace(demo_num_cpus, "instance", "", "", ""))"};
  std::string line;
  size_t parsed = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto tab = line.rfind('\t');
    const std::string query = line.substr(0, tab);
    const bool should_fail = line.substr(tab + 1) == "true";
    const auto result = Parse(query);
    if (should_fail && !fail_at_evaluation.contains(query)) {
      EXPECT_FALSE(result.ok()) << query;
    } else if (!refused_by_design.contains(query)) {
      EXPECT_TRUE(result.ok()) << query << ": " << result.message();
      ++parsed;
    }
  }
  EXPECT_EQ(parsed, 533u);
}

}  // namespace
}  // namespace mingus::collector::promql

// Routing, matchers and inhibition, each expectation worked out by hand from Alertmanager 0.25's
// pkg/labels/parse.go, dispatch/route.go and inhibit/inhibit.go; the routing cases were also
// checked with `amtool config routes test` and `amtool config routes show`.
#include "mingus/collector/notify/route.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mingus/collector/notify/config.h"
#include "mingus/config/yaml_reader.h"

namespace mingus::collector::notify {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Labels L(std::vector<std::pair<std::string, std::string>> pairs) {
  return *tsdb::MakeLabels(std::move(pairs));
}

Matcher Parse(std::string_view text) {
  auto matcher = ParseMatcher(text);
  EXPECT_TRUE(matcher.ok()) << text << ": " << matcher.message();
  return matcher.ok() ? *matcher : Matcher{};
}

std::string ParseError(std::string_view text) {
  auto matcher = ParseMatcher(text);
  EXPECT_FALSE(matcher.ok()) << text;
  return matcher.ok() ? "" : matcher.message();
}

NotifyConfig Load(const std::string& yaml) {
  LoadContext context;
  context.environment = [](std::string_view) { return std::optional<std::string>(); };
  return ParseNotifyConfig(yaml, "notify.yaml", context);
}

std::vector<std::string> Receivers(const Route& root, const Labels& labels) {
  std::vector<std::string> out;
  for (const Route* route : root.Match(labels)) out.push_back(route->options().receiver);
  return out;
}

TEST(NotifyMatcherTest, ParsesEachOperatorQuotedOrNot) {
  const Matcher equal = Parse(R"(severity="critical")");
  EXPECT_EQ(equal.type, Matcher::Type::kEqual);
  EXPECT_EQ(equal.name, "severity");
  EXPECT_EQ(equal.value, "critical");
  const Matcher regex = Parse(R"(team=~"a|b")");
  EXPECT_EQ(regex.type, Matcher::Type::kRegex);
  EXPECT_EQ(regex.value, "a|b");
  const Matcher not_equal = Parse("alertname!=Foo");
  EXPECT_EQ(not_equal.type, Matcher::Type::kNotEqual);
  EXPECT_EQ(not_equal.value, "Foo");
  EXPECT_EQ(Parse("x!~y.*").type, Matcher::Type::kNotRegex);
}

TEST(NotifyMatcherTest, WhitespaceAroundTokensIsDropped) {
  const Matcher m = Parse(" \t foo   =   bar baz  \n");
  EXPECT_EQ(m.name, "foo");
  EXPECT_EQ(m.value, "bar baz");  // inner spaces stay
  EXPECT_EQ(Parse(R"(foo = "  padded  " )").value, "  padded  ");
}

TEST(NotifyMatcherTest, EdgeCasesAsAlertmanager) {
  EXPECT_EQ(Parse("foo=").value, "");
  EXPECT_EQ(Parse(R"(foo="")").value, "");
  EXPECT_EQ(Parse("foo==bar").value, "=bar");  // '=' then the value "=bar"
  const Matcher regex = Parse("foo=~=bar");
  EXPECT_EQ(regex.type, Matcher::Type::kRegex);
  EXPECT_EQ(regex.value, "=bar");
  EXPECT_EQ(Parse("a:b=c").name, "a:b");  // the parser allows colons in names
}

TEST(NotifyMatcherTest, EscapesInsideTheValue) {
  EXPECT_EQ(Parse(R"(foo="a\"b")").value, "a\"b");
  EXPECT_EQ(Parse(R"(foo="a\\b")").value, "a\\b");
  EXPECT_EQ(Parse(R"(foo="a\nb")").value, "a\nb");
  EXPECT_EQ(Parse(R"(foo="a\xb")").value, "a\\xb");  // a spurious escape keeps its backslash
  EXPECT_EQ(Parse(R"(foo=a\)").value, "a\\");        // a last backslash is literal
  EXPECT_EQ(Parse("foo=\"two\nlines\"").value, "two\nlines");
}

TEST(NotifyMatcherTest, RefusesWhatAlertmanagerRefuses) {
  EXPECT_EQ(ParseError(R"(foo="abc)"), R"(matcher value contains unescaped double quote: "abc)");
  EXPECT_EQ(ParseError(R"(foo=a"b)"), R"(matcher value contains unescaped double quote: a"b)");
  EXPECT_THAT(ParseError(R"(foo="a\\"b")"), HasSubstr("unescaped double quote"));
  EXPECT_THAT(ParseError(R"(foo="a"b")"), HasSubstr("unescaped double quote"));
  EXPECT_EQ(ParseError("1a=c"), "bad matcher format: 1a=c");
  EXPECT_EQ(ParseError("foo"), "bad matcher format: foo");
  EXPECT_EQ(ParseError("foo~=bar"), "bad matcher format: foo~=bar");
  EXPECT_THAT(ParseError(R"(foo=~"(")"), HasSubstr("error parsing regexp"));
  EXPECT_THAT(ParseError("foo=\"\xff\""), HasSubstr("not valid UTF-8"));
}

TEST(NotifyMatcherTest, ListsSplitOnCommasOutsideQuotes) {
  auto list = ParseMatchers(R"({foo = "bar", dings != "bums", })");
  ASSERT_TRUE(list.ok()) << list.message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].String(), R"(dings!="bums")");

  list = ParseMatchers(R"({quote="She said: \"Hi, ladies!\"", code=~"5..",})");
  ASSERT_TRUE(list.ok()) << list.message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].value, "She said: \"Hi, ladies!\"");

  EXPECT_TRUE(ParseMatchers("").ok());
  EXPECT_TRUE(ParseMatchers("{}")->empty());
  // Only the last token may be empty: an empty one in the middle is a bad matcher.
  EXPECT_THAT(ParseMatchers("foo=bar  ,  , x=y").message(), HasSubstr("bad matcher format"));
}

TEST(NotifyMatcherTest, RegexesAreAnchoredLikeGo) {
  const Matcher m = Parse(R"(team=~"a|b")");
  EXPECT_TRUE(m.Matches("a"));
  EXPECT_TRUE(m.Matches("b"));
  EXPECT_FALSE(m.Matches("ab"));
  EXPECT_FALSE(m.Matches("xa"));
  EXPECT_FALSE(Parse("x=~a.b").Matches("a\nb"));  // '.' does not match a newline in Go
  EXPECT_TRUE(Parse("x!~a.*").Matches("ba"));
  EXPECT_FALSE(Parse("x!~a.*").Matches("abc"));
  // "^(?:a)|(b)$": the value is pasted into the pattern, so this anchors only at the start.
  EXPECT_TRUE(Parse("x=~a)|(b").Matches("ax"));
}

TEST(NotifyMatcherTest, AnAbsentLabelIsEmpty) {
  const Labels labels = L({{"alertname", "X"}});
  EXPECT_TRUE(MatchesAll({Parse(R"(team="")")}, labels));
  EXPECT_TRUE(MatchesAll({Parse(R"(team!~".+")")}, labels));
  EXPECT_FALSE(MatchesAll({Parse("team=~.+")}, labels));
  EXPECT_TRUE(MatchesAll({}, labels));
}

TEST(NotifyMatcherTest, PrintsAsAmtool) {
  EXPECT_EQ(Parse("b=\"x\\ny\"").String(), R"(b="x\ny")");
  EXPECT_EQ(Parse(R"(q="say \"hi\" \\o/")").String(), R"(q="say \"hi\" \\o/")");
  Matchers list = {Parse("foo=x"), Parse("a=~y"), Parse("a=x"), Parse("a!=x")};
  std::sort(list.begin(), list.end());
  EXPECT_EQ(MatchersString(list), R"({a="x",a!="x",a=~"y",foo="x"})");
}

TEST(NotifyLabelSetTest, GoQuotingAndWholeStringOrder) {
  EXPECT_EQ(LabelSetString({}), "{}");
  EXPECT_EQ(LabelSetString(L({{"severity", "critical"}, {"alertname", "X"}})),
            R"({alertname="X", severity="critical"})");
  EXPECT_EQ(LabelSetString(L({{"a", "q\"b\\\n\t\x01"}})), R"({a="q\"b\\\n\t\x01"})");
  EXPECT_EQ(LabelSetString(L({{"a", "\xff"}, {"b", "é"}})), R"({a="\xff", b="é"})");
  // The "name=value" strings are sorted as wholes: "a0=" comes before "a=" ('0' < '=').
  EXPECT_EQ(LabelSetString(L({{"a", "1"}, {"a0", "2"}})), R"({a0="2", a="1"})");
}

constexpr const char* kTree = R"(
route:
  receiver: root
  group_by: [alertname]
  routes:
  - receiver: crit
    matchers: ['severity="critical"']
    continue: true
  - receiver: team
    matchers: ['team=~"a|b"']
    routes:
    - receiver: teamdb
      matchers: [service=db]
  - receiver: other
    matchers: ['team!=""']
receivers: [{name: root}, {name: crit}, {name: team}, {name: teamdb}, {name: other}]
)";

TEST(NotifyRouteTest, MatchesDepthFirstWithContinueAndFallback) {
  const auto root = Route::Build(Load(kTree).route);
  // crit matches and continues; nothing else does; the root is not added once a child matched.
  EXPECT_THAT(Receivers(*root, L({{"severity", "critical"}})), ElementsAre("crit"));
  EXPECT_THAT(Receivers(*root, L({{"severity", "critical"}, {"team", "a"}})),
              ElementsAre("crit", "team"));  // team's child does not match: team itself
  EXPECT_THAT(Receivers(*root, L({{"service", "db"}, {"team", "a"}})), ElementsAre("teamdb"));
  // team matched without continue: "other" (team!="") is never tried.
  EXPECT_THAT(Receivers(*root, L({{"service", "db"}, {"severity", "critical"}, {"team", "b"}})),
              ElementsAre("crit", "teamdb"));
  EXPECT_THAT(Receivers(*root, L({{"team", "c"}})), ElementsAre("other"));
  EXPECT_THAT(Receivers(*root, L({{"x", "y"}})), ElementsAre("root"));
}

TEST(NotifyRouteTest, ContinueOnANestedRouteAndNoMatchBelowARoute) {
  const auto root = Route::Build(Load(R"(
route:
  receiver: root
  routes:
  - matchers: [env=prod]
    receiver: prod
    routes:
    - {matchers: [team=a], receiver: a, continue: true}
    - {matchers: [team=~"a|b"], receiver: ab}
    - {matchers: [team=a], receiver: never}
  - {matchers: [env=~"prod|dev"], receiver: any-env}
receivers: [{name: root}, {name: prod}, {name: a}, {name: ab}, {name: never}, {name: any-env}]
)")
                                     .route);
  EXPECT_THAT(Receivers(*root, L({{"env", "prod"}, {"team", "a"}})), ElementsAre("a", "ab"));
  EXPECT_THAT(Receivers(*root, L({{"env", "prod"}, {"team", "z"}})), ElementsAre("prod"));
  EXPECT_THAT(Receivers(*root, L({{"env", "dev"}})), ElementsAre("any-env"));
  // A subtree whose own matchers fail matches nothing, not its parent.
  EXPECT_TRUE(root->routes()[0]->Match(L({{"env", "dev"}})).empty());
}

TEST(NotifyRouteTest, OptionsAreInheritedDownTheTree) {
  const auto root = Route::Build(Load(R"(
route:
  receiver: root
  group_by: [alertname, instance]
  group_wait: 10s
  routes:
  - matchers: [a=1]
    group_interval: 1m
    group_by: ['...']
    routes:
    - {matchers: [b=1], repeat_interval: 1h, receiver: leaf}
    - {matchers: [b=2], group_by: []}
    - {matchers: [b=3], group_by: [zone, cluster]}
receivers: [{name: root}, {name: leaf}]
)")
                                     .route);
  const RouteOptions& top = root->options();
  EXPECT_EQ(top.receiver, "root");
  EXPECT_THAT(top.group_by, ElementsAre("alertname", "instance"));
  EXPECT_EQ(top.group_wait, std::chrono::seconds(10));
  EXPECT_EQ(top.group_interval, std::chrono::minutes(5));  // Alertmanager's defaults
  EXPECT_EQ(top.repeat_interval, std::chrono::hours(4));

  const Route& child = *root->routes()[0];
  EXPECT_EQ(child.options().receiver, "root");
  EXPECT_TRUE(child.options().group_by_all);
  EXPECT_EQ(child.options().group_wait, std::chrono::seconds(10));
  EXPECT_EQ(child.options().group_interval, std::chrono::minutes(1));

  const RouteOptions& leaf = child.routes()[0]->options();
  EXPECT_EQ(leaf.receiver, "leaf");
  EXPECT_TRUE(leaf.group_by_all);
  EXPECT_EQ(leaf.group_interval, std::chrono::minutes(1));
  EXPECT_EQ(leaf.repeat_interval, std::chrono::hours(1));
  EXPECT_TRUE(child.routes()[1]->options().group_by_all);  // an empty group_by inherits
  const RouteOptions& listed = child.routes()[2]->options();
  EXPECT_FALSE(listed.group_by_all);  // listed labels replace '...'
  EXPECT_THAT(listed.group_by, ElementsAre("cluster", "zone"));
}

TEST(NotifyRouteTest, KeysIdsAndGroupKeysAsAlertmanager) {
  const auto root = Route::Build(Load(R"(
route:
  receiver: w
  routes:
  - matchers: ['severity="critical"']
    group_by: [alertname, instance]
  - match: {c: d}
    match_re: {service: foo|bar}
    matchers: ['b=1', 'a=~"x"']
    group_by: ['...']
receivers: [{name: w}]
)")
                                     .route);
  EXPECT_EQ(root->key(), "{}");
  EXPECT_EQ(root->id(), "{}");
  const Route& critical = *root->routes()[0];
  EXPECT_EQ(critical.key(), R"({}/{severity="critical"})");
  EXPECT_EQ(critical.id(), R"({}/{severity="critical"}/0)");
  EXPECT_EQ(critical.parent(), root.get());
  const Labels alert =
      L({{"alertname", "DiskFull"}, {"instance", "a:9100"}, {"severity", "critical"}});
  EXPECT_EQ(critical.GroupKey(critical.GroupLabels(alert)),
            R"({}/{severity="critical"}:{alertname="DiskFull", instance="a:9100"})");

  const Route& mixed = *root->routes()[1];
  // match, match_re (kept anchored, as amtool shows it) and matchers, sorted by name.
  EXPECT_EQ(mixed.key(), R"({}/{a=~"x",b="1",c="d",service=~"^(?:foo|bar)$"})");
  EXPECT_EQ(mixed.GroupLabels(alert), alert);                    // '...': every label
  EXPECT_EQ(root->GroupKey(root->GroupLabels(alert)), "{}:{}");  // no group_by: one group

  std::vector<std::string> walked;
  root->Walk([&](const Route& route) { walked.push_back(route.id()); });
  EXPECT_EQ(walked.size(), 3u);
  EXPECT_EQ(walked[2], mixed.id());
}

constexpr const char* kInhibit = R"(
route: {receiver: w}
receivers: [{name: w}]
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: ['severity=~"high|medium|low"']
  equal: [alertname, instance]
)";

TEST(NotifyInhibitorTest, ASourceMutesTargetsWithEqualLabels) {
  Inhibitor inhibitor(Load(kInhibit).inhibit_rules);
  const Labels source = L({{"alertname", "A"}, {"instance", "i1"}, {"severity", "critical"}});
  EXPECT_FALSE(inhibitor.Mutes(L({{"alertname", "A"}, {"instance", "i1"}, {"severity", "high"}})));
  inhibitor.SetFiring({source});
  const Labels high = L({{"alertname", "A"}, {"instance", "i1"}, {"severity", "high"}});
  EXPECT_TRUE(inhibitor.Mutes(high));
  ASSERT_NE(inhibitor.MutedBy(high), nullptr);
  EXPECT_EQ(*inhibitor.MutedBy(high), source);
  EXPECT_FALSE(inhibitor.Mutes(L({{"alertname", "A"}, {"instance", "i2"}, {"severity", "low"}})));
  EXPECT_FALSE(inhibitor.Mutes(L({{"alertname", "B"}, {"instance", "i1"}, {"severity", "low"}})));
  EXPECT_FALSE(inhibitor.Mutes(source));  // not a target
  EXPECT_FALSE(inhibitor.Mutes(L({{"alertname", "A"}, {"instance", "i1"}, {"severity", "info"}})));
  inhibitor.SetFiring({});
  EXPECT_FALSE(inhibitor.Mutes(high));
}

TEST(NotifyInhibitorTest, AnEqualLabelAbsentOnBothSidesIsEqual) {
  Inhibitor inhibitor(Load(kInhibit).inhibit_rules);
  inhibitor.SetFiring({L({{"alertname", "A"}, {"severity", "critical"}})});
  EXPECT_TRUE(inhibitor.Mutes(L({{"alertname", "A"}, {"severity", "medium"}})));
  // Absent on the source, present on the target: "" differs from "i1".
  EXPECT_FALSE(inhibitor.Mutes(L({{"alertname", "A"}, {"instance", "i1"}, {"severity", "low"}})));
}

TEST(NotifyInhibitorTest, AnAlertMatchingBothSidesIsNotMutedByItsPeers) {
  Inhibitor inhibitor(Load(R"(
route: {receiver: w}
receivers: [{name: w}]
inhibit_rules:
- source_matchers: ['severity=~"critical|high"']
  target_matchers: ['severity=~"high|low"']
  equal: [alertname]
)")
                          .inhibit_rules);
  const Labels high = L({{"alertname", "A"}, {"severity", "high"}});
  const Labels low = L({{"alertname", "A"}, {"severity", "low"}});
  inhibitor.SetFiring({high});
  // high matches both sides: a source that also matches the target side (itself) is ignored.
  EXPECT_FALSE(inhibitor.Mutes(high));
  EXPECT_TRUE(inhibitor.Mutes(low));  // low matches only the target side
  inhibitor.SetFiring({high, L({{"alertname", "A"}, {"severity", "critical"}})});
  EXPECT_TRUE(inhibitor.Mutes(high));  // critical is a source only
}

TEST(NotifyInhibitorTest, OldStyleMatchMapsAndRulesInOrder) {
  const NotifyConfig config = Load(R"(
route: {receiver: w}
receivers: [{name: w}]
inhibit_rules:
- source_match: {alertname: NodeDown}
  target_match_re: {alertname: 'Disk.*|Cpu.*'}
  equal: [instance]
- source_match: {severity: critical}
  target_match: {severity: warning}
)");
  ASSERT_EQ(config.inhibit_rules.size(), 2u);
  Inhibitor inhibitor(config.inhibit_rules);
  const Labels down = L({{"alertname", "NodeDown"}, {"instance", "n1"}, {"severity", "critical"}});
  inhibitor.SetFiring({down});
  EXPECT_TRUE(inhibitor.Mutes(L({{"alertname", "DiskFull"}, {"instance", "n1"}})));
  EXPECT_FALSE(inhibitor.Mutes(L({{"alertname", "DiskFull"}, {"instance", "n2"}})));
  EXPECT_FALSE(inhibitor.Mutes(L({{"alertname", "XDiskFull"}, {"instance", "n1"}})));
  // The second rule has no `equal`: any firing critical alert mutes every warning.
  EXPECT_TRUE(inhibitor.Mutes(L({{"alertname", "Other"}, {"severity", "warning"}})));
}

}  // namespace
}  // namespace mingus::collector::notify

#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/tsdb/head.h"
#include "mingus/common/status.h"

namespace re2 {
class RE2;
}

// Alertmanager's routing and inhibition, as pure functions of label sets: the label matchers of
// its configuration (pkg/labels), the route tree (dispatch/route.go) and the inhibitor
// (inhibit/inhibit.go). Nothing here keeps time or sends anything.
namespace mingus::collector::notify {

using Labels = tsdb::Labels;  // sorted by name, unique names

// The value of label `name`, or "" when the alert has no such label (as Go's map lookup gives).
std::string_view LabelValue(const Labels& labels, std::string_view name);
// Go's model.LabelSet.String(), used in group keys: {alertname="X", severity="critical"}, each
// value quoted as Go's %q does.
std::string LabelSetString(const Labels& labels);

// One label matcher of Alertmanager's configuration. Regular expressions are compiled as
// "^(?:VALUE)$" with RE2 (Go's regexp syntax), exactly as Alertmanager does, so they match the
// whole label value. Immutable once made; safe to share between threads.
struct Matcher {
  enum class Type { kEqual, kNotEqual, kRegex, kNotRegex };
  Type type = Type::kEqual;
  std::string name;
  std::string value;
  std::shared_ptr<const re2::RE2> regex;  // for kRegex and kNotRegex

  static StatusOr<Matcher> Make(Type type, std::string name, std::string value);
  bool Matches(std::string_view label_value) const;
  // name="value" (or !=, =~, !~) with OpenMetrics escaping of the value, as amtool prints it.
  std::string String() const;
};
// Alertmanager's order of matchers: by name, then value, then type.
bool operator<(const Matcher& a, const Matcher& b);

using Matchers = std::vector<Matcher>;
// True when every matcher matches (an absent label has the value "").
bool MatchesAll(const Matchers& matchers, const Labels& labels);
// {a="b",c=~"d"}: how a route shows in its key.
std::string MatchersString(const Matchers& matchers);

// Alertmanager's matcher syntax (pkg/labels/parse.go): `name OP value` with OP one of = != =~ !~,
// whitespace around each token ignored, the value optionally in double quotes with backslash
// escapes for a quote, a newline (n) and a backslash (any other backslash is literal), an
// unescaped quote inside the value refused.
StatusOr<Matcher> ParseMatcher(std::string_view text);
// A comma-separated list of matchers, optionally in braces; commas inside quotes do not split,
// a trailing comma is allowed: `{foo="bar", dings!="bums", }`.
StatusOr<Matchers> ParseMatchers(std::string_view text);

struct RouteConfig;  // config.h: one node of the route tree as written in notify.yaml

// The options of a route after inheritance: each route starts from its parent's.
struct RouteOptions {
  std::string receiver;
  std::vector<std::string> group_by;  // sorted label names
  bool group_by_all = false;          // group_by: ['...']
  std::chrono::milliseconds group_wait{30'000};
  std::chrono::milliseconds group_interval{5 * 60'000};
  std::chrono::milliseconds repeat_interval{4 * 3600'000};
};

// A node of the routing tree. Immutable once built; safe to share between threads.
class Route {
 public:
  // The tree for the root route of a loaded configuration (see ParseNotifyConfig).
  static std::unique_ptr<const Route> Build(const RouteConfig& root);

  Route(const Route&) = delete;
  Route& operator=(const Route&) = delete;

  // Alertmanager's depth-first search: nothing when this route's matchers refuse the labels;
  // else the matches of the children in order, stopping after the first child that matched
  // unless it has `continue`; and this route itself when no child matched.
  std::vector<const Route*> Match(const Labels& labels) const;

  // The alert's labels that this route groups by (all of them for '...').
  Labels GroupLabels(const Labels& alert) const;
  // Alertmanager's aggregation group key: key() + ":" + LabelSetString(group_labels), e.g.
  // {}/{severity="critical"}:{alertname="DiskFull", instance="a:9100"}.
  std::string GroupKey(const Labels& group_labels) const;

  const RouteOptions& options() const { return options_; }
  const Matchers& matchers() const { return matchers_; }
  bool continue_matching() const { return continue_; }
  const Route* parent() const { return parent_; }
  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }
  // Alertmanager's Route.Key(): the matchers of each route from the root, joined by '/':
  // {}/{severity="critical"}. Two sibling routes with the same matchers share it.
  const std::string& key() const { return key_; }
  // Alertmanager's Route.ID(): key() and, below the root, "/" and the position among siblings.
  const std::string& id() const { return id_; }
  // Visits this route and then its descendants, depth first.
  void Walk(const std::function<void(const Route&)>& visit) const;

 private:
  Route(const RouteConfig& config, const Route* parent, size_t position);

  RouteOptions options_;
  Matchers matchers_;
  bool continue_ = false;
  const Route* parent_ = nullptr;
  std::vector<std::unique_ptr<Route>> routes_;
  std::string key_;
  std::string id_;
};

// An inhibition rule: a firing alert matching the source matchers mutes the alerts matching the
// target matchers that have the same values for the `equal` labels.
struct InhibitRule {
  Matchers source_matchers;  // source_match, source_match_re and source_matchers together
  Matchers target_matchers;  // target_match, target_match_re and target_matchers together
  std::vector<std::string> equal;
};

// Answers "is this alert muted?" against the set of firing alerts last given. Not thread-safe:
// SetFiring() and the queries must not run at the same time.
class Inhibitor {
 public:
  explicit Inhibitor(std::vector<InhibitRule> rules);

  // Replaces the firing alerts that may inhibit others (resolved alerts must be left out).
  void SetFiring(std::vector<Labels> firing);
  // Whether some rule mutes `alert`: the rule's target matchers match it, and a firing alert
  // matches its source matchers with the same values (absent = "") for every `equal` label.
  // When `alert` itself matches both sides of a rule, source alerts that also match both sides
  // are ignored for it, so an alert never mutes itself (Alertmanager's excludeTwoSidedMatch).
  bool Mutes(const Labels& alert) const { return MutedBy(alert) != nullptr; }
  // The firing alert that mutes `alert` (the first by rule, then by SetFiring order), or null.
  // The pointer stays valid until the next SetFiring().
  const Labels* MutedBy(const Labels& alert) const;

  const std::vector<InhibitRule>& rules() const { return rules_; }

 private:
  std::vector<InhibitRule> rules_;
  std::vector<Labels> firing_;
  std::vector<std::vector<size_t>> sources_;  // per rule: indices into firing_ it matches
};

}  // namespace mingus::collector::notify

#include "mingus/collector/notify/route.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <tuple>

#include "mingus/collector/notify/config.h"
#include "mingus/common/utf8.h"

namespace mingus::collector::notify {

namespace {

// Go's \s: [\t\n\f\r ].
bool IsGoSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

bool IsNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

std::string_view TypeString(Matcher::Type type) {
  switch (type) {
    case Matcher::Type::kEqual:
      return "=";
    case Matcher::Type::kNotEqual:
      return "!=";
    case Matcher::Type::kRegex:
      return "=~";
    case Matcher::Type::kNotRegex:
      return "!~";
  }
  return "=";
}

}  // namespace

std::string_view LabelValue(const Labels& labels, std::string_view name) {
  const auto it =
      std::lower_bound(labels.begin(), labels.end(), name,
                       [](const auto& label, std::string_view n) { return label.first < n; });
  return it != labels.end() && it->first == name ? std::string_view(it->second)
                                                 : std::string_view();
}

std::string LabelSetString(const Labels& labels) {
  // As prometheus/common of Alertmanager 0.25 does: "name=%q" strings sorted as wholes.
  std::vector<std::string> parts;
  parts.reserve(labels.size());
  for (const auto& [name, value] : labels) parts.push_back(name + "=" + utf8::QuoteGo(value));
  std::sort(parts.begin(), parts.end());
  return fmt::format("{{{}}}", fmt::join(parts, ", "));
}

StatusOr<Matcher> Matcher::Make(Type type, std::string name, std::string value) {
  Matcher matcher;
  matcher.type = type;
  matcher.name = std::move(name);
  matcher.value = std::move(value);
  if (type == Type::kRegex || type == Type::kNotRegex) {
    const std::string anchored = "^(?:" + matcher.value + ")$";
    re2::RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_shared<const re2::RE2>(anchored, options);
    if (!regex->ok()) {
      return Status::Error(fmt::format("error parsing regexp: {}", regex->error()));
    }
    matcher.regex = std::move(regex);
  }
  return matcher;
}

bool Matcher::Matches(std::string_view label_value) const {
  switch (type) {
    case Type::kEqual:
      return label_value == value;
    case Type::kNotEqual:
      return label_value != value;
    case Type::kRegex:
      return re2::RE2::PartialMatch(label_value, *regex);
    case Type::kNotRegex:
      return !re2::RE2::PartialMatch(label_value, *regex);
  }
  return false;
}

std::string Matcher::String() const {
  std::string escaped;
  for (char c : value) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else if (c == '"') {
      escaped += "\\\"";
    } else {
      escaped += c;
    }
  }
  return fmt::format("{}{}\"{}\"", name, TypeString(type), escaped);
}

bool operator<(const Matcher& a, const Matcher& b) {
  return std::tie(a.name, a.value, a.type) < std::tie(b.name, b.value, b.type);
}

bool MatchesAll(const Matchers& matchers, const Labels& labels) {
  return std::all_of(matchers.begin(), matchers.end(), [&](const Matcher& matcher) {
    return matcher.Matches(LabelValue(labels, matcher.name));
  });
}

std::string MatchersString(const Matchers& matchers) {
  std::string out = "{";
  for (size_t i = 0; i < matchers.size(); ++i) {
    if (i > 0) out += ',';
    out += matchers[i].String();
  }
  out += '}';
  return out;
}

StatusOr<Matcher> ParseMatcher(std::string_view text) {
  const auto bad_format = [&] {
    return Status::Error(fmt::format("bad matcher format: {}", text));
  };
  size_t i = 0;
  while (i < text.size() && IsGoSpace(text[i])) ++i;
  const size_t name_start = i;
  if (i >= text.size() || !IsNameStart(text[i])) return bad_format();
  while (i < text.size() && IsNameChar(text[i])) ++i;
  std::string name(text.substr(name_start, i - name_start));
  while (i < text.size() && IsGoSpace(text[i])) ++i;
  const std::string_view rest = text.substr(i);
  Matcher::Type type;
  if (rest.starts_with("=~")) {
    type = Matcher::Type::kRegex, i += 2;
  } else if (rest.starts_with("=")) {
    type = Matcher::Type::kEqual, i += 1;
  } else if (rest.starts_with("!=")) {
    type = Matcher::Type::kNotEqual, i += 2;
  } else if (rest.starts_with("!~")) {
    type = Matcher::Type::kNotRegex, i += 2;
  } else {
    return bad_format();
  }
  while (i < text.size() && IsGoSpace(text[i])) ++i;
  size_t end = text.size();
  while (end > i && IsGoSpace(text[end - 1])) --end;
  const std::string_view quoted_value = text.substr(i, end - i);

  std::string_view raw = quoted_value;
  bool expect_trailing_quote = false;
  if (!raw.empty() && raw.front() == '"') {
    raw.remove_prefix(1);
    expect_trailing_quote = true;
  }
  if (!utf8::IsValidUtf8(raw)) {
    return Status::Error(fmt::format("matcher value not valid UTF-8: {}", quoted_value));
  }
  const auto unescaped_quote = [&] {
    return Status::Error(
        fmt::format("matcher value contains unescaped double quote: {}", quoted_value));
  };
  std::string value;
  bool escaped = false;
  for (size_t k = 0; k < raw.size(); ++k) {
    const char c = raw[k];
    if (escaped) {
      escaped = false;
      if (c == 'n') {
        value += '\n';
      } else if (c == '"' || c == '\\') {
        value += c;
      } else {
        value += '\\';  // a spurious escape: the backslash is literal
        value += c;
      }
      continue;
    }
    if (c == '\\') {
      if (k + 1 < raw.size()) {
        escaped = true;
      } else {
        value += '\\';  // a backslash as the last byte is literal
      }
    } else if (c == '"') {
      if (!expect_trailing_quote || k + 1 < raw.size()) return unescaped_quote();
      expect_trailing_quote = false;
    } else {
      value += c;
    }
  }
  if (expect_trailing_quote) return unescaped_quote();
  return Matcher::Make(type, std::move(name), std::move(value));
}

StatusOr<Matchers> ParseMatchers(std::string_view text) {
  if (text.starts_with('{')) text.remove_prefix(1);
  if (text.ends_with('}')) text.remove_suffix(1);
  std::vector<std::string_view> tokens;
  bool inside_quotes = false, escaped = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ',' && !inside_quotes) {
      tokens.push_back(text.substr(start, i - start));
      start = i + 1;
      continue;
    }
    if (c == '"') {
      if (!escaped) {
        inside_quotes = !inside_quotes;
      } else {
        escaped = false;
      }
    } else if (c == '\\') {
      escaped = !escaped;
    } else {
      escaped = false;
    }
  }
  // Only the last token is trimmed and may be empty, as in Alertmanager: "a=b," is one matcher,
  // "a=b, ,c=d" is an error.
  std::string_view last = text.substr(start);
  while (!last.empty() && (IsGoSpace(last.front()) || last.front() == '\v')) last.remove_prefix(1);
  while (!last.empty() && (IsGoSpace(last.back()) || last.back() == '\v')) last.remove_suffix(1);
  if (!last.empty()) tokens.push_back(last);
  Matchers matchers;
  for (const auto token : tokens) {
    auto matcher = ParseMatcher(token);
    if (!matcher.ok()) return matcher.status();
    matchers.push_back(std::move(*matcher));
  }
  return matchers;
}

std::unique_ptr<const Route> Route::Build(const RouteConfig& root) {
  return std::unique_ptr<const Route>(new Route(root, nullptr, 0));
}

Route::Route(const RouteConfig& config, const Route* parent, size_t position)
    : options_(parent != nullptr ? parent->options_ : RouteOptions{}),
      matchers_(config.matchers),
      continue_(config.continue_matching),
      parent_(parent) {
  if (!config.receiver.empty()) options_.receiver = config.receiver;
  // As Alertmanager: listed labels replace the inherited grouping, '...' alone switches to all
  // labels, and an empty group_by inherits.
  if (!config.group_by.empty()) {
    options_.group_by = config.group_by;
    std::sort(options_.group_by.begin(), options_.group_by.end());
    options_.group_by_all = false;
  } else if (config.group_by_all) {
    options_.group_by_all = true;
  }
  if (config.group_wait) options_.group_wait = *config.group_wait;
  if (config.group_interval) options_.group_interval = *config.group_interval;
  if (config.repeat_interval) options_.repeat_interval = *config.repeat_interval;
  std::sort(matchers_.begin(), matchers_.end());

  key_ = parent != nullptr ? parent->key_ + "/" + MatchersString(matchers_)
                           : MatchersString(matchers_);
  id_ = parent != nullptr ? fmt::format("{}/{}", key_, position) : key_;
  routes_.reserve(config.routes.size());
  for (size_t i = 0; i < config.routes.size(); ++i) {
    routes_.push_back(std::unique_ptr<Route>(new Route(config.routes[i], this, i)));
  }
}

namespace {
// Appends the matching routes under `route`; false when `route` itself does not match.
bool MatchInto(const Route& route, const Labels& labels, std::vector<const Route*>& out) {
  if (!MatchesAll(route.matchers(), labels)) return false;
  const size_t before = out.size();
  for (const auto& child : route.routes()) {
    if (MatchInto(*child, labels, out) && !child->continue_matching()) break;
  }
  if (out.size() == before) out.push_back(&route);
  return true;
}
}  // namespace

std::vector<const Route*> Route::Match(const Labels& labels) const {
  std::vector<const Route*> out;
  MatchInto(*this, labels, out);
  return out;
}

Labels Route::GroupLabels(const Labels& alert) const {
  if (options_.group_by_all) return alert;
  Labels out;
  for (const auto& label : alert) {
    if (std::binary_search(options_.group_by.begin(), options_.group_by.end(), label.first)) {
      out.push_back(label);
    }
  }
  return out;
}

std::string Route::GroupKey(const Labels& group_labels) const {
  return key_ + ":" + LabelSetString(group_labels);
}

void Route::Walk(const std::function<void(const Route&)>& visit) const {
  visit(*this);
  for (const auto& child : routes_) child->Walk(visit);
}

Inhibitor::Inhibitor(std::vector<InhibitRule> rules)
    : rules_(std::move(rules)), sources_(rules_.size()) {}

void Inhibitor::SetFiring(std::vector<Labels> firing) {
  firing_ = std::move(firing);
  for (size_t r = 0; r < rules_.size(); ++r) {
    sources_[r].clear();
    for (size_t i = 0; i < firing_.size(); ++i) {
      if (MatchesAll(rules_[r].source_matchers, firing_[i])) sources_[r].push_back(i);
    }
  }
}

const Labels* Inhibitor::MutedBy(const Labels& alert) const {
  for (size_t r = 0; r < rules_.size(); ++r) {
    const InhibitRule& rule = rules_[r];
    if (!MatchesAll(rule.target_matchers, alert)) continue;
    const bool two_sided = MatchesAll(rule.source_matchers, alert);
    for (const size_t index : sources_[r]) {
      const Labels& source = firing_[index];
      const bool equal = std::all_of(rule.equal.begin(), rule.equal.end(), [&](const auto& name) {
        return LabelValue(source, name) == LabelValue(alert, name);
      });
      if (!equal) continue;
      if (two_sided && MatchesAll(rule.target_matchers, source)) continue;
      return &source;
    }
  }
  return nullptr;
}

}  // namespace mingus::collector::notify

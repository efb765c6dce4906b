#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mingus/collector/tsdb/head.h"
#include "mingus/common/status.h"

// Alert-rule label and annotation templates: the subset of Go's text/template and Prometheus'
// template functions (prometheus/template/template.go, v2.42) that rule files use, with the same
// output. Prometheus prepends {{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}
// {{$externalURL := .ExternalURL}}{{$value := .Value}}; those variables are predeclared here.
// Thread safety: a Template is immutable; Execute may run on many threads at once.
namespace mingus::collector::rules {

// One element of a `query` result.
struct TemplateSample {
  tsdb::Labels labels;
  double value = 0;
};

struct TemplateData {
  const tsdb::Labels* labels = nullptr;           // $labels / .Labels; null is an empty map
  const tsdb::Labels* external_labels = nullptr;  // $externalLabels / .ExternalLabels
  std::string external_url;                       // $externalURL / .ExternalURL; externalURL
  double value = 0;                               // $value / .Value
  // Evaluates a PromQL instant query for the `query` function; may be empty (then `query`
  // fails at execution).
  std::function<StatusOr<std::vector<TemplateSample>>(std::string_view expr)> query;
};

// Alertmanager 0.25's template.Alert and template.Data (alertmanager/template/template.go), what
// notification templates work on; the notifier fills them (notify/notify_template.h), this
// engine only reads them.
struct AlertTemplateData {
  std::string status;  // "firing" or "resolved"
  tsdb::Labels labels;
  tsdb::Labels annotations;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = kGoZeroTimeMs;  // Go's zero time.Time while firing
  std::string generator_url;
  std::string fingerprint;

  // time.Time{} in Unix milliseconds: 0001-01-01 00:00:00 UTC.
  static constexpr int64_t kGoZeroTimeMs = -62135596800000;
};
struct NotificationTemplateData {
  std::string receiver;
  std::string status;
  std::vector<AlertTemplateData> alerts;
  tsdb::Labels group_labels;
  tsdb::Labels common_labels;
  tsdb::Labels common_annotations;
  std::string external_url;
};

namespace detail {
struct TemplateProgram;
}

class Template {
 public:
  // Parses once, at rule load. Errors read "template: NAME:LINE:COL: REASON" with Go's reasons
  // (`function "foo" not defined`, `unexpected EOF`, ...); positions are 1-based, in bytes of
  // `text`. Beyond Go, errors that would fail every execution of an action (a wrong argument
  // count, a literal of the wrong type) and anything this engine does not support are refused
  // here rather than at execution.
  static StatusOr<Template> Parse(std::string_view name, std::string_view text);

  // Expands with `data`. Run-time errors (a failing query, an index out of range, a bad regular
  // expression, ...) read "template: NAME:LINE:COL: executing at <ACTION>: REASON".
  StatusOr<std::string> Execute(const TemplateData& data) const;
  // Same, appending to `out` (whose capacity callers may reuse); on error `out` may hold part
  // of the expansion.
  Status ExecuteTo(const TemplateData& data, std::string& out) const;

  const std::string& name() const;
  const std::string& text() const;
  // True when the text has no actions: Execute returns text() as is.
  bool is_constant() const;

 private:
  explicit Template(std::shared_ptr<const detail::TemplateProgram> program)
      : program_(std::move(program)) {}
  std::shared_ptr<const detail::TemplateProgram> program_;
};

}  // namespace mingus::collector::rules

#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mingus/collector/notify/notification.h"
#include "mingus/collector/rules/template.h"
#include "mingus/common/status.h"

// Alertmanager 0.25's notification templates: Go templates over its template.Data, with its
// function map (toUpper, toLower, title, join, match, safeHtml, reReplaceAll, stringSlice and Go's
// builtins; none of Prometheus' humanize or query), {{define}}/{{template}}/{{block}}, our own
// definitions of its default template names (rendering the same text as its default.tmpl), and
// the `templates:` files of notify.yaml. The engine is the rule templates' (rules/template.h).
namespace mingus::collector::rules::detail {
struct TemplateSet;
}

namespace mingus::collector::notify {

// Alertmanager's *template.Template. Immutable once built; Execute may run on many threads.
class NotifyTemplates {
 public:
  // Our defaults, then each file's definitions in order (a later non-empty {{define}} of a name
  // replaces an earlier one, as Go's ParseGlob does). Errors read
  // "template: FILE:LINE:COL: REASON".
  static StatusOr<std::shared_ptr<const NotifyTemplates>> Create(
      const std::vector<std::pair<std::string, std::string>>& files);
  // The defaults alone (what a notify.yaml without `templates:` gets).
  static std::shared_ptr<const NotifyTemplates> Defaults();
  // Reads the files matching the glob patterns (sorted within each pattern, as filepath.Glob),
  // then Create. A pattern matching nothing is fine, as in Alertmanager.
  static StatusOr<std::shared_ptr<const NotifyTemplates>> Load(
      const std::vector<std::string>& patterns);

  // Parses a receiver field as Alertmanager would render it (for checks at load).
  static Status Check(std::string_view text);
  // Alertmanager's ExecuteTextString: "" stays "", otherwise `text` is parsed as a new template
  // that may call the set's definitions, and executed with `data`.
  StatusOr<std::string> ExecuteText(std::string_view text,
                                    const rules::NotificationTemplateData& data) const;
  // ExecuteHTMLString: the same, but values printed are escaped for HTML text (html/template's
  // escaper in element content) unless they come from safeHtml. Attribute, URL and script
  // contexts are escaped as text, a simplification of html/template.
  StatusOr<std::string> ExecuteHtml(std::string_view text,
                                    const rules::NotificationTemplateData& data) const;

  // Whether the set defines `name` (tests and checks).
  bool Defines(std::string_view name) const;
  // Whether a file redefines one of Alertmanager's default names (__subject,
  // slack.default.title, ...): the integrations then render their default fields through the
  // templates, as Alertmanager would, rather than with their own rendering of the defaults.
  bool overrides_defaults() const { return overrides_defaults_; }

 private:
  NotifyTemplates(std::shared_ptr<rules::detail::TemplateSet> set, bool overrides_defaults)
      : set_(std::move(set)), overrides_defaults_(overrides_defaults) {}
  StatusOr<std::string> Execute(std::string_view text, const rules::NotificationTemplateData& data,
                                bool html) const;
  std::shared_ptr<rules::detail::TemplateSet> set_;
  bool overrides_defaults_ = false;
};

// Alertmanager's template.Data for a notification (notify.GetTemplateData): an alert is
// "resolved" when it ended by the flush, its EndsAt Go's zero time while it has none.
rules::NotificationTemplateData TemplateDataFor(const Notification& notification);

// The example data `amtool template render` uses (cli/template_render.go, 0.25), with `now_ms`
// for its time.Now(): for tests that hold this engine to amtool's output.
rules::NotificationTemplateData AmtoolExampleData(int64_t now_ms);

}  // namespace mingus::collector::notify

#include "mingus/collector/notify/notify_template.h"

#include <fmt/format.h>

#include "../rules/detail/template_program.h"
#include "mingus/common/file.h"

namespace mingus::collector::notify {

namespace {

namespace detail = rules::detail;

// The names Alertmanager 0.25's default.tmpl and email.tmpl define that our integrations and
// users' templates reference, written for this engine: the text ones render what Alertmanager's
// render for the same data (tests/integration/notify_template_test.py compares them through
// amtool), email.default.html is our own page.
constexpr std::string_view kDefaults = R"TMPL(
{{- define "__alertmanager" }}Alertmanager{{ end }}
{{- define "__alertmanagerURL" }}{{ .ExternalURL }}/#/alerts?receiver={{ urlquery .Receiver }}{{ end }}
{{- define "__subject" -}}
  [{{ toUpper .Status }}{{ if eq .Status "firing" }}:{{ len .Alerts.Firing }}{{ end }}]
  {{- " " }}{{ join " " .GroupLabels.Values }}{{ " " }}
  {{- if gt (len .CommonLabels) (len .GroupLabels) -}}
    ({{ join " " (.CommonLabels.Remove .GroupLabels.Names).Values }})
  {{- end }}
{{- end }}
{{- define "__description" }}{{ end }}
{{- define "__text_alert_list" }}
  {{- range $alert := . -}}
    Labels:{{ "\n" }}
    {{- range $alert.Labels.SortedPairs }}{{ printf " - %s = %s\n" .Name .Value }}{{ end -}}
    Annotations:{{ "\n" }}
    {{- range $alert.Annotations.SortedPairs }}{{ printf " - %s = %s\n" .Name .Value }}{{ end -}}
    Source: {{ $alert.GeneratorURL }}{{ "\n" }}
  {{- end }}
{{- end }}
{{- define "slack.default.title" }}{{ template "__subject" . }}{{ end }}
{{- define "slack.default.username" }}{{ template "__alertmanager" . }}{{ end }}
{{- define "slack.default.titlelink" }}{{ template "__alertmanagerURL" . }}{{ end }}
{{- define "slack.default.fallback" -}}
  {{ template "slack.default.title" . }} | {{ template "slack.default.titlelink" . }}
{{- end }}
{{- define "slack.default.callbackid" }}{{ end }}
{{- define "slack.default.pretext" }}{{ end }}
{{- define "slack.default.iconemoji" }}{{ end }}
{{- define "slack.default.iconurl" }}{{ end }}
{{- define "slack.default.text" }}{{ end }}
{{- define "slack.default.footer" }}{{ end }}
{{- define "email.default.subject" }}{{ template "__subject" . }}{{ end }}
{{- define "email.default.html" -}}
<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>{{ template "__subject" . }}</title></head><body>
<h2>{{ template "__subject" . }}</h2>
<p>{{ len .Alerts.Firing }} firing, {{ len .Alerts.Resolved }} resolved</p>
{{ range .Alerts -}}
<h3>[{{ toUpper .Status }}] {{ .Labels.alertname }}</h3>
<ul>{{ range .Labels.SortedPairs }}<li>{{ .Name }} = {{ .Value }}</li>{{ end }}</ul>
<ul>{{ range .Annotations.SortedPairs }}<li><i>{{ .Name }}</i>: {{ .Value }}</li>{{ end }}</ul>
<p>Since {{ .StartsAt }}{{ if .GeneratorURL }} <a href="{{ .GeneratorURL }}">Source</a>{{ end }}</p>
{{ end -}}
<p><a href="{{ template "__alertmanagerURL" . }}">View in the collector</a></p>
</body></html>
{{ end }}
)TMPL";

StatusOr<std::shared_ptr<const detail::TemplateProgram>> ParseNotification(std::string_view name,
                                                                           std::string_view text) {
  auto program = std::make_shared<detail::TemplateProgram>();
  program->name = std::string(name);
  program->text = std::string(text);
  program->dialect = detail::Dialect::kNotification;
  if (text.size() > (1u << 30)) return Status::Error("template: " + program->name + ": too large");
  if (Status status = detail::ParseProgram(*program); !status.ok()) return status;
  return std::shared_ptr<const detail::TemplateProgram>(std::move(program));
}

// notify.Alert's receiver name without a "{...}" group suffix, as GetTemplateData strips it.
std::string ReceiverName(const std::string& receiver) {
  const size_t open = receiver.find('{');
  const size_t close = receiver.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return receiver;
  return receiver.substr(0, open) + receiver.substr(close + 1);
}

}  // namespace

StatusOr<std::shared_ptr<const NotifyTemplates>> NotifyTemplates::Create(
    const std::vector<std::pair<std::string, std::string>>& files) {
  auto set = std::make_shared<detail::TemplateSet>();
  auto defaults = ParseNotification("default.tmpl", kDefaults);
  if (!defaults.ok()) return defaults.status();
  const detail::TemplateProgram& default_program = **defaults;
  set->Add(std::move(*defaults));
  bool overrides = false;
  for (const auto& [name, text] : files) {
    auto program = ParseNotification(name, text);
    if (!program.ok()) return program.status();
    for (const detail::Define& define : (*program)->defines) {
      for (const detail::Define& builtin : default_program.defines) {
        overrides = overrides || (!define.empty && define.name == builtin.name);
      }
    }
    set->Add(std::move(*program));
  }
  return std::shared_ptr<const NotifyTemplates>(new NotifyTemplates(std::move(set), overrides));
}

std::shared_ptr<const NotifyTemplates> NotifyTemplates::Defaults() {
  static const std::shared_ptr<const NotifyTemplates> defaults = [] {
    auto created = Create({});
    if (!created.ok()) std::abort();  // our own text: a failure is a bug caught by every test
    return *created;
  }();
  return defaults;
}

StatusOr<std::shared_ptr<const NotifyTemplates>> NotifyTemplates::Load(
    const std::vector<std::string>& patterns) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::string& pattern : patterns) {
    for (const std::string& path : GlobFiles(".", pattern)) {
      auto text = ReadFile(path);
      if (!text.ok()) {
        return Status::Error(fmt::format("reading template file {}: {}", path, text.message()));
      }
      files.emplace_back(path, std::move(*text));
    }
  }
  return Create(files);
}

Status NotifyTemplates::Check(std::string_view text) {
  auto program = ParseNotification("", text);
  return program.ok() ? OkStatus() : program.status();
}

StatusOr<std::string> NotifyTemplates::Execute(std::string_view text,
                                               const rules::NotificationTemplateData& data,
                                               bool html) const {
  if (text.empty()) return std::string();
  auto program = ParseNotification("", text);
  if (!program.ok()) return program.status();
  std::string out;
  if (Status status = detail::ExecuteNotification(**program, set_.get(), data, html, out);
      !status.ok()) {
    return status;
  }
  return out;
}

StatusOr<std::string> NotifyTemplates::ExecuteText(
    std::string_view text, const rules::NotificationTemplateData& data) const {
  return Execute(text, data, false);
}

StatusOr<std::string> NotifyTemplates::ExecuteHtml(
    std::string_view text, const rules::NotificationTemplateData& data) const {
  return Execute(text, data, true);
}

bool NotifyTemplates::Defines(std::string_view name) const { return set_->Find(name) != nullptr; }

rules::NotificationTemplateData TemplateDataFor(const Notification& notification) {
  rules::NotificationTemplateData data;
  data.receiver = ReceiverName(notification.receiver);
  data.status = notification.Firing() ? "firing" : "resolved";
  data.group_labels = notification.group_labels;
  data.common_labels = notification.CommonLabels();
  data.common_annotations = notification.CommonAnnotations();
  data.external_url = notification.external_url;
  for (const NotifyAlert& alert : notification.alerts) {
    rules::AlertTemplateData& out = data.alerts.emplace_back();
    out.status = alert.ResolvedAt(notification.at_ms) ? "resolved" : "firing";
    out.labels = alert.labels;
    out.annotations = alert.annotations;
    out.starts_at_ms = alert.starts_at_ms;
    if (alert.ends_at_ms != 0) out.ends_at_ms = alert.ends_at_ms;
    out.generator_url = alert.generator_url;
    out.fingerprint = FingerprintString(Fingerprint(alert.labels));
  }
  return data;
}

rules::NotificationTemplateData AmtoolExampleData(int64_t now_ms) {
  rules::NotificationTemplateData data;
  data.receiver = "receiver";
  data.status = "alertstatus";
  data.group_labels = {{"grouplabelkey1", "grouplabelvalue1"},
                       {"grouplabelkey2", "grouplabelvalue2"}};
  data.common_labels = {{"commonlabelkey1", "commonlabelvalue1"},
                        {"commonlabelkey2", "commonlabelvalue2"}};
  data.common_annotations = {{"commonannotationkey1", "commonannotationvalue1"},
                             {"commonannotationkey2", "commonannotationvalue2"}};
  data.external_url = "https://example.com";
  rules::AlertTemplateData first;
  first.status = "alertstatus";
  first.labels = {{"commonlabelkey1", "commonlabelvalue1"},
                  {"commonlabelkey2", "commonlabelvalue2"},
                  {"instance", "foo.bar:1234"},
                  {"label1", "value1"},
                  {"label2", "value2"}};
  first.annotations = {{"annotation1", "value1"},
                       {"annotation2", "value2"},
                       {"commonannotationkey1", "commonannotationvalue1"},
                       {"commonannotationkey2", "commonannotationvalue2"}};
  first.starts_at_ms = now_ms - 5 * 60'000;
  first.ends_at_ms = now_ms;
  first.generator_url = "https://generatorurl.com";
  first.fingerprint = "fingerprint1";
  rules::AlertTemplateData second = first;
  second.labels = {{"baz", "qux"},
                   {"commonlabelkey1", "commonlabelvalue1"},
                   {"commonlabelkey2", "commonlabelvalue2"},
                   {"foo", "bar"}};
  second.annotations = {{"aaa", "bbb"},
                        {"ccc", "ddd"},
                        {"commonannotationkey1", "commonannotationvalue1"},
                        {"commonannotationkey2", "commonannotationvalue2"}};
  second.starts_at_ms = now_ms - 10 * 60'000;
  second.fingerprint = "fingerprint2";
  data.alerts = {std::move(first), std::move(second)};
  return data;
}

}  // namespace mingus::collector::notify

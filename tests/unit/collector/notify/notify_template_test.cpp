#include "mingus/collector/notify/notify_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <string>

#include "mingus/collector/notify/config.h"
#include "mingus/collector/notify/integrations.h"
#include "mingus/collector/rules/template.h"
#include "mingus/config/yaml_reader.h"
#include "temp_dir.h"

namespace mingus::collector::notify {
namespace {

using ::testing::HasSubstr;

// Renders `text` over our defaults and `files` with amtool's example data.
std::string Render(const std::string& text,
                   const std::vector<std::pair<std::string, std::string>>& files = {}) {
  auto templates = NotifyTemplates::Create(files);
  if (!templates.ok()) return "CREATE FAILED: " + templates.message();
  auto out = (*templates)->ExecuteText(text, AmtoolExampleData(1'700'000'000'000));
  return out.ok() ? *out : "FAILED: " + out.message();
}

rules::NotificationTemplateData TwoAlerts() {
  rules::NotificationTemplateData data;
  data.receiver = "team";
  data.status = "firing";
  data.group_labels = {{"alertname", "HighLatency"}};
  data.common_labels = {{"alertname", "HighLatency"}, {"severity", "warning"}};
  data.alerts.resize(2);
  data.alerts[0].status = "firing";
  data.alerts[0].labels = {{"alertname", "HighLatency"}, {"job", "api"}, {"severity", "warning"}};
  data.alerts[1].status = "resolved";
  data.alerts[1].labels = {{"alertname", "HighLatency"}, {"job", "web"}, {"severity", "warning"}};
  return data;
}

std::string RenderWith(const rules::NotificationTemplateData& data, const std::string& text) {
  auto out = NotifyTemplates::Defaults()->ExecuteText(text, data);
  return out.ok() ? *out : "FAILED: " + out.message();
}

TEST(NotifyTemplateTest, DataFieldsAndKvMethods) {
  EXPECT_EQ(Render("{{ .Receiver }} {{ .Status }} {{ .ExternalURL }} {{ len .Alerts }}"),
            "receiver alertstatus https://example.com 2");
  EXPECT_EQ(Render("{{ .GroupLabels.Names }} {{ .CommonLabels.Values | join \",\" }}"),
            "[grouplabelkey1 grouplabelkey2] commonlabelvalue1,commonlabelvalue2");
  EXPECT_EQ(Render("{{ range .CommonAnnotations.SortedPairs }}{{ .Name }}={{ .Value }};{{ end }}"),
            "commonannotationkey1=commonannotationvalue1;commonannotationkey2="
            "commonannotationvalue2;");
  EXPECT_EQ(Render("{{ (index .Alerts 0).Labels.instance }} {{ index .CommonLabels "
                   "\"commonlabelkey2\" }} [{{ .CommonLabels.missing }}]"),
            "foo.bar:1234 commonlabelvalue2 []");
  EXPECT_EQ(Render("{{ with .CommonLabels.Remove (stringSlice \"commonlabelkey1\") }}{{ . }}{{ "
                   "end }}"),
            "map[commonlabelkey2:commonlabelvalue2]");
  EXPECT_EQ(Render("{{ range $i, $a := .Alerts }}{{ $i }}:{{ $a.Fingerprint }} {{ end }}"),
            "0:fingerprint1 1:fingerprint2 ");
}

TEST(NotifyTemplateTest, SortedPairsPutsAlertnameFirst) {
  const auto data = TwoAlerts();
  EXPECT_EQ(RenderWith(data, "{{ (index .Alerts 0).Labels.SortedPairs.Names }}"),
            "[alertname job severity]");
  rules::NotificationTemplateData other = data;
  other.alerts[0].labels = {{"a", "1"}, {"alertname", "X"}, {"z", "2"}};
  EXPECT_EQ(RenderWith(other, "{{ (index .Alerts 0).Labels.Names }}"), "[alertname a z]");
}

TEST(NotifyTemplateTest, FiringAndResolvedAlerts) {
  const auto data = TwoAlerts();
  EXPECT_EQ(RenderWith(data,
                       "{{ len .Alerts.Firing }}/{{ len .Alerts.Resolved }} {{ range "
                       ".Alerts.Resolved }}{{ .Labels.job }}{{ end }}"),
            "1/1 web");
  EXPECT_EQ(RenderWith(data, R"({{ template "__subject" . }})"),
            "[FIRING:1] HighLatency (warning)");
}

TEST(NotifyTemplateTest, AlertmanagerFunctionMapOnly) {
  EXPECT_EQ(Render(R"T({{ "a-b" | toUpper }} {{ title "hello world" }} )T"
                   R"T({{ reReplaceAll "(a)" "[$1]" "banana" }} {{ match "^b" "banana" }})T"),
            "A-B Hello World b[a]n[a]n[a] true");
  // Prometheus' functions are not Alertmanager's: refused as Go refuses an unknown function.
  for (const char* text : {"{{ humanize 3 }}", "{{ query \"up\" }}", "{{ $labels }}",
                           "{{ humanizeDuration 3 }}", "{{ date \"x\" }}"}) {
    EXPECT_THAT(Render(text), HasSubstr("FAILED")) << text;
  }
  EXPECT_THAT(Render("{{ humanize 3 }}"), HasSubstr("function \"humanize\" not defined"));
  // And the rule dialect does not get Alertmanager's.
  EXPECT_FALSE(rules::Template::Parse("r", "{{ join \",\" . }}").ok());
  EXPECT_FALSE(rules::Template::Parse("r", "{{ define \"x\" }}{{ end }}").ok());
}

TEST(NotifyTemplateTest, DefineTemplateBlockAndFiles) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"a.tmpl", R"({{ define "x" }}first {{ .Receiver }}{{ end }}{{ define "y" }}Y{{ end }})"},
      {"b.tmpl", R"({{ define "x" }}second {{ template "y" }}{{ end }})"}};
  EXPECT_EQ(Render(R"({{ template "x" . }})", files), "second Y");
  EXPECT_EQ(Render(R"({{ block "z" .Status }}<{{ . }}>{{ end }}|{{ template "z" "q" }})"),
            "<alertstatus>|<q>");
  EXPECT_THAT(Render(R"({{ template "nope" . }})"), HasSubstr("template \"nope\" not defined"));
  EXPECT_THAT(Render("", {{"c.tmpl", "{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}"}}),
              HasSubstr("multiple definition of template"));
  EXPECT_THAT(Render("", {{"bad.tmpl", "\n{{ define \"a\" }}{{ if }}{{ end }}"}}),
              HasSubstr("template: bad.tmpl:2:"));
  // Runaway recursion ends with an error, not a crash.
  EXPECT_THAT(Render(R"({{ template "r" . }})",
                     {{"r.tmpl", R"({{ define "r" }}{{ template "r" . }}{{ end }})"}}),
              HasSubstr("exceeded maximum template depth"));
}

TEST(NotifyTemplateTest, DefaultNames) {
  const auto templates = NotifyTemplates::Defaults();
  for (const char* name : {"__subject", "__description", "__text_alert_list", "__alertmanagerURL",
                           "slack.default.title", "slack.default.text", "slack.default.fallback",
                           "slack.default.username", "slack.default.titlelink",
                           "email.default.subject", "email.default.html"}) {
    EXPECT_TRUE(templates->Defines(name)) << name;
  }
  EXPECT_EQ(Render(R"({{ template "slack.default.fallback" . }})"),
            // Two common labels, two group labels: no "(...)" part, two spaces as in AM's.
            "[ALERTSTATUS] grouplabelvalue1 grouplabelvalue2  | "
            "https://example.com/#/alerts?receiver=receiver");
}

TEST(NotifyTemplateTest, HtmlEscapesValuesButNotSafeHtml) {
  rules::NotificationTemplateData data = TwoAlerts();
  data.receiver = "<b>&'\"+";
  auto out = NotifyTemplates::Defaults()->ExecuteHtml(
      "<p>{{ .Receiver }}|{{ safeHtml \"<i>\" }}</p>", data);
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(*out, "<p>&lt;b&gt;&amp;&#39;&#34;&#43;|<i></p>");
}

Notification SampleNotification() {
  Notification n;
  n.receiver = "team";
  n.group_labels = {{"alertname", "HighLatency"}};
  n.at_ms = 2'000'000;
  n.external_url = "http://collector:9090";
  NotifyAlert firing;
  firing.labels = {{"alertname", "HighLatency"}, {"job", "api"}};
  firing.annotations = {{"summary", "p99 over 1s"}};
  firing.starts_at_ms = 1'000'000;
  NotifyAlert resolved = firing;
  resolved.labels = {{"alertname", "HighLatency"}, {"job", "web"}};
  resolved.ends_at_ms = 1'500'000;
  n.alerts = {firing, resolved};
  return n;
}

TEST(NotifyTemplateTest, TemplateDataForNotification) {
  const rules::NotificationTemplateData data = TemplateDataFor(SampleNotification());
  EXPECT_EQ(data.status, "firing");
  ASSERT_EQ(data.alerts.size(), 2u);
  EXPECT_EQ(data.alerts[0].status, "firing");
  EXPECT_EQ(data.alerts[1].status, "resolved");
  EXPECT_EQ(data.alerts[0].fingerprint, FingerprintString(Fingerprint(data.alerts[0].labels)));
  EXPECT_EQ(RenderWith(data, "{{ (index .Alerts 0).EndsAt }}|{{ (index .Alerts 1).EndsAt }}"),
            "0001-01-01 00:00:00 +0000 UTC|1970-01-01 00:25:00 +0000 UTC");
  EXPECT_EQ(RenderWith(data, "{{ .CommonAnnotations.summary }}"), "p99 over 1s");
}

TEST(NotifyTemplateTest, TimeFormatWithGoLayouts) {
  rules::NotificationTemplateData data = TwoAlerts();
  data.alerts[0].starts_at_ms = 1'700'000'000'123;  // 2023-11-14 22:13:20.123 UTC, a Tuesday
  EXPECT_EQ(RenderWith(
                data, R"({{ (index .Alerts 0).StartsAt.Format "2006-01-02T15:04:05.000Z07:00" }})"),
            "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(
      RenderWith(
          data,
          R"({{ (index .Alerts 0).StartsAt.Format "Mon Jan _2 3:4:5 PM MST -0700 .99 002" }})"),
      "Tue Nov 14 10:13:20 PM UTC +0000 .12 318");
  EXPECT_EQ(RenderWith(data, R"({{ (index .Alerts 0).StartsAt.Unix }})"), "1700000000");
}

TEST(NotifyTemplateTest, SlackFieldsRenderAndFailuresFallBack) {
  SlackConfig slack;
  slack.title = R"({{ .Status | toUpper }}: {{ .CommonLabels.alertname }})";
  slack.text = R"({{ range .Alerts.Firing }}{{ .Labels.job }} {{ .Annotations.summary }}{{ end }})";
  slack.username = "{{ index .Alerts 7 }}";  // fails at execution
  std::vector<std::string> failures;
  const auto templates = NotifyTemplates::Defaults();
  const boost::json::value payload = boost::json::parse(
      SlackPayload(slack, SampleNotification(), FieldRenderer{templates.get(), &failures}));
  const auto& attachment = payload.at("attachments").at(0);
  EXPECT_EQ(attachment.at("title").as_string(), "FIRING: HighLatency");
  EXPECT_EQ(attachment.at("text").as_string(), "api p99 over 1s");
  EXPECT_EQ(payload.at("username").as_string(), "Alertmanager");  // the default
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_THAT(failures[0], HasSubstr("username: "));
  EXPECT_THAT(failures[0], HasSubstr("index out of range: 7"));
}

TEST(NotifyTemplateTest, FileRedefiningADefaultNameReachesDefaultFields) {
  auto templates = NotifyTemplates::Create(
      {{"team.tmpl", R"({{ define "__subject" }}Team: {{ .CommonLabels.alertname }}{{ end }})"}});
  ASSERT_TRUE(templates.ok()) << templates.message();
  EXPECT_TRUE((*templates)->overrides_defaults());
  EXPECT_FALSE(NotifyTemplates::Defaults()->overrides_defaults());
  const boost::json::value payload = boost::json::parse(
      SlackPayload(SlackConfig{}, SampleNotification(), FieldRenderer{templates->get(), nullptr}));
  EXPECT_EQ(payload.at("attachments").at(0).at("title").as_string(), "Team: HighLatency");
  EmailConfig email;
  email.headers["Subject"] = std::string(kDefaultEmailSubject);
  EXPECT_EQ(
      RenderEmail(email, SampleNotification(), FieldRenderer{templates->get(), nullptr}).subject,
      "Team: HighLatency");
}

TEST(NotifyTemplateTest, EmailFieldsRender) {
  EmailConfig email;
  email.to = "{{ .Receiver }}@example.com, lead@example.com";
  email.from = "alerts@example.com";
  email.headers["Subject"] = R"(Alert {{ .GroupLabels.alertname }})";
  email.headers["X-Team"] = "{{ .Receiver }}";
  email.html = "<b>{{ .CommonAnnotations.summary }}</b>";
  email.text = "{{ len .Alerts }} alerts";
  const RenderedEmail mail = RenderEmail(email, SampleNotification());
  EXPECT_EQ(mail.to, "team@example.com, lead@example.com");
  EXPECT_EQ(mail.from, "alerts@example.com");
  EXPECT_EQ(mail.address_error, "");
  EXPECT_EQ(mail.subject, "Alert HighLatency");
  EXPECT_EQ(mail.html, "<b>p99 over 1s</b>");
  EXPECT_EQ(mail.text, "2 alerts");
  ASSERT_EQ(mail.headers.size(), 1u);
  EXPECT_EQ(mail.headers[0].second, "team");
}

TEST(NotifyTemplateTest, EmailAddressTemplateFailureIsNotSentAsWritten) {
  EmailConfig email;
  email.to = "{{ index .Alerts 5 }}";
  email.from = "a@example.com";
  const RenderedEmail mail = RenderEmail(email, SampleNotification());
  EXPECT_THAT(mail.address_error, HasSubstr("to: "));
  EXPECT_THAT(mail.address_error, HasSubstr("index out of range: 5"));
}

TEST(NotifyTemplateTest, SenderCountsTemplateFailuresByReceiver) {
  NotifyConfig config;
  Receiver& receiver = config.receivers.emplace_back();
  receiver.name = "team";
  SlackConfig& slack = receiver.slack_configs.emplace_back();
  slack.api_url = Secret("http://127.0.0.1:1/hook");  // refused: the send fails, not the test
  slack.title = "{{ index .Alerts 9 }}";
  slack.text = "{{ .Nope }}";
  prometheus::Registry registry;
  ConfiguredSender sender(config, &registry);
  const SendResult result = sender.Send("slack[0]", SampleNotification());
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(sender.template_failures(), 2u);
  double counted = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name != "mingus_collector_notification_template_failures_total") continue;
    for (const auto& metric : family.metric) counted += metric.counter.value;
    ASSERT_EQ(family.metric.size(), 1u);
    EXPECT_EQ(family.metric[0].label.size(), 2u);
  }
  EXPECT_EQ(counted, 2);
}

TEST(NotifyTemplateTest, ConfigLoadsTemplateFilesAndRefusesBadOnes) {
  mingus::testing::TempDir dir("notify-template");
  std::ofstream(dir.path() / "good.tmpl")
      << R"({{ define "custom.title" }}T {{ .Receiver }}{{ end }})";
  LoadContext context;
  context.base_directory = dir.path().string();
  const std::string yaml = "templates: ['*.tmpl']\nroute: {receiver: w}\nreceivers: [{name: w}]\n";
  const NotifyConfig config = ParseNotifyConfig(yaml, "notify.yaml", context);
  ASSERT_NE(config.template_set, nullptr);
  EXPECT_TRUE(config.template_set->Defines("custom.title"));
  EXPECT_TRUE(config.template_set->Defines("__subject"));

  std::ofstream(dir.path() / "zbad.tmpl") << "\n\n{{ define \"x\" }}{{ humanize 1 }}{{ end }}";
  try {
    ParseNotifyConfig(yaml, "notify.yaml", context);
    ADD_FAILURE() << "a template file that does not parse was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("zbad.tmpl:3:"));
    EXPECT_THAT(e.what(), HasSubstr("function \"humanize\" not defined"));
  }
  const std::string bad_field =
      "route: {receiver: w}\nreceivers: [{name: w, slack_configs: [{api_url: "
      "'http://x/', title: '{{ .Status '}]}]\n";
  try {
    ParseNotifyConfig(bad_field, "notify.yaml", context);
    ADD_FAILURE() << "a field template that does not parse was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("title"));
  }
}

}  // namespace
}  // namespace mingus::collector::notify

// notify.yaml loading. Each refusal below was first checked with amtool 0.25 (`amtool
// check-config`): the message follows Alertmanager's, with the file, line, column and key path
// in front.
#include "mingus/collector/notify/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "mingus/config/yaml_reader.h"
#include "temp_dir.h"

namespace mingus::collector::notify {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A fake world: environment variables and files by path; records the files read.
struct World {
  std::map<std::string, std::string, std::less<>> env;
  std::map<std::string, std::string> files;
  std::vector<std::string> reads;

  LoadContext Context() {
    LoadContext context;
    context.environment = [this](std::string_view name) -> std::optional<std::string> {
      const auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    context.read_file = [this](const std::string& path) -> StatusOr<std::string> {
      reads.push_back(path);
      const auto it = files.find(path);
      if (it == files.end()) return Status::Error(path + ": No such file or directory");
      return it->second;
    };
    context.base_directory = "/etc/mingus";
    return context;
  }
  NotifyConfig Load(const std::string& yaml) {
    return ParseNotifyConfig(yaml, "notify.yaml", Context());
  }
  std::string ErrorOf(const std::string& yaml) {
    try {
      Load(yaml);
    } catch (const config::ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
};

NotifyConfig Load(const std::string& yaml) { return World().Load(yaml); }
std::string ErrorOf(const std::string& yaml) { return World().ErrorOf(yaml); }

constexpr const char* kMinimal = "route: {receiver: w}\nreceivers: [{name: w}]\n";

TEST(NotifyConfigTest, MinimalFileGetsAlertmanagerDefaults) {
  const NotifyConfig config = Load(kMinimal);
  EXPECT_EQ(config.global.resolve_timeout, std::chrono::minutes(5));
  EXPECT_EQ(config.global.smtp_hello, "localhost");
  EXPECT_TRUE(config.global.smtp_require_tls);
  EXPECT_EQ(config.route.receiver, "w");
  EXPECT_FALSE(config.route.group_wait.has_value());  // Route::Build() applies 30s
  ASSERT_EQ(config.receivers.size(), 1u);
  EXPECT_EQ(config.FindReceiver("w"), &config.receivers[0]);
  EXPECT_EQ(config.FindReceiver("x"), nullptr);
  EXPECT_TRUE(config.disabled_integrations.empty());
}

constexpr const char* kFull = R"(
global:
  resolve_timeout: 1m
  smtp_from: alerts@example.com
  smtp_smarthost: smtp.example.com:587
  smtp_auth_username: alerts
  smtp_auth_password_file: secrets/smtp
  smtp_require_tls: false
  slack_api_url: https://hooks.slack.com/services/T0/B0/global
templates: ['templates/*.tmpl', '/abs/*.tmpl']
route:
  receiver: hook
  group_by: [alertname]
  routes:
  - matchers: [severity="critical"]
    receiver: oncall
    continue: true
receivers:
- name: hook
  webhook_configs:
  - url: http://127.0.0.1:9099/alerts
    max_alerts: 10
    http_config:
      authorization: {credentials_file: /run/hook-token}
      tls_config: {insecure_skip_verify: true, server_name: hook.local}
- name: oncall
  email_configs:
  - to: oncall@example.com
    headers: {subject: 'Alert {{ .GroupLabels.alertname }}', x-team: ops}
    require_tls: true
  slack_configs:
  - channel: '#alerts'
    send_resolved: true
    title: custom
)";

World FullWorld() {
  World world;
  world.files["/etc/mingus/secrets/smtp"] = "smtp-pass\n";
  world.files["/run/hook-token"] = "hook-token\r\n";
  return world;
}

TEST(NotifyConfigTest, ReceiversInheritGlobalsAndReadSecretFiles) {
  World world = FullWorld();
  const NotifyConfig config = world.Load(kFull);
  EXPECT_EQ(config.global.resolve_timeout, std::chrono::minutes(1));
  EXPECT_THAT(config.templates, ElementsAre("/etc/mingus/templates/*.tmpl", "/abs/*.tmpl"));

  const Receiver& hook = *config.FindReceiver("hook");
  ASSERT_EQ(hook.webhook_configs.size(), 1u);
  const WebhookConfig& webhook = hook.webhook_configs[0];
  EXPECT_TRUE(webhook.send_resolved);  // webhooks default to true
  EXPECT_EQ(webhook.url.Reveal(), "http://127.0.0.1:9099/alerts");
  EXPECT_EQ(webhook.max_alerts, 10);
  ASSERT_TRUE(webhook.http_config.authorization.has_value());
  EXPECT_EQ(webhook.http_config.authorization->type, "Bearer");
  EXPECT_EQ(webhook.http_config.authorization->credentials.Reveal(), "hook-token");
  EXPECT_TRUE(webhook.http_config.tls_config.insecure_skip_verify);
  EXPECT_EQ(webhook.http_config.tls_config.server_name, "hook.local");

  const Receiver& oncall = *config.FindReceiver("oncall");
  ASSERT_EQ(oncall.email_configs.size(), 1u);
  const EmailConfig& email = oncall.email_configs[0];
  EXPECT_FALSE(email.send_resolved);
  EXPECT_EQ(email.smarthost, "smtp.example.com:587");
  EXPECT_EQ(email.from, "alerts@example.com");
  EXPECT_EQ(email.hello, "localhost");
  EXPECT_EQ(email.auth_username, "alerts");
  EXPECT_EQ(email.auth_password.Reveal(), "smtp-pass");  // one trailing newline dropped
  EXPECT_EQ(email.auth_password_file, "/etc/mingus/secrets/smtp");
  EXPECT_TRUE(email.require_tls);  // its own value over global's false
  EXPECT_EQ(email.html, kDefaultEmailHtml);
  // Header names in canonical form; no Subject default since one was given.
  EXPECT_THAT(email.headers,
              ElementsAre(std::pair<const std::string, std::string>(
                              "Subject", "Alert {{ .GroupLabels.alertname }}"),
                          std::pair<const std::string, std::string>("X-Team", "ops")));

  ASSERT_EQ(oncall.slack_configs.size(), 1u);
  const SlackConfig& slack = oncall.slack_configs[0];
  EXPECT_TRUE(slack.send_resolved);
  EXPECT_EQ(slack.api_url.Reveal(), "https://hooks.slack.com/services/T0/B0/global");
  EXPECT_EQ(slack.channel, "#alerts");
  EXPECT_EQ(slack.title, "custom");
  EXPECT_EQ(slack.color, kDefaultSlackColor);
  EXPECT_EQ(slack.text, kDefaultSlackText);
}

TEST(NotifyConfigTest, EmailDefaultsTheSubjectAndGlobalRequireTls) {
  const NotifyConfig config = Load(R"(
global: {smtp_from: a@b.c, smtp_smarthost: 'localhost:25', smtp_require_tls: false}
route: {receiver: m}
receivers: [{name: m, email_configs: [{to: x@y.z}]}]
)");
  const EmailConfig& email = config.receivers[0].email_configs[0];
  EXPECT_FALSE(email.require_tls);
  EXPECT_EQ(email.headers.at("Subject"), kDefaultEmailSubject);
  EXPECT_TRUE(email.auth_password.empty());
}

TEST(NotifyConfigTest, BooleansAsYaml11LikeAlertmanager) {
  const NotifyConfig config = Load(R"(
global: {smtp_require_tls: NO}
route: {receiver: w, routes: [{continue: On}, {continue: n}]}
receivers: [{name: w, webhook_configs: [{url: 'http://x/', send_resolved: off}]}]
)");
  EXPECT_FALSE(config.global.smtp_require_tls);
  EXPECT_TRUE(config.route.routes[0].continue_matching);
  EXPECT_FALSE(config.route.routes[1].continue_matching);
  EXPECT_FALSE(config.receivers[0].webhook_configs[0].send_resolved);
  EXPECT_THAT(ErrorOf("global: {smtp_require_tls: \"true\"}\n" + std::string(kMinimal)),
              HasSubstr("global.smtp_require_tls: 'true' is quoted: a string, not a boolean"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, routes: [{continue: maybe}]}\n" +
                      std::string(R"(receivers: [{name: w}])")),
              HasSubstr("'maybe' is not a boolean"));
}

TEST(NotifyConfigTest, EnvironmentSwitchesDropIntegrationsWithoutReadingTheirSecrets) {
  World world = FullWorld();
  world.files.erase("/etc/mingus/secrets/smtp");  // would fail if email were on
  world.env["ALERT_EMAIL_ENABLED"] = "false";
  world.env["ALERT_SLACK_ENABLED"] = "Off";
  world.env["ALERT_WEBHOOK_ENABLED"] = "1";
  const NotifyConfig config = world.Load(kFull);
  EXPECT_THAT(config.disabled_integrations, ElementsAre("email", "slack"));
  EXPECT_TRUE(config.FindReceiver("oncall")->email_configs.empty());
  EXPECT_TRUE(config.FindReceiver("oncall")->slack_configs.empty());
  EXPECT_EQ(config.FindReceiver("hook")->webhook_configs.size(), 1u);
  EXPECT_THAT(world.reads, ElementsAre("/run/hook-token"));

  world.env["ALERT_WEBHOOK_ENABLED"] = "no";
  world.reads.clear();
  EXPECT_THAT(world.Load(kFull).disabled_integrations, ElementsAre("email", "slack", "webhook"));
  EXPECT_TRUE(world.reads.empty());

  world.env["ALERT_EMAIL_ENABLED"] = "maybe";
  EXPECT_THAT(world.ErrorOf(kFull), HasSubstr("ALERT_EMAIL_ENABLED='maybe'"));
}

TEST(NotifyConfigTest, SwitchedOffIntegrationsAreStillChecked) {
  World world;
  world.env["ALERT_EMAIL_ENABLED"] = "false";
  EXPECT_THAT(world.ErrorOf("route: {receiver: m}\nreceivers: [{name: m, email_configs: [{}]}]\n"),
              HasSubstr("missing to address in email config"));
}

TEST(NotifyConfigTest, SecretFileErrorsNameTheFile) {
  World world;
  EXPECT_EQ(
      world.ErrorOf(R"(route: {receiver: h}
receivers:
- name: h
  webhook_configs: [{url_file: hook.url}]
)"),
      "notify.yaml:4:32: receivers[0].webhook_configs[0].url_file: could not read secret file: "
      "/etc/mingus/hook.url: No such file or directory");
  world.files["/etc/mingus/hook.url"] = "\n";
  EXPECT_THAT(world.ErrorOf("route: {receiver: h}\nreceivers: [{name: h, webhook_configs: "
                            "[{url_file: hook.url}]}]\n"),
              HasSubstr("/etc/mingus/hook.url: file is empty"));
  world.files["/etc/mingus/hook.url"] = "https://hooks.example.com/abc\n";
  EXPECT_EQ(world
                .Load("route: {receiver: h}\nreceivers: [{name: h, webhook_configs: "
                      "[{url_file: hook.url}]}]\n")
                .receivers[0]
                .webhook_configs[0]
                .url.Reveal(),
            "https://hooks.example.com/abc");
}

TEST(NotifyConfigTest, RefusesWhatAlertmanagerRefuses) {
  const std::string r = "receivers: [{name: w}]\n";
  EXPECT_EQ(ErrorOf(""), "notify.yaml: route: no route provided in config");
  EXPECT_EQ(ErrorOf("route:\n  receiver: nope\n" + r),
            "notify.yaml:2:13: route.receiver: undefined receiver \"nope\" used in route");
  EXPECT_EQ(ErrorOf("route:\n  receiver: w\n  routes:\n  - receiver: x\n" + r),
            "notify.yaml:4:15: route.routes[0].receiver: undefined receiver \"x\" used in route");
  EXPECT_THAT(ErrorOf("route: {group_by: [a]}\n" + r),
              HasSubstr("route.receiver: root route must specify a default receiver"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, matchers: [a=b]}\n" + r),
              HasSubstr("route.matchers: root route must not have any matchers"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, match: {a: b}}\n" + r),
              HasSubstr("root route must not have any matchers"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, continue: true}\n" + r),
              HasSubstr("cannot have continue in root route"));
  EXPECT_THAT(ErrorOf("route: {receiver: w}\nreceivers: [{name: w}, {name: w}]\n"),
              HasSubstr("receivers[1].name: notification config name \"w\" is not unique"));
  EXPECT_THAT(ErrorOf("route: {receiver: w}\nreceivers: [{name: w}, {}]\n"),
              HasSubstr("missing name in receiver"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, group_interval: 0s}\n" + r),
              HasSubstr("group_interval cannot be zero"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, routes: [{repeat_interval: 0}]}\n" + r),
              HasSubstr("route.routes[0].repeat_interval: repeat_interval cannot be zero"));
  EXPECT_EQ(Load("route: {receiver: w, group_wait: 0s}\n" + r).route.group_wait->count(), 0);
  EXPECT_THAT(ErrorOf("route: {receiver: w, group_wait: 1.5s}\n" + r),
              HasSubstr("route.group_wait: duration '1.5s'"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, group_by: ['...', a]}\n" + r),
              HasSubstr("cannot have wildcard group_by (`...`) and other labels at the same time"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, group_by: [a, a]}\n" + r),
              HasSubstr("duplicated label \"a\" in group_by"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, group_by: [a-b]}\n" + r),
              HasSubstr("invalid label name \"a-b\" in group_by list"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, routes: [{matchers: ['a=\"b']}]}\n" + r),
              HasSubstr("route.routes[0].matchers: matcher value contains unescaped double quote"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, routes: [{matchers: 'a=b'}]}\n" + r),
              HasSubstr("expected a list"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, routes: [{match: {a-b: c}}]}\n" + r),
              HasSubstr("invalid label name 'a-b'"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, routes: [{match_re: {a: '('}}]}\n" + r),
              HasSubstr("route.routes[0].match_re: error parsing regexp"));
  EXPECT_THAT(ErrorOf("route: {receiver: w}\ninhibit_rules: [{equal: [a-b]}]\n" + r),
              HasSubstr("inhibit_rules[0].equal: \"a-b\" is not a valid label name"));
  EXPECT_THAT(ErrorOf("route: {receiver: w}\ninhibit_rules: [{source_matchers: ['a=\"b']}]\n" + r),
              HasSubstr("inhibit_rules[0].source_matchers: matcher value contains"));
  EXPECT_THAT(ErrorOf("route: {receiver: w, group_wiat: 1m}\n" + r),
              HasSubstr("route.group_wiat: unknown key"));
  EXPECT_THAT(ErrorOf("route: {receiver: w}\n" + r + "extra: 1\n"),
              HasSubstr("extra: unknown key"));
}

std::string ReceiverYaml(const std::string& receiver, const std::string& global = "") {
  return "global: {" + global + "}\nroute: {receiver: w}\nreceivers:\n- name: w\n  " + receiver +
         "\n";
}
std::string ReceiverError(const std::string& receiver, const std::string& global = "") {
  return ErrorOf(ReceiverYaml(receiver, global));
}

TEST(NotifyConfigTest, RefusesIncompleteOrConflictingNotifiers) {
  const std::string smtp = "smtp_from: a@b, smtp_smarthost: 'h:25'";
  EXPECT_THAT(ReceiverError("email_configs: [{from: a@b, smarthost: 'h:25'}]"),
              HasSubstr("receivers[0].email_configs[0].to: missing to address in email config"));
  EXPECT_THAT(ReceiverError("email_configs: [{to: a@b, from: a@b}]"),
              HasSubstr("no global SMTP smarthost set"));
  EXPECT_THAT(ReceiverError("email_configs: [{to: a@b, smarthost: 'h:25'}]"),
              HasSubstr("no global SMTP from set"));
  EXPECT_THAT(ReceiverError("email_configs: [{to: a@b, from: a@b, smarthost: h}]"),
              HasSubstr("address h: missing port in address"));
  EXPECT_THAT(ReceiverError("email_configs: [{to: a@b}]", "smtp_from: a@b, smtp_smarthost: 'h:'"),
              HasSubstr("global.smtp_smarthost: address \"h:\": port cannot be empty"));
  EXPECT_THAT(ReceiverError("email_configs: [{to: a, headers: {subject: a, Subject: b}}]", smtp),
              HasSubstr("duplicate header \"Subject\" in email config"));
  EXPECT_THAT(
      ReceiverError("email_configs: [{to: a, auth_password: x, auth_password_file: y}]", smtp),
      HasSubstr("at most one of auth_password & auth_password_file must be configured"));
  EXPECT_THAT(ReceiverError("slack_configs: [{channel: '#x'}]"),
              HasSubstr("no global Slack API URL set either inline or in a file"));
  EXPECT_THAT(ReceiverError("slack_configs: [{api_url: 'http://x/', api_url_file: /y}]"),
              HasSubstr("at most one of api_url & api_url_file must be configured"));
  EXPECT_THAT(ReceiverError("webhook_configs: [{send_resolved: true}]"),
              HasSubstr("missing URL in webhook config"));
  EXPECT_THAT(ReceiverError("webhook_configs: [{url: 'ftp://x/'}]"),
              HasSubstr("unsupported scheme for URL"));
  EXPECT_THAT(ReceiverError("webhook_configs: [{url: 'http:///x'}]"),
              HasSubstr("missing host for URL"));
  EXPECT_THAT(ReceiverError("webhook_configs: [{url: 'http://x/', url_file: /y}]"),
              HasSubstr("at most one of url & url_file must be configured"));
  EXPECT_THAT(ReceiverError("webhook_configs: [{url: 'http://x/', max_alerts: -1}]"),
              HasSubstr("max_alerts: -1 is out of range"));
  const auto http = [](const std::string& config) {
    return ReceiverError("webhook_configs: [{url: 'http://x/', http_config: " + config + "}]");
  };
  EXPECT_THAT(http("{bearer_token: a, basic_auth: {username: u, password: p}}"),
              HasSubstr("at most one of basic_auth, oauth2, bearer_token & bearer_token_file"));
  EXPECT_THAT(http("{bearer_token: a, bearer_token_file: b}"),
              HasSubstr("at most one of bearer_token & bearer_token_file must be configured"));
  EXPECT_THAT(http("{authorization: {type: Basic, credentials: x}}"),
              HasSubstr("authorization type cannot be set to \"basic\", use \"basic_auth\""));
  EXPECT_THAT(http("{authorization: {credentials: x}, bearer_token: y}"),
              HasSubstr("authorization is not compatible with bearer_token & bearer_token_file"));
  EXPECT_THAT(http("{authorization: {credentials: x, credentials_file: y}}"),
              HasSubstr("at most one of authorization credentials & credentials_file"));
  EXPECT_THAT(http("{basic_auth: {username: x, password: a, password_file: y}}"),
              HasSubstr("at most one of basic_auth password & password_file"));
  EXPECT_THAT(http("{basic_auth: {username: x}, authorization: {credentials: y}}"),
              HasSubstr("at most one of basic_auth, oauth2 & authorization must be configured"));
  EXPECT_THAT(http("{tls_config: {ca_file: ca.pem}}"),
              HasSubstr("tls_config.ca_file: /etc/mingus/ca.pem: No such file"));
  EXPECT_THAT(ErrorOf("global: {slack_api_url: 'http://x/', slack_api_url_file: /x}\n" +
                      std::string(kMinimal)),
              HasSubstr("at most one of slack_api_url & slack_api_url_file must be configured"));
  EXPECT_THAT(ErrorOf("global: {smtp_auth_password: a, smtp_auth_password_file: /x}\n" +
                      std::string(kMinimal)),
              HasSubstr("at most one of smtp_auth_password & smtp_auth_password_file"));
}

TEST(NotifyConfigTest, AlertmanagerKeysWeLackAreRefusedByName) {
  const auto refused = [](const std::string& yaml, const std::string& key) {
    const std::string error = ErrorOf(yaml);
    EXPECT_THAT(error, HasSubstr(key + ": not supported by mingus-collector")) << yaml;
    EXPECT_THAT(error, Not(HasSubstr("unknown key"))) << yaml;
  };
  const std::string r = "receivers: [{name: w}]\n";
  refused("route: {receiver: w}\ntime_intervals: [{name: x}]\n" + r, "time_intervals");
  refused("route: {receiver: w}\nmute_time_intervals: [{name: x}]\n" + r, "mute_time_intervals");
  refused("route: {receiver: w, routes: [{mute_time_intervals: [x]}]}\n" + r,
          "route.routes[0].mute_time_intervals");
  refused("route: {receiver: w, routes: [{active_time_intervals: [x]}]}\n" + r,
          "route.routes[0].active_time_intervals");
  refused("global: {opsgenie_api_key: k}\n" + std::string(kMinimal), "global.opsgenie_api_key");
  refused("global: {smtp_auth_secret: k}\n" + std::string(kMinimal), "global.smtp_auth_secret");
  refused("route: {receiver: w}\ninhibit_rules: [{name: x}]\n" + r, "inhibit_rules[0].name");
  refused(ReceiverYaml("pagerduty_configs: [{routing_key: k}]"), "receivers[0].pagerduty_configs");
  refused(ReceiverYaml("opsgenie_configs: [{api_key: k}]"), "receivers[0].opsgenie_configs");
  refused(ReceiverYaml("telegram_configs: [{chat_id: 1}]"), "receivers[0].telegram_configs");
  refused(ReceiverYaml("slack_configs: [{api_url: 'http://x/', pretext: p}]"),
          "receivers[0].slack_configs[0].pretext");
  refused(ReceiverYaml("slack_configs: [{api_url: 'http://x/', actions: []}]"),
          "receivers[0].slack_configs[0].actions");
  refused(ReceiverYaml("webhook_configs: [{url: 'http://x/', timeout: 5s}]"),
          "receivers[0].webhook_configs[0].timeout");
  refused(ReceiverYaml("webhook_configs: [{url: 'http://x/', http_config: {oauth2: {}}}]"),
          "receivers[0].webhook_configs[0].http_config.oauth2");
  refused(
      ReceiverYaml("webhook_configs: [{url: 'http://x/', http_config: {proxy_url: 'http://p/'}}]"),
      "http_config.proxy_url");
  refused(ReceiverYaml("webhook_configs: [{url: 'http://x/', http_config: {tls_config: "
                       "{min_version: TLS13}}}]"),
          "http_config.tls_config.min_version");
  refused(ReceiverYaml("email_configs: [{to: a, from: b, smarthost: 'h:1', auth_secret: s}]"),
          "receivers[0].email_configs[0].auth_secret");
}

// Every secret value in one file: none may show in a dump, a printed value or an error.
const std::vector<std::string> kSecrets = {"smtp-SECRET-1",   "slack-SECRET-2", "hook-SECRET-3",
                                           "bearer-SECRET-4", "basic-SECRET-5", "file-SECRET-6"};
constexpr const char* kSecretFile = R"(
global:
  smtp_from: a@b.c
  smtp_smarthost: 'localhost:25'
  smtp_auth_username: user
  smtp_auth_password: smtp-SECRET-1
  slack_api_url: https://hooks.slack.com/services/T/B/slack-SECRET-2
route: {receiver: w}
receivers:
- name: w
  email_configs: [{to: x@y.z}]
  slack_configs: [{channel: '#c'}]
  webhook_configs:
  - url: https://user:hook-SECRET-3@hooks.example.com/x
    http_config: {bearer_token: bearer-SECRET-4}
  - url: https://hooks.example.com/y
    http_config: {basic_auth: {username: u, password: basic-SECRET-5}}
  - url_file: /run/url
)";

void ExpectNoSecret(const std::string& text) {
  for (const auto& secret : kSecrets) EXPECT_THAT(text, Not(HasSubstr(secret))) << text;
}

TEST(NotifyConfigTest, SecretsNeverShowInDumpsOrPrints) {
  World world;
  world.files["/run/url"] = "https://hooks.example.com/file-SECRET-6\n";
  const NotifyConfig config = world.Load(kSecretFile);
  const auto& webhooks = config.receivers[0].webhook_configs;
  ASSERT_EQ(webhooks.size(), 3u);
  EXPECT_EQ(webhooks[2].url.Reveal(), "https://hooks.example.com/file-SECRET-6");
  const std::string dump = DumpNotifyConfig(config);
  ExpectNoSecret(dump);
  EXPECT_THAT(dump, HasSubstr("smtp_auth_password: <secret>"));
  EXPECT_THAT(dump, HasSubstr("url_file: /run/url"));
  std::ostringstream printed;
  printed << webhooks[0].url << webhooks[0].http_config.authorization->credentials;
  EXPECT_EQ(printed.str(), "<secret><secret>");
  EXPECT_EQ(::testing::PrintToString(webhooks[1].http_config.basic_auth->password), "<secret>");
  EXPECT_EQ(::testing::PrintToString(Secret()), "");
}

TEST(NotifyConfigTest, SecretsNeverShowInErrors) {
  World world;
  world.files["/run/bad-url"] = "ftp://user:file-SECRET-6@x/";
  const std::vector<std::string> bad = {
      ReceiverYaml("webhook_configs: [{url: 'ftp://u:hook-SECRET-3@x/'}]"),
      ReceiverYaml("webhook_configs: [{url: 'https://x/hook-SECRET-3 with space'}]"),
      ReceiverYaml("webhook_configs: [{url: 'hook-SECRET-3'}]"),
      ReceiverYaml("webhook_configs: [{url_file: /run/bad-url}]"),
      ReceiverYaml("slack_configs: [{api_url: 'slack-SECRET-2'}]"),
      ReceiverYaml("email_configs: [{to: a, auth_password: smtp-SECRET-1, auth_password_file: f}]",
                   "smtp_from: a@b, smtp_smarthost: 'h:25'"),
      ReceiverYaml("email_configs: [{to: a, auth_password: [smtp-SECRET-1]}]"),
      ReceiverYaml("webhook_configs: [{url: 'http://x/', http_config: {bearer_token: "
                   "bearer-SECRET-4, basic_auth: {password: basic-SECRET-5}}}]"),
      ReceiverYaml("webhook_configs: [{url: 'http://x/', http_config: {authorization: {type: "
                   "basic, credentials: bearer-SECRET-4}}}]"),
      "global: {slack_api_url: 'mailto:slack-SECRET-2'}\n" + std::string(kMinimal),
  };
  for (const auto& yaml : bad) {
    const std::string error = world.ErrorOf(yaml);
    EXPECT_NE(error, "no error") << yaml;
    ExpectNoSecret(error);
  }
  EXPECT_THAT(world.ErrorOf(bad[3]), HasSubstr("/run/bad-url: unsupported scheme"));
}

TEST(NotifyConfigTest, DumpReadsBackToTheSameConfiguration) {
  const std::string yaml = R"(
global: {smtp_from: a@b.c, smtp_smarthost: 'localhost:25'}
route:
  receiver: w
  group_by: ['...']
  group_wait: 10s
  routes:
  - {matchers: ['severity="critical"', 'q="say \"hi\""'], receiver: m, continue: true,
     repeat_interval: 1h30m, group_by: [alertname]}
  - {match_re: {service: 'a|b'}}
inhibit_rules:
- {source_matchers: [a=b], target_matchers: ['c!~"d"'], equal: [instance]}
receivers:
- name: w
  webhook_configs: [{url: 'http://127.0.0.1:9099/', max_alerts: 5}]
- name: m
  email_configs: [{to: x@y.z, headers: {X-A: b}}]
  slack_configs: [{api_url: 'https://hooks.slack.com/x', channel: '#c'}]
)";
  const std::string dump = DumpNotifyConfig(Load(yaml));
  EXPECT_THAT(dump, HasSubstr("- severity=\"critical\"\n"));
  // Reading the dump again (with the masked URLs given back) dumps the same.
  std::string again = dump;
  for (const auto& [masked, url] :
       {std::pair{"api_url: <secret>", "api_url: 'https://hooks.slack.com/x'"},
        std::pair{"url: <secret>", "url: 'http://127.0.0.1:9099/'"}}) {
    const size_t at = again.find(masked);
    ASSERT_NE(at, std::string::npos) << dump;
    again.replace(at, std::string_view(masked).size(), url);
  }
  EXPECT_EQ(DumpNotifyConfig(Load(again)), dump);
}

TEST(NotifyConfigTest, LoadsAFileWithSecretsBesideIt) {
  testing::TempDir dir("notify-config");
  std::ofstream(dir.path() / "notify.yaml")
      << "route: {receiver: w}\nreceivers:\n- name: w\n  webhook_configs:\n"
         "  - {url: 'http://127.0.0.1:1/', http_config: {basic_auth: {username: u, "
         "password_file: secrets/pw}}}\n";
  std::filesystem::create_directories(dir.path() / "secrets");
  std::ofstream(dir.path() / "secrets" / "pw") << "from-file\n";
  const auto no_env = [](std::string_view) { return std::optional<std::string>(); };
  const NotifyConfig config = LoadNotifyConfig((dir.path() / "notify.yaml").string(), no_env);
  const auto& auth = config.receivers[0].webhook_configs[0].http_config.basic_auth;
  ASSERT_TRUE(auth.has_value());
  EXPECT_EQ(auth->password.Reveal(), "from-file");
  EXPECT_EQ(auth->password_file, (dir.path() / "secrets" / "pw").string());
  EXPECT_THAT(
      [&] {
        try {
          LoadNotifyConfig((dir.path() / "missing.yaml").string(), no_env);
        } catch (const config::ConfigError& e) {
          return std::string(e.what());
        }
        return std::string();
      }(),
      HasSubstr("missing.yaml: cannot open file"));
}

TEST(NotifyConfigTest, ShippedFileLoadsAndRoutesAsDocumented) {
  const auto no_env = [](std::string_view) { return std::optional<std::string>(); };
  const NotifyConfig config =
      LoadNotifyConfig(std::string(MINGUS_SOURCE_DIR) + "/configs/notify.yaml", no_env);
  const auto root = Route::Build(config.route);
  std::vector<std::string> receivers;
  const Labels critical = *tsdb::MakeLabels(
      {{"alertname", "HighErrorRate"}, {"instance", "app:9110"}, {"severity", "critical"}});
  for (const Route* route : root->Match(critical)) receivers.push_back(route->options().receiver);
  ASSERT_EQ(receivers.size(), 2u);
  EXPECT_EQ(receivers[1], config.route.receiver);  // critical alerts reach the webhook too
  const Receiver* oncall = config.FindReceiver(receivers[0]);
  ASSERT_NE(oncall, nullptr);
  EXPECT_EQ(oncall->email_configs.size(), 1u);
  EXPECT_EQ(oncall->slack_configs.size(), 1u);
  const Receiver* local = config.FindReceiver(config.route.receiver);
  ASSERT_EQ(local->webhook_configs.size(), 1u);
  EXPECT_THAT(local->webhook_configs[0].url.Reveal(), HasSubstr("http://127.0.0.1:"));

  Inhibitor inhibitor(config.inhibit_rules);
  inhibitor.SetFiring({critical});
  EXPECT_TRUE(inhibitor.Mutes(*tsdb::MakeLabels(
      {{"alertname", "HighErrorRate"}, {"instance", "app:9110"}, {"severity", "high"}})));
  EXPECT_FALSE(inhibitor.Mutes(*tsdb::MakeLabels(
      {{"alertname", "HighErrorRate"}, {"instance", "db:9110"}, {"severity", "high"}})));
}

}  // namespace
}  // namespace mingus::collector::notify

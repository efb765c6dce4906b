#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "mingus/collector/notify/route.h"
#include "mingus/common/status.h"
#include "mingus/config/daemon.h"
#include "mingus/net/connection.h"

// notify.yaml: Alertmanager 0.25's configuration format, for the parts the collector supports.
// Keys Alertmanager has and we do not (other integrations, time intervals, OAuth2, proxies, ...)
// are refused with "KEY: not supported by mingus-collector"; anything else unknown is refused as
// an unknown key. Loading throws config::ConfigError naming the file, line, column and key path.
namespace mingus::collector::notify {

// A password, token, or URL with a token in it. Streaming it prints "<secret>" (nothing when
// empty), so that gtest output, logs and DumpNotifyConfig() never show the value.
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  // The value itself, for the wire only.
  const std::string& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret&) const = default;

 private:
  std::string value_;
};
std::ostream& operator<<(std::ostream& out, const Secret& secret);

// Every *_file below has been read at load (relative paths from the configuration file's folder,
// one trailing newline dropped) into the Secret beside it; the path is kept for messages.

struct TlsConfig {
  std::string ca_file;  // "" for the system's CAs
  std::string server_name;
  bool insecure_skip_verify = false;
  std::string cert_file, key_file;  // a client certificate and its key (mutual TLS), or none
  net::TlsOptions Options() const {
    return {ca_file, server_name, insecure_skip_verify, cert_file, key_file};
  }
};

// prometheus/common's http_config, the subset we support.
struct HttpConfig {
  // authorization, or bearer_token/bearer_token_file (which prometheus/common turns into it).
  struct Authorization {
    std::string type = "Bearer";
    Secret credentials;
    std::string credentials_file;
  };
  struct BasicAuth {
    std::string username;
    Secret password;
    std::string password_file;
  };
  std::optional<Authorization> authorization;
  std::optional<BasicAuth> basic_auth;
  TlsConfig tls_config;
  // The Authorization header's value ("Bearer ...", "Basic ..."), "" for none. A secret.
  std::string AuthorizationHeader() const;
};

// Alertmanager's default templates; rendering them is the notifiers' business.
inline constexpr std::string_view kDefaultEmailSubject =
    R"({{ template "email.default.subject" . }})";
inline constexpr std::string_view kDefaultEmailHtml = R"({{ template "email.default.html" . }})";
inline constexpr std::string_view kDefaultSlackColor =
    R"({{ if eq .Status "firing" }}danger{{ else }}good{{ end }})";
inline constexpr std::string_view kDefaultSlackUsername =
    R"({{ template "slack.default.username" . }})";
inline constexpr std::string_view kDefaultSlackTitle = R"({{ template "slack.default.title" . }})";
inline constexpr std::string_view kDefaultSlackTitleLink =
    R"({{ template "slack.default.titlelink" . }})";
inline constexpr std::string_view kDefaultSlackText = R"({{ template "slack.default.text" . }})";
inline constexpr std::string_view kDefaultSlackIconEmoji =
    R"({{ template "slack.default.iconemoji" . }})";
inline constexpr std::string_view kDefaultSlackIconUrl =
    R"({{ template "slack.default.iconurl" . }})";

// Unset keys come from `global` as Alertmanager does (smarthost, from, hello, auth, require_tls).
struct EmailConfig {
  bool send_resolved = false;
  std::string to;  // comma-separated addresses, a template
  std::string from;
  std::string hello;
  std::string smarthost;  // host:port
  std::string auth_username;
  Secret auth_password;
  std::string auth_password_file;
  std::string auth_identity;
  // Header names in canonical MIME form ("Subject"); Subject defaults to kDefaultEmailSubject.
  std::map<std::string, std::string> headers;
  std::string html = std::string(kDefaultEmailHtml);
  std::string text;
  bool require_tls = true;
  TlsConfig tls_config;
};

struct SlackConfig {
  bool send_resolved = false;
  Secret api_url;  // from api_url, api_url_file or global slack_api_url(_file)
  std::string api_url_file;
  std::string channel;
  std::string username = std::string(kDefaultSlackUsername);
  std::string color = std::string(kDefaultSlackColor);
  std::string title = std::string(kDefaultSlackTitle);
  std::string title_link = std::string(kDefaultSlackTitleLink);
  std::string text = std::string(kDefaultSlackText);
  std::string icon_emoji = std::string(kDefaultSlackIconEmoji);
  std::string icon_url = std::string(kDefaultSlackIconUrl);
  HttpConfig http_config;  // global http_config when absent
};

struct WebhookConfig {
  bool send_resolved = true;
  Secret url;  // from url or url_file (url_file is Alertmanager 0.26's; amtool 0.25 refuses it)
  std::string url_file;
  int64_t max_alerts = 0;  // 0: all alerts in one message
  HttpConfig http_config;  // global http_config when absent
};

struct Receiver {
  std::string name;
  std::vector<EmailConfig> email_configs;
  std::vector<SlackConfig> slack_configs;
  std::vector<WebhookConfig> webhook_configs;
};

// One node of the route tree as written; Route::Build() applies the inheritance.
struct RouteConfig {
  std::string receiver;               // "" inherits
  std::vector<std::string> group_by;  // empty inherits (unless group_by_all)
  bool group_by_all = false;          // group_by: ['...']
  // match, match_re (as Alertmanager: value "^(?:RE)$") and matchers, sorted by name, value, type.
  Matchers matchers;
  bool continue_matching = false;  // `continue`
  std::optional<std::chrono::milliseconds> group_wait, group_interval, repeat_interval;
  std::vector<RouteConfig> routes;
  int line = 0;  // of the route in the file, for messages
};

struct GlobalConfig {
  std::chrono::milliseconds resolve_timeout{5 * 60'000};
  std::string smtp_from;
  std::string smtp_smarthost;
  std::string smtp_hello = "localhost";
  std::string smtp_auth_username;
  Secret smtp_auth_password;
  std::string smtp_auth_password_file;
  std::string smtp_auth_identity;
  bool smtp_require_tls = true;
  Secret slack_api_url;
  std::string slack_api_url_file;
  HttpConfig http_config;
};

class NotifyTemplates;  // notify_template.h

struct NotifyConfig {
  GlobalConfig global;
  std::vector<std::string> templates;  // glob patterns, relative ones from the file's folder
  // The templates files' definitions over our defaults, parsed at load; null means the defaults.
  std::shared_ptr<const NotifyTemplates> template_set;
  RouteConfig route;
  std::vector<InhibitRule> inhibit_rules;
  std::vector<Receiver> receivers;
  // Integrations switched off by ALERT_EMAIL_ENABLED, ALERT_SLACK_ENABLED or
  // ALERT_WEBHOOK_ENABLED ("email", "slack", "webhook"): their configs were checked, their
  // secret files not read, and they were removed from every receiver.
  std::vector<std::string> disabled_integrations;

  const Receiver* FindReceiver(std::string_view name) const;
};

// What loading needs from the world.
struct LoadContext {
  config::Environment environment;  // ALERT_*_ENABLED
  // Reads a secret file by its resolved path; the error must not quote the content.
  std::function<StatusOr<std::string>(const std::string& path)> read_file;
  std::string base_directory = ".";  // relative paths in the file are resolved from here
};
// The process environment and real files, relative paths from `base_directory`.
LoadContext ProcessLoadContext(std::string base_directory);

// Parses and validates as Alertmanager does (every receiver a route names exists, the root route
// has a receiver and no matchers or `continue`, receiver names unique and non-empty,
// group_interval and repeat_interval not zero, each notifier's required fields present), then
// reads secret files and drops switched-off integrations.
NotifyConfig ParseNotifyConfig(const std::string& yaml, const std::string& file_name,
                               const LoadContext& context);
// Reads `path`; relative paths inside are taken from its folder.
NotifyConfig LoadNotifyConfig(const std::string& path, const config::Environment& environment);

// prometheus/common's http_config keys where `reader` stands (basic_auth, authorization,
// bearer_token, bearer_token_file, tls_config), validated as above and with their files read
// through `context`: for the scrape configs of collector.yaml, which take the same keys.
void ReadHttpConfig(config::MapReader& reader, const LoadContext& context, HttpConfig& http);

// The configuration as YAML in notify.yaml's shape, with every secret shown as <secret>: for
// debug logs and the status API.
std::string DumpNotifyConfig(const NotifyConfig& config);

}  // namespace mingus::collector::notify

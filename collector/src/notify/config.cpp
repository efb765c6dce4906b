#include "mingus/collector/notify/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <set>

#include "mingus/collector/notify/notify_template.h"
#include "mingus/common/duration.h"
#include "mingus/common/file.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/http/client.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector::notify {

std::ostream& operator<<(std::ostream& out, const Secret& secret) {
  return out << (secret.empty() ? "" : "<secret>");
}

const Receiver* NotifyConfig::FindReceiver(std::string_view name) const {
  for (const auto& receiver : receivers) {
    if (receiver.name == name) return &receiver;
  }
  return nullptr;
}

namespace {

using config::MapReader;

constexpr std::string_view kNotSupported = "not supported by mingus-collector";

// Keys Alertmanager knows and we do not: refused by name rather than as unknown keys. A key
// with no value is as good as absent, in Alertmanager too.
void RefuseUnsupported(MapReader& reader, std::initializer_list<std::string_view> keys) {
  for (const auto key : keys) {
    const YAML::Node node = reader.Node(key);
    if (node && !node.IsNull()) reader.Fail(node, key, kNotSupported);
  }
}

// A boolean as Alertmanager's YAML library (yaml.v2, YAML 1.1) reads one: true/false, yes/no,
// on/off, y/n, in lower, Title or UPPER case; a quoted one is a string.
void ReadBool(MapReader& reader, std::string_view key, bool& out) {
  const YAML::Node node = reader.Node(key);
  if (node && node.IsScalar() && node.Tag() == "!") {
    reader.Fail(node, key, fmt::format("'{}' is quoted: a string, not a boolean", node.Scalar()));
  }
  if (node && node.IsScalar()) {
    static constexpr std::string_view kTrue[] = {"y",  "Y",  "yes",  "Yes",  "YES", "on",
                                                 "On", "ON", "true", "True", "TRUE"};
    static constexpr std::string_view kFalse[] = {"n",   "N",   "no",    "No",    "NO",   "off",
                                                  "Off", "OFF", "false", "False", "FALSE"};
    const std::string& text = node.Scalar();
    if (std::find(std::begin(kTrue), std::end(kTrue), text) != std::end(kTrue)) {
      out = true;
      return;
    }
    if (std::find(std::begin(kFalse), std::end(kFalse), text) != std::end(kFalse)) {
      out = false;
      return;
    }
  }
  reader.Read(key, out);  // absent, or refused with the reader's message
}

// Alertmanager's URL check (Go's url.Parse, scheme http or https, a host). The messages never
// quote the URL: a webhook or Slack URL usually carries a token.
std::optional<std::string> UrlProblem(std::string_view url) {
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7F) return "invalid character in URL";
  }
  const size_t colon = url.find(':');
  std::string scheme(url.substr(0, colon == std::string_view::npos ? 0 : colon));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    return "unsupported scheme for URL (http or https expected)";
  }
  std::string_view rest = url.substr(colon + 1);
  if (!rest.starts_with("//")) return "missing host for URL";
  rest.remove_prefix(2);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.empty()) return "missing host for URL";
  return std::nullopt;
}

// Go's net.SplitHostPort, plus Alertmanager's "port cannot be empty".
std::optional<std::string> HostPortProblem(std::string_view address) {
  size_t port_start = 0;
  if (address.starts_with('[')) {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) {
      return fmt::format("address {}: missing ']' in address", address);
    }
    if (close + 1 >= address.size() || address[close + 1] != ':') {
      return fmt::format("address {}: missing port in address", address);
    }
    port_start = close + 2;
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string_view::npos) {
      return fmt::format("address {}: missing port in address", address);
    }
    if (address.find(':') != colon) {
      return fmt::format("address {}: too many colons in address", address);
    }
    port_start = colon + 1;
  }
  if (port_start >= address.size()) {
    return fmt::format("address \"{}\": port cannot be empty", address);
  }
  return std::nullopt;
}

// Go's textproto.CanonicalMIMEHeaderKey: "content-type" -> "Content-Type"; a name with a space
// or other character outside a token is left as it is.
std::string CanonicalHeaderName(std::string name) {
  const bool token = std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return c > ' ' && c < 0x7F &&
           std::string_view("\"(),/:;<=>?@[\\]{}").find(static_cast<char>(c)) ==
               std::string_view::npos;
  });
  if (!token) return name;
  bool upper = true;
  for (char& c : name) {
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return name;
}

// Reads one file of notify.yaml, with the integrations the environment switched off.
class Loader {
 public:
  Loader(const LoadContext& context, std::string file) : context_(context), file_(std::move(file)) {
    const auto enabled = [&](std::string_view variable) {
      return !context_.environment ||
             config::EnvironmentFlag(context_.environment, variable).value_or(true);
    };
    email_ = enabled("ALERT_EMAIL_ENABLED");
    slack_ = enabled("ALERT_SLACK_ENABLED");
    webhook_ = enabled("ALERT_WEBHOOK_ENABLED");
  }

  NotifyConfig Load(const YAML::Node& root);

 private:
  friend void notify::ReadHttpConfig(config::MapReader& reader, const LoadContext& context,
                                     HttpConfig& http);

  std::string Resolve(const std::string& path) const {
    if (path.empty() || path.front() == '/') return path;
    return context_.base_directory + "/" + path;
  }

  // Reads the secret file named at `key` (already read into `path`, now resolved).
  Secret ReadSecretFile(MapReader& reader, std::string_view key, std::string& path) {
    path = Resolve(path);
    if (!context_.read_file) reader.Fail(reader.Node(key), key, "no file reader to read secrets");
    auto content = context_.read_file(path);
    if (!content.ok()) {
      reader.Fail(reader.Node(key), key,
                  fmt::format("could not read secret file: {}", content.message()));
    }
    std::string value = std::move(*content);
    if (value.ends_with('\n')) value.pop_back();
    if (value.ends_with('\r')) value.pop_back();
    if (value.empty()) reader.Fail(reader.Node(key), key, fmt::format("{}: file is empty", path));
    return Secret(std::move(value));
  }

  // A secret given inline or in a file, at most one of the two.
  void ReadSecret(MapReader& reader, std::string_view key, std::string_view file_key,
                  Secret& secret, std::string& file, bool read_file, std::string_view what) {
    std::string inline_value;
    reader.Read(key, inline_value);
    reader.Read(file_key, file);
    if (!inline_value.empty() && !file.empty()) {
      reader.Fail(reader.Node(file_key), file_key,
                  fmt::format("at most one of {}{} & {} must be configured", what, key, file_key));
    }
    if (!inline_value.empty()) secret = Secret(std::move(inline_value));
    if (!file.empty() && read_file) secret = ReadSecretFile(reader, file_key, file);
    if (!file.empty() && !read_file) file = Resolve(file);
  }

  void ReadUrl(MapReader& reader, std::string_view key, Secret& url) {
    std::string value;
    reader.Read(key, value);
    if (value.empty()) return;
    if (const auto problem = UrlProblem(value)) reader.Fail(reader.Node(key), key, *problem);
    url = Secret(std::move(value));
  }

  void ReadTls(MapReader& reader, TlsConfig& tls, bool check_files) {
    reader.Read("ca_file", tls.ca_file);
    reader.Read("server_name", tls.server_name);
    ReadBool(reader, "insecure_skip_verify", tls.insecure_skip_verify);
    reader.Read("cert_file", tls.cert_file);
    reader.Read("key_file", tls.key_file);
    RefuseUnsupported(reader, {"ca", "cert", "key", "min_version", "max_version"});
    if (tls.cert_file.empty() != tls.key_file.empty()) {
      const std::string_view missing = tls.cert_file.empty() ? "cert_file" : "key_file";
      reader.Fail(reader.Node(missing), missing,
                  "a client certificate needs both cert_file and key_file");
    }
    for (const auto& [key, path] :
         {std::pair{"ca_file", &tls.ca_file}, std::pair{"cert_file", &tls.cert_file},
          std::pair{"key_file", &tls.key_file}}) {
      if (path->empty()) continue;
      *path = Resolve(*path);
      if (check_files && context_.read_file) {
        const auto content = context_.read_file(*path);
        if (!content.ok()) reader.Fail(reader.Node(key), key, content.message());
      }
    }
  }

  // http_config as prometheus/common validates it; bearer_token(_file) becomes authorization.
  void ReadHttp(MapReader& reader, HttpConfig& http, bool read_files) {
    std::string bearer_token, bearer_token_file;
    reader.Read("bearer_token", bearer_token);
    reader.Read("bearer_token_file", bearer_token_file);
    const bool has_bearer = !bearer_token.empty() || !bearer_token_file.empty();
    if (!bearer_token.empty() && !bearer_token_file.empty()) {
      reader.Fail(reader.Node("bearer_token_file"), "bearer_token_file",
                  "at most one of bearer_token & bearer_token_file must be configured");
    }
    if (const YAML::Node node = reader.Node("basic_auth"); node && !node.IsNull()) {
      MapReader basic = reader.Map("basic_auth");
      HttpConfig::BasicAuth auth;
      basic.Read("username", auth.username);
      RefuseUnsupported(basic, {"username_file", "username_ref", "password_ref"});
      ReadSecret(basic, "password", "password_file", auth.password, auth.password_file, read_files,
                 "basic_auth ");
      basic.Finish();
      if (has_bearer) {
        reader.Fail(node, "basic_auth",
                    "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
                    "configured");
      }
      http.basic_auth = std::move(auth);
    }
    if (const YAML::Node node = reader.Node("authorization"); node && !node.IsNull()) {
      MapReader authorization = reader.Map("authorization");
      HttpConfig::Authorization auth;
      std::string type;
      authorization.Read("type", type);
      type.erase(0, type.find_first_not_of(" \t\r\n"));
      type.erase(type.find_last_not_of(" \t\r\n") + 1);
      if (!type.empty()) auth.type = type;
      ReadSecret(authorization, "credentials", "credentials_file", auth.credentials,
                 auth.credentials_file, read_files, "authorization ");
      authorization.Finish();
      if (has_bearer) {
        reader.Fail(node, "authorization",
                    "authorization is not compatible with bearer_token & bearer_token_file");
      }
      std::string lower = auth.type;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower == "basic") {
        reader.Fail(node, "authorization",
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
      }
      if (http.basic_auth) {
        reader.Fail(node, "authorization",
                    "at most one of basic_auth, oauth2 & authorization must be configured");
      }
      http.authorization = std::move(auth);
    }
    if (has_bearer) {
      HttpConfig::Authorization auth;
      if (!bearer_token.empty()) auth.credentials = Secret(std::move(bearer_token));
      if (!bearer_token_file.empty()) {
        auth.credentials_file = std::move(bearer_token_file);
        if (read_files) {
          auth.credentials = ReadSecretFile(reader, "bearer_token_file", auth.credentials_file);
        } else {
          auth.credentials_file = Resolve(auth.credentials_file);
        }
      }
      http.authorization = std::move(auth);
    }
    MapReader tls = reader.Map("tls_config");
    ReadTls(tls, http.tls_config, read_files);
    tls.Finish();
    RefuseUnsupported(reader,
                      {"oauth2", "proxy_url", "no_proxy", "proxy_from_environment",
                       "proxy_connect_header", "follow_redirects", "enable_http2", "http_headers"});
  }

  Secret ReadUrlFile(MapReader& reader, std::string_view key, std::string& path);
  void ReadGlobal(MapReader& reader, GlobalConfig& global);
  void ReadReceiver(MapReader& reader, const YAML::Node& node, Receiver& receiver);
  void ReadEmail(MapReader& reader, const YAML::Node& node, EmailConfig& email);
  void ReadSlack(MapReader& reader, const YAML::Node& node, SlackConfig& slack);
  void ReadWebhook(MapReader& reader, const YAML::Node& node, WebhookConfig& webhook);
  void ReadRoute(MapReader& reader, const YAML::Node& node, RouteConfig& route);
  Matchers ReadMatchers(MapReader& reader, std::string_view match_key,
                        std::string_view match_re_key, std::string_view matchers_key);
  void ReadInhibitRule(MapReader& reader, InhibitRule& rule);

  const LoadContext& context_;
  std::string file_;
  bool email_ = true, slack_ = true, webhook_ = true;
  GlobalConfig global_;
  std::set<std::string, std::less<>> receiver_names_;
};

std::optional<std::chrono::milliseconds> ReadOptionalDuration(MapReader& reader,
                                                              std::string_view key) {
  std::chrono::milliseconds value{-1};
  reader.Read(key, value);
  if (value.count() < 0) return std::nullopt;
  return value;
}

void Loader::ReadGlobal(MapReader& reader, GlobalConfig& global) {
  reader.Read("resolve_timeout", global.resolve_timeout);
  reader.Read("smtp_from", global.smtp_from);
  reader.Read("smtp_smarthost", global.smtp_smarthost);
  if (!global.smtp_smarthost.empty()) {
    if (const auto problem = HostPortProblem(global.smtp_smarthost)) {
      reader.Fail(reader.Node("smtp_smarthost"), "smtp_smarthost", *problem);
    }
  }
  reader.Read("smtp_hello", global.smtp_hello);
  reader.Read("smtp_auth_username", global.smtp_auth_username);
  ReadSecret(reader, "smtp_auth_password", "smtp_auth_password_file", global.smtp_auth_password,
             global.smtp_auth_password_file, email_, "");
  reader.Read("smtp_auth_identity", global.smtp_auth_identity);
  ReadBool(reader, "smtp_require_tls", global.smtp_require_tls);
  ReadUrl(reader, "slack_api_url", global.slack_api_url);
  reader.Read("slack_api_url_file", global.slack_api_url_file);
  if (!global.slack_api_url.empty() && !global.slack_api_url_file.empty()) {
    reader.Fail(reader.Node("slack_api_url_file"), "slack_api_url_file",
                "at most one of slack_api_url & slack_api_url_file must be configured");
  }
  if (!global.slack_api_url_file.empty()) {
    if (slack_) {
      global.slack_api_url = ReadUrlFile(reader, "slack_api_url_file", global.slack_api_url_file);
    } else {
      global.slack_api_url_file = Resolve(global.slack_api_url_file);
    }
  }
  MapReader http = reader.Map("http_config");
  ReadHttp(http, global.http_config, slack_ || webhook_);
  http.Finish();
  RefuseUnsupported(
      reader, {"smtp_auth_secret",       "smtp_auth_secret_file", "smtp_tls_config",
               "pagerduty_url",          "opsgenie_api_url",      "opsgenie_api_key",
               "opsgenie_api_key_file",  "wechat_api_url",        "wechat_api_secret",
               "wechat_api_corp_id",     "victorops_api_url",     "victorops_api_key",
               "victorops_api_key_file", "telegram_api_url",      "webex_api_url",
               "jira_api_url",           "rocketchat_api_url",    "rocketchat_token",
               "rocketchat_token_file",  "rocketchat_token_id",   "rocketchat_token_id_file"});
}

Secret Loader::ReadUrlFile(MapReader& reader, std::string_view key, std::string& path) {
  Secret url = ReadSecretFile(reader, key, path);
  if (const auto problem = UrlProblem(url.Reveal())) {
    reader.Fail(reader.Node(key), key, fmt::format("{}: {}", path, *problem));
  }
  return url;
}

void Loader::ReadReceiver(MapReader& reader, const YAML::Node& node, Receiver& receiver) {
  reader.Read("name", receiver.name);
  if (receiver.name.empty()) reader.Fail(node, "name", "missing name in receiver");
  if (!receiver_names_.insert(receiver.name).second) {
    reader.Fail(reader.Node("name"), "name",
                fmt::format("notification config name \"{}\" is not unique", receiver.name));
  }
  reader.ForEachMap("email_configs", [&](MapReader& item, const YAML::Node& item_node) {
    ReadEmail(item, item_node, receiver.email_configs.emplace_back());
  });
  reader.ForEachMap("slack_configs", [&](MapReader& item, const YAML::Node& item_node) {
    ReadSlack(item, item_node, receiver.slack_configs.emplace_back());
  });
  reader.ForEachMap("webhook_configs", [&](MapReader& item, const YAML::Node& item_node) {
    ReadWebhook(item, item_node, receiver.webhook_configs.emplace_back());
  });
  RefuseUnsupported(reader,
                    {"discord_configs", "pagerduty_configs", "opsgenie_configs", "wechat_configs",
                     "pushover_configs", "victorops_configs", "sns_configs", "telegram_configs",
                     "webex_configs", "msteams_configs", "msteamsv2_configs", "jira_configs",
                     "rocketchat_configs", "incidentio_configs", "mattermost_configs"});
}

// Receiver fields are templates: Alertmanager would fail every notification with one that does
// not parse, so it is refused here.
void CheckTemplateField(MapReader& reader, const std::string& key, const std::string& text) {
  if (Status status = NotifyTemplates::Check(text); !status.ok()) {
    reader.Fail(reader.Node(key), key, status.message());
  }
}

void Loader::ReadEmail(MapReader& reader, const YAML::Node& node, EmailConfig& email) {
  ReadBool(reader, "send_resolved", email.send_resolved);
  reader.Read("to", email.to);
  reader.Read("from", email.from);
  reader.Read("hello", email.hello);
  reader.Read("smarthost", email.smarthost);
  if (!email.smarthost.empty()) {
    if (const auto problem = HostPortProblem(email.smarthost)) {
      reader.Fail(reader.Node("smarthost"), "smarthost", *problem);
    }
  }
  reader.Read("auth_username", email.auth_username);
  ReadSecret(reader, "auth_password", "auth_password_file", email.auth_password,
             email.auth_password_file, email_, "");
  reader.Read("auth_identity", email.auth_identity);
  if (const YAML::Node headers = reader.Node("headers"); headers && !headers.IsNull()) {
    if (!headers.IsMap()) reader.Fail(headers, "headers", "expected a mapping of names to values");
    for (const auto& entry : headers) {
      if (!entry.second.IsScalar() && !entry.second.IsNull()) {
        reader.Fail(entry.second, "headers", "expected a string value");
      }
      const std::string name = CanonicalHeaderName(config::ScalarText(entry.first));
      if (!email.headers.emplace(name, config::ScalarText(entry.second)).second) {
        reader.Fail(entry.first, "headers",
                    fmt::format("duplicate header \"{}\" in email config", name));
      }
    }
  }
  reader.Read("html", email.html);
  reader.Read("text", email.text);
  CheckTemplateField(reader, "html", email.html);
  CheckTemplateField(reader, "text", email.text);
  for (const auto& [name, value] : email.headers) CheckTemplateField(reader, "headers", value);
  email.require_tls = global_.smtp_require_tls;  // unless the key says otherwise
  ReadBool(reader, "require_tls", email.require_tls);
  MapReader tls = reader.Map("tls_config");
  ReadTls(tls, email.tls_config, email_);
  tls.Finish();
  RefuseUnsupported(reader, {"auth_secret", "auth_secret_file"});

  if (email.to.empty()) reader.Fail(node, "to", "missing to address in email config");
  if (email.smarthost.empty()) {
    if (global_.smtp_smarthost.empty())
      reader.Fail(node, "smarthost", "no global SMTP smarthost set");
    email.smarthost = global_.smtp_smarthost;
  }
  if (email.from.empty()) {
    if (global_.smtp_from.empty()) reader.Fail(node, "from", "no global SMTP from set");
    email.from = global_.smtp_from;
  }
  if (email.hello.empty()) email.hello = global_.smtp_hello;
  if (email.auth_username.empty()) email.auth_username = global_.smtp_auth_username;
  if (email.auth_password.empty() && email.auth_password_file.empty()) {
    email.auth_password = global_.smtp_auth_password;
    email.auth_password_file = global_.smtp_auth_password_file;
  }
  if (email.auth_identity.empty()) email.auth_identity = global_.smtp_auth_identity;
  email.headers.emplace("Subject", kDefaultEmailSubject);
}

void Loader::ReadSlack(MapReader& reader, const YAML::Node& node, SlackConfig& slack) {
  ReadBool(reader, "send_resolved", slack.send_resolved);
  ReadUrl(reader, "api_url", slack.api_url);
  reader.Read("api_url_file", slack.api_url_file);
  if (!slack.api_url.empty() && !slack.api_url_file.empty()) {
    reader.Fail(reader.Node("api_url_file"), "api_url_file",
                "at most one of api_url & api_url_file must be configured");
  }
  reader.Read("channel", slack.channel);
  reader.Read("username", slack.username);
  reader.Read("color", slack.color);
  reader.Read("title", slack.title);
  reader.Read("title_link", slack.title_link);
  reader.Read("text", slack.text);
  reader.Read("icon_emoji", slack.icon_emoji);
  reader.Read("icon_url", slack.icon_url);
  for (const auto& [key, text] :
       {std::pair<const char*, const std::string*>{"username", &slack.username},
        {"color", &slack.color},
        {"title", &slack.title},
        {"title_link", &slack.title_link},
        {"text", &slack.text},
        {"icon_emoji", &slack.icon_emoji},
        {"icon_url", &slack.icon_url}}) {
    CheckTemplateField(reader, key, *text);
  }
  if (const YAML::Node http = reader.Node("http_config"); http && !http.IsNull()) {
    MapReader http_reader = reader.Map("http_config");
    ReadHttp(http_reader, slack.http_config, slack_);
    http_reader.Finish();
  } else {
    slack.http_config = global_.http_config;
  }
  RefuseUnsupported(
      reader, {"pretext", "fields", "short_fields", "footer", "fallback", "callback_id",
               "image_url", "thumb_url", "link_names", "mrkdwn_in", "actions", "edit_messages"});
  if (slack.api_url.empty() && slack.api_url_file.empty()) {
    if (global_.slack_api_url.empty() && global_.slack_api_url_file.empty()) {
      reader.Fail(node, "api_url", "no global Slack API URL set either inline or in a file");
    }
    slack.api_url = global_.slack_api_url;
    slack.api_url_file = global_.slack_api_url_file;
  } else if (!slack.api_url_file.empty()) {
    if (slack_) {
      slack.api_url = ReadUrlFile(reader, "api_url_file", slack.api_url_file);
    } else {
      slack.api_url_file = Resolve(slack.api_url_file);
    }
  }
}

void Loader::ReadWebhook(MapReader& reader, const YAML::Node& node, WebhookConfig& webhook) {
  ReadBool(reader, "send_resolved", webhook.send_resolved);
  ReadUrl(reader, "url", webhook.url);
  reader.Read("url_file", webhook.url_file);
  reader.Read("max_alerts", webhook.max_alerts, 0, INT64_MAX);
  if (const YAML::Node http = reader.Node("http_config"); http && !http.IsNull()) {
    MapReader http_reader = reader.Map("http_config");
    ReadHttp(http_reader, webhook.http_config, webhook_);
    http_reader.Finish();
  } else {
    webhook.http_config = global_.http_config;
  }
  RefuseUnsupported(reader, {"timeout"});
  if (!webhook.url.empty() && !webhook.url_file.empty()) {
    reader.Fail(reader.Node("url_file"), "url_file",
                "at most one of url & url_file must be configured");
  }
  if (webhook.url.empty() && webhook.url_file.empty()) {
    reader.Fail(node, "url", "missing URL in webhook config (url or url_file)");
  }
  if (!webhook.url_file.empty()) {
    if (webhook_) {
      webhook.url = ReadUrlFile(reader, "url_file", webhook.url_file);
    } else {
      webhook.url_file = Resolve(webhook.url_file);
    }
  }
}

Matchers Loader::ReadMatchers(MapReader& reader, std::string_view match_key,
                              std::string_view match_re_key, std::string_view matchers_key) {
  Matchers out;
  for (auto& [name, value] : reader.Labels(match_key)) {
    out.push_back(*Matcher::Make(Matcher::Type::kEqual, std::move(name), std::move(value)));
  }
  for (auto& [name, value] : reader.Labels(match_re_key)) {
    // Alertmanager keeps the anchored form as the matcher's value: service=~"^(?:a|b)$". The
    // value alone is checked first so that an error shows it anchored once, as there.
    auto matcher = Matcher::Make(Matcher::Type::kRegex, name, value);
    if (matcher.ok()) matcher = Matcher::Make(Matcher::Type::kRegex, name, "^(?:" + value + ")$");
    if (!matcher.ok()) {
      const YAML::Node map = reader.Node(match_re_key);
      reader.Fail(map[name], match_re_key, matcher.message());
    }
    out.push_back(std::move(*matcher));
  }
  const std::vector<std::string> lines = reader.Strings(matchers_key);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto parsed = ParseMatchers(lines[i]);
    if (!parsed.ok()) {
      const YAML::Node list = reader.Node(matchers_key);
      reader.Fail(list[i], matchers_key, parsed.message());
    }
    for (auto& matcher : *parsed) out.push_back(std::move(matcher));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Loader::ReadRoute(MapReader& reader, const YAML::Node& node, RouteConfig& route) {
  route.line = static_cast<int>(node.Mark().line) + 1;
  reader.Read("receiver", route.receiver);
  if (!route.receiver.empty() && !receiver_names_.contains(route.receiver)) {
    reader.Fail(reader.Node("receiver"), "receiver",
                fmt::format("undefined receiver \"{}\" used in route", route.receiver));
  }
  std::set<std::string, std::less<>> seen;
  for (auto& name : reader.Strings("group_by")) {
    if (name == "...") {
      route.group_by_all = true;
      continue;
    }
    if (!wire::IsValidLabelName(name)) {
      reader.Fail(reader.Node("group_by"), "group_by",
                  fmt::format("invalid label name \"{}\" in group_by list", name));
    }
    if (!seen.insert(name).second) {
      reader.Fail(reader.Node("group_by"), "group_by",
                  fmt::format("duplicated label \"{}\" in group_by", name));
    }
    route.group_by.push_back(std::move(name));
  }
  if (route.group_by_all && !route.group_by.empty()) {
    reader.Fail(reader.Node("group_by"), "group_by",
                "cannot have wildcard group_by (`...`) and other labels at the same time");
  }
  route.matchers = ReadMatchers(reader, "match", "match_re", "matchers");
  ReadBool(reader, "continue", route.continue_matching);
  route.group_wait = ReadOptionalDuration(reader, "group_wait");
  route.group_interval = ReadOptionalDuration(reader, "group_interval");
  route.repeat_interval = ReadOptionalDuration(reader, "repeat_interval");
  if (route.group_interval && route.group_interval->count() == 0) {
    reader.Fail(reader.Node("group_interval"), "group_interval", "group_interval cannot be zero");
  }
  if (route.repeat_interval && route.repeat_interval->count() == 0) {
    reader.Fail(reader.Node("repeat_interval"), "repeat_interval",
                "repeat_interval cannot be zero");
  }
  reader.ForEachMap("routes", [&](MapReader& child, const YAML::Node& child_node) {
    ReadRoute(child, child_node, route.routes.emplace_back());
  });
  RefuseUnsupported(reader, {"mute_time_intervals", "active_time_intervals"});
}

void Loader::ReadInhibitRule(MapReader& reader, InhibitRule& rule) {
  rule.source_matchers = ReadMatchers(reader, "source_match", "source_match_re", "source_matchers");
  rule.target_matchers = ReadMatchers(reader, "target_match", "target_match_re", "target_matchers");
  for (auto& name : reader.Strings("equal")) {
    if (!wire::IsValidLabelName(name)) {
      reader.Fail(reader.Node("equal"), "equal",
                  fmt::format("\"{}\" is not a valid label name", name));
    }
    if (std::find(rule.equal.begin(), rule.equal.end(), name) == rule.equal.end()) {
      rule.equal.push_back(std::move(name));
    }
  }
  RefuseUnsupported(reader, {"name"});
}

NotifyConfig Loader::Load(const YAML::Node& root) {
  MapReader top(root, file_);
  NotifyConfig config;
  MapReader global = top.Map("global");
  ReadGlobal(global, config.global);
  global.Finish();
  global_ = config.global;
  for (const auto& pattern : top.Strings("templates")) config.templates.push_back(Resolve(pattern));
  if (!config.templates.empty()) {
    // As Alertmanager: a file that does not parse refuses the configuration.
    auto template_set = NotifyTemplates::Load(config.templates);
    if (!template_set.ok()) top.Fail(top.Node("templates"), "templates", template_set.message());
    config.template_set = std::move(*template_set);
  }
  top.ForEachMap("receivers", [&](MapReader& reader, const YAML::Node& node) {
    ReadReceiver(reader, node, config.receivers.emplace_back());
  });

  const YAML::Node route = top.Node("route");
  if (!route || route.IsNull()) top.Fail(root, "route", "no route provided in config");
  MapReader route_reader(route, file_, "route");
  ReadRoute(route_reader, route, config.route);
  route_reader.Finish();
  if (config.route.receiver.empty()) {
    route_reader.Fail(route, "receiver", "root route must specify a default receiver");
  }
  if (!config.route.matchers.empty()) {
    route_reader.Fail(route, "matchers", "root route must not have any matchers");
  }
  if (config.route.continue_matching) {
    route_reader.Fail(route, "continue", "cannot have continue in root route");
  }

  top.ForEachMap("inhibit_rules", [&](MapReader& reader, const YAML::Node&) {
    ReadInhibitRule(reader, config.inhibit_rules.emplace_back());
  });
  RefuseUnsupported(top, {"mute_time_intervals", "time_intervals"});
  top.Finish();

  for (auto& receiver : config.receivers) {
    if (!email_) receiver.email_configs.clear();
    if (!slack_) receiver.slack_configs.clear();
    if (!webhook_) receiver.webhook_configs.clear();
  }
  if (!email_) config.disabled_integrations.push_back("email");
  if (!slack_) config.disabled_integrations.push_back("slack");
  if (!webhook_) config.disabled_integrations.push_back("webhook");
  return config;
}

}  // namespace

LoadContext ProcessLoadContext(std::string base_directory) {
  LoadContext context;
  context.environment = config::ProcessEnvironment();
  context.read_file = [](const std::string& path) { return ReadFile(path, 1 << 20); };
  context.base_directory = std::move(base_directory);
  return context;
}

void ReadHttpConfig(config::MapReader& reader, const LoadContext& context, HttpConfig& http) {
  Loader(context, reader.file()).ReadHttp(reader, http, /*read_files=*/true);
}

std::string HttpConfig::AuthorizationHeader() const {
  if (authorization) return authorization->type + " " + authorization->credentials.Reveal();
  if (basic_auth) {
    return http::BasicAuthorization(basic_auth->username, basic_auth->password.Reveal());
  }
  return "";
}

NotifyConfig ParseNotifyConfig(const std::string& yaml, const std::string& file_name,
                               const LoadContext& context) {
  return Loader(context, file_name).Load(config::LoadString(yaml, file_name));
}

NotifyConfig LoadNotifyConfig(const std::string& path, const config::Environment& environment) {
  const size_t slash = path.rfind('/');
  LoadContext context = ProcessLoadContext(
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash)));
  context.environment = environment;
  return Loader(context, path).Load(config::LoadFile(path));
}

namespace {

// The YAML of DumpNotifyConfig(): notify.yaml's keys, secrets masked as Alertmanager masks them.
class Dumper {
 public:
  std::string Dump(const NotifyConfig& config) {
    out_ << YAML::BeginMap;
    Key("global");
    out_ << YAML::BeginMap;
    const GlobalConfig& global = config.global;
    Field("resolve_timeout", FormatDuration(global.resolve_timeout));
    Field("smtp_from", global.smtp_from);
    Field("smtp_smarthost", global.smtp_smarthost);
    Field("smtp_hello", global.smtp_hello);
    Field("smtp_auth_username", global.smtp_auth_username);
    Field("smtp_auth_password", global.smtp_auth_password);
    Field("smtp_auth_password_file", global.smtp_auth_password_file);
    Field("smtp_auth_identity", global.smtp_auth_identity);
    Flag("smtp_require_tls", global.smtp_require_tls);
    Field("slack_api_url", global.slack_api_url);
    Field("slack_api_url_file", global.slack_api_url_file);
    Http(global.http_config);
    out_ << YAML::EndMap;
    if (!config.templates.empty()) {
      Key("templates");
      out_ << YAML::BeginSeq;
      for (const auto& pattern : config.templates) out_ << pattern;
      out_ << YAML::EndSeq;
    }
    Key("route");
    Route(config.route);
    if (!config.inhibit_rules.empty()) {
      Key("inhibit_rules");
      out_ << YAML::BeginSeq;
      for (const auto& rule : config.inhibit_rules) {
        out_ << YAML::BeginMap;
        MatcherList("source_matchers", rule.source_matchers);
        MatcherList("target_matchers", rule.target_matchers);
        StringList("equal", rule.equal);
        out_ << YAML::EndMap;
      }
      out_ << YAML::EndSeq;
    }
    Key("receivers");
    out_ << YAML::BeginSeq;
    for (const auto& receiver : config.receivers) Receiver(receiver);
    out_ << YAML::EndSeq;
    out_ << YAML::EndMap;
    return std::string(out_.c_str()) + "\n";
  }

 private:
  void Key(std::string_view key) { out_ << YAML::Key << std::string(key) << YAML::Value; }
  void Field(std::string_view key, const std::string& value) {
    if (value.empty()) return;
    Key(key);
    out_ << value;
  }
  void Field(std::string_view key, const Secret& value) {
    if (value.empty()) return;
    Key(key);
    out_ << "<secret>";
  }
  void Flag(std::string_view key, bool value) {
    Key(key);
    out_ << value;
  }
  void StringList(std::string_view key, const std::vector<std::string>& values) {
    if (values.empty()) return;
    Key(key);
    out_ << YAML::Flow << YAML::BeginSeq;
    for (const auto& value : values) out_ << value;
    out_ << YAML::EndSeq;
  }
  void MatcherList(std::string_view key, const Matchers& matchers) {
    if (matchers.empty()) return;
    Key(key);
    out_ << YAML::BeginSeq;
    for (const auto& matcher : matchers) out_ << matcher.String();
    out_ << YAML::EndSeq;
  }

  void Tls(const TlsConfig& tls) {
    if (tls.ca_file.empty() && tls.server_name.empty() && !tls.insecure_skip_verify) return;
    Key("tls_config");
    out_ << YAML::BeginMap;
    Field("ca_file", tls.ca_file);
    Field("server_name", tls.server_name);
    Flag("insecure_skip_verify", tls.insecure_skip_verify);
    out_ << YAML::EndMap;
  }

  void Http(const HttpConfig& http) {
    const TlsConfig& tls = http.tls_config;
    if (!http.authorization && !http.basic_auth && tls.ca_file.empty() && tls.server_name.empty() &&
        !tls.insecure_skip_verify) {
      return;
    }
    Key("http_config");
    out_ << YAML::BeginMap;
    if (http.authorization) {
      Key("authorization");
      out_ << YAML::BeginMap;
      Field("type", http.authorization->type);
      Field("credentials", http.authorization->credentials);
      Field("credentials_file", http.authorization->credentials_file);
      out_ << YAML::EndMap;
    }
    if (http.basic_auth) {
      Key("basic_auth");
      out_ << YAML::BeginMap;
      Field("username", http.basic_auth->username);
      Field("password", http.basic_auth->password);
      Field("password_file", http.basic_auth->password_file);
      out_ << YAML::EndMap;
    }
    Tls(http.tls_config);
    out_ << YAML::EndMap;
  }

  void Route(const RouteConfig& route) {
    out_ << YAML::BeginMap;
    Field("receiver", route.receiver);
    if (route.group_by_all) {
      StringList("group_by", {"..."});
    } else {
      StringList("group_by", route.group_by);
    }
    MatcherList("matchers", route.matchers);
    if (route.continue_matching) Flag("continue", true);
    if (route.group_wait) Field("group_wait", FormatDuration(*route.group_wait));
    if (route.group_interval) Field("group_interval", FormatDuration(*route.group_interval));
    if (route.repeat_interval) Field("repeat_interval", FormatDuration(*route.repeat_interval));
    if (!route.routes.empty()) {
      Key("routes");
      out_ << YAML::BeginSeq;
      for (const auto& child : route.routes) Route(child);
      out_ << YAML::EndSeq;
    }
    out_ << YAML::EndMap;
  }

  void Receiver(const notify::Receiver& receiver) {
    out_ << YAML::BeginMap;
    Field("name", receiver.name);
    if (!receiver.email_configs.empty()) {
      Key("email_configs");
      out_ << YAML::BeginSeq;
      for (const auto& email : receiver.email_configs) {
        out_ << YAML::BeginMap;
        Flag("send_resolved", email.send_resolved);
        Field("to", email.to);
        Field("from", email.from);
        Field("hello", email.hello);
        Field("smarthost", email.smarthost);
        Field("auth_username", email.auth_username);
        Field("auth_password", email.auth_password);
        Field("auth_password_file", email.auth_password_file);
        Field("auth_identity", email.auth_identity);
        Key("headers");
        out_ << YAML::BeginMap;
        for (const auto& [name, value] : email.headers) {
          Key(name);
          out_ << value;
        }
        out_ << YAML::EndMap;
        Field("html", email.html);
        Field("text", email.text);
        Flag("require_tls", email.require_tls);
        Tls(email.tls_config);
        out_ << YAML::EndMap;
      }
      out_ << YAML::EndSeq;
    }
    if (!receiver.slack_configs.empty()) {
      Key("slack_configs");
      out_ << YAML::BeginSeq;
      for (const auto& slack : receiver.slack_configs) {
        out_ << YAML::BeginMap;
        Flag("send_resolved", slack.send_resolved);
        Field("api_url", slack.api_url);
        Field("api_url_file", slack.api_url_file);
        Field("channel", slack.channel);
        Field("username", slack.username);
        Field("color", slack.color);
        Field("title", slack.title);
        Field("title_link", slack.title_link);
        Field("text", slack.text);
        Field("icon_emoji", slack.icon_emoji);
        Field("icon_url", slack.icon_url);
        Http(slack.http_config);
        out_ << YAML::EndMap;
      }
      out_ << YAML::EndSeq;
    }
    if (!receiver.webhook_configs.empty()) {
      Key("webhook_configs");
      out_ << YAML::BeginSeq;
      for (const auto& webhook : receiver.webhook_configs) {
        out_ << YAML::BeginMap;
        Flag("send_resolved", webhook.send_resolved);
        Field("url", webhook.url);
        Field("url_file", webhook.url_file);
        Key("max_alerts");
        out_ << webhook.max_alerts;
        Http(webhook.http_config);
        out_ << YAML::EndMap;
      }
      out_ << YAML::EndSeq;
    }
    out_ << YAML::EndMap;
  }

  YAML::Emitter out_;
};

}  // namespace

std::string DumpNotifyConfig(const NotifyConfig& config) { return Dumper().Dump(config); }

}  // namespace mingus::collector::notify

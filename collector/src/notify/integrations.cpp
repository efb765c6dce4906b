#include "mingus/collector/notify/integrations.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <tuple>

#include "mingus/collector/notify/smtp.h"
#include "mingus/common/duration.h"
#include "mingus/common/text.h"
#include "mingus/http/client.h"

namespace mingus::collector::notify {

namespace {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  text::AppendHtmlEscaped(text, out);
  return out;
}

// Alertmanager's "__alertmanagerURL": where its UI lists the receiver's alerts.
std::string AlertsLink(const Notification& notification) {
  return fmt::format("{}/#/alerts?receiver={}", notification.external_url,
                     http::QueryEscape(notification.receiver));
}

// Slack's attachment colour: resolved green, firing by severity.
std::string SeverityColor(const Notification& notification) {
  if (!notification.Firing()) return "good";
  const Labels common = notification.CommonLabels();  // LabelValue views into it
  const std::string_view severity = LabelValue(common, "severity");
  if (severity == "critical") return "danger";
  if (severity == "high" || severity == "warning") return "warning";
  return "#439FE0";
}

std::string AlertLines(const Notification& notification, bool html) {
  std::string out;
  for (const auto& alert : notification.alerts) {
    const bool resolved = alert.ResolvedAt(notification.at_ms);
    const std::string_view summary = LabelValue(alert.annotations, "summary");
    if (html) {
      out += fmt::format("<li><b>[{}]</b> {}<br>", resolved ? "RESOLVED" : "FIRING",
                         HtmlEscape(summary));
      for (const auto& [name, value] : alert.labels)
        out += fmt::format("{} = {}<br>", HtmlEscape(name), HtmlEscape(value));
      for (const auto& [name, value] : alert.annotations) {
        out += fmt::format("<i>{}</i>: {}<br>", HtmlEscape(name), HtmlEscape(value));
      }
      out += fmt::format("Since {}</li>\n", FormatRfc3339(alert.starts_at_ms));
    } else {
      out += fmt::format("[{}] {}\n", resolved ? "RESOLVED" : "FIRING", summary);
      for (const auto& [name, value] : alert.labels) out += fmt::format("  {} = {}\n", name, value);
      for (const auto& [name, value] : alert.annotations)
        out += fmt::format("  {}: {}\n", name, value);
      out += fmt::format("  since {}\n", FormatRfc3339(alert.starts_at_ms));
    }
  }
  return out;
}

http::ClientOptions HttpOptions(const HttpConfig& config, bool secret_url) {
  http::ClientOptions options;
  options.timeout = std::chrono::seconds(30);
  options.tls = config.tls_config.Options();
  options.secret_url = secret_url;
  options.headers.emplace_back("Content-Type", "application/json");
  options.headers.emplace_back("User-Agent", "mingus-collector");
  if (const std::string authorization = config.AuthorizationHeader(); !authorization.empty()) {
    options.headers.emplace_back("Authorization", authorization);
  }
  return options;
}

// 2xx delivered; 4xx will not get better; 5xx, network errors and timeouts may.
SendResult Post(const std::string& url, const std::string& body,
                const http::ClientOptions& options) {
  const auto response = http::HttpRequest("POST", url, body, options);
  if (!response.ok()) return {false, true, response.message()};
  if (response->status / 100 == 2) return {true, false, ""};
  std::string reason = response->body.substr(0, 200);
  std::replace(reason.begin(), reason.end(), '\n', ' ');
  return {false, response->status / 100 == 5 || response->status == 429,
          fmt::format("HTTP status {}: {}", response->status, reason)};
}

}  // namespace

StatusOr<std::string> RenderField(const NotifyTemplates& templates,
                                  const rules::NotificationTemplateData& data,
                                  std::string_view text, std::string_view default_text,
                                  const std::string& rendered_default, bool html) {
  if (text == default_text) return rendered_default;
  if (text.find("{{") == std::string_view::npos) return std::string(text);
  return html ? templates.ExecuteHtml(text, data) : templates.ExecuteText(text, data);
}

namespace {

// Renders the fields of one notification, falling back to the default on failure.
class Fields {
 public:
  Fields(const Notification& notification, FieldRenderer renderer)
      : renderer_(renderer),
        defaults_(renderer.templates == nullptr ? NotifyTemplates::Defaults() : nullptr),
        templates_(renderer.templates != nullptr ? *renderer.templates : *defaults_),
        data_(TemplateDataFor(notification)) {}

  std::string operator()(std::string_view name, std::string_view text,
                         std::string_view default_text, const std::string& rendered,
                         bool html = false) const {
    // A file redefining a default name reaches the default fields too, as in Alertmanager.
    auto value =
        templates_.overrides_defaults() && text == default_text && !text.empty()
            ? (html ? templates_.ExecuteHtml(text, data_) : templates_.ExecuteText(text, data_))
            : RenderField(templates_, data_, text, default_text, rendered, html);
    if (value.ok()) return std::move(*value);
    if (renderer_.failures != nullptr) {
      renderer_.failures->push_back(fmt::format("{}: {}", name, value.message()));
    }
    return rendered;
  }
  // Without a default: the rendering or the reason it failed.
  StatusOr<std::string> Strict(std::string_view text) const {
    return RenderField(templates_, data_, text, "", std::string());
  }

 private:
  FieldRenderer renderer_;
  std::shared_ptr<const NotifyTemplates> defaults_;
  const NotifyTemplates& templates_;
  rules::NotificationTemplateData data_;
};

}  // namespace

std::string SlackPayload(const SlackConfig& config, const Notification& notification,
                         FieldRenderer renderer) {
  const Fields field(notification, renderer);
  const std::string title =
      field("title", config.title, kDefaultSlackTitle, DefaultSubject(notification));
  const std::string title_link =
      field("title_link", config.title_link, kDefaultSlackTitleLink, AlertsLink(notification));
  boost::json::object attachment{
      {"title", title},
      {"title_link", title_link},
      {"text", field("text", config.text, kDefaultSlackText, AlertLines(notification, false))},
      {"fallback", title + " | " + title_link},
      {"color", field("color", config.color, kDefaultSlackColor, SeverityColor(notification))},
      {"mrkdwn_in", boost::json::array{"fallback", "pretext", "text"}}};
  boost::json::object message{
      {"username", field("username", config.username, kDefaultSlackUsername, "Alertmanager")},
      {"attachments", boost::json::array{std::move(attachment)}}};
  if (!config.channel.empty()) message["channel"] = config.channel;
  const std::string icon_emoji = field("icon_emoji", config.icon_emoji, kDefaultSlackIconEmoji, "");
  const std::string icon_url = field("icon_url", config.icon_url, kDefaultSlackIconUrl, "");
  if (!icon_emoji.empty()) message["icon_emoji"] = icon_emoji;
  if (!icon_url.empty()) message["icon_url"] = icon_url;
  return boost::json::serialize(message);
}

RenderedEmail RenderEmail(const EmailConfig& config, const Notification& notification,
                          FieldRenderer renderer) {
  const Fields field(notification, renderer);
  RenderedEmail out;
  for (const auto& [key, text, target] :
       {std::tuple<const char*, const std::string*, std::string*>{"to", &config.to, &out.to},
        {"from", &config.from, &out.from}}) {
    auto rendered = field.Strict(*text);
    if (rendered.ok()) {
      *target = std::move(*rendered);
    } else if (out.address_error.empty()) {
      out.address_error = fmt::format("{}: {}", key, rendered.message());
    }
  }
  const auto header = config.headers.find("Subject");
  out.subject =
      field("headers.Subject",
            header == config.headers.end() ? std::string(kDefaultEmailSubject) : header->second,
            kDefaultEmailSubject, DefaultSubject(notification));
  const std::string html = fmt::format(
      "<!DOCTYPE html>\n<html><head><meta "
      "charset=\"UTF-8\"><title>{0}</title></head><body>\n<h2>{0}</h2>\n<ul>\n{1}</ul>\n"
      "<p><a href=\"{2}\">View in the collector</a></p>\n</body></html>\n",
      HtmlEscape(out.subject), AlertLines(notification, true),
      HtmlEscape(AlertsLink(notification)));
  out.html = field("html", config.html, kDefaultEmailHtml, html, true);
  const std::string text = out.subject + "\n\n" + AlertLines(notification, false);
  out.text = config.text.empty() ? text : field("text", config.text, "", text);
  for (const auto& [name, value] : config.headers) {
    if (name != "Subject" && name != "To" && name != "From") {
      out.headers.emplace_back(name, field("headers." + name, value, "", value));
    }
  }
  return out;
}

ConfiguredSender::ConfiguredSender(NotifyConfig config, prometheus::Registry* registry)
    : config_(std::move(config)) {
  if (registry != nullptr) {
    failures_family_ = &prometheus::BuildCounter()
                            .Name("mingus_collector_notification_template_failures_total")
                            .Help(
                                "Receiver fields whose template failed to render, sent with "
                                "the default instead, by receiver and integration.")
                            .Register(*registry);
  }
}

void ConfiguredSender::ReportTemplateFailures(const std::string& integration,
                                              const Notification& notification,
                                              const std::vector<std::string>& failures) {
  for (const std::string& failure : failures) {
    spdlog::warn("receiver {} ({}): template failed, sending the default instead: {}",
                 notification.receiver, integration, failure);
    ++template_failures_;
    if (failures_family_ != nullptr) {
      failures_family_->Add({{"receiver", notification.receiver}, {"integration", integration}})
          .Increment();
    }
  }
}

void ConfiguredSender::Apply(NotifyConfig config) {
  std::lock_guard lock(mutex_);
  config_ = std::move(config);
}

SendResult ConfiguredSender::Send(const std::string& integration,
                                  const Notification& notification) {
  NotifyConfig config;
  {
    std::lock_guard lock(mutex_);
    config = config_;
  }
  const Receiver* receiver = config.FindReceiver(notification.receiver);
  const size_t open = integration.find('[');
  const auto index = text::ParseUint64(
      std::string_view(integration).substr(open + 1, integration.size() - open - 2));
  if (receiver == nullptr || open == std::string::npos || !index) {
    return {false, false,
            fmt::format("no receiver {} with integration {} in the configuration",
                        notification.receiver, integration)};
  }
  const std::string kind = integration.substr(0, open);
  if (kind == "webhook" && *index < receiver->webhook_configs.size()) {
    const WebhookConfig& webhook = receiver->webhook_configs[*index];
    return Post(webhook.url.Reveal(), WebhookPayload(notification),
                HttpOptions(webhook.http_config, false));
  }
  std::vector<std::string> failures;
  const FieldRenderer renderer{config.template_set.get(), &failures};
  if (kind == "slack" && *index < receiver->slack_configs.size()) {
    const SlackConfig& slack = receiver->slack_configs[*index];
    const std::string payload = SlackPayload(slack, notification, renderer);
    ReportTemplateFailures(integration, notification, failures);
    return Post(slack.api_url.Reveal(), payload, HttpOptions(slack.http_config, true));
  }
  if (kind == "email" && *index < receiver->email_configs.size()) {
    const EmailConfig& email = receiver->email_configs[*index];
    RenderedEmail rendered = RenderEmail(email, notification, renderer);
    ReportTemplateFailures(integration, notification, failures);
    if (!rendered.address_error.empty()) {
      return {false, false, "email template failed: " + rendered.address_error};
    }
    EmailMessage message;
    message.from = rendered.from;
    for (size_t start = 0; start <= rendered.to.size();) {
      const size_t comma = std::min(rendered.to.find(',', start), rendered.to.size());
      const auto address = text::Trim(std::string_view(rendered.to).substr(start, comma - start));
      if (!address.empty()) message.to.emplace_back(address);
      start = comma + 1;
    }
    message.headers.emplace_back("From", rendered.from);
    message.headers.emplace_back("To", rendered.to);
    message.headers.emplace_back("Subject", rendered.subject);
    for (auto& header : rendered.headers) message.headers.push_back(std::move(header));
    message.text = std::move(rendered.text);
    message.html = std::move(rendered.html);
    SmtpOptions options;
    options.smarthost = email.smarthost;
    options.hello = email.hello.empty() ? "localhost" : email.hello;
    options.auth_username = email.auth_username;
    options.auth_password = email.auth_password.Reveal();
    options.auth_identity = email.auth_identity;
    options.starttls = email.require_tls ? StartTls::kRequired : StartTls::kOpportunistic;
    options.tls = email.tls_config.Options();
    const SmtpResult result = SendMail(options, message);
    return {result.ok(), result.temporary(), result.message};
  }
  return {false, false, fmt::format("receiver {} has no {}", notification.receiver, integration)};
}

}  // namespace mingus::collector::notify

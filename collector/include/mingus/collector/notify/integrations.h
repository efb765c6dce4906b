#pragma once

#include <mutex>
#include <string>

#include "mingus/collector/notify/config.h"
#include "mingus/collector/notify/deliverer.h"
#include "mingus/collector/notify/notification.h"

// The integrations of notify.yaml's receivers: Alertmanager's webhook (v4 payload), Slack's
// incoming webhook and email over SMTP.
namespace mingus::collector::notify {

// Slack's incoming-webhook message for a notification, as Alertmanager's slack notifier writes
// it with its default templates (one attachment; colour by state and severity).
std::string SlackPayload(const SlackConfig& config, const Notification& notification);
// The mail Alertmanager's email notifier would send with its default templates.
struct RenderedEmail {
  std::string subject;
  std::string html;
  std::string text;
};
StatusOr<RenderedEmail> RenderEmail(const EmailConfig& config, const Notification& notification);

// Alertmanager's notification templates are Go templates over its template.Data; the
// collector renders the defaults itself. A field set to anything else is used as written when
// it has no `{{`, and refused (the default is used, and the reason logged) when it has.
StatusOr<std::string> RenderField(std::string_view text, std::string_view default_text,
                                  const std::string& rendered_default);

// Sends through the receivers of a configuration; Apply swaps the configuration at reload.
class ConfiguredSender final : public Sender {
 public:
  explicit ConfiguredSender(NotifyConfig config) : config_(std::move(config)) {}
  void Apply(NotifyConfig config);
  SendResult Send(const std::string& integration, const Notification& notification) override;

 private:
  std::mutex mutex_;
  NotifyConfig config_;
};

}  // namespace mingus::collector::notify

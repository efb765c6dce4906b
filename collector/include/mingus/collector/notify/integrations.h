#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "mingus/collector/notify/config.h"
#include "mingus/collector/notify/deliverer.h"
#include "mingus/collector/notify/notification.h"
#include "mingus/collector/notify/notify_template.h"

// The integrations of notify.yaml's receivers: Alertmanager's webhook (v4 payload), Slack's
// incoming webhook and email over SMTP.
namespace mingus::collector::notify {

// How receiver fields are rendered: the template set (null: the defaults) and, when given, where
// fields whose custom template failed are reported ("title: REASON") — each such field falls
// back to our rendering of the default, as the notification must still go out.
struct FieldRenderer {
  const NotifyTemplates* templates = nullptr;
  std::vector<std::string>* failures = nullptr;
};

// Slack's incoming-webhook message for a notification, as Alertmanager's slack notifier writes
// it (one attachment; colour by state and severity), its fields rendered as templates.
std::string SlackPayload(const SlackConfig& config, const Notification& notification,
                         FieldRenderer renderer = {});
// The mail Alertmanager's email notifier would send.
struct RenderedEmail {
  // to and from are templates too; unlike the texts they have no default to fall back to, so a
  // failure leaves `address_error` set and the mail is not sent.
  std::string to;
  std::string from;
  std::string address_error;
  std::string subject;
  std::string html;
  std::string text;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Subject, To and From
};
RenderedEmail RenderEmail(const EmailConfig& config, const Notification& notification,
                          FieldRenderer renderer = {});

// One field: our own rendering of a default template (`text` == `default_text`), the text as
// written when it has no action, else the template executed over Alertmanager's data (HTML
// escaping printed values for `html`).
StatusOr<std::string> RenderField(const NotifyTemplates& templates,
                                  const rules::NotificationTemplateData& data,
                                  std::string_view text, std::string_view default_text,
                                  const std::string& rendered_default, bool html = false);

// Sends through the receivers of a configuration; Apply swaps the configuration at reload.
// A field whose template fails is logged with the receiver and the reason, counted in
// mingus_collector_notification_template_failures_total{receiver,integration} (when a registry
// is given) and rendered with the default.
class ConfiguredSender final : public Sender {
 public:
  explicit ConfiguredSender(NotifyConfig config, prometheus::Registry* registry = nullptr);
  void Apply(NotifyConfig config);
  SendResult Send(const std::string& integration, const Notification& notification) override;
  // Fields that fell back to the default since start (tests).
  uint64_t template_failures() const { return template_failures_.load(); }

 private:
  void ReportTemplateFailures(const std::string& integration, const Notification& notification,
                              const std::vector<std::string>& failures);

  std::mutex mutex_;
  NotifyConfig config_;
  prometheus::Family<prometheus::Counter>* failures_family_ = nullptr;
  std::atomic<uint64_t> template_failures_{0};
};

}  // namespace mingus::collector::notify

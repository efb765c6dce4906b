#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mingus/collector/notify/alert.h"
#include "mingus/common/status.h"

namespace mingus::collector::notify {

// What one integration of one receiver is told about one aggregation group at one flush:
// Alertmanager's template.Data before rendering. Kept in the outbox as JSON, so a notification
// accepted before a restart is delivered after it exactly as it was.
struct Notification {
  std::string receiver;
  std::string group_key;
  Labels group_labels;
  std::vector<NotifyAlert> alerts;  // by job, instance, then labels, as Alertmanager sorts them
  int64_t at_ms = 0;                // the flush: an alert is resolved when it ended by then
  std::string external_url;
  size_t truncated_alerts = 0;  // left out by a webhook's max_alerts

  bool Firing() const;  // some alert still firing at at_ms
  Labels CommonLabels() const;
  Labels CommonAnnotations() const;
};

std::string NotificationToJson(const Notification& notification);
StatusOr<Notification> NotificationFromJson(std::string_view json);

// Alertmanager's webhook payload, version 4.
std::string WebhookPayload(const Notification& notification);

// Alertmanager's default subject (and Slack title): "[FIRING:2] GroupLabelValues
// (OtherCommonLabelValues)".
std::string DefaultSubject(const Notification& notification);

}  // namespace mingus::collector::notify

#include "mingus/collector/notify/notification.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "mingus/common/duration.h"

namespace mingus::collector::notify {

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

boost::json::object LabelsJson(const Labels& labels) {
  boost::json::object out;
  for (const auto& [name, value] : labels) out[name] = value;
  return out;
}

StatusOr<Labels> LabelsFromJson(const boost::json::value& value) {
  if (!value.is_object()) return Status::Error("labels: expected an object");
  Labels out;
  for (const auto& [name, text] : value.as_object()) {
    if (!text.is_string())
      return Status::Error(fmt::format("label {}: expected a string", std::string(name)));
    out.emplace_back(std::string(name), std::string(text.as_string()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The labels every alert has with the same value.
Labels Common(const std::vector<NotifyAlert>& alerts, Labels NotifyAlert::*field) {
  if (alerts.empty()) return {};
  Labels common = alerts.front().*field;
  for (const auto& alert : alerts) {
    std::erase_if(common, [&](const auto& label) {
      const auto& labels = alert.*field;
      return std::find(labels.begin(), labels.end(), label) == labels.end();
    });
  }
  return common;
}

// Go's zero time, which Alertmanager shows as the end of an alert still firing.
constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";

}  // namespace

uint64_t Fingerprint(const Labels& labels) {
  uint64_t hash = kFnvOffset;
  const auto add = [&](std::string_view text) {
    for (const char c : text) {
      hash ^= static_cast<uint8_t>(c);
      hash *= kFnvPrime;
    }
    hash ^= 0xff;
    hash *= kFnvPrime;
  };
  for (const auto& [name, value] : labels) {
    add(name);
    add(value);
  }
  return hash;
}

std::string FingerprintString(uint64_t fingerprint) { return fmt::format("{:016x}", fingerprint); }

bool Notification::Firing() const {
  return std::any_of(alerts.begin(), alerts.end(),
                     [&](const auto& alert) { return !alert.ResolvedAt(at_ms); });
}

Labels Notification::CommonLabels() const { return Common(alerts, &NotifyAlert::labels); }
Labels Notification::CommonAnnotations() const { return Common(alerts, &NotifyAlert::annotations); }

std::string NotificationToJson(const Notification& notification) {
  boost::json::array alerts;
  for (const auto& alert : notification.alerts) {
    alerts.push_back(boost::json::object{{"labels", LabelsJson(alert.labels)},
                                         {"annotations", LabelsJson(alert.annotations)},
                                         {"starts_at_ms", alert.starts_at_ms},
                                         {"ends_at_ms", alert.ends_at_ms},
                                         {"generator_url", alert.generator_url}});
  }
  return boost::json::serialize(
      boost::json::object{{"receiver", notification.receiver},
                          {"group_key", notification.group_key},
                          {"group_labels", LabelsJson(notification.group_labels)},
                          {"alerts", std::move(alerts)},
                          {"at_ms", notification.at_ms},
                          {"external_url", notification.external_url},
                          {"truncated_alerts", notification.truncated_alerts}});
}

StatusOr<Notification> NotificationFromJson(std::string_view json) {
  boost::system::error_code error;
  const boost::json::value root = boost::json::parse(json, error);
  if (error || !root.is_object())
    return Status::Error("a stored notification is not a JSON object");
  try {
    const auto& object = root.as_object();
    Notification out;
    out.receiver = std::string(object.at("receiver").as_string());
    out.group_key = std::string(object.at("group_key").as_string());
    auto group_labels = LabelsFromJson(object.at("group_labels"));
    if (!group_labels.ok()) return group_labels.status();
    out.group_labels = std::move(*group_labels);
    out.at_ms = object.at("at_ms").to_number<int64_t>();
    out.external_url = std::string(object.at("external_url").as_string());
    out.truncated_alerts = object.at("truncated_alerts").to_number<size_t>();
    for (const auto& item : object.at("alerts").as_array()) {
      const auto& alert = item.as_object();
      NotifyAlert parsed;
      auto labels = LabelsFromJson(alert.at("labels"));
      auto annotations = LabelsFromJson(alert.at("annotations"));
      if (!labels.ok()) return labels.status();
      if (!annotations.ok()) return annotations.status();
      parsed.labels = std::move(*labels);
      parsed.annotations = std::move(*annotations);
      parsed.starts_at_ms = alert.at("starts_at_ms").to_number<int64_t>();
      parsed.ends_at_ms = alert.at("ends_at_ms").to_number<int64_t>();
      parsed.generator_url = std::string(alert.at("generator_url").as_string());
      out.alerts.push_back(std::move(parsed));
    }
    return out;
  } catch (const std::exception& e) {
    return Status::Error(fmt::format("a stored notification is malformed: {}", e.what()));
  }
}

std::string WebhookPayload(const Notification& notification) {
  boost::json::array alerts;
  for (const auto& alert : notification.alerts) {
    const bool resolved = alert.ResolvedAt(notification.at_ms);
    alerts.push_back(boost::json::object{
        {"status", resolved ? "resolved" : "firing"},
        {"labels", LabelsJson(alert.labels)},
        {"annotations", LabelsJson(alert.annotations)},
        {"startsAt", FormatRfc3339(alert.starts_at_ms)},
        {"endsAt", resolved ? FormatRfc3339(alert.ends_at_ms) : std::string(kZeroTime)},
        {"generatorURL", alert.generator_url},
        {"fingerprint", FingerprintString(Fingerprint(alert.labels))}});
  }
  return boost::json::serialize(
      boost::json::object{{"version", "4"},
                          {"groupKey", notification.group_key},
                          {"truncatedAlerts", notification.truncated_alerts},
                          {"status", notification.Firing() ? "firing" : "resolved"},
                          {"receiver", notification.receiver},
                          {"groupLabels", LabelsJson(notification.group_labels)},
                          {"commonLabels", LabelsJson(notification.CommonLabels())},
                          {"commonAnnotations", LabelsJson(notification.CommonAnnotations())},
                          {"externalURL", notification.external_url},
                          {"alerts", std::move(alerts)}});
}

std::string DefaultSubject(const Notification& notification) {
  // Alertmanager's "__subject": [{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{
  // .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }} {{ if gt
  // (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{
  // .Values | join " "
  // }}{{ end }}){{ end }}
  size_t firing = 0;
  for (const auto& alert : notification.alerts)
    firing += alert.ResolvedAt(notification.at_ms) ? 0 : 1;
  std::vector<std::string> group_values, other_values;
  for (const auto& label : notification.group_labels) group_values.push_back(label.second);
  const Labels common = notification.CommonLabels();
  for (const auto& label : common) {
    const bool grouped =
        std::any_of(notification.group_labels.begin(), notification.group_labels.end(),
                    [&](const auto& group_label) { return group_label.first == label.first; });
    if (!grouped) other_values.push_back(label.second);
  }
  std::string out = notification.Firing() ? fmt::format("[FIRING:{}] ", firing) : "[RESOLVED] ";
  out += fmt::format("{} ", fmt::join(group_values, " "));
  if (common.size() > notification.group_labels.size())
    out += fmt::format("({})", fmt::join(other_values, " "));
  return out;
}

}  // namespace mingus::collector::notify

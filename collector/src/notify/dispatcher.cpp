#include "mingus/collector/notify/dispatcher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <set>

#include "mingus/common/duration.h"
#include "mingus/common/text.h"

namespace mingus::collector::notify {

namespace {

// True when every element of `subset` is in `set` (both sorted).
bool IsSubset(const std::vector<uint64_t>& subset, const std::vector<uint64_t>& set) {
  return std::includes(set.begin(), set.end(), subset.begin(), subset.end());
}

// Alertmanager's DedupStage.needsUpdate.
bool NeedsUpdate(const LogEntry* entry, const std::vector<uint64_t>& firing,
                 const std::vector<uint64_t>& resolved, bool send_resolved, int64_t repeat_ms,
                 int64_t now) {
  // A group never notified is notified at once, unless it only has resolved alerts.
  if (entry == nullptr) return !firing.empty();
  // Something new fires.
  if (!IsSubset(firing, entry->firing)) return true;
  // All resolved: tell the receiver (whatever send_resolved says, the log must forget them),
  // unless it was never told they fired.
  if (firing.empty()) return !entry->firing.empty();
  if (send_resolved && !IsSubset(resolved, entry->resolved)) return true;
  return entry->timestamp_ms < now - repeat_ms;
}

// Alertmanager's AlertSlice order: by job, then instance (an alert with the label first), then
// by label set.
bool AlertBefore(const NotifyAlert& a, const NotifyAlert& b) {
  for (const std::string_view key : {"job", "instance"}) {
    const auto ia = std::find_if(a.labels.begin(), a.labels.end(),
                                 [&](const auto& l) { return l.first == key; });
    const auto ib = std::find_if(b.labels.begin(), b.labels.end(),
                                 [&](const auto& l) { return l.first == key; });
    const bool has_a = ia != a.labels.end(), has_b = ib != b.labels.end();
    if (!has_a && !has_b) continue;
    if (!has_a) return false;
    if (!has_b) return true;
    if (ia->second != ib->second) return ia->second < ib->second;
  }
  return a.labels < b.labels;
}

// A random silence id in UUID form, as Alertmanager's.
std::string NewSilenceId() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  const uint64_t a = random(), b = random();
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff,
                     b >> 48, b & 0xffffffffffffULL);
}

// The receivers an alert's `channels` label names, when they exist (a rule's way of naming its
// receivers directly); empty when it names none.
std::vector<std::string> ChannelReceivers(const NotifyConfig& config, const Labels& labels) {
  std::vector<std::string> out;
  const std::string_view channels = LabelValue(labels, "channels");
  size_t start = 0;
  while (start <= channels.size() && !channels.empty()) {
    const size_t comma = std::min(channels.find(',', start), channels.size());
    const std::string name(text::Trim(channels.substr(start, comma - start)));
    if (!name.empty()) {
      if (config.FindReceiver(name) != nullptr) {
        out.push_back(name);
      } else {
        spdlog::warn("alert {}: channels names no receiver '{}'; routing it by the route tree",
                     LabelSetString(labels), name);
      }
    }
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::vector<IntegrationRef> IntegrationsOf(const Receiver& receiver) {
  std::vector<IntegrationRef> out;
  for (size_t i = 0; i < receiver.email_configs.size(); ++i) {
    out.push_back({fmt::format("email[{}]", i), receiver.email_configs[i].send_resolved, 0});
  }
  for (size_t i = 0; i < receiver.slack_configs.size(); ++i) {
    out.push_back({fmt::format("slack[{}]", i), receiver.slack_configs[i].send_resolved, 0});
  }
  for (size_t i = 0; i < receiver.webhook_configs.size(); ++i) {
    out.push_back({fmt::format("webhook[{}]", i), receiver.webhook_configs[i].send_resolved,
                   receiver.webhook_configs[i].max_alerts});
  }
  return out;
}

struct Dispatcher::Group {
  const Route* route = nullptr;
  std::string receiver;
  std::string key;  // Alertmanager's group key
  Labels group_labels;
  std::set<uint64_t> alerts;  // fingerprints
  int64_t next_flush_ms = 0;
};

Dispatcher::Dispatcher(const NotifyConfig& config, DispatcherOptions options, const Clock& clock,
                       NotifyStore& store, std::function<void()> wake)
    : clock_(clock),
      clock_steps_(clock),
      options_(std::move(options)),
      store_(store),
      wake_(std::move(wake)),
      inhibitor_({}) {
  if (auto log = store_.Log(); log.ok()) {
    log_ = std::move(*log);
  } else {
    spdlog::error("reading the notification log: {}", log.message());
  }
  if (auto silences = store_.Silences(); silences.ok()) {
    silences_ = std::move(*silences);
  } else {
    spdlog::error("reading silences: {}", silences.message());
  }
  Apply(config);
}

Dispatcher::~Dispatcher() = default;

void Dispatcher::Apply(const NotifyConfig& config) {
  std::lock_guard lock(mutex_);
  config_ = config;
  options_.resolve_timeout_ms = config.global.resolve_timeout.count();
  route_ = Route::Build(config_.route);
  inhibitor_ = Inhibitor(config_.inhibit_rules);
  groups_.clear();
  const int64_t now = UnixMillis(clock_);
  for (const auto& [fingerprint, alert] : alerts_) RouteAlertLocked(alert, now);
}

void Dispatcher::RouteAlertLocked(const NotifyAlert& alert, int64_t now) {
  const uint64_t fingerprint = Fingerprint(alert.labels);
  const std::vector<std::string> channels = ChannelReceivers(config_, alert.labels);
  for (const Route* route : route_->Match(alert.labels)) {
    const std::vector<std::string> receivers =
        channels.empty() ? std::vector<std::string>{route->options().receiver} : channels;
    Labels group_labels = route->GroupLabels(alert.labels);
    const std::string key = route->GroupKey(group_labels);
    for (const auto& receiver : receivers) {
      auto& group = groups_[key + "\x1f" + receiver];
      if (!group) {
        group = std::make_unique<Group>();
        group->route = route;
        group->receiver = receiver;
        group->key = key;
        group->group_labels = group_labels;
        group->next_flush_ms = now + route->options().group_wait.count();
      }
      group->alerts.insert(fingerprint);
    }
  }
}

void Dispatcher::FollowClockStepLocked(int64_t now) {
  const int64_t step = clock_steps_.TakeStepMs();
  if (step == 0) return;
  spdlog::warn("the wall clock stepped by {} ms: alert timeouts and group flushes follow it", step);
  const int64_t before_step = now - step;
  for (auto& [fingerprint, alert] : alerts_) {
    if (alert.ends_at_ms > before_step) alert.ends_at_ms += step;
  }
  for (auto& [key, group] : groups_) group->next_flush_ms += step;
}

void Dispatcher::Put(const std::vector<NotifyAlert>& alerts) {
  std::lock_guard lock(mutex_);
  const int64_t now = UnixMillis(clock_);
  FollowClockStepLocked(now);
  for (NotifyAlert alert : alerts) {
    if (alert.ends_at_ms == 0) alert.ends_at_ms = now + options_.resolve_timeout_ms;
    const uint64_t fingerprint = Fingerprint(alert.labels);
    auto [it, inserted] = alerts_.insert_or_assign(fingerprint, std::move(alert));
    (void)inserted;
    RouteAlertLocked(it->second, now);
  }
}

bool Dispatcher::SilencedLocked(const Labels& labels, int64_t now,
                                std::vector<std::string>* by) const {
  bool silenced = false;
  for (const auto& silence : silences_) {
    if (silence.ActiveAt(now) && MatchesAll(silence.matchers, labels)) {
      silenced = true;
      if (by == nullptr) break;
      by->push_back(silence.id);
    }
  }
  return silenced;
}

int64_t Dispatcher::Flush() {
  std::lock_guard lock(mutex_);
  const int64_t now = UnixMillis(clock_);
  FollowClockStepLocked(now);
  std::vector<Labels> firing;
  for (const auto& [fingerprint, alert] : alerts_) {
    if (!alert.ResolvedAt(now)) firing.push_back(alert.labels);
  }
  inhibitor_.SetFiring(std::move(firing));
  int64_t next = now + 60'000;
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& group = *it->second;
    if (group.next_flush_ms <= now) {
      FlushGroupLocked(group, now);
      group.next_flush_ms = now + group.route->options().group_interval.count();
    }
    if (group.alerts.empty()) {
      it = groups_.erase(it);
      continue;
    }
    next = std::min(next, group.next_flush_ms);
    ++it;
  }
  if (StoreDecidedLocked() && wake_) wake_();
  if (!unstored_.empty()) next = std::min(next, now + kStoreRetryMs);
  // Resolved alerts no group holds any longer are done.
  std::set<uint64_t> held;
  for (const auto& [key, group] : groups_) held.insert(group->alerts.begin(), group->alerts.end());
  std::erase_if(alerts_, [&](const auto& entry) {
    return entry.second.ResolvedAt(now) && !held.contains(entry.first);
  });
  return next;
}

void Dispatcher::FlushGroupLocked(Group& group, int64_t now) {
  std::vector<NotifyAlert> alerts;  // not muted, in Alertmanager's order
  std::vector<uint64_t> firing, resolved;
  std::optional<int64_t> cooldown_ms;
  for (const uint64_t fingerprint : group.alerts) {
    const auto found = alerts_.find(fingerprint);
    if (found == alerts_.end()) continue;
    const NotifyAlert& alert = found->second;
    if (SilencedLocked(alert.labels, now, nullptr) || inhibitor_.Mutes(alert.labels)) continue;
    alerts.push_back(alert);
    if (alert.ResolvedAt(now)) {
      resolved.push_back(fingerprint);
      continue;
    }
    firing.push_back(fingerprint);
    // A rule's `cooldown` annotation stands in for the route's repeat interval.
    if (const auto text = LabelValue(alert.annotations, "cooldown"); !text.empty()) {
      if (auto cooldown = ParseDuration(text); cooldown.ok()) {
        cooldown_ms =
            std::min(cooldown_ms.value_or(INT64_MAX), static_cast<int64_t>(cooldown->count()));
      }
    }
  }
  // Resolved alerts are reported once: they leave the group after this flush.
  std::erase_if(group.alerts, [&](uint64_t fingerprint) {
    const auto found = alerts_.find(fingerprint);
    return found == alerts_.end() || found->second.ResolvedAt(now);
  });
  if (firing.empty() && resolved.empty()) return;
  std::stable_sort(alerts.begin(), alerts.end(), AlertBefore);

  const Receiver* receiver = config_.FindReceiver(group.receiver);
  if (receiver == nullptr) return;
  const int64_t repeat_ms = cooldown_ms.value_or(group.route->options().repeat_interval.count());
  const LogEntry entry{firing, resolved, now};
  for (const IntegrationRef& integration : IntegrationsOf(*receiver)) {
    const std::string log_key =
        fmt::format("{}/{}/{}", group.key, group.receiver, integration.name);
    const auto logged = log_.find(log_key);
    if (!NeedsUpdate(logged == log_.end() ? nullptr : &logged->second, firing, resolved,
                     integration.send_resolved, repeat_ms, now)) {
      continue;
    }
    Notification notification;
    notification.receiver = group.receiver;
    notification.group_key = group.key;
    notification.group_labels = group.group_labels;
    notification.at_ms = now;
    notification.external_url = options_.external_url;
    for (const auto& alert : alerts) {
      if (integration.send_resolved || !alert.ResolvedAt(now)) notification.alerts.push_back(alert);
    }
    if (integration.max_alerts > 0 &&
        notification.alerts.size() > static_cast<size_t>(integration.max_alerts)) {
      notification.truncated_alerts =
          notification.alerts.size() - static_cast<size_t>(integration.max_alerts);
      notification.alerts.resize(static_cast<size_t>(integration.max_alerts));
    }
    Decided decided{log_key, entry, std::nullopt};
    if (!notification.alerts.empty()) {  // else nothing to say, but the log moves on
      decided.outbox = OutboxEntry{0,
                                   group.receiver,
                                   integration.name,
                                   log_key,
                                   NotificationToJson(notification),
                                   now,
                                   now,
                                   now + options_.delivery_deadline_ms,
                                   0,
                                   ""};
    }
    unstored_.push_back(std::move(decided));
    log_[log_key] = entry;
  }
}

bool Dispatcher::StoreDecidedLocked() {
  bool enqueued = false;
  while (!unstored_.empty()) {
    Decided& decided = unstored_.front();
    const Status stored = decided.outbox ? store_.Enqueue(*decided.outbox, decided.entry)
                                         : store_.PutLog(decided.log_key, decided.entry);
    if (!stored.ok()) {
      if (!store_failing_) {
        spdlog::error(
            "storing the notification for {}: {}; it is kept and stored when the store "
            "takes writes again",
            decided.log_key, stored.message());
      }
      store_failing_ = true;
      break;
    }
    if (store_failing_) spdlog::info("notification store writable again: {}", decided.log_key);
    store_failing_ = false;
    enqueued = enqueued || decided.outbox.has_value();
    unstored_.pop_front();
  }
  return enqueued;
}

void Dispatcher::ForgetLog(const std::string& log_key) {
  std::lock_guard lock(mutex_);
  log_.erase(log_key);
}

StatusOr<std::string> Dispatcher::CreateSilence(Silence silence) {
  std::lock_guard lock(mutex_);
  const int64_t now = UnixMillis(clock_);
  if (silence.matchers.empty()) return Status::Error("a silence needs at least one matcher");
  if (silence.starts_at_ms == 0) silence.starts_at_ms = now;
  if (silence.ends_at_ms <= silence.starts_at_ms)
    return Status::Error("endsAt must be after startsAt");
  if (silence.ends_at_ms <= now) return Status::Error("endsAt is in the past");
  // A matcher that matches the empty string would silence every alert without that label too;
  // Alertmanager refuses a silence whose matchers all do.
  if (std::all_of(silence.matchers.begin(), silence.matchers.end(),
                  [](const Matcher& matcher) { return matcher.Matches(""); })) {
    return Status::Error("at least one matcher must not match the empty string");
  }
  silence.id = NewSilenceId();
  silence.updated_at_ms = now;
  if (Status status = store_.SaveSilence(silence); !status.ok()) return status;
  silences_.push_back(silence);
  return silence.id;
}

Status Dispatcher::ExpireSilence(const std::string& id) {
  std::lock_guard lock(mutex_);
  const int64_t now = UnixMillis(clock_);
  const auto it = std::find_if(silences_.begin(), silences_.end(),
                               [&](const Silence& s) { return s.id == id; });
  if (it == silences_.end()) return Status::Error(fmt::format("silence {} not found", id));
  if (it->ends_at_ms <= now) return Status::Error(fmt::format("silence {} already expired", id));
  Silence expired = *it;
  expired.ends_at_ms = now;
  expired.starts_at_ms = std::min(expired.starts_at_ms, now);
  expired.updated_at_ms = now;
  if (Status status = store_.SaveSilence(expired); !status.ok()) return status;
  *it = expired;
  return OkStatus();
}

std::vector<Silence> Dispatcher::Silences() const {
  std::lock_guard lock(mutex_);
  return silences_;
}

std::vector<Dispatcher::AlertStatus> Dispatcher::Alerts() const {
  std::lock_guard lock(mutex_);
  const int64_t now = UnixMillis(clock_);
  std::vector<AlertStatus> out;
  for (const auto& [fingerprint, alert] : alerts_) {
    AlertStatus status{alert, {}, inhibitor_.Mutes(alert.labels)};
    SilencedLocked(alert.labels, now, &status.silenced_by);
    out.push_back(std::move(status));
  }
  return out;
}

size_t Dispatcher::group_count() const {
  std::lock_guard lock(mutex_);
  return groups_.size();
}

}  // namespace mingus::collector::notify

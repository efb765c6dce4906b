#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mingus/collector/notify/route.h"

namespace mingus::collector::notify {

// An alert as the notifier sees it, Alertmanager's model.Alert: the rule evaluator hands these
// over (Prometheus' notifier.Alert), every resend delay while firing and once more resolved.
struct NotifyAlert {
  Labels labels;
  Labels annotations;
  int64_t starts_at_ms = 0;
  int64_t ends_at_ms = 0;  // when it resolved, or until when a firing alert is valid
  std::string generator_url;

  bool ResolvedAt(int64_t now_ms) const { return ends_at_ms != 0 && ends_at_ms <= now_ms; }
};

// Alertmanager's model.LabelSet.Fingerprint(): FNV-1a 64 over each name and value, each followed
// by a 0xff byte, in name order.
uint64_t Fingerprint(const Labels& labels);
// As Alertmanager shows it in webhook payloads: 16 lower-case hex digits.
std::string FingerprintString(uint64_t fingerprint);

}  // namespace mingus::collector::notify

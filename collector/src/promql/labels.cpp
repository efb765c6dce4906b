#include <algorithm>
#include <unordered_set>

#include "detail/eval.h"

namespace mingus::collector::promql::detail {

namespace {

Labels::const_iterator LowerBound(const Labels& labels, std::string_view name) {
  return std::lower_bound(labels.begin(), labels.end(), name,
                          [](const auto& label, std::string_view n) { return label.first < n; });
}

bool Listed(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

const std::string* FindLabel(const Labels& labels, std::string_view name) {
  const auto it = LowerBound(labels, name);
  return it != labels.end() && it->first == name ? &it->second : nullptr;
}

void SetLabel(Labels& labels, std::string_view name, std::string value) {
  const auto it = labels.begin() + (LowerBound(labels, name) - labels.cbegin());
  const bool present = it != labels.end() && it->first == name;
  if (value.empty()) {
    if (present) labels.erase(it);
  } else if (present) {
    it->second = std::move(value);
  } else {
    labels.emplace(it, std::string(name), std::move(value));
  }
}

void DropMetricName(Labels& labels) { SetLabel(labels, kMetricName, ""); }

Labels GroupLabels(const Labels& labels, const std::vector<std::string>& names, bool keep) {
  Labels out;
  for (const auto& label : labels) {
    const bool kept = keep ? Listed(names, label.first)
                           : (!Listed(names, label.first) && label.first != kMetricName);
    if (kept) out.push_back(label);
  }
  return out;
}

std::string LabelsKey(const Labels& labels) {
  std::string key;
  for (const auto& [name, value] : labels) {
    key += name;
    key += '\xff';
    key += value;
    key += '\xff';
  }
  return key;
}

Status CheckUniqueLabelsets(const Vector& vector) {
  std::unordered_set<std::string> seen;
  for (const auto& element : vector) {
    if (!seen.insert(LabelsKey(element.labels)).second) {
      return Status::Error(std::string(kDuplicateLabelset));
    }
  }
  return OkStatus();
}

}  // namespace mingus::collector::promql::detail

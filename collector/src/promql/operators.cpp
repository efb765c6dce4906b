// Binary operators at one step, with Prometheus 2.x's label rules: arithmetic drops
// __name__, comparisons without bool keep it (and filter), atan2 keeps it too.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "detail/eval.h"

namespace mingus::collector::promql::detail {

namespace {

using Card = VectorMatching::Card;

bool DropsMetricName(std::string_view op) {
  return op == "+" || op == "-" || op == "*" || op == "/" || op == "%" || op == "^";
}

struct ElementResult {
  double value;
  bool keep;  // false: a comparison filtered the element out
};

// Prometheus' vectorElemBinop: a comparison yields the left value and whether it held.
ElementResult ElementBinary(std::string_view op, double lhs, double rhs) {
  if (op == "+") return {lhs + rhs, true};
  if (op == "-") return {lhs - rhs, true};
  if (op == "*") return {lhs * rhs, true};
  if (op == "/") return {lhs / rhs, true};
  if (op == "%") return {std::fmod(lhs, rhs), true};
  if (op == "^") return {std::pow(lhs, rhs), true};
  if (op == "atan2") return {std::atan2(lhs, rhs), true};
  if (op == "==") return {lhs, lhs == rhs};
  if (op == "!=") return {lhs, lhs != rhs};
  if (op == ">") return {lhs, lhs > rhs};
  if (op == "<") return {lhs, lhs < rhs};
  if (op == ">=") return {lhs, lhs >= rhs};
  return {lhs, lhs <= rhs};  // "<=": the parser admits no other operator
}

std::string MatchKey(const Labels& labels, const VectorMatching& matching) {
  return LabelsKey(GroupLabels(labels, matching.labels, matching.on));
}

// The labels of a matched pair: the "many" side's, narrowed to the matching labels for
// one-to-one matching, plus group_left/group_right's extra labels from the "one" side.
Labels ResultLabels(const Labels& many, const Labels& one, const Binary& binary) {
  const VectorMatching& matching = binary.matching;
  Labels labels = many;
  if (DropsMetricName(binary.op)) DropMetricName(labels);
  if (matching.card == Card::kOneToOne) {
    Labels narrowed;
    for (auto& label : labels) {
      const bool listed = std::find(matching.labels.begin(), matching.labels.end(), label.first) !=
                          matching.labels.end();
      if (listed == matching.on) narrowed.push_back(std::move(label));
    }
    labels = std::move(narrowed);
  }
  for (const auto& name : matching.include) {
    const std::string* value = FindLabel(one, name);
    SetLabel(labels, name, value != nullptr ? *value : "");
  }
  return labels;
}

Vector SetOperation(const Binary& binary, Vector lhs, Vector rhs) {
  const auto keys = [&](const Vector& vector) {
    std::unordered_set<std::string> out;
    for (const auto& element : vector) out.insert(MatchKey(element.labels, binary.matching));
    return out;
  };
  if (binary.op == "or") {
    if (lhs.empty()) return rhs;
    const auto left = keys(lhs);
    for (auto& element : rhs) {
      if (!left.contains(MatchKey(element.labels, binary.matching)))
        lhs.push_back(std::move(element));
    }
    return lhs;
  }
  const bool keep_matched = binary.op == "and";
  if (rhs.empty()) return keep_matched ? Vector{} : lhs;
  const auto right = keys(rhs);
  Vector out;
  for (auto& element : lhs) {
    if (right.contains(MatchKey(element.labels, binary.matching)) == keep_matched) {
      out.push_back(std::move(element));
    }
  }
  return out;
}

}  // namespace

bool IsComparison(std::string_view op) {
  return op == "==" || op == "!=" || op == ">" || op == "<" || op == ">=" || op == "<=";
}

double ScalarBinary(std::string_view op, double lhs, double rhs) {
  const ElementResult result = ElementBinary(op, lhs, rhs);
  if (IsComparison(op)) return result.keep ? 1 : 0;
  return result.value;
}

Vector VectorScalarBinary(const Binary& binary, Vector vector, double scalar, bool scalar_on_left) {
  const bool comparison = IsComparison(binary.op);
  Vector out;
  for (auto& element : vector) {
    const double lhs = scalar_on_left ? scalar : element.value;
    const double rhs = scalar_on_left ? element.value : scalar;
    auto [value, keep] = ElementBinary(binary.op, lhs, rhs);
    // A comparison filters the vector's elements: their value stays, whichever side.
    if (comparison) value = element.value;
    if (binary.return_bool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    element.value = value;
    if (DropsMetricName(binary.op) || binary.return_bool) DropMetricName(element.labels);
    out.push_back(std::move(element));
  }
  return out;
}

StatusOr<Vector> VectorBinary(const Binary& binary, Vector lhs, Vector rhs) {
  const VectorMatching& matching = binary.matching;
  if (matching.card == Card::kManyToMany)
    return SetOperation(binary, std::move(lhs), std::move(rhs));
  if (lhs.empty() || rhs.empty()) return Vector{};
  // Work as many-to-one: for group_right the right side is the "many" side.
  const bool swapped = matching.card == Card::kOneToMany;
  Vector& many = swapped ? rhs : lhs;
  const Vector& one = swapped ? lhs : rhs;

  std::unordered_map<std::string, const Element*> one_by_key;
  for (const auto& element : one) {
    const auto [it, inserted] = one_by_key.emplace(MatchKey(element.labels, matching), &element);
    if (!inserted) {
      return Status::Error(fmt::format(
          "found duplicate series for the match group {} on the {} hand-side of the operation: "
          "[{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
          tsdb::LabelsString(GroupLabels(element.labels, matching.labels, matching.on)),
          swapped ? "left" : "right", tsdb::LabelsString(element.labels),
          tsdb::LabelsString(it->second->labels)));
    }
  }

  // Per match key: the result label sets made so far (many-to-one must keep them unique).
  std::unordered_map<std::string, std::unordered_set<std::string>> results_by_key;
  Vector out;
  for (const auto& element : many) {
    std::string key = MatchKey(element.labels, matching);
    const auto match = one_by_key.find(key);
    if (match == one_by_key.end()) continue;
    const Element& partner = *match->second;
    const double left = swapped ? partner.value : element.value;
    const double right = swapped ? element.value : partner.value;
    auto [value, keep] = ElementBinary(binary.op, left, right);
    if (binary.return_bool) {
      value = keep ? 1 : 0;
    } else if (!keep) {
      continue;
    }
    Labels labels = ResultLabels(element.labels, partner.labels, binary);
    if (binary.return_bool) DropMetricName(labels);
    const auto [results, first_match] = results_by_key.try_emplace(std::move(key));
    if (matching.card == Card::kOneToOne) {
      if (!first_match) {
        return Status::Error(
            "multiple matches for labels: many-to-one matching must be explicit "
            "(group_left/group_right)");
      }
    } else if (!results->second.insert(LabelsKey(labels)).second) {
      return Status::Error(
          "multiple matches for labels: grouping labels must ensure unique matches");
    }
    out.push_back({std::move(labels), value});
  }
  return out;
}

}  // namespace mingus::collector::promql::detail

// Aggregation operators at one step, following Prometheus 2.42's aggregation(): groups in the
// order of their first element, Welford's method for stddev/stdvar, and Go's container/heap for
// topk/bottomk, whose sift order decides which of equal values are kept.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "detail/eval.h"
#include "mingus/collector/promql/engine.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector::promql::detail {

namespace {

using HeapLess = bool (*)(const Element*, const Element*);

// NaN sorts as smallest in topk's heap and as largest in bottomk's, so it is evicted first.
bool TopkLess(const Element* a, const Element* b) {
  return std::isnan(a->value) || a->value < b->value;
}
bool BottomkLess(const Element* a, const Element* b) {
  return std::isnan(a->value) || a->value > b->value;
}

void HeapUp(std::vector<const Element*>& heap, size_t child, HeapLess less) {
  while (child > 0) {
    const size_t parent = (child - 1) / 2;
    if (!less(heap[child], heap[parent])) break;
    std::swap(heap[parent], heap[child]);
    child = parent;
  }
}

void HeapDown(std::vector<const Element*>& heap, size_t parent, size_t size, HeapLess less) {
  for (size_t child = 2 * parent + 1; child < size; child = 2 * parent + 1) {
    if (child + 1 < size && less(heap[child + 1], heap[child])) ++child;
    if (!less(heap[child], heap[parent])) break;
    std::swap(heap[parent], heap[child]);
    parent = child;
  }
}

void HeapPush(std::vector<const Element*>& heap, const Element* element, HeapLess less) {
  heap.push_back(element);
  HeapUp(heap, heap.size() - 1, less);
}

void HeapPop(std::vector<const Element*>& heap, HeapLess less) {
  std::swap(heap.front(), heap.back());
  HeapDown(heap, 0, heap.size() - 1, less);
  heap.pop_back();
}

struct Group {
  Labels labels;
  double value = 0;
  double mean = 0;
  double count = 0;
  std::vector<const Element*> heap;  // topk, bottomk
  std::vector<double> values;        // quantile
};

// Go's %v for a float64 in an error message.
std::string GoFloatString(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

}  // namespace

double Quantile(double q, std::vector<double> values) {
  if (values.empty()) return std::nan("");
  if (q < 0) return -INFINITY;
  if (q > 1) return INFINITY;
  if (std::isnan(q)) return std::nan("");
  std::sort(values.begin(), values.end(), [](double a, double b) {
    return (std::isnan(a) && !std::isnan(b)) || a < b;  // NaN first, as Prometheus sorts
  });
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const double lower = std::max(0.0, std::floor(rank));
  const double upper = std::min(n - 1, lower + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower)] * (1 - weight) +
         values[static_cast<size_t>(upper)] * weight;
}

StatusOr<Vector> Aggregate(const Aggregation& aggregation, double param, const std::string& label,
                           const Vector& input) {
  const std::string& op = aggregation.op;
  const bool top = op == "topk";
  const bool heap_based = top || op == "bottomk";
  const HeapLess less = top ? TopkLess : BottomkLess;
  size_t k = 0;
  if (heap_based) {
    if (!(param >= -0x1p63 && param <= 0x1p63)) {
      return Status::Error(fmt::format("Scalar value {} overflows int64", GoFloatString(param)));
    }
    // Go turns 2^63 into the smallest int64, which is below 1 like every k < 1.
    if (param < 1 || param == 0x1p63) return Vector{};
    k = static_cast<size_t>(param);
  }
  std::vector<std::string> grouping = aggregation.grouping;
  const bool count_values = op == "count_values";
  if (count_values) {
    if (!wire::IsValidLabelName(label)) {
      return Status::Error(fmt::format("invalid label name \"{}\"", label));
    }
    if (!aggregation.without) grouping.push_back(label);
  }

  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> group_index;
  for (const auto& element : input) {
    const double v = element.value;
    Labels labels_for_grouping;
    if (count_values) {
      labels_for_grouping = element.labels;
      SetLabel(labels_for_grouping, label, FormatValue(v));
    }
    Labels key_labels = GroupLabels(count_values ? labels_for_grouping : element.labels, grouping,
                                    !aggregation.without);
    const auto [it, is_new] = group_index.try_emplace(LabelsKey(key_labels), groups.size());
    if (is_new) {
      Group group{std::move(key_labels), v, v, 1, {}, {}};
      if (op == "stddev" || op == "stdvar") group.value = 0;
      if (op == "group") group.value = 1;
      if (heap_based) group.heap.push_back(&element);
      if (op == "quantile") group.values.push_back(v);
      groups.push_back(std::move(group));
      continue;
    }
    Group& group = groups[it->second];
    if (op == "sum") {
      group.value += v;
    } else if (op == "avg") {
      group.count += 1;
      // An infinite mean stays as it is unless the new value is NaN or the opposite
      // infinity: the incremental formula would turn it into NaN.
      if (std::isinf(group.mean) &&
          ((std::isinf(v) && (group.mean > 0) == (v > 0)) || (!std::isinf(v) && !std::isnan(v)))) {
        continue;
      }
      group.mean += v / group.count - group.mean / group.count;
    } else if (op == "max") {
      if (group.value < v || std::isnan(group.value)) group.value = v;
    } else if (op == "min") {
      if (group.value > v || std::isnan(group.value)) group.value = v;
    } else if (op == "count" || count_values) {
      group.count += 1;
    } else if (op == "stddev" || op == "stdvar") {
      group.count += 1;
      const double delta = v - group.mean;
      group.mean += delta / group.count;
      group.value += delta * (v - group.mean);
    } else if (heap_based) {
      const double head = group.heap.front()->value;
      if (group.heap.size() < k || (top ? head < v : head > v) || std::isnan(head)) {
        if (group.heap.size() == k) HeapPop(group.heap, less);
        HeapPush(group.heap, &element, less);
      }
    } else if (op == "quantile") {
      group.values.push_back(v);
    }
  }

  Vector out;
  for (auto& group : groups) {
    double value = group.value;
    if (op == "avg") {
      value = group.mean;
    } else if (op == "count" || count_values) {
      value = group.count;
    } else if (op == "stdvar") {
      value = group.value / group.count;
    } else if (op == "stddev") {
      value = std::sqrt(group.value / group.count);
    } else if (op == "quantile") {
      value = Quantile(param, std::move(group.values));
    } else if (heap_based) {
      // Best first; NaN last for both.
      std::stable_sort(group.heap.begin(), group.heap.end(),
                       [top](const Element* a, const Element* b) {
                         if (std::isnan(a->value) || std::isnan(b->value))
                           return !std::isnan(a->value) && std::isnan(b->value);
                         return top ? a->value > b->value : a->value < b->value;
                       });
      for (const Element* element : group.heap) out.push_back(*element);
      continue;
    }
    out.push_back({std::move(group.labels), value});
  }
  return out;
}

}  // namespace mingus::collector::promql::detail

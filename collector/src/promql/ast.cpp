#include <fmt/format.h>

#include "mingus/collector/promql/ast.h"

namespace mingus::collector::promql {

namespace {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string FormatSelector(const VectorSelector& s) {
  std::string out = s.name;
  std::string matchers;
  for (const auto& m : s.matchers) {
    if (m.name == "__name__" && m.op == tsdb::Matcher::Op::kEqual && m.value == s.name) continue;
    static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
    matchers += (matchers.empty() ? "" : ", ") + m.name + kOps[static_cast<int>(m.op)] + Quote(m.value);
  }
  if (!matchers.empty() || s.name.empty()) out += "{" + matchers + "}";
  return out;
}

std::string FormatOffset(int64_t offset_ms) {
  if (offset_ms == 0) return "";
  return fmt::format(" offset {}{}ms", offset_ms < 0 ? "-" : "", offset_ms < 0 ? -offset_ms : offset_ms);
}

}  // namespace

std::string Format(const Expr& expr) {
  return std::visit(
      [](const auto& node) -> std::string {
        using T = std::decay_t<decltype(node)>;
        if constexpr (std::is_same_v<T, NumberLiteral>) {
          return fmt::format("{}", node.value);
        } else if constexpr (std::is_same_v<T, StringLiteral>) {
          return Quote(node.value);
        } else if constexpr (std::is_same_v<T, VectorSelector>) {
          return FormatSelector(node) + FormatOffset(node.offset_ms);
        } else if constexpr (std::is_same_v<T, MatrixSelector>) {
          return fmt::format("{}[{}ms]{}", FormatSelector(node.vector), node.range_ms, FormatOffset(node.vector.offset_ms));
        } else if constexpr (std::is_same_v<T, Call>) {
          std::vector<std::string> args;
          for (const auto& arg : node.args) args.push_back(Format(*arg));
          return node.function + "(" + Join(args) + ")";
        } else if constexpr (std::is_same_v<T, Aggregation>) {
          std::string out = node.op;
          if (!node.grouping.empty() || node.without) {
            out += fmt::format(" {} ({})", node.without ? "without" : "by", Join(node.grouping));
          }
          out += " (";
          if (node.param) out += Format(*node.param) + ", ";
          return out + Format(*node.expr) + ")";
        } else if constexpr (std::is_same_v<T, Binary>) {
          std::string op = node.op;
          if (node.return_bool) op += " bool";
          if (node.matching.on || !node.matching.labels.empty()) {
            op += fmt::format(" {}({})", node.matching.on ? "on" : "ignoring", Join(node.matching.labels));
          }
          if (node.matching.card == VectorMatching::Card::kManyToOne) op += " group_left(" + Join(node.matching.include) + ")";
          if (node.matching.card == VectorMatching::Card::kOneToMany) op += " group_right(" + Join(node.matching.include) + ")";
          return Format(*node.lhs) + " " + op + " " + Format(*node.rhs);
        } else if constexpr (std::is_same_v<T, Unary>) {
          return std::string(1, node.op) + Format(*node.expr);
        } else {
          return "(" + Format(*node.expr) + ")";
        }
      },
      expr.node);
}

}  // namespace mingus::collector::promql

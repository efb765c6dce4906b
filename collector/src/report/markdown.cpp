// JsonReportToMarkdown: any report's JSON document as Markdown, so that a new report kind
// prints as Markdown without a renderer of its own.
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <utility>

#include "mingus/collector/report/report_command.h"

namespace mingus::collector::report {

namespace {

namespace json = boost::json;

bool IsScalar(const json::value& value) { return !value.is_object() && !value.is_array(); }

bool IsTable(const json::value& value) {
  if (!value.is_array() || value.as_array().empty()) return false;
  for (const auto& row : value.as_array()) {
    if (!row.is_object()) return false;
  }
  return true;
}

std::string Number(double value) {
  if (std::isfinite(value) && std::floor(value) == value && std::fabs(value) < 1e15) {
    return fmt::format("{}", static_cast<int64_t>(value));
  }
  // Four decimals, without trailing zeros: 0.0995, 120.4.
  std::string text = fmt::format("{:.4f}", value);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

// One cell: a scalar as text (null as an em dash); a list of scalars or objects compactly.
std::string Cell(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "—";
    case json::kind::bool_:
      return value.as_bool() ? "true" : "false";
    case json::kind::int64:
      return fmt::format("{}", value.as_int64());
    case json::kind::uint64:
      return fmt::format("{}", value.as_uint64());
    case json::kind::double_:
      return Number(value.as_double());
    case json::kind::string: {
      std::string text;
      for (const char c : value.as_string()) {
        if (c == '|') {
          text += "\\|";
        } else {
          text += (c == '\n' || c == '\r') ? ' ' : c;
        }
      }
      return text;
    }
    case json::kind::array: {
      if (value.as_array().empty()) return "none";
      std::string text;
      for (const auto& item : value.as_array()) {
        if (!text.empty()) text += "; ";
        text += Cell(item);
      }
      return text;
    }
    case json::kind::object: {
      std::string text;
      for (const auto& [key, item] : value.as_object()) {
        if (!text.empty()) text += " ";
        text += fmt::format("{}={}", std::string_view(key), Cell(item));
      }
      return text;
    }
  }
  return "";
}

// A row's columns: nested objects become "outer.inner" columns.
void Flatten(const json::object& object, const std::string& prefix,
             std::vector<std::pair<std::string, const json::value*>>& cells) {
  for (const auto& [key, value] : object) {
    const std::string name = prefix + std::string(key);
    if (value.is_object()) {
      Flatten(value.as_object(), name + ".", cells);
    } else {
      cells.emplace_back(name, &value);
    }
  }
}

void AppendTable(const json::array& rows, std::string& out) {
  std::vector<std::string> columns;  // in first-seen order
  std::vector<std::vector<std::pair<std::string, const json::value*>>> flat;
  for (const auto& row : rows) {
    auto& cells = flat.emplace_back();
    Flatten(row.as_object(), "", cells);
    for (const auto& [name, value] : cells) {
      if (std::find(columns.begin(), columns.end(), name) == columns.end()) columns.push_back(name);
    }
  }
  out += "|";
  for (const auto& column : columns) out += fmt::format(" {} |", column);
  out += "\n|";
  for (size_t i = 0; i < columns.size(); ++i) out += " --- |";
  out += "\n";
  for (const auto& cells : flat) {
    out += "|";
    for (const auto& column : columns) {
      const auto found = std::find_if(cells.begin(), cells.end(),
                                      [&](const auto& cell) { return cell.first == column; });
      out += fmt::format(" {} |", found != cells.end() ? Cell(*found->second) : "");
    }
    out += "\n";
  }
  out += "\n";
}

void AppendSection(const json::object& object, int level, std::string& out) {
  // Scalars (and lists of them) first, as one figure/value table.
  bool any = false;
  for (const auto& [key, value] : object) {
    if (!IsScalar(value) && (IsTable(value) || value.is_object())) continue;
    if (!any) out += "| figure | value |\n| --- | --- |\n";
    any = true;
    out += fmt::format("| {} | {} |\n", std::string_view(key), Cell(value));
  }
  if (any) out += "\n";
  for (const auto& [key, value] : object) {
    if (IsTable(value)) {
      out += fmt::format("{} {}\n\n", std::string(std::min(level, 6), '#'), std::string_view(key));
      AppendTable(value.as_array(), out);
    } else if (value.is_object()) {
      out += fmt::format("{} {}\n\n", std::string(std::min(level, 6), '#'), std::string_view(key));
      AppendSection(value.as_object(), level + 1, out);
    }
  }
}

}  // namespace

StatusOr<std::string> JsonReportToMarkdown(std::string_view title, std::string_view text) {
  boost::system::error_code error;
  const json::value document = json::parse(text, error);
  if (error) return Status::Error(fmt::format("the report is not JSON: {}", error.message()));
  if (!document.is_object()) return Status::Error("the report is not a JSON object");
  std::string out = fmt::format("# {}\n\n", title);
  AppendSection(document.as_object(), 2, out);
  return out;
}

}  // namespace mingus::collector::report

#include "mingus/common/text.h"

#include <charconv>

namespace mingus::text {

namespace {
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

template <typename T>
std::optional<T> ParseWhole(std::string_view s) {
  T value{};
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}
}  // namespace

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsBlank(s.front()) || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

void SplitFields(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    const size_t start = i;
    while (i < line.size() && !IsBlank(line[i])) ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
}

std::optional<uint64_t> ParseUint64(std::string_view s) { return ParseWhole<uint64_t>(s); }
std::optional<int64_t> ParseInt64(std::string_view s) { return ParseWhole<int64_t>(s); }
std::optional<double> ParseDouble(std::string_view s) { return ParseWhole<double>(s); }

void AppendHtmlEscaped(std::string_view text, std::string& out) {
  for (const char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\0':
        out += "\xEF\xBF\xBD";
        break;
      default:
        out += c;
    }
  }
}

}  // namespace mingus::text

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
namespace {

// Clinger's fast path: a plain decimal of at most 15 digits is an exact integer divided by an
// exact power of ten, so one correctly rounded division yields the same double as a full
// parse, several times faster. Anything else (exponents, more digits, inf, nan, junk) is left
// to std::from_chars.
std::optional<double> ParseShortDecimal(std::string_view s) {
  static constexpr double kPowersOfTen[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                            1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) ++i;
  uint64_t mantissa = 0;
  int digits = 0;
  int fraction_digits = -1;  // -1: no decimal point yet
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      if (++digits > 15) return std::nullopt;
      mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
      if (fraction_digits >= 0) ++fraction_digits;
    } else if (c == '.' && fraction_digits < 0) {
      fraction_digits = 0;
    } else {
      return std::nullopt;
    }
  }
  if (digits == 0) return std::nullopt;
  double value = static_cast<double>(mantissa);
  if (fraction_digits > 0) value /= kPowersOfTen[fraction_digits];
  return negative ? -value : value;
}

}  // namespace

std::optional<double> ParseDouble(std::string_view s) {
  if (const auto value = ParseShortDecimal(s)) return value;
  return ParseWhole<double>(s);
}

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

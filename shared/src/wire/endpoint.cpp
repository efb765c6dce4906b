#include "mingus/wire/endpoint.h"

#include <algorithm>
#include <cctype>

namespace mingus::wire {

namespace {

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

bool IsVariable(std::string_view segment) {
  if (segment.empty()) return false;
  if (std::all_of(segment.begin(), segment.end(), IsDigit)) return true;
  if (IsUuid(segment)) return true;
  // Long hex strings with at least one digit: object ids and hashes, not words like "facade".
  return segment.size() >= 16 && std::all_of(segment.begin(), segment.end(), IsHex) &&
         std::any_of(segment.begin(), segment.end(), IsDigit);
}

}  // namespace

void NormalizeEndpoint(std::string_view path, std::string& out) {
  path = path.substr(0, path.find_first_of("?#"));
  if (path.empty()) {
    out.push_back('/');
    return;
  }
  size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const std::string_view segment =
        path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    out.append(IsVariable(segment) ? std::string_view(":id") : segment);
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    start = slash + 1;
  }
}

std::string NormalizeEndpoint(std::string_view path) {
  std::string out;
  NormalizeEndpoint(path, out);
  return out;
}

}  // namespace mingus::wire

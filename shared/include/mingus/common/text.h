#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Allocation-free helpers for the line-oriented text formats of /proc, /sys and the wire.
namespace mingus::text {

std::string_view Trim(std::string_view s);

// Go's html.EscapeString as text/template's `html` applies it: & ' < > " and NUL.
void AppendHtmlEscaped(std::string_view text, std::string& out);

// Splits on runs of spaces and tabs; empty fields never appear. Views point into `line`.
void SplitFields(std::string_view line, std::vector<std::string_view>& fields);

// Calls `fn(line)` for each '\n'-terminated line; a last line without '\n' counts too.
template <typename Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    fn(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// Whole-string parses: leading/trailing garbage, signs on unsigned, and overflow all fail.
std::optional<uint64_t> ParseUint64(std::string_view s);
std::optional<int64_t> ParseInt64(std::string_view s);
std::optional<double> ParseDouble(std::string_view s);

}  // namespace mingus::text

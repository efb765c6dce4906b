#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

// The lines the agent accepts (DESIGN.md, "Wire formats"): StatsD / DogStatsD lines and JSON
// events, written so that the agent's parsers (shared/src/wire/) never refuse them.
namespace mingus::client {

// Every datagram is shorter than this: DogStatsD's payload size, which fits a 1 500-byte MTU
// after the IP and UDP headers, so no datagram is ever fragmented.
inline constexpr size_t kMaxDatagramBytes = 1432;
// String values longer than this (in bytes of the caller's text) are cut at a UTF-8 boundary.
inline constexpr size_t kMaxStringBytes = 512;
// The agent refuses a line holding a longer tag (wire::kMaxTagBytes).
inline constexpr size_t kMaxTagBytes = 256;

struct Tag {
  std::string_view key, value;
};

namespace wire {

// Length of the well-formed UTF-8 sequence starting at s[0] (same rules as the agent: no
// overlongs, surrogates or code points past U+10FFFF), or 0 when it is not one.
inline size_t Utf8SequenceLength(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  if (c < 0x80) return 1;
  size_t length;
  uint32_t code;
  if ((c & 0xE0) == 0xC0) {
    length = 2;
    code = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    length = 3;
    code = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    length = 4;
    code = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(s[k]);
    if ((next & 0xC0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3F);
  }
  static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// Appends `text` as a quoted JSON string. Bytes that are not UTF-8 become U+FFFD (the agent
// refuses a line that is not UTF-8); text past `max_bytes` is dropped at a character boundary.
// Returns true when the text was truncated.
inline bool AppendJsonString(std::string& out, std::string_view text,
                             size_t max_bytes = kMaxStringBytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool truncated = text.size() > max_bytes;
  if (truncated) text = text.substr(0, max_bytes);
  out += '"';
  size_t run = 0;  // start of the bytes copied as they are
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(text.data() + run, i - run);
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text.substr(i));
      if (length != 0) {
        out.append(text.data() + i, length);
        i += length;
      } else if (truncated && i + 4 > text.size() && (c & 0xC0) != 0x80) {
        // A sequence the cut went through: drop its remains rather than replace them.
        i = text.size();
      } else {
        out += "\xEF\xBF\xBD";
        ++i;
      }
    } else {
      out += '\\';
      switch (c) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '\n':
          out += 'n';
          break;
        case '\r':
          out += 'r';
          break;
        case '\t':
          out += 't';
          break;
        case '\b':
          out += 'b';
          break;
        case '\f':
          out += 'f';
          break;
        default:
          out += "u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
      }
      ++i;
    }
    run = i;
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
  return truncated;
}

// Shortest decimal that reads back as `value` (locale-independent). `value` must be finite.
inline void AppendNumber(std::string& out, double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

// One JSON event: {"type":"...", then members, then Finish(). Keys are literals of ours and
// need no escaping.
class JsonLine {
 public:
  JsonLine(std::string& out, std::string_view type) : out_(out) {
    out_ += R"({"type":")";
    out_ += type;
    out_ += '"';
  }
  JsonLine& Text(std::string_view key, std::string_view value) {
    Key(key);
    truncated_ |= AppendJsonString(out_, value);
    return *this;
  }
  JsonLine& Number(std::string_view key, double value) {
    Key(key);
    AppendNumber(out_, value);
    return *this;
  }
  JsonLine& Flag(std::string_view key, bool value) {
    Key(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  void Finish() { out_ += '}'; }
  bool truncated() const { return truncated_; }

 private:
  void Key(std::string_view key) {
    out_ += ",\"";
    out_ += key;
    out_ += "\":";
  }
  std::string& out_;
  bool truncated_ = false;
};

// StatsD names and tags may not hold the format's separators; anything but [A-Za-z0-9_.-]
// becomes '_' (the agent sanitises names the same way when it maps them to Prometheus).
// Returns true when the text was truncated.
inline bool AppendStatsdName(std::string& out, std::string_view name, size_t max_bytes) {
  const bool truncated = name.size() > max_bytes;
  for (const char c : name.substr(0, max_bytes)) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '.' || c == '-';
    out += plain ? c : '_';
  }
  return truncated;
}

// name:value|type[|#k:v,...]; `value` must be finite. Returns true when something was
// truncated. Each tag is cut so that "key:value" stays within the agent's tag limit.
inline bool AppendStatsdLine(std::string& out, std::string_view name, double value,
                             std::string_view type, std::span<const Tag> tags) {
  bool truncated = AppendStatsdName(out, name, kMaxStringBytes);
  out += ':';
  AppendNumber(out, value);
  out += '|';
  out += type;
  char separator = '|';
  for (const Tag& tag : tags) {
    if (tag.key.empty()) continue;  // the agent would count it as a malformed tag
    out += separator;
    if (separator == '|') out += '#';
    separator = ',';
    const size_t key_bytes = std::min(tag.key.size(), kMaxTagBytes / 2);
    truncated |= AppendStatsdName(out, tag.key, key_bytes);
    out += ':';
    truncated |= AppendStatsdName(out, tag.value, kMaxTagBytes - 1 - key_bytes);
  }
  return truncated;
}

// Calls send(datagram, records) for consecutive runs of whole records (each ending in '\n' at
// offsets ends[i] - 1 of `buffer`) making datagrams shorter than `limit` bytes. A record is
// never split, so the lines of one record (a negative gauge's reset and delta) arrive together.
template <typename Send>
void PackDatagrams(std::string_view buffer, std::span<const uint32_t> ends, size_t limit,
                   Send&& send) {
  size_t first = 0;
  uint32_t start = 0;
  while (first < ends.size()) {
    size_t last = first + 1;
    while (last < ends.size() && ends[last] - start < limit) ++last;
    send(buffer.substr(start, ends[last - 1] - start), last - first);
    start = ends[last - 1];
    first = last;
  }
}

}  // namespace wire
}  // namespace mingus::client

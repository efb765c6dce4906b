#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mingus/common/status.h"

// Strict reading of YAML configuration: unknown keys and wrong types are refused with the file,
// line and key, never ignored. Loading configuration is where exceptions are used.
namespace mingus::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses a file; a syntax error becomes "FILE:LINE:COLUMN: yaml: REASON".
YAML::Node LoadFile(const std::string& path);
YAML::Node LoadString(const std::string& content, const std::string& name);

// The text of a scalar node, or "" for anything else: in YAML a mapping's key may itself be a
// mapping or a list, and as<std::string>() would throw on it.
inline std::string ScalarText(const YAML::Node& node) {
  return node.IsScalar() ? node.as<std::string>() : "";
}

// A view of one mapping. Each key must be read through it; Finish() refuses the others.
class MapReader {
 public:
  // `node` may be null (an absent section): every read then keeps its default.
  MapReader(YAML::Node node, std::string file, std::string path = "");

  void Read(std::string_view key, std::string& out);
  void Read(std::string_view key, bool& out);
  void Read(std::string_view key, int64_t& out, int64_t min, int64_t max);
  void Read(std::string_view key, std::chrono::milliseconds& out);
  // A nested mapping (absent or null gives an empty reader).
  MapReader Map(std::string_view key);
  // A list of strings (absent: empty).
  std::vector<std::string> Strings(std::string_view key);
  // A mapping of Prometheus label names to string values (absent: empty), in file order.
  std::vector<std::pair<std::string, std::string>> Labels(std::string_view key);
  // Calls visit(reader, node) for each mapping in the list at `key`, then refuses the keys
  // `visit` left unread.
  template <typename Visit>
  void ForEachMap(std::string_view key, Visit visit);
  // The raw node for shapes this class does not cover; marks the key as read.
  YAML::Node Node(std::string_view key);

  // Refuses the value of `key` (already read) when `status` is an error.
  void Check(std::string_view key, const Status& status);

  // Throws ConfigError for the first key that was never read.
  void Finish() const;
  [[noreturn]] void Fail(const YAML::Node& at, std::string_view key, std::string_view reason) const;
  std::string KeyPath(std::string_view key) const;
  const std::string& file() const { return file_; }

 private:
  std::optional<YAML::Node> Scalar(std::string_view key);

  YAML::Node node_;
  std::string file_;
  std::string path_;
  std::set<std::string, std::less<>> read_;
};

template <typename Visit>
void MapReader::ForEachMap(std::string_view key, Visit visit) {
  const YAML::Node node = Node(key);
  if (!node || node.IsNull()) return;
  if (!node.IsSequence()) Fail(node, key, "expected a list");
  size_t index = 0;
  for (const auto& item : node) {
    if (!item.IsMap()) Fail(item, key, "expected a list of mappings");
    MapReader reader(item, file_, KeyPath(key) + "[" + std::to_string(index++) + "]");
    visit(reader, item);
    reader.Finish();
  }
}

}  // namespace mingus::config

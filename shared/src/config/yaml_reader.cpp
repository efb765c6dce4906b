#include "mingus/config/yaml_reader.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "mingus/common/duration.h"
#include "mingus/common/text.h"
#include "mingus/wire/exposition.h"

namespace mingus::config {

namespace {
std::string Where(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}
}  // namespace

YAML::Node LoadString(const std::string& content, const std::string& name) {
  try {
    return YAML::Load(content);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}: yaml: {}", Where(name, e.mark), e.msg));
  }
}

YAML::Node LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(fmt::format("{}: cannot open file", path));
  std::stringstream content;
  content << in.rdbuf();
  return LoadString(content.str(), path);
}

MapReader::MapReader(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {
  if (node_ && !node_.IsNull() && !node_.IsMap()) {
    throw ConfigError(fmt::format("{}: {}: expected a mapping of keys to values",
                                  Where(file_, node_.Mark()), path_.empty() ? "top level" : path_));
  }
}

std::string MapReader::KeyPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

void MapReader::Fail(const YAML::Node& at, std::string_view key, std::string_view reason) const {
  const YAML::Mark mark = at ? at.Mark() : (node_ ? node_.Mark() : YAML::Mark::null_mark());
  throw ConfigError(fmt::format("{}: {}: {}", Where(file_, mark), KeyPath(key), reason));
}

std::optional<YAML::Node> MapReader::Scalar(std::string_view key) {
  YAML::Node value = Node(key);
  if (!value || value.IsNull()) return std::nullopt;
  if (!value.IsScalar()) Fail(value, key, "expected a single value, not a list or mapping");
  return value;
}

YAML::Node MapReader::Node(std::string_view key) {
  read_.emplace(key);
  if (!node_ || !node_.IsMap()) return YAML::Node();
  const YAML::Node& map = node_;  // the const operator[] never inserts the key
  return map[std::string(key)];
}

void MapReader::Read(std::string_view key, std::string& out) {
  if (const auto value = Scalar(key)) out = value->Scalar();
}

void MapReader::Read(std::string_view key, bool& out) {
  const auto value = Scalar(key);
  if (!value) return;
  const std::string& s = value->Scalar();
  if (s == "true") {
    out = true;
  } else if (s == "false") {
    out = false;
  } else {
    Fail(*value, key, fmt::format("'{}' is not a boolean (true or false)", s));
  }
}

void MapReader::Read(std::string_view key, int64_t& out, int64_t min, int64_t max) {
  const auto value = Scalar(key);
  if (!value) return;
  const auto number = text::ParseInt64(value->Scalar());
  if (!number) Fail(*value, key, fmt::format("'{}' is not a whole number", value->Scalar()));
  if (*number < min || *number > max) {
    Fail(*value, key, fmt::format("{} is out of range [{}, {}]", *number, min, max));
  }
  out = *number;
}

void MapReader::Read(std::string_view key, std::chrono::milliseconds& out) {
  const auto value = Scalar(key);
  if (!value) return;
  const auto duration = ParseDuration(value->Scalar());
  if (!duration.ok()) Fail(*value, key, duration.message());
  out = *duration;
}

MapReader MapReader::Map(std::string_view key) {
  YAML::Node value = Node(key);
  if (value && !value.IsNull() && !value.IsMap()) Fail(value, key, "expected a mapping");
  return MapReader(value, file_, KeyPath(key));
}

std::vector<std::string> MapReader::Strings(std::string_view key) {
  std::vector<std::string> out;
  const YAML::Node node = Node(key);
  if (!node || node.IsNull()) return out;
  if (!node.IsSequence()) Fail(node, key, "expected a list");
  for (const auto& item : node) {
    if (!item.IsScalar()) Fail(item, key, "expected a list of strings");
    out.push_back(item.as<std::string>());
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> MapReader::Labels(std::string_view key) {
  std::vector<std::pair<std::string, std::string>> labels;
  const YAML::Node node = Node(key);
  if (!node || node.IsNull()) return labels;
  if (!node.IsMap()) Fail(node, key, "expected a mapping of label names to values");
  for (const auto& entry : node) {
    const std::string name = ScalarText(entry.first);
    if (!wire::IsValidLabelName(name))
      Fail(entry.first, key, fmt::format("invalid label name '{}'", name));
    if (!entry.second.IsScalar())
      Fail(entry.second, key, fmt::format("label {}: expected a string", name));
    labels.emplace_back(name, entry.second.as<std::string>());
  }
  return labels;
}

void MapReader::Check(std::string_view key, const Status& status) {
  if (!status.ok()) Fail(Node(key), key, status.message());
}

void MapReader::Finish() const {
  if (!node_ || !node_.IsMap()) return;
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    if (!read_.contains(key)) Fail(entry.first, key, "unknown key");
  }
}

}  // namespace mingus::config

#include "mingus/wire/exposition.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "mingus/common/text.h"

namespace mingus::wire {

namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

std::optional<double> ParseValue(std::string_view text) {
  if (text == "+Inf" || text == "Inf" || text == "+inf" || text == "inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (text == "-Inf" || text == "-inf") return -std::numeric_limits<double>::infinity();
  // "Nan" is how prometheus-cpp (our own daemons' /metrics among them) writes it.
  if (text == "NaN" || text == "nan" || text == "Nan") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  // Only decimal numbers: from_chars would also take "infinity" spellings and hex is refused.
  if (text.empty() || text.find_first_not_of("0123456789.eE+-") != std::string_view::npos) {
    return std::nullopt;
  }
  return text::ParseDouble(text);
}

std::optional<ExpositionType> ParseType(std::string_view text) {
  if (text == "counter") return ExpositionType::kCounter;
  if (text == "gauge") return ExpositionType::kGauge;
  if (text == "histogram") return ExpositionType::kHistogram;
  if (text == "summary") return ExpositionType::kSummary;
  if (text == "untyped" || text == "unknown") return ExpositionType::kUntyped;
  return std::nullopt;
}

// Where the series of a sample line ends: after the '}' that closes its labels, skipping
// quoted values and their escapes; npos when the labels are not closed.
size_t SeriesEnd(std::string_view line, size_t open_brace) {
  bool quoted = false;
  for (size_t i = open_brace + 1; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '}') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

std::string UnescapeHelp(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '\\' || text[i + 1] == 'n')) {
      out.push_back(text[i + 1] == 'n' ? '\n' : '\\');
      ++i;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsNameChar(c) || c == ':'; });
}

bool IsValidLabelName(std::string_view name) {
  return !name.empty() && IsNameStart(name[0]) && std::all_of(name.begin(), name.end(), IsNameChar);
}

Status ExpositionParser::Parse(std::string_view body, const ExpositionCallbacks& callbacks) {
  typed_.clear();
  size_t line_no = 0;
  Status status;
  text::ForEachLine(body, [&](std::string_view line) {
    ++line_no;
    if (!status.ok()) return;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string_view trimmed = text::Trim(line);
    if (trimmed.empty()) return;
    status = trimmed[0] == '#' ? ParseComment(trimmed, callbacks) : ParseSample(trimmed, callbacks);
    if (!status.ok()) status = Status::Error(fmt::format("line {}: {}", line_no, status.message()));
  });
  return status;
}

Status ExpositionParser::ParseComment(std::string_view line, const ExpositionCallbacks& callbacks) {
  line.remove_prefix(1);
  const std::string_view rest = text::Trim(line);
  const auto space = rest.find(' ');
  const std::string_view keyword = rest.substr(0, space);
  if (keyword != "HELP" && keyword != "TYPE") return OkStatus();  // a plain comment, or # EOF
  std::string_view after = space == std::string_view::npos ? std::string_view() : text::Trim(rest.substr(space));
  const auto name_end = after.find_first_of(" \t");
  const std::string_view name = after.substr(0, name_end);
  if (!IsValidMetricName(name)) return Status::Error(fmt::format("# {}: bad metric name '{}'", keyword, name));
  const std::string_view value =
      name_end == std::string_view::npos ? std::string_view() : text::Trim(after.substr(name_end));
  if (keyword == "HELP") {
    if (callbacks.help) callbacks.help(name, UnescapeHelp(value));
    return OkStatus();
  }
  const auto type = ParseType(value);
  if (!type) return Status::Error(fmt::format("# TYPE {}: unknown type '{}'", name, value));
  if (std::find(typed_.begin(), typed_.end(), name) != typed_.end()) {
    return Status::Error(fmt::format("second # TYPE line for {}", name));
  }
  typed_.emplace_back(name);
  if (callbacks.type) callbacks.type(name, *type);
  return OkStatus();
}

Status ExpositionParser::ParseSample(std::string_view line, const ExpositionCallbacks& callbacks) {
  size_t i = 0;
  while (i < line.size() && (IsNameChar(line[i]) || line[i] == ':')) ++i;
  ExpositionSample sample;
  sample.name = line.substr(0, i);
  labels_.clear();
  if (callbacks.known) {
    const size_t end = i < line.size() && line[i] == '{' ? SeriesEnd(line, i) : i;
    if (end != std::string_view::npos && callbacks.known(line.substr(0, end))) {
      return ParseValueAndTimestamp(line, end, sample, callbacks);
    }
  }
  if (!IsValidMetricName(sample.name))
    return Status::Error(fmt::format("bad metric name in '{}'", line));
  unescaped_.clear();
  unescaped_spans_.clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      const size_t name_start = i;
      while (i < line.size() && IsNameChar(line[i])) ++i;
      const std::string_view label = line.substr(name_start, i - name_start);
      if (!IsValidLabelName(label)) return Status::Error(fmt::format("bad label name in '{}'", line));
      while (i < line.size() && line[i] == ' ') ++i;
      if (i >= line.size() || line[i] != '=') return Status::Error(fmt::format("expected '=' after label {}", label));
      ++i;
      while (i < line.size() && line[i] == ' ') ++i;
      if (i >= line.size() || line[i] != '"') return Status::Error(fmt::format("label {}: value not quoted", label));
      ++i;
      const size_t value_start = i;
      bool has_escape = false;
      const size_t span_start = unescaped_.size();
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\') {
          if (i + 1 >= line.size()) break;
          const char next = line[i + 1];
          if (next != '\\' && next != '"' && next != 'n') {
            return Status::Error(fmt::format("label {}: bad escape '\\{}'", label, next));
          }
          if (!has_escape) unescaped_.append(line.substr(value_start, i - value_start));
          has_escape = true;
          unescaped_.push_back(next == 'n' ? '\n' : next);
          i += 2;
        } else {
          if (has_escape) unescaped_.push_back(line[i]);
          ++i;
        }
      }
      if (i >= line.size()) return Status::Error(fmt::format("label {}: unterminated value", label));
      for (const auto& existing : labels_) {
        if (existing.name == label) return Status::Error(fmt::format("duplicate label {}", label));
      }
      if (has_escape) {
        unescaped_spans_.push_back({labels_.size(), span_start, unescaped_.size() - span_start});
        labels_.push_back({label, {}});
      } else {
        labels_.push_back({label, line.substr(value_start, i - value_start)});
      }
      ++i;  // closing quote
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] == ',') {
        ++i;
      } else if (i >= line.size() || line[i] != '}') {
        return Status::Error(fmt::format("expected ',' or '}}' after label {}", label));
      }
    }
  }
  // The unescaped buffer is complete: point the escaped values into it.
  for (const auto& span : unescaped_spans_) {
    labels_[span.label].value = std::string_view(unescaped_).substr(span.start, span.length);
  }
  sample.labels = labels_;
  return ParseValueAndTimestamp(line, i, sample, callbacks);
}

Status ExpositionParser::ParseValueAndTimestamp(std::string_view line, size_t series_end,
                                                ExpositionSample& sample,
                                                const ExpositionCallbacks& callbacks) {
  sample.series = line.substr(0, series_end);
  std::vector<std::string_view>& fields = fields_;
  std::string_view rest = line.substr(series_end);
  if (const auto exemplar = rest.find(" # "); exemplar != std::string_view::npos) rest = rest.substr(0, exemplar);
  text::SplitFields(rest, fields);
  if (fields.empty()) return Status::Error(fmt::format("{}: missing value", sample.name));
  if (fields.size() > 2) return Status::Error(fmt::format("{}: unexpected '{}' after the timestamp", sample.name, fields[2]));
  const auto value = ParseValue(fields[0]);
  if (!value) return Status::Error(fmt::format("{}: bad value '{}'", sample.name, fields[0]));
  sample.value = *value;
  if (fields.size() == 2) {
    const auto timestamp = text::ParseInt64(fields[1]);
    if (!timestamp) return Status::Error(fmt::format("{}: bad timestamp '{}'", sample.name, fields[1]));
    sample.timestamp_ms = *timestamp;
  }
  if (callbacks.sample) callbacks.sample(sample);
  return OkStatus();
}

}  // namespace mingus::wire

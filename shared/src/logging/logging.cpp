#include "mingus/logging/logging.h"

#include <ctime>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace mingus::logging {

namespace {

std::string LogfmtValue(std::string_view value) {
  const bool needs_quotes =
      value.empty() || value.find_first_of(" =\"\\\n\t") != std::string_view::npos;
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string_view LevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "off";
  }
}

class RecordFormatter final : public spdlog::formatter {
 public:
  explicit RecordFormatter(Format format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(msg.time);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                            msg.time.time_since_epoch()).count() % 1000;
    const std::string timestamp =
        fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                    utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
    const std::string record = FormatRecord(format_, timestamp, LevelName(msg.level),
                                            std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(record.data(), record.data() + record.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<RecordFormatter>(format_);
  }

 private:
  Format format_;
};

}  // namespace

StatusOr<spdlog::level::level_enum> ParseLevel(std::string_view level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return Status::Error(fmt::format("log level '{}': must be debug, info, warn or error", level));
}

StatusOr<Format> ParseFormat(std::string_view format) {
  if (format == "logfmt") return Format::kLogfmt;
  if (format == "json") return Format::kJson;
  return Status::Error(fmt::format("log format '{}': must be logfmt or json", format));
}

std::string FormatRecord(Format format, std::string_view timestamp, std::string_view level,
                         std::string_view message) {
  if (format == Format::kJson) {
    return boost::json::serialize(boost::json::object{
               {"ts", timestamp}, {"level", level}, {"msg", message}}) +
           "\n";
  }
  return fmt::format("ts={} level={} msg={}\n", timestamp, level, LogfmtValue(message));
}

void Setup(std::string_view program, spdlog::level::level_enum level, Format format) {
  auto logger = std::make_shared<spdlog::logger>(
      std::string(program), std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::make_unique<RecordFormatter>(format));
  logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace mingus::logging

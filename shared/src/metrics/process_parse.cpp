// Parsers behind the process_* metrics: pure functions of the file text, fuzzed on their own.
#include <fmt/format.h>

#include <limits>

#include "mingus/common/text.h"
#include "mingus/metrics/process_metrics.h"

namespace mingus::metrics {

StatusOr<ProcessStat> ParseProcessStat(std::string_view content) {
  // The command name (field 2) is in parentheses and may itself hold spaces and ')'.
  const auto close = content.rfind(')');
  if (close == std::string_view::npos) return Status::Error("stat: no ')' after the command name");
  std::vector<std::string_view> fields;
  text::SplitFields(text::Trim(content.substr(close + 1)), fields);
  // fields[0] is field 3 (state); utime is field 14, rss field 24.
  constexpr size_t kFirst = 3;
  if (fields.size() < 24 - kFirst + 1) return Status::Error("stat: fewer than 24 fields");
  const auto field = [&](size_t number) { return text::ParseUint64(fields[number - kFirst]); };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23),
             rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return Status::Error("stat: bad number");
  return ProcessStat{*utime, *stime, *start, *vsize, *rss};
}

StatusOr<ProcessLimits> ParseProcessLimits(std::string_view content) {
  ProcessLimits limits;
  bool seen_files = false, seen_as = false;
  Status error;
  text::ForEachLine(content, [&](std::string_view line) {
    uint64_t* target = nullptr;
    constexpr std::string_view kFiles = "Max open files", kAddressSpace = "Max address space";
    if (line.substr(0, kFiles.size()) == kFiles) {
      target = &limits.max_open_files;
      seen_files = true;
      line.remove_prefix(kFiles.size());
    } else if (line.substr(0, kAddressSpace.size()) == kAddressSpace) {
      target = &limits.max_address_space;
      seen_as = true;
      line.remove_prefix(kAddressSpace.size());
    } else {
      return;
    }
    std::vector<std::string_view> fields;
    text::SplitFields(line, fields);
    if (fields.empty()) {
      error = Status::Error("limits: missing soft limit");
      return;
    }
    if (fields[0] == "unlimited") {
      *target = std::numeric_limits<uint64_t>::max();
    } else if (const auto v = text::ParseUint64(fields[0])) {
      *target = *v;
    } else {
      error = Status::Error(fmt::format("limits: bad soft limit '{}'", fields[0]));
    }
  });
  if (!error.ok()) return error;
  if (!seen_files || !seen_as) return Status::Error("limits: missing open files or address space");
  return limits;
}

StatusOr<uint64_t> ParseBootTime(std::string_view proc_stat) {
  std::optional<uint64_t> boot_time;
  text::ForEachLine(proc_stat, [&](std::string_view line) {
    if (line.substr(0, 6) == "btime ") boot_time = text::ParseUint64(text::Trim(line.substr(6)));
  });
  if (!boot_time) return Status::Error("stat: no valid btime line");
  return *boot_time;
}

}  // namespace mingus::metrics

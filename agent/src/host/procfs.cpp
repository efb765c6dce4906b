#include "mingus/agent/host/procfs.h"

#include <fmt/format.h>

#include "mingus/common/text.h"

namespace mingus::agent::host {

namespace {

using text::ForEachLine;
using text::ParseDouble;
using text::ParseUint64;
using text::SplitFields;

Status LineError(std::string_view file, size_t line_no, std::string_view reason) {
  return Status::Error(fmt::format("{}: line {}: {}", file, line_no, reason));
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Decodes the kernel's "\ooo" octal escapes used in mount tables.
std::string UnescapeOctal(std::string_view s) {
  const auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        is_octal(s[i + 1]) && is_octal(s[i + 2]) && is_octal(s[i + 3])) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

StatusOr<ProcStat> ParseProcStat(std::string_view content) {
  constexpr std::string_view kFile = "stat";
  ProcStat stat;
  std::vector<std::string_view> fields;
  size_t line_no = 0;
  bool seen_btime = false;
  Status error;
  ForEachLine(content, [&](std::string_view line) {
    ++line_no;
    if (!error.ok()) return;
    SplitFields(line, fields);
    if (fields.empty()) return;
    const std::string_view key = fields[0];
    if (StartsWith(key, "cpu")) {
      if (key == "cpu") return;  // the aggregate over all CPUs; node_exporter reports per CPU
      if (fields.size() < 5) {
        error = LineError(kFile, line_no, "cpu line has fewer than 4 counters");
        return;
      }
      CpuTicks cpu;
      cpu.cpu = std::string(key.substr(3));
      if (!ParseUint64(cpu.cpu)) {
        error = LineError(kFile, line_no, fmt::format("bad cpu name '{}'", key));
        return;
      }
      for (size_t i = 1; i < fields.size() && i <= cpu.ticks.size(); ++i) {
        const auto v = ParseUint64(fields[i]);
        if (!v) {
          error = LineError(kFile, line_no, fmt::format("bad counter '{}'", fields[i]));
          return;
        }
        cpu.ticks[i - 1] = *v;
      }
      stat.cpus.push_back(std::move(cpu));
      return;
    }
    uint64_t* target = nullptr;
    if (key == "btime") {
      target = &stat.boot_time;
      seen_btime = true;
    } else if (key == "ctxt") {
      target = &stat.context_switches;
    } else if (key == "intr") {
      target = &stat.interrupts;
    } else if (key == "processes") {
      target = &stat.forks;
    } else if (key == "procs_running") {
      target = &stat.procs_running;
    } else if (key == "procs_blocked") {
      target = &stat.procs_blocked;
    }
    if (target == nullptr) return;  // softirq and lines newer kernels may add
    const auto v = fields.size() >= 2 ? ParseUint64(fields[1]) : std::nullopt;
    if (!v) {
      error = LineError(kFile, line_no, fmt::format("bad value for '{}'", key));
      return;
    }
    *target = *v;
  });
  if (!error.ok()) return error;
  if (stat.cpus.empty()) return Status::Error("stat: no per-cpu lines");
  if (!seen_btime) return Status::Error("stat: no btime line");
  return stat;
}

StatusOr<std::vector<MeminfoField>> ParseMeminfo(std::string_view content) {
  std::vector<MeminfoField> out;
  std::vector<std::string_view> fields;
  size_t line_no = 0;
  Status error;
  ForEachLine(content, [&](std::string_view line) {
    ++line_no;
    if (!error.ok()) return;
    SplitFields(line, fields);
    if (fields.empty()) return;
    if (fields.size() < 2 || fields.size() > 3 || fields[0].size() < 2 || fields[0].back() != ':') {
      error = LineError("meminfo", line_no, "expected 'Name: value [kB]'");
      return;
    }
    const auto value = ParseUint64(fields[1]);
    if (!value || (fields.size() == 3 && fields[2] != "kB")) {
      error = LineError("meminfo", line_no, fmt::format("bad value '{}'", line));
      return;
    }
    std::string name;
    for (char c : fields[0].substr(0, fields[0].size() - 1)) {
      if (c == '(') {
        name.push_back('_');
      } else if (c != ')') {
        name.push_back(c);
      }
    }
    double v = static_cast<double>(*value);
    if (fields.size() == 3) {
      name += "_bytes";
      v *= 1024;
    }
    out.push_back({std::move(name), v});
  });
  if (!error.ok()) return error;
  if (out.empty()) return Status::Error("meminfo: no fields");
  return out;
}

StatusOr<LoadAverage> ParseLoadavg(std::string_view content) {
  std::vector<std::string_view> fields;
  SplitFields(text::Trim(content), fields);
  if (fields.size() < 3) return Status::Error("loadavg: expected at least 3 fields");
  const auto l1 = ParseDouble(fields[0]), l5 = ParseDouble(fields[1]), l15 = ParseDouble(fields[2]);
  if (!l1 || !l5 || !l15 || *l1 < 0 || *l5 < 0 || *l15 < 0) {
    return Status::Error("loadavg: line 1: bad load average");
  }
  return LoadAverage{*l1, *l5, *l15};
}

StatusOr<std::vector<NetDevice>> ParseNetDev(std::string_view content) {
  std::vector<NetDevice> out;
  std::vector<std::string_view> fields;
  size_t line_no = 0;
  Status error;
  ForEachLine(content, [&](std::string_view line) {
    ++line_no;
    if (!error.ok() || line_no <= 2) return;  // two header lines
    if (text::Trim(line).empty()) return;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      error = LineError("net/dev", line_no, "no ':' after the device name");
      return;
    }
    NetDevice dev;
    dev.name = std::string(text::Trim(line.substr(0, colon)));
    SplitFields(line.substr(colon + 1), fields);
    if (dev.name.empty() || fields.size() != dev.counters.size()) {
      error = LineError("net/dev", line_no,
                        fmt::format("expected {} counters, got {}", dev.counters.size(), fields.size()));
      return;
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      const auto v = ParseUint64(fields[i]);
      if (!v) {
        error = LineError("net/dev", line_no, fmt::format("bad counter '{}'", fields[i]));
        return;
      }
      dev.counters[i] = *v;
    }
    out.push_back(std::move(dev));
  });
  if (!error.ok()) return error;
  if (line_no < 2) return Status::Error("net/dev: truncated header");
  return out;
}

StatusOr<std::vector<DiskStats>> ParseDiskstats(std::string_view content) {
  std::vector<DiskStats> out;
  std::vector<std::string_view> fields;
  size_t line_no = 0;
  Status error;
  ForEachLine(content, [&](std::string_view line) {
    ++line_no;
    if (!error.ok()) return;
    SplitFields(line, fields);
    if (fields.empty()) return;
    const size_t counters = fields.size() < 3 ? 0 : fields.size() - 3;
    if (counters != 11 && counters != 15 && counters != 17) {
      error = LineError("diskstats", line_no, "expected 14, 18 or 20 fields");
      return;
    }
    DiskStats disk;
    const auto major = ParseUint64(fields[0]), minor = ParseUint64(fields[1]);
    if (!major || !minor || *major > UINT32_MAX || *minor > UINT32_MAX) {
      error = LineError("diskstats", line_no, "bad major/minor number");
      return;
    }
    disk.major = static_cast<uint32_t>(*major);
    disk.minor = static_cast<uint32_t>(*minor);
    disk.name = std::string(fields[2]);
    disk.field_count = counters;
    for (size_t i = 0; i < counters; ++i) {
      const auto v = ParseUint64(fields[i + 3]);
      if (!v) {
        error = LineError("diskstats", line_no, fmt::format("bad counter '{}'", fields[i + 3]));
        return;
      }
      disk.fields[i] = *v;
    }
    out.push_back(std::move(disk));
  });
  if (!error.ok()) return error;
  return out;
}

StatusOr<std::vector<Mount>> ParseMounts(std::string_view content) {
  std::vector<Mount> out;
  std::vector<std::string_view> fields;
  std::vector<std::string_view> options;
  size_t line_no = 0;
  Status error;
  ForEachLine(content, [&](std::string_view line) {
    ++line_no;
    if (!error.ok()) return;
    SplitFields(line, fields);
    if (fields.empty()) return;
    if (fields.size() < 4) {
      error = LineError("mounts", line_no, "expected device, mount point, type and options");
      return;
    }
    Mount mount{UnescapeOctal(fields[0]), UnescapeOctal(fields[1]), std::string(fields[2]), false};
    std::string_view opts = fields[3];
    while (!opts.empty()) {
      const auto comma = opts.find(',');
      if (opts.substr(0, comma) == "ro") mount.read_only = true;
      if (comma == std::string_view::npos) break;
      opts.remove_prefix(comma + 1);
    }
    out.push_back(std::move(mount));
  });
  if (!error.ok()) return error;
  if (out.empty()) return Status::Error("mounts: no mount points");
  return out;
}

UdevDiskProperties ParseUdevData(std::string_view content) {
  UdevDiskProperties props;
  ForEachLine(content, [&](std::string_view line) {
    if (!StartsWith(line, "E:")) return;
    line.remove_prefix(2);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return;
    const std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "ID_PATH") props.path = value;
    else if (key == "ID_WWN") props.wwn = value;
    else if (key == "ID_MODEL") props.model = value;
    else if (key == "ID_SERIAL_SHORT") props.serial = value;
    else if (key == "ID_REVISION") props.revision = value;
  });
  return props;
}

}  // namespace mingus::agent::host

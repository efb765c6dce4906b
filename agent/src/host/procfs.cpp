#include "mingus/agent/host/procfs.h"

#include <algorithm>

#include <fmt/format.h>

#include "mingus/common/text.h"

namespace mingus::agent::host {

namespace {

using text::ParseDouble;
using text::ParseUint64;
using Fields = std::vector<std::string_view>;

// Where a record of a /proc file is: formats errors as "FILE: line N: REASON".
struct Where {
  std::string_view file;
  size_t line_no;
  Status Error(std::string_view reason) const {
    return Status::Error(fmt::format("{}: line {}: {}", file, line_no, reason));
  }
};

// Calls fn(fields, where) for each line with at least one field, numbering lines from 1 and
// skipping the first `skip_lines`; stops at the first error fn returns.
template <typename Fn>
Status ForEachRecord(std::string_view content, std::string_view file, Fn&& fn, size_t skip_lines = 0) {
  Fields fields;
  Where where{file, 0};
  Status status;
  text::ForEachLine(content, [&](std::string_view line) {
    ++where.line_no;
    if (!status.ok() || where.line_no <= skip_lines) return;
    text::SplitFields(line, fields);
    if (!fields.empty()) status = fn(fields, where);
  });
  return status;
}

// Parses fields[first..] into out[0..]; the counts must fit.
template <size_t N>
Status ParseCounters(const Fields& fields, size_t first, std::array<uint64_t, N>& out, const Where& where) {
  for (size_t i = first; i < fields.size() && i - first < N; ++i) {
    const auto v = ParseUint64(fields[i]);
    if (!v) return where.Error(fmt::format("bad counter '{}'", fields[i]));
    out[i - first] = *v;
  }
  return OkStatus();
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Decodes the kernel's "\ooo" octal escapes used in mount tables.
std::string UnescapeOctal(std::string_view s) {
  const auto is_octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && is_octal(s[i + 1]) && is_octal(s[i + 2]) &&
        is_octal(s[i + 3])) {
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
  ProcStat stat;
  bool seen_btime = false;
  const Status status = ForEachRecord(content, "stat", [&](const Fields& fields, const Where& where) {
    const std::string_view key = fields[0];
    if (StartsWith(key, "cpu")) {
      if (key == "cpu") return OkStatus();  // the aggregate; node_exporter reports per CPU
      if (fields.size() < 5) return where.Error("cpu line has fewer than 4 counters");
      CpuTicks cpu;
      cpu.cpu = std::string(key.substr(3));
      if (!ParseUint64(cpu.cpu)) return where.Error(fmt::format("bad cpu name '{}'", key));
      if (Status s = ParseCounters(fields, 1, cpu.ticks, where); !s.ok()) return s;
      stat.cpus.push_back(std::move(cpu));
      return OkStatus();
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
    if (target == nullptr) return OkStatus();  // softirq and lines newer kernels may add
    const auto v = fields.size() >= 2 ? ParseUint64(fields[1]) : std::nullopt;
    if (!v) return where.Error(fmt::format("bad value for '{}'", key));
    *target = *v;
    return OkStatus();
  });
  if (!status.ok()) return status;
  if (stat.cpus.empty()) return Status::Error("stat: no per-cpu lines");
  if (!seen_btime) return Status::Error("stat: no btime line");
  return stat;
}

StatusOr<std::vector<MeminfoField>> ParseMeminfo(std::string_view content) {
  std::vector<MeminfoField> out;
  const Status status = ForEachRecord(content, "meminfo", [&](const Fields& fields, const Where& where) {
    if (fields.size() < 2 || fields.size() > 3 || fields[0].size() < 2 || fields[0].back() != ':') {
      return where.Error("expected 'Name: value [kB]'");
    }
    const auto value = ParseUint64(fields[1]);
    if (!value || (fields.size() == 3 && fields[2] != "kB")) {
      return where.Error(fmt::format("bad value '{}'", fields[1]));
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
    return OkStatus();
  });
  if (!status.ok()) return status;
  if (out.empty()) return Status::Error("meminfo: no fields");
  return out;
}

StatusOr<LoadAverage> ParseLoadavg(std::string_view content) {
  Fields fields;
  text::SplitFields(text::Trim(content), fields);
  if (fields.size() < 3) return Status::Error("loadavg: expected at least 3 fields");
  const auto l1 = ParseDouble(fields[0]), l5 = ParseDouble(fields[1]), l15 = ParseDouble(fields[2]);
  if (!l1 || !l5 || !l15 || *l1 < 0 || *l5 < 0 || *l15 < 0) {
    return Status::Error("loadavg: line 1: bad load average");
  }
  return LoadAverage{*l1, *l5, *l15};
}

StatusOr<std::vector<NetDevice>> ParseNetDev(std::string_view content) {
  if (std::count(content.begin(), content.end(), '\n') < 2) {
    return Status::Error("net/dev: truncated header");
  }
  std::vector<NetDevice> out;
  Fields counters;
  const Status status = ForEachRecord(
      content, "net/dev",
      [&](const Fields& fields, const Where& where) {
        // "eth0:123 ..." has no blank after the colon once counters grow long.
        const std::string_view first = fields[0];
        const auto colon = first.find(':');
        if (colon == std::string_view::npos) return where.Error("no ':' after the device name");
        NetDevice dev;
        dev.name = std::string(first.substr(0, colon));
        counters.assign(fields.begin() + 1, fields.end());
        if (colon + 1 < first.size()) counters.insert(counters.begin(), first.substr(colon + 1));
        if (dev.name.empty() || counters.size() != dev.counters.size()) {
          return where.Error(fmt::format("expected {} counters, got {}", dev.counters.size(), counters.size()));
        }
        if (Status s = ParseCounters(counters, 0, dev.counters, where); !s.ok()) return s;
        out.push_back(std::move(dev));
        return OkStatus();
      },
      /*skip_lines=*/2);
  if (!status.ok()) return status;
  return out;
}

StatusOr<std::vector<DiskStats>> ParseDiskstats(std::string_view content) {
  std::vector<DiskStats> out;
  const Status status = ForEachRecord(content, "diskstats", [&](const Fields& fields, const Where& where) {
    const size_t counters = fields.size() < 3 ? 0 : fields.size() - 3;
    if (counters != 11 && counters != 15 && counters != 17) {
      return where.Error("expected 14, 18 or 20 fields");
    }
    DiskStats disk;
    const auto major = ParseUint64(fields[0]), minor = ParseUint64(fields[1]);
    if (!major || !minor || *major > UINT32_MAX || *minor > UINT32_MAX) {
      return where.Error("bad major/minor number");
    }
    disk.major = static_cast<uint32_t>(*major);
    disk.minor = static_cast<uint32_t>(*minor);
    disk.name = std::string(fields[2]);
    disk.field_count = counters;
    if (Status s = ParseCounters(fields, 3, disk.fields, where); !s.ok()) return s;
    out.push_back(std::move(disk));
    return OkStatus();
  });
  if (!status.ok()) return status;
  return out;
}

StatusOr<std::vector<Mount>> ParseMounts(std::string_view content) {
  std::vector<Mount> out;
  const Status status = ForEachRecord(content, "mounts", [&](const Fields& fields, const Where& where) {
    if (fields.size() < 4) return where.Error("expected device, mount point, type and options");
    Mount mount{UnescapeOctal(fields[0]), UnescapeOctal(fields[1]), std::string(fields[2]), false};
    std::string_view options = fields[3];
    while (!options.empty()) {
      const auto comma = options.find(',');
      if (options.substr(0, comma) == "ro") mount.read_only = true;
      if (comma == std::string_view::npos) break;
      options.remove_prefix(comma + 1);
    }
    out.push_back(std::move(mount));
    return OkStatus();
  });
  if (!status.ok()) return status;
  if (out.empty()) return Status::Error("mounts: no mount points");
  return out;
}

UdevDiskProperties ParseUdevData(std::string_view content) {
  UdevDiskProperties props;
  text::ForEachLine(content, [&](std::string_view line) {
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

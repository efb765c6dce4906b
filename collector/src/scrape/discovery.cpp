#include "mingus/collector/scrape/discovery.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "mingus/common/file.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector::scrape {

namespace {

std::string Where(const std::string& file, const YAML::Node& node) {
  return fmt::format("{}:{}:{}", file, node.Mark().line + 1, node.Mark().column + 1);
}

}  // namespace

StatusOr<std::vector<TargetGroup>> ParseFileSd(std::string_view content,
                                               const std::string& file_name) {
  YAML::Node root;
  try {
    root = config::LoadString(std::string(content), file_name);
  } catch (const config::ConfigError& e) {
    return Status::Error(e.what());
  }
  std::vector<TargetGroup> groups;
  if (!root || root.IsNull()) return groups;
  if (!root.IsSequence())
    return Status::Error(
        fmt::format("{}: expected a list of target groups", Where(file_name, root)));
  for (const auto& item : root) {
    if (!item.IsMap())
      return Status::Error(
          fmt::format("{}: expected a target group mapping", Where(file_name, item)));
    TargetGroup group;
    group.source = fmt::format("{}:{}", file_name, item.Mark().line + 1);
    for (const auto& entry : item) {
      const std::string key = config::ScalarText(entry.first);
      const YAML::Node& value = entry.second;
      if (key == "targets") {
        if (!value.IsSequence())
          return Status::Error(
              fmt::format("{}: targets: expected a list", Where(file_name, value)));
        for (const auto& target : value) {
          const std::string address = target.IsScalar() ? target.as<std::string>() : "";
          const auto colon = address.rfind(':');
          if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() ||
              address.find('/') != std::string::npos) {
            return Status::Error(
                fmt::format("{}: target '{}' is not host:port", Where(file_name, target), address));
          }
          group.targets.push_back(address);
        }
      } else if (key == "labels") {
        if (!value.IsMap())
          return Status::Error(
              fmt::format("{}: labels: expected a mapping", Where(file_name, value)));
        for (const auto& label : value) {
          const std::string name = config::ScalarText(label.first);
          if (!wire::IsValidLabelName(name) || !label.second.IsScalar()) {
            return Status::Error(
                fmt::format("{}: bad label '{}'", Where(file_name, label.first), name));
          }
          group.labels.emplace_back(name, label.second.as<std::string>());
        }
      } else {
        return Status::Error(fmt::format("{}: unknown key '{}' (a group has targets and labels)",
                                         Where(file_name, entry.first), key));
      }
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

std::vector<Target> BuildTargets(const ScrapeConfig& config,
                                 const std::vector<TargetGroup>& groups) {
  std::vector<Target> targets;
  std::set<tsdb::Labels> seen;
  for (const auto& group : groups) {
    for (const auto& address : group.targets) {
      std::vector<std::pair<std::string, std::string>> pairs = {{"job", config.job_name}};
      bool has_instance = false;
      for (const auto& [name, value] : group.labels) {
        if (name == "job")
          continue;  // the job label is the job_name, as Prometheus without relabeling
        has_instance |= name == "instance";
        pairs.emplace_back(name, value);
      }
      if (!has_instance) pairs.emplace_back("instance", address);
      auto labels = tsdb::MakeLabels(std::move(pairs));
      if (!labels.ok() || !seen.insert(*labels).second) continue;
      Target target;
      target.address = address;
      target.metrics_path = config.metrics_path;
      target.client = config.client;
      target.labels = std::move(labels).value();
      target.honor_labels = config.honor_labels;
      target.interval = config.scrape_interval;
      target.timeout = config.scrape_timeout;
      target.sample_limit = static_cast<size_t>(config.sample_limit);
      target.body_size_limit = static_cast<size_t>(config.body_size_limit);
      target.label_limit = static_cast<size_t>(config.label_limit);
      target.label_value_length_limit = static_cast<size_t>(config.label_value_length_limit);
      targets.push_back(std::move(target));
    }
  }
  return targets;
}

FileDiscovery::FileDiscovery(std::vector<FileSdConfig> configs, std::string base_directory)
    : configs_(std::move(configs)),
      base_directory_(std::move(base_directory)),
      next_full_read_(configs_.size()) {}

std::vector<std::string> FileDiscovery::MatchingFiles(const FileSdConfig& config) const {
  std::vector<std::string> out;
  for (const auto& pattern : config.files) {
    for (auto& file : GlobFiles(base_directory_, pattern)) out.push_back(std::move(file));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool FileDiscovery::Refresh(std::chrono::steady_clock::time_point now,
                            std::vector<std::string>& errors) {
  bool changed = false;
  std::set<std::string> present;
  for (size_t i = 0; i < configs_.size(); ++i) {
    const bool full_read = now >= next_full_read_[i];
    if (full_read) next_full_read_[i] = now + configs_[i].refresh_interval;
    for (const auto& file : MatchingFiles(configs_[i])) {
      present.insert(file);
      std::error_code error;
      const auto modified = std::filesystem::last_write_time(file, error);
      const auto size = std::filesystem::file_size(file, error);
      if (error) continue;
      auto known = files_.find(file);
      if (known != files_.end() && !full_read && known->second.modified == modified &&
          known->second.size == size) {
        continue;
      }
      auto content = ReadFile(file);
      auto groups = content.ok() ? ParseFileSd(*content, file)
                                 : StatusOr<std::vector<TargetGroup>>(content.status());
      FileState& state = files_[file];
      state.modified = modified;
      state.size = size;
      if (!groups.ok()) {
        errors.push_back(
            fmt::format("file_sd: {} (keeping its previous targets)", groups.message()));
        continue;
      }
      const auto same = [](const std::vector<TargetGroup>& a, const std::vector<TargetGroup>& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                          [](const TargetGroup& x, const TargetGroup& y) {
                            return x.targets == y.targets && x.labels == y.labels;
                          });
      };
      if (!same(state.groups, *groups)) {
        state.groups = std::move(groups).value();
        changed = true;
      }
    }
  }
  changed |=
      std::erase_if(files_, [&](const auto& entry) { return !present.contains(entry.first); }) > 0;
  return changed;
}

std::vector<TargetGroup> FileDiscovery::Groups() const {
  std::vector<TargetGroup> out;
  for (const auto& [file, state] : files_)
    out.insert(out.end(), state.groups.begin(), state.groups.end());
  return out;
}

}  // namespace mingus::collector::scrape

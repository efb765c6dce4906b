#include "mingus/config/flags.h"

#include <fmt/format.h>

namespace mingus::config {

FlagSet::FlagSet(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

void FlagSet::String(std::string name, std::string help, std::optional<std::string>* out,
                     std::string default_text) {
  flags_.push_back({std::move(name), std::move(help), std::move(default_text), out, nullptr});
}

void FlagSet::Bool(std::string name, std::string help, std::optional<bool>* out,
                   std::string default_text) {
  flags_.push_back({std::move(name), std::move(help), std::move(default_text), nullptr, out});
}

const FlagSet::Flag* FlagSet::Find(std::string_view name) const {
  for (const auto& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

StatusOr<FlagSet::Outcome> FlagSet::Parse(int argc, const char* const* argv,
                                          std::vector<std::string>* positional) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return Outcome::kHelp;
    if (arg == "--version") return Outcome::kVersion;
    if (arg.substr(0, 2) != "--" || arg == "--") {
      if (positional == nullptr) return Status::Error(fmt::format("unexpected argument '{}'", arg));
      positional->emplace_back(arg);
      continue;
    }
    const auto eq = arg.find('=');
    const std::string_view name = arg.substr(2, eq == std::string_view::npos ? arg.npos : eq - 2);
    const std::optional<std::string_view> inline_value =
        eq == std::string_view::npos ? std::nullopt : std::optional(arg.substr(eq + 1));
    const Flag* flag = Find(name);
    bool negated = false;
    if (flag == nullptr && name.substr(0, 3) == "no-") {
      flag = Find(name.substr(3));
      negated = flag != nullptr && flag->bool_out != nullptr;
      if (!negated) flag = nullptr;
    }
    if (flag == nullptr) return Status::Error(fmt::format("unknown flag '--{}'", name));
    if (flag->bool_out != nullptr) {
      if (!inline_value) {
        *flag->bool_out = !negated;
      } else if (!negated && (*inline_value == "true" || *inline_value == "false")) {
        *flag->bool_out = *inline_value == "true";
      } else {
        return Status::Error(fmt::format("flag '--{}' takes no value other than true or false", name));
      }
      continue;
    }
    if (inline_value) {
      *flag->string_out = std::string(*inline_value);
    } else if (i + 1 < argc) {
      *flag->string_out = argv[++i];
    } else {
      return Status::Error(fmt::format("flag '--{}' needs a value", name));
    }
  }
  return Outcome::kRun;
}

std::string FlagSet::Usage() const {
  std::string out = fmt::format("usage: {} [<flags>]\n\n{}\n\nFlags:\n", program_, summary_);
  out += fmt::format("  {:<34} {}\n", "-h, --help", "Show this help and exit.");
  out += fmt::format("  {:<34} {}\n", "--version", "Show the version and exit.");
  for (const auto& flag : flags_) {
    const std::string left = flag.bool_out != nullptr ? fmt::format("--[no-]{}", flag.name)
                                                       : fmt::format("--{}=VALUE", flag.name);
    out += fmt::format("  {:<34} {}", left, flag.help);
    if (!flag.default_text.empty()) out += fmt::format(" (default: {})", flag.default_text);
    out += "\n";
  }
  return out;
}

}  // namespace mingus::config

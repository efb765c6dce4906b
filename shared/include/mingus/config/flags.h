#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mingus/common/status.h"

namespace mingus::config {

// Command-line flags in Prometheus' (kingpin's) conventions: --name=value or --name value,
// boolean --name and --no-name, --help and --version. Values stay unset unless given, so that
// flags override the configuration file only where they appear.
class FlagSet {
 public:
  FlagSet(std::string program, std::string summary);

  void String(std::string name, std::string help, std::optional<std::string>* out,
              std::string default_text = "");
  void Bool(std::string name, std::string help, std::optional<bool>* out,
            std::string default_text = "");

  enum class Outcome { kRun, kHelp, kVersion };
  // Parses argv[1..]; arguments that are not flags go to `positional`.
  StatusOr<Outcome> Parse(int argc, const char* const* argv, std::vector<std::string>* positional);
  std::string Usage() const;

 private:
  struct Flag {
    std::string name, help, default_text;
    std::optional<std::string>* string_out = nullptr;
    std::optional<bool>* bool_out = nullptr;
  };
  const Flag* Find(std::string_view name) const;

  std::string program_, summary_;
  std::vector<Flag> flags_;
};

}  // namespace mingus::config

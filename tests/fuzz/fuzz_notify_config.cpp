// notify.yaml and Alertmanager's matcher syntax: any input either loads or is refused with
// config::ConfigError (or an error Status); any other exception or crash is a bug. The first
// byte picks which of the two reads the rest.
// - Even: the configuration, with a fake world (no environment; every secret file holds a URL);
//   a loaded one is built into a route tree, routed, inhibited and dumped.
// - Odd: a matcher list; each matcher printed (Matcher::String) and parsed again must come back
//   the same.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "mingus/collector/notify/config.h"
#include "mingus/collector/notify/route.h"
#include "mingus/config/yaml_reader.h"

namespace notify = mingus::collector::notify;

namespace {

void FuzzConfig(const std::string& text) {
  notify::LoadContext context;
  context.environment = [](std::string_view) { return std::optional<std::string>(); };
  context.read_file = [](const std::string& path) -> mingus::StatusOr<std::string> {
    if (path.size() % 2 == 0) return mingus::Status::Error(path + ": no such file");
    return std::string("https://hooks.example.com/secret\n");
  };
  notify::NotifyConfig config;
  try {
    config = notify::ParseNotifyConfig(text, "fuzz.yaml", context);
  } catch (const mingus::config::ConfigError&) {
    return;
  }
  const auto root = notify::Route::Build(config.route);
  const notify::Labels labels = {{"alertname", "X"}, {"severity", "critical"}, {"team", "a"}};
  for (const notify::Route* route : root->Match(labels)) {
    (void)route->GroupKey(route->GroupLabels(labels));
  }
  notify::Inhibitor inhibitor(config.inhibit_rules);
  inhibitor.SetFiring({labels});
  (void)inhibitor.Mutes({{"alertname", "X"}, {"severity", "high"}});
  (void)notify::DumpNotifyConfig(config);
}

void FuzzMatchers(const std::string& text) {
  const auto matchers = notify::ParseMatchers(text);
  if (!matchers.ok()) return;
  for (const auto& matcher : *matchers) {
    const auto again = notify::ParseMatcher(matcher.String());
    if (!again.ok() || again->name != matcher.name || again->type != matcher.type ||
        again->value != matcher.value) {
      __builtin_trap();
    }
    (void)matcher.Matches(text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    FuzzConfig(text);
  } else {
    FuzzMatchers(text);
  }
  return 0;
}

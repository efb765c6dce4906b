// check_notify: loads a notify.yaml the way mingus-collector does, for the integration test that
// holds our parser to amtool's verdicts.
//   check_notify FILE                      "SUCCESS" and a summary, or the error; exit 0 or 1
//   check_notify FILE --route NAME=VALUE…  the receivers an alert with these labels goes to,
//                                          comma-separated, as `amtool config routes test`
//   check_notify FILE --dump               the configuration with secrets masked
// The ALERT_*_ENABLED switches are read from the environment.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "mingus/collector/notify/config.h"
#include "mingus/collector/notify/notify_template.h"
#include "mingus/collector/notify/route.h"
#include "mingus/config/yaml_reader.h"

namespace notify = mingus::collector::notify;

// check_notify --template-render GLOB TEXT [--html]: TEXT rendered over the set of our defaults
// and the files matching GLOB, with amtool template render's example data (the test compares the
// two; it avoids printing times, which amtool takes from time.Now()).
int RenderTemplate(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: check_notify --template-render GLOB TEXT [--html]\n";
    return 2;
  }
  auto templates = notify::NotifyTemplates::Load({argv[2]});
  if (!templates.ok()) {
    std::cerr << "FAILED: " << templates.message() << "\n";
    return 1;
  }
  // amtool's example times are time.Now()-based: tests compare only their slow parts (the year).
  const auto data =
      notify::AmtoolExampleData(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  const bool html = argc > 4 && std::string(argv[4]) == "--html";
  auto out =
      html ? (*templates)->ExecuteHtml(argv[3], data) : (*templates)->ExecuteText(argv[3], data);
  if (!out.ok()) {
    std::cerr << "FAILED: " << out.message() << "\n";
    return 1;
  }
  std::cout << *out;
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--template-render") return RenderTemplate(argc, argv);
  if (argc < 2) {
    std::cerr << "usage: check_notify FILE [--dump | --route NAME=VALUE...]\n";
    return 2;
  }
  notify::NotifyConfig config;
  try {
    config = notify::LoadNotifyConfig(argv[1], mingus::config::ProcessEnvironment());
  } catch (const mingus::config::ConfigError& e) {
    std::cerr << "FAILED: " << e.what() << "\n";
    return 1;
  }
  const std::string mode = argc > 2 ? argv[2] : "";
  if (mode == "--dump") {
    std::cout << notify::DumpNotifyConfig(config);
    return 0;
  }
  if (mode == "--route") {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (int i = 3; i < argc; ++i) {
      const std::string arg = argv[i];
      const size_t equals = arg.find('=');
      if (equals == std::string::npos) {
        std::cerr << "expected NAME=VALUE: " << arg << "\n";
        return 2;
      }
      pairs.emplace_back(arg.substr(0, equals), arg.substr(equals + 1));
    }
    auto labels = mingus::collector::tsdb::MakeLabels(std::move(pairs));
    if (!labels.ok()) {
      std::cerr << labels.message() << "\n";
      return 2;
    }
    const auto root = notify::Route::Build(config.route);
    std::string out;
    for (const notify::Route* route : root->Match(*labels)) {
      if (!out.empty()) out += ',';
      out += route->options().receiver;
    }
    std::cout << out << "\n";
    return 0;
  }
  if (!mode.empty()) {
    std::cerr << "unknown mode " << mode << "\n";
    return 2;
  }
  size_t routes = 0;
  notify::Route::Build(config.route)->Walk([&](const notify::Route&) { ++routes; });
  std::cout << "SUCCESS\n"
            << " - " << routes << " routes\n"
            << " - " << config.inhibit_rules.size() << " inhibit rules\n"
            << " - " << config.receivers.size() << " receivers\n"
            << " - " << config.templates.size() << " templates\n";
  for (const auto& integration : config.disabled_integrations) {
    std::cout << " - " << integration << " switched off by the environment\n";
  }
  return 0;
}

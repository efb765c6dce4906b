// Alert-rule templates on any text: a parse error that names its position, or a template whose
// expansion (with labels, a value and a query function) ends in output or a positioned error.
// The same text as an Alertmanager notification template (the other dialect of the engine, with
// define/template over our default templates and amtool's example data): the same contract.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/notify/notify_template.h"
#include "mingus/collector/rules/template.h"

namespace {

using mingus::Status;
using mingus::StatusOr;
using mingus::collector::rules::Template;
using mingus::collector::rules::TemplateData;
using mingus::collector::rules::TemplateSample;

StatusOr<std::vector<TemplateSample>> FakeQuery(std::string_view query) {
  if (query.empty()) return Status::Error("empty query");
  if (query == "none") return std::vector<TemplateSample>{};
  return std::vector<TemplateSample>{
      {{{"__name__", "up"}, {"instance", "host.example.com:9100"}, {"job", "node"}}, 1.5},
      {{{"__name__", "up"}, {"instance", "10.0.0.1:9100"}, {"job", "node"}}, 0}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    static const auto templates = mingus::collector::notify::NotifyTemplates::Defaults();
    static const auto example = mingus::collector::notify::AmtoolExampleData(1'700'000'000'000);
    const auto out = templates->ExecuteText(text, example);
    if (!out.ok() && out.message().rfind("template: ", 0) != 0) __builtin_trap();
    if (out.ok() && text.find("{{") == std::string_view::npos && *out != text) __builtin_trap();
  }
  const auto parsed = Template::Parse("fuzz", text);
  if (!parsed.ok()) {
    if (parsed.message().rfind("template: fuzz:", 0) != 0) __builtin_trap();
    return 0;
  }
  if (parsed->text() != text) __builtin_trap();
  static const mingus::collector::tsdb::Labels labels = {
      {"__name__", "up"}, {"instance", "host.example.com:9100"}, {"job", "node"}};
  static const mingus::collector::tsdb::Labels external_labels = {{"cluster", "c1"}};
  TemplateData values{&labels, &external_labels, "http://prom.example.com:9090/prefix", 0.25,
                      FakeQuery};
  const auto out = parsed->Execute(values);
  if (out.ok() && parsed->is_constant() && *out != text) __builtin_trap();
  if (!out.ok() && out.message().rfind("template: fuzz:", 0) != 0) __builtin_trap();
  return 0;
}

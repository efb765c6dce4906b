#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mingus/collector/rules/template.h"
#include "mingus/common/status.h"

// The values a template works on: the Go types that Prometheus' alert templates can produce,
// each named as Go names it in messages.
namespace mingus::collector::rules::detail {

enum class Kind : uint8_t {
  kNil,      // an untyped nil (a missing args() key, a nil interface)
  kBool,     // bool
  kInt,      // int (Go's untyped integer constants, len)
  kFloat,    // float64
  kString,   // string
  kHtml,     // template.HTML (safeHtml): prints as a string, but is not a string argument
  kLabels,   // map[string]string
  kMap,      // map[string]interface {} (args)
  kSample,   // *template.sample (a query result element)
  kSamples,  // template.queryResult
  kTime,     // *time.Time (toTime), in Unix milliseconds as Prometheus keeps it
  kRoot,     // the alert's data: struct {Labels; ExternalLabels; ExternalURL; Value}
  // Alertmanager's notification data (NotificationTemplateData); text and labels borrowed.
  kStrings,  // []string (stringSlice, KV.Names); owned
  kAmData,   // template.Data
  kAlerts,   // template.Alerts: a std::vector<AlertTemplateData>
  kAlert,    // template.Alert
  kKV,       // template.KV: map[string]string with methods, a tsdb::Labels
  kPairs,    // template.Pairs: a tsdb::Labels in SortedPairs' order (alertname first)
  kPair,     // template.Pair: one std::pair<std::string, std::string>
};

struct Value;
using ValueMap = std::vector<std::pair<std::string, Value>>;  // sorted by key, unique keys

// A cheap-to-copy value. Text and pointers are either borrowed from what outlives an execution
// (the program's literals, the TemplateData) or kept alive by `owner`.
struct Value {
  Kind kind = Kind::kNil;
  bool boolean = false;
  int64_t integer = 0;    // kInt; kTime: Unix milliseconds
  double number = 0;      // kFloat
  std::string_view text;  // kString, kHtml
  const void* pointer = nullptr;
  std::shared_ptr<const void> owner;

  static Value Bool(bool v);
  static Value Int(int64_t v);
  static Value Float(double v);
  static Value Time(int64_t unix_ms);
  static Value Borrowed(std::string_view text);  // text that outlives the execution
  static Value String(std::string text);         // owned
  static Value Labels(const tsdb::Labels* labels, std::shared_ptr<const void> owner = nullptr);
  static Value Map(ValueMap entries);
  static Value Sample(const TemplateSample* sample, std::shared_ptr<const void> owner);
  static Value Samples(std::shared_ptr<const std::vector<TemplateSample>> samples);
  static Value Root(const TemplateData* data);
  static Value Strings(std::vector<std::string> strings);
  static Value AmData(const NotificationTemplateData* data);
  static Value Alerts(const std::vector<AlertTemplateData>* alerts,
                      std::shared_ptr<const void> owner = nullptr);
  static Value Alert(const AlertTemplateData* alert, std::shared_ptr<const void> owner);
  static Value KV(const tsdb::Labels* labels, std::shared_ptr<const void> owner);
  static Value Pairs(const tsdb::Labels* pairs, std::shared_ptr<const void> owner);
  static Value Pair(const std::pair<std::string, std::string>* pair,
                    std::shared_ptr<const void> owner);

  bool is_nil() const { return kind == Kind::kNil; }
  bool is_stringish() const { return kind == Kind::kString || kind == Kind::kHtml; }
  const tsdb::Labels& labels() const;  // kLabels, kKV, kPairs; null is an empty map
  bool is_label_map() const { return kind == Kind::kLabels || kind == Kind::kKV; }
  const ValueMap& map() const { return *static_cast<const ValueMap*>(pointer); }
  const TemplateSample* sample() const { return static_cast<const TemplateSample*>(pointer); }
  const std::vector<TemplateSample>& samples() const;  // kSamples; null is empty
  const TemplateData& root() const { return *static_cast<const TemplateData*>(pointer); }
  const std::vector<std::string>& strings() const {
    return *static_cast<const std::vector<std::string>*>(pointer);
  }
  const NotificationTemplateData& am_data() const {
    return *static_cast<const NotificationTemplateData*>(pointer);
  }
  const std::vector<AlertTemplateData>& alerts() const {
    return *static_cast<const std::vector<AlertTemplateData>*>(pointer);
  }
  const AlertTemplateData& alert() const { return *static_cast<const AlertTemplateData*>(pointer); }
  const std::pair<std::string, std::string>& pair() const {
    return *static_cast<const std::pair<std::string, std::string>*>(pointer);
  }
};

// A label's value, "" when absent (Go's zero value of a missing map[string]string key).
std::string_view LabelValue(const tsdb::Labels& labels, std::string_view name);
// An args() entry, nil when absent.
Value MapValue(const ValueMap& map, std::string_view key);

// Go's truth (text/template isTrue): false, 0, nil, and empty strings, maps and lists are false.
bool Truth(const Value& value);
// The Go type name, for messages: "string", "float64", "map[string]string", ...
std::string_view TypeName(const Value& value);

// Go's %v of a float64 (strconv 'g', shortest): 0.30000000000000004, 100000, 1.234567e+06.
void AppendFloatV(double value, std::string& out);
// The UTC calendar of a Unix time in milliseconds, as time.Time's methods give it.
struct CivilTime {
  int64_t year = 1970;
  int month = 1, day = 1, hour = 0, minute = 0, second = 0, millisecond = 0, year_day = 1;
};
CivilTime ToCivil(int64_t unix_ms);
// time.Time.Format(layout) in UTC, with Go's layout words (2006 01 02 15 04 05 Jan Monday MST
// -0700 .000 ...).
void AppendGoTimeFormat(int64_t unix_ms, std::string_view layout, std::string& out);
// time.Time.String() in UTC: "2023-03-16 20:53:20 +0000 UTC", "... 20:53:20.25 +0000 UTC".
void AppendTime(int64_t unix_ms, std::string& out);

// fmt's %v of a value (`pointer_prefix` writes "&" before a sample at the top, as fmt does for
// a pointer to a struct). Fails for what Go prints as memory addresses (query results).
Status AppendV(const Value& value, std::string& out, bool pointer_prefix);
// What {{pipeline}} prints (text/template printValue): nil is "<no value>", a sample prints
// without the "&".
Status AppendPrint(const Value& value, std::string& out);

}  // namespace mingus::collector::rules::detail

#include "detail/template_value.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

namespace mingus::collector::rules::detail {

namespace {

const tsdb::Labels kNoLabels;
const std::vector<TemplateSample> kNoSamples;

void AppendLabels(const tsdb::Labels& labels, std::string& out) {
  out += "map[";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ' ';
    out += labels[i].first;
    out += ':';
    out += labels[i].second;
  }
  out += ']';
}

// Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day count from 1970-01-01.
void CivilFromDays(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}

}  // namespace

Value Value::Bool(bool v) {
  Value out;
  out.kind = Kind::kBool;
  out.boolean = v;
  return out;
}

Value Value::Int(int64_t v) {
  Value out;
  out.kind = Kind::kInt;
  out.integer = v;
  return out;
}

Value Value::Float(double v) {
  Value out;
  out.kind = Kind::kFloat;
  out.number = v;
  return out;
}

Value Value::Time(int64_t unix_ms) {
  Value out;
  out.kind = Kind::kTime;
  out.integer = unix_ms;
  return out;
}

Value Value::Borrowed(std::string_view text) {
  Value out;
  out.kind = Kind::kString;
  out.text = text;
  return out;
}

Value Value::String(std::string text) {
  Value out;
  out.kind = Kind::kString;
  if (text.empty()) return out;
  auto owned = std::make_shared<const std::string>(std::move(text));
  out.text = *owned;
  out.owner = std::move(owned);
  return out;
}

Value Value::Labels(const tsdb::Labels* labels, std::shared_ptr<const void> owner) {
  Value out;
  out.kind = Kind::kLabels;
  out.pointer = labels;
  out.owner = std::move(owner);
  return out;
}

Value Value::Map(ValueMap entries) {
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  auto owned = std::make_shared<const ValueMap>(std::move(entries));
  Value out;
  out.kind = Kind::kMap;
  out.pointer = owned.get();
  out.owner = std::move(owned);
  return out;
}

Value Value::Sample(const TemplateSample* sample, std::shared_ptr<const void> owner) {
  Value out;
  out.kind = Kind::kSample;
  out.pointer = sample;
  out.owner = std::move(owner);
  return out;
}

Value Value::Samples(std::shared_ptr<const std::vector<TemplateSample>> samples) {
  Value out;
  out.kind = Kind::kSamples;
  out.pointer = samples.get();
  out.owner = std::move(samples);
  return out;
}

Value Value::Root(const TemplateData* data) {
  Value out;
  out.kind = Kind::kRoot;
  out.pointer = data;
  return out;
}

Value Value::Strings(std::vector<std::string> strings) {
  auto owned = std::make_shared<const std::vector<std::string>>(std::move(strings));
  Value out;
  out.kind = Kind::kStrings;
  out.pointer = owned.get();
  out.owner = std::move(owned);
  return out;
}

Value Value::AmData(const NotificationTemplateData* data) {
  Value out;
  out.kind = Kind::kAmData;
  out.pointer = data;
  return out;
}

namespace {
Value Pointing(Kind kind, const void* pointer, std::shared_ptr<const void> owner) {
  Value out;
  out.kind = kind;
  out.pointer = pointer;
  out.owner = std::move(owner);
  return out;
}
}  // namespace

Value Value::Alerts(const std::vector<AlertTemplateData>* alerts,
                    std::shared_ptr<const void> owner) {
  return Pointing(Kind::kAlerts, alerts, std::move(owner));
}
Value Value::Alert(const AlertTemplateData* alert, std::shared_ptr<const void> owner) {
  return Pointing(Kind::kAlert, alert, std::move(owner));
}
Value Value::KV(const tsdb::Labels* labels, std::shared_ptr<const void> owner) {
  return Pointing(Kind::kKV, labels, std::move(owner));
}
Value Value::Pairs(const tsdb::Labels* pairs, std::shared_ptr<const void> owner) {
  return Pointing(Kind::kPairs, pairs, std::move(owner));
}
Value Value::Pair(const std::pair<std::string, std::string>* pair,
                  std::shared_ptr<const void> owner) {
  return Pointing(Kind::kPair, pair, std::move(owner));
}

const tsdb::Labels& Value::labels() const {
  return pointer != nullptr ? *static_cast<const tsdb::Labels*>(pointer) : kNoLabels;
}

const std::vector<TemplateSample>& Value::samples() const {
  return pointer != nullptr ? *static_cast<const std::vector<TemplateSample>*>(pointer)
                            : kNoSamples;
}

std::string_view LabelValue(const tsdb::Labels& labels, std::string_view name) {
  const auto it =
      std::lower_bound(labels.begin(), labels.end(), name,
                       [](const auto& label, std::string_view key) { return label.first < key; });
  return it != labels.end() && it->first == name ? std::string_view(it->second)
                                                 : std::string_view();
}

Value MapValue(const ValueMap& map, std::string_view key) {
  const auto it =
      std::lower_bound(map.begin(), map.end(), key,
                       [](const auto& entry, std::string_view k) { return entry.first < k; });
  return it != map.end() && it->first == key ? it->second : Value();
}

bool Truth(const Value& value) {
  switch (value.kind) {
    case Kind::kNil:
      return false;
    case Kind::kBool:
      return value.boolean;
    case Kind::kInt:
      return value.integer != 0;
    case Kind::kFloat:
      return value.number != 0;  // NaN is true, as in Go
    case Kind::kString:
    case Kind::kHtml:
      return !value.text.empty();
    case Kind::kLabels:
    case Kind::kKV:
    case Kind::kPairs:
      return !value.labels().empty();
    case Kind::kStrings:
      return !value.strings().empty();
    case Kind::kAlerts:
      return !value.alerts().empty();
    case Kind::kAmData:
    case Kind::kAlert:
    case Kind::kPair:
      return true;
    case Kind::kMap:
      return !value.map().empty();
    case Kind::kSample:
      return value.sample() != nullptr;
    case Kind::kSamples:
      return !value.samples().empty();
    case Kind::kTime:
    case Kind::kRoot:
      return true;
  }
  return false;
}

std::string_view TypeName(const Value& value) {
  switch (value.kind) {
    case Kind::kNil:
      return "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kHtml:
      return "template.HTML";
    case Kind::kLabels:
      return "map[string]string";
    case Kind::kMap:
      return "map[string]interface {}";
    case Kind::kSample:
      return "*template.sample";
    case Kind::kSamples:
      return "template.queryResult";
    case Kind::kTime:
      return "*time.Time";
    case Kind::kRoot:
      return "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL "
             "string; Value float64 }";
    case Kind::kStrings:
      return "[]string";
    case Kind::kAmData:
      return "template.Data";
    case Kind::kAlerts:
      return "template.Alerts";
    case Kind::kAlert:
      return "template.Alert";
    case Kind::kKV:
      return "template.KV";
    case Kind::kPairs:
      return "template.Pairs";
    case Kind::kPair:
      return "template.Pair";
  }
  return "?";
}

void AppendFloatV(double value, std::string& out) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  // strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read back, in %e form when
  // the exponent is below -4 or at least 6 (the shortest form's fixed precision).
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view scientific(buffer, static_cast<size_t>(result.ptr - buffer));
  const size_t e = scientific.find('e');
  int exponent = 0;
  std::from_chars(scientific.data() + e + (scientific[e + 1] == '+' ? 2 : 1),
                  scientific.data() + scientific.size(), exponent);
  if (exponent < -4 || exponent >= 6) {
    out += scientific;
    return;
  }
  result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  out.append(buffer, result.ptr);
}

CivilTime ToCivil(int64_t unix_ms) {
  const int64_t days = unix_ms >= 0 ? unix_ms / 86400000 : -((-(unix_ms + 1)) / 86400000) - 1;
  const int64_t ms_of_day = unix_ms - days * 86400000;
  CivilTime civil;
  unsigned month = 0, day = 0;
  CivilFromDays(days, civil.year, month, day);
  civil.month = static_cast<int>(month);
  civil.day = static_cast<int>(day);
  civil.hour = static_cast<int>(ms_of_day / 3600000);
  civil.minute = static_cast<int>(ms_of_day / 60000 % 60);
  civil.second = static_cast<int>(ms_of_day / 1000 % 60);
  civil.millisecond = static_cast<int>(ms_of_day % 1000);
  static constexpr int kDaysBefore[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  const bool leap = civil.year % 4 == 0 && (civil.year % 100 != 0 || civil.year % 400 == 0);
  civil.year_day = kDaysBefore[month - 1] + civil.day + (leap && month > 2 ? 1 : 0);
  return civil;
}

void AppendTime(int64_t unix_ms, std::string& out) {
  const CivilTime t = ToCivil(unix_ms);
  out += t.year < 0 ? fmt::format("-{:04}", -t.year) : fmt::format("{:04}", t.year);
  out += fmt::format("-{:02}-{:02} {:02}:{:02}:{:02}", t.month, t.day, t.hour, t.minute, t.second);
  if (t.millisecond != 0) {
    std::string fraction = fmt::format(".{:03}", t.millisecond);
    while (fraction.back() == '0') fraction.pop_back();
    out += fraction;
  }
  out += " +0000 UTC";
}

namespace {

void AppendAlert(const AlertTemplateData& alert, std::string& out) {
  out += '{';
  out += alert.status;
  out += ' ';
  AppendLabels(alert.labels, out);
  out += ' ';
  AppendLabels(alert.annotations, out);
  out += ' ';
  AppendTime(alert.starts_at_ms, out);
  out += ' ';
  AppendTime(alert.ends_at_ms, out);
  out += ' ';
  out += alert.generator_url;
  out += ' ';
  out += alert.fingerprint;
  out += '}';
}

void AppendAlerts(const std::vector<AlertTemplateData>& alerts, std::string& out) {
  out += '[';
  for (size_t i = 0; i < alerts.size(); ++i) {
    if (i > 0) out += ' ';
    AppendAlert(alerts[i], out);
  }
  out += ']';
}

}  // namespace

void AppendGoTimeFormat(int64_t unix_ms, std::string_view layout, std::string& out) {
  static constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                            "May",       "June",     "July",     "August",
                                            "September", "October",  "November", "December"};
  static constexpr const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
  const CivilTime t = ToCivil(unix_ms);
  const int64_t days = unix_ms >= 0 ? unix_ms / 86400000 : -((-(unix_ms + 1)) / 86400000) - 1;
  const int weekday = static_cast<int>(((days + 4) % 7 + 7) % 7);
  const int hour12 = t.hour % 12 == 0 ? 12 : t.hour % 12;
  const auto starts = [&](size_t i, std::string_view word) {
    return layout.substr(i, word.size()) == word;
  };
  const auto digit = [&](size_t i) {
    return i < layout.size() && layout[i] >= '0' && layout[i] <= '9';
  };
  for (size_t i = 0; i < layout.size();) {
    // The longest layout word at i, as time.nextStdChunk reads them.
    struct Word {
      std::string_view text;
      std::string value;
    };
    std::optional<Word> word;
    const auto take = [&](std::string_view text, std::string value) {
      if (!word && starts(i, text)) word = Word{text, std::move(value)};
    };
    take("January", kMonths[t.month - 1]);
    take("Jan", std::string(kMonths[t.month - 1]).substr(0, 3));
    take("Monday", kDays[weekday]);
    take("Mon", std::string(kDays[weekday]).substr(0, 3));
    take("MST", "UTC");
    take("2006", fmt::format("{:04}", t.year));
    take("002", fmt::format("{:03}", t.year_day));
    take("01", fmt::format("{:02}", t.month));
    take("02", fmt::format("{:02}", t.day));
    take("03", fmt::format("{:02}", hour12));
    take("04", fmt::format("{:02}", t.minute));
    take("05", fmt::format("{:02}", t.second));
    take("06", fmt::format("{:02}", t.year % 100));
    take("15", fmt::format("{}", t.hour));
    take("1", fmt::format("{}", t.month));
    take("_2006", fmt::format("_{:04}", t.year));
    take("__2", fmt::format("{:>3}", t.year_day));
    take("_2", fmt::format("{:>2}", t.day));
    take("2", fmt::format("{}", t.day));
    take("3", fmt::format("{}", hour12));
    take("4", fmt::format("{}", t.minute));
    take("5", fmt::format("{}", t.second));
    take("PM", t.hour >= 12 ? "PM" : "AM");
    take("pm", t.hour >= 12 ? "pm" : "am");
    for (const std::string_view zone : {"-07:00:00", "-070000", "-07:00", "-0700", "-07",
                                        "Z07:00:00", "Z070000", "Z07:00", "Z0700", "Z07"}) {
      if (zone[0] == 'Z') {
        take(zone, "Z");
      } else {
        std::string zero(zone);
        for (char& c : zero) c = c == '-' ? '+' : c == ':' ? ':' : '0';
        take(zone, zero);
      }
    }
    if (!word && (layout[i] == '.' || layout[i] == ',') && i + 1 < layout.size() &&
        (layout[i + 1] == '0' || layout[i + 1] == '9')) {
      size_t j = i + 1;
      while (j < layout.size() && layout[j] == layout[i + 1]) ++j;
      if (!digit(j)) {
        const size_t n = j - i - 1;
        std::string fraction = fmt::format("{:03}", t.millisecond);
        fraction.resize(std::max<size_t>(n, 3), '0');
        fraction.resize(n);
        if (layout[i + 1] == '9') {
          while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
          word = Word{layout.substr(i, j - i),
                      fraction.empty() ? std::string() : std::string(1, layout[i]) + fraction};
        } else {
          word = Word{layout.substr(i, j - i), std::string(1, layout[i]) + fraction};
        }
      }
    }
    if (word) {
      out += word->value;
      i += word->text.size();
    } else {
      out += layout[i++];
    }
  }
}

Status AppendV(const Value& value, std::string& out, bool pointer_prefix) {
  switch (value.kind) {
    case Kind::kStrings:
      out += '[';
      for (size_t i = 0; i < value.strings().size(); ++i) {
        if (i > 0) out += ' ';
        out += value.strings()[i];
      }
      out += ']';
      break;
    case Kind::kKV:
      AppendLabels(value.labels(), out);
      break;
    case Kind::kPairs:
      out += '[';
      for (size_t i = 0; i < value.labels().size(); ++i) {
        if (i > 0) out += ' ';
        out += '{' + value.labels()[i].first + ' ' + value.labels()[i].second + '}';
      }
      out += ']';
      break;
    case Kind::kPair:
      out += '{' + value.pair().first + ' ' + value.pair().second + '}';
      break;
    case Kind::kAlert:
      AppendAlert(value.alert(), out);
      break;
    case Kind::kAlerts:
      AppendAlerts(value.alerts(), out);
      break;
    case Kind::kAmData: {
      // amtool's example data is a template.Data value, which printf shows without "&".
      const NotificationTemplateData& data = value.am_data();
      out += '{' + data.receiver + ' ' + data.status + ' ';
      AppendAlerts(data.alerts, out);
      for (const tsdb::Labels* labels :
           {&data.group_labels, &data.common_labels, &data.common_annotations}) {
        out += ' ';
        AppendLabels(*labels, out);
      }
      out += ' ' + data.external_url + '}';
      break;
    }
    case Kind::kNil:
      out += "<nil>";
      break;
    case Kind::kBool:
      out += value.boolean ? "true" : "false";
      break;
    case Kind::kInt:
      fmt::format_to(std::back_inserter(out), "{}", value.integer);
      break;
    case Kind::kFloat:
      AppendFloatV(value.number, out);
      break;
    case Kind::kString:
    case Kind::kHtml:
      out += value.text;
      break;
    case Kind::kLabels:
      AppendLabels(value.labels(), out);
      break;
    case Kind::kMap: {
      out += "map[";
      bool first = true;
      for (const auto& [key, element] : value.map()) {
        if (!first) out += ' ';
        first = false;
        out += key;
        out += ':';
        if (Status status = AppendV(element, out, false); !status.ok()) return status;
      }
      out += ']';
      break;
    }
    case Kind::kSample:
      if (value.sample() == nullptr) {
        out += "<nil>";
        break;
      }
      if (!pointer_prefix) {
        return Status::Error(
            "printing a sample inside another value is not supported (Go prints its memory "
            "address)");
      }
      out += "&{";
      AppendLabels(value.sample()->labels, out);
      out += ' ';
      AppendFloatV(value.sample()->value, out);
      out += '}';
      break;
    case Kind::kSamples:
      if (value.samples().empty()) {
        out += "[]";
        break;
      }
      return Status::Error(
          "printing a query result is not supported (Go prints memory addresses); range over it "
          "or use first");
    case Kind::kTime:
      AppendTime(value.integer, out);
      break;
    case Kind::kRoot: {
      const TemplateData& data = value.root();
      out += '{';
      AppendLabels(data.labels != nullptr ? *data.labels : kNoLabels, out);
      out += ' ';
      AppendLabels(data.external_labels != nullptr ? *data.external_labels : kNoLabels, out);
      out += ' ';
      out += data.external_url;
      out += ' ';
      AppendFloatV(data.value, out);
      out += '}';
      break;
    }
  }
  return OkStatus();
}

Status AppendPrint(const Value& value, std::string& out) {
  switch (value.kind) {
    case Kind::kNil:
      out += "<no value>";
      return OkStatus();
    case Kind::kString:
    case Kind::kHtml:
      out += value.text;
      return OkStatus();
    case Kind::kFloat:
      AppendFloatV(value.number, out);
      return OkStatus();
    case Kind::kSample: {
      if (value.sample() == nullptr) {
        out += "<no value>";
        return OkStatus();
      }
      // printableValue dereferences the pointer: {map[...] 1}, without fmt's "&".
      const size_t start = out.size();
      Status status = AppendV(value, out, true);
      if (status.ok()) out.erase(start, 1);
      return status;
    }
    default:
      return AppendV(value, out, true);
  }
}

}  // namespace mingus::collector::rules::detail

// The executor of parsed templates (Go's text/template/exec.go): walks the tree with a dot and
// a frame of variable slots, and the public Template API.
#include <fmt/format.h>

#include <algorithm>

#include "detail/template_program.h"

namespace mingus::collector::rules {

namespace detail {
namespace {

enum class Control : uint8_t { kNone, kBreak, kContinue };

// Bounds on one expansion, as rule files are untrusted: nested ranges multiply.
constexpr uint64_t kMaxSteps = 4'000'000;
constexpr size_t kMaxOutput = 8 << 20;

// A string borrowed from what `parent` keeps alive.
Value BorrowedFrom(std::string_view text, const Value& parent) {
  Value out = Value::Borrowed(text);
  out.owner = parent.owner;
  return out;
}

// The methods without arguments of a time.Time (toTime's result).
StatusOr<Value> TimeMethod(int64_t unix_ms, const std::string& name) {
  const int64_t seconds = unix_ms >= 0 ? unix_ms / 1000 : -((-(unix_ms + 1)) / 1000) - 1;
  if (name == "Unix") return Value::Int(seconds);
  if (name == "UnixMilli") return Value::Int(unix_ms);
  if (name == "UnixMicro") return Value::Int(unix_ms * 1000);
  if (name == "UnixNano") return Value::Int(unix_ms * 1000000);
  if (name == "UTC") return Value::Time(unix_ms);
  if (name == "String") {
    std::string text;
    AppendTime(unix_ms, text);
    return Value::String(std::move(text));
  }
  const CivilTime civil = ToCivil(unix_ms);
  if (name == "Year") return Value::Int(civil.year);
  if (name == "YearDay") return Value::Int(civil.year_day);
  if (name == "Day") return Value::Int(civil.day);
  if (name == "Hour") return Value::Int(civil.hour);
  if (name == "Minute") return Value::Int(civil.minute);
  if (name == "Second") return Value::Int(civil.second);
  if (name == "Nanosecond") return Value::Int(int64_t{civil.millisecond} * 1000000);
  return Status::Error(
      fmt::format("method {} of time.Time is not supported (supported: Unix, "
                  "UnixMilli, UnixMicro, UnixNano, UTC, String, Year, YearDay, "
                  "Day, Hour, Minute, Second, Nanosecond)",
                  name));
}

// Rule data for functions that notification templates do not have.
const TemplateData kNoRuleData;

// KV.SortedPairs: by name, but alertname first.
std::shared_ptr<const tsdb::Labels> SortedPairs(const tsdb::Labels& labels) {
  auto pairs = std::make_shared<tsdb::Labels>(labels);
  const auto alertname = std::find_if(pairs->begin(), pairs->end(),
                                      [](const auto& pair) { return pair.first == "alertname"; });
  if (alertname != pairs->end()) std::rotate(pairs->begin(), alertname, alertname + 1);
  return pairs;
}

// template.Alerts.Firing / Resolved.
Value FilterAlerts(const Value& alerts, std::string_view status) {
  auto out = std::make_shared<std::vector<AlertTemplateData>>();
  for (const AlertTemplateData& alert : alerts.alerts()) {
    if (alert.status == status) out->push_back(alert);
  }
  const std::vector<AlertTemplateData>* pointer = out.get();
  return Value::Alerts(pointer, std::move(out));
}

// Pairs.Names / Pairs.Values (KV's are those of its SortedPairs).
Value PairColumn(const tsdb::Labels& pairs, bool names) {
  std::vector<std::string> out;
  out.reserve(pairs.size());
  for (const auto& pair : pairs) out.push_back(names ? pair.first : pair.second);
  return Value::Strings(std::move(out));
}

// Shared by an expansion and the {{template}} calls it makes.
struct Budget {
  uint64_t steps = 0;
  int depth = 0;
  bool html = false;
  // The program being expanded: its defines, then the set's, share one namespace (Go's), so a
  // default calling "__alertmanager" gets a file's redefinition.
  const TemplateProgram* root = nullptr;
};
constexpr int kMaxTemplateDepth = 100;

class Executor {
 public:
  Executor(const TemplateProgram& program, const TemplateData& data, std::string& out)
      : p_(program),
        data_(data),
        out_(out),
        out_start_(out.size()),
        vars_(static_cast<size_t>(program.slot_count)),
        budget_(own_budget_) {
    vars_[kRootSlot] = Value::Root(&data);
    vars_[kLabelsSlot] = Value::Labels(data.labels);
    vars_[kExternalLabelsSlot] = Value::Labels(data.external_labels);
    vars_[kExternalUrlSlot] = Value::Borrowed(data.external_url);
    vars_[kValueSlot] = Value::Float(data.value);
  }
  // A notification template (or a {{template}} it calls) with `dot` as dot and $.
  Executor(const TemplateProgram& program, const TemplateSet* set, const Value& dot,
           std::string& out, size_t out_start, Budget& budget)
      : p_(program),
        data_(kNoRuleData),
        out_(out),
        out_start_(out_start),
        vars_(static_cast<size_t>(program.slot_count)),
        set_(set),
        budget_(budget) {
    vars_[kRootSlot] = dot;
  }

  Status Walk(const std::vector<Node>& nodes, const Value& dot) {
    for (const Node& node : nodes) {
      if (++budget_.steps > kMaxSteps || out_.size() - out_start_ > kMaxOutput) {
        return Status::Error(fmt::format("{}expansion stopped: more than {} steps or {} bytes",
                                         ErrorPrefix(p_, node.begin), kMaxSteps, kMaxOutput));
      }
      Status status;
      switch (node.kind) {
        case NodeKind::kText:
          out_.append(p_.text, node.begin, node.end - node.begin);
          continue;
        case NodeKind::kBreak:
          control_ = Control::kBreak;
          return OkStatus();
        case NodeKind::kContinue:
          control_ = Control::kContinue;
          return OkStatus();
        case NodeKind::kAction: {
          auto value = EvalPipeline(*node.pipeline, dot);
          if (!value.ok()) return value.status();
          if (node.pipeline->decl.empty()) {
            if (Status printed = Print(*value); !printed.ok()) {
              return Fail(node.pipeline->commands.back(), printed);
            }
          }
          continue;
        }
        case NodeKind::kTemplate:
          status = CallTemplate(node, dot);
          break;
        case NodeKind::kIf:
        case NodeKind::kWith: {
          auto value = EvalPipeline(*node.pipeline, dot);
          if (!value.ok()) return value.status();
          if (Truth(*value)) {
            status = Walk(node.list, node.kind == NodeKind::kWith ? *value : dot);
          } else {
            status = Walk(node.else_list, dot);
          }
          break;
        }
        case NodeKind::kRange:
          status = Range(node, dot);
          break;
      }
      if (!status.ok() || control_ != Control::kNone) return status;
    }
    return OkStatus();
  }

 private:
  Status Print(const Value& value) {
    if (!budget_.html || value.kind == Kind::kHtml) return AppendPrint(value, out_);
    // html/template in HTML text: what it escapes there (its htmlEscaper).
    std::string text;
    if (Status status = AppendPrint(value, text); !status.ok()) return status;
    for (const char c : text) {
      switch (c) {
        case '\0':
          out_ += "\uFFFD";
          break;
        case '"':
          out_ += "&#34;";
          break;
        case '&':
          out_ += "&amp;";
          break;
        case '\'':
          out_ += "&#39;";
          break;
        case '+':
          out_ += "&#43;";
          break;
        case '<':
          out_ += "&lt;";
          break;
        case '>':
          out_ += "&gt;";
          break;
        default:
          out_ += c;
      }
    }
    return OkStatus();
  }

  Status CallTemplate(const Node& node, const Value& dot) {
    Value value;
    if (node.pipeline != nullptr) {
      auto evaluated = EvalPipeline(*node.pipeline, dot);
      if (!evaluated.ok()) return evaluated.status();
      value = std::move(*evaluated);
    }
    const TemplateProgram* program = &p_;
    const Define* define = nullptr;
    if (budget_.root != nullptr) {
      for (const Define& own : budget_.root->defines) {
        if (own.name == node.name) {
          program = budget_.root;
          define = &own;
        }
      }
    }
    if (define == nullptr && set_ != nullptr) {
      if (const TemplateSet::Entry* entry = set_->Find(node.name)) {
        program = entry->program;
        define = entry->define;
      }
    }
    const size_t close = p_.text.find("}}", node.begin);
    const std::string_view action = std::string_view(p_.text).substr(
        node.begin, close == std::string::npos ? std::string::npos : close + 2 - node.begin);
    if (define == nullptr) {
      return Status::Error(fmt::format("{}executing at <{}>: template {} not defined",
                                       ErrorPrefix(p_, node.begin), action,
                                       utf8::QuoteGo(node.name)));
    }
    if (++budget_.depth > kMaxTemplateDepth) {
      return Status::Error(fmt::format("{}executing at <{}>: exceeded maximum template depth ({})",
                                       ErrorPrefix(p_, node.begin), action, kMaxTemplateDepth));
    }
    Executor callee(*program, set_, value, out_, out_start_, budget_);
    Status status = callee.Walk(define->nodes, value);
    --budget_.depth;
    return status;
  }

  Status Fail(const Command& command, const Status& reason) const {
    return Status::Error(
        fmt::format("{}executing at <{}>: {}", ErrorPrefix(p_, command.begin),
                    std::string_view(p_.text).substr(command.begin, command.end - command.begin),
                    reason.message()));
  }

  Status Range(const Node& node, const Value& dot) {
    auto value = EvalPipeline(*node.pipeline, dot);
    if (!value.ok()) return value.status();
    const std::vector<int>& decl = node.pipeline->decl;
    bool stop = false;
    const auto iterate = [&](const Value& index, const Value& element) -> Status {
      if (decl.size() == 1) vars_[static_cast<size_t>(decl[0])] = element;
      if (decl.size() == 2) {
        vars_[static_cast<size_t>(decl[0])] = index;
        vars_[static_cast<size_t>(decl[1])] = element;
      }
      Status status = Walk(node.list, element);
      stop = control_ == Control::kBreak;
      control_ = Control::kNone;
      return status;
    };
    size_t count = 0;
    switch (value->kind) {
      case Kind::kLabels:
        for (const auto& [name, label] : value->labels()) {
          ++count;
          Status status = iterate(BorrowedFrom(name, *value), BorrowedFrom(label, *value));
          if (!status.ok() || stop) return status;
        }
        break;
      case Kind::kMap:
        for (const auto& [key, element] : value->map()) {
          ++count;
          Status status = iterate(BorrowedFrom(key, *value), element);
          if (!status.ok() || stop) return status;
        }
        break;
      case Kind::kSamples: {
        const std::vector<TemplateSample>& samples = value->samples();
        for (size_t i = 0; i < samples.size(); ++i) {
          ++count;
          Status status = iterate(Value::Int(static_cast<int64_t>(i)),
                                  Value::Sample(&samples[i], value->owner));
          if (!status.ok() || stop) return status;
        }
        break;
      }
      case Kind::kKV:
        for (const auto& [name, label] : value->labels()) {
          ++count;
          Status status = iterate(BorrowedFrom(name, *value), BorrowedFrom(label, *value));
          if (!status.ok() || stop) return status;
        }
        break;
      case Kind::kStrings:
      case Kind::kAlerts:
      case Kind::kPairs: {
        const size_t size = value->kind == Kind::kStrings  ? value->strings().size()
                            : value->kind == Kind::kAlerts ? value->alerts().size()
                                                           : value->labels().size();
        for (size_t i = 0; i < size; ++i) {
          ++count;
          const Value index = Value::Int(static_cast<int64_t>(i));
          Value element;
          if (value->kind == Kind::kStrings) {
            element = BorrowedFrom(value->strings()[i], *value);
          } else if (value->kind == Kind::kAlerts) {
            element = Value::Alert(&value->alerts()[i], value->owner);
          } else {
            element = Value::Pair(&value->labels()[i], value->owner);
          }
          Status status = iterate(index, element);
          if (!status.ok() || stop) return status;
        }
        break;
      }
      case Kind::kNil:
        break;
      default: {
        std::string text;
        (void)AppendV(*value, text, true);
        return Fail(node.pipeline->commands.back(),
                    Status::Error(fmt::format("range can't iterate over {}", text)));
      }
    }
    return count == 0 ? Walk(node.else_list, dot) : OkStatus();
  }

  StatusOr<Value> EvalPipeline(const Pipeline& pipe, const Value& dot) {
    Value value;
    for (size_t i = 0; i < pipe.commands.size(); ++i) {
      auto next = EvalCommand(pipe.commands[i], dot, i > 0 ? &value : nullptr);
      if (!next.ok()) return next;
      value = std::move(*next);
    }
    for (const int slot : pipe.decl) vars_[static_cast<size_t>(slot)] = value;
    return value;
  }

  StatusOr<Value> EvalCommand(const Command& command, const Value& dot, const Value* final) {
    const Operand& first = command.args[0];
    if (first.kind == OperandKind::kFunction && first.fields.empty()) {
      return EvalFunction(command, dot, final);
    }
    if (command.args.size() == 1 && final == nullptr) return EvalOperand(first, dot, command);
    // A method call (notification templates only; the parser refused the rest).
    std::vector<Value> args;
    for (size_t i = 1; i < command.args.size(); ++i) {
      auto arg = EvalOperand(command.args[i], dot, command);
      if (!arg.ok()) return arg;
      args.push_back(std::move(*arg));
    }
    if (final != nullptr) args.push_back(*final);
    return EvalOperand(first, dot, command, &args);
  }

  StatusOr<Value> EvalFunction(const Command& command, const Value& dot, const Value* final) {
    const FuncInfo& func = *command.args[0].func;
    if (func.func == Func::kAnd || func.func == Func::kOr) {
      // Short-circuit: the first false (and) or true (or) argument, else the last.
      Value value;
      for (size_t i = 1; i < command.args.size(); ++i) {
        auto arg = EvalOperand(command.args[i], dot, command);
        if (!arg.ok()) return arg;
        value = std::move(*arg);
        if (Truth(value) == (func.func == Func::kOr)) return value;
      }
      if (final != nullptr) value = *final;
      return value;
    }
    std::vector<Value> args;
    args.reserve(command.args.size());
    for (size_t i = 1; i < command.args.size(); ++i) {
      auto arg = EvalOperand(command.args[i], dot, command);
      if (!arg.ok()) return arg;
      args.push_back(std::move(*arg));
    }
    if (final != nullptr) args.push_back(*final);
    auto result = CallFunction(func, args, CallContext{data_, command});
    if (!result.ok()) return Fail(command, result.status());
    return result;
  }

  // `method_args`: arguments for the last field, which must then be a method.
  StatusOr<Value> EvalOperand(const Operand& operand, const Value& dot, const Command& command,
                              const std::vector<Value>* method_args = nullptr) {
    Value value;
    switch (operand.kind) {
      case OperandKind::kDot:
      case OperandKind::kField:
        value = dot;
        break;
      case OperandKind::kNil:
        break;
      case OperandKind::kLiteral:
        value = operand.literal;
        break;
      case OperandKind::kVariable:
        value = vars_[static_cast<size_t>(operand.slot)];
        break;
      case OperandKind::kFunction: {
        std::vector<Value> none;
        auto result = CallFunction(*operand.func, none, CallContext{data_, command});
        if (!result.ok()) return Fail(command, result.status());
        value = std::move(*result);
        break;
      }
      case OperandKind::kPipeline: {
        auto result = EvalPipeline(*operand.pipeline, dot);
        if (!result.ok()) return result;
        value = std::move(*result);
        break;
      }
    }
    for (size_t i = 0; i < operand.fields.size(); ++i) {
      const bool last = i + 1 == operand.fields.size();
      auto next = Field(value, operand.fields[i], last ? method_args : nullptr);
      if (!next.ok()) return Fail(command, next.status());
      value = std::move(*next);
    }
    return value;
  }

  // The fields and methods of Alertmanager's template.Data and what it holds.
  StatusOr<Value> NotificationField(const Value& receiver, const std::string& name,
                                    const std::vector<Value>* args) const {
    const auto no_args = [&]() -> Status {
      if (args == nullptr) return OkStatus();
      return Status::Error(
          fmt::format("wrong number of args for {}: want 0 got {}", name, args->size()));
    };
    switch (receiver.kind) {
      case Kind::kAmData: {
        const NotificationTemplateData& data = receiver.am_data();
        if (name == "Receiver") return Value::Borrowed(data.receiver);
        if (name == "Status") return Value::Borrowed(data.status);
        if (name == "Alerts") return Value::Alerts(&data.alerts);
        if (name == "GroupLabels") return Value::KV(&data.group_labels, nullptr);
        if (name == "CommonLabels") return Value::KV(&data.common_labels, nullptr);
        if (name == "CommonAnnotations") return Value::KV(&data.common_annotations, nullptr);
        if (name == "ExternalURL") return Value::Borrowed(data.external_url);
        break;
      }
      case Kind::kAlert: {
        const AlertTemplateData& alert = receiver.alert();
        if (name == "Status") return BorrowedFrom(alert.status, receiver);
        if (name == "Labels") return Value::KV(&alert.labels, receiver.owner);
        if (name == "Annotations") return Value::KV(&alert.annotations, receiver.owner);
        if (name == "StartsAt") return Value::Time(alert.starts_at_ms);
        if (name == "EndsAt") return Value::Time(alert.ends_at_ms);
        if (name == "GeneratorURL") return BorrowedFrom(alert.generator_url, receiver);
        if (name == "Fingerprint") return BorrowedFrom(alert.fingerprint, receiver);
        break;
      }
      case Kind::kAlerts:
        if (name == "Firing" || name == "Resolved") {
          if (Status status = no_args(); !status.ok()) return status;
          return FilterAlerts(receiver, name == "Firing" ? "firing" : "resolved");
        }
        break;
      case Kind::kKV:
        if (name == "SortedPairs" || name == "Names" || name == "Values") {
          if (Status status = no_args(); !status.ok()) return status;
          auto pairs = SortedPairs(receiver.labels());
          if (name != "SortedPairs") return PairColumn(*pairs, name == "Names");
          const tsdb::Labels* pointer = pairs.get();
          return Value::Pairs(pointer, std::move(pairs));
        }
        if (name == "Remove") {
          if (args == nullptr || args->size() != 1) {
            return Status::Error(fmt::format("wrong number of args for Remove: want 1 got {}",
                                             args == nullptr ? 0 : args->size()));
          }
          if (Status status = CheckArgument(Param::kStrings, (*args)[0]); !status.ok()) {
            return status;
          }
          auto kept = std::make_shared<tsdb::Labels>(receiver.labels());
          if (!(*args)[0].is_nil()) {
            const std::vector<std::string>& removed = (*args)[0].strings();
            std::erase_if(*kept, [&](const auto& label) {
              return std::find(removed.begin(), removed.end(), label.first) != removed.end();
            });
          }
          const tsdb::Labels* pointer = kept.get();
          return Value::KV(pointer, std::move(kept));
        }
        if (args == nullptr) return BorrowedFrom(LabelValue(receiver.labels(), name), receiver);
        break;
      case Kind::kPairs:
        if (name == "Names" || name == "Values") {
          if (Status status = no_args(); !status.ok()) return status;
          return PairColumn(receiver.labels(), name == "Names");
        }
        break;
      case Kind::kPair:
        if (name == "Name") return BorrowedFrom(receiver.pair().first, receiver);
        if (name == "Value") return BorrowedFrom(receiver.pair().second, receiver);
        break;
      default:
        break;
    }
    if (args != nullptr)
      return Status::Error(fmt::format("can't give argument to non-function {}", name));
    return Status::Error(
        fmt::format("can't evaluate field {} in type {}", name, TypeName(receiver)));
  }

  StatusOr<Value> Field(const Value& receiver, const std::string& name,
                        const std::vector<Value>* args = nullptr) const {
    if (receiver.kind >= Kind::kStrings) {  // Alertmanager's types
      return NotificationField(receiver, name, args);
    }
    if (args != nullptr && receiver.kind == Kind::kTime && name == "Format") {
      if (args->size() != 1) {
        return Status::Error(
            fmt::format("wrong number of args for Format: want 1 got {}", args->size()));
      }
      if (Status status = CheckArgument(Param::kString, (*args)[0]); !status.ok()) return status;
      std::string text;
      AppendGoTimeFormat(receiver.integer, (*args)[0].text, text);
      return Value::String(std::move(text));
    }
    if (args != nullptr) {
      return Status::Error(fmt::format("can't give argument to non-function {}", name));
    }
    switch (receiver.kind) {
      case Kind::kRoot:
        if (name == "Labels") return Value::Labels(data_.labels);
        if (name == "ExternalLabels") return Value::Labels(data_.external_labels);
        if (name == "ExternalURL") return Value::Borrowed(data_.external_url);
        if (name == "Value") return Value::Float(data_.value);
        break;
      case Kind::kLabels:
        return BorrowedFrom(LabelValue(receiver.labels(), name), receiver);
      case Kind::kMap:
        return MapValue(receiver.map(), name);
      case Kind::kSample:
        if (receiver.sample() == nullptr) {
          return Status::Error(fmt::format("nil pointer evaluating *template.sample.{}", name));
        }
        if (name == "Labels") return Value::Labels(&receiver.sample()->labels, receiver.owner);
        if (name == "Value") return Value::Float(receiver.sample()->value);
        break;
      case Kind::kNil:
        return Status::Error(fmt::format("nil pointer evaluating interface {{}}.{}", name));
      case Kind::kTime:
        return TimeMethod(receiver.integer, name);
      default:
        break;
    }
    return Status::Error(
        fmt::format("can't evaluate field {} in type {}", name, TypeName(receiver)));
  }

  const TemplateProgram& p_;
  const TemplateData& data_;
  std::string& out_;
  const size_t out_start_;
  std::vector<Value> vars_;
  const TemplateSet* set_ = nullptr;
  Budget own_budget_;
  Budget& budget_;
  Control control_ = Control::kNone;
};

}  // namespace

const TemplateSet::Entry* TemplateSet::Find(std::string_view name) const {
  const auto it =
      std::lower_bound(entries.begin(), entries.end(), name,
                       [](const auto& entry, std::string_view key) { return entry.first < key; });
  return it != entries.end() && it->first == name ? &it->second : nullptr;
}

void TemplateSet::Add(std::shared_ptr<const TemplateProgram> program) {
  for (const Define& define : program->defines) {
    const auto it = std::lower_bound(
        entries.begin(), entries.end(), define.name,
        [](const auto& entry, const std::string& key) { return entry.first < key; });
    const Entry entry{program.get(), &define};
    if (it == entries.end() || it->first != define.name) {
      entries.insert(it, {define.name, entry});
    } else if (!define.empty) {
      it->second = entry;
    }
  }
  programs.push_back(std::move(program));
}

Status ExecuteNotification(const TemplateProgram& program, const TemplateSet* set,
                           const NotificationTemplateData& data, bool html, std::string& out) {
  Budget budget;
  budget.html = html;
  budget.root = &program;
  const Value root = Value::AmData(&data);
  Executor executor(program, set, root, out, out.size(), budget);
  return executor.Walk(program.nodes, root);
}

}  // namespace detail

StatusOr<std::string> Template::Execute(const TemplateData& data) const {
  std::string out;
  if (Status status = ExecuteTo(data, out); !status.ok()) return status;
  return out;
}

Status Template::ExecuteTo(const TemplateData& data, std::string& out) const {
  const detail::TemplateProgram& program = *program_;
  if (program.constant) {
    out += program.text;
    return OkStatus();
  }
  detail::Executor executor(program, data, out);
  return executor.Walk(program.nodes, detail::Value::Root(&data));
}

const std::string& Template::name() const { return program_->name; }
const std::string& Template::text() const { return program_->text; }
bool Template::is_constant() const { return program_->constant; }

}  // namespace mingus::collector::rules

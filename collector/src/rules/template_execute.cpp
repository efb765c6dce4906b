// The executor of parsed templates (Go's text/template/exec.go): walks the tree with a dot and
// a frame of variable slots, and the public Template API.
#include <fmt/format.h>

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

class Executor {
 public:
  Executor(const TemplateProgram& program, const TemplateData& data, std::string& out)
      : p_(program),
        data_(data),
        out_(out),
        out_start_(out.size()),
        vars_(static_cast<size_t>(program.slot_count)) {
    vars_[kRootSlot] = Value::Root(&data);
    vars_[kLabelsSlot] = Value::Labels(data.labels);
    vars_[kExternalLabelsSlot] = Value::Labels(data.external_labels);
    vars_[kExternalUrlSlot] = Value::Borrowed(data.external_url);
    vars_[kValueSlot] = Value::Float(data.value);
  }

  Status Walk(const std::vector<Node>& nodes, const Value& dot) {
    for (const Node& node : nodes) {
      if (++steps_ > kMaxSteps || out_.size() - out_start_ > kMaxOutput) {
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
            if (Status printed = AppendPrint(*value, out_); !printed.ok()) {
              return Fail(node.pipeline->commands.back(), printed);
            }
          }
          continue;
        }
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
    return EvalOperand(first, dot, command);  // the parser refused arguments to non-functions
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

  StatusOr<Value> EvalOperand(const Operand& operand, const Value& dot, const Command& command) {
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
    for (const std::string& field : operand.fields) {
      auto next = Field(value, field);
      if (!next.ok()) return Fail(command, next.status());
      value = std::move(*next);
    }
    return value;
  }

  StatusOr<Value> Field(const Value& receiver, const std::string& name) const {
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
  uint64_t steps_ = 0;
  Control control_ = Control::kNone;
};

}  // namespace
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

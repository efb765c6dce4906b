// The parser of Go's text/template (text/template/parse/parse.go) over template_lex.cpp's
// tokens. Beyond Go, what would fail every execution of an action is refused here: a wrong
// argument count, a literal of the wrong type, a field the alert data does not have.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "detail/template_program.h"

namespace mingus::collector::rules {

namespace detail {
namespace {

struct ParseFailure {
  uint32_t pos;
  std::string reason;
};

// What the parser knows of a value's type: enough to refuse `.labels.job` or `$value.x`.
enum class SType : uint8_t { kUnknown, kRoot, kLabels, kString, kFloat };

// Why a list of nodes ended.
enum class Stop : uint8_t { kNone, kEnd, kElse, kElseIf };

constexpr int kMaxDepth = 100;

[[noreturn]] void Fail(uint32_t pos, std::string reason) {
  throw ParseFailure{pos, std::move(reason)};
}

class Parser {
 public:
  Parser(TemplateProgram& program, std::vector<Token> tokens)
      : p_(program), tokens_(std::move(tokens)) {
    if (p_.dialect == Dialect::kNotification) {
      // Alertmanager predeclares nothing, and its data is not the rule data.
      vars_.resize(1);
      std::fill(slot_types_.begin(), slot_types_.end(), SType::kUnknown);
      dot_type_ = SType::kUnknown;
    }
  }

  void Run() {
    while (Peek().type != Tok::kEof) {
      const Stop stop = TextOrAction(p_.nodes);
      if (stop == Stop::kEnd) Fail(stop_pos_, "unexpected {{end}}");
      if (stop != Stop::kNone) Fail(stop_pos_, "unexpected {{else}}");
    }
    p_.slot_count = static_cast<int>(slot_types_.size());
  }

 private:
  // ---- Tokens ----
  const Token& Peek() const { return tokens_[index_]; }
  const Token& Next() {
    const Token& token = tokens_[index_];
    if (token.type == Tok::kError) Fail(token.pos, std::string(token.val));
    if (index_ + 1 < tokens_.size()) ++index_;
    return token;
  }
  const Token& PeekNonSpace() {
    while (tokens_[index_].type == Tok::kSpace) ++index_;
    return tokens_[index_];
  }
  const Token& NextNonSpace() {
    PeekNonSpace();
    return Next();
  }
  void Backup() { --index_; }

  static std::string Describe(const Token& token) {
    if (token.type == Tok::kEof) return "EOF";
    if (token.type >= Tok::kIf || token.type == Tok::kDot) return fmt::format("<{}>", token.val);
    if (token.val.size() > 10) return utf8::QuoteGo(token.val.substr(0, 10)) + "...";
    return utf8::QuoteGo(token.val);
  }
  [[noreturn]] void Unexpected(const Token& token, std::string_view context) {
    if (token.type == Tok::kError) Fail(token.pos, std::string(token.val));
    Fail(token.pos, fmt::format("unexpected {} in {}", Describe(token), context));
  }
  std::string_view Source(uint32_t begin, uint32_t end) const {
    return std::string_view(p_.text).substr(begin, end - begin);
  }

  // ---- Variables ----
  int Lookup(std::string_view name, uint32_t pos) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    Fail(pos, fmt::format("undefined variable \"{}\"", name));
  }
  int Declare(std::string_view name) {
    const int slot = static_cast<int>(slot_types_.size());
    slot_types_.push_back(SType::kUnknown);
    vars_.emplace_back(std::string(name), slot);
    return slot;
  }

  // ---- Lists and actions ----
  Stop TextOrAction(std::vector<Node>& list) {
    const Token& token = NextNonSpace();
    if (token.type == Tok::kText) {
      Node node;
      node.begin = token.pos;
      node.end = token.pos + static_cast<uint32_t>(token.val.size());
      list.push_back(std::move(node));
      return Stop::kNone;
    }
    if (token.type == Tok::kLeftDelim) return Action(list, token.pos);
    Unexpected(token, "input");
  }

  Stop ParseList(std::vector<Node>& list) {
    while (PeekNonSpace().type != Tok::kEof) {
      const Stop stop = TextOrAction(list);
      if (stop != Stop::kNone) return stop;
    }
    Fail(Peek().pos, "unexpected EOF");
  }

  void ExpectRightDelim(std::string_view context) {
    const Token& token = NextNonSpace();
    if (token.type != Tok::kRightDelim) Unexpected(token, context);
  }

  Stop Action(std::vector<Node>& list, uint32_t start) {
    const Token& token = NextNonSpace();
    switch (token.type) {
      case Tok::kBlock:
      case Tok::kDefine:
      case Tok::kTemplate:
        if (p_.dialect == Dialect::kRule) {
          Fail(token.pos, fmt::format("{{{{{}}}}} is not supported: alert templates have no "
                                      "associated templates",
                                      token.val));
        }
        if (token.type == Tok::kDefine) {
          if (depth_ != 0) Unexpected(token, "command");
          ParseDefine(start);
          return Stop::kNone;
        }
        list.push_back(TemplateCall(token.type == Tok::kBlock, start));
        return Stop::kNone;
      case Tok::kBreak:
      case Tok::kContinue: {
        const bool is_break = token.type == Tok::kBreak;
        if (range_depth_ == 0)
          Fail(token.pos, fmt::format("{{{{{}}}}} outside {{{{range}}}}", token.val));
        ExpectRightDelim(is_break ? "{{break}}" : "{{continue}}");
        Node node;
        node.kind = is_break ? NodeKind::kBreak : NodeKind::kContinue;
        node.begin = start;
        list.push_back(std::move(node));
        return Stop::kNone;
      }
      case Tok::kElse:
        stop_pos_ = token.pos;
        if (PeekNonSpace().type == Tok::kIf) {
          else_if_pos_ = NextNonSpace().pos;
          else_if_start_ = start;
          return Stop::kElseIf;
        }
        ExpectRightDelim("else");
        return Stop::kElse;
      case Tok::kEnd:
        stop_pos_ = token.pos;
        ExpectRightDelim("end");
        return Stop::kEnd;
      case Tok::kIf:
        list.push_back(Control(NodeKind::kIf, start));
        return Stop::kNone;
      case Tok::kRange:
        list.push_back(Control(NodeKind::kRange, start));
        return Stop::kNone;
      case Tok::kWith:
        list.push_back(Control(NodeKind::kWith, start));
        return Stop::kNone;
      default:
        break;
    }
    Backup();
    Node node;
    node.kind = NodeKind::kAction;
    node.begin = start;
    node.pipeline = ParsePipeline("command", Tok::kRightDelim);
    list.push_back(std::move(node));
    return Stop::kNone;
  }

  std::string TemplateName(std::string_view context) {
    const Token& token = NextNonSpace();
    if (token.type != Tok::kString && token.type != Tok::kRawString) {
      Unexpected(token, context);
    }
    auto name = UnquoteGo(token.val);
    if (!name.ok()) Fail(token.pos, name.message());
    return std::move(*name);
  }

  // The body of a {{define}} or {{block}} up to its {{end}}, in a scope of its own: only $.
  void DefineBody(std::string name, uint32_t start) {
    if (++depth_ > kMaxDepth) Fail(start, "actions nested too deeply");
    Define define;
    define.name = std::move(name);
    define.begin = start;
    auto saved_vars = std::move(vars_);
    vars_ = {{"$", kRootSlot}};
    const SType saved_dot = dot_type_;
    const int saved_range = range_depth_;
    dot_type_ = SType::kUnknown;
    range_depth_ = 0;
    if (ParseList(define.nodes) != Stop::kEnd) Fail(stop_pos_, "unexpected {{else}}");
    vars_ = std::move(saved_vars);
    dot_type_ = saved_dot;
    range_depth_ = saved_range;
    --depth_;
    define.empty = std::all_of(define.nodes.begin(), define.nodes.end(), [&](const Node& node) {
      return node.kind == NodeKind::kText &&
             Source(node.begin, node.end).find_first_not_of(" \t\r\n") == std::string_view::npos;
    });
    for (Define& existing : p_.defines) {
      if (existing.name != define.name) continue;
      if (!existing.empty && !define.empty) {
        Fail(start, fmt::format("template: multiple definition of template {}",
                                utf8::QuoteGo(define.name)));
      }
      if (existing.empty) existing = std::move(define);
      return;
    }
    p_.defines.push_back(std::move(define));
  }

  void ParseDefine(uint32_t start) {
    std::string name = TemplateName("define clause");
    ExpectRightDelim("define clause");
    DefineBody(std::move(name), start);
  }

  // {{template "name" [pipeline]}}, or {{block "name" pipeline}}...{{end}}: a define and a call.
  Node TemplateCall(bool block, uint32_t start) {
    const std::string_view context = block ? "block clause" : "template clause";
    Node node;
    node.kind = NodeKind::kTemplate;
    node.begin = start;
    node.name = TemplateName(context);
    if (PeekNonSpace().type != Tok::kRightDelim) {
      node.pipeline = ParsePipeline(context, Tok::kRightDelim);
    } else {
      NextNonSpace();
      if (block) Fail(start, "missing value for block clause");
    }
    if (block) {
      // The body sees no variables of the caller, as Go parses it as a separate tree.
      DefineBody(node.name, start);
    }
    return node;
  }

  Node Control(NodeKind kind, uint32_t start) {
    if (++depth_ > kMaxDepth) Fail(start, "actions nested too deeply");
    const char* context = kind == NodeKind::kIf      ? "if"
                          : kind == NodeKind::kRange ? "range"
                                                     : "with";
    const size_t mark = vars_.size();
    Node node;
    node.kind = kind;
    node.begin = start;
    node.pipeline = ParsePipeline(context, Tok::kRightDelim);
    const size_t body_mark = vars_.size();
    const SType saved_dot = dot_type_;
    if (kind != NodeKind::kIf) dot_type_ = SType::kUnknown;
    if (kind == NodeKind::kRange) ++range_depth_;
    const Stop stop = ParseList(node.list);
    if (kind == NodeKind::kRange) --range_depth_;
    dot_type_ = saved_dot;
    vars_.resize(body_mark);  // the body's variables end at {{else}}
    if (stop == Stop::kElseIf) {
      if (kind != NodeKind::kIf) Fail(else_if_pos_, "unexpected <if> in input");
      // {{else if x}} is {{else}}{{if x}}...{{end}}{{end}} with one {{end}}.
      node.else_list.push_back(Control(NodeKind::kIf, else_if_start_));
    } else if (stop == Stop::kElse) {
      if (ParseList(node.else_list) != Stop::kEnd) Fail(stop_pos_, "expected end; found {{else}}");
    }
    vars_.resize(mark);
    --depth_;
    return node;
  }

  // ---- Pipelines and commands ----
  std::unique_ptr<Pipeline> ParsePipeline(std::string_view context, Tok end) {
    if (++depth_ > kMaxDepth) Fail(Peek().pos, "pipelines nested too deeply");
    auto pipe = std::make_unique<Pipeline>();
    pipe->begin = PeekNonSpace().pos;
    std::vector<Token> decl;
    while (PeekNonSpace().type == Tok::kVariable) {
      const size_t save = index_;
      const Token& variable = NextNonSpace();
      const Token& next = PeekNonSpace();
      if (next.type == Tok::kAssign || next.type == Tok::kDeclare) {
        NextNonSpace();
        pipe->is_assign = next.type == Tok::kAssign;
        decl.push_back(variable);
        break;
      }
      if (next.type == Tok::kChar && next.val == ",") {
        NextNonSpace();
        decl.push_back(variable);
        if (context == "range" && decl.size() < 2) {
          const Tok after = PeekNonSpace().type;
          if (after == Tok::kVariable || after == Tok::kRightDelim || after == Tok::kRightParen) {
            continue;
          }
          Fail(PeekNonSpace().pos, "range can only initialize variables");
        }
        Fail(next.pos, fmt::format("too many declarations in {}", context));
      }
      index_ = save;
      break;
    }
    if (context == "range" && pipe->is_assign) {
      Fail(decl.front().pos, "assigning range variables with = is not supported; use :=");
    }
    for (;;) {
      const Token& token = NextNonSpace();
      if (token.type == end) {
        pipe->end = token.pos + static_cast<uint32_t>(token.val.size());
        break;
      }
      switch (token.type) {
        case Tok::kBool:
        case Tok::kCharConstant:
        case Tok::kDot:
        case Tok::kField:
        case Tok::kIdentifier:
        case Tok::kNumber:
        case Tok::kNil:
        case Tok::kRawString:
        case Tok::kString:
        case Tok::kVariable:
        case Tok::kLeftParen:
          Backup();
          pipe->commands.push_back(ParseCommand());
          continue;
        default:
          Unexpected(token, context);
      }
    }
    CheckPipeline(*pipe, context);
    // Declared after the commands: in {{$x := $x}} the right side is the outer $x, as in Go's
    // execution.
    for (const Token& variable : decl) {
      if (pipe->is_assign) {
        const int slot = Lookup(variable.val, variable.pos);
        slot_types_[static_cast<size_t>(slot)] = SType::kUnknown;
        pipe->decl.push_back(slot);
      } else {
        pipe->decl.push_back(Declare(variable.val));
      }
    }
    --depth_;
    return pipe;
  }

  Command ParseCommand() {
    Command command;
    command.begin = PeekNonSpace().pos;
    for (;;) {
      PeekNonSpace();
      if (auto operand = ParseOperand()) {
        command.end = operand->end;
        command.args.push_back(std::move(*operand));
      }
      const Token& token = Next();
      if (token.type == Tok::kSpace) continue;
      if (token.type == Tok::kRightDelim || token.type == Tok::kRightParen) {
        Backup();
      } else if (token.type != Tok::kPipe) {
        Unexpected(token, "operand");
      }
      break;
    }
    if (command.args.empty()) Fail(command.begin, "empty command");
    return command;
  }

  std::optional<Operand> ParseOperand() {
    std::optional<Operand> operand = ParseTerm();
    if (!operand) return operand;
    if (Peek().type == Tok::kField) {
      const OperandKind kind = operand->kind;
      if (kind == OperandKind::kLiteral || kind == OperandKind::kNil || kind == OperandKind::kDot) {
        Fail(Peek().pos,
             fmt::format("unexpected . after term \"{}\"", Source(operand->begin, operand->end)));
      }
      while (Peek().type == Tok::kField) {
        const Token& field = Next();
        operand->fields.emplace_back(field.val.substr(1));
        operand->end = field.pos + static_cast<uint32_t>(field.val.size());
      }
    }
    TypeOf(*operand);
    return operand;
  }

  std::optional<Operand> ParseTerm() {
    const Token& token = NextNonSpace();
    Operand operand;
    operand.begin = token.pos;
    operand.end = token.pos + static_cast<uint32_t>(token.val.size());
    switch (token.type) {
      case Tok::kIdentifier:
        operand.kind = OperandKind::kFunction;
        operand.func = FindFunc(token.val, p_.dialect);
        if (operand.func == nullptr) {
          const bool known = token.val == "call";
          Fail(token.pos, fmt::format("function \"{}\" {}", token.val,
                                      known ? "is not supported" : "not defined"));
        }
        return operand;
      case Tok::kDot:
        operand.kind = OperandKind::kDot;
        return operand;
      case Tok::kNil:
        operand.kind = OperandKind::kNil;
        return operand;
      case Tok::kVariable:
        operand.kind = OperandKind::kVariable;
        operand.slot = Lookup(token.val, token.pos);
        return operand;
      case Tok::kField:
        operand.kind = OperandKind::kField;
        operand.fields.emplace_back(token.val.substr(1));
        return operand;
      case Tok::kBool:
        operand.kind = OperandKind::kLiteral;
        operand.literal = Value::Bool(token.val == "true");
        return operand;
      case Tok::kNumber:
      case Tok::kCharConstant: {
        auto number = NumberLiteral(token.val, token.type == Tok::kCharConstant);
        if (!number.ok()) Fail(token.pos, number.message());
        operand.kind = OperandKind::kLiteral;
        operand.literal = *number;
        return operand;
      }
      case Tok::kString:
      case Tok::kRawString: {
        auto text = UnquoteGo(token.val);
        if (!text.ok()) Fail(token.pos, text.message());
        p_.literals.push_back(std::move(*text));
        operand.kind = OperandKind::kLiteral;
        operand.literal = Value::Borrowed(p_.literals.back());
        return operand;
      }
      case Tok::kLeftParen:
        operand.kind = OperandKind::kPipeline;
        operand.pipeline = ParsePipeline("parenthesized pipeline", Tok::kRightParen);
        operand.end = operand.pipeline->end;
        return operand;
      default:
        Backup();
        return std::nullopt;
    }
  }

  // ---- Checks ----
  void CheckPipeline(Pipeline& pipe, std::string_view context) {
    if (pipe.commands.empty()) Fail(pipe.begin, fmt::format("missing value for {}", context));
    for (size_t i = 0; i < pipe.commands.size(); ++i) {
      Command& command = pipe.commands[i];
      const Operand& first = command.args[0];
      const bool has_final = i > 0;
      if (has_final && (first.kind == OperandKind::kLiteral || first.kind == OperandKind::kDot ||
                        first.kind == OperandKind::kNil)) {
        Fail(command.begin, fmt::format("non executable command in pipeline stage {}", i + 1));
      }
      const Command* previous = has_final ? &pipe.commands[i - 1] : nullptr;
      if (first.kind == OperandKind::kNil) Fail(first.begin, "nil is not a command");
      if (first.kind == OperandKind::kFunction && first.fields.empty()) {
        CheckFunction(command, previous);
      } else {
        if (first.kind == OperandKind::kFunction) CheckArity(*first.func, 0, first.begin);
        // Notification data has methods with arguments (.CommonLabels.Remove .Names); the
        // executor checks that the last field is one.
        const bool method_call = p_.dialect == Dialect::kNotification && !first.fields.empty();
        if ((command.args.size() > 1 || has_final) && !method_call) {
          Fail(command.begin,
               fmt::format("can't give argument to non-function {}{}",
                           Source(first.begin, first.end),
                           first.fields.empty() || TypeOf(first) != SType::kUnknown
                               ? ""
                               : " (methods with arguments, such as time's Format, are not "
                                 "supported)"));
        }
      }
      for (size_t j = 1; j < command.args.size(); ++j) {
        const Operand& arg = command.args[j];
        if (arg.kind == OperandKind::kFunction) CheckArity(*arg.func, 0, arg.begin);
      }
    }
  }

  static void CheckArity(const FuncInfo& func, int count, uint32_t pos) {
    if (count < func.min_args || (func.max_args >= 0 && count > func.max_args)) {
      Fail(pos, func.max_args < 0 ? fmt::format("wrong number of args for {}: want at least {} "
                                                "got {}",
                                                func.name, func.min_args, count)
                                  : fmt::format("wrong number of args for {}: want {} got {}",
                                                func.name, func.min_args, count));
    }
  }

  void CheckFunction(Command& command, const Command* previous) {
    const FuncInfo& func = *command.args[0].func;
    const int count = static_cast<int>(command.args.size()) - 1 + (previous != nullptr ? 1 : 0);
    CheckArity(func, count, command.begin);
    for (int i = 0; i < count && i < static_cast<int>(func.params.size()); ++i) {
      const Param param = func.params[static_cast<size_t>(i)];
      const Operand* arg = nullptr;
      if (i + 1 < static_cast<int>(command.args.size())) {
        arg = &command.args[static_cast<size_t>(i) + 1];
      } else if (previous != nullptr && previous->args.size() == 1) {
        arg = &previous->args[0];  // a literal piped in: {{ 3 | toUpper }}
      }
      if (arg == nullptr || param == Param::kAny) continue;
      const std::string_view source = Source(arg->begin, arg->end);
      if (param == Param::kString && arg->kind == OperandKind::kNil) {
        Fail(arg->begin, "cannot assign nil to string");
      }
      if (arg->kind != OperandKind::kLiteral) continue;
      if (param == Param::kString) {
        if (arg->literal.kind == Kind::kString) continue;
        Fail(arg->begin, fmt::format("expected string; found {}", source));
      }
      Fail(arg->begin,
           fmt::format("can't handle {} for arg of type {}", source,
                       param == Param::kSample ? "*template.sample" : "template.queryResult"));
    }
    if (Status status = CheckCall(func, command, previous != nullptr); !status.ok()) {
      Fail(command.begin, status.message());
    }
  }

  SType FieldType(SType receiver, const std::string& field, uint32_t pos) const {
    switch (receiver) {
      case SType::kRoot:
        if (field == "Labels" || field == "ExternalLabels") return SType::kLabels;
        if (field == "ExternalURL") return SType::kString;
        if (field == "Value") return SType::kFloat;
        Fail(pos, fmt::format("can't evaluate field {} in type {}", field,
                              TypeName(Value::Root(nullptr))));
      case SType::kLabels:
        return SType::kString;
      case SType::kString:
      case SType::kFloat:
        Fail(pos, fmt::format("can't evaluate field {} in type {}", field,
                              receiver == SType::kString ? "string" : "float64"));
      case SType::kUnknown:
        break;
    }
    return SType::kUnknown;
  }

  SType TypeOf(const Operand& operand) const {
    SType type = SType::kUnknown;
    if (operand.kind == OperandKind::kDot || operand.kind == OperandKind::kField) type = dot_type_;
    if (operand.kind == OperandKind::kVariable)
      type = slot_types_[static_cast<size_t>(operand.slot)];
    for (const std::string& field : operand.fields) type = FieldType(type, field, operand.begin);
    return type;
  }

  TemplateProgram& p_;
  std::vector<Token> tokens_;
  size_t index_ = 0;
  std::vector<std::pair<std::string, int>> vars_ = {{"$", kRootSlot},
                                                    {"$labels", kLabelsSlot},
                                                    {"$externalLabels", kExternalLabelsSlot},
                                                    {"$externalURL", kExternalUrlSlot},
                                                    {"$value", kValueSlot}};
  std::vector<SType> slot_types_ = {SType::kRoot, SType::kLabels, SType::kLabels, SType::kString,
                                    SType::kFloat};
  SType dot_type_ = SType::kRoot;
  int range_depth_ = 0;
  int depth_ = 0;
  uint32_t stop_pos_ = 0, else_if_pos_ = 0, else_if_start_ = 0;
};

}  // namespace

Status ParseProgram(TemplateProgram& program) {
  std::string lex_error;
  std::vector<Token> tokens = Lex(program.text, lex_error);
  try {
    Parser(program, std::move(tokens)).Run();
  } catch (const ParseFailure& failure) {
    return Status::Error(ErrorPrefix(program, failure.pos) + failure.reason);
  }
  return OkStatus();
}

}  // namespace detail

StatusOr<Template> Template::Parse(std::string_view name, std::string_view text) {
  auto program = std::make_shared<detail::TemplateProgram>();
  program->name = std::string(name);
  program->text = std::string(text);
  if (text.size() > (1u << 30)) return Status::Error("template: " + program->name + ": too large");
  program->constant = text.find("{{") == std::string_view::npos;
  if (program->constant) {
    if (!text.empty()) {
      detail::Node node;
      node.end = static_cast<uint32_t>(text.size());
      program->nodes.push_back(std::move(node));
    }
  } else if (Status status = detail::ParseProgram(*program); !status.ok()) {
    return status;
  }
  return Template(std::move(program));
}

}  // namespace mingus::collector::rules

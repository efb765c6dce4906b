#pragma once

#include <re2/re2.h>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/collector/rules/template.h"
#include "mingus/common/status.h"
#include "mingus/common/utf8.h"
#include "template_value.h"

// A parsed template: the lexer's tokens, the tree the parser builds from them (Go's
// text/template/parse nodes, with variables resolved to slots and functions to table entries),
// and what the executor and the functions share.
namespace mingus::collector::rules::detail {

// ---- Lexer (template_lex.cpp) ----

enum class Tok : uint8_t {
  kText,
  kLeftDelim,
  kRightDelim,
  kSpace,
  kEof,
  kError,
  kBool,
  kChar,
  kCharConstant,
  kNumber,
  kString,
  kRawString,
  kDot,
  kField,
  kVariable,
  kIdentifier,
  kPipe,
  kDeclare,
  kAssign,
  kLeftParen,
  kRightParen,
  // Keywords.
  kIf,
  kElse,
  kEnd,
  kRange,
  kWith,
  kDefine,
  kTemplate,
  kBlock,
  kNil,
  kBreak,
  kContinue,
};

struct Token {
  Tok type = Tok::kEof;
  uint32_t pos = 0;      // byte offset in the text
  std::string_view val;  // kText: the text after trimming; kError: the message
};

// The whole text as tokens, comments dropped and trim markers applied; ends with kEof, or with
// kError (whose message lives in `error`).
std::vector<Token> Lex(std::string_view text, std::string& error);

// ---- Functions (template_functions.cpp) ----

enum class Func : uint8_t {
  // Go's builtins: first, through kSlice (CallFunction relies on the order).
  kAnd,
  kOr,
  kNot,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kLen,
  kIndex,
  kPrint,
  kPrintf,
  kPrintln,
  kHtml,
  kJs,
  kUrlquery,
  kSlice,
  // Prometheus'.
  kQuery,
  kFirst,
  kLabel,
  kValue,
  kStrvalue,
  kArgs,
  kReReplaceAll,
  kSafeHtml,
  kMatch,
  kTitle,
  kToUpper,
  kToLower,
  kGraphLink,
  kTableLink,
  kSortByLabel,
  kStripPort,
  kStripDomain,
  kHumanize,
  kHumanize1024,
  kHumanizeDuration,
  kHumanizePercentage,
  kHumanizeTimestamp,
  kToTime,
  kPathPrefix,
  kExternalUrl,
  kParseDuration,
  // Alertmanager's (the others it shares with Prometheus are above).
  kJoin,
  kStringSlice,
};

// Whose templates: Prometheus' alert rules, or Alertmanager's notifications. They differ in
// functions, data, predeclared variables, and whether {{define}}/{{template}} exist.
enum class Dialect : uint8_t { kRule, kNotification };

// A parameter's Go type, for checking literals at parse and values at execution.
enum class Param : uint8_t { kAny, kString, kSample, kSamples, kStrings };

struct FuncInfo {
  std::string_view name;
  Func func;
  int min_args;
  int max_args;                 // -1: variadic
  std::array<Param, 3> params;  // of the first arguments; the rest are kAny
  uint8_t dialects;             // bit 1 << Dialect
};

// The function named `name` in `dialect`'s function map, or nullptr.
const FuncInfo* FindFunc(std::string_view name, Dialect dialect = Dialect::kRule);

// ---- Tree ----

struct Pipeline;

enum class OperandKind : uint8_t { kDot, kNil, kLiteral, kField, kVariable, kFunction, kPipeline };

// One word of a command: a term with the fields that follow it (.a.b, $x.a, (pipe).a).
struct Operand {
  OperandKind kind = OperandKind::kDot;
  uint32_t begin = 0, end = 0;         // its source text
  Value literal;                       // kLiteral: bool, int, float64 or string
  int slot = 0;                        // kVariable
  const FuncInfo* func = nullptr;      // kFunction
  std::unique_ptr<Pipeline> pipeline;  // kPipeline
  std::vector<std::string> fields;     // kField: from dot; others: after the term
};

struct Command {
  uint32_t begin = 0, end = 0;
  std::vector<Operand> args;              // args[0]: the function, or the only operand
  std::shared_ptr<const re2::RE2> regex;  // match/reReplaceAll with a literal pattern
};

struct Pipeline {
  uint32_t begin = 0, end = 0;
  std::vector<int> decl;  // variable slots declared ($x :=) or assigned ($x =)
  bool is_assign = false;
  std::vector<Command> commands;
};

enum class NodeKind : uint8_t {
  kText,
  kAction,
  kIf,
  kRange,
  kWith,
  kBreak,
  kContinue,
  kTemplate,  // {{template "name" pipeline}}; the pipeline may be null (dot is nil)
};

struct Node {
  NodeKind kind = NodeKind::kText;
  uint32_t begin = 0, end = 0;  // kText: the text to write; others: the action
  std::unique_ptr<Pipeline> pipeline;
  std::vector<Node> list, else_list;
  std::string name;  // kTemplate
};

// A {{define}} (or {{block}}) of a program: its body is parsed over the program's text.
struct Define {
  std::string name;
  std::vector<Node> nodes;
  uint32_t begin = 0;
  bool empty = true;  // only spaces: does not replace an earlier definition (Go's IsEmptyTree)
};

// Variable slots: $ and the variables Prometheus predeclares come first.
constexpr int kRootSlot = 0;
constexpr int kLabelsSlot = 1;
constexpr int kExternalLabelsSlot = 2;
constexpr int kExternalUrlSlot = 3;
constexpr int kValueSlot = 4;
constexpr int kFirstFreeSlot = 5;

struct TemplateProgram {
  std::string name, text;
  std::vector<Node> nodes;
  int slot_count = kFirstFreeSlot;
  std::deque<std::string> literals;  // unquoted string literals; Values borrow them
  bool constant = false;             // no actions: the text is the output
  Dialect dialect = Dialect::kRule;
  std::vector<Define> defines;  // kNotification only
};

// Associated templates by name, across programs (Go's template namespace): a program's own
// defines come first, then these.
struct TemplateSet {
  struct Entry {
    const TemplateProgram* program = nullptr;
    const Define* define = nullptr;
  };
  std::vector<std::shared_ptr<const TemplateProgram>> programs;  // keep the entries alive
  std::vector<std::pair<std::string, Entry>> entries;            // sorted by name, unique

  const Entry* Find(std::string_view name) const;
  // Adds `program`'s defines, replacing earlier ones unless the new body is empty.
  void Add(std::shared_ptr<const TemplateProgram> program);
};

// Appends a code point in UTF-8.
void AppendUtf8(uint32_t rune, std::string& out);
// Go's strconv.Unquote of a "..." or `...` literal ("invalid syntax: ..." when malformed).
StatusOr<std::string> UnquoteGo(std::string_view literal);
// A number or character constant ('a') as text/template evaluates it without context (an int,
// or a float64 when written with . e or p), or why it is refused.
StatusOr<Value> NumberLiteral(std::string_view text, bool char_constant);

// strconv.ParseFloat(text, 64), with Go's syntax and messages.
StatusOr<double> ParseFloatGo(std::string_view text);

// "template: NAME:LINE:COL: " for a byte offset of the text.
std::string ErrorPrefix(const TemplateProgram& program, uint32_t offset);

// ---- Parsing (template_parse.cpp) ----

// Fills program.nodes (and .defines) from program.text; the message is
// "template: NAME:LINE:COL: REASON".
Status ParseProgram(TemplateProgram& program);

// Expands `program` (a notification template) with `data` as dot and $, looking {{template}}
// names up in the program, then `set` (may be null). `html`: values printed are escaped for HTML
// text unless they are template.HTML (safeHtml), in the templates it calls too.
Status ExecuteNotification(const TemplateProgram& program, const TemplateSet* set,
                           const NotificationTemplateData& data, bool html, std::string& out);

// ---- Execution (template_execute.cpp, template_functions.cpp) ----

// A function call's arguments, evaluated; and what the call may need besides.
struct CallContext {
  const TemplateData& data;
  const Command& command;
};
// Calls anything but and/or (which the executor evaluates lazily). Errors are the reason only
// ("error calling first: ..."); the executor adds the position.
StatusOr<Value> CallFunction(const FuncInfo& func, std::vector<Value>& args,
                             const CallContext& context);
// Prometheus' functions (template_prometheus.cpp), arguments checked.
StatusOr<Value> CallPrometheus(const FuncInfo& func, std::vector<Value>& args,
                               const CallContext& context);
// A Go regular expression as RE2 ("error parsing regexp: ..." when it does not compile).
StatusOr<std::shared_ptr<const re2::RE2>> CompileRegex(std::string_view pattern);
// url.QueryEscape.
void QueryEscape(std::string_view text, std::string& out);
// Checks a call whose arguments are literals where that decides failure (a printf format, a
// regular expression); may compile the regular expression into the command.
Status CheckCall(const FuncInfo& func, Command& command, bool has_final);
// A value as a function's argument of type `param` ("wrong type for value; ...").
Status CheckArgument(Param param, const Value& value);

// ---- Formatting (template_format.cpp) ----

// Go's fmt.Sprintf for the verbs alert templates use.
StatusOr<std::string> Sprintf(std::string_view format, const std::vector<Value>& args);
// Refuses a literal format with a verb or flag Sprintf does not implement.
Status CheckFormat(std::string_view format);
// fmt.Sprint (print), fmt.Sprintln (println), or fmt.Sprint of values made printable as
// {{.}} prints them (text/template's evalArgs, for html, js and urlquery).
enum class SprintMode : uint8_t { kPlain, kLine, kPrintable };
Status Sprint(const std::vector<Value>& args, SprintMode mode, std::string& out);
// fmt.Sprintf("%.4g", v).
std::string FormatG4(double value);

}  // namespace mingus::collector::rules::detail

#include "mingus/collector/promql/parser.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "mingus/common/duration.h"
#include "mingus/common/text.h"
#include "mingus/wire/exposition.h"

namespace mingus::collector::promql {

namespace {

using tsdb::Matcher;

enum class Tok {
  kEnd, kNumber, kDuration, kString, kIdent, kLBrace, kRBrace, kLParen, kRParen, kLBracket,
  kRBracket, kComma, kColon, kOp, kAssign, kRegexMatch, kRegexNoMatch, kNotEqual,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifiers, operators; unescaped strings
  double number = 0;
  int64_t duration_ms = 0;
  size_t position = 0;
};

// The argument types of each function.
struct FunctionSpec {
  std::vector<ValueType> args;
  size_t optional = 0;    // how many of the trailing args may be left out
  ValueType returns;
  bool variadic = false;  // the last argument type may repeat
};

const std::map<std::string, FunctionSpec, std::less<>>& Functions() {
  using V = ValueType;
  static const std::map<std::string, FunctionSpec, std::less<>> functions = {
      {"abs", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"absent", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"absent_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"avg_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"ceil", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"day_of_month", {{V::kInstantVector}, 1, V::kInstantVector}},
      {"day_of_week", {{V::kInstantVector}, 1, V::kInstantVector}},
      {"days_in_month", {{V::kInstantVector}, 1, V::kInstantVector}},
      {"hour", {{V::kInstantVector}, 1, V::kInstantVector}},
      {"minute", {{V::kInstantVector}, 1, V::kInstantVector}},
      {"month", {{V::kInstantVector}, 1, V::kInstantVector}},
      {"year", {{V::kInstantVector}, 1, V::kInstantVector}},
      {"changes", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"clamp", {{V::kInstantVector, V::kScalar, V::kScalar}, 0, V::kInstantVector}},
      {"clamp_max", {{V::kInstantVector, V::kScalar}, 0, V::kInstantVector}},
      {"clamp_min", {{V::kInstantVector, V::kScalar}, 0, V::kInstantVector}},
      {"count_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"delta", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"deriv", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"exp", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"floor", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"histogram_quantile", {{V::kScalar, V::kInstantVector}, 0, V::kInstantVector}},
      {"idelta", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"increase", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"irate", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"label_join", {{V::kInstantVector, V::kString, V::kString, V::kString}, 1, V::kInstantVector, true}},
      {"label_replace", {{V::kInstantVector, V::kString, V::kString, V::kString, V::kString}, 0, V::kInstantVector}},
      {"last_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"ln", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"log10", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"log2", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"max_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"min_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"predict_linear", {{V::kRangeVector, V::kScalar}, 0, V::kInstantVector}},
      {"present_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"quantile_over_time", {{V::kScalar, V::kRangeVector}, 0, V::kInstantVector}},
      {"rate", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"resets", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"round", {{V::kInstantVector, V::kScalar}, 1, V::kInstantVector}},
      {"scalar", {{V::kInstantVector}, 0, V::kScalar}},
      {"sgn", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"sort", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"sort_desc", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"sqrt", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"stddev_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"stdvar_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"sum_over_time", {{V::kRangeVector}, 0, V::kInstantVector}},
      {"time", {{}, 0, V::kScalar}},
      {"timestamp", {{V::kInstantVector}, 0, V::kInstantVector}},
      {"vector", {{V::kScalar}, 0, V::kInstantVector}},
  };
  return functions;
}

bool IsAggregation(std::string_view word) {
  return word == "sum" || word == "avg" || word == "min" || word == "max" || word == "count" ||
         word == "topk" || word == "bottomk" || word == "stddev" || word == "stdvar" ||
         word == "quantile" || word == "count_values" || word == "group";
}

bool AggregationTakesParam(std::string_view op) {
  return op == "topk" || op == "bottomk" || op == "quantile" || op == "count_values";
}

bool IsComparison(std::string_view op) {
  return op == "==" || op == "!=" || op == ">" || op == "<" || op == ">=" || op == "<=";
}
bool IsSetOp(std::string_view op) { return op == "and" || op == "or" || op == "unless"; }

int Precedence(std::string_view op) {
  if (op == "or") return 1;
  if (op == "and" || op == "unless") return 2;
  if (IsComparison(op)) return 3;
  if (op == "+" || op == "-") return 4;
  if (op == "*" || op == "/" || op == "%" || op == "atan2") return 5;
  if (op == "^") return 6;
  return 0;
}

class Parser {
 public:
  explicit Parser(std::string_view query) : query_(query) {}

  StatusOr<ExprPtr> Run() {
    if (!Advance()) return error_;
    ExprPtr expr = ParseExpr(0);
    if (!expr) return error_;
    if (token_.kind != Tok::kEnd) {
      Fail(token_.position, fmt::format("unexpected {}", Describe(token_)));
      return error_;
    }
    return expr;
  }

 private:
  // ---- lexing ----
  // Records the first error; parsing unwinds with nullptr / false after it.
  void Fail(size_t position, std::string_view message) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < position && i < query_.size(); ++i) {
      if (query_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    if (error_.ok()) error_ = Status::Error(fmt::format("{}:{}: parse error: {}", line, column, message));
  }

  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd: return "end of input";
      case Tok::kNumber: return fmt::format("number {}", t.text);
      case Tok::kDuration: return fmt::format("duration {}", t.text);
      case Tok::kString: return "string";
      case Tok::kIdent: return fmt::format("identifier \"{}\"", t.text);
      default: return fmt::format("\"{}\"", t.text);
    }
  }

  bool Advance() {
    size_t i = pos_;
    while (i < query_.size()) {
      if (std::isspace(static_cast<unsigned char>(query_[i]))) {
        ++i;
      } else if (query_[i] == '#') {
        while (i < query_.size() && query_[i] != '\n') ++i;
      } else {
        break;
      }
    }
    token_ = Token{};
    token_.position = i;
    if (i >= query_.size()) {
      pos_ = i;
      return true;
    }
    const char c = query_[i];
    const auto single = [&](Tok kind) {
      token_.kind = kind;
      token_.text = std::string(1, c);
      pos_ = i + 1;
      return true;
    };
    switch (c) {
      case '{': return single(Tok::kLBrace);
      case '}': return single(Tok::kRBrace);
      case '(': return single(Tok::kLParen);
      case ')': return single(Tok::kRParen);
      case '[': return single(Tok::kLBracket);
      case ']': return single(Tok::kRBracket);
      case ',': return single(Tok::kComma);
      case ':': return single(Tok::kColon);
      default: break;
    }
    const auto two = [&](std::string_view op) { return query_.substr(i, 2) == op; };
    if (two("==") || two("!=") || two(">=") || two("<=") || two("=~") || two("!~")) {
      token_.text = std::string(query_.substr(i, 2));
      token_.kind = token_.text == "=~" ? Tok::kRegexMatch : token_.text == "!~" ? Tok::kRegexNoMatch
                    : token_.text == "!=" ? Tok::kNotEqual : Tok::kOp;
      pos_ = i + 2;
      return true;
    }
    if (c == '=') return single(Tok::kAssign);
    if (std::string_view("+-*/%^<>").find(c) != std::string_view::npos) return single(Tok::kOp);
    if (c == '"' || c == '\'' || c == '`') return LexString(i);
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && i + 1 < query_.size() &&
                                                        std::isdigit(static_cast<unsigned char>(query_[i + 1])))) {
      return LexNumber(i);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':') {
      size_t end = i;
      while (end < query_.size() && (std::isalnum(static_cast<unsigned char>(query_[end])) || query_[end] == '_' ||
                                     query_[end] == ':')) {
        ++end;
      }
      token_.kind = Tok::kIdent;
      token_.text = std::string(query_.substr(i, end - i));
      pos_ = end;
      const std::string lower = Lower(token_.text);
      if (lower == "inf" || lower == "nan") {
        token_.kind = Tok::kNumber;
        token_.number = lower == "inf" ? std::numeric_limits<double>::infinity() : std::nan("");
      }
      return true;
    }
    Fail(i, fmt::format("unexpected character '{}'", c));
    return false;
  }

  static std::string Lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }

  bool LexString(size_t i) {
    const char quote = query_[i];
    std::string out;
    size_t j = i + 1;
    while (j < query_.size() && query_[j] != quote) {
      if (query_[j] == '\\' && quote != '`') {
        if (j + 1 >= query_.size()) break;
        const char e = query_[j + 1];
        switch (e) {
          case 'n': out.push_back('\n'); break;
          case 't': out.push_back('\t'); break;
          case 'r': out.push_back('\r'); break;
          case '\\': case '"': case '\'': out.push_back(e); break;
          default:
            Fail(j, fmt::format("unknown escape sequence '\\{}'", e));
            return false;
        }
        j += 2;
      } else {
        if (query_[j] == '\n' && quote != '`') break;
        out.push_back(query_[j++]);
      }
    }
    if (j >= query_.size() || query_[j] != quote) {
      Fail(i, "unterminated quoted string");
      return false;
    }
    token_.kind = Tok::kString;
    token_.text = std::move(out);
    pos_ = j + 1;
    return true;
  }

  bool LexNumber(size_t i) {
    size_t end = i;
    if (query_.substr(i, 2) == "0x" || query_.substr(i, 2) == "0X") {
      end += 2;
      while (end < query_.size() && std::isxdigit(static_cast<unsigned char>(query_[end]))) ++end;
      token_.kind = Tok::kNumber;
      token_.text = std::string(query_.substr(i, end - i));
      if (token_.text.size() == 2) {
        Fail(i, "bad number \"0x\"");
        return false;
      }
      token_.number = 0;  // in a double: long hex literals round instead of overflowing
      for (size_t k = 2; k < token_.text.size(); ++k) {
        const char h = static_cast<char>(std::tolower(static_cast<unsigned char>(token_.text[k])));
        token_.number = token_.number * 16 + (h <= '9' ? h - '0' : h - 'a' + 10);
      }
      pos_ = end;
      return true;
    }
    while (end < query_.size() && (std::isdigit(static_cast<unsigned char>(query_[end])) || query_[end] == '.')) ++end;
    // A unit right after the digits makes a duration: 5m, 1h30m, 500ms.
    if (end < query_.size() && std::string_view("smhdwy").find(query_[end]) != std::string_view::npos &&
        query_.substr(i, end - i).find('.') == std::string_view::npos) {
      size_t d = end;
      while (d < query_.size() && (std::isalnum(static_cast<unsigned char>(query_[d])))) ++d;
      const auto duration = ParseDuration(query_.substr(i, d - i));
      if (!duration.ok()) {
        Fail(i, duration.message());
        return false;
      }
      token_.kind = Tok::kDuration;
      token_.text = std::string(query_.substr(i, d - i));
      token_.duration_ms = duration->count();
      pos_ = d;
      return true;
    }
    if (end < query_.size() && (query_[end] == 'e' || query_[end] == 'E')) {
      size_t e = end + 1;
      if (e < query_.size() && (query_[e] == '+' || query_[e] == '-')) ++e;
      if (e < query_.size() && std::isdigit(static_cast<unsigned char>(query_[e]))) {
        while (e < query_.size() && std::isdigit(static_cast<unsigned char>(query_[e]))) ++e;
        end = e;
      }
    }
    token_.text = std::string(query_.substr(i, end - i));
    const auto value = text::ParseDouble(token_.text.front() == '.' ? "0" + token_.text : token_.text);
    if (!value) {
      Fail(i, fmt::format("bad number \"{}\"", token_.text));
      return false;
    }
    token_.kind = Tok::kNumber;
    token_.number = *value;
    pos_ = end;
    return true;
  }

  bool Expect(Tok kind, std::string_view what) {
    if (token_.kind != kind) {
      Fail(token_.position, fmt::format("unexpected {}, expected {}", Describe(token_), what));
      return false;
    }
    return Advance();
  }

  bool IsKeyword(std::string_view word) const {
    return token_.kind == Tok::kIdent && Lower(token_.text) == word;
  }

  // ---- parsing ----
  ExprPtr Make(size_t position, ValueType type) {
    auto expr = std::make_unique<Expr>();
    expr->position = position;
    expr->type = type;
    return expr;
  }

  std::optional<std::string> BinaryOperator() const {
    if (token_.kind == Tok::kOp || token_.kind == Tok::kNotEqual) return token_.text;
    if (token_.kind == Tok::kIdent) {
      const std::string word = Lower(token_.text);
      if (word == "and" || word == "or" || word == "unless" || word == "atan2") return word;
    }
    return std::nullopt;
  }

  ExprPtr ParseExpr(int min_precedence) {
    // Each nesting level costs stack; bound it so that no query can exhaust it.
    struct DepthGuard {
      int& depth;
      explicit DepthGuard(int& d) : depth(++d) {}
      ~DepthGuard() { --depth; }
    } guard(depth_);
    if (depth_ > kMaxDepth) {
      Fail(token_.position, fmt::format("expression nested deeper than {} levels", kMaxDepth));
      return nullptr;
    }
    ExprPtr lhs = ParseUnary();
    while (lhs) {
      const auto op = BinaryOperator();
      if (!op) break;
      const int precedence = Precedence(*op);
      if (precedence < min_precedence || precedence == 0) break;
      const size_t position = token_.position;
      if (!Advance()) return nullptr;
      auto binary = Binary{*op, nullptr, nullptr, false, {}};
      if (!ParseBinaryModifiers(binary)) return nullptr;
      // ^ is right-associative; everything else left-associative.
      ExprPtr rhs = ParseExpr(*op == "^" ? precedence : precedence + 1);
      if (!rhs) return nullptr;
      binary.lhs = std::move(lhs);
      binary.rhs = std::move(rhs);
      lhs = CheckBinary(std::move(binary), position);
    }
    return lhs;
  }

  bool ParseLabelList(std::vector<std::string>& out) {
    if (!Expect(Tok::kLParen, "\"(\"")) return false;
    while (token_.kind != Tok::kRParen) {
      if (token_.kind != Tok::kIdent) {
        Fail(token_.position, fmt::format("unexpected {} in grouping, expected a label name", Describe(token_)));
        return false;
      }
      out.push_back(token_.text);
      if (!Advance()) return false;
      if (token_.kind == Tok::kComma) {
        if (!Advance()) return false;
      } else if (token_.kind != Tok::kRParen) {
        Fail(token_.position, fmt::format("unexpected {} in grouping, expected \",\" or \")\"", Describe(token_)));
        return false;
      }
    }
    return Advance();
  }

  bool ParseBinaryModifiers(Binary& binary) {
    if (IsKeyword("bool")) {
      if (!IsComparison(binary.op)) {
        Fail(token_.position, "bool modifier can only be used on comparison operators");
        return false;
      }
      binary.return_bool = true;
      if (!Advance()) return false;
    }
    if (IsKeyword("on") || IsKeyword("ignoring")) {
      binary.matching.on = IsKeyword("on");
      if (!Advance() || !ParseLabelList(binary.matching.labels)) return false;
      if (IsKeyword("group_left") || IsKeyword("group_right")) {
        if (IsSetOp(binary.op)) {
          Fail(token_.position, fmt::format("no grouping allowed for \"{}\" operation", binary.op));
          return false;
        }
        binary.matching.card = IsKeyword("group_left") ? VectorMatching::Card::kManyToOne
                                                       : VectorMatching::Card::kOneToMany;
        if (!Advance()) return false;
        if (token_.kind == Tok::kLParen && !ParseLabelList(binary.matching.include)) return false;
      }
    }
    if (IsSetOp(binary.op)) binary.matching.card = VectorMatching::Card::kManyToMany;
    return true;
  }

  ExprPtr CheckBinary(Binary binary, size_t position) {
    const ValueType l = binary.lhs->type, r = binary.rhs->type;
    const auto operand_ok = [](ValueType t) { return t == ValueType::kScalar || t == ValueType::kInstantVector; };
    if (!operand_ok(l) || !operand_ok(r)) {
      Fail(position, fmt::format("binary expression must contain only scalar and instant vector types"));
      return nullptr;
    }
    const bool both_scalar = l == ValueType::kScalar && r == ValueType::kScalar;
    if (IsSetOp(binary.op) && (l != ValueType::kInstantVector || r != ValueType::kInstantVector)) {
      Fail(position, fmt::format("set operator \"{}\" not allowed in binary scalar expression", binary.op));
      return nullptr;
    }
    if (both_scalar && IsComparison(binary.op) && !binary.return_bool) {
      Fail(position, "comparisons between scalars must use BOOL modifier");
      return nullptr;
    }
    const bool has_matching = !binary.matching.labels.empty() || binary.matching.on ||
                              binary.matching.card == VectorMatching::Card::kManyToOne ||
                              binary.matching.card == VectorMatching::Card::kOneToMany;
    if (has_matching && (l != ValueType::kInstantVector || r != ValueType::kInstantVector)) {
      Fail(position, "vector matching only allowed between instant vectors");
      return nullptr;
    }
    ExprPtr expr = Make(position, both_scalar ? ValueType::kScalar : ValueType::kInstantVector);
    expr->node = std::move(binary);
    return expr;
  }

  ExprPtr ParseUnary() {
    if (token_.kind == Tok::kOp && (token_.text == "-" || token_.text == "+")) {
      const size_t position = token_.position;
      const char op = token_.text[0];
      if (!Advance()) return nullptr;
      // Unary minus binds less tightly than ^: -2^2 is -(2^2).
      ExprPtr operand = ParseExpr(Precedence("^"));
      if (!operand) return nullptr;
      if (operand->type != ValueType::kScalar && operand->type != ValueType::kInstantVector) {
        Fail(position, "unary expression only allowed on expressions of type scalar or instant vector");
        return nullptr;
      }
      if (auto* number = std::get_if<NumberLiteral>(&operand->node); number != nullptr && op == '-') {
        number->value = -number->value;
        operand->position = position;
        return operand;
      }
      ExprPtr expr = Make(position, operand->type);
      expr->node = Unary{op, std::move(operand)};
      return expr;
    }
    return ParsePostfix(ParsePrimary());
  }

  // [range] and offset after a primary.
  ExprPtr ParsePostfix(ExprPtr expr) {
    if (!expr) return nullptr;
    if (token_.kind == Tok::kLBracket) {
      const size_t position = token_.position;
      auto* selector = std::get_if<VectorSelector>(&expr->node);
      if (!Advance()) return nullptr;
      if (token_.kind != Tok::kDuration) {
        Fail(token_.position, fmt::format("unexpected {}, expected a duration", Describe(token_)));
        return nullptr;
      }
      const int64_t range = token_.duration_ms;
      if (!Advance()) return nullptr;
      if (token_.kind == Tok::kColon) {
        Fail(token_.position, "subqueries are not supported");
        return nullptr;
      }
      if (!Expect(Tok::kRBracket, "\"]\"")) return nullptr;
      if (selector == nullptr) {
        Fail(position, "ranges only allowed for vector selectors");
        return nullptr;
      }
      if (range <= 0) {
        Fail(position, "range must be positive");
        return nullptr;
      }
      ExprPtr matrix = Make(expr->position, ValueType::kRangeVector);
      matrix->node = MatrixSelector{std::move(*selector), range};
      expr = std::move(matrix);
    }
    if (IsKeyword("offset")) {
      const size_t position = token_.position;
      if (!Advance()) return nullptr;
      bool negative = false;
      if (token_.kind == Tok::kOp && token_.text == "-") {
        negative = true;
        if (!Advance()) return nullptr;
      }
      if (token_.kind != Tok::kDuration) {
        Fail(token_.position, fmt::format("unexpected {} in offset, expected a duration", Describe(token_)));
        return nullptr;
      }
      const int64_t offset = negative ? -token_.duration_ms : token_.duration_ms;
      if (!Advance()) return nullptr;
      if (auto* vector = std::get_if<VectorSelector>(&expr->node)) {
        vector->offset_ms = offset;
      } else if (auto* matrix = std::get_if<MatrixSelector>(&expr->node)) {
        matrix->vector.offset_ms = offset;
      } else {
        Fail(position, "offset modifier must be preceded by an instant or range selector");
        return nullptr;
      }
    }
    return expr;
  }

  ExprPtr ParsePrimary() {
    const size_t position = token_.position;
    switch (token_.kind) {
      case Tok::kNumber: {
        ExprPtr expr = Make(position, ValueType::kScalar);
        expr->node = NumberLiteral{token_.number};
        return Advance() ? std::move(expr) : nullptr;
      }
      case Tok::kString: {
        ExprPtr expr = Make(position, ValueType::kString);
        expr->node = StringLiteral{token_.text};
        return Advance() ? std::move(expr) : nullptr;
      }
      case Tok::kLParen: {
        if (!Advance()) return nullptr;
        ExprPtr inner = ParseExpr(0);
        if (!inner || !Expect(Tok::kRParen, "\")\"")) return nullptr;
        ExprPtr expr = Make(position, inner->type);
        expr->node = Paren{std::move(inner)};
        return expr;
      }
      case Tok::kLBrace:
        return ParseSelector("", position);
      case Tok::kIdent: {
        const std::string name = token_.text;
        if (!Advance()) return nullptr;
        if (IsAggregation(Lower(name)) &&
            (token_.kind == Tok::kLParen || IsKeyword("by") || IsKeyword("without"))) {
          return ParseAggregation(Lower(name), position);
        }
        if (token_.kind == Tok::kLParen) return ParseCall(name, position);
        return ParseSelector(name, position);
      }
      case Tok::kDuration:
        Fail(position, fmt::format("unexpected {}", Describe(token_)));
        return nullptr;
      default:
        Fail(position, fmt::format("unexpected {}", Describe(token_)));
        return nullptr;
    }
  }

  ExprPtr ParseSelector(const std::string& name, size_t position) {
    VectorSelector selector;
    selector.name = name;
    if (!name.empty()) selector.matchers.push_back(*Matcher::Make(Matcher::Op::kEqual, "__name__", name));
    if (token_.kind == Tok::kLBrace) {
      if (!Advance()) return nullptr;
      while (token_.kind != Tok::kRBrace) {
        if (token_.kind != Tok::kIdent) {
          Fail(token_.position, fmt::format("unexpected {} in label matching, expected label name", Describe(token_)));
          return nullptr;
        }
        const std::string label = token_.text;
        const size_t label_position = token_.position;
        if (!Advance()) return nullptr;
        Matcher::Op op;
        switch (token_.kind) {
          case Tok::kAssign: op = Matcher::Op::kEqual; break;
          case Tok::kNotEqual: op = Matcher::Op::kNotEqual; break;
          case Tok::kRegexMatch: op = Matcher::Op::kRegex; break;
          case Tok::kRegexNoMatch: op = Matcher::Op::kNotRegex; break;
          default:
            Fail(token_.position, fmt::format("unexpected {} in label matching, expected one of \"=\", \"!=\", \"=~\", \"!~\"", Describe(token_)));
            return nullptr;
        }
        if (!Advance()) return nullptr;
        if (token_.kind != Tok::kString) {
          Fail(token_.position, fmt::format("unexpected {} in label matching, expected string", Describe(token_)));
          return nullptr;
        }
        if (label == "__name__" && !name.empty()) {
          Fail(label_position, fmt::format("metric name must not be set twice: \"{}\" or \"{}\"", name, token_.text));
          return nullptr;
        }
        auto matcher = Matcher::Make(op, label, token_.text);
        if (!matcher.ok()) {
          Fail(token_.position, matcher.message());
          return nullptr;
        }
        selector.matchers.push_back(std::move(matcher).value());
        if (!Advance()) return nullptr;
        if (token_.kind == Tok::kComma) {
          if (!Advance()) return nullptr;
        } else if (token_.kind != Tok::kRBrace) {
          Fail(token_.position, fmt::format("unexpected {} in label matching, expected \",\" or \"}}\"", Describe(token_)));
          return nullptr;
        }
      }
      if (!Advance()) return nullptr;
    }
    const bool any_non_empty = std::any_of(selector.matchers.begin(), selector.matchers.end(),
                                           [](const Matcher& m) { return !m.Matches(""); });
    if (!any_non_empty) {
      Fail(position, "vector selector must contain at least one non-empty matcher");
      return nullptr;
    }
    ExprPtr expr = Make(position, ValueType::kInstantVector);
    expr->node = std::move(selector);
    return expr;
  }

  ExprPtr ParseCall(const std::string& name, size_t position) {
    const auto& functions = Functions();
    const auto spec = functions.find(name);
    if (spec == functions.end()) {
      Fail(position, fmt::format("unknown function with name \"{}\"", name));
      return nullptr;
    }
    if (!Advance()) return nullptr;  // (
    Call call{name, {}};
    while (token_.kind != Tok::kRParen) {
      ExprPtr arg = ParseExpr(0);
      if (!arg) return nullptr;
      call.args.push_back(std::move(arg));
      if (token_.kind == Tok::kComma) {
        if (!Advance()) return nullptr;
      } else if (token_.kind != Tok::kRParen) {
        Fail(token_.position, fmt::format("unexpected {} in function call, expected \",\" or \")\"", Describe(token_)));
        return nullptr;
      }
    }
    if (!Advance()) return nullptr;
    const auto& want = spec->second.args;
    if ((call.args.size() > want.size() && !spec->second.variadic) ||
        call.args.size() < want.size() - spec->second.optional) {
      Fail(position, fmt::format("expected {} argument(s) in call to \"{}\", got {}", want.size(), name, call.args.size()));
      return nullptr;
    }
    for (size_t i = 0; i < call.args.size(); ++i) {
      const ValueType type = want[std::min(i, want.size() - 1)];
      if (call.args[i]->type != type) {
        Fail(call.args[i]->position, fmt::format("expected type {} in call to function \"{}\", got {}",
                                                 ValueTypeName(type), name, ValueTypeName(call.args[i]->type)));
        return nullptr;
      }
    }
    if (!CheckLabelFunction(call)) return nullptr;
    ExprPtr expr = Make(position, spec->second.returns);
    expr->node = std::move(call);
    return expr;
  }

  // label_replace and label_join take a label name and a regex as literals: check them now.
  bool CheckLabelFunction(const Call& call) {
    if (call.function != "label_replace" && call.function != "label_join") return true;
    const auto literal = [&](size_t i) -> const std::string* {
      const auto* s = std::get_if<StringLiteral>(&call.args[i]->node);
      return s != nullptr ? &s->value : nullptr;
    };
    const auto label_ok = [&](size_t i) {
      const std::string* name = literal(i);
      if (name == nullptr || wire::IsValidLabelName(*name)) return true;
      Fail(call.args[i]->position, fmt::format("invalid label name \"{}\" in {}", *name, call.function));
      return false;
    };
    // The destination label must be valid; sources are only looked up, as in Prometheus.
    if (!label_ok(1)) return false;
    if (call.function == "label_join") return true;
    if (const std::string* regex = literal(4)) {
      if (!Matcher::Make(Matcher::Op::kRegex, "x", *regex).ok()) {
        Fail(call.args[4]->position, fmt::format("invalid regular expression \"{}\" in label_replace", *regex));
        return false;
      }
    }
    return true;
  }

  ExprPtr ParseAggregation(const std::string& op, size_t position) {
    Aggregation aggregation;
    aggregation.op = op;
    const auto grouping = [&] {
      aggregation.without = IsKeyword("without");
      return Advance() && ParseLabelList(aggregation.grouping);
    };
    if ((IsKeyword("by") || IsKeyword("without")) && !grouping()) return nullptr;
    if (!Expect(Tok::kLParen, "\"(\"")) return nullptr;
    if (AggregationTakesParam(op)) {
      aggregation.param = ParseExpr(0);
      if (!aggregation.param || !Expect(Tok::kComma, "\",\"")) return nullptr;
    }
    aggregation.expr = ParseExpr(0);
    if (!aggregation.expr || !Expect(Tok::kRParen, "\")\"")) return nullptr;
    if ((IsKeyword("by") || IsKeyword("without"))) {
      if (!aggregation.grouping.empty()) {
        Fail(token_.position, "aggregation grouping given twice");
        return nullptr;
      }
      if (!grouping()) return nullptr;
    }
    if (aggregation.expr->type != ValueType::kInstantVector) {
      Fail(aggregation.expr->position, fmt::format("expected type instant vector in aggregation expression, got {}",
                                                   ValueTypeName(aggregation.expr->type)));
      return nullptr;
    }
    if (aggregation.param) {
      const ValueType want = op == "count_values" ? ValueType::kString : ValueType::kScalar;
      if (aggregation.param->type != want) {
        Fail(aggregation.param->position, fmt::format("expected type {} in aggregation parameter, got {}",
                                                      ValueTypeName(want), ValueTypeName(aggregation.param->type)));
        return nullptr;
      }
    }
    ExprPtr expr = Make(position, ValueType::kInstantVector);
    expr->node = std::move(aggregation);
    return expr;
  }

  static constexpr int kMaxDepth = 256;
  std::string_view query_;
  size_t pos_ = 0;
  int depth_ = 0;
  Token token_;
  Status error_;
};

}  // namespace

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kScalar: return "scalar";
    case ValueType::kInstantVector: return "instant vector";
    case ValueType::kRangeVector: return "range vector";
    case ValueType::kString: return "string";
  }
  return "unknown";
}

StatusOr<ExprPtr> Parse(std::string_view query) {
  if (query.size() > 64 * 1024) return Status::Error("1:1: parse error: query longer than 64 KiB");
  return Parser(query).Run();
}

}  // namespace mingus::collector::promql

#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "mingus/collector/tsdb/head.h"

// The syntax tree of the PromQL subset in DESIGN.md.
namespace mingus::collector::promql {

enum class ValueType { kScalar, kInstantVector, kRangeVector, kString };
std::string_view ValueTypeName(ValueType type);  // "scalar", "instant vector", ...

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct NumberLiteral {
  double value = 0;
};
struct StringLiteral {
  std::string value;
};
struct VectorSelector {
  std::string name;                     // may be empty when a matcher names __name__
  std::vector<tsdb::Matcher> matchers;  // including __name__="name" when a name was given
  int64_t offset_ms = 0;
};
struct MatrixSelector {
  VectorSelector vector;
  int64_t range_ms = 0;
};
struct Call {
  std::string function;
  std::vector<ExprPtr> args;
};
struct Aggregation {
  std::string op;                     // sum, avg, min, max, count, topk, bottomk, ...
  ExprPtr expr;
  ExprPtr param;                      // topk's k, quantile's phi, count_values' label
  std::vector<std::string> grouping;  // the by/without labels
  bool without = false;
};
struct VectorMatching {
  enum class Card { kOneToOne, kManyToOne, kOneToMany, kManyToMany };
  Card card = Card::kOneToOne;
  std::vector<std::string> labels;   // on(...) or ignoring(...)
  bool on = false;                   // labels are on(...) rather than ignoring(...)
  std::vector<std::string> include;  // group_left(...)/group_right(...) extra labels
};
struct Binary {
  std::string op;  // + - * / % ^ atan2 == != > < >= <= and or unless
  ExprPtr lhs, rhs;
  bool return_bool = false;
  VectorMatching matching;
};
struct Unary {
  char op = '-';
  ExprPtr expr;
};
struct Paren {
  ExprPtr expr;
};

struct Expr {
  std::variant<NumberLiteral, StringLiteral, VectorSelector, MatrixSelector, Call, Aggregation,
               Binary, Unary, Paren>
      node;
  ValueType type = ValueType::kScalar;
  size_t position = 0;  // byte offset in the query, for messages
};

// The query again, normalised (for logs and tests).
std::string Format(const Expr& expr);

}  // namespace mingus::collector::promql

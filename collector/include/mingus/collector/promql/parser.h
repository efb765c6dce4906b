#pragma once

#include <string_view>

#include "mingus/collector/promql/ast.h"
#include "mingus/common/status.h"

namespace mingus::collector::promql {

// Parses and type-checks a query. Errors read like Prometheus': "1:12: parse error: ...",
// giving the line and column of the fault.
StatusOr<ExprPtr> Parse(std::string_view query);

}  // namespace mingus::collector::promql

#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/common/status.h"

// `mingus-collector check-rules` and `test-rules`: promtool's `check rules` and `test rules`,
// with its file format for rule unit tests and its output.
namespace mingus::collector::rules {

// promtool's expanding notation for input series: "1+2x3" is 1 3 5 7, "5x2" is 5 5 5, "_" an
// omitted sample, "_x3" three, "stale" a staleness marker (StaleNaN). nullopt = omitted.
StatusOr<std::vector<std::optional<double>>> ParseSeriesValues(std::string_view text);

// Checks each rule file; prints "Checking FILE" and "  SUCCESS: N rules found" or the error.
// Returns the process exit status (0, or 1 when any file failed).
int CheckRuleFiles(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

// Runs each unit-test file; prints "Unit Testing: FILE" then "  SUCCESS" or "  FAILED:" with
// every failed expectation showing what was expected and what came. Returns the exit status.
int TestRuleFiles(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

}  // namespace mingus::collector::rules

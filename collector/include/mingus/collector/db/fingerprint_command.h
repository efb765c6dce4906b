#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

// `mingus-collector fingerprint`: pt-fingerprint's command line over our SQL fingerprint
// (mingus/sql/fingerprint.h), so that the two can be compared and timed on the same input.
namespace mingus::collector::db {

// The queries of a file in pt-fingerprint's file format: each ends with ";" at the end of a line
// (";\n"; the last may end without). Calls `query` with each, without its ";\n".
void ForEachQuery(std::string_view text, const std::function<void(std::string_view)>& query);

// `fingerprint --query QUERY` prints QUERY's fingerprint; `fingerprint [FILE...]` those of every
// query in the FILEs (or standard input, also for "-"), one a line; a query that is only blanks
// and comments prints nothing. Returns the process exit status.
int FingerprintCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err);

}  // namespace mingus::collector::db

#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "mingus/common/clock.h"

// `mingus-collector db-advise`: the database optimizer's index suggestions as CREATE INDEX
// statements, from the collector's store, a running collector's report, or a file of queries;
// verified on a copy of the app's SQLite database when one is given, and created on it with
// --apply only.
namespace mingus::collector::db {

// db-advise [--config.file F] [--storage.path DIR | --collector.url URL | --queries FILE]
//           [--sqlite APP.db] [--apply] [--format sql|json]
// Returns the process exit status: 0, 1 when the store, the report or the app's database could
// not be read or an index could not be created, 2 for bad usage.
int DbAdviseCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                    const Clock& clock);

}  // namespace mingus::collector::db

// The shape the database optimizer reads from the SQL of the app's `db` events (tables, and the
// columns compared, joined, bounded and sorted), with and without a schema to resolve columns,
// and the literal masking of the samples it shows: no crash on any input, every access names a
// table the query names, and masking what is masked changes nothing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mingus/collector/db/query_shape.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace db = mingus::collector::db;
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  for (const db::HasColumn& has_column :
       {db::HasColumn(), db::HasColumn([](std::string_view table, std::string_view column) {
          return table.size() % 2 == column.size() % 2;
        })}) {
    const db::QueryShape shape = db::ReadQueryShape(query, has_column);
    for (const auto& access : shape.accesses) {
      if (std::find(shape.tables.begin(), shape.tables.end(), access.table) == shape.tables.end()) {
        __builtin_trap();
      }
    }
  }
  const std::string masked = db::MaskLiterals(query);
  if (db::MaskLiterals(masked) != masked) __builtin_trap();
  return 0;
}

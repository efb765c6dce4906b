#pragma once

#include <cstdint>

namespace mingus::sqlite {

// Heap bytes SQLite holds in this process: the page caches, schemas and prepared statements of
// every open connection. A self-metric of it tells SQLite's bounded caches apart from the rest
// of a daemon's memory. Thread-safe.
uint64_t MemoryUsed();

}  // namespace mingus::sqlite

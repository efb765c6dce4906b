#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "mingus/agent/intake/line_processor.h"
#include "mingus/common/status.h"

namespace mingus::agent::spool {

struct SpoolOptions {
  std::string directory;              // created if missing
  uint64_t segment_bytes = 4 << 20;   // a segment closes past this size
  uint64_t max_bytes = 256ull << 20;  // beyond it the oldest segments go, counted as dropped
  size_t buffer_bytes = 64 << 10;     // appends are written out past this, and on every read
};

// A bounded on-disk queue of the analytics events the collector pulls. Each event gets the
// next cursor (1, 2, ...) for good; segment files are named by their first cursor and hold
// one record per line: CURSOR \t RECEIVED_MS \t JSON; the file spool-id beside them names
// the spool. The cursor and the events survive a restart; a crash loses at most the unwritten
// buffer, and a record cut short by it is removed at the next start. Thread-safe.
class EventSpool : public intake::EventSink {
 public:
  static StatusOr<std::unique_ptr<EventSpool>> Open(SpoolOptions options);
  ~EventSpool() override;

  void Append(std::string_view json_line, int64_t received_ms) override;
  Status Flush();

  struct Batch {
    std::vector<std::string> records;  // {"cursor":N,"received":MS,"event":{...}}
    uint64_t last_cursor = 0;          // the cursor to ask after next time
    uint64_t lost = 0;                 // events after `after` that were dropped before being read
  };
  // Events with a cursor greater than `after`, oldest first, at most `limit`.
  StatusOr<Batch> Read(uint64_t after, size_t limit);

  // The spool's identity, made when its directory is first used and kept in it (spool-id): a
  // collector holding a cursor of a spool that was wiped or replaced sees another id and starts
  // again from the beginning, instead of waiting for the new cursors to pass its old one.
  const std::string& id() const { return id_; }
  uint64_t next_cursor() const;
  uint64_t held_bytes() const;
  uint64_t held_events() const;
  uint64_t dropped_events() const { return dropped_.load(); }
  uint64_t write_errors() const { return write_errors_.load(); }

 private:
  explicit EventSpool(SpoolOptions options);
  Status Recover();
  Status LoadOrCreateId();
  Status FlushLocked();
  Status RotateLocked();
  void EnforceCapLocked();
  std::string SegmentPath(uint64_t first_cursor) const;

  const SpoolOptions options_;
  mutable std::mutex mutex_;
  std::map<uint64_t, uint64_t> segments_;  // first cursor -> bytes on disk
  int fd_ = -1;                            // the open (last) segment
  uint64_t next_cursor_ = 1;
  std::string buffer_;
  std::string id_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> write_errors_{0};
};

}  // namespace mingus::agent::spool

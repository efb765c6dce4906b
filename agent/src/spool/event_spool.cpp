#include "mingus/agent/spool/event_spool.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "mingus/common/file.h"
#include "mingus/common/text.h"

namespace mingus::agent::spool {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".seg";
constexpr std::string_view kIdFile = "spool-id";

struct Record {
  uint64_t cursor = 0;
  std::string_view received_ms;
  std::string_view json;
};

// One "CURSOR\tRECEIVED_MS\tJSON" line; false for anything else.
bool ParseRecord(std::string_view line, Record& out) {
  const auto tab1 = line.find('\t');
  if (tab1 == std::string_view::npos) return false;
  const auto tab2 = line.find('\t', tab1 + 1);
  if (tab2 == std::string_view::npos) return false;
  const auto cursor = text::ParseUint64(line.substr(0, tab1));
  if (!cursor || !text::ParseUint64(line.substr(tab1 + 1, tab2 - tab1 - 1))) return false;
  out = {*cursor, line.substr(tab1 + 1, tab2 - tab1 - 1), line.substr(tab2 + 1)};
  return !out.json.empty() && out.json.front() == '{';
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(fmt::format("write: {}", std::strerror(errno)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

}  // namespace

EventSpool::EventSpool(SpoolOptions options) : options_(std::move(options)) {
  buffer_.reserve(options_.buffer_bytes + 4096);
}

EventSpool::~EventSpool() {
  std::lock_guard lock(mutex_);
  (void)FlushLocked();
  if (fd_ >= 0) ::close(fd_);
}

StatusOr<std::unique_ptr<EventSpool>> EventSpool::Open(SpoolOptions options) {
  std::error_code ec;
  fs::create_directories(options.directory, ec);
  if (ec)
    return Status::Error(fmt::format("spool directory {}: {}", options.directory, ec.message()));
  std::unique_ptr<EventSpool> spool(new EventSpool(std::move(options)));
  if (Status status = spool->LoadOrCreateId(); !status.ok()) return status;
  if (Status status = spool->Recover(); !status.ok()) return status;
  return spool;
}

std::string EventSpool::SegmentPath(uint64_t first_cursor) const {
  return fmt::format("{}/{:020}{}", options_.directory, first_cursor, kSuffix);
}

Status EventSpool::LoadOrCreateId() {
  const std::string path = JoinPath(options_.directory, kIdFile);
  if (const auto content = ReadFile(path, 256); content.ok()) {
    id_ = std::string(text::Trim(*content));
    if (!id_.empty()) return OkStatus();
  }
  std::random_device random;
  id_ = fmt::format("{:08x}{:08x}", random(), random());
  // Written whole or not at all: a crash must not leave an empty or half id behind.
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Status::Error(fmt::format("open {}: {}", temporary, std::strerror(errno)));
  Status written = WriteAll(fd, id_ + "\n");
  if (written.ok() && ::fsync(fd) != 0) {
    written = Status::Error(fmt::format("fsync {}: {}", temporary, std::strerror(errno)));
  }
  ::close(fd);
  if (!written.ok()) return written;
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return Status::Error(fmt::format("rename {}: {}", temporary, std::strerror(errno)));
  }
  return OkStatus();
}

Status EventSpool::Recover() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(kSuffix)) continue;
    const auto first =
        text::ParseUint64(std::string_view(name).substr(0, name.size() - kSuffix.size()));
    if (!first) continue;
    segments_[*first] = entry.file_size(ec);
  }
  if (ec)
    return Status::Error(fmt::format("spool directory {}: {}", options_.directory, ec.message()));
  if (segments_.empty()) return RotateLocked();

  // The last segment may end in a record cut short by a crash: keep whole records only.
  const auto& [first, size] = *segments_.rbegin();
  const std::string path = SegmentPath(first);
  const auto content = ReadFile(path, 1ull << 34);
  if (!content.ok()) return content.status();
  size_t keep = 0;
  uint64_t last = first - 1;
  text::ForEachLine(*content, [&](std::string_view line) {
    Record record;
    const size_t end = static_cast<size_t>(line.data() - content->data()) + line.size();
    if (end < content->size() && ParseRecord(line, record) && record.cursor > last) {
      last = record.cursor;
      keep = end + 1;
    }
  });
  if (keep < content->size()) {
    spdlog::warn("event spool: dropping {} bytes of a record cut short in {}",
                 content->size() - keep, path);
    if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) {
      return Status::Error(fmt::format("truncate {}: {}", path, std::strerror(errno)));
    }
  }
  segments_.rbegin()->second = keep;
  next_cursor_ = last + 1;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) return Status::Error(fmt::format("open {}: {}", path, std::strerror(errno)));
  return OkStatus();
}

Status EventSpool::RotateLocked() {
  if (fd_ >= 0) ::close(fd_);
  const std::string path = SegmentPath(next_cursor_);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return Status::Error(fmt::format("open {}: {}", path, std::strerror(errno)));
  segments_.emplace(next_cursor_, 0);
  return OkStatus();
}

void EventSpool::EnforceCapLocked() {
  uint64_t total = 0;
  for (const auto& [first, size] : segments_) total += size;
  while (total > options_.max_bytes && segments_.size() > 1) {
    const auto oldest = segments_.begin();
    const uint64_t events = std::next(oldest)->first - oldest->first;
    std::error_code ec;
    fs::remove(SegmentPath(oldest->first), ec);
    total -= oldest->second;
    dropped_.fetch_add(events, std::memory_order_relaxed);
    segments_.erase(oldest);
  }
}

Status EventSpool::FlushLocked() {
  if (buffer_.empty() || fd_ < 0) return OkStatus();
  const Status status = WriteAll(fd_, buffer_);
  if (!status.ok()) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    // A write cut short (a full disk) left the start of the buffer in the file: cut it off,
    // so that the retry writes each record once and whole.
    if (::ftruncate(fd_, static_cast<off_t>(segments_.rbegin()->second)) != 0) {
      return Status::Error(fmt::format("{}; truncating the segment after it: {}", status.message(),
                                       std::strerror(errno)));
    }
    return status;
  }
  segments_.rbegin()->second += buffer_.size();
  buffer_.clear();
  if (segments_.rbegin()->second >= options_.segment_bytes) {
    if (Status rotated = RotateLocked(); !rotated.ok()) return rotated;
    EnforceCapLocked();
  }
  return OkStatus();
}

void EventSpool::Append(std::string_view json_line, int64_t received_ms) {
  std::lock_guard lock(mutex_);
  for (const fmt::format_int& number :
       {fmt::format_int(next_cursor_++), fmt::format_int(received_ms)}) {
    buffer_.append(number.data(), number.size());
    buffer_.push_back('\t');
  }
  buffer_.append(json_line);
  buffer_.push_back('\n');
  if (buffer_.size() >= options_.buffer_bytes) {
    if (const Status status = FlushLocked(); !status.ok()) {
      spdlog::warn("event spool: {}; events stay buffered", status.message());
    }
  }
}

Status EventSpool::Flush() {
  std::lock_guard lock(mutex_);
  return FlushLocked();
}

StatusOr<EventSpool::Batch> EventSpool::Read(uint64_t after, size_t limit) {
  std::vector<std::pair<uint64_t, std::string>> paths;
  Batch batch;
  batch.last_cursor = after;
  {
    std::lock_guard lock(mutex_);
    if (Status status = FlushLocked(); !status.ok()) return status;
    const uint64_t oldest = segments_.begin()->first;
    if (after + 1 < oldest) {
      batch.lost = oldest - (after + 1);
      after = oldest - 1;
      batch.last_cursor = after;
    }
    // The segment holding after+1, and the ones after it.
    auto it = segments_.upper_bound(after + 1);
    if (it != segments_.begin()) --it;
    for (; it != segments_.end(); ++it) paths.emplace_back(it->first, SegmentPath(it->first));
  }
  for (const auto& [first, path] : paths) {
    if (batch.records.size() >= limit) break;
    const auto content = ReadFile(path, 1ull << 34);
    if (!content.ok()) {
      if (!fs::exists(path)) continue;  // dropped by the cap since we looked
      return content.status();
    }
    Status error;
    text::ForEachLine(*content, [&](std::string_view line) {
      Record record;
      if (batch.records.size() >= limit || line.empty() || !ParseRecord(line, record)) return;
      if (record.cursor <= after) return;
      batch.records.push_back(fmt::format(R"({{"cursor":{},"received":{},"event":{}}})",
                                          record.cursor, record.received_ms, record.json));
      batch.last_cursor = record.cursor;
    });
  }
  return batch;
}

uint64_t EventSpool::next_cursor() const {
  std::lock_guard lock(mutex_);
  return next_cursor_;
}

uint64_t EventSpool::held_bytes() const {
  std::lock_guard lock(mutex_);
  uint64_t total = buffer_.size();
  for (const auto& [first, size] : segments_) total += size;
  return total;
}

uint64_t EventSpool::held_events() const {
  std::lock_guard lock(mutex_);
  return next_cursor_ - segments_.begin()->first;
}

}  // namespace mingus::agent::spool

// The collector's reading of an agent's answer to GET /api/v1/events?after=: its cursor, lost
// and spool id headers and its body of spool records, pulled by the EventPuller into a real
// EventStore (SQLite, in a scratch directory), which parses each record and its event. Any
// answer is either stored or refused as a failed pull; a crash, a sanitizer report or a stored
// cursor that goes back within one spool is a bug.
// The input: a status byte (even: 200), then the X-Mingus-Last-Cursor, X-Mingus-Lost-Events
// and X-Mingus-Spool-Id values on a line each (a header is absent when its line is empty), then
// the body.
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "fake_clock.h"
#include "mingus/collector/events/event_puller.h"
#include "mingus/collector/events/event_store.h"

namespace {

using namespace mingus;
using collector::events::EventPuller;
using collector::events::EventStore;

constexpr std::string_view kAgent = "agent:9110";

// The answer the fetch function gives: the input's.
http::ClientResponse answer;

// The store and puller of one stretch of inputs. The store keeps what earlier inputs stored
// (cursors, events), which later ones meet; it starts afresh every kInputsPerStore inputs, so
// that the database stays small over millions of executions.
struct Puller {
  static constexpr int kInputsPerStore = 10'000;
  testing::FakeClock clock;
  std::string directory =
      std::filesystem::temp_directory_path() / ("fuzz_event_pull." + std::to_string(::getpid()));
  prometheus::Registry registry;
  std::unique_ptr<EventStore> store;
  std::unique_ptr<EventPuller> puller;
  int inputs = 0;
  // The stored cursor after the last input, which is the next one's before: only pulls change
  // the store, so one query per input serves the check (each query prepares a statement, and
  // two per input were a third of the time).
  StatusOr<collector::events::AgentCursor> last = collector::events::AgentCursor{};

  Puller() {
    spdlog::set_level(spdlog::level::off);
    Reopen();
  }
  ~Puller() {
    Close();
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
  }

  void Close() {
    puller.reset();
    store.reset();
  }

  void Reopen() {
    Close();
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
    std::filesystem::create_directories(directory);
    auto opened = EventStore::Open(directory + "/events.db", {}, clock);
    if (!opened.ok()) {
      fprintf(stderr, "cannot open the event store: %s\n", opened.message().c_str());
      std::abort();
    }
    store = std::move(opened).value();
    const auto targets = [] {
      return std::vector<collector::events::AgentTarget>{
          {.instance = std::string(kAgent), .job = "mingus-agent", .address = std::string(kAgent)}};
    };
    const auto fetch = [](http::KeepAliveClient&, const std::string&,
                          const http::ClientOptions&) -> StatusOr<http::ClientResponse> {
      return answer;
    };
    puller = std::make_unique<EventPuller>(*store, clock, registry, targets,
                                           collector::events::EventsConfig{}, fetch);
    puller->SyncTargets();
    last = store->Cursor(std::string(kAgent));
  }

  void Pull() {
    if (++inputs % kInputsPerStore == 0) Reopen();
    (void)puller->PullOnce(std::string(kAgent));
    auto after = store->Cursor(std::string(kAgent));
    if (last.ok() && after.ok() && last->spool_id == after->spool_id &&
        after->cursor < last->cursor) {
      __builtin_trap();
    }
    last = std::move(after);
  }
};

// The next line of `rest` (without its '\n'), consumed.
std::string_view Line(std::string_view& rest) {
  const size_t end = rest.find('\n');
  const std::string_view line = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Puller puller;
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  answer = http::ClientResponse{.status = data[0] % 2 == 0 ? 200 : 500 + data[0] % 4};
  for (const char* name : {"x-mingus-last-cursor", "x-mingus-lost-events", "x-mingus-spool-id"}) {
    const std::string_view value = Line(rest);
    if (!value.empty()) answer.headers.emplace_back(name, std::string(value));
  }
  answer.body = std::string(rest);
  puller.Pull();
  return 0;
}

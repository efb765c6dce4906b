#include "mingus/collector/events/event_puller.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <thread>

#include "fake_clock.h"
#include "mingus/common/text.h"
#include "temp_dir.h"

namespace mingus::collector::events {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

// Agents' spools in memory, served as the agent's GET /api/v1/events does.
class FakeAgents {
 public:
  struct Spool {
    std::vector<std::string> events;  // event i has cursor i + 1
    uint64_t oldest = 1;              // events before it were dropped (spool full)
    bool down = false;
    bool slow = false;           // a request waits until Release()
    std::string id = "spool-1";  // X-Mingus-Spool-Id
  };

  void Add(const std::string& address, int count, const std::string& action = "a") {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < count; ++i) {
      spools_[address].events.push_back(
          fmt::format(R"({{"type":"engagement","user_id":"u{}","action":"{}"}})", i, action));
    }
  }
  void Set(const std::string& address, const std::function<void(Spool&)>& change) {
    std::lock_guard lock(mutex_);
    change(spools_[address]);
  }
  void Release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    wake_.notify_all();
  }
  std::vector<std::string> urls() const {
    std::lock_guard lock(mutex_);
    return urls_;
  }

  FetchFunction Fetch() {
    return [this](http::KeepAliveClient&, const std::string& url,
                  const http::ClientOptions&) -> StatusOr<http::ClientResponse> {
      std::unique_lock lock(mutex_);
      urls_.push_back(url);
      const std::string_view rest = std::string_view(url).substr(7);  // http://
      const std::string address(rest.substr(0, rest.find('/')));
      Spool& spool = spools_[address];
      if (spool.down) return Status::Error(fmt::format("GET {}: connect: Connection refused", url));
      if (spool.slow) wake_.wait(lock, [&] { return released_; });
      const auto query = rest.substr(rest.find('?') + 1);
      const auto amp = query.find('&');
      uint64_t after = *text::ParseUint64(query.substr(6, amp - 6));     // after=N
      const uint64_t limit = *text::ParseUint64(query.substr(amp + 7));  // &limit=M
      http::ClientResponse response;
      response.status = 200;
      uint64_t lost = 0;
      if (after + 1 < spool.oldest) {
        lost = spool.oldest - (after + 1);
        after = spool.oldest - 1;
      }
      uint64_t last = after;
      for (uint64_t cursor = after + 1; cursor <= spool.events.size() && cursor - after <= limit;
           ++cursor) {
        response.body += fmt::format(R"({{"cursor":{},"received":{},"event":{}}})", cursor, now_ms,
                                     spool.events[cursor - 1]) +
                         "\n";
        last = cursor;
      }
      response.headers = {{"x-mingus-last-cursor", std::to_string(last)},
                          {"x-mingus-lost-events", std::to_string(lost)},
                          {"x-mingus-spool-id", spool.id}};
      return response;
    };
  }

  int64_t now_ms = 0;

 private:
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool released_ = false;
  std::map<std::string, Spool> spools_;
  std::vector<std::string> urls_;
};

double Sample(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
              const std::string& label = "", const std::string& value = "") {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      const bool match =
          label.empty() || (metric.label.size() == 1 && metric.label[0].name == label &&
                            metric.label[0].value == value);
      if (!match) continue;
      return family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                            : metric.gauge.value;
    }
  }
  return -1;  // no such series
}

class EventPullerTest : public ::testing::Test {
 protected:
  EventPullerTest() : dir_("event-puller") {
    auto store = EventStore::Open((dir_.path() / "bi.db").string(), {}, clock_);
    EXPECT_TRUE(store.ok()) << store.message();
    store_ = std::move(store).value();
    agents_.now_ms = UnixMillis(clock_);
    config_.jobs = {"mingus-agent"};
    config_.batch_limit = 100;
    targets_ = {{"a:1", "mingus-agent", "127.0.0.1:1", {}},
                {"b:1", "mingus-agent", "127.0.0.1:2", {}},
                {"c:1", "other", "127.0.0.1:3", {}}};
  }

  std::unique_ptr<EventPuller> MakePuller() {
    auto puller = std::make_unique<EventPuller>(
        *store_, clock_, registry_,
        [this] {
          std::lock_guard lock(targets_mutex_);
          return targets_;
        },
        config_, agents_.Fetch());
    puller->SyncTargets();
    return puller;
  }
  std::vector<prometheus::MetricFamily> Metrics(const EventPuller& puller) {
    auto families = registry_.Collect();
    puller.AppendFamilies(families);
    return families;
  }
  int64_t Stored(const std::string& agent) {
    return static_cast<int64_t>(store_->Cursor(agent)->cursor);
  }

  testing::FakeClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
  prometheus::Registry registry_;
  FakeAgents agents_;
  EventsConfig config_;
  std::mutex targets_mutex_;
  std::vector<AgentTarget> targets_;
};

TEST_F(EventPullerTest, EachAgentIsPulledAloneAndOneThatIsDownFailsAlone) {
  agents_.Add("127.0.0.1:1", 2);
  agents_.Add("127.0.0.1:2", 3);
  agents_.Set("127.0.0.1:1", [](auto& spool) { spool.down = true; });
  auto puller = MakePuller();
  const auto down = puller->PullOnce("a:1");
  EXPECT_FALSE(down.ok);
  EXPECT_THAT(down.error, HasSubstr("Connection refused"));
  const auto up = puller->PullOnce("b:1");
  ASSERT_TRUE(up.ok) << up.error;
  EXPECT_EQ(up.stored.stored, 3u);
  EXPECT_FALSE(up.more);
  // The job that is not an events job is not pulled.
  EXPECT_THAT(puller->PullOnce("c:1").error, HasSubstr("no agent c:1"));
  // Back up: its events arrive, later rather than never.
  agents_.Set("127.0.0.1:1", [](auto& spool) { spool.down = false; });
  EXPECT_EQ(puller->PullOnce("a:1").stored.stored, 2u);
  EXPECT_EQ(puller->PullOnce("a:1").stored.stored, 0u);
  const auto metrics = Metrics(*puller);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_pull_errors_total", "agent", "a:1"), 1);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_pull_errors_total", "agent", "b:1"), 0);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_pulled_total", "agent", "b:1"), 3);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_stored_total", "type", "engagement"), 5);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_cursor", "agent", "a:1"), 2);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_agents"), 2);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_pulled_total", "agent", "c:1"), -1);
  // Each pull asked after the cursor stored.
  EXPECT_THAT(agents_.urls().back(), "http://127.0.0.1:1/api/v1/events?after=2&limit=100");
}

TEST_F(EventPullerTest, CatchesUpBatchByBatchAndCountsWhatTheAgentDropped) {
  config_.batch_limit = 2;
  agents_.Add("127.0.0.1:1", 7);
  agents_.Set("127.0.0.1:1", [](auto& spool) { spool.oldest = 3; });  // 1 and 2 dropped
  auto puller = MakePuller();
  auto pull = puller->PullOnce("a:1");
  EXPECT_TRUE(pull.more);
  EXPECT_EQ(pull.stored.cursor, 4u);
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_EQ(Sample(Metrics(*puller), "mingus_collector_events_lag_seconds", "agent", "a:1"), 30);
  EXPECT_TRUE(puller->PullOnce("a:1").more);
  pull = puller->PullOnce("a:1");
  EXPECT_FALSE(pull.more);
  EXPECT_EQ(pull.stored.cursor, 7u);
  const auto metrics = Metrics(*puller);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_lag_seconds", "agent", "a:1"), 0);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_lost_total", "agent", "a:1"), 2);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_pulled_total", "agent", "a:1"), 5);
  EXPECT_EQ(store_->Cursor("a:1")->lost, 2u);
}

TEST_F(EventPullerTest, ANewPullerStartsFromTheStoredCursor) {
  agents_.Add("127.0.0.1:1", 4);
  MakePuller()->PullOnce("a:1");
  agents_.Add("127.0.0.1:1", 2);
  const auto pull = MakePuller()->PullOnce("a:1");
  EXPECT_EQ(pull.stored.stored, 2u);
  EXPECT_EQ(pull.stored.duplicates, 0u);
  EXPECT_EQ(agents_.urls().back(), "http://127.0.0.1:1/api/v1/events?after=4&limit=100");
}

TEST_F(EventPullerTest, AnAgentWithANewSpoolIsPulledFromItsBeginning) {
  const auto wipe = [&](const std::string& id, int events) {
    agents_.Set("127.0.0.1:1", [&](auto& spool) {
      spool.events.clear();
      spool.id = id;
    });
    agents_.Add("127.0.0.1:1", events, id);
  };
  agents_.Add("127.0.0.1:1", 5, "before");
  auto puller = MakePuller();
  EXPECT_EQ(puller->PullOnce("a:1").stored.stored, 5u);
  // Wiped and restarted: cursors 1 to 3 again, below the cursor held.
  wipe("spool-2", 3);
  const auto noticed = puller->PullOnce("a:1");
  EXPECT_TRUE(noticed.ok);
  EXPECT_TRUE(noticed.more);  // asks again at once
  EXPECT_EQ(noticed.stored.stored, 0u);
  const auto pulled = puller->PullOnce("a:1");
  EXPECT_EQ(agents_.urls().back(), "http://127.0.0.1:1/api/v1/events?after=0&limit=100");
  EXPECT_EQ(pulled.stored.stored, 3u);
  // Wiped again while the collector was down: it starts from the cursor stored, and notices.
  puller.reset();
  wipe("spool-3", 2);
  auto restarted = MakePuller();
  EXPECT_TRUE(restarted->PullOnce("a:1").more);
  EXPECT_EQ(agents_.urls().back(), "http://127.0.0.1:1/api/v1/events?after=3&limit=100");
  EXPECT_EQ(restarted->PullOnce("a:1").stored.stored, 2u);
  EXPECT_EQ(Sample(registry_.Collect(), "mingus_collector_events_spool_resets_total"), 2);
  EXPECT_EQ(store_->Cursor("a:1")->spool_id, "spool-3");
}

TEST_F(EventPullerTest, AnswersThatAreNotASpoolFailThePull) {
  auto puller = std::make_unique<EventPuller>(
      *store_, clock_, registry_, [this] { return targets_; }, config_,
      [](http::KeepAliveClient&, const std::string&, const http::ClientOptions&) {
        http::ClientResponse response;
        response.status = 404;
        response.body = "not found";
        return StatusOr<http::ClientResponse>(response);
      });
  puller->SyncTargets();
  EXPECT_THAT(puller->PullOnce("a:1").error, HasSubstr("HTTP 404: not found"));
  auto no_header = std::make_unique<EventPuller>(
      *store_, clock_, registry_, [this] { return targets_; }, config_,
      [](http::KeepAliveClient&, const std::string&, const http::ClientOptions&) {
        http::ClientResponse response;
        response.status = 200;
        return StatusOr<http::ClientResponse>(response);
      });
  no_header->SyncTargets();
  EXPECT_THAT(no_header->PullOnce("a:1").error, HasSubstr("no X-Mingus-Last-Cursor header"));
}

TEST_F(EventPullerTest, PullsWithTheTargetsSchemeTlsAndCredentials) {
  targets_[0].client.scheme = "https";
  targets_[0].client.tls.ca_file = "/etc/mingus/ca.pem";
  targets_[0].client.authorization = "Bearer token";
  std::string url;
  http::ClientOptions seen;
  auto puller = std::make_unique<EventPuller>(
      *store_, clock_, registry_, [this] { return targets_; }, config_,
      [&](http::KeepAliveClient&, const std::string& asked, const http::ClientOptions& options) {
        url = asked;
        seen = options;
        return StatusOr<http::ClientResponse>(Status::Error("refused"));
      });
  puller->SyncTargets();
  EXPECT_FALSE(puller->PullOnce("a:1").ok);
  EXPECT_THAT(url, ::testing::StartsWith("https://127.0.0.1:1/api/v1/events?after=0&limit=100"));
  EXPECT_EQ(seen.tls.ca_file, "/etc/mingus/ca.pem");
  EXPECT_THAT(seen.headers, ::testing::Contains(::testing::Pair("Authorization", "Bearer token")));
  EXPECT_EQ(seen.timeout, config_.pull_timeout);
}

TEST_F(EventPullerTest, AgentsThatAreNoLongerTargetsLoseTheirSeries) {
  auto puller = MakePuller();
  EXPECT_EQ(Sample(Metrics(*puller), "mingus_collector_events_pull_errors_total", "agent", "b:1"),
            0);
  {
    std::lock_guard lock(targets_mutex_);
    targets_.erase(targets_.begin() + 1);
  }
  puller->SyncTargets();
  const auto metrics = Metrics(*puller);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_pull_errors_total", "agent", "b:1"), -1);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_cursor", "agent", "b:1"), -1);
  EXPECT_EQ(Sample(metrics, "mingus_collector_events_agents"), 1);
  // Another job's targets, at reload.
  config_.jobs = {"other"};
  puller->Apply(config_);
  EXPECT_EQ(Sample(Metrics(*puller), "mingus_collector_events_cursor", "agent", "c:1"), 0);
  EXPECT_EQ(Sample(Metrics(*puller), "mingus_collector_events_cursor", "agent", "a:1"), -1);
}

TEST(EventPullerBackoff, DoublesFromTheIntervalUpToTheMax) {
  const milliseconds interval(15'000), max(300'000);
  EXPECT_EQ(EventPuller::Backoff(interval, max, 1), milliseconds(15'000));
  EXPECT_EQ(EventPuller::Backoff(interval, max, 2), milliseconds(30'000));
  EXPECT_EQ(EventPuller::Backoff(interval, max, 4), milliseconds(120'000));
  EXPECT_EQ(EventPuller::Backoff(interval, max, 5), milliseconds(240'000));
  EXPECT_EQ(EventPuller::Backoff(interval, max, 6), max);
  EXPECT_EQ(EventPuller::Backoff(interval, max, 1000), max);
}

// The threads: an agent whose answer never comes holds one worker; the other agent's events
// keep arriving.
TEST_F(EventPullerTest, ASlowAgentDoesNotHoldTheOthers) {
  config_.pull_interval = milliseconds(20);
  config_.concurrency = 2;
  agents_.Set("127.0.0.1:1", [](auto& spool) { spool.slow = true; });
  agents_.Add("127.0.0.1:1", 1);
  agents_.Add("127.0.0.1:2", 3);
  auto puller = MakePuller();
  puller->Start();
  const auto wait_for = [&](const std::string& agent, int64_t cursor) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (Stored(agent) < cursor && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    return Stored(agent);
  };
  EXPECT_EQ(wait_for("b:1", 3), 3);
  agents_.Add("127.0.0.1:2", 2);
  EXPECT_EQ(wait_for("b:1", 5), 5);
  EXPECT_EQ(Stored("a:1"), 0);
  agents_.Release();
  EXPECT_EQ(wait_for("a:1", 1), 1);
  puller->Stop();
}

}  // namespace
}  // namespace mingus::collector::events

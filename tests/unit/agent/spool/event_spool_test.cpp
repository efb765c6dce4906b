#include "mingus/agent/spool/event_spool.h"

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mingus::agent::spool {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class EventSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/spool-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<EventSpool> Open(uint64_t segment_bytes = 1 << 20, uint64_t max_bytes = 1 << 30,
                                   uint64_t buffer_bytes = 0) {
    auto spool = EventSpool::Open({.directory = dir_,
                                   .segment_bytes = segment_bytes,
                                   .max_bytes = max_bytes,
                                   .buffer_bytes = buffer_bytes});
    EXPECT_TRUE(spool.ok()) << spool.message();
    return std::move(spool).value();
  }
  static void AppendEvent(EventSpool& spool, int n) {
    spool.Append(R"({"type":"cache","cache":"c)" + std::to_string(n) + R"(","result":"hit"})",
                 kReceivedMs);
  }
  uint64_t SegmentBytes() const {
    uint64_t total = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      if (entry.path().extension() == ".seg") total += entry.file_size();
    }
    return total;
  }
  size_t SegmentCount() const {
    return static_cast<size_t>(std::count_if(
        std::filesystem::directory_iterator(dir_), {},
        [](const auto& entry) { return entry.path().extension() == ".seg"; }));
  }

  static constexpr int64_t kReceivedMs = 1'800'000'000'000;
  std::string dir_;
};

TEST_F(EventSpoolTest, TheSpoolKeepsItsIdAndAnotherSpoolHasAnother) {
  std::string id;
  {
    auto spool = Open();
    id = spool->id();
    EXPECT_EQ(id.size(), 16u);
    AppendEvent(*spool, 1);
  }
  EXPECT_EQ(Open()->id(), id);  // reopened: the same spool
  std::filesystem::remove_all(dir_);
  auto wiped = Open();
  EXPECT_NE(wiped->id(), id);
  EXPECT_EQ(wiped->next_cursor(), 1u);  // cursors start again: the collector must notice
}

TEST_F(EventSpoolTest, CursorsAreSequentialAndReadsPage) {
  auto spool = Open();
  for (int i = 1; i <= 5; ++i) AppendEvent(*spool, i);
  auto batch = spool->Read(0, 2);
  ASSERT_TRUE(batch.ok());
  EXPECT_THAT(batch->records, ElementsAre(
      R"({"cursor":1,"received":1800000000000,"event":{"type":"cache","cache":"c1","result":"hit"}})",
      R"({"cursor":2,"received":1800000000000,"event":{"type":"cache","cache":"c2","result":"hit"}})"));
  EXPECT_EQ(batch->last_cursor, 2u);
  batch = spool->Read(2, 100);
  EXPECT_EQ(batch->records.size(), 3u);
  EXPECT_EQ(batch->last_cursor, 5u);
  EXPECT_EQ(spool->Read(5, 100)->records.size(), 0u);
  EXPECT_EQ(spool->Read(5, 100)->last_cursor, 5u);
}

TEST_F(EventSpoolTest, CursorAndEventsSurviveARestart) {
  {
    auto spool = Open();
    for (int i = 1; i <= 3; ++i) AppendEvent(*spool, i);
  }
  auto spool = Open();
  EXPECT_EQ(spool->next_cursor(), 4u);
  AppendEvent(*spool, 4);
  const auto batch = spool->Read(2, 100);
  ASSERT_EQ(batch->records.size(), 2u);
  EXPECT_THAT(batch->records[0], HasSubstr(R"("cursor":3)"));
  EXPECT_THAT(batch->records[1], HasSubstr(R"("cursor":4)"));
}

TEST_F(EventSpoolTest, ARecordCutShortByACrashIsRemoved) {
  {
    auto spool = Open();
    for (int i = 1; i <= 2; ++i) AppendEvent(*spool, i);
  }
  const auto segment = std::filesystem::directory_iterator(dir_)->path();
  std::ofstream(segment, std::ios::app) << "3\t1800000000000\t{\"type\":\"cac";  // no newline
  auto spool = Open();
  EXPECT_EQ(spool->next_cursor(), 3u);
  AppendEvent(*spool, 3);
  const auto batch = spool->Read(0, 100);
  ASSERT_EQ(batch->records.size(), 3u);
  EXPECT_THAT(batch->records[2], HasSubstr(R"("cache":"c3")"));
}

TEST_F(EventSpoolTest, AWriteCutShortByAFullDiskIsWrittenOnceWhenSpaceReturns) {
  auto spool = Open(1 << 20, 1 << 30, 1 << 20);
  for (int n = 1; n <= 3; ++n) AppendEvent(*spool, n);
  {
    // The file may grow by 30 bytes: the flush writes that much of the first record, then fails
    // as on a full disk (RLIMIT_FSIZE, SIGXFSZ ignored).
    rlimit saved{};
    getrlimit(RLIMIT_FSIZE, &saved);
    rlimit full = saved;
    full.rlim_cur = SegmentBytes() + 30;
    setrlimit(RLIMIT_FSIZE, &full);
    const auto handler = std::signal(SIGXFSZ, SIG_IGN);
    EXPECT_FALSE(spool->Flush().ok());
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, handler);
  }
  ASSERT_TRUE(spool->Flush().ok());
  std::vector<std::string> expected;
  for (int n = 1; n <= 3; ++n) {
    expected.push_back(fmt::format(
        R"({{"cursor":{},"received":{},"event":{{"type":"cache","cache":"c{}","result":"hit"}}}})",
        n, kReceivedMs, n));
  }
  EXPECT_EQ(spool->Read(0, 100)->records, expected);
  spool.reset();
  EXPECT_EQ(Open()->Read(0, 100)->records, expected);
}

TEST_F(EventSpoolTest, SegmentsRotateAndTheOldestGoFirstWhenFull) {
  auto spool = Open(/*segment_bytes=*/200, /*max_bytes=*/600);
  for (int i = 1; i <= 40; ++i) AppendEvent(*spool, i);  // ~70 bytes each
  EXPECT_LE(SegmentCount(), 4u);
  EXPECT_GT(spool->dropped_events(), 0u);
  EXPECT_LE(spool->held_bytes(), 600u + 200u);
  // A cursor that was dropped: the oldest event still held comes back, and the loss is told.
  const auto batch = spool->Read(0, 1000);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->lost, spool->dropped_events());
  EXPECT_EQ(batch->records.size(), 40u - batch->lost);
  EXPECT_THAT(batch->records.front(), HasSubstr(fmt::format(R"("cursor":{},)", batch->lost + 1)));
  EXPECT_EQ(batch->last_cursor, 40u);
  EXPECT_EQ(spool->held_events(), 40u - spool->dropped_events());
}

TEST_F(EventSpoolTest, ConcurrentAppendsKeepEveryEvent) {
  auto spool = Open(4096);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) AppendEvent(*spool, t * 1000 + i);
    });
  }
  for (auto& thread : threads) thread.join();
  const auto batch = spool->Read(0, 10'000);
  ASSERT_EQ(batch->records.size(), 2000u);
  for (size_t i = 0; i < batch->records.size(); ++i) {
    ASSERT_THAT(batch->records[i], HasSubstr(fmt::format(R"({{"cursor":{},)", i + 1)));
  }
}

TEST_F(EventSpoolTest, AnUnwritableDirectoryIsAnError) {
  std::ofstream(dir_) << "a file, not a directory";
  EXPECT_FALSE(EventSpool::Open({.directory = dir_ + "/sub"}).ok());
}

}  // namespace
}  // namespace mingus::agent::spool

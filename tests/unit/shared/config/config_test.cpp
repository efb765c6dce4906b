#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "mingus/config/daemon.h"
#include "mingus/config/flags.h"
#include "mingus/config/yaml_reader.h"

namespace mingus::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ErrorOf(const std::function<void()>& load) {
  try {
    load();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(MapReader, ReadsTypedValuesAndKeepsDefaults) {
  MapReader top(LoadString("a: hello\nb: true\nn: 42\nd: 1m\nsub: {x: y}\n", "f.yaml"), "f.yaml");
  std::string a, absent = "default";
  bool b = false;
  int64_t n = 0;
  std::chrono::milliseconds d{};
  top.Read("a", a);
  top.Read("absent", absent);
  top.Read("b", b);
  top.Read("n", n, 0, 100);
  top.Read("d", d);
  MapReader sub = top.Map("sub");
  std::string x;
  sub.Read("x", x);
  sub.Finish();
  top.Finish();
  EXPECT_EQ(a, "hello");
  EXPECT_EQ(absent, "default");
  EXPECT_TRUE(b);
  EXPECT_EQ(n, 42);
  EXPECT_EQ(d, std::chrono::minutes(1));
  EXPECT_EQ(x, "y");
}

TEST(MapReader, ErrorsNameFileLineAndKey) {
  EXPECT_EQ(ErrorOf([] {
              MapReader r(LoadString("a: 1\nweb:\n  typo: 2\n", "agent.yaml"), "agent.yaml");
              std::string a;
              r.Read("a", a);
              MapReader web = r.Map("web");
              web.Finish();
            }),
            "agent.yaml:3:3: web.typo: unknown key");
  EXPECT_EQ(ErrorOf([] {
              MapReader r(LoadString("flag: maybe\n", "a.yaml"), "a.yaml");
              bool b;
              r.Read("flag", b);
            }),
            "a.yaml:1:7: flag: 'maybe' is not a boolean (true or false)");
  EXPECT_THAT(ErrorOf([] {
                MapReader r(LoadString("n: 500\n", "a.yaml"), "a.yaml");
                int64_t n;
                r.Read("n", n, 0, 100);
              }),
              HasSubstr("a.yaml:1:4: n: 500 is out of range [0, 100]"));
  EXPECT_THAT(ErrorOf([] {
                MapReader r(LoadString("n: [1, 2]\n", "a.yaml"), "a.yaml");
                std::string s;
                r.Read("n", s);
              }),
              HasSubstr("n: expected a single value"));
  EXPECT_THAT(ErrorOf([] {
                MapReader r(LoadString("d: 5 minutes\n", "a.yaml"), "a.yaml");
                std::chrono::milliseconds d;
                r.Read("d", d);
              }),
              HasSubstr("a.yaml:1:4: d: duration '5 minutes'"));
  EXPECT_THAT(ErrorOf([] { MapReader r(LoadString("- a\n- b\n", "a.yaml"), "a.yaml"); }),
              HasSubstr("expected a mapping"));
}

TEST(LoadString, SyntaxErrorsCarryThePosition) {
  EXPECT_THAT(ErrorOf([] { LoadString("a: [1, 2\nb: 3\n", "bad.yaml"); }),
              StartsWith("bad.yaml:"));
  EXPECT_THAT(ErrorOf([] { LoadString("a: b: c\n", "bad.yaml"); }), HasSubstr("bad.yaml:1:"));
  EXPECT_THAT(ErrorOf([] { LoadFile("/nonexistent.yaml"); }), HasSubstr("cannot open"));
}

TEST(FlagSet, KingpinConventions) {
  std::optional<std::string> address, config;
  std::optional<bool> cpu, memory;
  FlagSet flags("prog", "summary");
  flags.String("web.listen-address", "help", &address);
  flags.String("config.file", "help", &config);
  flags.Bool("collector.cpu", "help", &cpu);
  flags.Bool("collector.memory", "help", &memory);
  const char* argv[] = {"prog", "--web.listen-address=:1", "--config.file", "x.yaml",
                        "--no-collector.cpu", "--collector.memory"};
  ASSERT_EQ(*flags.Parse(6, argv, nullptr), FlagSet::Outcome::kRun);
  EXPECT_EQ(address, ":1");
  EXPECT_EQ(config, "x.yaml");
  EXPECT_EQ(cpu, false);
  EXPECT_EQ(memory, true);

  const char* help[] = {"prog", "--help"};
  EXPECT_EQ(*flags.Parse(2, help, nullptr), FlagSet::Outcome::kHelp);
  const char* unknown[] = {"prog", "--nope=1"};
  EXPECT_EQ(flags.Parse(2, unknown, nullptr).message(), "unknown flag '--nope'");
  const char* missing[] = {"prog", "--config.file"};
  EXPECT_EQ(flags.Parse(2, missing, nullptr).message(), "flag '--config.file' needs a value");
  const char* positional[] = {"prog", "extra"};
  EXPECT_FALSE(flags.Parse(2, positional, nullptr).ok());
  std::vector<std::string> args;
  EXPECT_TRUE(flags.Parse(2, positional, &args).ok());
  EXPECT_EQ(args, std::vector<std::string>{"extra"});
  EXPECT_THAT(flags.Usage(), HasSubstr("--[no-]collector.cpu"));
}

// How many malloc arenas (malloc_info's heaps) there are once `threads` threads, all alive at
// once, have each allocated.
int ArenasAfterThreadsAllocate(int threads) {
  std::vector<std::unique_ptr<char[]>> blocks(threads);
  std::latch allocated(threads), release(1);
  std::vector<std::jthread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      blocks[i] = std::make_unique<char[]>(64);
      allocated.count_down();
      release.wait();
    });
  }
  allocated.wait();
  char* xml = nullptr;
  size_t xml_size = 0;
  FILE* out = open_memstream(&xml, &xml_size);
  malloc_info(0, out);
  std::fclose(out);
  const std::string info(xml, xml_size);
  std::free(xml);
  release.count_down();
  int heaps = 0;
  for (size_t at = info.find("<heap nr="); at != std::string::npos;
       at = info.find("<heap nr=", at + 1))
    ++heaps;
  return heaps;
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MINGUS_MALLOC_REPLACED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MINGUS_MALLOC_REPLACED 1
#endif

// Each in a fresh process (the threadsafe death-test style re-runs the binary), since arenas that
// earlier tests' threads made would count.
TEST(CapMallocArenasDeathTest, TwoArenasServeEightThreads) {
#ifdef MINGUS_MALLOC_REPLACED
  GTEST_SKIP() << "the sanitizers bring their own malloc";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Environment unset = [](std::string_view) { return std::nullopt; };
  EXPECT_EXIT(
      {
        if (CapMallocArenas(unset) != kDaemonMallocArenas) std::exit(100);
        std::exit(ArenasAfterThreadsAllocate(8));
      },
      ::testing::ExitedWithCode(kDaemonMallocArenas), "");
}

TEST(CapMallocArenasDeathTest, MallocArenaMaxInTheEnvironmentWins) {
#ifdef MINGUS_MALLOC_REPLACED
  GTEST_SKIP() << "the sanitizers bring their own malloc";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const Environment set = [](std::string_view name) -> std::optional<std::string> {
    if (name == "MALLOC_ARENA_MAX") return "8";
    return std::nullopt;
  };
  // Not capped here (the variable is only pretended), so the threads get arenas of their own.
  EXPECT_EXIT(
      {
        if (CapMallocArenas(set)) std::exit(100);
        std::exit(ArenasAfterThreadsAllocate(8));
      },
      [](int status) {
        return WIFEXITED(status) && WEXITSTATUS(status) > kDaemonMallocArenas &&
               WEXITSTATUS(status) < 100;
      },
      "");
}

}  // namespace
}  // namespace mingus::config

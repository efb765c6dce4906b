// HTTP request handling as the daemons do it: the input is the bytes a client sends on one
// connection (one request, several pipelined, or a broken one) to a running agent or collector
// (the first byte picks which). They go through the server's Beast parser and its limits, the
// routing, the query-string and header handling and the daemon's handlers, and come back as
// responses; in memory (Server::ServeInMemory: the session code of a TCP connection on an
// in-memory stream), so that an execution costs no socket, and with the daemons' own server
// options and routers. Whatever the bytes, the reply must begin with a well-formed HTTP/1.x
// response and hold no 500, and the daemon must go on serving; a crash, a sanitizer report or a
// hang is a bug.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fake_clock.h"
#include "fake_system.h"
#include "fixtures.h"
#include "mingus/agent/agent.h"
#include "mingus/collector/collector.h"
#include "mingus/http/server.h"

namespace {

namespace bhttp = boost::beast::http;
using namespace mingus;

constexpr std::string_view kNotifyYaml = R"(route:
  receiver: hook
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:9/
)";

// The two daemons, started once for the whole run in a scratch directory, and a server on each
// one's router with its options (it listens on loopback too, unused).
struct Daemons {
  testing::FakeClock clock;
  std::string storage =
      std::filesystem::temp_directory_path() / ("fuzz_http_request." + std::to_string(::getpid()));
  std::unique_ptr<agent::Agent> agent;
  std::unique_ptr<collector::Collector> collector;
  std::unique_ptr<http::Server> agent_server, collector_server;

  Daemons() {
    spdlog::set_level(spdlog::level::off);
    // POST /-/reload signals the collector's own process, whose main() would reload: here,
    // nothing to do.
    std::signal(SIGHUP, SIG_IGN);
    const config::Environment no_environment = [](std::string_view) {
      return std::optional<std::string>();
    };
    agent::AgentConfig agent_config = agent::ParseAgentConfig("", "fuzz", {}, no_environment);
    agent_config.paths = {testing::FixturePath("proc"), testing::FixturePath("sys"),
                          testing::FixturePath("rootfs")};
    agent_config.web.listen_address = "127.0.0.1:0";
    agent_config.statsd.listen_udp = "";
    agent_config.storage_path = storage + "/agent";
    const http::ServerOptions agent_web = agent_config.web;
    agent = std::make_unique<agent::Agent>(std::move(agent_config),
                                           std::make_unique<testing::FakeSystemCalls>(), clock);
    const auto agent_addresses = agent->Start();
    if (!agent_addresses.ok()) Fail("agent", agent_addresses.status().message());
    agent_server = std::make_unique<http::Server>(agent_web, Unowned(agent->router()));

    collector::CollectorConfig collector_config =
        collector::ParseCollectorConfig("", "fuzz.yaml", {});
    collector_config.web.listen_address = "127.0.0.1:0";
    collector_config.storage_path = storage + "/collector";
    // With a notify.yaml, so that the silences API is served too; nothing ever fires.
    collector::notify::LoadContext notify_context;
    notify_context.environment = no_environment;
    collector_config.notify = collector::notify::ParseNotifyConfig(std::string(kNotifyYaml),
                                                                   "notify.yaml", notify_context);
    const http::ServerOptions collector_web = collector_config.web;
    collector = std::make_unique<collector::Collector>(std::move(collector_config), clock);
    const auto collector_http = collector->Start();
    if (!collector_http.ok()) Fail("collector", collector_http.status().message());
    collector_server = std::make_unique<http::Server>(collector_web, Unowned(collector->router()));
  }

  ~Daemons() {
    collector->Stop();
    agent->Stop();
    std::error_code ignored;
    std::filesystem::remove_all(storage, ignored);
  }

  [[noreturn]] static void Fail(std::string_view what, std::string_view why) {
    fprintf(stderr, "cannot start the %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
            static_cast<int>(why.size()), why.data());
    std::abort();
  }

  // The daemon owns its router and outlives the server.
  static std::shared_ptr<const http::Router> Unowned(const http::Router& router) {
    return std::shared_ptr<const http::Router>(std::shared_ptr<void>(), &router);
  }
};

// The reply starts with a well-formed response head, and no response is a 500. (Where one
// response ends and the next begins depends on whether its request was a HEAD, so the later
// ones are only searched for the status line.)
void CheckReply(std::string_view reply) {
  if (reply.empty()) return;  // nothing was asked, or the connection closed mid-request
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.skip(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(reply.data(), reply.size()), ec);
  if (ec || !parser.is_header_done()) __builtin_trap();
  if (reply.find(" 500 Internal Server Error\r\n") != std::string_view::npos) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Daemons daemons;
  if (size == 0) return 0;
  const std::string_view request(reinterpret_cast<const char*>(data) + 1, size - 1);
  http::Server& server = data[0] % 2 == 0 ? *daemons.agent_server : *daemons.collector_server;
  CheckReply(server.ServeInMemory(request));
  return 0;
}

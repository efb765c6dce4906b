#include "mingus/collector/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "fixtures.h"
#include "mingus/collector/scrape/discovery.h"
#include "mingus/config/yaml_reader.h"
#include "mingus/http/client.h"
#include "temp_dir.h"

namespace mingus::collector {
namespace {

using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string ErrorOf(const std::string& yaml, const CollectorFlags& flags = {}) {
  try {
    ParseCollectorConfig(yaml, "collector.yaml", flags);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(CollectorConfig, DefaultsAreLoopbackAndPrometheusLike) {
  const CollectorConfig config = ParseCollectorConfig("", "collector.yaml", {});
  EXPECT_EQ(config.web.listen_address, "127.0.0.1:9190");
  EXPECT_EQ(config.scrape_interval, milliseconds(15'000));
  EXPECT_EQ(config.lookback_delta, milliseconds(300'000));
  EXPECT_EQ(config.flush_interval, milliseconds(60'000));
  EXPECT_TRUE(config.scrape_configs.empty());
}

TEST(CollectorConfig, ScrapeConfigsInheritGlobalsAndFlagsWin) {
  const std::string yaml = R"(
global: {scrape_interval: 30s, scrape_timeout: 20s, external_labels: {site: eu}}
storage: {path: /tmp/x, retention: 2d, flush_interval: 10s}
scrape_configs:
  - job_name: agents
    static_configs:
      - targets: ["127.0.0.1:9110", "10.0.0.2:9110"]
        labels: {team: web}
  - job_name: fast
    scrape_interval: 5s
    metrics_path: /m
    honor_labels: true
    sample_limit: 100
    file_sd_configs: [{files: ["sd/*.json"], refresh_interval: 1m}]
)";
  CollectorFlags flags;
  flags.storage_path = "/var/lib/mingus";
  flags.config_file = "/etc/mingus/collector.yaml";
  const CollectorConfig config = ParseCollectorConfig(yaml, "collector.yaml", flags);
  EXPECT_EQ(config.storage_path, "/var/lib/mingus");
  EXPECT_EQ(config.retention, milliseconds(2 * 86'400'000));
  EXPECT_EQ(config.external_labels, (LabelPairs{{"site", "eu"}}));
  ASSERT_EQ(config.scrape_configs.size(), 2u);
  const auto& agents = config.scrape_configs[0];
  EXPECT_EQ(agents.scrape_interval, milliseconds(30'000));
  EXPECT_EQ(agents.scrape_timeout, milliseconds(20'000));
  EXPECT_EQ(agents.static_configs[0].targets.size(), 2u);
  EXPECT_EQ(agents.static_configs[0].labels, (LabelPairs{{"team", "web"}}));
  const auto& fast = config.scrape_configs[1];
  EXPECT_EQ(fast.scrape_interval, milliseconds(5'000));
  EXPECT_EQ(fast.scrape_timeout, milliseconds(5'000));  // lowered to the interval, as Prometheus
  EXPECT_EQ(fast.metrics_path, "/m");
  EXPECT_TRUE(fast.honor_labels);
  EXPECT_EQ(fast.sample_limit, 100);
  EXPECT_EQ(fast.file_sd_configs[0].files, std::vector<std::string>{"sd/*.json"});
  EXPECT_EQ(fast.file_sd_configs[0].refresh_interval, milliseconds(60'000));
  EXPECT_EQ(config.base_directory, "/etc/mingus");
}

TEST(CollectorConfig, BadFilesAreRefusedWithFileLineAndKey) {
  EXPECT_THAT(ErrorOf("globl: {}\n"), HasSubstr("collector.yaml:1:1: globl: unknown key"));
  EXPECT_THAT(ErrorOf("global: {scrape_interval: soon}\n"), HasSubstr("global.scrape_interval"));
  EXPECT_THAT(ErrorOf("scrape_configs: [{static_configs: []}]\n"), HasSubstr("needs a job_name"));
  EXPECT_THAT(ErrorOf("scrape_configs: [{job_name: a}, {job_name: a}]\n"),
              HasSubstr("job 'a' is configured twice"));
  EXPECT_THAT(
      ErrorOf("scrape_configs: [{job_name: a, static_configs: [{targets: ['http://x:1/m']}]}]\n"),
      HasSubstr("without a scheme or path"));
  EXPECT_THAT(ErrorOf("scrape_configs: [{job_name: a, static_configs: [{targets: ['x']}]}]\n"),
              HasSubstr("'x' is not host:port"));
  EXPECT_THAT(ErrorOf("scrape_configs: [{job_name: a, static_configs: [{labels: {1bad: x}}]}]\n"),
              HasSubstr("invalid label name '1bad'"));
  EXPECT_THAT(ErrorOf("scrape_configs: [{job_name: a, scheme: ftp}]\n"),
              HasSubstr("'ftp' is neither http nor https"));
  EXPECT_THAT(ErrorOf("global: {external_labels: {[a]: b}}\n"), HasSubstr("invalid label name ''"));
  EXPECT_THAT(
      ErrorOf("scrape_configs: [{job_name: a, scrape_interval: 5s, scrape_timeout: 10s}]\n"),
      HasSubstr("scrape_timeout 10s is greater than scrape_interval 5s"));
  EXPECT_THAT(ErrorOf("scrape_configs: [{job_name: a, file_sd_configs: [{}]}]\n"),
              HasSubstr("at least one file"));
  CollectorFlags flags;
  flags.listen_address = "nowhere";
  EXPECT_THAT(ErrorOf("", flags), HasSubstr("web.listen_address"));
}

TEST(CollectorConfig, EventsPullFromTheAgentJobByDefault) {
  const CollectorConfig none = ParseCollectorConfig("", "collector.yaml", {});
  EXPECT_TRUE(none.events.jobs.empty());  // no scrape job, nothing to pull
  const CollectorConfig agent = ParseCollectorConfig(
      "scrape_configs: [{job_name: mingus-agent}, {job_name: other}]\n", "collector.yaml", {});
  EXPECT_EQ(agent.events.jobs, std::vector<std::string>{"mingus-agent"});
  EXPECT_EQ(agent.events.pull_interval, milliseconds(15'000));
  EXPECT_EQ(agent.events.pull_timeout, milliseconds(10'000));
  EXPECT_EQ(agent.events.batch_limit, 5'000);
  EXPECT_EQ(agent.events.retention, milliseconds(90ll * 86'400'000));
  EXPECT_EQ(agent.events.rollup_retention, milliseconds(400ll * 86'400'000));
  EXPECT_EQ(agent.events.distinct_cache, 500'000);
  const CollectorConfig off = ParseCollectorConfig(
      "scrape_configs: [{job_name: mingus-agent}]\nevents: {jobs: []}\n", "collector.yaml", {});
  EXPECT_TRUE(off.events.jobs.empty());
}

TEST(CollectorConfig, EventsSectionIsReadAndDefaultsFollowIt) {
  const CollectorConfig config = ParseCollectorConfig(R"(
scrape_configs: [{job_name: web}, {job_name: api}]
events:
  jobs: [web, api]
  pull_interval: 5s
  batch_limit: 10000
  concurrency: 16
  retention: 500d
  max_future_skew: 10m
  distinct_cache: 0
)",
                                                      "collector.yaml", {});
  EXPECT_EQ(config.events.jobs, (std::vector<std::string>{"web", "api"}));
  EXPECT_EQ(config.events.pull_interval, milliseconds(5'000));
  EXPECT_EQ(config.events.pull_timeout, milliseconds(5'000));  // default lowered to the interval
  EXPECT_EQ(config.events.batch_limit, 10'000);
  EXPECT_EQ(config.events.concurrency, 16);
  EXPECT_EQ(config.events.retention, milliseconds(500ll * 86'400'000));
  EXPECT_EQ(config.events.rollup_retention, config.events.retention);  // default raised to it
  EXPECT_EQ(config.events.max_future_skew, milliseconds(600'000));
  EXPECT_EQ(config.events.distinct_cache, 0);
  const CollectorConfig slow =
      ParseCollectorConfig("events: {jobs: [], pull_interval: 10m}\n", "collector.yaml", {});
  EXPECT_EQ(slow.events.max_backoff, milliseconds(600'000));  // default raised to the interval
}

TEST(CollectorConfig, BadEventsSectionsAreRefusedWithLineAndKey) {
  const std::string jobs = "scrape_configs: [{job_name: mingus-agent}, {job_name: b}]\n";
  EXPECT_THAT(ErrorOf(jobs + "events: {jobs: [nope]}\n"),
              HasSubstr("collector.yaml:2:16: events.jobs: 'nope' is not a job_name of "
                        "scrape_configs (they are: mingus-agent, b)"));
  EXPECT_THAT(ErrorOf("events: {jobs: [a]}\n"), HasSubstr("(they are: none)"));
  EXPECT_THAT(ErrorOf(jobs + "events: {jobs: [b, b]}\n"), HasSubstr("job 'b' is listed twice"));
  EXPECT_THAT(ErrorOf(jobs + "events: {jobs: b}\n"), HasSubstr("events.jobs: expected a list"));
  EXPECT_THAT(ErrorOf(jobs + "events: {pull_intervall: 1s}\n"),
              HasSubstr("events.pull_intervall: unknown key"));
  EXPECT_THAT(ErrorOf(jobs + "events: {pull_interval: 0s}\n"),
              HasSubstr("events.pull_interval: must be above zero"));
  EXPECT_THAT(ErrorOf(jobs + "events: {pull_interval: 5s, pull_timeout: 6s}\n"),
              HasSubstr("events.pull_timeout: 6s is greater than pull_interval 5s"));
  EXPECT_THAT(ErrorOf(jobs + "events: {batch_limit: 20000}\n"),
              HasSubstr("events.batch_limit: 20000 is out of range [1, 10000]"));
  EXPECT_THAT(ErrorOf(jobs + "events: {concurrency: 0}\n"),
              HasSubstr("events.concurrency: 0 is out of range [1, 256]"));
  EXPECT_THAT(ErrorOf(jobs + "events: {pull_interval: 1m, max_backoff: 30s}\n"),
              HasSubstr("events.max_backoff: 30s is less than pull_interval 1m"));
  EXPECT_THAT(ErrorOf(jobs + "events: {retention: 30d, rollup_retention: 7d}\n"),
              HasSubstr("events.rollup_retention: 1w is less than retention 4w2d"));
  EXPECT_THAT(ErrorOf(jobs + "events: {retention: soon}\n"), HasSubstr("events.retention"));
  EXPECT_THAT(ErrorOf(jobs + "events: {max_future_skew: -1h}\n"),
              HasSubstr("events.max_future_skew"));
  EXPECT_THAT(ErrorOf(jobs + "events: {distinct_cache: -1}\n"),
              HasSubstr("events.distinct_cache: -1 is out of range [0, 100000000]"));
  EXPECT_THAT(ErrorOf(jobs + "events: {distinct_cache: 1e6}\n"),
              HasSubstr("events.distinct_cache"));
}

TEST(CollectorConfig, ShippedFileLoadsAndDocumentsTheDefaults) {
  CollectorFlags flags;
  flags.config_file = MINGUS_SOURCE_DIR "/configs/collector.yaml";
  const CollectorConfig shipped = LoadCollectorConfig(flags);
  const CollectorConfig defaults = ParseCollectorConfig("", "defaults", {});
  EXPECT_EQ(shipped.web.listen_address, defaults.web.listen_address);
  EXPECT_EQ(shipped.scrape_interval, defaults.scrape_interval);
  EXPECT_EQ(shipped.scrape_timeout, defaults.scrape_timeout);
  EXPECT_EQ(shipped.evaluation_interval, defaults.evaluation_interval);
  EXPECT_EQ(shipped.retention, defaults.retention);
  EXPECT_EQ(shipped.flush_interval, defaults.flush_interval);
  EXPECT_EQ(shipped.lookback_delta, defaults.lookback_delta);
  EXPECT_EQ(shipped.query_max_samples, defaults.query_max_samples);
  EXPECT_EQ(shipped.scrape_concurrency, defaults.scrape_concurrency);
  EXPECT_EQ(shipped.storage_path, defaults.storage_path);
  EXPECT_EQ(shipped.events.jobs, std::vector<std::string>{"mingus-agent"});
  const CollectorConfig with_agent =
      ParseCollectorConfig("scrape_configs: [{job_name: mingus-agent}]\n", "defaults", {});
  EXPECT_EQ(shipped.events.pull_interval, with_agent.events.pull_interval);
  EXPECT_EQ(shipped.events.pull_timeout, with_agent.events.pull_timeout);
  EXPECT_EQ(shipped.events.batch_limit, with_agent.events.batch_limit);
  EXPECT_EQ(shipped.events.concurrency, with_agent.events.concurrency);
  EXPECT_EQ(shipped.events.max_backoff, with_agent.events.max_backoff);
  EXPECT_EQ(shipped.events.retention, with_agent.events.retention);
  EXPECT_EQ(shipped.events.rollup_retention, with_agent.events.rollup_retention);
  EXPECT_EQ(shipped.events.max_future_skew, with_agent.events.max_future_skew);
  EXPECT_EQ(shipped.events.distinct_cache, with_agent.events.distinct_cache);
  ASSERT_EQ(shipped.scrape_configs.size(), 2u);
  EXPECT_EQ(shipped.scrape_configs[0].static_configs[0].targets,
            std::vector<std::string>{"127.0.0.1:9110"});
}

TEST(CollectorConfig, ScrapeJobsReachTheirTargetsWithTlsAndCredentials) {
  testing::TempDir dir("collector-client");
  std::ofstream(dir.path() / "password") << "secret\n";
  std::ofstream(dir.path() / "token") << "t0ken\n";  // one newline dropped, as Alertmanager
  const std::string ca = testing::FixturePath("web/ca.pem");
  const std::string cert = testing::FixturePath("web/client.pem");
  const std::string key = testing::FixturePath("web/client-key.pem");
  const std::string yaml = "scrape_configs:\n  - job_name: basic\n    tls_config: {ca_file: " + ca +
                           ", cert_file: " + cert + ", key_file: " + key + R"(,
                 server_name: agent.internal, insecure_skip_verify: false}
    scheme: https
    basic_auth: {username: alice, password_file: password}
    static_configs: [{targets: ["127.0.0.1:9110"]}]
  - job_name: inline
    basic_auth: {username: bob, password: "pa:ss"}
  - job_name: authorization
    authorization: {credentials_file: token}
  - job_name: token-type
    authorization: {type: Token, credentials: abc}
  - job_name: bearer
    bearer_token: xyz
  - job_name: bearer-file
    bearer_token_file: token
  - job_name: plain
)";
  // Relative *_file paths are the configuration file's folder's.
  const CollectorConfig config =
      ParseCollectorConfig(yaml, (dir.path() / "collector.yaml").string(), {});
  ASSERT_EQ(config.scrape_configs.size(), 7u);
  const auto& basic = config.scrape_configs[0].client;
  EXPECT_EQ(basic.scheme, "https");
  EXPECT_EQ(basic.tls.ca_file, ca);
  EXPECT_EQ(basic.tls.server_name, "agent.internal");
  EXPECT_EQ(basic.tls.cert_file, cert);
  EXPECT_EQ(basic.tls.key_file, key);
  EXPECT_EQ(basic.authorization, http::BasicAuthorization("alice", "secret"));
  EXPECT_EQ(config.scrape_configs[1].client.authorization,
            http::BasicAuthorization("bob", "pa:ss"));
  EXPECT_EQ(config.scrape_configs[1].client.scheme, "http");
  EXPECT_EQ(config.scrape_configs[2].client.authorization, "Bearer t0ken");
  EXPECT_EQ(config.scrape_configs[3].client.authorization, "Token abc");
  EXPECT_EQ(config.scrape_configs[4].client.authorization, "Bearer xyz");
  EXPECT_EQ(config.scrape_configs[5].client.authorization, "Bearer t0ken");
  EXPECT_EQ(config.scrape_configs[6].client, scrape::TargetClient{});
  // The targets (and so the scrapes and the event pulls) carry them.
  const auto targets =
      scrape::BuildTargets(config.scrape_configs[0], config.scrape_configs[0].static_configs);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0].Url(), "https://127.0.0.1:9110/metrics");
  EXPECT_EQ(targets[0].client, basic);
}

TEST(CollectorConfig, RefusesBadClientSettingsNamingTheKey) {
  // The keys and messages of notify.yaml's http_config, which reads them.
  const std::pair<std::string, std::string> cases[] = {
      {"basic_auth: {username: a, password: b}, bearer_token: c",
       "basic_auth: at most one of basic_auth, oauth2, bearer_token & bearer_token_file"},
      {"basic_auth: {username: a, password: b}, authorization: {credentials: c}",
       "authorization: at most one of basic_auth, oauth2 & authorization"},
      {"authorization: {credentials: c}, bearer_token_file: /x",
       "authorization: authorization is not compatible with bearer_token"},
      {"basic_auth: {username: a, password: b, password_file: /etc/passwd}",
       "basic_auth.password_file: at most one of basic_auth password & password_file"},
      {"basic_auth: {username: a, password_file: /nonexistent/password}",
       "basic_auth.password_file: could not read secret file: /nonexistent/password"},
      {"basic_auth: {username: a, username_file: /x}",
       "basic_auth.username_file: not supported by mingus-collector"},
      {"authorization: {type: Basic, credentials: Evil}",
       "authorization: authorization type cannot be set to \"basic\""},
      {"authorization: {credentials: c, credentials_file: /x}",
       "authorization.credentials_file: at most one of authorization credentials & "
       "credentials_file"},
      {"bearer_token: a, bearer_token_file: /x",
       "bearer_token_file: at most one of bearer_token & bearer_token_file"},
      {"tls_config: {cert_file: /x}", "tls_config.key_file: a client certificate needs both"},
      {"tls_config: {key_file: /x}", "tls_config.cert_file: a client certificate needs both"},
      {"tls_config: {ca_file: /nonexistent/ca.pem}", "tls_config.ca_file: /nonexistent/ca.pem"},
      {"tls_config: {min_version: TLS13}", "tls_config.min_version: not supported"},
      {"tls_config: {insecure_skip_verify: maybe}", "tls_config.insecure_skip_verify: 'maybe'"},
      {"follow_redirects: false", "follow_redirects: not supported"},
  };
  for (const auto& [settings, expected] : cases) {
    const std::string error = ErrorOf("scrape_configs: [{job_name: a, " + settings + "}]\n");
    EXPECT_THAT(error, AllOf(HasSubstr("collector.yaml:1:"), HasSubstr(expected))) << settings;
    // Secrets stay out of the messages.
    EXPECT_THAT(error, ::testing::Not(HasSubstr("Evil"))) << settings;
  }
}

TEST(CollectorConfig, ListeningBeyondLoopbackNeedsBasicAuth) {
  CollectorFlags flags;
  for (const char* address : {"0.0.0.0:9190", "[::]:9190", "10.1.2.3:9190"}) {
    flags.listen_address = address;
    EXPECT_THAT(ErrorOf("", flags),
                AllOf(HasSubstr("web.listen_address"), HasSubstr("beyond loopback"),
                      HasSubstr("basic_auth_users"), HasSubstr("--web.config.file")))
        << address;
  }
  for (const char* address : {"127.0.0.1:9190", "127.0.0.2:0", "[::1]:9190"}) {
    flags.listen_address = address;
    EXPECT_EQ(ErrorOf("", flags), "no error") << address;
  }
  testing::TempDir dir("collector-web-config");
  const std::string web_config = (dir.path() / "web.yml").string();
  std::ofstream(web_config) << "basic_auth_users: {admin: "
                               "$2b$04$ta3t.KsqHRFmqfCOvfqIrusVmlp9C6k3bn7s40xkhL5x0xHG94BAO}\n";
  flags.listen_address = "0.0.0.0:9190";
  flags.web_config_file = web_config;
  const CollectorConfig config = ParseCollectorConfig("", "collector.yaml", flags);
  EXPECT_EQ(config.web.web_config.basic_auth_users.size(), 1u);
  // A bad web config is refused naming its own file.
  std::ofstream(web_config) << "basic_auth_users: {admin: plain}\n";
  EXPECT_THAT(ErrorOf("", flags),
              AllOf(HasSubstr(web_config), HasSubstr("basic_auth_users.admin")));
}

}  // namespace
}  // namespace mingus::collector

// mingus-demo: what a busy Mingus app would report, through the C++ SDK, for `make run`.
//
// Each run plays one "host" of the app (MINGUS_AGENT_ADDR names its agent) for --duration
// seconds, or until SIGINT/SIGTERM:
//   - API requests on a handful of endpoints, latency log-normal per endpoint and shaped by the
//     time of day, an occasional spike, a few errors (--error-ratio);
//   - database queries through DbTimer-like events, among them a slow search on
//     expenses.merchant that no index serves (the DB optimizer's finding);
//   - score calculations through the ScoreOptimizer (memoised: repeats are cached);
//   - registrations and engagement, feature usage, feedback with comments, user metrics;
//   - UX clicks along the pricing -> signup -> onboarding -> dashboard funnel;
//   - an A/B experiment whose variant B converts better than A, assigned by the SDK;
//   - cache lookups and data-source cost and value.
// The stream is a function of --seed. Usage:
//   mingus-demo [--rate EVENTS_PER_SECOND] [--duration SECONDS] [--seed N] [--error-ratio R]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mingus/client.h"
#include "mingus/experiments.h"
#include "mingus/score_optimizer.h"

namespace mc = mingus::client;

namespace {

std::atomic<bool> stopping{false};

struct Options {
  double rate = 100;    // events a second
  double duration = 0;  // seconds; 0: until a signal
  unsigned seed = 1;
  double error_ratio = 0.03;
};

struct Endpoint {
  const char* method;
  const char* path;  // "{id}" becomes a number
  double median_ms;
  double weight;
  int status;
};
constexpr Endpoint kEndpoints[] = {
    {"GET", "/api/dashboard", 45, 20, 200},
    {"GET", "/api/users/{id}", 12, 15, 200},
    {"GET", "/api/expenses", 35, 15, 200},
    {"POST", "/api/expenses", 60, 8, 201},
    {"GET", "/api/expenses/{id}", 15, 8, 200},
    {"POST", "/api/score", 120, 6, 200},
    {"GET", "/api/reports/monthly", 250, 3, 200},
    {"POST", "/api/login", 80, 5, 200},
    {"GET", "/health", 2, 10, 200},
};

struct Query {
  const char* sql;  // {id} becomes a user id
  double median_ms;
  double weight;
  int max_rows;
};
constexpr Query kQueries[] = {
    {"SELECT id, email, name FROM users WHERE id = {id}", 2, 20, 1},
    {"SELECT * FROM expenses WHERE user_id = {id} ORDER BY created_at DESC LIMIT 50", 8, 18, 50},
    {"SELECT category, SUM(amount) FROM expenses WHERE user_id = {id} GROUP BY category", 25, 6,
     12},
    {"INSERT INTO expenses (user_id, amount, category) VALUES ({id}, 12.5, 'food')", 6, 8, 1},
    {"UPDATE users SET last_seen = CURRENT_TIMESTAMP WHERE id = {id}", 4, 6, 1},
    // No index on merchant: every search scans the table, slowly.
    {"SELECT * FROM expenses WHERE merchant = 'store {id}' ORDER BY created_at DESC", 900, 3, 40},
};

constexpr const char* kFeatures[] = {"budget", "goals", "reports", "export", "score", "alerts"};
constexpr const char* kActions[] = {"login", "view_dashboard", "add_expense", "set_goal", "logout"};
constexpr const char* kComments[] = {"",
                                     "love the budget view",
                                     "export is slow",
                                     "the score helped me",
                                     "confusing onboarding",
                                     "great app, thanks"};
struct FunnelStep {
  const char* page;
  const char* element;
  double reach;  // share of the previous step's users who get here
};
constexpr FunnelStep kFunnel[] = {{"/pricing", "cta_signup", 1.0},
                                  {"/signup", "submit_signup", 0.55},
                                  {"/onboarding", "finish_onboarding", 0.7},
                                  {"/dashboard", "add_first_expense", 0.8}};

std::string WithId(const char* text, int id) {
  std::string out = text;
  if (const auto at = out.find("{id}"); at != std::string::npos)
    out.replace(at, 4, std::to_string(id));
  return out;
}

class Demo {
 public:
  Demo(const Options& options, mc::Client& client)
      : options_(options),
        client_(client),
        random_(options.seed),
        checkout_(client, "checkout_cta", {{"A", 1}, {"B", 1}}),
        scores_(client) {}

  void Step() {
    const double pick = Uniform();
    if (pick < 0.40) return Api();
    if (pick < 0.62) return Db();
    if (pick < 0.66) return Score();
    if (pick < 0.74) return Engagement();
    if (pick < 0.79) return client_.TrackFeatureUsage(User(), Choose(kFeatures), Uniform() * 120);
    if (pick < 0.80) return Feedback();
    if (pick < 0.81) return client_.TrackUserMetric(User(), "savings", Normal(120, 40));
    if (pick < 0.84) return Funnel();
    if (pick < 0.90) return Experiment();
    if (pick < 0.97) return client_.TrackCache("scores", Uniform() < 0.8 ? "hit" : "miss");
    return DataSource();
  }

 private:
  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(random_); }
  double Normal(double mean, double sd) {
    return std::normal_distribution<double>(mean, sd)(random_);
  }
  template <typename T, size_t N>
  const T& Choose(const T (&items)[N]) {
    return items[std::uniform_int_distribution<size_t>(0, N - 1)(random_)];
  }
  template <typename T, size_t N>
  const T& ChooseWeighted(const T (&items)[N]) {
    double total = 0;
    for (const T& item : items) total += item.weight;
    double at = Uniform() * total;
    for (const T& item : items) {
      if ((at -= item.weight) < 0) return item;
    }
    return items[N - 1];
  }
  // A few heavy users and a long tail; user ids beyond the known ones are new registrations.
  std::string User() {
    if (Uniform() < 0.02) return std::to_string(++newest_user_);
    const int id = 1 + static_cast<int>(std::pow(Uniform(), 2) * std::min(newest_user_, 300));
    return std::to_string(id);
  }
  // Busier and slower in the (UTC) afternoon, quiet at night: a daily shape of the load.
  static double DailyFactor() {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const double hour = std::fmod(std::chrono::duration<double>(now).count() / 3600, 24);
    return 1 + 0.5 * std::sin((hour - 9) / 24 * 2 * M_PI);
  }
  double LatencyMs(double median) {
    double ms = median * std::exp(Normal(0, 0.5)) * DailyFactor();
    if (Uniform() < 0.01) ms += 1000 + Uniform() * 3000;  // a spike
    return ms;
  }

  void Api() {
    const Endpoint& e = ChooseWeighted(kEndpoints);
    int status = e.status;
    if (Uniform() < options_.error_ratio)
      status = 500 + static_cast<int>(Uniform() * 3);
    else if (Uniform() < 0.04)
      status = 404;
    const std::string user = User();
    client_.RecordApiRequest(WithId(e.path, 1 + static_cast<int>(Uniform() * 5000)), e.method,
                             status, LatencyMs(e.median_ms), user);
  }
  void Db() {
    const Query& q = ChooseWeighted(kQueries);
    client_.RecordDbQuery(WithId(q.sql, 1 + static_cast<int>(Uniform() * 300)),
                          LatencyMs(q.median_ms), std::floor(Uniform() * q.max_rows));
  }
  void Score() {
    const std::string user = User();
    // Inputs repeat (a user's score asked again), so the optimizer's memo serves many of them.
    const int input = static_cast<int>(Uniform() * 50);
    scores_.Calculate("credit", input, [&](int value) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      return 300 + (value * 37) % 550;
    });
  }
  void Engagement() {
    const std::string user = User();
    client_.TrackUserEngagement(user, Choose(kActions), "s" + user, Uniform() * 300);
  }
  void Feedback() {
    const bool nps = Uniform() < 0.5;
    const double rating = nps ? std::round(std::clamp(Normal(8, 2), 0.0, 10.0))
                              : std::round(std::clamp(Normal(4, 1), 1.0, 5.0));
    client_.TrackUserFeedback(User(), nps ? "nps" : "csat", rating, Choose(kComments));
  }
  void Funnel() {
    const std::string user = User();
    const std::string session = "f" + std::to_string(++sessions_);
    for (const FunnelStep& step : kFunnel) {
      if (Uniform() >= step.reach) break;
      client_.TrackUserInteraction(user, "click", step.element, step.page, session);
      if (Uniform() < 0.03) {  // rage clicks: three more on the same element at once
        for (int i = 0; i < 3; ++i)
          client_.TrackUserInteraction(user, "click", step.element, step.page, session);
      }
    }
  }
  void Experiment() {
    const std::string user = User();
    const std::string_view variant = checkout_.Expose(user);
    if (Uniform() < (variant == "B" ? 0.18 : 0.10)) checkout_.Convert(user);
  }
  void DataSource() {
    static constexpr struct {
      const char* name;
      double cost, value;
    } kSources[] = {{"plaid", 0.25, 1.2}, {"experian", 1.5, 4.0}, {"yodlee", 0.4, 0.3}};
    const auto& source = Choose(kSources);
    std::string line;
    mc::wire::JsonLine event(line, "data_source");
    event.Text("source", source.name).Number("cost", source.cost);
    event.Number("value", std::max(0.0, Normal(source.value, source.value / 3)));
    event.Finish();
    client_.SendLine(line);
  }

  const Options options_;
  mc::Client& client_;
  std::mt19937 random_;
  mc::Experiment checkout_;
  mc::ScoreOptimizer<int> scores_;
  int newest_user_ = 300;
  int sessions_ = 0;
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--rate" && has_value)
      options.rate = std::atof(argv[++i]);
    else if (flag == "--duration" && has_value)
      options.duration = std::atof(argv[++i]);
    else if (flag == "--seed" && has_value)
      options.seed = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (flag == "--error-ratio" && has_value)
      options.error_ratio = std::atof(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: mingus-demo [--rate N] [--duration S] [--seed N] [--error-ratio R]\n"
                   "(the agent's address comes from MINGUS_AGENT_ADDR, default 127.0.0.1:8125)\n");
      std::exit(2);
    }
  }
  if (!(options.rate > 0) || options.duration < 0) {
    std::fprintf(stderr, "mingus-demo: --rate must be positive and --duration not negative\n");
    std::exit(2);
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = ParseOptions(argc, argv);
  std::signal(SIGINT, [](int) { stopping = true; });
  std::signal(SIGTERM, [](int) { stopping = true; });
  mc::Client client;
  Demo demo(options, client);
  const auto start = std::chrono::steady_clock::now();
  const auto tick = std::chrono::milliseconds(50);
  double owed = 0;  // events due but not yet sent, so that the rate holds on average
  auto next = start;
  while (!stopping) {
    owed += options.rate * std::chrono::duration<double>(tick).count();
    for (; owed >= 1; owed -= 1) demo.Step();
    next += tick;
    std::this_thread::sleep_until(next);
    if (options.duration > 0 && std::chrono::steady_clock::now() - start >=
                                    std::chrono::duration<double>(options.duration)) {
      break;
    }
  }
  client.Flush();
  const mc::ClientStats stats = client.Stats();
  std::printf("mingus-demo: sent %llu lines in %llu datagrams\n",
              static_cast<unsigned long long>(stats.sent_lines),
              static_cast<unsigned long long>(stats.sent_datagrams));
  return 0;
}

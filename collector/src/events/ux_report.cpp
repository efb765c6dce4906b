#include "mingus/collector/events/ux_report.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <numeric>
#include <tuple>

#include "mingus/collector/events/event_store.h"
#include "mingus/common/duration.h"
#include "mingus/common/fast_hash.h"
#include "mingus/common/text.h"
#include "mingus/metrics/family_builder.h"

namespace mingus::collector::events {

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr double kConfidence = 0.95;
constexpr double kSignificance = 1 - kConfidence;
// A sample-ratio mismatch is flagged below this p-value, as is usual for SRM checks: the
// split is checked on every report, so a looser level would cry wolf.
constexpr double kSrmPValue = 0.001;

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower =
      *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

double Ratio(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

// An interaction held until Finish: its user and session as hashes to sort by and as text to
// tell apart two that share a hash, its page, element and event type as interned ids.
struct SessionEvent {
  int64_t time_ms = 0, sequence = 0;
  uint64_t user_hash = 0, session_hash = 0;
  std::string_view user, session;
  uint32_t page = 0, element = 0, event_type = 0;
};

// An experiment event held until Finish, likewise.
struct ExposureEvent {
  int64_t time_ms = 0, sequence = 0;
  uint64_t user_hash = 0;
  std::string_view user;
  uint32_t experiment = 0, variant = 0;
  bool conversion = false;
};

// Copies of the texts the held events view, in blocks that never move. Users and sessions are
// copied per event rather than interned: at 1 million events, where nearly every session is
// new, a hash table of them was a third of the report's time.
class TextCopies {
 public:
  std::string_view Copy(std::string_view text) {
    if (text.size() > left_) {
      const size_t size = std::max(kBlock, text.size());
      blocks_.push_back(std::make_unique<char[]>(size));
      next_ = blocks_.back().get();
      left_ = size;
    }
    std::copy(text.begin(), text.end(), next_);
    const std::string_view copy(next_, text.size());
    next_ += text.size();
    left_ -= text.size();
    return copy;
  }

 private:
  static constexpr size_t kBlock = size_t{1} << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* next_ = nullptr;
  size_t left_ = 0;
};

struct PageSums {
  int64_t views = 0, sessions = 0, entries = 0, bounces = 0, clicks = 0;
  std::vector<double> dwell_seconds;
  int64_t dwell_ms = 0;  // their sum, exact whatever the order sessions come in
};

struct ElementSums {
  int64_t clicks = 0, sessions = 0, rage_clicks = 0, rage_sessions = 0, dead_clicks = 0;
};

struct FunnelSums {
  int64_t entries = 0;
  std::vector<int64_t> reached;
  std::vector<std::vector<double>> seconds_from_previous;
};

struct VariantSums {
  int64_t exposures = 0, conversions = 0;
};

struct ExperimentSums {
  std::map<std::string, VariantSums, std::less<>> variants;
  int64_t several_variants = 0, unattributed = 0;
};

constexpr uint32_t kNone = UINT32_MAX;  // no interned id

// One user's conversion state in one experiment, while their events are read.
struct ExposureState {
  uint32_t variant = kNone;  // of the first exposure
  bool several = false, converted = false, converted_unexposed = false;
};

}  // namespace

struct UxAccumulator::State {
  State(const UxConfig& c, std::string p) : config(c), page(std::move(p)) {
    const auto id = [&](const std::string& name) { return name.empty() ? kAny : Intern(name); };
    click = Intern("click");
    funnels.resize(config.funnels.size());
    for (size_t f = 0; f < config.funnels.size(); ++f) {
      const auto& steps = config.funnels[f].steps;
      funnels[f].reached.assign(steps.size(), 0);
      funnels[f].seconds_from_previous.resize(steps.size());
      user_funnel_events.emplace_back();
      funnel_steps.emplace_back();
      for (const FunnelStep& step : steps)
        funnel_steps[f].push_back({id(step.page), id(step.element), id(step.event_type)});
    }
  }

  uint32_t Intern(std::string_view name) {
    if (const auto found = ids.find(name); found != ids.end()) return found->second;
    const auto id = static_cast<uint32_t>(names.size());
    ids.emplace(names.emplace_back(name), id);
    return id;
  }
  // What a funnel step matches, as interned ids (kAny for a field it leaves open).
  struct StepIds {
    uint32_t page, element, event_type;
    bool Matches(const SessionEvent& event) const {
      return (page == kAny || page == event.page) &&
             (element == kAny || element == event.element) &&
             (event_type == kAny || event_type == event.event_type);
    }
  };

  void AddInteraction(const SessionEvent& e);
  void FlushSession();
  void FlushUser();
  void CountFunnel(size_t f, const std::vector<SessionEvent>& events);
  void AddExperimentEvent(const ExposureEvent& e);
  void FlushExposure();

  static constexpr uint32_t kAny = UINT32_MAX;
  const UxConfig config;
  const std::string page;
  // Interned pages, elements, event types, experiments and variants (few, each seen often).
  std::deque<std::string> names;  // stable: `ids` views them
  boost::unordered_flat_map<std::string_view, uint32_t, FastHash> ids;
  uint32_t click = 0;
  std::vector<std::vector<StepIds>> funnel_steps;
  TextCopies users_and_sessions;
  std::vector<SessionEvent> added_interactions;
  std::vector<ExposureEvent> added_experiment_events;

  // The session and user being read, and what FlushSession reuses from one session to the next.
  std::string_view user, session_id;
  std::vector<SessionEvent> session;
  std::vector<std::pair<uint32_t, int64_t>> visits;                  // page, start
  std::vector<uint32_t> visited;                                     // pages
  std::vector<std::tuple<uint32_t, uint32_t, int64_t>> click_times;  // page, element, time
  std::vector<std::vector<SessionEvent>> user_funnel_events;         // per windowed funnel
  int64_t interactions = 0, clicks = 0, sessions = 0, users = 0;
  std::map<uint32_t, PageSums> pages;
  std::map<std::pair<uint32_t, uint32_t>, ElementSums> elements;
  std::vector<FunnelSums> funnels;

  uint32_t experiment = kNone;
  std::string_view experiment_user;
  ExposureState exposure;
  std::map<std::string, ExperimentSums, std::less<>> experiments;
};

void UxAccumulator::State::AddInteraction(const SessionEvent& e) {
  const bool new_user = users == 0 || e.user != user;
  const bool new_session = new_user || e.session != session_id ||
                           e.time_ms - session.back().time_ms > config.session_timeout.count();
  if (new_session && !session.empty()) FlushSession();
  if (new_user) {
    if (users > 0) FlushUser();
    user = e.user;
    ++users;
  }
  session_id = e.session;
  ++interactions;
  session.push_back(e);
}

void UxAccumulator::State::FlushSession() {
  ++sessions;
  // Visits: runs of events on one page. Dwell runs from a visit's first event to the next's.
  visits.clear();
  for (const SessionEvent& event : session) {
    if (visits.empty() || visits.back().first != event.page)
      visits.emplace_back(event.page, event.time_ms);
  }
  visited.clear();
  for (size_t i = 0; i < visits.size(); ++i) {
    PageSums& sums = pages[visits[i].first];
    ++sums.views;
    visited.push_back(visits[i].first);
    if (i + 1 < visits.size()) {
      const int64_t dwell_ms = visits[i + 1].second - visits[i].second;
      sums.dwell_ms += dwell_ms;
      sums.dwell_seconds.push_back(static_cast<double>(dwell_ms) / 1000);
    }
  }
  std::sort(visited.begin(), visited.end());
  visited.erase(std::unique(visited.begin(), visited.end()), visited.end());
  for (const uint32_t page_id : visited) ++pages[page_id].sessions;
  PageSums& entry = pages[visits.front().first];
  ++entry.entries;
  if (visits.size() == 1) ++entry.bounces;

  // Clicks per element, with their rage and dead clicks.
  click_times.clear();
  for (size_t i = 0; i < session.size(); ++i) {
    const SessionEvent& event = session[i];
    if (event.event_type != click) continue;
    ++clicks;
    ++pages[event.page].clicks;
    ElementSums& sums = elements[{event.page, event.element}];
    ++sums.clicks;
    click_times.emplace_back(event.page, event.element, event.time_ms);
    // Dead: nothing else happens in the session within the window; clicking the same element
    // again is no reaction from the app.
    bool reacted = false;
    for (size_t j = i + 1; j < session.size() && !reacted; ++j) {
      const SessionEvent& next = session[j];
      if (next.time_ms - event.time_ms > config.dead_click_window.count()) break;
      reacted =
          !(next.event_type == click && next.page == event.page && next.element == event.element);
    }
    if (!reacted) ++sums.dead_clicks;
  }
  // Each element's clicks in time order, one run per element.
  std::sort(click_times.begin(), click_times.end());
  const auto count = static_cast<size_t>(config.rage_click_count);
  for (size_t begin = 0, end = 0; begin < click_times.size(); begin = end) {
    const uint32_t page_id = std::get<0>(click_times[begin]),
                   element = std::get<1>(click_times[begin]);
    while (end < click_times.size() && std::get<0>(click_times[end]) == page_id &&
           std::get<1>(click_times[end]) == element)
      ++end;
    ElementSums& sums = elements[{page_id, element}];
    ++sums.sessions;
    int64_t rage = 0;
    for (size_t i = begin + count - 1; i < end; ++i) {
      if (std::get<2>(click_times[i]) - std::get<2>(click_times[i + 1 - count]) <=
          config.rage_click_window.count())
        ++rage;
    }
    sums.rage_clicks += rage;
    if (rage > 0) ++sums.rage_sessions;
  }

  for (size_t f = 0; f < config.funnels.size(); ++f) {
    if (config.funnels[f].within.count() == 0) {
      CountFunnel(f, session);
      continue;
    }
    const auto& steps = funnel_steps[f];
    for (const SessionEvent& event : session) {
      if (std::any_of(steps.begin(), steps.end(),
                      [&](const StepIds& step) { return step.Matches(event); }))
        user_funnel_events[f].push_back(event);
    }
  }
  session.clear();
}

// Each step is the first event matching it after the previous step's (greedy, which finds a
// way through the steps whenever there is one); with a window, no later than `within` after
// the first step.
void UxAccumulator::State::CountFunnel(size_t f, const std::vector<SessionEvent>& events) {
  const FunnelConfig& funnel = config.funnels[f];
  FunnelSums& sums = funnels[f];
  size_t step = 0;
  int64_t entry_ms = 0, previous_ms = 0;
  for (const SessionEvent& event : events) {
    if (step == funnel.steps.size()) break;
    if (step > 0 && funnel.within.count() > 0 && event.time_ms - entry_ms > funnel.within.count())
      break;
    if (!funnel_steps[f][step].Matches(event)) continue;
    if (step == 0) {
      ++sums.entries;
      entry_ms = event.time_ms;
    } else {
      sums.seconds_from_previous[step].push_back(static_cast<double>(event.time_ms - previous_ms) /
                                                 1000);
    }
    ++sums.reached[step];
    previous_ms = event.time_ms;
    ++step;
  }
}

void UxAccumulator::State::FlushUser() {
  for (size_t f = 0; f < config.funnels.size(); ++f) {
    auto& events = user_funnel_events[f];
    if (events.empty()) continue;
    std::sort(events.begin(), events.end(), [](const SessionEvent& a, const SessionEvent& b) {
      return std::tie(a.time_ms, a.sequence) < std::tie(b.time_ms, b.sequence);
    });
    CountFunnel(f, events);
    events.clear();
  }
}

void UxAccumulator::State::AddExperimentEvent(const ExposureEvent& e) {
  if (e.experiment != experiment || e.user != experiment_user) {
    FlushExposure();
    experiment = e.experiment;
    experiment_user = e.user;
  }
  if (!e.conversion) {
    if (exposure.variant == kNone) {
      exposure.variant = e.variant;
    } else if (exposure.variant != e.variant) {
      exposure.several = true;
    }
  } else if (exposure.variant == kNone) {
    exposure.converted_unexposed = true;
  } else {
    exposure.converted = true;
  }
}

void UxAccumulator::State::FlushExposure() {
  if (experiment == kNone) return;
  ExperimentSums& sums = experiments[names[experiment]];
  if (exposure.variant != kNone) {
    VariantSums& variant = sums.variants[names[exposure.variant]];
    ++variant.exposures;
    if (exposure.converted) ++variant.conversions;
    if (exposure.several) ++sums.several_variants;
  }
  if (exposure.converted_unexposed && !exposure.converted) ++sums.unattributed;
  exposure = {};
}

namespace {

ExperimentFigures Analyze(const std::string& name, const ExperimentConfig* config,
                          const ExperimentSums& sums, int64_t default_sample_size) {
  ExperimentFigures out;
  out.name = name;
  out.users_in_several_variants = sums.several_variants;
  out.unattributed_conversions = sums.unattributed;
  out.planned_sample_size =
      config && config->sample_size > 0 ? config->sample_size : default_sample_size;
  // The planned variants in their order, then any other seen, by name.
  std::vector<std::pair<std::string, double>> planned;
  if (config) planned = config->variants;
  const bool split_planned = !planned.empty();
  bool unplanned_seen = false;
  for (const auto& seen : sums.variants) {
    const std::string& variant = seen.first;  // not a structured binding: the lambda takes it
    const bool known = std::any_of(planned.begin(), planned.end(),
                                   [&](const auto& p) { return p.first == variant; });
    if (known) continue;
    unplanned_seen = unplanned_seen || split_planned;
    planned.emplace_back(variant, split_planned ? 0.0 : 1.0);
  }
  const double weight_sum = std::accumulate(planned.begin(), planned.end(), 0.0,
                                            [](double s, const auto& p) { return s + p.second; });
  out.control = config && !config->control.empty() ? config->control
                : !planned.empty()
                    ? (split_planned ? planned.front().first : sums.variants.begin()->first)
                    : "";
  std::vector<int64_t> observed;
  std::vector<double> weights;
  int64_t total = 0;
  Proportion control;
  for (const auto& [variant, weight] : planned) {
    VariantFigures figures;
    figures.name = variant;
    figures.planned_share = weight_sum > 0 ? weight / weight_sum : 0;
    if (const auto found = sums.variants.find(variant); found != sums.variants.end()) {
      figures.exposures = found->second.exposures;
      figures.conversions = found->second.conversions;
    }
    figures.conversion_rate = Ratio(figures.conversions, figures.exposures);
    figures.control = variant == out.control;
    if (figures.control) control = {figures.exposures, figures.conversions};
    total += figures.exposures;
    observed.push_back(figures.exposures);
    weights.push_back(weight);
    out.variants.push_back(std::move(figures));
  }
  out.sample_size_reached =
      !out.variants.empty() &&
      std::all_of(out.variants.begin(), out.variants.end(),
                  [&](const VariantFigures& v) { return v.exposures >= out.planned_sample_size; });
  // A seen variant that was not planned is a mismatch by itself (its expected share is 0).
  if (!unplanned_seen) out.sample_ratio = GoodnessOfFit(observed, weights);
  out.sample_ratio_mismatch =
      unplanned_seen || (out.sample_ratio && out.sample_ratio->p_value < kSrmPValue);
  // Each treatment against the control, at a level shared out among them (Bonferroni).
  const double level =
      kSignificance / static_cast<double>(out.variants.size() > 2 ? out.variants.size() - 1 : 1);
  const VariantFigures* best = nullptr;
  bool control_beats_all = out.variants.size() > 1;
  for (VariantFigures& variant : out.variants) {
    if (variant.control) continue;
    variant.vs_control =
        CompareProportions(control, {variant.exposures, variant.conversions}, kConfidence);
    variant.significant = variant.vs_control->p_value && *variant.vs_control->p_value < level;
    const double lift = variant.vs_control->absolute_lift;
    if (variant.significant && lift > 0 &&
        (!best || variant.conversion_rate > best->conversion_rate))
      best = &variant;
    if (!variant.significant || lift >= 0) control_beats_all = false;
  }
  if (total == 0) {
    out.status = "no_exposures";
  } else if (out.variants.size() < 2) {
    out.status = "one_variant";
  } else if (out.sample_ratio_mismatch) {
    out.status = "sample_ratio_mismatch";
  } else if (!out.sample_size_reached) {
    out.status = "collecting";
  } else if (best || control_beats_all) {
    out.status = "winner";
    out.winner = best ? best->name : out.control;
  } else {
    out.status = "no_significant_difference";
  }
  return out;
}

}  // namespace

UxAccumulator::UxAccumulator(const UxConfig& config, std::string page)
    : state_(std::make_unique<State>(config, std::move(page))) {}

UxAccumulator::~UxAccumulator() = default;

void UxAccumulator::Add(const Interaction& e) {
  State& s = *state_;
  s.added_interactions.push_back({e.time_ms, e.sequence, FastHash()(e.user_id),
                                  FastHash()(e.session_id), s.users_and_sessions.Copy(e.user_id),
                                  s.users_and_sessions.Copy(e.session_id), s.Intern(e.page_url),
                                  s.Intern(e.element_id), s.Intern(e.event_type)});
}

void UxAccumulator::Add(const ExperimentEvent& e) {
  if (e.experiment.empty()) return;  // of no experiment
  State& s = *state_;
  s.added_experiment_events.push_back({e.time_ms, e.sequence, FastHash()(e.user_id),
                                       s.users_and_sessions.Copy(e.user_id), s.Intern(e.experiment),
                                       s.Intern(e.variant), e.conversion});
}

UxReport UxAccumulator::Finish(int64_t limit) {
  State& s = *state_;
  // Grouped by hash, and by text where hashes are equal: any order of users and sessions gives
  // the same figures, as sums are exact and medians do not depend on the order. SQLite's sort
  // of the rows by their text was a third of the report's time (perf at 1 million events).
  std::sort(
      s.added_interactions.begin(), s.added_interactions.end(),
      [](const SessionEvent& a, const SessionEvent& b) {
        return std::tie(a.user_hash, a.user, a.session_hash, a.session, a.time_ms, a.sequence) <
               std::tie(b.user_hash, b.user, b.session_hash, b.session, b.time_ms, b.sequence);
      });
  for (const SessionEvent& event : s.added_interactions) s.AddInteraction(event);
  if (!s.session.empty()) s.FlushSession();
  if (s.users > 0) s.FlushUser();
  std::sort(s.added_experiment_events.begin(), s.added_experiment_events.end(),
            [](const ExposureEvent& a, const ExposureEvent& b) {
              return std::tie(a.experiment, a.user_hash, a.user, a.time_ms, a.sequence) <
                     std::tie(b.experiment, b.user_hash, b.user, b.time_ms, b.sequence);
            });
  for (const ExposureEvent& event : s.added_experiment_events) s.AddExperimentEvent(event);
  s.FlushExposure();
  UxReport report;
  report.page = s.page;
  report.interactions = s.interactions;
  report.clicks = s.clicks;
  report.sessions = s.sessions;
  report.users = s.users;
  const auto limited = [&](auto& list) {
    if (static_cast<int64_t>(list.size()) > limit) list.resize(static_cast<size_t>(limit));
  };
  for (const auto& [id, sums] : s.pages) {
    if (!s.page.empty() && s.names[id] != s.page) continue;
    PageFigures page;
    page.page = s.names[id];
    page.views = sums.views;
    page.sessions = sums.sessions;
    page.entries = sums.entries;
    page.bounces = sums.bounces;
    page.bounce_rate = Ratio(sums.bounces, sums.entries);
    page.clicks = sums.clicks;
    page.dwell_measured = static_cast<int64_t>(sums.dwell_seconds.size());
    if (!sums.dwell_seconds.empty()) {
      page.dwell_mean_seconds = static_cast<double>(sums.dwell_ms) / 1000 /
                                static_cast<double>(sums.dwell_seconds.size());
      page.dwell_median_seconds = Median(sums.dwell_seconds);
    }
    report.pages.push_back(std::move(page));
  }
  std::sort(report.pages.begin(), report.pages.end(), [](const auto& a, const auto& b) {
    return std::tie(b.views, a.page) < std::tie(a.views, b.page);
  });
  limited(report.pages);
  for (const auto& [key, sums] : s.elements) {
    const std::string& page = s.names[key.first];
    if (!s.page.empty() && page != s.page) continue;
    report.elements.push_back({page, s.names[key.second], sums.clicks,
                               Ratio(sums.clicks, s.pages[key.first].clicks), sums.sessions,
                               sums.rage_clicks, sums.rage_sessions, sums.dead_clicks,
                               Ratio(sums.dead_clicks, sums.clicks)});
  }
  std::sort(report.elements.begin(), report.elements.end(), [](const auto& a, const auto& b) {
    return std::tie(b.clicks, a.page, a.element) < std::tie(a.clicks, b.page, b.element);
  });
  limited(report.elements);
  for (size_t f = 0; f < s.config.funnels.size(); ++f) {
    const FunnelConfig& config = s.config.funnels[f];
    const FunnelSums& sums = s.funnels[f];
    FunnelFigures funnel;
    funnel.name = config.name;
    funnel.within = config.within.count() > 0 ? FormatDuration(config.within) : "session";
    funnel.entries = sums.entries;
    funnel.conversion = Ratio(sums.reached.back(), sums.entries);
    for (size_t i = 0; i < config.steps.size(); ++i) {
      const int64_t previous = i > 0 ? sums.reached[i - 1] : sums.entries;
      FunnelStepFigures step;
      step.name = config.steps[i].name;
      step.reached = sums.reached[i];
      step.conversion_from_previous = Ratio(sums.reached[i], previous);
      step.conversion_from_entry = Ratio(sums.reached[i], sums.entries);
      step.drop_off = previous - sums.reached[i];
      step.drop_off_rate = Ratio(step.drop_off, previous);
      if (!sums.seconds_from_previous[i].empty())
        step.median_seconds_from_previous = Median(sums.seconds_from_previous[i]);
      funnel.steps.push_back(std::move(step));
    }
    report.funnels.push_back(std::move(funnel));
  }
  const ExperimentSums none;
  for (const ExperimentConfig& config : s.config.experiments) {
    const auto found = s.experiments.find(config.name);
    report.experiments.push_back(Analyze(config.name, &config,
                                         found != s.experiments.end() ? found->second : none,
                                         s.config.default_sample_size));
  }
  for (const auto& seen : s.experiments) {
    const std::string& name = seen.first;  // not a structured binding: the lambda takes it
    const bool configured = std::any_of(s.config.experiments.begin(), s.config.experiments.end(),
                                        [&](const ExperimentConfig& c) { return c.name == name; });
    if (!configured) {
      report.experiments.push_back(
          Analyze(name, nullptr, seen.second, s.config.default_sample_size));
    }
  }
  report.recommendations = Recommend(report);
  return report;
}

namespace {

// The rules' thresholds (docs/ux.md, "Recommendations"): enough data to speak, and a figure
// far enough from the usual.
constexpr int64_t kMinEntries = 20;
constexpr double kHighBounceRate = 0.6;
constexpr int64_t kMinRageSessions = 3;
constexpr double kRageSessionShare = 0.05;
constexpr int64_t kMinClicks = 20;
constexpr double kDeadClickRate = 0.3;
constexpr double kLowStepConversion = 0.5;

std::string Percent(double share) { return fmt::format("{:.1f}%", share * 100); }

}  // namespace

std::vector<Recommendation> Recommend(const UxReport& report) {
  std::vector<Recommendation> out;
  for (const PageFigures& page : report.pages) {
    if (page.entries < kMinEntries || page.bounce_rate < kHighBounceRate) continue;
    out.push_back({"high_bounce_rate",
                   page.page,
                   fmt::format("{} of the sessions that start on {} see no other page: make its "
                               "next step clearer, or check that it loads and works",
                               Percent(page.bounce_rate), page.page),
                   {{"entries", static_cast<double>(page.entries)},
                    {"bounces", static_cast<double>(page.bounces)},
                    {"bounce_rate", page.bounce_rate}}});
  }
  for (const ElementFigures& element : report.elements) {
    const std::string subject = fmt::format("{} {}", element.page, element.element);
    const double rage_share = Ratio(element.rage_sessions, element.sessions);
    if (element.rage_sessions >= kMinRageSessions && rage_share >= kRageSessionShare) {
      out.push_back({"rage_clicks",
                     subject,
                     fmt::format("{} of the sessions that click {} on {} click it again and "
                                 "again: it looks slow or unresponsive",
                                 Percent(rage_share), element.element, element.page),
                     {{"sessions", static_cast<double>(element.sessions)},
                      {"rage_sessions", static_cast<double>(element.rage_sessions)},
                      {"rage_clicks", static_cast<double>(element.rage_clicks)},
                      {"rage_session_share", rage_share}}});
    }
    if (element.clicks >= kMinClicks && element.dead_click_rate >= kDeadClickRate) {
      out.push_back({"dead_clicks",
                     subject,
                     fmt::format("{} of the clicks on {} on {} lead nowhere: make it act (or "
                                 "report what it does), or stop it looking clickable",
                                 Percent(element.dead_click_rate), element.element, element.page),
                     {{"clicks", static_cast<double>(element.clicks)},
                      {"dead_clicks", static_cast<double>(element.dead_clicks)},
                      {"dead_click_rate", element.dead_click_rate}}});
    }
  }
  for (const FunnelFigures& funnel : report.funnels) {
    if (funnel.entries < kMinEntries || funnel.steps.size() < 2) continue;
    const auto worst = std::min_element(
        funnel.steps.begin() + 1, funnel.steps.end(), [](const auto& a, const auto& b) {
          return a.conversion_from_previous < b.conversion_from_previous;
        });
    if (worst->conversion_from_previous >= kLowStepConversion) continue;
    const auto& previous = *(worst - 1);
    out.push_back(
        {"funnel_drop_off",
         fmt::format("{}: {}", funnel.name, worst->name),
         fmt::format("funnel {} loses most at step {}: only {} of those who reach {} go on to "
                     "it; look at what stands between them",
                     funnel.name, worst->name, Percent(worst->conversion_from_previous),
                     previous.name),
         {{"entries", static_cast<double>(funnel.entries)},
          {"reached_previous", static_cast<double>(previous.reached)},
          {"reached", static_cast<double>(worst->reached)},
          {"conversion_from_previous", worst->conversion_from_previous}}});
  }
  for (const ExperimentFigures& experiment : report.experiments) {
    const auto variant = [&](const std::string& name) {
      return std::find_if(experiment.variants.begin(), experiment.variants.end(),
                          [&](const VariantFigures& v) { return v.name == name; });
    };
    if (experiment.status == "winner") {
      const auto winner = variant(experiment.winner);
      const auto control = variant(experiment.control);
      // The control wins when every treatment is significantly worse: report the closest one.
      const VariantFigures* compared = &*winner;
      if (winner == control) {
        for (const VariantFigures& v : experiment.variants) {
          if (!v.control && (compared->control || v.conversion_rate > compared->conversion_rate))
            compared = &v;
        }
      }
      const Comparison& c = *compared->vs_control;
      out.push_back(
          {"experiment_winner",
           experiment.name,
           fmt::format(
               "experiment {}: roll out {} (conversion {} against {} for {}, p = {:.2g})",
               experiment.name, experiment.winner, Percent(winner->conversion_rate),
               Percent(winner == control ? compared->conversion_rate : control->conversion_rate),
               winner == control ? compared->name : control->name, c.p_value.value_or(1)),
           {{"control_rate", control->conversion_rate},
            {"treatment_rate", compared->conversion_rate},
            {"absolute_lift", c.absolute_lift},
            {"absolute_lift_low", c.absolute_interval ? c.absolute_interval->low : 0},
            {"absolute_lift_high", c.absolute_interval ? c.absolute_interval->high : 0},
            {"p_value", c.p_value.value_or(1)},
            {"control_exposures", static_cast<double>(control->exposures)},
            {"treatment_exposures", static_cast<double>(compared->exposures)}}});
    } else if (experiment.sample_ratio_mismatch) {
      std::vector<std::pair<std::string, double>> evidence;
      for (const VariantFigures& v : experiment.variants) {
        evidence.emplace_back(v.name + "_exposures", static_cast<double>(v.exposures));
        evidence.emplace_back(v.name + "_planned_share", v.planned_share);
      }
      if (experiment.sample_ratio) {
        evidence.emplace_back("chi_square", experiment.sample_ratio->chi_square);
        evidence.emplace_back("p_value", experiment.sample_ratio->p_value);
      }
      out.push_back({"sample_ratio_mismatch", experiment.name,
                     fmt::format("experiment {}: the exposures do not follow the planned split, so "
                                 "its results cannot be trusted; check the assignment and that "
                                 "every variant reports its exposures",
                                 experiment.name),
                     std::move(evidence)});
    } else if (experiment.status == "no_significant_difference") {
      std::vector<std::pair<std::string, double>> evidence{
          {"planned_sample_size", static_cast<double>(experiment.planned_sample_size)}};
      for (const VariantFigures& v : experiment.variants) {
        evidence.emplace_back(v.name + "_exposures", static_cast<double>(v.exposures));
        evidence.emplace_back(v.name + "_rate", v.conversion_rate);
        if (v.vs_control && v.vs_control->p_value)
          evidence.emplace_back(v.name + "_p_value", *v.vs_control->p_value);
      }
      out.push_back({"experiment_inconclusive", experiment.name,
                     fmt::format("experiment {} reached its planned sample without a significant "
                                 "difference: stop it, or plan a larger one for a smaller effect",
                                 experiment.name),
                     std::move(evidence)});
    }
  }
  return out;
}

namespace {

namespace json = boost::json;

json::value OrNull(const std::optional<double>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

json::value IntervalJson(const std::optional<Interval>& interval) {
  return interval ? json::value(json::array{interval->low, interval->high}) : json::value(nullptr);
}

json::object ExperimentJson(const ExperimentFigures& e) {
  json::array variants;
  for (const VariantFigures& v : e.variants) {
    json::object variant{{"name", v.name},
                         {"control", v.control},
                         {"planned_share", v.planned_share},
                         {"exposures", v.exposures},
                         {"conversions", v.conversions},
                         {"conversion_rate", v.conversion_rate}};
    if (v.vs_control) {
      const Comparison& c = *v.vs_control;
      variant["vs_control"] = json::object{{"absolute_lift", c.absolute_lift},
                                           {"absolute_lift_ci", IntervalJson(c.absolute_interval)},
                                           {"relative_lift", OrNull(c.relative_lift)},
                                           {"relative_lift_ci", IntervalJson(c.relative_interval)},
                                           {"z", OrNull(c.z)},
                                           {"p_value", OrNull(c.p_value)},
                                           {"significant", v.significant}};
    }
    variants.push_back(std::move(variant));
  }
  json::value sample_ratio = nullptr;
  if (e.sample_ratio) {
    sample_ratio = json::object{{"chi_square", e.sample_ratio->chi_square},
                                {"degrees_of_freedom", e.sample_ratio->degrees_of_freedom},
                                {"p_value", e.sample_ratio->p_value}};
  }
  return {{"name", e.name},
          {"status", e.status},
          {"winner", e.winner.empty() ? json::value(nullptr) : json::value(e.winner)},
          {"control", e.control},
          {"planned_sample_size", e.planned_sample_size},
          {"sample_size_reached", e.sample_size_reached},
          {"sample_ratio_mismatch", e.sample_ratio_mismatch},
          {"sample_ratio_test", std::move(sample_ratio)},
          {"users_in_several_variants", e.users_in_several_variants},
          {"unattributed_conversions", e.unattributed_conversions},
          {"variants", std::move(variants)}};
}

}  // namespace

std::string UxReportJson(const UxReport& report) {
  json::array pages, elements, funnels, experiments, recommendations;
  for (const PageFigures& p : report.pages) {
    pages.push_back(
        json::object{{"page", p.page},
                     {"views", p.views},
                     {"sessions", p.sessions},
                     {"entries", p.entries},
                     {"bounces", p.bounces},
                     {"bounce_rate", p.bounce_rate},
                     {"clicks", p.clicks},
                     {"dwell", json::object{{"measured", p.dwell_measured},
                                            {"mean_seconds", p.dwell_mean_seconds},
                                            {"median_seconds", p.dwell_median_seconds}}}});
  }
  for (const ElementFigures& e : report.elements) {
    elements.push_back(json::object{{"page", e.page},
                                    {"element", e.element},
                                    {"clicks", e.clicks},
                                    {"share", e.share},
                                    {"sessions", e.sessions},
                                    {"rage_clicks", e.rage_clicks},
                                    {"rage_sessions", e.rage_sessions},
                                    {"dead_clicks", e.dead_clicks},
                                    {"dead_click_rate", e.dead_click_rate}});
  }
  for (const FunnelFigures& f : report.funnels) {
    json::array steps;
    for (const FunnelStepFigures& s : f.steps) {
      steps.push_back(
          json::object{{"name", s.name},
                       {"reached", s.reached},
                       {"conversion_from_previous", s.conversion_from_previous},
                       {"conversion_from_entry", s.conversion_from_entry},
                       {"drop_off", s.drop_off},
                       {"drop_off_rate", s.drop_off_rate},
                       {"median_seconds_from_previous", OrNull(s.median_seconds_from_previous)}});
    }
    funnels.push_back(json::object{{"name", f.name},
                                   {"within", f.within},
                                   {"entries", f.entries},
                                   {"conversion", f.conversion},
                                   {"steps", std::move(steps)}});
  }
  for (const ExperimentFigures& e : report.experiments) experiments.push_back(ExperimentJson(e));
  for (const Recommendation& r : report.recommendations) {
    json::object evidence;
    for (const auto& [name, value] : r.evidence) evidence[name] = value;
    recommendations.push_back(json::object{{"rule", r.rule},
                                           {"subject", r.subject},
                                           {"message", r.message},
                                           {"evidence", std::move(evidence)}});
  }
  const json::object document{
      {"days", report.days},
      {"from", report.from},
      {"to", report.to},
      {"page", report.page.empty() ? json::value(nullptr) : json::value(report.page)},
      {"totals", json::object{{"interactions", report.interactions},
                              {"clicks", report.clicks},
                              {"sessions", report.sessions},
                              {"users", report.users}}},
      {"pages", std::move(pages)},
      {"elements", std::move(elements)},
      {"funnels", std::move(funnels)},
      {"experiments", std::move(experiments)},
      {"recommendations", std::move(recommendations)},
  };
  return json::serialize(document);
}

StatusOr<std::unique_ptr<UxReports>> UxReports::Open(const std::string& path, const Clock& clock,
                                                     int64_t max_days, UxConfig config) {
  // The store's writer, EventStore, checks the file at its open: not read whole again here.
  auto db = sqlite::Database::Open(path, sqlite::Database::Check::kTrusted);
  if (!db.ok()) return db.status();
  if (Status status = RequireTables(**db, {"ux_interactions", "ux_experiments"}); !status.ok())
    return status;
  // A 30-day period of ux_interactions is about 25 MB at 10 million events: with SQLite's
  // default 2 MB of cache every report read it all from the file again (8 % of its time).
  if (Status status = (*db)->Exec("PRAGMA cache_size = -65536"); !status.ok()) return status;
  return std::unique_ptr<UxReports>(
      new UxReports(std::move(db).value(), clock, max_days, std::move(config)));
}

void UxReports::Apply(UxConfig config) {
  std::lock_guard lock(mutex_);
  config_ = std::move(config);
}

StatusOr<UxReport> UxReports::Compute(int64_t days, const std::string& page, int64_t limit) {
  std::lock_guard lock(mutex_);
  const int64_t now_ms = UnixMillis(clock_);
  const int64_t end_ms = (now_ms / kDayMs + 1) * kDayMs;  // the end of today (UTC)
  const int64_t start_ms = end_ms - days * kDayMs;
  UxAccumulator accumulator(config_, page);
  // The period is one range of the tables' time order (EventStore keeps them), read as stored.
  auto interactions = db_->Prepare(
      "SELECT time_ms, seq, user_id, session_id, event_type, element_id, page_url "
      "FROM ux_interactions WHERE time_ms >= ?1 AND time_ms < ?2");
  if (!interactions.ok()) return interactions.status();
  interactions->Bind(1, start_ms).Bind(2, end_ms);
  while (interactions->Step()) {
    accumulator.Add(Interaction{interactions->Int(0), interactions->Int(1), interactions->Text(2),
                                interactions->Text(3), interactions->Text(4), interactions->Text(5),
                                interactions->Text(6)});
  }
  if (!interactions->status().ok()) return interactions->status();
  auto experiments = db_->Prepare(
      "SELECT time_ms, seq, experiment, variant, user_id, conversion FROM ux_experiments "
      "WHERE time_ms >= ?1 AND time_ms < ?2");
  if (!experiments.ok()) return experiments.status();
  experiments->Bind(1, start_ms).Bind(2, end_ms);
  while (experiments->Step()) {
    accumulator.Add(ExperimentEvent{experiments->Int(0), experiments->Int(1), experiments->Text(2),
                                    experiments->Text(3), experiments->Text(4),
                                    experiments->Int(5) == 1});
  }
  if (!experiments->status().ok()) return experiments->status();
  UxReport report = accumulator.Finish(limit);
  report.days = days;
  report.from = DayOf(start_ms);
  report.to = DayOf(end_ms - 1);
  return report;
}

http::Response UxReports::Serve(const http::Request& request) {
  int64_t days = 30, limit = 100;
  for (const auto& [name, value, max] :
       {std::tuple{"days", &days, max_days_}, std::tuple{"limit", &limit, int64_t{10'000}}}) {
    const auto text = request.QueryParam(name);
    if (!text) continue;
    const auto number = text::ParseInt64(*text);
    if (!number || *number < 1 || *number > max) {
      return http::Response::JsonError(
          400, fmt::format("{}: '{}' is not a whole number from 1 to {}", name, *text, max));
    }
    *value = *number;
  }
  std::string page;
  if (const auto text = request.QueryParam("page")) {
    if (text->empty() || text->size() > 2048) {
      return http::Response::JsonError(
          400, "page: give a page_url of 1 to 2048 bytes, or leave page out for every page");
    }
    page = *text;
  }
  const auto report = Compute(days, page, limit);
  if (!report.ok()) return http::Response::JsonError(500, report.message());
  http::Response response = http::Response::Json(200, UxReportJson(*report));
  response.compressible = true;
  return response;
}

void UxReports::AppendFamilies(std::vector<prometheus::MetricFamily>& out) {
  using prometheus::MetricType;
  std::lock_guard lock(metrics_mutex_);
  const int64_t now_ms = UnixMillis(clock_);
  if (!metrics_report_ || now_ms - metrics_report_ms_ >= 60'000 || now_ms < metrics_report_ms_) {
    auto report = Compute(kMetricsDays, "", kMetricsPages);
    if (report.ok()) {
      metrics_report_ = std::move(report).value();
      metrics_report_ms_ = now_ms;
    } else {
      spdlog::warn("computing the UX report's metrics: {}", report.message());
      ++metrics_errors_;
    }
  }
  metrics::AddSample(
      metrics::AddFamily(out, "mingus_collector_ux_report_errors_total",
                         "Failures to compute the UX report's key figures (mingus_ux_report_*).",
                         MetricType::Counter),
      static_cast<double>(metrics_errors_));
  if (!metrics_report_) return;
  const UxReport& report = *metrics_report_;
  const auto family = [&](std::string name, std::string help) -> prometheus::MetricFamily& {
    return metrics::AddFamily(
        out, std::move(name),
        fmt::format("{} Over the last {} days (the UX report).", help, kMetricsDays),
        MetricType::Gauge);
  };
  metrics::AddSample(family("mingus_ux_report_sessions", "Sessions with interactions."),
                     static_cast<double>(report.sessions));
  auto& bounce = family("mingus_ux_report_page_bounce_ratio",
                        "Bounce rate of the most viewed pages: entries without another page.");
  for (const PageFigures& page : report.pages)
    metrics::AddSample(bounce, page.bounce_rate, {{"page", page.page}});
  auto& rage = family("mingus_ux_report_rage_clicks", "Rage clicks on the most clicked elements.");
  for (const ElementFigures& e : report.elements)
    metrics::AddSample(rage, static_cast<double>(e.rage_clicks),
                       {{"page", e.page}, {"element", e.element}});
  auto& dead = family("mingus_ux_report_dead_click_ratio",
                      "Dead clicks / clicks of the most clicked elements.");
  for (const ElementFigures& e : report.elements)
    metrics::AddSample(dead, e.dead_click_rate, {{"page", e.page}, {"element", e.element}});
  auto& reached = family("mingus_ux_report_funnel_step_reached",
                         "Sessions (or users) that reached each funnel step.");
  for (const FunnelFigures& f : report.funnels) {
    for (const FunnelStepFigures& step : f.steps)
      metrics::AddSample(reached, static_cast<double>(step.reached),
                         {{"funnel", f.name}, {"step", step.name}});
  }
  auto& conversion = family("mingus_ux_report_funnel_conversion_ratio",
                            "Funnel conversion: reached the last step / entries.");
  for (const FunnelFigures& f : report.funnels)
    metrics::AddSample(conversion, f.conversion, {{"funnel", f.name}});
  auto& exposed =
      family("mingus_ux_report_experiment_exposed_users", "Users exposed to each variant.");
  for (const ExperimentFigures& e : report.experiments) {
    for (const VariantFigures& v : e.variants)
      metrics::AddSample(exposed, static_cast<double>(v.exposures),
                         {{"experiment", e.name}, {"variant", v.name}});
  }
  auto& rate = family("mingus_ux_report_experiment_conversion_ratio",
                      "Exposed users who converted, per variant.");
  for (const ExperimentFigures& e : report.experiments) {
    for (const VariantFigures& v : e.variants)
      metrics::AddSample(rate, v.conversion_rate, {{"experiment", e.name}, {"variant", v.name}});
  }
  auto& p_value = family("mingus_ux_report_experiment_p_value",
                         "Two-proportion z-test p-value of each variant against the control.");
  for (const ExperimentFigures& e : report.experiments) {
    for (const VariantFigures& v : e.variants) {
      if (v.vs_control && v.vs_control->p_value)
        metrics::AddSample(p_value, *v.vs_control->p_value,
                           {{"experiment", e.name}, {"variant", v.name}});
    }
  }
  auto& mismatch = family("mingus_ux_report_experiment_sample_ratio_mismatch",
                          "1 when the exposures do not follow the planned split, else 0.");
  for (const ExperimentFigures& e : report.experiments)
    metrics::AddSample(mismatch, e.sample_ratio_mismatch ? 1 : 0, {{"experiment", e.name}});
  auto& winner = family("mingus_ux_report_experiment_winner",
                        "1 for the variant an experiment's report names the winner, else 0.");
  for (const ExperimentFigures& e : report.experiments) {
    for (const VariantFigures& v : e.variants)
      metrics::AddSample(winner, v.name == e.winner ? 1 : 0,
                         {{"experiment", e.name}, {"variant", v.name}});
  }
}

}  // namespace mingus::collector::events

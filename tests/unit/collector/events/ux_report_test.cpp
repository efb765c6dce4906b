#include "mingus/collector/events/ux_report.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_clock.h"
#include "mingus/collector/events/event_store.h"
#include "temp_dir.h"

namespace mingus::collector::events {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class UxReportTest : public ::testing::Test {
 protected:
  UxReportTest() : dir_("ux_report") {
    auto store = EventStore::Open(path(), {}, clock_);
    EXPECT_TRUE(store.ok()) << store.message();
    store_ = std::move(store).value();
    // An hour into the UTC day, so that events a little earlier are still today.
    clock_.Advance(std::chrono::hours(1));
    now_ms_ = UnixMillis(clock_);
  }
  std::string path() const { return (dir_.path() / "business_intelligence.db").string(); }

  // An interaction `at_ms` after an hour ago: all of one test's events fall in today.
  std::string UiEvent(const std::string& user, const std::string& session, const std::string& page,
                      const std::string& element, int64_t at_ms,
                      const std::string& type = "click") {
    return fmt::format(
        R"({{"type":"interaction","user_id":"{}","session_id":"{}","event_type":"{}",)"
        R"("element_id":"{}","page_url":"{}","ts":{:.3f}}})",
        user, session, type, element, page,
        static_cast<double>(now_ms_ - 3'600'000 + at_ms) / 1000);
  }
  std::string Experiment(const std::string& name, const std::string& variant,
                         const std::string& user, const std::string& event, int64_t at_ms = 0) {
    return fmt::format(
        R"({{"type":"experiment","experiment":"{}","variant":"{}","user_id":"{}","event":"{}",)"
        R"("ts":{:.3f}}})",
        name, variant, user, event, static_cast<double>(now_ms_ - 3'600'000 + at_ms) / 1000);
  }
  // `conversions` of `exposures` users of the variant convert.
  void Expose(const std::string& name, const std::string& variant, int exposures, int conversions) {
    std::vector<std::string> events;
    for (int i = 0; i < exposures; ++i) {
      const std::string user = fmt::format("{}-{}", variant, i);
      events.push_back(Experiment(name, variant, user, "exposure", i));
      if (i < conversions) events.push_back(Experiment(name, variant, user, "conversion", i + 1));
    }
    Store(events);
  }

  void Store(const std::vector<std::string>& events) {
    std::vector<std::string> lines;
    for (const auto& event : events) {
      lines.push_back(
          fmt::format(R"({{"cursor":{},"received":{},"event":{}}})", ++cursor_, now_ms_, event));
    }
    const auto stored = store_->Store(
        "agent:1", "spool", std::vector<std::string_view>(lines.begin(), lines.end()), cursor_, 0);
    ASSERT_TRUE(stored.ok()) << stored.message();
    ASSERT_EQ(stored->stored, lines.size());
  }

  UxReport Report(const std::string& page = "") {
    auto reports = UxReports::Open(path(), clock_, 400, config_);
    EXPECT_TRUE(reports.ok()) << reports.message();
    auto report = (*reports)->Compute(1, page);
    EXPECT_TRUE(report.ok()) << report.message();
    return std::move(report).value();
  }

  const ElementFigures& Element(const UxReport& report, const std::string& element) {
    for (const auto& figures : report.elements) {
      if (figures.element == element) return figures;
    }
    ADD_FAILURE() << "no element " << element;
    return report.elements.front();
  }
  const PageFigures& Page(const UxReport& report, const std::string& page) {
    for (const auto& figures : report.pages) {
      if (figures.page == page) return figures;
    }
    ADD_FAILURE() << "no page " << page;
    return report.pages.front();
  }

  testing::FakeClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
  UxConfig config_;
  int64_t now_ms_ = 0;
  uint64_t cursor_ = 0;
};

TEST_F(UxReportTest, PagesAndClicksFollowTheSessionsPageSequence) {
  Store({
      // s1: /home (2 clicks), /pricing (1 click), back to /home: three visits.
      UiEvent("u1", "s1", "/home", "nav", 0, "view"),
      UiEvent("u1", "s1", "/home", "cta", 1'000),
      UiEvent("u1", "s1", "/home", "logo", 5'000),
      UiEvent("u1", "s1", "/pricing", "buy", 10'000),
      UiEvent("u1", "s1", "/home", "cta", 40'000),
      // s2 and s3 bounce: one visit of /home each.
      UiEvent("u2", "s2", "/home", "cta", 0),
      UiEvent("u3", "s3", "/home", "nav", 0, "view"),
  });
  const UxReport report = Report();
  EXPECT_EQ(report.sessions, 3);
  EXPECT_EQ(report.users, 3);
  EXPECT_EQ(report.interactions, 7);
  EXPECT_EQ(report.clicks, 5);
  const PageFigures& home = Page(report, "/home");
  EXPECT_EQ(home.views, 4);
  EXPECT_EQ(home.sessions, 3);
  EXPECT_EQ(home.entries, 3);
  EXPECT_EQ(home.bounces, 2);
  EXPECT_DOUBLE_EQ(home.bounce_rate, 2.0 / 3);
  EXPECT_EQ(home.clicks, 4);
  // Only s1's first visit of /home has an end: /pricing's first event 10 s after.
  EXPECT_EQ(home.dwell_measured, 1);
  EXPECT_DOUBLE_EQ(home.dwell_mean_seconds, 10);
  const PageFigures& pricing = Page(report, "/pricing");
  EXPECT_EQ(pricing.entries, 0);
  EXPECT_DOUBLE_EQ(pricing.bounce_rate, 0);
  EXPECT_DOUBLE_EQ(pricing.dwell_median_seconds, 30);
  EXPECT_EQ(report.pages.front().page, "/home");  // most viewed first
  const ElementFigures& cta = Element(report, "cta");
  EXPECT_EQ(cta.clicks, 3);
  EXPECT_EQ(cta.sessions, 2);
  EXPECT_DOUBLE_EQ(cta.share, 3.0 / 4);
  EXPECT_DOUBLE_EQ(Element(report, "buy").share, 1);
  EXPECT_EQ(report.elements.front().element, "cta");

  const UxReport pricing_only = Report("/pricing");
  ASSERT_EQ(pricing_only.pages.size(), 1u);
  EXPECT_EQ(pricing_only.pages[0].page, "/pricing");
  ASSERT_EQ(pricing_only.elements.size(), 1u);
  EXPECT_EQ(pricing_only.elements[0].element, "buy");
}

TEST_F(UxReportTest, ARageClickAtExactlyTwoSecondsCountsAndOneLaterDoesNot) {
  Store({
      UiEvent("u1", "s1", "/p", "at_window", 0),
      UiEvent("u1", "s1", "/p", "at_window", 1'000),
      UiEvent("u1", "s1", "/p", "at_window", 2'000),
      UiEvent("u1", "s1", "/p", "past_window", 10'000),
      UiEvent("u1", "s1", "/p", "past_window", 11'000),
      UiEvent("u1", "s1", "/p", "past_window", 12'001),
      // Five quick clicks: the third, fourth and fifth each end three within the window.
      UiEvent("u2", "s2", "/p", "burst", 0),
      UiEvent("u2", "s2", "/p", "burst", 100),
      UiEvent("u2", "s2", "/p", "burst", 200),
      UiEvent("u2", "s2", "/p", "burst", 300),
      UiEvent("u2", "s2", "/p", "burst", 400),
      // Three clicks in three sessions of one user are no rage.
      UiEvent("u3", "a", "/p", "spread", 0),
      UiEvent("u3", "b", "/p", "spread", 10),
      UiEvent("u3", "c", "/p", "spread", 20),
  });
  const UxReport report = Report();
  EXPECT_EQ(Element(report, "at_window").rage_clicks, 1);
  EXPECT_EQ(Element(report, "at_window").rage_sessions, 1);
  EXPECT_EQ(Element(report, "past_window").rage_clicks, 0);
  EXPECT_EQ(Element(report, "burst").rage_clicks, 3);
  EXPECT_EQ(Element(report, "burst").rage_sessions, 1);
  EXPECT_EQ(Element(report, "spread").rage_clicks, 0);
  EXPECT_EQ(Element(report, "spread").sessions, 3);
}

TEST_F(UxReportTest, ADeadClickHasNoOtherEventOfItsSessionWithinTheWindow) {
  Store({
      UiEvent("u1", "s1", "/p", "answered", 0),
      UiEvent("u1", "s1", "/q", "next", 2'000, "view"),  // at exactly the window: a reaction
      UiEvent("u1", "s1", "/q", "late", 10'000),
      UiEvent("u1", "s1", "/q", "x", 12'001, "view"),  // 2.001 s after: too late
      UiEvent("u2", "s2", "/p", "again", 0),
      UiEvent("u2", "s2", "/p", "again", 500),    // the same element again is no reaction
      UiEvent("u2", "s2", "/p", "last", 30'000),  // nothing follows it at all
  });
  const UxReport report = Report();
  EXPECT_EQ(Element(report, "answered").dead_clicks, 0);
  EXPECT_EQ(Element(report, "late").dead_clicks, 1);
  EXPECT_EQ(Element(report, "again").dead_clicks, 2);
  EXPECT_DOUBLE_EQ(Element(report, "again").dead_click_rate, 1);
  EXPECT_EQ(Element(report, "last").dead_clicks, 1);
}

TEST_F(UxReportTest, ALongPauseStartsANewSessionUnderTheSameSessionId) {
  config_.session_timeout = std::chrono::minutes(30);
  Store({
      UiEvent("u1", "s1", "/a", "x", 0),
      UiEvent("u1", "s1", "/b", "x", 30 * 60'000),      // exactly the timeout: same session
      UiEvent("u1", "s1", "/c", "x", 60 * 60'000 + 1),  // beyond it: a new one
  });
  const UxReport report = Report();
  EXPECT_EQ(report.sessions, 2);
  EXPECT_EQ(Page(report, "/a").entries, 1);
  EXPECT_EQ(Page(report, "/c").entries, 1);
  EXPECT_EQ(Page(report, "/c").bounces, 1);
}

TEST_F(UxReportTest, FunnelStepsInOrderWithinASession) {
  config_.funnels.push_back({"signup",
                             {{"pricing", "/pricing", "", ""},
                              {"signup", "/signup", "submit", "click"},
                              {"done", "/welcome", "", ""}},
                             std::chrono::milliseconds(0)});
  Store({
      // s1 completes step 2 after 4 s, never reaches step 3.
      UiEvent("u1", "s1", "/pricing", "cta", 0),
      UiEvent("u1", "s1", "/signup", "submit", 4'000),
      // s2: the signup before the pricing page does not count; step 2 after 6 s.
      UiEvent("u2", "s2", "/signup", "submit", 0),
      UiEvent("u2", "s2", "/pricing", "cta", 1'000),
      UiEvent("u2", "s2", "/signup", "name", 2'000),  // another element: not step 2
      UiEvent("u2", "s2", "/signup", "submit", 7'000),
      // s3 enters only; u1's second session (s4) does step 2 without step 1.
      UiEvent("u3", "s3", "/pricing", "cta", 0),
      UiEvent("u1", "s4", "/signup", "submit", 0),
  });
  const UxReport report = Report();
  ASSERT_EQ(report.funnels.size(), 1u);
  const FunnelFigures& funnel = report.funnels[0];
  EXPECT_EQ(funnel.within, "session");
  EXPECT_EQ(funnel.entries, 3);
  ASSERT_EQ(funnel.steps.size(), 3u);
  EXPECT_EQ(funnel.steps[0].reached, 3);
  EXPECT_FALSE(funnel.steps[0].median_seconds_from_previous);
  EXPECT_EQ(funnel.steps[1].reached, 2);
  EXPECT_DOUBLE_EQ(funnel.steps[1].conversion_from_previous, 2.0 / 3);
  EXPECT_EQ(funnel.steps[1].drop_off, 1);
  EXPECT_DOUBLE_EQ(funnel.steps[1].drop_off_rate, 1.0 / 3);
  EXPECT_DOUBLE_EQ(*funnel.steps[1].median_seconds_from_previous, 5);  // of 4 and 6
  // Never reached: zeros, and no median rather than a made-up one.
  EXPECT_EQ(funnel.steps[2].reached, 0);
  EXPECT_EQ(funnel.steps[2].drop_off, 2);
  EXPECT_DOUBLE_EQ(funnel.steps[2].conversion_from_previous, 0);
  EXPECT_FALSE(funnel.steps[2].median_seconds_from_previous);
  EXPECT_DOUBLE_EQ(funnel.conversion, 0);
}

TEST_F(UxReportTest, AWindowedFunnelFollowsAUserAcrossSessions) {
  config_.funnels.push_back(
      {"return", {{"visit", "/a", "", ""}, {"buy", "/b", "", ""}}, std::chrono::minutes(10)});
  Store({
      UiEvent("u1", "s1", "/a", "x", 0),
      UiEvent("u1", "s2", "/b", "x", 10 * 60'000),  // another session, at the window's end
      UiEvent("u2", "s3", "/a", "x", 0),
      UiEvent("u2", "s4", "/b", "x", 10 * 60'000 + 1),  // too late
  });
  const UxReport report = Report();
  const FunnelFigures& funnel = report.funnels.at(0);
  EXPECT_EQ(funnel.within, "10m");
  EXPECT_EQ(funnel.entries, 2);
  EXPECT_EQ(funnel.steps[1].reached, 1);
  EXPECT_DOUBLE_EQ(*funnel.steps[1].median_seconds_from_previous, 600);
}

TEST_F(UxReportTest, AnExperimentWithoutExposuresHasNoStatisticsAndNoWinner) {
  config_.experiments.push_back({"quiet", {{"A", 1}, {"B", 1}}, "A", 100});
  const UxReport report = Report();
  ASSERT_EQ(report.experiments.size(), 1u);
  const ExperimentFigures& e = report.experiments[0];
  EXPECT_EQ(e.status, "no_exposures");
  EXPECT_EQ(e.winner, "");
  EXPECT_FALSE(e.sample_ratio);
  ASSERT_EQ(e.variants.size(), 2u);
  EXPECT_FALSE(e.variants[1].vs_control->p_value);
  EXPECT_FALSE(e.variants[1].vs_control->absolute_interval);
  EXPECT_TRUE(report.recommendations.empty());
}

TEST_F(UxReportTest, OneVariantOnlyIsNotCompared) {
  Expose("solo", "A", 50, 5);
  const UxReport report = Report();
  const ExperimentFigures& e = report.experiments.at(0);
  EXPECT_EQ(e.status, "one_variant");
  EXPECT_EQ(e.control, "A");
  ASSERT_EQ(e.variants.size(), 1u);
  EXPECT_EQ(e.variants[0].exposures, 50);
  EXPECT_DOUBLE_EQ(e.variants[0].conversion_rate, 0.1);
  EXPECT_FALSE(e.variants[0].vs_control);
  EXPECT_FALSE(e.sample_ratio);
}

TEST_F(UxReportTest, ZeroConversionsLeaveTheTestUndefinedNotSignificant) {
  config_.experiments.push_back({"none", {}, "", 10});
  Expose("none", "A", 30, 0);
  Expose("none", "B", 30, 0);
  const UxReport report = Report();
  const ExperimentFigures& e = report.experiments.at(0);
  EXPECT_EQ(e.status, "no_significant_difference");
  const Comparison& c = *e.variants.at(1).vs_control;
  EXPECT_DOUBLE_EQ(c.absolute_lift, 0);
  EXPECT_FALSE(c.p_value);
  EXPECT_FALSE(c.relative_lift);
  EXPECT_FALSE(e.variants[1].significant);
  EXPECT_DOUBLE_EQ(e.sample_ratio->chi_square, 0);
  EXPECT_DOUBLE_EQ(e.sample_ratio->p_value, 1);
}

TEST_F(UxReportTest, AWinnerNeedsSignificanceAndThePlannedSample) {
  config_.experiments.push_back({"cta", {{"A", 1}, {"B", 1}}, "A", 1000});
  Expose("cta", "A", 1000, 100);
  Expose("cta", "B", 1000, 130);
  UxReport report = Report();
  const ExperimentFigures& e = report.experiments.at(0);
  EXPECT_EQ(e.status, "winner");
  EXPECT_EQ(e.winner, "B");
  EXPECT_TRUE(e.sample_size_reached);
  EXPECT_FALSE(e.sample_ratio_mismatch);
  const VariantFigures& b = e.variants.at(1);
  EXPECT_EQ(b.exposures, 1000);
  EXPECT_EQ(b.conversions, 130);
  EXPECT_TRUE(b.significant);
  // scipy 1.10: chi2_contingency([[130, 870], [100, 900]], correction=False) and
  // contingency.relative_risk(130, 1000, 100, 1000).confidence_interval(0.95);
  // norm.ppf(0.975) for the difference's interval.
  const Comparison& c = *b.vs_control;
  EXPECT_NEAR(c.absolute_lift, 0.03, 1e-12);
  EXPECT_NEAR(*c.z, 2.102740605622114, 1e-9);
  EXPECT_NEAR(*c.p_value, 0.03548845046647473, 1e-9);
  EXPECT_NEAR(c.absolute_interval->low, 0.0020679344393763656, 1e-9);
  EXPECT_NEAR(c.absolute_interval->high, 0.057932065560623636, 1e-9);
  EXPECT_NEAR(*c.relative_lift, 0.3, 1e-12);
  EXPECT_NEAR(c.relative_interval->low, 0.01698427097104549, 1e-9);
  EXPECT_NEAR(c.relative_interval->high, 0.6617759470226026, 1e-9);
  ASSERT_EQ(report.recommendations.size(), 1u);
  EXPECT_EQ(report.recommendations[0].rule, "experiment_winner");
  EXPECT_THAT(report.recommendations[0].evidence,
              ::testing::Contains(std::pair<std::string, double>("p_value", *c.p_value)));

  // The same figures before the planned sample: significant, yet no winner.
  config_.experiments[0].sample_size = 1001;
  report = Report();
  EXPECT_EQ(report.experiments.at(0).status, "collecting");
  EXPECT_EQ(report.experiments.at(0).winner, "");
  EXPECT_TRUE(report.experiments.at(0).variants.at(1).significant);
  EXPECT_TRUE(report.recommendations.empty());
}

TEST_F(UxReportTest, ASplitFarFromThePlanIsASampleRatioMismatch) {
  config_.experiments.push_back({"srm", {{"A", 1}, {"B", 1}}, "A", 10});
  Expose("srm", "A", 1000, 100);
  Expose("srm", "B", 850, 85);
  UxReport report = Report();
  const ExperimentFigures& e = report.experiments.at(0);
  EXPECT_TRUE(e.sample_ratio_mismatch);
  EXPECT_EQ(e.status, "sample_ratio_mismatch");
  // scipy 1.10: chisquare([1000, 850], [925, 925]).
  EXPECT_NEAR(e.sample_ratio->chi_square, 12.162162162162161, 1e-9);
  EXPECT_EQ(e.sample_ratio->degrees_of_freedom, 1);
  EXPECT_NEAR(e.sample_ratio->p_value, 0.0004876880960760176, 1e-12);
  ASSERT_EQ(report.recommendations.size(), 1u);
  EXPECT_EQ(report.recommendations[0].rule, "sample_ratio_mismatch");
  // With the split planned 1000:850 it is none.
  config_.experiments[0].variants = {{"A", 1000}, {"B", 850}};
  EXPECT_FALSE(Report().experiments.at(0).sample_ratio_mismatch);
  // A variant that was not planned is a mismatch by itself.
  Expose("srm", "C", 5, 0);
  report = Report();
  EXPECT_TRUE(report.experiments.at(0).sample_ratio_mismatch);
  EXPECT_FALSE(report.experiments.at(0).sample_ratio);
  EXPECT_EQ(report.experiments.at(0).variants.back().name, "C");
}

TEST_F(UxReportTest, ConversionsCountOnceAUserIsExposedAndInTheirFirstVariant) {
  Store({
      Experiment("e", "A", "early", "conversion", 0),  // before any exposure: unattributed
      Experiment("e", "A", "early", "exposure", 1), Experiment("e", "A", "twice", "exposure", 0),
      Experiment("e", "B", "twice", "exposure", 1),  // then shown B: stays in A
      Experiment("e", "B", "twice", "conversion", 2),
      Experiment("e", "A", "twice", "conversion", 3),  // counted once
      Experiment("e", "B", "never", "conversion", 0),  // never exposed
  });
  const UxReport report = Report();
  const ExperimentFigures& e = report.experiments.at(0);
  ASSERT_EQ(e.variants.size(), 1u);  // nobody's first exposure was to B
  EXPECT_EQ(e.variants[0].exposures, 2);
  EXPECT_EQ(e.variants[0].conversions, 1);
  EXPECT_EQ(e.users_in_several_variants, 1);
  EXPECT_EQ(e.unattributed_conversions, 2);
}

// An experiment event naming no experiment is of none: it neither appears nor counts towards the
// next user's exposure.
TEST_F(UxReportTest, ExperimentEventsWithoutAnExperimentAreLeftOut) {
  Store({Experiment("", "A", "u1", "exposure", 0), Experiment("e", "B", "u2", "conversion", 1)});
  const UxReport report = Report();
  ASSERT_EQ(report.experiments.size(), 1u);
  const ExperimentFigures& e = report.experiments[0];
  EXPECT_EQ(e.name, "e");
  EXPECT_TRUE(e.variants.empty());
  EXPECT_EQ(e.unattributed_conversions, 1);
}

TEST_F(UxReportTest, RecommendationsCarryTheFiguresThatTriggeredThem) {
  config_.funnels.push_back(
      {"f", {{"land", "/land", "", ""}, {"go", "/go", "", ""}}, std::chrono::milliseconds(0)});
  std::vector<std::string> events;
  for (int i = 0; i < 20; ++i) {
    const std::string user = fmt::format("u{}", i), session = fmt::format("s{}", i);
    events.push_back(UiEvent(user, session, "/land", "dead", 0));
    if (i < 5) {  // a quarter go on; the rest bounce
      events.push_back(UiEvent(user, session, "/go", "angry", 100'000));
      events.push_back(UiEvent(user, session, "/go", "angry", 100'500));
      events.push_back(UiEvent(user, session, "/go", "angry", 101'000));
    }
  }
  Store(events);
  const UxReport report = Report();
  std::vector<std::string> rules;
  for (const auto& r : report.recommendations) rules.push_back(r.rule + " " + r.subject);
  EXPECT_THAT(rules, ElementsAre("high_bounce_rate /land", "dead_clicks /land dead",
                                 "rage_clicks /go angry", "funnel_drop_off f: go"));
  const Recommendation& bounce = report.recommendations[0];
  EXPECT_THAT(bounce.message, HasSubstr("75.0%"));
  EXPECT_THAT(bounce.evidence, ElementsAre(std::pair<std::string, double>("entries", 20),
                                           std::pair<std::string, double>("bounces", 15),
                                           std::pair<std::string, double>("bounce_rate", 0.75)));
  EXPECT_THAT(
      report.recommendations[3].evidence,
      ::testing::Contains(std::pair<std::string, double>("conversion_from_previous", 0.25)));
}

TEST_F(UxReportTest, ServesJsonAndNamesABadParameter) {
  config_.experiments.push_back({"cta", {{"A", 1}, {"B", 1}}, "A", 10});
  Store({UiEvent("u1", "s1", "/home", "cta", 0), Experiment("cta", "A", "u1", "exposure")});
  auto reports = UxReports::Open(path(), clock_, 90, config_);
  ASSERT_TRUE(reports.ok()) << reports.message();
  const auto response = (*reports)->Serve(http::Request::Make("GET", "/api/monitoring/ux?days=7"));
  ASSERT_EQ(response.status, 200) << response.body;
  const auto document = boost::json::parse(response.body).as_object();
  EXPECT_EQ(document.at("days").as_int64(), 7);
  EXPECT_EQ(document.at("totals").at("clicks").as_int64(), 1);
  EXPECT_EQ(document.at("elements").at(0).at("element").as_string(), "cta");
  const auto& variant_b = document.at("experiments").at(0).at("variants").at(1).as_object();
  EXPECT_TRUE(variant_b.at("vs_control").at("p_value").is_null());
  EXPECT_TRUE(document.at("page").is_null());
  const auto page =
      (*reports)->Serve(http::Request::Make("GET", "/api/monitoring/ux?page=%2Fnone&limit=5"));
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(boost::json::parse(page.body).at("pages").as_array().size(), 0u);
  for (const auto& [query, named] :
       {std::pair{"days=0", "days: '0'"}, std::pair{"days=91", "days: '91'"},
        std::pair{"days=x", "days: 'x'"}, std::pair{"limit=0", "limit: '0'"},
        std::pair{"limit=10001", "limit: '10001'"}, std::pair{"page=", "page: "}}) {
    const auto refused =
        (*reports)->Serve(http::Request::Make("GET", fmt::format("/api/monitoring/ux?{}", query)));
    EXPECT_EQ(refused.status, 400) << query;
    EXPECT_THAT(refused.body, HasSubstr(named)) << query;
  }
}

TEST(AbTest, GoodnessOfFitNeedsTwoGroupsAndObservations) {
  EXPECT_FALSE(GoodnessOfFit({10}, {1}));
  EXPECT_FALSE(GoodnessOfFit({0, 0}, {1, 1}));
  // scipy: chisquare([30, 50, 20], [33.33.., 33.33.., 33.33..]) = 14.0, p = 0.000911882.
  const auto test = GoodnessOfFit({30, 50, 20}, {1, 1, 1});
  ASSERT_TRUE(test);
  EXPECT_NEAR(test->chi_square, 14.0, 1e-9);
  EXPECT_EQ(test->degrees_of_freedom, 2);
  EXPECT_NEAR(test->p_value, 0.0009118819655545162, 1e-12);
}

}  // namespace
}  // namespace mingus::collector::events

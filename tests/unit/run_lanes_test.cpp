// How a run shares its policies out among sessions (work_lanes) and how their results reach
// the observer in policy order (OrderedReport).
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "retentiond/engine/lanes.hpp"
#include "retentiond/engine/ordered_report.hpp"

using retentiond::ActionResult;
using retentiond::OrderedReport;
using retentiond::PolicyPlan;
using retentiond::RunObserver;
using retentiond::TableFacts;
using retentiond::work_lanes;
using Lanes = std::vector<std::vector<std::size_t>>;

namespace {

TableFacts table(const std::string& name, std::optional<std::int64_t> root = std::nullopt) {
  TableFacts t;
  t.table = {"public", name};
  t.tree_root = root;
  return t;
}

// Writes down every call, in order.
class Recorder final : public RunObserver {
 public:
  std::vector<std::string> calls;
  void executing(const PolicyPlan& plan) override { calls.push_back("executing " + plan.policy.id); }
  void action_finished(const ActionResult& result) override {
    calls.push_back("action " + result.action->policy_id + " " + result.outcome.status);
  }
  void finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) override {
    std::string call = "finished " + plan.policy.id;
    for (const auto& r : results) call += " " + r.action->policy_id + ":" + r.outcome.status;
    calls.push_back(call);
  }
};

PolicyPlan plan_of(const std::string& id, int actions) {
  PolicyPlan plan;
  plan.policy.id = id;
  for (int i = 0; i < actions; ++i) plan.actions.emplace_back().policy_id = id;
  return plan;
}

std::vector<ActionResult> results_of(const PolicyPlan& plan, const std::vector<std::string>& statuses) {
  std::vector<ActionResult> results;
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    ActionResult& result = results.emplace_back();
    result.action = &plan.actions.at(i);
    result.outcome.status = statuses[i];
  }
  return results;
}

}  // namespace

TEST_CASE("work_lanes: one lane per table, policies of a table together, in policy order") {
  const std::vector<TableFacts> tables{table("a"), table("b"), table("c")};
  // policies 0..4 on tables 0, 1, 0, 2, 1
  CHECK(work_lanes({0, 1, 0, 2, 1}, tables, 2) == Lanes{{0, 2}, {1, 4}, {3}});
  CHECK(work_lanes({}, {}, 2).empty());
  CHECK(work_lanes({0}, tables, 2) == Lanes{{0}});
}

TEST_CASE("work_lanes: with one session every policy is in one lane, in policy order") {
  const std::vector<TableFacts> tables{table("a"), table("b"), table("c")};
  CHECK(work_lanes({0, 1, 0, 2, 1}, tables, 1) == Lanes{{0, 1, 2, 3, 4}});
  CHECK(work_lanes({0, 1, 0, 2, 1}, tables, 0) == Lanes{{0, 1, 2, 3, 4}});
  CHECK(work_lanes({}, {}, 1).empty());
}

TEST_CASE("work_lanes: tables of one partition tree share a lane, other trees and plain tables do not") {
  // a and c are in tree 100 (a root and a sub-partitioned partition), b in tree 200, d is a
  // plain table (no tree)
  const std::vector<TableFacts> tables{table("a", 100), table("b", 200), table("c", 100), table("d")};
  CHECK(work_lanes({0, 1, 2, 3}, tables, 2) == Lanes{{0, 2}, {1}, {3}});
  // whichever of the tree's tables comes first opens the lane
  CHECK(work_lanes({2, 3, 0, 1}, tables, 4) == Lanes{{0, 2}, {1}, {3}});
  CHECK(work_lanes({3, 2, 1, 0}, tables, 4) == Lanes{{0}, {1, 3}, {2}});
}

TEST_CASE("work_lanes: a plain table read through two time columns is still one table, one lane") {
  // public.events twice (policies on created_at and on expires_at), public.other once
  const std::vector<TableFacts> tables{table("events"), table("other"), table("events")};
  CHECK(work_lanes({0, 1, 2}, tables, 2) == Lanes{{0, 2}, {1}});
}

TEST_CASE("OrderedReport: policies finished out of order reach the observer in policy order") {
  Recorder recorder;
  OrderedReport report(recorder, 3);
  PolicyPlan b = plan_of("b", 2);
  PolicyPlan c = plan_of("c", 1);

  // c's session finishes first, then b's, while a is still running.
  report.executing(c);
  report.action_finished(results_of(c, {"succeeded"}).front());
  auto c_results = results_of(c, {"succeeded"});
  report.done(2, std::move(c), std::move(c_results));
  auto b_results = results_of(b, {"succeeded", "failed"});
  report.done(1, std::move(b), std::move(b_results));
  CHECK(recorder.calls == std::vector<std::string>{"executing c", "action c succeeded"});
  CHECK(report.summary().policies == 0);  // nothing reported yet

  report.done(0, plan_of("a", 1), {});
  CHECK(recorder.calls == std::vector<std::string>{"executing c", "action c succeeded", "finished a",
                                                   "finished b b:succeeded b:failed",
                                                   "finished c c:succeeded"});
  const auto summary = report.summary();
  CHECK(summary.policies == 3);
  CHECK(summary.planned == 4);
  CHECK(summary.succeeded == 2);
  CHECK(summary.failed == 1);
  CHECK(summary.skipped == 0);
  CHECK(summary.any_failed());
}

TEST_CASE("OrderedReport: a failed plan counts once, skipped and abandoned actions count as skipped") {
  Recorder recorder;
  OrderedReport report(recorder, 2);
  PolicyPlan broken = plan_of("x", 0);
  broken.error = "table public.gone does not exist";
  report.done(0, std::move(broken), {});
  PolicyPlan y = plan_of("y", 2);
  auto y_results = results_of(y, {"skipped", "abandoned"});
  report.done(1, std::move(y), std::move(y_results));
  const auto summary = report.summary();
  CHECK(summary.failed == 1);
  CHECK(summary.skipped == 2);
  CHECK(recorder.calls == std::vector<std::string>{"finished x", "finished y y:skipped y:abandoned"});
}

TEST_CASE("OrderedReport: when a run breaks off, what is held is reported past the gap") {
  Recorder recorder;
  OrderedReport report(recorder, 4);
  report.done(0, plan_of("a", 0), {});
  // b's session broke; c and d finished in the other one
  report.done(2, plan_of("c", 0), {});
  report.done(3, plan_of("d", 0), {});
  CHECK(recorder.calls == std::vector<std::string>{"finished a"});
  report.flush_held();
  CHECK(recorder.calls == std::vector<std::string>{"finished a", "finished c", "finished d"});
  CHECK(report.summary().policies == 3);
}

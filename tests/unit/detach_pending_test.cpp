// A partition left half detached by an interrupted DETACH ... CONCURRENTLY: the delete strategy
// finishes it with FINALIZE before anything else, or says why it cannot.
#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "retentiond/config/config.hpp"
#include "retentiond/dialect/postgresql.hpp"
#include "retentiond/engine/catalog.hpp"
#include "retentiond/engine/plan.hpp"
#include "retentiond/engine/planner.hpp"
#include "retentiond/policy/duration.hpp"
#include "retentiond/policy/policy.hpp"

using namespace std::chrono;
using retentiond::ActionKind;
using retentiond::Config;
using retentiond::DatabaseFacts;
using retentiond::Duration;
using retentiond::PartitionFacts;
using retentiond::PolicyPlan;
using retentiond::TableFacts;

namespace {

sys_seconds jan(unsigned d) { return sys_days{year{2024} / January / std::chrono::day{d}}; }

// Daily partitions metrics_d1 ... metrics_d10 of January 2024; `pending` half detached.
TableFacts table(std::vector<unsigned> pending) {
  TableFacts t;
  t.table = {"public", "metrics"};
  t.exists = true;
  t.partitioned = true;
  t.key_column = "ts";
  t.key_type = "timestamp with time zone";
  for (unsigned d = 1; d <= 10; ++d) {
    PartitionFacts p;
    p.name = {"public", "metrics_d" + std::to_string(d)};
    p.lower = jan(d);
    p.upper = jan(d) + days(1);
    p.detach_pending = std::find(pending.begin(), pending.end(), d) != pending.end();
    t.partitions.push_back(p);
  }
  return t;
}

// A delete policy with a ttl of 5 days, planned by default on 2024-01-11: days 1 to 5 are expired.
PolicyPlan plan(const TableFacts& t, std::map<std::string, std::string> options, sys_seconds when = jan(11)) {
  retentiond::Policy p;
  p.id = "p1";
  p.table = {"public", "metrics"};
  p.strategy = "delete";
  p.ttl = Duration::parse("5d");
  p.options = std::move(options);
  const retentiond::PostgresqlDialect dialect;
  return retentiond::plan_policy(p, t, DatabaseFacts{}, dialect, Config{}, when);
}

std::string finalize(unsigned d) {
  return R"(ALTER TABLE "public"."metrics" DETACH PARTITION "public"."metrics_d)" + std::to_string(d) +
         R"(" FINALIZE)";
}
std::string drop(unsigned d) { return R"(DROP TABLE "public"."metrics_d)" + std::to_string(d) + R"(")"; }

}  // namespace

TEST_CASE("detach pending: an expired half-detached partition is finalized first, in a transaction") {
  for (const unsigned pending : {1u, 3u, 5u}) {
    for (const char* option : {"detach_concurrently", "detach"}) {
      CAPTURE(pending);
      CAPTURE(option);
      const auto result = plan(table({pending}), {{option, "true"}});
      REQUIRE_FALSE(result.error);
      REQUIRE(result.actions.size() == 5);
      const auto& first = result.actions.front();
      CHECK(first.partition->name == "metrics_d" + std::to_string(pending));
      CHECK(first.kind == ActionKind::detach_partition);
      CHECK(first.action == "detach_drop");
      CHECK(first.sql == std::vector<std::string>{finalize(pending), drop(pending)});
      CHECK_FALSE(first.outside_transaction);  // FINALIZE runs in a transaction block, with the drop
      CHECK(first.reason.find("interrupted DETACH ... CONCURRENTLY") != std::string::npos);
      // The others follow, oldest first, each once.
      for (std::size_t i = 1; i < result.actions.size(); ++i) {
        const auto& action = result.actions[i];
        CHECK(action.partition->name != first.partition->name);
        CHECK(action.sql.front().find(" FINALIZE") == std::string::npos);
        CHECK(action.outside_transaction == (std::string(option) == "detach_concurrently"));
        if (i > 1) CHECK(*action.lower > *result.actions[i - 1].lower);
      }
    }
  }
}

TEST_CASE("detach pending: keep_table finalizes and keeps the table, every half-detached one") {
  const auto result = plan(table({2, 4}), {{"keep_table", "true"}, {"detach_concurrently", "true"}});
  REQUIRE_FALSE(result.error);
  REQUIRE(result.actions.size() == 5);
  CHECK(result.actions[0].sql == std::vector<std::string>{finalize(2)});
  CHECK(result.actions[1].sql == std::vector<std::string>{finalize(4)});
  CHECK(result.actions[0].action == "detach");
  CHECK(result.actions[2].partition->name == "metrics_d1");
}

TEST_CASE("detach pending: a plain drop policy drops a half-detached partition like any other") {
  const auto result = plan(table({3}), {});
  REQUIRE_FALSE(result.error);
  REQUIRE(result.actions.size() == 5);
  for (const auto& action : result.actions) {
    CHECK(action.kind == ActionKind::drop_partition);
    CHECK(action.sql.size() == 1);
    CHECK(action.sql.front().starts_with("DROP TABLE "));
  }
}

TEST_CASE("detach pending: one that has not expired stops concurrent detaches with the FINALIZE to run") {
  const auto result = plan(table({8}), {{"detach_concurrently", "true"}});
  CHECK(result.actions.empty());
  REQUIRE(result.error);
  CHECK(*result.error ==
        "detach_concurrently is not possible on public.metrics: its partition public.metrics_d8 has an "
        "unfinished DETACH ... CONCURRENTLY and has not expired; finish it with " +
            finalize(8));
  // A locking detach is not refused by PostgreSQL: the others go ahead, the pending one is left.
  const auto locking = plan(table({8}), {{"detach", "true"}});
  CHECK_FALSE(locking.error);
  CHECK(locking.actions.size() == 5);
  // Nothing expired: nothing to refuse.
  const auto early = plan(table({8}), {{"detach_concurrently", "true"}}, jan(3));
  CHECK_FALSE(early.error);
  CHECK(early.actions.empty());
}

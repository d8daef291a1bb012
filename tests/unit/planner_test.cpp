#include "retentiond/engine/planner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "retentiond/config/config.hpp"
#include "retentiond/core/time.hpp"
#include "retentiond/dialect/postgresql.hpp"
#include "retentiond/engine/catalog.hpp"
#include "retentiond/engine/plan.hpp"
#include "retentiond/policy/duration.hpp"
#include "retentiond/policy/policy.hpp"

using retentiond::Action;
using retentiond::ActionKind;
using retentiond::Config;
using retentiond::DatabaseFacts;
using retentiond::Duration;
using retentiond::format_instant;
using retentiond::PartitionFacts;
using retentiond::plan_policy;
using retentiond::Policy;
using retentiond::PolicyPlan;
using retentiond::PostgresqlDialect;
using retentiond::QualifiedName;
using retentiond::TableFacts;

namespace {

using namespace std::chrono;

constexpr const char* timestamptz = "timestamp with time zone";

sys_seconds at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

// now − 5 days = 2024-01-06 00:00:00 UTC, the cutoff of most cases below.
const sys_seconds now = at(2024, 1, 11);

Policy policy(const std::string& strategy, std::optional<std::string> target = std::nullopt) {
  Policy p;
  p.id = "p1";
  p.table = {"public", "metrics"};
  p.strategy = strategy;
  p.ttl = Duration::parse("5d");
  p.target = std::move(target);
  return p;
}

PartitionFacts partition(const std::string& name, std::optional<sys_seconds> lower,
                         std::optional<sys_seconds> upper, std::string tablespace = "") {
  PartitionFacts p;
  p.name = {"public", name};
  p.lower = lower;
  p.upper = upper;
  p.bound_text = "FOR VALUES FROM (...) TO (...)";
  p.tablespace = std::move(tablespace);
  p.size_bytes = 8192;
  return p;
}

// The partition `metrics_p202401DD` holding day `d` of January 2024.
PartitionFacts daily(unsigned d, std::string tablespace = "") {
  char name[32];
  std::snprintf(name, sizeof name, "metrics_p202401%02u", d);
  return partition(name, at(2024, 1, d), at(2024, 1, d) + days(1), std::move(tablespace));
}

TableFacts partitioned(unsigned first = 1, unsigned last = 10, std::string key_type = timestamptz) {
  TableFacts t;
  t.table = {"public", "metrics"};
  t.exists = true;
  t.partitioned = true;
  t.key_column = "ts";
  t.key_type = std::move(key_type);
  for (unsigned d = first; d <= last; ++d) t.partitions.push_back(daily(d));
  return t;
}

TableFacts plain(std::string key_type = timestamptz) {
  TableFacts t;
  t.table = {"public", "events"};
  t.exists = true;
  t.partitioned = false;
  t.key_type = std::move(key_type);
  return t;
}

Policy plain_policy(const std::string& key_column = "created_at") {
  Policy p = policy("delete");
  p.table = {"public", "events"};
  p.partition_column = key_column;
  return p;
}

DatabaseFacts database() { return {.tablespaces = {"cold", "pg_default", "pg_global"}}; }

Config config() {
  Config c;
  c.snapshot.repositories["archive"] = {.path = "/var/lib/retentiond/archive", .compression = "zstd"};
  return c;
}

PolicyPlan plan(const Policy& p, const TableFacts& t, sys_seconds when = now, const Config& c = config()) {
  const PostgresqlDialect dialect;
  return plan_policy(p, t, database(), dialect, c, when);
}

std::vector<std::string> partition_names(const PolicyPlan& plan) {
  std::vector<std::string> names;
  for (const auto& action : plan.actions)
    names.push_back(action.partition ? action.partition->name : "(table)");
  return names;
}

std::vector<std::string> skipped_names(const PolicyPlan& plan) {
  std::vector<std::string> names;
  for (const auto& skip : plan.skipped) names.push_back(skip.partition.name);
  return names;
}

using Names = std::vector<std::string>;

}  // namespace

// --- cutoff and classification ---------------------------------------------------------------

TEST_CASE("planner: the cutoff is the ttl before now") {
  const auto result = plan(policy("delete"), partitioned());
  CHECK(format_instant(result.cutoff) == "2024-01-06T00:00:00Z");
  CHECK(result.policy == policy("delete"));
}

TEST_CASE("planner: a calendar-month ttl lands on the same day of the earlier month, clamped to its end") {
  Policy p = policy("delete");
  p.ttl = Duration::parse("1mo");
  CHECK(format_instant(plan(p, partitioned(), at(2024, 3, 31, 12)).cutoff) == "2024-02-29T12:00:00Z");
  CHECK(format_instant(plan(p, partitioned(), at(2023, 3, 31)).cutoff) == "2023-02-28T00:00:00Z");
  CHECK(format_instant(plan(p, partitioned(), at(2024, 1, 15)).cutoff) == "2023-12-15T00:00:00Z");
  p.ttl = Duration::parse("1y");
  CHECK(format_instant(plan(p, partitioned(), at(2024, 2, 29)).cutoff) == "2023-02-28T00:00:00Z");
  p.ttl = Duration::parse("1mo12h");
  CHECK(format_instant(plan(p, partitioned(), at(2024, 3, 31)).cutoff) == "2024-02-28T12:00:00Z");
}

TEST_CASE("planner: a partition whose upper bound equals the cutoff is expired") {
  const auto result = plan(policy("delete"), partitioned());
  REQUIRE(result.actions.size() == 5);
  CHECK(result.actions.back().partition->name == "metrics_p20240105");
  CHECK(result.actions.back().upper == at(2024, 1, 6));
  CHECK(result.actions.back().reason == "upper bound 2024-01-06T00:00:00Z <= cutoff 2024-01-06T00:00:00Z");
}

TEST_CASE("planner: a partition whose upper bound is one second after the cutoff is not expired") {
  const auto result = plan(policy("delete"), partitioned(), now - seconds(1));
  CHECK(format_instant(result.cutoff) == "2024-01-05T23:59:59Z");
  CHECK(partition_names(result) ==
        Names{"metrics_p20240101", "metrics_p20240102", "metrics_p20240103", "metrics_p20240104"});
  REQUIRE_FALSE(result.skipped.empty());
  CHECK(result.skipped.front().partition.name == "metrics_p20240105");
  CHECK(result.skipped.front().reason == "not expired: upper bound 2024-01-06T00:00:00Z is after the cutoff");
}

TEST_CASE(
    "planner: only partitions wholly before the cutoff are expired, the others are skipped with a reason") {
  const auto result = plan(policy("delete"), partitioned());
  CHECK_FALSE(result.error.has_value());
  CHECK(partition_names(result) == Names{"metrics_p20240101", "metrics_p20240102", "metrics_p20240103",
                                         "metrics_p20240104", "metrics_p20240105"});
  CHECK(skipped_names(result) == Names{"metrics_p20240106", "metrics_p20240107", "metrics_p20240108",
                                       "metrics_p20240109", "metrics_p20240110"});
  for (const auto& skip : result.skipped) CHECK(skip.reason.starts_with("not expired: upper bound "));
}

TEST_CASE("planner: the partition holding the cutoff instant is not expired") {
  // Its range [Jan 5 12:00, Jan 6 12:00) straddles the cutoff of Jan 6 00:00.
  TableFacts t = partitioned(1, 0);
  t.partitions.push_back(partition("straddling", at(2024, 1, 5, 12), at(2024, 1, 6, 12)));
  const auto result = plan(policy("delete"), t);
  CHECK(result.actions.empty());
  CHECK(skipped_names(result) == Names{"straddling"});
}

TEST_CASE("planner: default and unbounded partitions are skipped with their reasons") {
  TableFacts t = partitioned(1, 2);
  PartitionFacts fallback = partition("metrics_default", std::nullopt, std::nullopt);
  fallback.is_default = true;
  fallback.bound_text = "DEFAULT";
  PartitionFacts below = partition("metrics_old", std::nullopt, at(2023, 1, 1));
  below.bound_text = "FOR VALUES FROM (MINVALUE) TO ('2023-01-01 00:00:00+00')";
  PartitionFacts above = partition("metrics_future", at(2023, 1, 1), std::nullopt);
  above.bound_text = "FOR VALUES FROM ('2023-01-01 00:00:00+00') TO (MAXVALUE)";
  PartitionFacts list = partition("metrics_list", std::nullopt, std::nullopt);
  list.bound_text = "FOR VALUES IN ('a')";
  t.partitions.insert(t.partitions.begin(), {fallback, below, above, list});

  const auto result = plan(policy("delete"), t);
  CHECK(partition_names(result) == Names{"metrics_p20240101", "metrics_p20240102"});
  REQUIRE(result.skipped.size() == 4);
  CHECK(result.skipped[0].partition.name == "metrics_default");
  CHECK(result.skipped[0].reason == "default partition");
  CHECK(result.skipped[1].partition.name == "metrics_old");
  CHECK(result.skipped[1].reason ==
        "unbounded range (FOR VALUES FROM (MINVALUE) TO ('2023-01-01 00:00:00+00'))");
  CHECK(result.skipped[2].reason ==
        "unbounded range (FOR VALUES FROM ('2023-01-01 00:00:00+00') TO (MAXVALUE))");
  CHECK(result.skipped[3].reason == "unbounded range (FOR VALUES IN ('a'))");
}

TEST_CASE("planner: expired partitions keep the catalog's oldest-first order") {
  const auto result = plan(policy("delete"), partitioned(1, 31));
  REQUIRE(result.actions.size() == 5);
  for (std::size_t i = 1; i < result.actions.size(); ++i) {
    CHECK(*result.actions[i - 1].upper < *result.actions[i].upper);
  }
  CHECK(result.actions.front().partition->name == "metrics_p20240101");
}

TEST_CASE("planner: nothing expired gives an empty plan without an error") {
  const auto result = plan(policy("delete"), partitioned(), at(2024, 1, 2));
  CHECK_FALSE(result.error.has_value());
  CHECK(result.actions.empty());
  CHECK(result.skipped.size() == 10);
}

TEST_CASE("planner: a partitioned table without partitions plans nothing") {
  const auto result = plan(policy("delete"), partitioned(1, 0));
  CHECK_FALSE(result.error.has_value());
  CHECK(result.actions.empty());
  CHECK(result.skipped.empty());
}

TEST_CASE("planner: the same inputs give the same plan") {
  const auto a = plan(policy("delete"), partitioned());
  const auto b = plan(policy("delete"), partitioned());
  REQUIRE(a.actions.size() == b.actions.size());
  for (std::size_t i = 0; i < a.actions.size(); ++i) {
    CHECK(a.actions[i].sql == b.actions[i].sql);
    CHECK(a.actions[i].reason == b.actions[i].reason);
  }
}

// --- delete, partitioned ---------------------------------------------------------------------

TEST_CASE("planner: delete on a partitioned table drops each expired partition") {
  const auto result = plan(policy("delete"), partitioned());
  REQUIRE(result.actions.size() == 5);
  const Action& first = result.actions.front();
  CHECK(first.kind == ActionKind::drop_partition);
  CHECK(first.action == "drop");
  CHECK(first.policy_id == "p1");
  CHECK(first.strategy == "delete");
  CHECK(first.table == QualifiedName{"public", "metrics"});
  CHECK(first.partition == QualifiedName{"public", "metrics_p20240101"});
  CHECK(first.sql == std::vector<std::string>{R"(DROP TABLE "public"."metrics_p20240101")"});
  CHECK(first.params.empty());
  CHECK(first.lower == at(2024, 1, 1));
  CHECK(first.upper == at(2024, 1, 2));
  CHECK(first.size_bytes == 8192);
  CHECK(first.reason == "upper bound 2024-01-02T00:00:00Z <= cutoff 2024-01-06T00:00:00Z");
  CHECK(first.target.empty());
  CHECK(result.actions[4].sql == std::vector<std::string>{R"(DROP TABLE "public"."metrics_p20240105")"});
}

TEST_CASE("planner: drops are grouped into transactions of partitions_per_transaction, 100 unless set") {
  const auto numbers = [](const PolicyPlan& result) {
    std::vector<std::int64_t> out;
    for (const auto& action : result.actions) out.push_back(action.transaction);
    return out;
  };
  CHECK(numbers(plan(policy("delete"), partitioned())) == std::vector<std::int64_t>{1, 1, 1, 1, 1});
  Policy p = policy("delete");
  p.options["partitions_per_transaction"] = "2";
  CHECK(numbers(plan(p, partitioned())) == std::vector<std::int64_t>{1, 1, 2, 2, 3});
  p.options["partitions_per_transaction"] = "1";
  CHECK(numbers(plan(p, partitioned())) == std::vector<std::int64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("planner: delete with detach detaches and then drops") {
  Policy p = policy("delete");
  p.options["detach"] = "true";
  const auto result = plan(p, partitioned());
  REQUIRE(result.actions.size() == 5);
  const Action& first = result.actions.front();
  CHECK(first.kind == ActionKind::detach_partition);
  CHECK(first.action == "detach_drop");
  CHECK(first.sql == std::vector<std::string>{
                         R"(ALTER TABLE "public"."metrics" DETACH PARTITION "public"."metrics_p20240101")",
                         R"(DROP TABLE "public"."metrics_p20240101")",
                     });
}

TEST_CASE("planner: detach set to false is a plain drop") {
  Policy p = policy("delete");
  p.options["detach"] = "false";
  p.options["keep_table"] = "false";
  p.options["detach_concurrently"] = "false";
  const auto result = plan(p, partitioned());
  REQUIRE_FALSE(result.actions.empty());
  CHECK(result.actions.front().kind == ActionKind::drop_partition);
}

TEST_CASE("planner: delete with detach_concurrently detaches concurrently and then drops") {
  Policy p = policy("delete");
  p.options["detach_concurrently"] = "true";
  const auto result = plan(p, partitioned());
  REQUIRE(result.actions.size() == 5);
  CHECK(result.actions.front().action == "detach_drop");
  CHECK(result.actions.front().sql ==
        std::vector<std::string>{
            R"(ALTER TABLE "public"."metrics" DETACH PARTITION "public"."metrics_p20240101" CONCURRENTLY)",
            R"(DROP TABLE "public"."metrics_p20240101")",
        });
}

TEST_CASE("planner: delete with keep_table only detaches") {
  Policy p = policy("delete");
  p.options["keep_table"] = "true";
  const auto result = plan(p, partitioned());
  REQUIRE(result.actions.size() == 5);
  CHECK(result.actions.front().kind == ActionKind::detach_partition);
  CHECK(result.actions.front().action == "detach");
  CHECK(result.actions.front().sql ==
        std::vector<std::string>{
            R"(ALTER TABLE "public"."metrics" DETACH PARTITION "public"."metrics_p20240101")"});
}

TEST_CASE("planner: keep_table with detach_concurrently only detaches, concurrently") {
  Policy p = policy("delete");
  p.options["keep_table"] = "true";
  p.options["detach_concurrently"] = "true";
  const auto result = plan(p, partitioned());
  REQUIRE_FALSE(result.actions.empty());
  CHECK(result.actions.front().action == "detach");
  CHECK(result.actions.front().sql ==
        std::vector<std::string>{
            R"(ALTER TABLE "public"."metrics" DETACH PARTITION "public"."metrics_p20240101" CONCURRENTLY)"});
}

// --- delete, plain table ---------------------------------------------------------------------

TEST_CASE("planner: delete on a plain table is one batched delete_rows action") {
  const auto result = plan(plain_policy(), plain());
  CHECK_FALSE(result.error.has_value());
  REQUIRE(result.actions.size() == 1);
  const Action& action = result.actions.front();
  CHECK(action.kind == ActionKind::delete_rows);
  CHECK(action.action == "delete_rows");
  CHECK(action.policy_id == "p1");
  CHECK(action.strategy == "delete");
  CHECK(action.table == QualifiedName{"public", "events"});
  CHECK_FALSE(action.partition.has_value());
  CHECK(
      action.sql ==
      std::vector<std::string>{
          R"(DELETE FROM ONLY "public"."events" WHERE ctid = ANY(ARRAY(SELECT ctid FROM ONLY "public"."events")"
          R"( WHERE "created_at" < $1 LIMIT $2)))",
      });
  CHECK(action.params == std::vector<std::string>{"2024-01-06 00:00:00+00", "10000"});
  CHECK(action.batch_size == 10000);
  CHECK(action.reason == "rows with created_at before the cutoff 2024-01-06T00:00:00Z");
  CHECK(result.skipped.empty());
}

TEST_CASE("planner: the plain-table cutoff parameter is spelled for the column's type") {
  CHECK(plan(plain_policy(), plain("timestamp with time zone")).actions.at(0).params.at(0) ==
        "2024-01-06 00:00:00+00");
  CHECK(plan(plain_policy(), plain("timestamp without time zone")).actions.at(0).params.at(0) ==
        "2024-01-06 00:00:00");
  CHECK(plan(plain_policy(), plain("date")).actions.at(0).params.at(0) == "2024-01-06");
  CHECK(plan(plain_policy(), plain(), now + hours(13) + minutes(4) + seconds(5)).actions.at(0).params.at(0) ==
        "2024-01-06 13:04:05+00");
}

TEST_CASE("planner: a cutoff before the year 1 fails the policy with the reason, planning nothing") {
  Policy p = plain_policy();
  p.ttl = Duration::parse("3000y");  // 977 BC; a stored row: add refuses more than 1000y
  for (const auto& table : {plain(), plain("date")}) {
    const auto result = plan(p, table);
    CHECK(result.actions.empty());
    REQUIRE(result.error.has_value());
    CHECK(*result.error ==
          "the cutoff -000976-01-11T00:00:00Z (2024-01-11T00:00:00Z - ttl 3000y) lies before "
          "0001-01-01T00:00:00Z, which no database compares; give a shorter ttl");
  }
  p.ttl = Duration::parse("1000y");
  CHECK(plan(p, plain(), at(500, 1, 1)).error.has_value());
  CHECK(!plan(p, plain()).error.has_value());
}

TEST_CASE("planner: the plain-table batch size comes from the batch_size option") {
  Policy p = plain_policy();
  p.options["batch_size"] = "500";
  const auto result = plan(p, plain());
  REQUIRE(result.actions.size() == 1);
  CHECK(result.actions.front().batch_size == 500);
  CHECK(result.actions.front().params == std::vector<std::string>{"2024-01-06 00:00:00+00", "500"});
}

TEST_CASE("planner: a plain table whose policy names no time column is an error") {
  Policy p = plain_policy();
  p.partition_column.reset();
  const auto result = plan(p, plain());
  REQUIRE(result.error.has_value());
  CHECK(*result.error == "public.events is not partitioned and has no column of type timestamptz, timestamp or date");
  CHECK(result.actions.empty());
}

TEST_CASE("planner: a plain table whose time column does not exist is an error naming it") {
  TableFacts t = plain("");
  const auto result = plan(plain_policy("created_at"), t);
  REQUIRE(result.error.has_value());
  CHECK(*result.error == R"(column "created_at" does not exist in public.events)");
}

// --- reallocate ------------------------------------------------------------------------------

TEST_CASE("planner: reallocate moves each expired partition to the target tablespace") {
  const auto result = plan(policy("reallocate", "cold"), partitioned());
  CHECK_FALSE(result.error.has_value());
  REQUIRE(result.actions.size() == 5);
  const Action& first = result.actions.front();
  CHECK(first.kind == ActionKind::set_tablespace);
  CHECK(first.action == "set_tablespace");
  CHECK(first.strategy == "reallocate");
  CHECK(first.target == "cold");
  CHECK(first.sql ==
        std::vector<std::string>{R"(ALTER TABLE "public"."metrics_p20240101" SET TABLESPACE "cold")"});
}

TEST_CASE("planner: reallocate to a tablespace that does not exist fails the policy") {
  const auto result = plan(policy("reallocate", "colder"), partitioned());
  REQUIRE(result.error.has_value());
  CHECK(*result.error == R"(tablespace "colder" does not exist)");
  CHECK(result.actions.empty());
}

TEST_CASE("planner: reallocate skips partitions already in the target tablespace") {
  TableFacts t = partitioned(1, 0);
  t.partitions = {daily(1, "cold"), daily(2), daily(3, "cold"), daily(4, "warm")};
  const auto result = plan(policy("reallocate", "cold"), t);
  CHECK(partition_names(result) == Names{"metrics_p20240102", "metrics_p20240104"});
  REQUIRE(result.skipped.size() == 2);
  CHECK(result.skipped[0].partition.name == "metrics_p20240101");
  CHECK(result.skipped[0].reason == "already in tablespace cold");
  CHECK(result.skipped[1].partition.name == "metrics_p20240103");
}

TEST_CASE("planner: a partition in the default tablespace is already in pg_default") {
  TableFacts t = partitioned(1, 0);
  t.partitions = {daily(1), daily(2, "cold"), daily(3, "pg_default")};
  const auto result = plan(policy("reallocate", "pg_default"), t);
  CHECK(partition_names(result) == Names{"metrics_p20240102"});
  CHECK(result.actions.front().sql ==
        std::vector<std::string>{R"(ALTER TABLE "public"."metrics_p20240102" SET TABLESPACE "pg_default")"});
  CHECK(skipped_names(result) == Names{"metrics_p20240101", "metrics_p20240103"});
}

TEST_CASE("planner: reallocate on a plain table is an error") {
  Policy p = policy("reallocate", "cold");
  p.partition_column = "created_at";
  const auto result = plan(p, plain());
  REQUIRE(result.error.has_value());
  CHECK(*result.error == "strategy reallocate needs a partitioned table; public.metrics is a plain table");
  CHECK(result.actions.empty());
}

TEST_CASE("planner: a tablespace named with capitals, spaces and quotes is quoted in the SQL") {
  DatabaseFacts facts{.tablespaces = {R"(Cold "Tier" 2)"}};
  const PostgresqlDialect dialect;
  const auto result =
      plan_policy(policy("reallocate", R"(Cold "Tier" 2)"), partitioned(1, 1), facts, dialect, config(), now);
  REQUIRE(result.actions.size() == 1);
  CHECK(result.actions.front().sql ==
        std::vector<std::string>{
            R"(ALTER TABLE "public"."metrics_p20240101" SET TABLESPACE "Cold ""Tier"" 2")"});
}

// --- snapshot --------------------------------------------------------------------------------

TEST_CASE("planner: snapshot copies each expired partition out and then drops it") {
  const auto result = plan(policy("snapshot", "archive"), partitioned());
  CHECK_FALSE(result.error.has_value());
  REQUIRE(result.actions.size() == 5);
  const Action& first = result.actions.front();
  CHECK(first.kind == ActionKind::snapshot_partition);
  CHECK(first.action == "snapshot");
  CHECK(first.strategy == "snapshot");
  CHECK(first.target == "archive");
  CHECK(first.sql == std::vector<std::string>{
                         R"(COPY "public"."metrics_p20240101" TO STDOUT)",
                         R"(DROP TABLE "public"."metrics_p20240101")",
                     });
}

TEST_CASE("planner: snapshot to a repository that is not configured fails the policy") {
  const auto result = plan(policy("snapshot", "elsewhere"), partitioned());
  REQUIRE(result.error.has_value());
  CHECK(*result.error == R"(snapshot repository "elsewhere" is not configured (snapshot.repositories))");
  CHECK(result.actions.empty());
  CHECK(plan(policy("snapshot", "archive"), partitioned(), now, Config{}).error.has_value());
}

TEST_CASE("planner: snapshot on a plain table is an error") {
  Policy p = policy("snapshot", "archive");
  p.partition_column = "created_at";
  const auto result = plan(p, plain());
  REQUIRE(result.error.has_value());
  CHECK(*result.error == "strategy snapshot needs a partitioned table; public.metrics is a plain table");
}

// --- table checks ----------------------------------------------------------------------------

TEST_CASE("planner: a table that does not exist fails the policy") {
  TableFacts t;
  t.table = {"public", "metrics"};
  for (const char* strategy : {"delete", "reallocate", "snapshot"}) {
    CAPTURE(strategy);
    const auto result = plan(policy(strategy, "cold"), t);
    REQUIRE(result.error.has_value());
    CHECK(*result.error == "table public.metrics does not exist");
    CHECK(result.actions.empty());
  }
}

TEST_CASE("planner: an unsupported key type fails the policy naming the type") {
  const auto result = plan(policy("delete"), partitioned(1, 3, "integer"));
  REQUIRE(result.error.has_value());
  CHECK(*result.error == "the partition key \"ts\" of public.metrics is integer; retention needs timestamptz, "
                         "timestamp or date (numeric epoch keys are not supported)");
  CHECK(result.actions.empty());
  CHECK(plan(plain_policy(), plain("bigint")).error.has_value());
  CHECK(plan(plain_policy(), plain("text")).error.has_value());
}

TEST_CASE("planner: timestamp and date partition keys are supported") {
  CHECK(plan(policy("delete"), partitioned(1, 10, "timestamp without time zone")).actions.size() == 5);
  CHECK(plan(policy("delete"), partitioned(1, 10, "date")).actions.size() == 5);
}

TEST_CASE("planner: a partitioned table without a single-column key fails the policy") {
  TableFacts t = partitioned();
  t.key_column.reset();
  t.key_type.clear();
  t.key_columns = 2;
  const auto result = plan(policy("delete"), t);
  REQUIRE(result.error.has_value());
  CHECK(*result.error == "public.metrics has a partition key of 2 columns; retention needs a table partitioned by "
                         "RANGE on one column of type timestamptz, timestamp or date");
}

TEST_CASE("planner: an unknown strategy fails the policy") {
  const auto result = plan(policy("archive"), partitioned());
  REQUIRE(result.error.has_value());
  CHECK(*result.error == R"(unknown strategy "archive")");
}

// A policy row edited by hand can lose its target: that fails the policy, it does not crash.
TEST_CASE("planner: reallocate or snapshot without a target fails the policy") {
  for (const char* strategy : {"reallocate", "snapshot"}) {
    CAPTURE(strategy);
    const auto result = plan(policy(strategy), partitioned());
    REQUIRE(result.error.has_value());
    CHECK(*result.error == "strategy " + std::string(strategy) + " needs a target and the policy has none");
    CHECK(result.actions.empty());
  }
}

TEST_CASE("planner: an option edited by hand into nonsense fails only that policy") {
  Policy p = policy("delete");
  p.options["partitions_per_transaction"] = "many";
  auto result = plan(p, partitioned());
  REQUIRE(result.error.has_value());
  CHECK(*result.error == R"(policy "p1": invalid value "many" for option partitions_per_transaction)");
  CHECK(result.actions.empty());

  p = policy("delete");
  p.options["detach"] = "perhaps";
  result = plan(p, partitioned());
  REQUIRE(result.error.has_value());
  CHECK(*result.error == R"(policy "p1": invalid value "perhaps" for option detach)");

  p = plain_policy();
  p.options["batch_size"] = "0";
  result = plan(p, plain());
  REQUIRE(result.error.has_value());
  CHECK(result.actions.empty());

  p = policy("delete");
  p.options["lock_timeout"] = "soon";
  result = plan(p, partitioned());
  REQUIRE(result.error.has_value());
  CHECK(*result.error == R"(policy "p1": invalid value "soon" for option lock_timeout)");
}

// --- lock timeout ----------------------------------------------------------------------------

TEST_CASE("planner: every action carries the configured lock_timeout by default") {
  for (const char* strategy : {"delete", "reallocate", "snapshot"}) {
    CAPTURE(strategy);
    const auto result =
        plan(policy(strategy, std::string(strategy) == "snapshot" ? "archive" : "cold"), partitioned());
    REQUIRE_FALSE(result.actions.empty());
    for (const auto& action : result.actions) CHECK(action.lock_timeout == milliseconds(5000));
  }
  Config c = config();
  c.database.lock_timeout = Duration::parse("90s");
  CHECK(plan(policy("delete"), partitioned(), now, c).actions.front().lock_timeout == milliseconds(90000));
  CHECK(plan(plain_policy(), plain(), now, c).actions.front().lock_timeout == milliseconds(90000));
}

TEST_CASE("planner: the lock_timeout option of a policy overrides the configuration") {
  Policy p = policy("delete");
  p.options["lock_timeout"] = "2m";
  const auto drops = plan(p, partitioned());
  REQUIRE(drops.actions.size() == 5);
  for (const auto& action : drops.actions) CHECK(action.lock_timeout == milliseconds(120000));

  p.options["keep_table"] = "true";
  p.options["lock_timeout"] = "1s";
  CHECK(plan(p, partitioned()).actions.front().lock_timeout == milliseconds(1000));

  p = plain_policy();
  p.options["lock_timeout"] = "30s";
  CHECK(plan(p, plain()).actions.front().lock_timeout == milliseconds(30000));

  p = policy("reallocate", "cold");
  p.options["lock_timeout"] = "1h";
  CHECK(plan(p, partitioned()).actions.front().lock_timeout == milliseconds(3'600'000));
}

// --- quoting ---------------------------------------------------------------------------------

TEST_CASE("planner: identifiers with capitals, spaces and double quotes are quoted in every statement") {
  const QualifiedName parent{R"(My "Schema")", "Metrics Table"};
  const QualifiedName child{R"(My "Schema")", R"(Part "2024" Jan)"};
  const std::string parent_sql = R"("My ""Schema"""."Metrics Table")";
  const std::string child_sql = R"("My ""Schema"""."Part ""2024"" Jan")";

  TableFacts t = partitioned(1, 0);
  t.table = parent;
  PartitionFacts p = daily(1);
  p.name = child;
  t.partitions = {p};

  auto with_table = [&](Policy policy) {
    policy.table = parent;
    return policy;
  };

  SUBCASE("drop") {
    const auto result = plan(with_table(policy("delete")), t);
    REQUIRE(result.actions.size() == 1);
    CHECK(result.actions[0].sql == std::vector<std::string>{"DROP TABLE " + child_sql});
    CHECK(result.actions[0].table == parent);
    CHECK(result.actions[0].partition == child);
  }
  SUBCASE("detach and drop") {
    Policy policy_ = with_table(policy("delete"));
    policy_.options["detach_concurrently"] = "true";
    const auto result = plan(policy_, t);
    REQUIRE(result.actions.size() == 1);
    CHECK(result.actions[0].sql ==
          std::vector<std::string>{
              "ALTER TABLE " + parent_sql + " DETACH PARTITION " + child_sql + " CONCURRENTLY",
              "DROP TABLE " + child_sql});
  }
  SUBCASE("reallocate") {
    const auto result = plan(with_table(policy("reallocate", "cold")), t);
    REQUIRE(result.actions.size() == 1);
    CHECK(result.actions[0].sql ==
          std::vector<std::string>{"ALTER TABLE " + child_sql + R"( SET TABLESPACE "cold")"});
  }
  SUBCASE("snapshot") {
    const auto result = plan(with_table(policy("snapshot", "archive")), t);
    REQUIRE(result.actions.size() == 1);
    CHECK(result.actions[0].sql ==
          std::vector<std::string>{"COPY " + child_sql + " TO STDOUT", "DROP TABLE " + child_sql});
  }
  SUBCASE("plain-table delete") {
    Policy policy_ = with_table(plain_policy(R"(Created "At")"));
    TableFacts table = plain();
    table.table = parent;
    const auto result = plan(policy_, table);
    REQUIRE(result.actions.size() == 1);
    CHECK(result.actions[0].sql ==
          std::vector<std::string>{"DELETE FROM ONLY " + parent_sql +
                                   " WHERE ctid = ANY(ARRAY(SELECT ctid FROM ONLY " + parent_sql +
                                   R"( WHERE "Created ""At""" < $1 LIMIT $2)))"});
    CHECK(result.actions[0].reason == R"(rows with "Created ""At""" before the cutoff 2024-01-06T00:00:00Z)");
  }
  SUBCASE("error messages show the display form") {
    TableFacts missing;
    missing.table = parent;
    const auto result = plan(with_table(policy("delete")), missing);
    REQUIRE(result.error.has_value());
    CHECK(*result.error == R"(table "My ""Schema"""."Metrics Table" does not exist)");
  }
}

TEST_CASE(
    "planner: detach_concurrently on a table with a default partition is a plan error, not a failing "
    "action") {
  Policy p = policy("delete");
  p.options["detach_concurrently"] = "true";
  TableFacts t = partitioned();
  PartitionFacts fallback = partition("metrics_default", std::nullopt, std::nullopt);
  fallback.is_default = true;
  t.partitions.push_back(fallback);
  const auto result = plan(p, t);
  CHECK(result.actions.empty());
  REQUIRE(result.error.has_value());
  CHECK(*result.error ==
        "detach_concurrently is not possible on public.metrics: it has a default partition "
        "(public.metrics_default), and PostgreSQL detaches concurrently only without one; use detach=true");
  // Without an expired partition there is nothing to refuse.
  CHECK_FALSE(plan(p, t, at(2024, 1, 1)).error.has_value());
  // A plain detach works with a default partition.
  p.options["detach_concurrently"] = "false";
  p.options["detach"] = "true";
  CHECK_FALSE(plan(p, t).error.has_value());
}

namespace {

// Jan 1-3: Jan 1 a foreign table, Jan 2 itself partitioned, Jan 3 an ordinary partition.
TableFacts mixed_partitions() {
  TableFacts t = partitioned(1, 3);
  t.partitions[0].foreign = true;
  t.partitions[1].sub_partitioned = true;
  return t;
}

std::string reason_for(const PolicyPlan& plan, const std::string& name) {
  for (const auto& skip : plan.skipped) {
    if (skip.partition.name == name) return skip.reason;
  }
  return "";
}

}  // namespace

TEST_CASE("planner: an expired foreign partition is skipped by every strategy, with the reason") {
  for (const auto& p : {policy("delete"), policy("reallocate", "cold"), policy("snapshot", "archive")}) {
    CAPTURE(p.strategy);
    const auto result = plan(p, mixed_partitions());
    CHECK(reason_for(result, "metrics_p20240101") == "foreign table: its rows live on another server");
    CHECK(std::none_of(result.actions.begin(), result.actions.end(),
                       [](const auto& a) { return a.partition->name == "metrics_p20240101"; }));
  }
}

TEST_CASE("planner: a sub-partitioned partition is dropped whole, but neither moved nor archived") {
  CHECK(partition_names(plan(policy("delete"), mixed_partitions())) ==
        Names{"metrics_p20240102", "metrics_p20240103"});

  const auto moved = plan(policy("reallocate", "cold"), mixed_partitions());
  CHECK(partition_names(moved) == Names{"metrics_p20240103"});
  CHECK(reason_for(moved, "metrics_p20240102") ==
        "sub-partitioned: SET TABLESPACE would move none of its rows");

  const auto archived = plan(policy("snapshot", "archive"), mixed_partitions());
  CHECK(partition_names(archived) == Names{"metrics_p20240103"});
  CHECK(reason_for(archived, "metrics_p20240102") ==
        "sub-partitioned: a snapshot archives leaf partitions only");
}

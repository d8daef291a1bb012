// Which policies of one table cannot stand together (policy_conflict), how ttls with a calendar
// part compare (always_longer), and the order a run gives a table's policies (archive_first).
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "retentiond/engine/lanes.hpp"
#include "retentiond/policy/policy_conflicts.hpp"

using retentiond::always_longer;
using retentiond::Duration;
using retentiond::Policy;
using retentiond::policy_conflict;
using retentiond::TableFacts;

namespace {

Duration d(const char* text) { return Duration::parse(text); }

Policy make(const std::string& id, const std::string& strategy, const char* ttl,
            std::optional<std::string> target = std::nullopt, const std::string& table = "metrics") {
  Policy p;
  p.id = id;
  p.table = {"public", table};
  p.strategy = strategy;
  p.ttl = d(ttl);
  p.target = std::move(target);
  return p;
}

}  // namespace

TEST_CASE("policy conflicts: exact ttls compare by length, equal is not longer") {
  CHECK(always_longer(d("31d"), d("30d")));
  CHECK_FALSE(always_longer(d("30d"), d("30d")));
  CHECK_FALSE(always_longer(d("29d"), d("30d")));
  CHECK(always_longer(d("1d1s"), d("1d")));
  CHECK(always_longer(d("1y"), d("11mo")));
  CHECK(always_longer(d("1mo1s"), d("1mo")));
}

TEST_CASE("policy conflicts: a calendar ttl is longer only if it is at every instant") {
  CHECK_FALSE(always_longer(d("1mo"), d("30d")));  // February
  CHECK_FALSE(always_longer(d("30d"), d("1mo")));  // March
  CHECK(always_longer(d("32d"), d("1mo")));
  CHECK_FALSE(always_longer(d("31d"), d("1mo")));  // 31 March - 1mo = 28/29 Feb: 31 or 32 days
  CHECK(always_longer(d("1mo"), d("27d")));
  CHECK_FALSE(always_longer(d("1mo"), d("28d")));  // non-leap February
  CHECK(always_longer(d("1y"), d("364d")));
  CHECK_FALSE(always_longer(d("1y"), d("365d")));
  CHECK(always_longer(d("367d"), d("1y")));
  CHECK(always_longer(d("1mo4d"), d("30d")));
  CHECK_FALSE(always_longer(d("1mo1d"), d("30d")));
  CHECK(always_longer(d("10000y"), d("9999y11mo")));
}

TEST_CASE("policy conflicts: a delete not longer than a snapshot of its table is refused, either way round") {
  const Policy snapshot = make("s", "snapshot", "30d", "cold");
  for (const char* ttl : {"30d", "7d", "1mo"}) {
    CAPTURE(ttl);
    const Policy del = make("d", "delete", ttl);
    const auto added_delete = policy_conflict(del, std::vector<Policy>{snapshot});
    REQUIRE(added_delete.has_value());
    CHECK(added_delete->find("\"d\"") != std::string::npos);
    CHECK(added_delete->find("\"s\"") != std::string::npos);
    CHECK(policy_conflict(snapshot, std::vector<Policy>{del}).has_value());
  }
  CHECK_FALSE(policy_conflict(make("d", "delete", "31d"), std::vector<Policy>{snapshot}).has_value());
  // Another table, or the policy's own stored version, is no conflict.
  CHECK_FALSE(policy_conflict(make("d", "delete", "7d", {}, "other"), std::vector<Policy>{snapshot}).has_value());
  CHECK_FALSE(policy_conflict(make("s", "delete", "7d"), std::vector<Policy>{snapshot}).has_value());
  // Reallocate beside a snapshot or delete is fine whatever the ttls.
  CHECK_FALSE(policy_conflict(make("r", "reallocate", "1d", "warm"), std::vector<Policy>{snapshot}).has_value());
}

TEST_CASE("policy conflicts: two reallocate policies of one table need the same target") {
  const Policy warm = make("r-warm", "reallocate", "7d", "warm");
  const auto reason = policy_conflict(make("r-cold", "reallocate", "30d", "cold"), std::vector<Policy>{warm});
  REQUIRE(reason.has_value());
  CHECK(reason->find("\"r-warm\"") != std::string::npos);
  CHECK(reason->find("\"r-cold\"") != std::string::npos);
  CHECK_FALSE(policy_conflict(make("r-warm2", "reallocate", "30d", "warm"), std::vector<Policy>{warm}).has_value());
}

TEST_CASE("policy conflicts: a run orders each table's policies snapshot, reallocate, delete in their places") {
  TableFacts metrics;
  metrics.table = {"public", "metrics"};
  TableFacts events;
  events.table = {"public", "events"};
  TableFacts metrics_by_column = metrics;  // the same table again, for another time column
  const std::vector<TableFacts> tables{metrics, events, metrics_by_column};
  const std::vector<Policy> policies{make("a", "delete", "60d"),         make("b", "delete", "1d", {}, "events"),
                                     make("c", "reallocate", "1d", "x"), make("d", "snapshot", "30d", "cold"),
                                     make("e", "snapshot", "1d", "cold", "events")};
  const std::vector<std::size_t> table_of{0, 1, 2, 0, 1};
  const auto lanes = retentiond::archive_first({{0, 1, 2, 3, 4}}, policies, table_of, tables);
  // metrics held positions 0, 2, 3 (a, c, d) and gets d, c, a; events held 1, 4 (b, e): e, b.
  CHECK(lanes == std::vector<std::vector<std::size_t>>{{3, 4, 2, 0, 1}});
  const auto split = retentiond::archive_first({{0, 2, 3}, {1, 4}}, policies, table_of, tables);
  CHECK(split == std::vector<std::vector<std::size_t>>{{3, 2, 0}, {4, 1}});
}

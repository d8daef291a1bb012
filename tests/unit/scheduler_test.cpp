#include "retentiond/daemon/scheduler.hpp"

#include <doctest/doctest.h>

using retentiond::Policy;
using retentiond::QualifiedName;
using retentiond::Schedule;
using retentiond::Scheduler;
using namespace std::chrono_literals;

namespace {

using TimePoint = Scheduler::TimePoint;

TimePoint at(int h, int m = 0, int s = 0) {
  using namespace std::chrono;
  return sys_days(year(2024) / 1 / 10) + hours(h) + minutes(m) + seconds(s);
}

Policy policy(const std::string& id, const std::string& table,
              std::optional<std::string> schedule = std::nullopt) {
  Policy p;
  p.id = id;
  p.table = QualifiedName{"public", table};
  p.strategy = "delete";
  p.schedule = std::move(schedule);
  return p;
}

Scheduler hourly() { return Scheduler(Schedule::parse("@hourly"), 0s, 1); }

std::vector<std::string> ids(const std::vector<Policy>& policies) {
  std::vector<std::string> out;
  for (const auto& p : policies) out.push_back(p.id);
  return out;
}

}  // namespace

TEST_CASE("scheduler: a policy never run is due at once, then at its next slot after the run") {
  Scheduler s = hourly();
  s.update({policy("a", "t1")}, {}, at(10, 15));
  CHECK(s.next_due() == at(10, 15));
  CHECK(ids(s.start_due(at(10, 15), 2)) == std::vector<std::string>{"a"});
  CHECK(s.next_due() == std::nullopt);  // running
  CHECK(s.start_due(at(10, 16), 2).empty());
  s.finished("a", at(10, 17));
  CHECK(s.next_due() == at(11, 0));
  CHECK(s.start_due(at(10, 59, 59), 2).empty());
  CHECK(ids(s.start_due(at(11, 0), 2)) == std::vector<std::string>{"a"});
}

TEST_CASE("scheduler: after downtime a missed slot runs once at start, a slot still ahead waits") {
  Scheduler s = hourly();
  // Last run 03:10: the 04:00 .. 10:00 slots were missed while no daemon ran.
  s.update({policy("missed", "t1"), policy("fresh", "t2")}, {{"missed", at(3, 10)}, {"fresh", at(10, 5)}},
           at(10, 20));
  CHECK(s.entries().at("missed").next_due == at(10, 20));
  CHECK(s.entries().at("fresh").next_due == at(11, 0));
  CHECK(ids(s.start_due(at(10, 20), 5)) == std::vector<std::string>{"missed"});
  s.finished("missed", at(10, 21));
  CHECK(s.entries().at("missed").next_due == at(11, 0));  // once, not once per missed slot
}

TEST_CASE("scheduler: concurrency is bounded and one table never has two runs at once") {
  Scheduler s = hourly();
  s.update({policy("a1", "t1"), policy("a2", "t1"), policy("b", "t2"), policy("c", "t3")}, {}, at(9));
  CHECK(ids(s.start_due(at(9), 2)) == std::vector<std::string>{"a1", "b"});  // a2 waits for t1
  CHECK(s.running() == 2);
  CHECK(ids(s.start_due(at(9), 1)) == std::vector<std::string>{"c"});
  CHECK(s.start_due(at(9), 5).empty());  // a2: t1 still busy
  s.finished("a1", at(9, 1));
  CHECK(ids(s.start_due(at(9, 1), 5)) == std::vector<std::string>{"a2"});
}

TEST_CASE("scheduler: the earliest due runs first when slots are scarce") {
  Scheduler s = hourly();
  s.update({policy("late", "t1"), policy("early", "t2")}, {{"late", at(8, 30)}, {"early", at(7, 30)}},
           at(8, 45));
  // Both missed a slot: both due at 08:45; ties keep id order.
  CHECK(ids(s.start_due(at(8, 45), 1)) == std::vector<std::string>{"early"});
}

TEST_CASE("scheduler: @every and cron schedules, and the default for policies without one") {
  Scheduler s(Schedule::parse("@daily"), 0s, 1);
  s.update(
      {policy("every", "t1", "@every 2s"), policy("cron", "t2", "*/15 * * * *"), policy("default", "t3")},
      {{"every", at(10, 0, 1)}, {"cron", at(10, 1)}, {"default", at(0, 5)}}, at(10, 0, 1));
  CHECK(s.entries().at("every").next_due == at(10, 0, 2));
  CHECK(s.entries().at("cron").next_due == at(10, 15));
  CHECK(s.entries().at("default").next_due == at(24));
}

TEST_CASE("scheduler: updates keep due times, apply changed schedules, drop disabled and removed policies") {
  Scheduler s = hourly();
  s.update({policy("a", "t1"), policy("b", "t2")}, {{"a", at(10, 5)}, {"b", at(10, 5)}}, at(10, 10));
  REQUIRE(s.entries().at("a").next_due == at(11));
  Policy every_minute = policy("a", "t1", "* * * * *");
  Policy disabled = policy("b", "t2");
  disabled.enabled = false;
  s.update({every_minute, disabled, policy("c", "t3")}, {{"a", at(10, 5)}}, at(10, 20));
  CHECK(s.entries().at("a").next_due == at(10, 20));  // its 10:06 slot was missed: now
  CHECK_FALSE(s.entries().contains("b"));
  CHECK(s.entries().at("c").next_due == at(10, 20));
  // An unchanged policy keeps its time even when the stored last run says otherwise.
  s.finished("a", at(10, 20, 30));
  s.update({every_minute, policy("c", "t3")}, {{"a", at(3)}}, at(10, 20, 40));
  CHECK(s.entries().at("a").next_due == at(10, 21));
}

TEST_CASE("scheduler: a policy whose stored schedule does not parse is left out and reported") {
  Scheduler s = hourly();
  const auto invalid = s.update({policy("bad", "t1", "61 * * * *"), policy("good", "t2")}, {}, at(10));
  CHECK(invalid == std::vector<std::string>{"bad"});
  CHECK_FALSE(s.entries().contains("bad"));
  CHECK(s.entries().contains("good"));
}

TEST_CASE("scheduler: a policy changed while it runs stays running and takes its new schedule after") {
  Scheduler s = hourly();
  s.update({policy("a", "t1")}, {}, at(10));
  REQUIRE(s.start_due(at(10), 1).size() == 1);
  s.update({policy("a", "t1", "*/5 * * * *")}, {}, at(10, 1));
  CHECK(s.running() == 1);
  CHECK(s.start_due(at(10, 1), 1).empty());
  s.finished("a", at(10, 2));
  CHECK(s.entries().at("a").next_due == at(10, 5));
  s.finished("gone", at(10, 2));  // removed while running: ignored
}

TEST_CASE("scheduler: jitter delays each slot by at most the jitter, deterministically per seed") {
  Scheduler a(Schedule::parse("@hourly"), 30s, 7);
  Scheduler b(Schedule::parse("@hourly"), 30s, 7);
  for (int i = 0; i < 50; ++i) {
    const std::string id = "p" + std::to_string(i);
    a.update({policy(id, "t")}, {{id, at(9, 30)}}, at(9, 40));
    b.update({policy(id, "t")}, {{id, at(9, 30)}}, at(9, 40));
    const auto due = a.entries().at(id).next_due;
    CHECK(due >= at(10));
    CHECK(due <= at(10, 0, 30));
    CHECK(due == b.entries().at(id).next_due);
  }
}

TEST_CASE("scheduler: next_due leaves out policies that could not start: running, or their table busy") {
  Scheduler s = hourly();
  s.update({policy("a1", "t1"), policy("a2", "t1")}, {}, at(9));
  REQUIRE(ids(s.start_due(at(9), 5)) == std::vector<std::string>{"a1"});
  // a2 is due but t1 is busy: nothing to wake up for until a1 ends (the daemon would spin).
  CHECK(s.next_due() == std::nullopt);
  s.finished("a1", at(9, 1));
  CHECK(s.next_due() == at(9));  // a2, overdue
}

TEST_CASE("scheduler: a policy removed while it runs keeps its table busy until the run ends") {
  Scheduler s = hourly();
  s.update({policy("old", "t1")}, {}, at(9));
  REQUIRE(s.start_due(at(9), 5).size() == 1);
  s.update({policy("new", "t1")}, {}, at(9, 1));  // "old" removed, "new" on the same table
  CHECK(s.start_due(at(9, 1), 5).empty());
  s.update({policy("old", "t1"), policy("new", "t1")}, {}, at(9, 2));  // re-enabled meanwhile
  CHECK(s.start_due(at(9, 2), 5).empty());
  s.finished("old", at(9, 3));
  CHECK(ids(s.start_due(at(9, 3), 5)).size() == 1);
}

TEST_CASE("scheduler: a new leader forgets what it planned while following and takes the stored last runs") {
  Scheduler s = hourly();
  s.update({policy("a", "t1")}, {}, at(9));  // following: never run, so due at once
  s.forget_idle();
  // Meanwhile the old leader ran it at 09:30.
  s.update({policy("a", "t1")}, {{"a", at(9, 30)}}, at(9, 40));
  CHECK(s.entries().at("a").next_due == at(10));
  CHECK(s.start_due(at(9, 40), 5).empty());
}

TEST_CASE(
    "scheduler: reconfigure changes the default for policies without a schedule, running ones stay running") {
  Scheduler s = hourly();
  s.update({policy("default", "t1"), policy("own", "t2", "@daily"), policy("busy", "t3")}, {}, at(9));
  REQUIRE(s.start_due(at(9), 5).size() == 3);
  s.finished("default", at(9, 1));
  s.finished("own", at(9, 1));
  s.reconfigure(Schedule::parse("*/10 * * * *"), 0s);
  s.update({policy("default", "t1"), policy("own", "t2", "@daily"), policy("busy", "t3")},
           {{"default", at(9)}, {"own", at(9)}, {"busy", at(9)}}, at(9, 2));
  CHECK(s.entries().at("default").next_due == at(9, 10));
  CHECK(s.entries().at("own").next_due == at(24));
  CHECK(s.entries().at("busy").running);
}

TEST_CASE("scheduler: slots that come while a run is still going are skipped and counted, never queued") {
  Scheduler s = hourly();
  s.update({policy("slow", "t1"), policy("idle", "t2")}, {{"idle", at(10, 5)}}, at(10, 15));
  REQUIRE(ids(s.start_due(at(10, 15), 2)) == std::vector<std::string>{"slow"});
  CHECK(s.overlapping(at(10, 59)).empty());  // no slot has come yet
  auto first = s.overlapping(at(11, 0, 30));
  REQUIRE(first.size() == 1);
  CHECK(first[0].policy_id == "slow");
  CHECK(first[0].slots == 1);
  CHECK(first[0].first);
  CHECK(s.overlapping(at(11, 30)).empty());  // the 11:00 slot is counted once
  // Policies are read again meanwhile (a poll): what was counted stays counted.
  s.update({policy("slow", "t1"), policy("idle", "t2")}, {{"idle", at(10, 5)}}, at(11, 40));
  auto later = s.overlapping(at(13, 10));
  REQUIRE(later.size() == 1);
  CHECK(later[0].slots == 2);  // 12:00 and 13:00
  CHECK_FALSE(later[0].first);
  CHECK(ids(s.start_due(at(13, 10), 2)) == std::vector<std::string>{"idle"});  // never the running one
  // The run ends: the next slot after it, not one run per missed slot.
  s.finished("slow", at(13, 20));
  CHECK(s.entries().at("slow").next_due == at(14, 0));
  CHECK(s.start_due(at(13, 21), 2).empty());
  // A new run starts its own count.
  REQUIRE(ids(s.start_due(at(14, 0), 2)) == std::vector<std::string>{"slow"});
  auto again = s.overlapping(at(15, 0));
  REQUIRE(again.size() == 2);  // idle (running since 13:10: 14:00 and 15:00) and slow
  CHECK(again[0].policy_id == "idle");
  CHECK(again[0].slots == 2);
  CHECK(again[0].first);
  CHECK(again[1].policy_id == "slow");
  CHECK(again[1].first);
  CHECK(again[1].slots == 1);
}

TEST_CASE("scheduler: a failed run is retried after retry.initial, doubling up to retry.max, then gives up") {
  Scheduler s = hourly();
  s.set_retry_policy({.initial = 10s, .max = 40s, .max_attempts = 4});
  s.update({policy("a", "t1")}, {}, at(10, 0));
  std::vector<std::int64_t> gaps;
  TimePoint now = at(10, 0);
  for (int run = 0; run < 5; ++run) {
    REQUIRE(ids(s.start_due(now, 1)) == std::vector<std::string>{"a"});
    s.finished("a", now, true);
    const auto& e = s.entries().at("a");
    if (run < 4) {
      REQUIRE(e.retry_at.has_value());
      CHECK(e.next_due == *e.retry_at);
      gaps.push_back((e.next_due - now).count());
      now = e.next_due;
    } else {
      CHECK(e.gave_up);
      CHECK_FALSE(e.retry_at.has_value());
      CHECK(e.next_due == at(11, 0));  // back at its slots
    }
    CHECK(e.failures == run + 1);
  }
  // Doubling, each shortened by at most a quarter: 10, 20, 40, 40 at most.
  REQUIRE(gaps.size() == 4);
  CHECK(gaps[0] >= 8);
  CHECK(gaps[0] <= 10);
  CHECK(gaps[1] >= 15);
  CHECK(gaps[1] <= 20);
  CHECK(gaps[2] >= 30);
  CHECK(gaps[2] <= 40);
  CHECK(gaps[3] >= 30);
  CHECK(gaps[3] <= 40);
  // A failure at its slot after giving up does not start the retries over; a success resets.
  REQUIRE(ids(s.start_due(at(11, 0), 1)) == std::vector<std::string>{"a"});
  s.finished("a", at(11, 1), true);
  CHECK(s.entries().at("a").next_due == at(12, 0));
  REQUIRE(ids(s.start_due(at(12, 0), 1)) == std::vector<std::string>{"a"});
  s.finished("a", at(12, 1), false);
  CHECK(s.entries().at("a").failures == 0);
  CHECK_FALSE(s.entries().at("a").gave_up);
}

TEST_CASE("scheduler: a retry never comes later than the next slot, and a success clears it") {
  Scheduler s = hourly();
  s.set_retry_policy({.initial = 3600s, .max = 7200s, .max_attempts = 3});
  s.update({policy("a", "t1")}, {}, at(10, 50));
  REQUIRE(ids(s.start_due(at(10, 50), 1)).size() == 1);
  s.finished("a", at(10, 51), true);
  CHECK(s.entries().at("a").next_due == at(11, 0));  // the slot comes first
  CHECK_FALSE(s.entries().at("a").retry_at.has_value());
  CHECK(s.entries().at("a").failures == 1);
}

TEST_CASE(
    "scheduler: a new leader carries on the stored retries, and a schedule edited mid-run counts no bogus "
    "skips") {
  Scheduler s = hourly();
  s.set_retry_policy({.initial = 60s, .max = 600s, .max_attempts = 3});
  // The old leader recorded 2 failures and a retry at 10:20; its last run started 10:17.
  s.update({policy("a", "t1")}, {{"a", at(10, 17)}}, at(10, 18),
           {{"a", Scheduler::Resume{.failures = 2, .retry_at = at(10, 20)}}});
  CHECK(s.entries().at("a").next_due == at(10, 20));
  CHECK(s.entries().at("a").failures == 2);
  CHECK_FALSE(s.entries().at("a").gave_up);
  // One that had given up waits for its slot.
  Scheduler t = hourly();
  t.set_retry_policy({.initial = 60s, .max = 600s, .max_attempts = 3});
  t.update({policy("b", "t1")}, {{"b", at(10, 17)}}, at(10, 18), {{"b", Scheduler::Resume{.failures = 4}}});
  CHECK(t.entries().at("b").next_due == at(11, 0));
  CHECK(t.entries().at("b").gave_up);

  // A run in progress whose schedule is edited: only slots after the run's start count (of the
  // new schedule, which is what the policy now says), not every slot since 1970.
  REQUIRE(ids(s.start_due(at(10, 20), 1)) == std::vector<std::string>{"a"});
  s.update({policy("a", "t1", "@every 10m")}, {}, at(10, 25));
  const auto overlaps = s.overlapping(at(11, 30));
  REQUIRE(overlaps.size() == 1);
  CHECK(overlaps[0].slots == 7);  // 10:30, 10:40, ... 11:30
}

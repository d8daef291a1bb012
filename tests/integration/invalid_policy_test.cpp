#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "support/cli_fixture.hpp"

using nlohmann::json;
using retentiond::testing::CliFixture;

namespace {

// Two valid policies and one row broken by hand with `assignment`.
void break_one(CliFixture& f, const std::string& assignment) {
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "90d", "--id", "bad", "--tags", "t"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "good", "--tags", "t"}).exit_code == 0);
  f.pg.execute("UPDATE retention.policies SET " + assignment + " WHERE id = 'bad'");
}

const char* const broken_rows[] = {
    "ttl = 'banana'", "ttl = '0d'", "ttl = '-30d'", "strategy = 'shred'", "schedule = 'whenever'",
    "options = '{\"batch_size\": \"lots\"}'::jsonb", "options = '[1, 2]'::jsonb", "tags = ARRAY['bad tag']",
};

}  // namespace

TEST_CASE("invalid policies: list and show give a hand-broken row with its error in every format") {
  for (const char* assignment : broken_rows) {
    CAPTURE(assignment);
    CliFixture f;
    break_one(f, assignment);
    auto listed = f.rd({"policy", "list", "-o", "json"});
    REQUIRE_MESSAGE(listed.exit_code == 0, listed.err);
    const auto all = json::parse(listed.out);
    REQUIRE(all.size() == 2);
    CHECK(all[0]["id"] == "bad");
    CHECK(all[0].contains("error"));
    CHECK(!all[1].contains("error"));
    auto shown = f.rd({"policy", "show", "bad", "-o", "json"});
    REQUIRE_MESSAGE(shown.exit_code == 0, shown.err);
    CHECK(json::parse(shown.out).contains("error"));
    for (const char* format : {"table", "compact"}) {
      auto text = f.rd({"policy", "list", "-o", format});
      CHECK(text.exit_code == 0);
      CHECK(text.out.find("good") != std::string::npos);
      const bool flagged = text.out.find("invalid") != std::string::npos || text.out.find("error=") != std::string::npos;
      CHECK_MESSAGE(flagged, text.out);
      auto one = f.rd({"policy", "show", "bad", "-o", format});
      CHECK(one.exit_code == 0);
      CHECK(one.out.find("error") != std::string::npos);
    }
  }
}

TEST_CASE("invalid policies: a ttl that does not parse is shown as stored and edit --ttl repairs it") {
  CliFixture f;
  break_one(f, "ttl = 'banana'");
  const auto shown = json::parse(f.rd({"policy", "show", "bad", "-o", "json"}).out);
  CHECK(shown["ttl"] == "banana");
  CHECK(shown["error"].get<std::string>().find("banana") != std::string::npos);
  // Another field alone does not make it valid: the edit is refused, nothing changes.
  auto partial = f.rd({"policy", "edit", "bad", "--tags", "x"});
  CHECK(partial.exit_code == 2);
  CHECK(partial.err.find("banana") != std::string::npos);
  auto fixed = f.rd({"policy", "edit", "bad", "--ttl", "30d"});
  REQUIRE_MESSAGE(fixed.exit_code == 0, fixed.err);
  const auto after = json::parse(f.rd({"policy", "show", "bad", "-o", "json"}).out);
  CHECK(after["ttl"] == "30d");
  CHECK(!after.contains("error"));
}

TEST_CASE("invalid policies: policy rm by id and by --tags removes a broken row") {
  for (const char* assignment : {"ttl = 'banana'", "strategy = 'shred'"}) {
    CAPTURE(assignment);
    CliFixture f;
    break_one(f, assignment);
    auto removed = f.rd({"policy", "rm", "bad"});
    CHECK_MESSAGE(removed.exit_code == 0, removed.err);
    CHECK(f.pg.scalar("SELECT count(*) FROM retention.policies WHERE id = 'bad'") == "0");
    CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_events WHERE action = 'remove'") == "1");
  }
  CliFixture f;
  break_one(f, "ttl = '-30d'");
  auto removed = f.rd({"policy", "rm", "--tags", "t"});
  CHECK_MESSAGE(removed.exit_code == 0, removed.err);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policies") == "0");
}

TEST_CASE("invalid policies: check reports the broken policy as FAIL naming it and its reason") {
  CliFixture f;
  break_one(f, "ttl = 'banana'");
  auto checked = f.rd({"check", "-o", "json"});
  CHECK(checked.exit_code == 1);
  bool found = false;
  for (const auto& row : json::parse(checked.out)) {
    if (row["check"] == "policy bad" && row["status"] == "FAIL") {
      found = row["detail"].get<std::string>().find("banana") != std::string::npos;
    }
  }
  CHECK_MESSAGE(found, checked.out);
}

TEST_CASE("invalid policies: run --once fails the broken policy alone with a plan row and runs the others") {
  for (const char* assignment : {"ttl = 'banana'", "ttl = '0d'", "strategy = 'shred'", "options = '[1]'::jsonb"}) {
    CAPTURE(assignment);
    CliFixture f;
    break_one(f, assignment);
    auto run = f.rd({"run", "--once"});
    CHECK_MESSAGE(run.exit_code == 1, run.err);
    CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'bad' AND action = 'plan' AND "
                      "status = 'failed' AND error LIKE 'invalid policy:%'") == "1");
    CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'good' AND status <> 'succeeded'") ==
          "0");
    auto other = f.rd({"run", "--once", "--policy", "good"});
    CHECK_MESSAGE(other.exit_code == 0, other.err);
    auto status = f.rd({"status", "-o", "json"});
    CHECK_MESSAGE(status.exit_code == 0, status.err);
    CHECK(status.out.find("bad") != std::string::npos);
  }
}

TEST_CASE("invalid policies: a ttl longer than 1000 years is refused at add and edit, nothing written") {
  CliFixture f;
  f.setup_with_sample_tables();
  for (const char* ttl : {"9999y", "1001y", "P1001Y", "12001mo", "1000y1d", "365243d"}) {
    CAPTURE(ttl);
    auto added = f.rd({"ttl", "public.metrics", "delete", ttl});
    CHECK(added.exit_code == 2);
    CHECK_MESSAGE(added.err.find(std::string("\"") + ttl + "\"") != std::string::npos, added.err);
    auto long_form = f.rd({"policy", "add", "--table", "public.metrics", "--strategy", "delete", "--ttl", ttl});
    CHECK(long_form.exit_code == 2);
    CHECK(f.pg.scalar("SELECT count(*) FROM retention.policies") == "0");
  }
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "1000y", "--id", "old"}).exit_code == 0);
  auto edited = f.rd({"policy", "edit", "old", "--ttl", "9999y"});
  CHECK(edited.exit_code == 2);
  CHECK(edited.err.find("9999y") != std::string::npos);
  CHECK(f.pg.scalar("SELECT ttl FROM retention.policies WHERE id = 'old'") == "1000y");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_events") == "1");
}

TEST_CASE("invalid policies: a stored ttl of 9999y fails its policy alone, never as out of range") {
  CliFixture f;
  break_one(f, "ttl = '9999y'");
  const auto shown = json::parse(f.rd({"policy", "show", "bad", "-o", "json"}).out);
  CHECK(shown["ttl"] == "9999y");
  CHECK(shown["error"].get<std::string>().find("1000y") != std::string::npos);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", "--once"}, std::vector<std::string>{"run", "--once", "--dry-run"}}) {
    auto run = f.rd(args);
    CHECK_MESSAGE(run.exit_code == 1, run.err);
    CHECK(run.err.find("out of range") == std::string::npos);
    CHECK(run.out.find("out of range") == std::string::npos);
  }
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'bad' AND action = 'plan' AND "
                    "status = 'failed' AND error LIKE '%1000y%'") == "1");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'good' AND status <> 'succeeded'") ==
        "0");
  auto fixed = f.rd({"policy", "edit", "bad", "--ttl", "90d"});
  CHECK_MESSAGE(fixed.exit_code == 0, fixed.err);
  CHECK(f.rd({"run", "--once"}).exit_code == 0);
}

TEST_CASE("invalid policies: a run whose cutoff falls before the year 1 fails that policy alone with the reason") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "1000y", "--id", "millennium"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "month"}).exit_code == 0);
  auto dry = f.rd({"run", "--once", "--dry-run", "--as-of", "0500-01-01", "-o", "json"});
  CHECK_MESSAGE(dry.exit_code == 1, dry.err);
  const auto plan = json::parse(dry.out);
  bool reported = false;
  for (const auto& policy : plan["policies"]) {
    if (policy["id"] == "millennium") {
      const std::string error = policy["error"].get<std::string>();
      CHECK_MESSAGE(error.find("the cutoff -000500-01-01T00:00:00Z") != std::string::npos, error);
      CHECK(error.find("0001-01-01T00:00:00Z") != std::string::npos);
      reported = true;
    }
    if (policy["id"] == "month") CHECK(policy["error"].is_null());
  }
  CHECK_MESSAGE(reported, dry.out);
  auto live = f.rd({"run", "--once", "--as-of", "0500-01-01"});
  CHECK_MESSAGE(live.exit_code == 1, live.err);
  CHECK(live.err.find("out of range") == std::string::npos);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'millennium' AND action = 'plan' "
                    "AND status = 'failed' AND error LIKE '%before 0001-01-01T00:00:00Z%'") == "1");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'month' AND status = 'failed'") ==
        "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM public.metrics") == "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_catalog.pg_class WHERE relname = 'metrics_p20240101'") == "1");
}

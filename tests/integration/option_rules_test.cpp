#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/cli_fixture.hpp"

using retentiond::testing::CliFixture;

namespace {

void check_refused(CliFixture& f, const std::vector<std::string>& args, const std::vector<std::string>& named) {
  CAPTURE(args.back());
  const auto result = f.rd(args);
  CHECK(result.exit_code == 2);
  for (const auto& word : named) CHECK_MESSAGE(result.err.find(word) != std::string::npos, result.err);
  CHECK(result.err.find('\n') == result.err.size() - 1);  // one line
}

}  // namespace

TEST_CASE("option rules: an option that does nothing on the table's kind is refused at add, nothing written") {
  CliFixture f;
  f.setup_with_sample_tables();
  check_refused(f, {"ttl", "public.metrics", "delete", "30d", "--option", "batch_size=500"},
                {"\"batch_size\"", "plain tables only", "public.metrics"});
  check_refused(f,
                {"policy", "add", "--table", "public.metrics", "--strategy", "delete", "--ttl", "30d", "--option",
                 "batch_size=500"},
                {"\"batch_size\"", "public.metrics is partitioned"});
  for (const char* option : {"detach=true", "detach_concurrently=true", "keep_table=true", "detach=false",
                             "partitions_per_transaction=10"}) {
    const std::string key = std::string(option).substr(0, std::string(option).find('='));
    check_refused(f, {"ttl", "public.events:created_at", "delete", "30d", "--option", option},
                  {"\"" + key + "\"", "partitioned tables only", "public.events is a plain table"});
  }
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policies") == "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_events") == "0");
  // Each where it applies, and the options of every table.
  CHECK(f.rd({"ttl", "public.metrics", "delete", "30d", "--option", "detach_concurrently=true", "--option",
              "partitions_per_transaction=10", "--option", "lock_timeout=2s"})
            .exit_code == 0);
  CHECK(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--option", "batch_size=500", "--option",
              "max_runtime=1h"})
            .exit_code == 0);
}

TEST_CASE("option rules: an edit that adds an option the table cannot use is refused, the policy unchanged") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "30d", "--id", "parts"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "rows"}).exit_code == 0);
  check_refused(f, {"policy", "edit", "parts", "--option", "batch_size=100"}, {"\"batch_size\"", "public.metrics"});
  check_refused(f, {"policy", "edit", "rows", "--option", "keep_table=true"}, {"\"keep_table\"", "public.events"});
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policies WHERE options <> '{}'::jsonb") == "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_events WHERE action = 'edit'") == "0");
}

TEST_CASE("option rules: contradicting options are refused naming both") {
  CliFixture f;
  f.setup_with_sample_tables();
  check_refused(f, {"ttl", "public.metrics", "delete", "30d", "--option", "keep_table=true", "--option", "detach=false"},
                {"keep_table=true", "detach=false"});
  check_refused(f,
                {"ttl", "public.metrics", "delete", "30d", "--option", "detach_concurrently=yes", "--option", "detach=no"},
                {"detach_concurrently=true", "detach=false"});
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "30d", "--id", "p", "--option", "keep_table=true"}).exit_code == 0);
  check_refused(f, {"policy", "edit", "p", "--option", "detach=off"}, {"keep_table=true", "detach=false"});
  CHECK(f.pg.scalar("SELECT options::text FROM retention.policies WHERE id = 'p'") == R"({"keep_table": "true"})");
}

TEST_CASE("option rules: a repeated --option key is a usage error naming the key, nothing written") {
  CliFixture f;
  f.setup_with_sample_tables();
  check_refused(f, {"ttl", "public.metrics", "delete", "30d", "--option", "detach=true", "--option", "detach=false"},
                {"\"detach\"", "more than once"});
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "p"}).exit_code == 0);
  check_refused(f, {"policy", "edit", "p", "--option", "batch_size=5", "--option", "batch_size=5"},
                {"\"batch_size\"", "more than once"});
  CHECK(f.pg.scalar("SELECT options::text FROM retention.policies WHERE id = 'p'") == "{}");
}

TEST_CASE("option rules: boolean options take the config's words and are stored as true or false") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "30d", "--id", "p", "--option", "detach=yes"}).exit_code == 0);
  CHECK(f.pg.scalar("SELECT options->>'detach' FROM retention.policies WHERE id = 'p'") == "true");
  REQUIRE(f.rd({"policy", "edit", "p", "--option", "detach=OFF"}).exit_code == 0);
  CHECK(f.pg.scalar("SELECT options->>'detach' FROM retention.policies WHERE id = 'p'") == "false");
  // The same spelling as stored: nothing changes, nothing is recorded.
  const auto again = f.rd({"policy", "edit", "p", "--option", "detach=no"});
  CHECK(again.exit_code == 0);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_events WHERE action = 'edit'") == "1");
  check_refused(f, {"policy", "edit", "p", "--option", "detach=perhaps"}, {"\"perhaps\"", "detach"});
  // A row holding another spelling (written by hand) runs as its author meant.
  f.pg.execute("UPDATE retention.policies SET options = '{\"keep_table\": \"on\"}' WHERE id = 'p'");
  const auto run = f.rd({"run", "--once", "--dry-run", "--as-of", "2024-02-01", "-o", "json"});
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  CHECK_MESSAGE(run.out.find("\"action\":\"detach\"") != std::string::npos, run.out);
}

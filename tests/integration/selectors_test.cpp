#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "support/cli_fixture.hpp"

using retentiond::testing::CliFixture;
using retentiond::testing::is_one_line;

namespace {

// Three tagged policies on the sample tables and nothing else.
void add_tagged_policies(CliFixture& f) {
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "90d", "--id", "a", "--tags", "tenant-a,metrics"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.metrics", "reallocate:pg_default", "30d", "--id", "b", "--tags", "tenant-a"}).exit_code ==
          0);
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "c", "--tags", "tenant-b"}).exit_code == 0);
}

std::string policies_and_events(const CliFixture& f) {
  return f.pg.scalar(
      "SELECT string_agg(id || ':' || enabled, ',' ORDER BY id) || '|' || (SELECT count(*) FROM retention.policy_events)"
      " FROM retention.policies");
}

}  // namespace

TEST_CASE("selectors: an empty or blank --tags is a usage error for every command that selects") {
  CliFixture f;
  f.setup_with_sample_tables();
  add_tagged_policies(f);
  const std::string before = policies_and_events(f);
  const std::vector<std::vector<std::string>> commands = {
      {"policy", "rm"}, {"policy", "disable"}, {"policy", "enable"}, {"policy", "list"}, {"run", "--once"},
      {"run", "--once", "--dry-run"}};
  for (const std::string selector : {"", " ", ",", "a,", ",a", " , ", "tenant-a,,metrics"}) {
    for (auto args : commands) {
      args.insert(args.end(), {"--tags", selector});
      const auto result = f.rd(args);
      INFO(args[0], " ", args[1], " --tags '", selector, "': ", result.err);
      CHECK(result.exit_code == 2);
      CHECK(is_one_line(result.err));
      CHECK(result.err.find("--tags") != std::string::npos);
      CHECK(result.out.empty());
    }
  }
  CHECK(policies_and_events(f) == before);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log") == "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class WHERE relname = 'metrics_p20240101'") == "1");
}

TEST_CASE("selectors: a selector that matches nothing says so, exits 0 and changes nothing") {
  CliFixture f;
  f.setup_with_sample_tables();
  add_tagged_policies(f);
  const std::string before = policies_and_events(f);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"policy", "rm", "--tags", "nobody"}, {"policy", "disable", "--tags", "tenant-a,tenant-b"},
        {"policy", "enable", "--tags", "nobody"}, {"policy", "list", "--tags", "nobody"},
        {"run", "--once", "--tags", "nobody"}}) {
    const auto result = f.rd(args);
    INFO(args[0], " ", args[1], ": ", result.err);
    CHECK(result.exit_code == 0);
    CHECK(is_one_line(result.err));
    CHECK(result.err.find("no ") != std::string::npos);
  }
  const auto json = f.rd({"-o", "json", "run", "--once", "--tags", "nobody"});
  CHECK(json.exit_code == 0);
  CHECK(json.out.find("\"actions\"") != std::string::npos);
  CHECK(policies_and_events(f) == before);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log") == "0");
  // -q keeps stderr for errors.
  CHECK(f.rd({"-q", "policy", "rm", "--tags", "nobody"}).err.empty());
}

TEST_CASE("selectors: --tags selects exactly the policies carrying every tag") {
  CliFixture f;
  f.setup_with_sample_tables();
  add_tagged_policies(f);
  const auto removed = f.rd({"policy", "rm", "--tags", " metrics , tenant-a "});
  CHECK(removed.exit_code == 0);
  CHECK(f.pg.scalar("SELECT string_agg(id, ',' ORDER BY id) FROM retention.policies") == "b,c");
}

TEST_CASE("selectors: -- ends the options, so a policy id starting with a dash can be shown, edited and removed") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "90d", "--id=-dash"}).exit_code == 0);
  CHECK(f.rd({"policy", "show", "--", "-dash"}).exit_code == 0);
  CHECK(f.rd({"policy", "edit", "--ttl", "120d", "--", "-dash"}).exit_code == 0);
  CHECK(f.pg.scalar("SELECT ttl FROM retention.policies WHERE id = '-dash'") == "120d");
  CHECK(f.rd({"policy", "disable", "--", "-dash"}).exit_code == 0);
  CHECK(f.rd({"run", "--once", "--dry-run", "--policy=-dash"}).exit_code == 0);
  CHECK(f.rd({"policy", "rm", "--", "-dash"}).exit_code == 0);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policies") == "0");
}

TEST_CASE("selectors: a live run with --as-of after now needs --allow-future, a dry run takes any instant") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute(
      "CREATE TABLE public.metrics_future PARTITION OF public.metrics FOR VALUES FROM (now()::date + 1) TO (now()::date + 2)");
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "1d", "--id", "m"}).exit_code == 0);
  const auto ahead = f.pg.scalar("SELECT to_char((now() + interval '3 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
  const auto refused = f.rd({"run", "--once", "--as-of", ahead});
  CHECK(refused.exit_code == 2);
  CHECK(is_one_line(refused.err));
  CHECK(refused.err.find(ahead) != std::string::npos);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class WHERE relname IN ('metrics_p20240101', 'metrics_future')") == "2");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log") == "0");

  const auto dry = f.rd({"run", "--once", "--dry-run", "--as-of", ahead});
  CHECK(dry.exit_code == 0);
  CHECK(dry.out.find("metrics_future") != std::string::npos);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class WHERE relname = 'metrics_future'") == "1");

  CHECK(f.rd({"run", "--once", "--allow-future"}).exit_code == 2);  // nothing to allow
  const auto allowed = f.rd({"run", "--once", "--as-of", ahead, "--allow-future"});
  CHECK(allowed.exit_code == 0);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class WHERE relname IN ('metrics_p20240101', 'metrics_future')") == "0");
}

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/cli_fixture.hpp"

using retentiond::testing::CliFixture;
using retentiond::testing::is_one_line;

namespace {

struct BadInput {
  std::string what;
  std::vector<std::string> args;
  int exit_code;
  std::string must_mention;  ///< the offending value, as the one-line message names it
  std::map<std::string, std::string> env = {};
};

// Everything a bad command could have touched: policies, their events, the tables of public
// (and the row count of the table an injection would drop).
std::string fingerprint(const CliFixture& f) {
  return f.pg.scalar(R"sql(
    SELECT (SELECT coalesce(md5(string_agg(p::text, ',' ORDER BY id)), '-') FROM retention.policies p) || '|' ||
           (SELECT count(*) FROM retention.policy_events) || '|' ||
           (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace) || '|' ||
           (SELECT count(*) FROM public.y))sql");
}

}  // namespace

TEST_CASE("bad input: each case gives one line naming the value, the right exit code, and changes nothing") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute(R"sql(
    CREATE TABLE public.y (id int); INSERT INTO public.y VALUES (1);
    CREATE TABLE public."x; drop table y" (ts timestamptz);
    CREATE VIEW public.metrics_view AS SELECT * FROM public.metrics;
  )sql");
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "90d", "--id", "existing"}).exit_code == 0);

  const auto dir = f.pg.directory();
  const auto malformed = (dir / "malformed.yaml").string();
  std::ofstream(malformed) << "database:\n  url: [unclosed\n";
  const auto unknown_key = (dir / "unknown.yaml").string();
  std::ofstream(unknown_key) << "database:\n  schema: retention\n  urll: x\n";

  const std::vector<BadInput> cases = {
      {"unknown duration unit", {"ttl", "public.metrics", "delete", "90x"}, 2, "90x"},
      {"zero duration", {"ttl", "public.metrics", "delete", "0d"}, 2, "0d"},
      {"negative duration", {"ttl", "public.metrics", "delete", "-5d"}, 2, "-5d"},
      {"overflowing duration", {"ttl", "public.metrics", "delete", "99999999999999999999d"}, 2, "99999999999999999999d"},
      {"number without unit", {"ttl", "public.metrics", "delete", "90"}, 2, "90"},
      {"empty ISO duration", {"ttl", "public.metrics", "delete", "P"}, 2, "\"P\""},
      {"unknown strategy", {"ttl", "public.metrics", "purge", "90d"}, 2, "purge"},
      {"reallocate without target", {"ttl", "public.metrics", "reallocate", "90d"}, 2, "reallocate"},
      {"snapshot without target", {"policy", "add", "--table", "public.metrics", "--strategy", "snapshot", "--ttl", "9d"}, 2, "snapshot"},
      {"unknown table", {"ttl", "public.nope", "delete", "90d"}, 2, "public.nope"},
      {"injection in a quoted name", {"ttl", R"(public."x; drop table y")", "delete", "90d"}, 2, "x; drop table y"},
      {"injection in an unquoted name", {"ttl", "public.x; drop table y", "delete", "90d"}, 2, "public.x; drop table y"},
      {"three-part name", {"ttl", "a.b.c", "delete", "90d"}, 2, "a.b.c"},
      {"a view", {"ttl", "public.metrics_view", "delete", "90d"}, 2, "public.metrics_view"},
      {"minute out of range", {"ttl", "public.metrics", "delete", "90d", "--schedule", "61 * * * *"}, 2, "61 * * * *"},
      {"cron with three fields", {"ttl", "public.metrics", "delete", "90d", "--schedule", "* * *"}, 2, "* * *"},
      {"schedule that never fires", {"ttl", "public.metrics", "delete", "90d", "--schedule", "0 0 30 2 *"}, 2, "0 0 30 2 *"},
      {"@every zero", {"ttl", "public.metrics", "delete", "90d", "--schedule", "@every 0s"}, 2, "@every 0s"},
      {"plain table without time column", {"ttl", "public.events", "delete", "30d"}, 2, "public.events"},
      {"missing time column", {"ttl", "public.events:nosuch", "delete", "30d"}, 2, "nosuch"},
      {"time column of the wrong type", {"ttl", "public.events:body", "delete", "30d"}, 2, "body"},
      {"partition column that is not the key", {"ttl", "public.metrics:value", "delete", "30d"}, 2, "value"},
      {"reallocate on a plain table", {"ttl", "public.events:created_at", "reallocate:cold", "30d"}, 2, "public.events"},
      {"non-numeric batch_size", {"ttl", "public.events:created_at", "delete", "30d", "--option", "batch_size=abc"}, 2, "abc"},
      {"unknown option", {"ttl", "public.metrics", "delete", "30d", "--option", "nosuch=1"}, 2, "nosuch"},
      {"option without value", {"ttl", "public.metrics", "delete", "30d", "--option", "batch_size"}, 2, "batch_size"},
      {"bad tag", {"ttl", "public.metrics", "delete", "30d", "--tags", "ok,bad tag!"}, 2, "bad tag!"},
      {"bad policy id", {"ttl", "public.metrics", "delete", "30d", "--id", "has space"}, 2, "has space"},
      {"duplicate policy id", {"ttl", "public.metrics", "delete", "30d", "--id", "existing"}, 2, "existing"},
      {"policy add without ttl", {"policy", "add", "--table", "public.metrics", "--strategy", "delete"}, 2, "--ttl"},
      {"show unknown policy", {"policy", "show", "nosuch"}, 2, "nosuch"},
      {"edit unknown policy", {"policy", "edit", "nosuch", "--ttl", "5d"}, 2, "nosuch"},
      {"edit with a bad ttl", {"policy", "edit", "existing", "--ttl", "5 fortnights"}, 2, "5 fortnights"},
      {"rm unknown policy", {"policy", "rm", "existing", "nosuch"}, 2, "nosuch"},
      {"unknown policy action", {"policy", "frobnicate"}, 2, "frobnicate"},
      {"unknown command", {"frobnicate"}, 2, "frobnicate"},
      {"unknown option", {"policy", "list", "--bogus"}, 2, "--bogus"},
      {"unknown output format", {"policy", "list", "-o", "yaml"}, 2, "yaml"},
      {"missing config file", {"-c", "/nonexistent/retentiond.yaml", "policy", "list"}, 2, "/nonexistent/retentiond.yaml"},
      {"malformed YAML", {"-c", malformed, "policy", "list"}, 2, "malformed.yaml:"},
      {"unknown config key", {"-c", unknown_key, "policy", "list"}, 2, "urll"},
      {"wrongly typed environment value", {"policy", "list"}, 2, "RETENTIOND_SCHEDULER_MAX_CONCURRENT_JOBS",
       {{"RETENTIOND_SCHEDULER_MAX_CONCURRENT_JOBS", "two"}}},
      {"bad log level", {"--log-level", "loud", "policy", "list"}, 2, "loud"},
      {"daemon with --dry-run", {"run", "--dry-run"}, 2, "--dry-run"},
      {"daemon with --policy", {"run", "--policy", "existing"}, 2, "--policy"},
      {"daemon with a bad default schedule", {"run"}, 2, "@sometimes", {{"RETENTIOND_SCHEDULER_DEFAULT_SCHEDULE", "@sometimes"}}},
      {"unreachable database", {"--database-url", "host=/nonexistent-retentiond port=1 user=x", "policy", "list"}, 3,
       "nonexistent-retentiond"},
  };
  CHECK(cases.size() >= 25);

  const std::string before = fingerprint(f);
  for (const auto& c : cases) {
    CAPTURE(c.what);
    // A case that names its own database bypasses the fixture's URL.
    const bool own_url = std::find(c.args.begin(), c.args.end(), "--database-url") != c.args.end();
    auto result = own_url ? retentiond::testing::run_retentiond(c.args, c.env) : f.rd(c.args, c.env);
    CHECK(result.exit_code == c.exit_code);
    CHECK_MESSAGE(is_one_line(result.err), result.err);
    CHECK_MESSAGE(result.err.find(c.must_mention) != std::string::npos, result.err);
    CHECK(result.err.find("terminate called") == std::string::npos);
    CHECK(result.out.empty());
    CHECK(fingerprint(f) == before);
  }
}

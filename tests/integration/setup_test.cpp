#include <doctest/doctest.h>

#include "retentiond/db/migrations.hpp"
#include "support/cli_fixture.hpp"

using retentiond::testing::CliFixture;
using retentiond::testing::is_one_line;

TEST_CASE("setup: creates the schema, and a second run has nothing to do") {
  CliFixture f;
  auto first = f.rd({"setup"});
  CHECK(first.exit_code == 0);
  CHECK(first.out.find("applied migration 1") != std::string::npos);
  CHECK(first.out.find("applied migration 2") != std::string::npos);
  CHECK(f.pg.scalar("SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class "
                    "WHERE relnamespace = 'retention'::regnamespace AND relkind = 'r'") ==
        "jobs_log,leases,policies,policy_events,policy_state,schema_migrations");

  auto before = f.pg.scalar("SELECT string_agg(version || ':' || applied_at, ',') FROM retention.schema_migrations");
  auto second = f.rd({"setup"});
  CHECK(second.exit_code == 0);
  CHECK(second.out.find("nothing to do") != std::string::npos);
  CHECK(f.pg.scalar("SELECT string_agg(version || ':' || applied_at, ',') FROM retention.schema_migrations") == before);

  auto json = f.rd({"setup", "-o", "json"});
  CHECK(json.exit_code == 0);
  CHECK(json.out.find("\"applied\":[]") != std::string::npos);
}

TEST_CASE("setup: --schema puts the tables into a schema whose name needs quoting") {
  CliFixture f;
  auto result = f.rd({"--schema", "\"Retention Data\"", "setup"});
  REQUIRE(result.exit_code == 0);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'Retention Data' AND c.relkind = 'r'") == "6");
  CHECK(f.rd({"--schema", "\"Retention Data\"", "policy", "list"}).exit_code == 0);
  // The change trigger names its schema in the payload; a quoted schema is no exception.
  f.pg.execute("CREATE TABLE public.metrics (ts timestamptz NOT NULL) PARTITION BY RANGE (ts)");
  CHECK(f.rd({"--schema", "\"Retention Data\"", "ttl", "public.metrics", "delete", "30d"}).exit_code == 0);
}

TEST_CASE("setup: a schema at version 1 is upgraded by applying only what is new") {
  CliFixture f;
  // Version 1 exactly as a release of the first schema left it.
  f.pg.execute("CREATE SCHEMA retention");
  for (const auto& migration : retentiond::migrations()) {
    if (migration.version != 1) continue;
    f.pg.execute(retentiond::render_migration(migration, "retention"));
  }
  f.pg.execute("CREATE TABLE retention.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
               "applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT current_user)");
  f.pg.execute("INSERT INTO retention.schema_migrations (version, name) VALUES (1, 'initial schema')");
  auto result = f.rd({"setup"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(result.out.find("applied migration 1") == std::string::npos);
  CHECK(result.out.find("applied migration 2") != std::string::npos);
  CHECK(result.out.find("applied migration 3") != std::string::npos);
  CHECK(f.pg.scalar("SELECT string_agg(version::text, ',' ORDER BY version) FROM retention.schema_migrations") ==
        "1,2,3");
}

TEST_CASE("setup: other commands exit 3 on a missing schema and say to run setup") {
  CliFixture f;
  auto result = f.rd({"policy", "list"});
  CHECK(result.exit_code == 3);
  CHECK(is_one_line(result.err));
  CHECK(result.err.find("run `retentiond setup`") != std::string::npos);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_namespace WHERE nspname = 'retention'") == "0");
}

TEST_CASE("setup: a schema newer than the binary exits 3 naming both versions") {
  CliFixture f;
  REQUIRE(f.rd({"setup"}).exit_code == 0);
  f.pg.execute("INSERT INTO retention.schema_migrations (version, name) VALUES (999, 'from the future')");
  for (const auto& args : {std::vector<std::string>{"policy", "list"}, std::vector<std::string>{"setup"}}) {
    auto result = f.rd(args);
    CHECK(result.exit_code == 3);
    CHECK(is_one_line(result.err));
    CHECK(result.err.find("version 999") != std::string::npos);
    CHECK(result.err.find("version " + std::to_string(retentiond::latest_schema_version()) + ")") != std::string::npos);
  }
}

TEST_CASE("setup: an unreachable database exits 3 with one line and no password") {
  CliFixture f;
  auto result = retentiond::testing::run_retentiond(
      {"--database-url", "postgresql://app:s3cret-pw@/app?host=/nonexistent-retentiond-socket", "setup"});
  CHECK(result.exit_code == 3);
  CHECK(is_one_line(result.err));
  CHECK(result.err.find("s3cret-pw") == std::string::npos);
  CHECK(result.err.find("app:***@") != std::string::npos);
}

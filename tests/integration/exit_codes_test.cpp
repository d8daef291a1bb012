#include <doctest/doctest.h>

#include <string>

#include "support/cli_fixture.hpp"

using retentiond::testing::CliFixture;
using retentiond::testing::is_one_line;

TEST_CASE("exit codes: empty global option values are usage errors, not defaults") {
  CliFixture f;
  f.setup_with_sample_tables();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--database-url", "", "policy", "list"}, {"-c", "", "config", "print"},
{"--schema", "", "policy", "list"}, {"--log-level", "", "config", "print"},
        {"--log-format", "", "config", "print"}}) {
    // Not through f.rd: the empty URL must not be shadowed by the fixture's own.
    const auto result = retentiond::testing::run_retentiond(args, {{"RETENTIOND_DATABASE_URL", f.pg.url()}});
    INFO(args[0], ": ", result.err);
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    CHECK(result.err.find("empty --") != std::string::npos);
  }
}

TEST_CASE("exit codes: a system schema as the retention schema is refused with 2 and nothing is created") {
  CliFixture f;
  for (const std::string schema : {"pg_catalog", "information_schema", "pg_toast", "pg_temp_1", "\"pg_x\""}) {
    const auto result = f.rd({"--schema", schema, "setup"});
    INFO(schema, ": ", result.err);
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
  }
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class WHERE relname IN ('schema_migrations', 'jobs_log')") == "0");
}

TEST_CASE("exit codes: setup into a schema holding a foreign table of the same name exits 2 and leaves nothing") {
  CliFixture f;
  f.pg.execute("CREATE SCHEMA app; CREATE TABLE app.jobs_log (id int); INSERT INTO app.jobs_log VALUES (7)");
  const auto result = f.rd({"--schema", "app", "setup"});
  CHECK(result.exit_code == 2);
  CHECK(is_one_line(result.err));
  CHECK(result.err.find("jobs_log") != std::string::npos);
  CHECK(f.pg.scalar("SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = "
                    "'app'::regnamespace") == "jobs_log");
  CHECK(f.pg.scalar("SELECT count(*) FROM app.jobs_log") == "1");
  // A fresh schema still sets up, in one transaction.
  CHECK(f.rd({"--schema", "fresh", "setup"}).exit_code == 0);
  CHECK(f.rd({"--schema", "fresh", "setup"}).exit_code == 0);
}

TEST_CASE("exit codes: permission denied outside a job is a configuration error (2), naming what was refused") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute("CREATE ROLE nobody LOGIN; GRANT USAGE ON SCHEMA retention TO nobody;"
               " GRANT SELECT ON retention.schema_migrations TO nobody");
  const std::string url = f.pg.url() + "&user=nobody";
  // The second user= wins in libpq's URI parsing; check the fixture's URL shape holds that.
  for (const std::vector<std::string>& args : {std::vector<std::string>{"jobs"}, {"policy", "list"},
                                                {"ttl", "public.metrics", "delete", "9d"}}) {
    std::vector<std::string> full{"--database-url", url};
    full.insert(full.end(), args.begin(), args.end());
    const auto result = retentiond::testing::run_retentiond(full);
    INFO(args[0], ": ", result.err);
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    CHECK(result.err.find("permission denied") != std::string::npos);
  }
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policies") == "0");
}

TEST_CASE("exit codes: jobs --since before the year 1 and an unparseable URL are usage errors") {
  CliFixture f;
  f.setup_with_sample_tables();
  const auto since = f.rd({"jobs", "--since", "9999y"});
  CHECK(since.exit_code == 2);
  CHECK(since.err.find("9999y") != std::string::npos);
  CHECK(f.rd({"jobs", "--since", "100y"}).exit_code == 0);
  for (const std::string url : {"postgresql://u:s3cret@[::1/db", "postgresql://u:s3cret@h/db?nosuch=1",
                                "host=x password=s3cret broken"}) {
    const auto result = retentiond::testing::run_retentiond({"--database-url", url, "policy", "list"});
    INFO(url, ": ", result.err);
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    CHECK(result.err.find("s3cret") == std::string::npos);
  }
}

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/cli_fixture.hpp"

using retentiond::testing::CliFixture;
using retentiond::testing::run_retentiond;

namespace {

std::map<std::string, std::string> statuses(const std::string& json_text) {
  std::map<std::string, std::string> out;
  for (const auto& row : nlohmann::json::parse(json_text)) out[row["check"]] = row["status"];
  return out;
}

}  // namespace

TEST_CASE("check: a healthy setup is all OK in every output format and exits 0") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "30d", "--id", "m"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "e"}).exit_code == 0);
  auto json = f.rd({"check", "-o", "json"});
  REQUIRE_MESSAGE(json.exit_code == 0, (json.out + json.err));
  const auto s = statuses(json.out);
  for (const char* name :
       {"connection", "server", "schema", "audit", "policy m: table", "policy m: privileges",
        "policy m: plan", "policy e: table", "policy e: privileges", "policy e: plan"}) {
    CHECK_MESSAGE(s.at(name) == "OK", name);
  }
  const auto table = f.rd({"check"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("policy m: privileges") != std::string::npos);
  const auto compact = f.rd({"check", "-o", "compact"});
  CHECK(compact.exit_code == 0);
  CHECK(compact.out.find("check=\"schema\" status=OK") != std::string::npos);
}

TEST_CASE("check: a missing tablespace and a missing privilege FAIL and exit 1, nothing changed") {
  CliFixture f;
  f.setup_with_sample_tables();
  // A reallocate policy whose tablespace is gone (a row as a hand edit would leave it), and a
  // role that may read the policies but owns none of the tables.
  f.pg.execute(R"sql(
    INSERT INTO retention.policies (id, table_schema, table_name, strategy, ttl, target)
      VALUES ('cold', 'public', 'metrics', 'reallocate', '30d', 'nope');
    CREATE ROLE weak LOGIN;
    GRANT USAGE ON SCHEMA retention TO weak;
    GRANT SELECT ON ALL TABLES IN SCHEMA retention TO weak;
  )sql");
  const auto before = f.pg.scalar("SELECT count(*) FROM retention.jobs_log") + "|" +
                      f.pg.scalar("SELECT count(*) FROM pg_inherits");
  const std::string as_weak = "host=" + f.pg.directory().string() + " port=" + std::to_string(f.pg.port()) +
                              " user=weak dbname=postgres";
  auto result = run_retentiond({"--database-url", as_weak, "check", "-o", "json"});
  CHECK(result.exit_code == 1);
  const auto s = statuses(result.out);
  CHECK(s.at("connection") == "OK");
  CHECK(s.at("schema") == "OK");
  CHECK(s.at("audit") == "FAIL");                    // weak may not write jobs_log
  CHECK(s.at("policy cold: privileges") == "FAIL");  // owns no partition of public.metrics
  CHECK(s.at("policy cold: tablespace") == "FAIL");  // "nope" does not exist
  CHECK(s.at("policy cold: plan") == "FAIL");
  CHECK(result.out.find("tablespace \\\"nope\\\" does not exist") != std::string::npos);
  CHECK(result.out.find("not owned by weak") != std::string::npos);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log") + "|" +
            f.pg.scalar("SELECT count(*) FROM pg_inherits") ==
        before);
}

TEST_CASE("check: a database without the retention schema FAILs the schema check and exits 1") {
  CliFixture f;
  auto result = f.rd({"check", "-o", "compact"});
  CHECK(result.exit_code == 1);
  CHECK(result.out.find("check=\"schema\" status=FAIL") != std::string::npos);
  CHECK(result.out.find("run `retentiond setup`") != std::string::npos);
}

// What no policy may do, checked when a policy is written and again when it is planned (a row
// written by hand must fail its own policy, never run): work on retentiond's own or the
// system's tables, drop what a snapshot policy of the same table archives, name a target that
// does not exist, or work on a table whose partitions have no time range.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "support/cli_fixture.hpp"
#include "support/snapshot_repository.hpp"

using retentiond::testing::CliFixture;
using retentiond::testing::is_one_line;
using retentiond::testing::Repository;
using json = nlohmann::json;

namespace {

std::string written(const CliFixture& f, const std::string& schema = "retention") {
  return f.pg.scalar("SELECT count(*) FROM " + schema + ".policies") + "|" +
         f.pg.scalar("SELECT count(*) FROM " + schema + ".policy_events");
}

// Refused with exit 2 and one line that names `needle`, nothing written.
void check_refused(const CliFixture& f, const std::vector<std::string>& args, const std::string& needle,
                   const std::map<std::string, std::string>& env = {}) {
  CAPTURE(args);
  const std::string before = written(f);
  const auto result = f.rd(args, env);
  CHECK(result.exit_code == 2);
  CHECK_MESSAGE(result.err.find(needle) != std::string::npos, result.err);
  CHECK(is_one_line(result.err));
  CHECK(written(f) == before);
}

// public.metrics with ten daily partitions of January 2024, 24 rows each; at --as-of
// 2024-01-11 a ttl of 5d leaves Jan 1-5 expired.
void setup_with_daily_metrics(CliFixture& f) {
  f.setup_with_sample_tables();
  std::string sql = "DROP TABLE public.metrics;"
                    "CREATE TABLE public.metrics (ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts);";
  for (int day = 1; day <= 10; ++day) {
    char text[200];
    std::snprintf(text, sizeof text,
                  "CREATE TABLE public.metrics_p202401%02d PARTITION OF public.metrics"
                  " FOR VALUES FROM ('2024-01-%02d') TO ('2024-01-%02d');",
                  day, day, day + 1);
    sql += text;
  }
  sql += "INSERT INTO public.metrics SELECT t, 1 FROM generate_series('2024-01-01'::timestamptz,"
         " '2024-01-10 23:00', '1 hour') t;";
  f.pg.execute(sql);
}

std::string partitions_of(const CliFixture& f, const std::string& parent) {
  return f.pg.scalar(
      "SELECT coalesce(string_agg(c.relname, ',' ORDER BY c.relname), '') FROM pg_inherits i JOIN pg_class c"
      " ON c.oid = i.inhrelid WHERE i.inhparent = '" +
      parent + "'::regclass");
}

void create_tablespace(const CliFixture& f, const std::string& name) {
  const auto location = f.pg.directory() / name;
  std::filesystem::create_directory(location);
  struct stat owner {};
  REQUIRE(::stat(f.pg.directory().c_str(), &owner) == 0);
  REQUIRE(::chown(location.c_str(), owner.st_uid, owner.st_gid) == 0);
  f.pg.execute("CREATE TABLESPACE " + name + " LOCATION '" + location.string() + "'");
}

void insert_policy(const CliFixture& f, const std::string& id, const std::string& schema, const std::string& table,
                   const std::string& strategy, const std::string& ttl, const std::string& column = "",
                   const std::string& target = "") {
  f.pg.execute("INSERT INTO retention.policies (id, table_schema, table_name, strategy, ttl, partition_column, "
               "target) VALUES ('" +
               id + "', '" + schema + "', '" + table + "', '" + strategy + "', '" + ttl + "', " +
               (column.empty() ? "NULL" : "'" + column + "'") + ", " +
               (target.empty() ? "NULL" : "'" + target + "'") + ")");
}

std::string plan_error(const CliFixture& f, const std::string& id) {
  return f.pg.scalar("SELECT action || ':' || status || ':' || error FROM retention.jobs_log WHERE policy_id = '" +
                     id + "'");
}

}  // namespace

// --- item 2: retentiond's own tables, system tables, temporary tables -------------------------

TEST_CASE("policy guards: a policy on retentiond's own tables or a system table is refused, nothing written") {
  CliFixture f;
  f.setup_with_sample_tables();
  check_refused(f, {"ttl", "retention.jobs_log:started_at", "delete", "1s"}, "retention.jobs_log");
  check_refused(f, {"ttl", "retention.policies:created_at", "delete", "1s"}, "retentiond's own schema");
  check_refused(f, {"ttl", "retention.policy_events:at", "delete", "1d"}, "retention.policy_events");
  check_refused(f, {"policy", "add", "--table", "retention.jobs_log", "--partition-column", "started_at",
                    "--strategy", "delete", "--ttl", "1d"},
                "retention.jobs_log");
  check_refused(f, {"ttl", "pg_catalog.pg_class:relname", "delete", "1d"}, "system schema \"pg_catalog\"");
  check_refused(f, {"ttl", "information_schema.sql_features:feature_id", "delete", "1d"},
                "system schema \"information_schema\"");
  check_refused(f, {"ttl", "pg_toast.pg_toast_2619:chunk_id", "delete", "1d"}, "system schema \"pg_toast\"");
  check_refused(f, {"ttl", "pg_temp_1.anything:ts", "delete", "1d"}, "temporary schema \"pg_temp_1\"");
  check_refused(f, {"ttl", "pg_toast_temp_1.anything:ts", "delete", "1d"}, "temporary schema");
}

TEST_CASE("policy guards: a retention schema of another name is protected like the default one") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"--schema", "ops", "setup"}).exit_code == 0);
  const std::string before = written(f, "ops");
  const auto result = f.rd({"--schema", "ops", "ttl", "ops.jobs_log:started_at", "delete", "1s"});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("ops.jobs_log") != std::string::npos);
  CHECK(result.err.find("retentiond's own schema \"ops\"") != std::string::npos);
  CHECK(written(f, "ops") == before);
}

TEST_CASE("policy guards: another session's temporary table is refused") {
  CliFixture f;
  f.setup_with_sample_tables();
  pqxx::connection other(f.pg.url());
  pqxx::nontransaction(other).exec0("CREATE TEMP TABLE scratch (ts timestamptz NOT NULL)");
  const std::string schema =
      pqxx::nontransaction(other).exec1("SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()")[0]
          .as<std::string>();
  check_refused(f, {"ttl", schema + ".scratch:ts", "delete", "1d"}, schema + ".scratch");
}

TEST_CASE("policy guards: edit cannot move a policy onto retentiond's own tables") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "e"}).exit_code == 0);
  check_refused(f, {"policy", "edit", "e", "--table", "retention.jobs_log", "--partition-column", "started_at"},
                "retention.jobs_log");
  CHECK(f.pg.scalar("SELECT table_schema || '.' || table_name FROM retention.policies") == "public.events");
}

TEST_CASE("policy guards: hand-written rows on retentiond's own tables fail at plan time and delete nothing") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "e"}).exit_code == 0);
  f.pg.execute("INSERT INTO public.events (created_at, body) VALUES ('2020-01-01', 'old')");
  REQUIRE(f.rd({"run", "--once"}).exit_code == 0);  // rows in jobs_log to lose
  const std::string last_job = f.pg.scalar("SELECT max(id) FROM retention.jobs_log");
  insert_policy(f, "own-jobs", "retention", "jobs_log", "delete", "1s", "started_at");
  insert_policy(f, "own-policies", "retention", "policies", "delete", "1s", "created_at");
  insert_policy(f, "own-events", "retention", "policy_events", "delete", "1s", "at");
  ::sleep(2);  // every row is older than the 1s ttl
  const std::string jobs = f.pg.scalar("SELECT count(*) FROM retention.jobs_log");
  const std::string events = f.pg.scalar("SELECT count(*) FROM retention.policy_events");

  const auto result = f.rd({"run", "--once"});
  CHECK(result.exit_code == 1);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policies") == "4");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_events") == events);
  CHECK(jobs != "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE id <= " + last_job) == jobs);
  for (const char* id : {"own-jobs", "own-policies", "own-events"}) {
    CAPTURE(id);
    const std::string row = plan_error(f, id);
    CHECK(row.starts_with("plan:failed:no policy may work on retention."));
    CHECK(row.find("retentiond's own schema") != std::string::npos);
  }
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id LIKE 'own-%' AND action <> 'plan'") ==
        "0");

  const auto check = f.rd({"check", "-o", "json"});
  CHECK(check.exit_code == 1);
  for (const auto& row : json::parse(check.out)) {
    if (row["check"] == "policy own-jobs: plan") CHECK(row["status"] == "FAIL");
  }
}

// --- item 3: a delete never drops what a snapshot policy of its table archives ------------------

TEST_CASE("policy guards: a delete not longer than a snapshot of the same table is refused, both ways") {
  CliFixture f;
  setup_with_daily_metrics(f);
  Repository repo;
  const auto env = repo.env();
  REQUIRE(f.rd({"ttl", "public.metrics", "snapshot:cold", "30d", "--id", "s-snap"}, env).exit_code == 0);
  for (const char* ttl : {"30d", "10d", "4w2d"}) {
    const auto result = f.rd({"ttl", "public.metrics", "delete", ttl, "--id", "a-del"}, env);
    CHECK(result.exit_code == 2);
    CHECK(result.err.find("\"a-del\"") != std::string::npos);
    CHECK(result.err.find("\"s-snap\"") != std::string::npos);
  }
  CHECK(written(f) == "1|1");
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "31d", "--id", "a-del"}, env).exit_code == 0);
  // Edits of either policy are held to the same rule.
  check_refused(f, {"policy", "edit", "a-del", "--ttl", "30d"}, "\"s-snap\"", env);
  check_refused(f, {"policy", "edit", "s-snap", "--ttl", "31d"}, "\"a-del\"", env);
  // A calendar ttl is compared at every instant: 1mo is shorter than 31d in February.
  check_refused(f, {"policy", "edit", "s-snap", "--ttl", "1mo"}, "\"a-del\"", env);
  // The snapshot added after the delete.
  REQUIRE(f.rd({"policy", "rm", "s-snap"}).exit_code == 0);
  check_refused(f, {"ttl", "public.metrics", "snapshot:cold", "31d", "--id", "z-snap"}, "\"a-del\"", env);
  CHECK(f.rd({"ttl", "public.metrics", "snapshot:cold", "30d", "--id", "z-snap"}, env).exit_code == 0);
}

TEST_CASE("policy guards: a run archives before it drops, whatever the ids of a table's policies") {
  CliFixture f;
  setup_with_daily_metrics(f);
  Repository repo;
  // Rows as a hand edit leaves them: the delete (its id sorts first) has the same ttl.
  insert_policy(f, "a-delete", "public", "metrics", "delete", "5d");
  insert_policy(f, "b-snapshot", "public", "metrics", "snapshot", "5d", "", "cold");
  const auto result = f.rd({"run", "--once", "--as-of", "2024-01-11"}, repo.env());
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(repo.ending(".manifest.json").size() == 5);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'a-delete' AND action <> 'plan'") ==
        "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'b-snapshot' AND status = "
                    "'succeeded'") == "5");
  CHECK(partitions_of(f, "public.metrics") ==
        "metrics_p20240106,metrics_p20240107,metrics_p20240108,metrics_p20240109,metrics_p20240110");
}

TEST_CASE("policy guards: a delete run on its own leaves to an enabled snapshot what that would archive") {
  CliFixture f;
  setup_with_daily_metrics(f);
  Repository repo;
  // The daemon runs each policy on its own schedule: the delete may come first.
  insert_policy(f, "a-delete", "public", "metrics", "delete", "3d");
  insert_policy(f, "b-snapshot", "public", "metrics", "snapshot", "7d", "", "cold");
  const auto result = f.rd({"run", "--once", "--as-of", "2024-01-11", "--policy", "a-delete", "-o", "json"},
                           repo.env());
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  const auto report = json::parse(result.out);
  // Jan 1-3 expire under the snapshot's 7d: kept for it; Jan 4-7 are the delete's alone.
  std::vector<std::string> dropped;
  for (const auto& action : report["actions"]) dropped.push_back(action["partition"].get<std::string>());
  CHECK(dropped.size() == 4);
  CHECK(report["policies"][0]["skipped"].dump().find("kept for snapshot policy \\\"b-snapshot\\\"") !=
        std::string::npos);
  CHECK(partitions_of(f, "public.metrics").starts_with("metrics_p20240101,metrics_p20240102,metrics_p20240103,"));
  CHECK(partitions_of(f, "public.metrics").find("metrics_p20240104") == std::string::npos);

  // Disabled, the snapshot protects nothing: the delete is the table's only active policy.
  f.pg.execute("UPDATE retention.policies SET enabled = false WHERE id = 'b-snapshot'");
  REQUIRE(f.rd({"run", "--once", "--as-of", "2024-01-11", "--policy", "a-delete"}, repo.env()).exit_code == 0);
  CHECK(partitions_of(f, "public.metrics").starts_with("metrics_p20240108"));
}

TEST_CASE("policy guards: two reallocate policies with different targets on one table are refused") {
  CliFixture f;
  setup_with_daily_metrics(f);
  create_tablespace(f, "warm");
  create_tablespace(f, "cold");
  REQUIRE(f.rd({"ttl", "public.metrics", "reallocate:warm", "7d", "--id", "r-warm"}).exit_code == 0);
  check_refused(f, {"ttl", "public.metrics", "reallocate:cold", "30d", "--id", "r-cold"}, "\"r-warm\"");
  check_refused(f, {"ttl", "public.metrics", "reallocate:cold", "30d", "--id", "r-cold"}, "\"r-cold\"");
  REQUIRE(f.rd({"ttl", "public.metrics", "reallocate:warm", "30d", "--id", "r-warm2"}).exit_code == 0);
  check_refused(f, {"policy", "edit", "r-warm2", "--target", "cold"}, "\"r-warm\"");
}

// --- item 12: targets are checked when a policy is written --------------------------------------

TEST_CASE("policy guards: a missing tablespace or an unconfigured repository is refused at add and edit") {
  CliFixture f;
  setup_with_daily_metrics(f);
  Repository repo;
  check_refused(f, {"ttl", "public.metrics", "reallocate:nosuchspace", "5d"}, "\"nosuchspace\"");
  check_refused(f, {"ttl", "public.metrics", "snapshot:norepo", "5d"}, "\"norepo\"", repo.env());
  create_tablespace(f, "cold");
  REQUIRE(f.rd({"ttl", "public.metrics", "reallocate:cold", "5d", "--id", "r"}).exit_code == 0);
  check_refused(f, {"policy", "edit", "r", "--target", "gone"}, "tablespace \"gone\" does not exist");
  REQUIRE(f.rd({"ttl", "public.metrics", "snapshot:cold", "5d", "--id", "s"}, repo.env()).exit_code == 0);
  check_refused(f, {"policy", "edit", "s", "--target", "other"}, "repository \"other\" is not configured",
                repo.env());
}

// --- item 13: one rule for the partition key, at add and at run ---------------------------------

TEST_CASE("policy guards: tables without a time range key are refused at add and fail at run") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute(R"sql(
    CREATE TABLE public.by_list (ts timestamptz NOT NULL, region text NOT NULL) PARTITION BY LIST (region);
    CREATE TABLE public.by_list_eu PARTITION OF public.by_list FOR VALUES IN ('eu');
    CREATE TABLE public.by_hash (ts timestamptz NOT NULL) PARTITION BY HASH (ts);
    CREATE TABLE public.by_hash_0 PARTITION OF public.by_hash FOR VALUES WITH (MODULUS 1, REMAINDER 0);
    CREATE TABLE public.two_keys (ts timestamptz NOT NULL, n int NOT NULL) PARTITION BY RANGE (ts, n);
    CREATE TABLE public.by_expr (ts timestamptz NOT NULL) PARTITION BY RANGE (date_trunc('day', ts AT TIME ZONE 'UTC'));
    CREATE TABLE public.epoch (ts bigint NOT NULL) PARTITION BY RANGE (ts);
    CREATE TABLE public.epoch_p PARTITION OF public.epoch FOR VALUES FROM (0) TO (1000);
    INSERT INTO public.epoch VALUES (1);
  )sql");
  struct Variant {
    const char* table;
    const char* column;
    const char* reason;
  };
  const std::vector<Variant> variants{
      {"by_list", "", "partitioned by LIST"},
      {"by_list", "ts", "partitioned by LIST"},
      {"by_hash", "", "partitioned by HASH"},
      {"two_keys", "", "partition key of 2 columns"},
      {"two_keys", "ts", "partition key of 2 columns"},
      {"by_expr", "", "partitioned by an expression"},
      {"by_expr", "ts", "partitioned by an expression"},
      {"epoch", "", "is bigint"},
      {"epoch", "ts", "is bigint"},
  };
  int n = 0;
  for (const auto& v : variants) {
    CAPTURE(v.table);
    CAPTURE(v.column);
    const std::string table = std::string("public.") + v.table + (*v.column ? std::string(":") + v.column : "");
    check_refused(f, {"ttl", table, "delete", "30d"}, v.reason);
    const auto result = f.rd({"ttl", table, "delete", "30d"});
    CHECK(result.err.find(":ts") == std::string::npos);  // no suggestion that would be refused
    insert_policy(f, "hand-" + std::to_string(n++), "public", v.table, "delete", "1d", v.column);
  }
  const auto run = f.rd({"run", "--once"});
  CHECK(run.exit_code == 1);
  for (int i = 0; i < n; ++i) {
    CAPTURE(variants[static_cast<std::size_t>(i)].table);
    const std::string row = plan_error(f, "hand-" + std::to_string(i));
    CHECK(row.starts_with("plan:failed:"));
    CHECK(row.find(variants[static_cast<std::size_t>(i)].reason) != std::string::npos);
  }
  CHECK(f.pg.scalar("SELECT count(*) FROM public.epoch") == "1");
  CHECK(partitions_of(f, "public.by_list") == "by_list_eu");
}

TEST_CASE("policy guards: a plain table's suggestion names a real time column, else none") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute("CREATE TABLE public.notime (id int, label text)");
  check_refused(f, {"ttl", "public.events", "delete", "30d"}, "e.g. public.events:created_at");
  check_refused(f, {"ttl", "public.notime", "delete", "30d"}, "has no column of type timestamptz");
  check_refused(f, {"ttl", "public.notime:id", "delete", "30d"}, "column \"id\" of public.notime is integer");
}

// --- item 14: a policy on a sub-partitioned partition -------------------------------------------

TEST_CASE("policy guards: a policy on a time-partitioned partition drops its expired sub-partitions") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute(R"sql(
    CREATE TABLE public.tenants (tenant text NOT NULL, ts timestamptz NOT NULL) PARTITION BY LIST (tenant);
    CREATE TABLE public.tenants_a PARTITION OF public.tenants FOR VALUES IN ('a') PARTITION BY RANGE (ts);
    CREATE TABLE public.tenants_a_d1 PARTITION OF public.tenants_a FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
    CREATE TABLE public.tenants_a_d2 PARTITION OF public.tenants_a FOR VALUES FROM ('2024-01-02') TO ('2024-01-03');
    CREATE TABLE public.tenants_a_d9 PARTITION OF public.tenants_a FOR VALUES FROM ('2024-01-09') TO ('2024-01-10');
    CREATE TABLE public.tenants_b PARTITION OF public.tenants FOR VALUES IN ('b');
    INSERT INTO public.tenants VALUES ('a', '2024-01-01 10:00'), ('a', '2024-01-02 10:00'),
                                      ('a', '2024-01-09 10:00'), ('b', '2024-01-01 10:00');
  )sql");
  // The LIST root and a plain partition are refused; the RANGE-partitioned partition is not.
  check_refused(f, {"ttl", "public.tenants", "delete", "5d"}, "partitioned by LIST");
  check_refused(f, {"ttl", "public.tenants_b:ts", "delete", "5d"}, "give the policy to its parent");
  REQUIRE(f.rd({"ttl", "public.tenants_a", "delete", "5d", "--id", "tenant-a"}).exit_code == 0);
  const auto result = f.rd({"run", "--once", "--as-of", "2024-01-11"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(partitions_of(f, "public.tenants_a") == "tenants_a_d9");
  CHECK(partitions_of(f, "public.tenants") == "tenants_a,tenants_b");
  CHECK(f.pg.scalar("SELECT string_agg(tenant, ',' ORDER BY tenant, ts) FROM public.tenants") == "a,b");
}

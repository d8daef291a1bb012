#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "support/cli_fixture.hpp"

using nlohmann::json;
using retentiond::testing::CliFixture;

namespace {

// Ten daily partitions 2024-01-01 .. 2024-01-10 with rows, a default partition and one open
// at the bottom; with --as-of 2024-01-11 and ttl 5d the cutoff is 2024-01-06, so exactly the
// partitions of Jan 1-5 are expired.
void make_daily_partitions(const CliFixture& f, const std::string& parent = "public.metrics",
                           const std::string& prefix = "metrics_p") {
  f.pg.execute("CREATE TABLE " + parent + " (ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts)");
  std::string sql;
  for (int day = 1; day <= 10; ++day) {
    char name[64], from[16], to[16];
    std::snprintf(name, sizeof name, "%s202401%02d", prefix.c_str(), day);
    std::snprintf(from, sizeof from, "2024-01-%02d", day);
    std::snprintf(to, sizeof to, "2024-01-%02d", day + 1);
    sql += "CREATE TABLE public.\"" + std::string(name) + "\" PARTITION OF " + parent +
           " FOR VALUES FROM ('" + from + "') TO ('" + to + "');";
  }
  sql += "CREATE TABLE public.\"" + prefix + "old\" PARTITION OF " + parent +
         " FOR VALUES FROM (MINVALUE) TO ('2024-01-01');";
  sql += "CREATE TABLE public.\"" + prefix + "default\" PARTITION OF " + parent + " DEFAULT;";
  sql += "INSERT INTO " + parent +
         " SELECT t, 1 FROM generate_series('2023-12-30'::timestamptz, '2024-01-15', '1 hour') t;";
  f.pg.execute(sql);
}

// `retentiond setup` done, and public.metrics as make_daily_partitions lays it out.
void setup_with_daily_metrics(CliFixture& f) {
  f.setup_with_sample_tables();
  f.pg.execute("DROP TABLE public.metrics");
  make_daily_partitions(f);
}

// CREATE TABLESPACE needs an empty directory owned by the server's OS user: one inside the
// server's own directory, given the same owner.
void create_tablespace(const CliFixture& f, const std::string& name) {
  const auto location = f.pg.directory() / name;
  std::filesystem::create_directory(location);
  struct stat owner {};
  REQUIRE(::stat(f.pg.directory().c_str(), &owner) == 0);
  REQUIRE(::chown(location.c_str(), owner.st_uid, owner.st_gid) == 0);
  f.pg.execute("CREATE TABLESPACE " + name + " LOCATION '" + location.string() + "'");
}

std::string partitions_of(const CliFixture& f, const std::string& parent = "public.metrics") {
  return f.pg.scalar(
      "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON "
      "c.oid = i.inhrelid WHERE i.inhparent = '" +
      parent + "'::regclass");
}

std::string jobs_summary(const CliFixture& f) {
  return f.pg.scalar(
      "SELECT coalesce(string_agg(action || ':' || coalesce(\"partition\", table_name) || ':' || status, "
      "',' ORDER BY id), '') FROM retention.jobs_log");
}

}  // namespace

TEST_CASE("run: a dry run prints exactly the expired partitions with their SQL and changes nothing") {
  CliFixture f;
  setup_with_daily_metrics(f);
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "5d"}).exit_code == 0);
  const auto before = partitions_of(f);
  const auto catalog_before = f.pg.scalar("SELECT count(*) FROM pg_class");

  auto result = f.rd({"run", "--once", "--dry-run", "--as-of", "2024-01-11", "-o", "json"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  auto report = json::parse(result.out);
  CHECK(report["dry_run"] == true);
  CHECK(report["cutoff"] == "2024-01-06T00:00:00Z");
  std::vector<std::string> planned;
  for (const auto& a : report["actions"]) {
    planned.push_back(a["partition"]);
    CHECK(a["status"] == "planned");
    CHECK(a["sql"] == "DROP TABLE \"public\".\"" + a["partition"].get<std::string>().substr(7) + "\"");
  }
  CHECK(planned == std::vector<std::string>{"public.metrics_p20240101", "public.metrics_p20240102",
                                            "public.metrics_p20240103", "public.metrics_p20240104",
                                            "public.metrics_p20240105"});
  // The default partition and the open range are never touched, and say so.
  std::string skipped = report["policies"][0]["skipped"].dump();
  CHECK(skipped.find("default partition") != std::string::npos);
  CHECK(skipped.find("unbounded range") != std::string::npos);

  auto text = f.rd({"run", "--once", "--dry-run", "--as-of", "2024-01-11"});
  CHECK(text.out.find("DROP TABLE \"public\".\"metrics_p20240105\"") != std::string::npos);
  // Not planned: listed among the skipped partitions only, with its reason.
  CHECK(text.out.find("DROP TABLE \"public\".\"metrics_p20240106\"") == std::string::npos);
  CHECK(text.out.find("public.metrics_p20240106  not expired") != std::string::npos);

  CHECK(partitions_of(f) == before);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class") == catalog_before);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log") == "0");
}

TEST_CASE("run: a live run drops exactly the expired partitions, a second run does nothing") {
  CliFixture f;
  setup_with_daily_metrics(f);
  REQUIRE(
      f.rd({"ttl", "public.metrics", "delete", "5d", "--option", "partitions_per_transaction=2"}).exit_code ==
      0);

  auto first = f.rd({"run", "--once", "--as-of", "2024-01-11"});
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  CHECK(partitions_of(f) ==
        "metrics_p20240106,metrics_p20240107,metrics_p20240108,metrics_p20240109,metrics_p20240110,"
        "metrics_pdefault,metrics_pold");
  CHECK(jobs_summary(f) ==
        "drop:public.metrics_p20240101:succeeded,drop:public.metrics_p20240102:succeeded,"
        "drop:public.metrics_p20240103:succeeded,drop:public.metrics_p20240104:succeeded,"
        "drop:public.metrics_p20240105:succeeded");
  CHECK(f.pg.scalar(
            "SELECT count(*) FROM retention.jobs_log WHERE finished_at IS NULL OR instance NOT LIKE '%:%'") ==
        "0");

  auto second = f.rd({"run", "--once", "--as-of", "2024-01-11", "-o", "json"});
  REQUIRE(second.exit_code == 0);
  CHECK(json::parse(second.out)["actions"].empty());
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log") == "5");

  auto jobs = f.rd({"jobs", "-o", "json", "--status", "succeeded", "--limit", "3"});
  REQUIRE(jobs.exit_code == 0);
  auto rows = json::parse(jobs.out);
  CHECK(rows.size() == 3);
  for (const char* key :
       {"id", "run_id", "policy_id", "strategy", "table_name", "partition", "action", "sql", "status",
        "rows_affected", "bytes", "started_at", "finished_at", "error", "instance"}) {
    CHECK_MESSAGE(rows[0].contains(key), key);
  }
}

TEST_CASE("run: expired partitions go partitions_per_transaction at a time, one DROP TABLE per transaction") {
  CliFixture f;
  setup_with_daily_metrics(f);
  // Every dropped table notes its transaction and the statement that dropped it.
  f.pg.execute(R"sql(
    CREATE TABLE public.drops (txid bigint, object text, query text);
    CREATE FUNCTION public.note_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO public.drops SELECT txid_current(), object_identity, current_query()
          FROM pg_event_trigger_dropped_objects() WHERE object_type = 'table';
      END $$;
    CREATE EVENT TRIGGER note_drop ON sql_drop EXECUTE FUNCTION public.note_drop();
  )sql");
  REQUIRE(
      f.rd({"ttl", "public.metrics", "delete", "5d", "--option", "partitions_per_transaction=2"}).exit_code ==
      0);

  // The plan shows the grouping: the same transaction number, the same statement.
  auto plan = f.rd({"run", "--once", "--dry-run", "--as-of", "2024-01-11", "-o", "json"});
  REQUIRE_MESSAGE(plan.exit_code == 0, plan.err);
  const auto planned = json::parse(plan.out);
  std::vector<int> numbers;
  for (const auto& a : planned["actions"]) numbers.push_back(a["transaction"].get<int>());
  CHECK((numbers == std::vector<int>{1, 1, 2, 2, 3}));
  auto compact = f.rd({"run", "--once", "--dry-run", "--as-of", "2024-01-11", "-o", "compact"});
  CHECK(compact.out.find("target=public.metrics_p20240103 status=planned transaction=2 sql=") !=
        std::string::npos);

  auto result = f.rd({"run", "--once", "--as-of", "2024-01-11"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(f.pg.scalar(
            "SELECT string_agg(objects, ' | ' ORDER BY objects) FROM (SELECT txid, string_agg(object, ',' "
            "ORDER BY object) AS objects FROM public.drops GROUP BY txid) t") ==
        "public.metrics_p20240101,public.metrics_p20240102 | "
        "public.metrics_p20240103,public.metrics_p20240104 | "
        "public.metrics_p20240105");
  CHECK(f.pg.scalar("SELECT string_agg(DISTINCT query, ' | ' ORDER BY query) FROM public.drops") ==
        R"(DROP TABLE "public"."metrics_p20240101", "public"."metrics_p20240102" | )"
        R"(DROP TABLE "public"."metrics_p20240103", "public"."metrics_p20240104" | )"
        R"(DROP TABLE "public"."metrics_p20240105")");
  // The audit keeps one row per partition, each with its own share of the statement.
  CHECK(f.pg.scalar(
            "SELECT string_agg(sql, ' | ' ORDER BY id) FROM retention.jobs_log WHERE status = 'succeeded'") ==
        R"(DROP TABLE "public"."metrics_p20240101" | DROP TABLE "public"."metrics_p20240102" | )"
        R"(DROP TABLE "public"."metrics_p20240103" | DROP TABLE "public"."metrics_p20240104" | )"
        R"(DROP TABLE "public"."metrics_p20240105")");
}

TEST_CASE("run: a failing drop group is redone a partition at a time and the audit names the one at fault") {
  CliFixture f;
  setup_with_daily_metrics(f);
  // A view on Jan 3 makes DROP TABLE of that partition fail (another object depends on it).
  f.pg.execute("CREATE VIEW public.jan3 AS SELECT * FROM public.metrics_p20240103");
  REQUIRE(
      f.rd({"ttl", "public.metrics", "delete", "5d", "--option", "partitions_per_transaction=2"}).exit_code ==
      0);

  auto result = f.rd({"run", "--once", "--as-of", "2024-01-11"});
  CHECK(result.exit_code == 1);
  CHECK(partitions_of(f) ==
        "metrics_p20240103,metrics_p20240104,metrics_p20240105,metrics_p20240106,metrics_p20240107,"
        "metrics_p20240108,metrics_p20240109,metrics_p20240110,metrics_pdefault,metrics_pold");
  CHECK(jobs_summary(f) ==
        "drop:public.metrics_p20240101:succeeded,drop:public.metrics_p20240102:succeeded,"
        "drop:public.metrics_p20240103:failed,drop:public.metrics_p20240104:skipped,"
        "drop:public.metrics_p20240105:skipped");
  const auto error = f.pg.scalar("SELECT error FROM retention.jobs_log WHERE status = 'failed'");
  CHECK(error == "cannot drop table metrics_p20240103 because other objects depend on it");
}

TEST_CASE(
    "run: a plain-table delete removes exactly the rows before the cutoff, at most batch_size per "
    "transaction") {
  CliFixture f;
  f.setup_with_sample_tables();
  // Every deleted row notes its transaction, so the batch bound can be checked afterwards.
  f.pg.execute(R"sql(
    CREATE TABLE public.deleted_by (txid bigint);
    CREATE FUNCTION public.note_txid() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN INSERT INTO public.deleted_by VALUES (txid_current()); RETURN OLD; END $$;
    CREATE TRIGGER note AFTER DELETE ON public.events FOR EACH ROW EXECUTE FUNCTION public.note_txid();
    INSERT INTO public.events (created_at, body)
      SELECT t, 'x' FROM generate_series('2024-01-01'::timestamptz, '2024-01-10', '1 minute') t;
  )sql");
  const auto expected = f.pg.scalar("SELECT count(*) FROM public.events WHERE created_at < '2024-01-06'");
  REQUIRE(
      f.rd({"ttl", "public.events:created_at", "delete", "5d", "--option", "batch_size=1000"}).exit_code ==
      0);

  auto result = f.rd({"run", "--once", "--as-of", "2024-01-11", "-o", "json"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(std::to_string(json::parse(result.out)["actions"][0]["rows"].get<long long>()) == expected);
  CHECK(f.pg.scalar("SELECT count(*) FROM public.events WHERE created_at < '2024-01-06'") == "0");
  CHECK(f.pg.scalar("SELECT min(created_at) = '2024-01-06' FROM public.events") == "t");
  CHECK(f.pg.scalar("SELECT count(*) FROM public.deleted_by") == expected);
  CHECK(f.pg.scalar("SELECT max(n) FROM (SELECT count(*) AS n FROM public.deleted_by GROUP BY txid) b") ==
        "1000");
  CHECK(f.pg.scalar("SELECT count(DISTINCT txid) FROM public.deleted_by") ==
        std::to_string((std::stoll(expected) + 999) / 1000));

  auto second = f.rd({"run", "--once", "--as-of", "2024-01-11", "-o", "json"});
  CHECK(json::parse(second.out)["actions"].empty());
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log") == "1");
}

TEST_CASE("run: reallocate moves expired partitions into the tablespace, a second run does nothing") {
  CliFixture f;
  setup_with_daily_metrics(f);
  create_tablespace(f, "cold");
  REQUIRE(f.rd({"ttl", "public.metrics", "reallocate:cold", "5d"}).exit_code == 0);

  auto first = f.rd({"run", "--once", "--as-of", "2024-01-11"});
  REQUIRE_MESSAGE(first.exit_code == 0, first.err);
  CHECK(
      f.pg.scalar("SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c JOIN pg_tablespace t "
                  "ON t.oid = c.reltablespace WHERE t.spcname = 'cold' AND c.relkind = 'r'") ==
      "metrics_p20240101,metrics_p20240102,metrics_p20240103,metrics_p20240104,metrics_p20240105");
  CHECK(f.pg.scalar("SELECT count(*) FROM public.metrics") == "385");

  auto second = f.rd({"run", "--once", "--as-of", "2024-01-11", "-o", "json"});
  REQUIRE(second.exit_code == 0);
  auto report = json::parse(second.out);
  CHECK(report["actions"].empty());
  CHECK(report["policies"][0]["skipped"].dump().find("already in tablespace cold") != std::string::npos);
}

TEST_CASE("run: a missing tablespace fails that policy, the others go on, and the run exits 1") {
  CliFixture f;
  setup_with_daily_metrics(f);
  // Adding refuses a missing tablespace: the row is as a tablespace dropped after the add leaves it.
  f.pg.execute(
      "INSERT INTO retention.policies (id, table_schema, table_name, strategy, ttl, target)"
      " VALUES ('a-realloc', 'public', 'metrics', 'reallocate', '5d', 'nowhere')");
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "7d", "--id", "b-delete"}).exit_code == 0);

  auto result = f.rd({"run", "--once", "--as-of", "2024-01-11"});
  CHECK(result.exit_code == 1);
  CHECK(result.out.find("tablespace \"nowhere\" does not exist") != std::string::npos);
  CHECK(f.pg.scalar("SELECT status || ':' || error FROM retention.jobs_log WHERE policy_id = 'a-realloc'") ==
        "failed:tablespace \"nowhere\" does not exist");
  CHECK(
      f.pg.scalar(
          "SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'b-delete' AND status = 'succeeded'") ==
      "3");
}

TEST_CASE("run: names with capitals, spaces and quotes in schema, table and partition work") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute(R"sql(
    CREATE SCHEMA "Sensor ""Data""";
    CREATE TABLE "Sensor ""Data"""."Readings Table" ("Taken At" timestamptz NOT NULL) PARTITION BY RANGE ("Taken At");
    CREATE TABLE "Sensor ""Data"""."Part ""One"" Jan" PARTITION OF "Sensor ""Data"""."Readings Table"
      FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
    CREATE TABLE "Sensor ""Data"""."Part Feb" PARTITION OF "Sensor ""Data"""."Readings Table"
      FOR VALUES FROM ('2024-02-01') TO ('2024-03-01');
    CREATE TABLE public."Events; DROP TABLE y" ("When" timestamp NOT NULL);
    INSERT INTO public."Events; DROP TABLE y" SELECT t FROM generate_series('2024-01-01'::timestamp, '2024-03-01', '1 day') t;
  )sql");
  REQUIRE(
      f.rd({"ttl", R"("Sensor ""Data"""."Readings Table")", "delete", "1mo", "--id", "readings"}).exit_code ==
      0);
  REQUIRE(
      f.rd({"ttl", R"(public."Events; DROP TABLE y":"When")", "delete", "1mo", "--id", "events"}).exit_code ==
      0);

  auto dry = f.rd({"run", "--once", "--dry-run", "--as-of", "2024-03-05"});
  REQUIRE_MESSAGE(dry.exit_code == 0, dry.err);
  CHECK(dry.out.find(R"(DROP TABLE "Sensor ""Data"""."Part ""One"" Jan")") != std::string::npos);

  auto live = f.rd({"run", "--once", "--as-of", "2024-03-05"});
  REQUIRE_MESSAGE(live.exit_code == 0, live.err);
  CHECK(f.pg.scalar(
            R"(SELECT string_agg(c.relname, ',') FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                       WHERE i.inhparent = '"Sensor ""Data"""."Readings Table"'::regclass)") == "Part Feb");
  CHECK(f.pg.scalar(R"(SELECT min("When")::date FROM public."Events; DROP TABLE y")") == "2024-02-05");
  CHECK(f.pg.scalar("SELECT count(*) FROM public.events") == "0");  // untouched bystander
}

TEST_CASE("run: bad run options are usage errors") {
  CliFixture f;
  f.setup_with_sample_tables();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"run", "--once", "--as-of", "yesterday"},
           {"run", "--once", "--policy", "nosuch"},
           {"run", "--once", "--tags", "bad tag"},
           {"jobs", "--status", "exploded"},
           {"jobs", "--since", "5 fortnights"},
           {"jobs", "--limit", "0"},
       }) {
    auto result = f.rd(args);
    CHECK(result.exit_code == 2);
    CHECK(retentiond::testing::is_one_line(result.err));
  }
}

TEST_CASE("run: policies sharing a table see the partitions an earlier policy of the run removed as gone") {
  CliFixture f;
  setup_with_daily_metrics(f);
  create_tablespace(f, "cold");
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "7d", "--id", "a-delete"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.metrics", "reallocate:cold", "3d", "--id", "b-cold"}).exit_code == 0);
  // Naming the partition key makes a catalog request of its own: Jan 1, its only expired
  // partition, is gone once a-delete has run.
  REQUIRE(f.rd({"ttl", "public.metrics:ts", "delete", "9d", "--id", "c-named"}).exit_code == 0);

  auto dry = f.rd({"run", "--once", "--dry-run", "--as-of", "2024-01-11", "-o", "json"});
  REQUIRE(dry.exit_code == 0);
  // Archive first: b-cold moves Jan 1-7, then a-delete drops Jan 1-3; Jan 1 is gone for c.
  CHECK(json::parse(dry.out)["actions"].size() == 10);

  auto live = f.rd({"run", "--once", "--as-of", "2024-01-11"});
  REQUIRE_MESSAGE(live.exit_code == 0, (live.out + live.err));
  CHECK(jobs_summary(f).find("failed") == std::string::npos);
  CHECK(
      f.pg.scalar("SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c JOIN pg_tablespace t "
                  "ON t.oid = c.reltablespace WHERE t.spcname = 'cold' AND c.relkind = 'r'") ==
      "metrics_p20240104,metrics_p20240105,metrics_p20240106,metrics_p20240107");
}

TEST_CASE(
    "run: detach, detach_concurrently and keep_table: expired partitions leave the table, dropped or kept") {
  for (const std::string option : {"detach=true", "detach_concurrently=true", "keep_table=true"}) {
    CAPTURE(option);
    CliFixture f;
    setup_with_daily_metrics(f);
    // PostgreSQL refuses DETACH ... CONCURRENTLY on a table with a default partition.
    f.pg.execute("DROP TABLE public.metrics_pdefault");
    REQUIRE(f.rd({"ttl", "public.metrics", "delete", "5d", "--id", "m", "--option", option}).exit_code == 0);
    const auto run = f.rd({"run", "--once", "--as-of", "2024-01-11"});
    CHECK_MESSAGE(run.exit_code == 0, run.err);
    CHECK(partitions_of(f) ==
          "metrics_p20240106,metrics_p20240107,metrics_p20240108,metrics_p20240109,"
          "metrics_p20240110,metrics_pold");
    const std::string kept = f.pg.scalar(
        "SELECT coalesce(string_agg(relname, ',' ORDER BY relname), '') FROM pg_class WHERE relname ~ "
        "'^metrics_p2024010[1-5]$'");
    if (option == "keep_table=true") {
      CHECK(kept ==
            "metrics_p20240101,metrics_p20240102,metrics_p20240103,metrics_p20240104,metrics_p20240105");
      CHECK(f.pg.scalar("SELECT count(*) FROM public.metrics_p20240101") == "24");
    } else {
      CHECK(kept.empty());
    }
    CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE status = 'succeeded'") == "5");
    const auto again = f.rd({"run", "--once", "--as-of", "2024-01-11"});
    CHECK(again.exit_code == 0);
    CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log") == "5");
  }
}

TEST_CASE(
    "run: rows left running by an ended process become abandoned, those of a live one stay, long host names "
    "too") {
  CliFixture f;
  f.setup_with_sample_tables();
  // A live instance on a host whose name is longer than an application_name can hold: the
  // server keeps its first 63 bytes.
  const std::string long_instance = "ip-172-31-22-33.eu-central-1.compute.internal.example:4242";
  pqxx::connection live(f.pg.conninfo() + " application_name='retentiond " + long_instance + "'");
  REQUIRE(pqxx::nontransaction(live)
              .exec("SELECT application_name FROM pg_stat_activity WHERE pid = "
                    "pg_backend_pid()")[0][0]
              .as<std::string>()
              .size() == 63);
  f.pg.execute(
      "INSERT INTO retention.jobs_log (run_id, policy_id, strategy, table_name, action, status, instance)"
      " VALUES ('r', 'p', 'delete', 'public.metrics', 'drop', 'running', '" +
      long_instance +
      "'),"
      "        ('r', 'p', 'delete', 'public.metrics', 'drop', 'running', 'gone-host:1')");
  const auto run = f.rd({"run", "--once"});
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  CHECK(
      f.pg.scalar("SELECT string_agg(instance || '=' || status, ',' ORDER BY id) FROM retention.jobs_log") ==
      long_instance + "=running,gone-host:1=abandoned");
}

TEST_CASE("run: a plain-table delete touches its own table's rows only, never an inheritance child's") {
  CliFixture f;
  f.setup_with_sample_tables();
  // Parent and child get rows at the same ctids: the parent's are expired, the child's are new.
  f.pg.execute(R"sql(
    CREATE TABLE public.events_2024 () INHERITS (public.events);
    INSERT INTO public.events (created_at, body) SELECT '2023-01-01'::timestamptz + g * interval '1 hour', 'old'
      FROM generate_series(1, 50) g;
    INSERT INTO public.events (created_at, body) VALUES ('2024-06-01', 'new');
    INSERT INTO public.events_2024 (created_at, body) SELECT '2024-06-01'::timestamptz + g * interval '1 hour', 'child'
      FROM generate_series(1, 60) g;
  )sql");
  REQUIRE(
      f.pg.scalar("SELECT count(*) FROM ONLY public.events e JOIN public.events_2024 c ON c.ctid = e.ctid") ==
      "51");
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--option", "batch_size=7"}).exit_code ==
          0);
  const auto run = f.rd({"run", "--once", "--as-of", "2024-01-01"});
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  CHECK(
      f.pg.scalar("SELECT string_agg(body || ':' || n, ',' ORDER BY body) FROM (SELECT body, count(*) n FROM "
                  "ONLY public.events GROUP BY body) t") == "new:1");
  CHECK(f.pg.scalar("SELECT count(*) FROM public.events_2024") == "60");
  CHECK(f.pg.scalar("SELECT rows_affected FROM retention.jobs_log WHERE status = 'succeeded'") == "50");
}

TEST_CASE("run: detach_concurrently on a table with a default partition fails the policy with the reason") {
  CliFixture f;
  setup_with_daily_metrics(f);
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "5d", "--id", "m", "--option", "detach_concurrently=true"})
              .exit_code == 0);
  const std::string before = partitions_of(f);
  const auto run = f.rd({"run", "--once", "--as-of", "2024-01-11"});
  CHECK(run.exit_code == 1);
  CHECK(partitions_of(f) == before);
  CHECK(f.pg.scalar("SELECT action || ':' || status || ':' || error FROM retention.jobs_log") ==
        "plan:failed:detach_concurrently is not possible on public.metrics: it has a default partition "
        "(public.metrics_pdefault), and PostgreSQL detaches concurrently only without one; use detach=true");
}

TEST_CASE("run: a plain table that cannot be read fails its own policy only") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute(R"sql(
    CREATE ROLE runner LOGIN;
    GRANT USAGE ON SCHEMA retention TO runner;
    GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA retention TO runner;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA retention TO runner;
    CREATE TABLE public.mine (created_at timestamptz NOT NULL);
    ALTER TABLE public.mine OWNER TO runner;
    INSERT INTO public.mine SELECT '2023-01-01'::timestamptz + g * interval '1 day' FROM generate_series(1, 10) g;
    INSERT INTO public.events (created_at, body) VALUES ('2023-01-01', 'old');
  )sql");
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "a-events"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.mine:created_at", "delete", "30d", "--id", "b-mine"}).exit_code == 0);
  const std::string as_runner = "host=" + f.pg.directory().string() + " port=" + std::to_string(f.pg.port()) +
                                " user=runner dbname=postgres";
  const auto run = retentiond::testing::run_retentiond(
      {"--database-url", as_runner, "run", "--once", "--as-of", "2024-01-01", "-o", "compact"});
  CHECK(run.exit_code == 1);
  CHECK(f.pg.scalar("SELECT count(*) FROM public.mine") == "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM public.events") == "1");
  CHECK(f.pg.scalar(
            "SELECT policy_id || ':' || action || ':' || status || ':' || error FROM retention.jobs_log "
            "WHERE status <> 'succeeded'") ==
        "a-events:plan:failed:cannot read public.events: permission denied for table events");
}

TEST_CASE("run: a foreign partition is left alone, a sub-partitioned one is dropped whole but never moved") {
  CliFixture f;
  f.setup_with_sample_tables();
  create_tablespace(f, "cold");
  f.pg.execute(R"sql(
    CREATE EXTENSION postgres_fdw;
    CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname 'nowhere');
    CREATE TABLE public.tiers (ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts);
    CREATE FOREIGN TABLE public.tiers_2023_11 PARTITION OF public.tiers
      FOR VALUES FROM ('2023-11-01') TO ('2023-12-01') SERVER elsewhere;
    CREATE TABLE public.tiers_2023_12 PARTITION OF public.tiers
      FOR VALUES FROM ('2023-12-01') TO ('2024-01-01') PARTITION BY RANGE (ts);
    CREATE TABLE public.tiers_20231201 PARTITION OF public.tiers_2023_12
      FOR VALUES FROM ('2023-12-01') TO ('2023-12-02');
    CREATE TABLE public.tiers_2024_01 PARTITION OF public.tiers FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
    INSERT INTO public.tiers VALUES ('2023-12-01 12:00', 1), ('2024-01-15', 2);
  )sql");
  REQUIRE(f.rd({"ttl", "public.tiers", "reallocate:cold", "1d", "--id", "a-cold"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.tiers", "delete", "10d", "--id", "b-delete"}).exit_code == 0);

  // As of Feb 5: Nov, Dec and Jan are expired for a-cold, Nov and Dec for b-delete.
  const auto dry = f.rd({"run", "--once", "--dry-run", "--as-of", "2024-02-05", "-o", "json"});
  REQUIRE_MESSAGE(dry.exit_code == 0, dry.err);
  const json report = json::parse(dry.out);
  std::map<std::string, std::string> skipped;
  for (const auto& policy : report["policies"]) {
    for (const auto& skip : policy["skipped"]) {
      skipped[policy["id"].get<std::string>() + " " + skip["partition"].get<std::string>()] =
          skip["reason"].get<std::string>();
    }
  }
  CHECK(skipped["a-cold public.tiers_2023_11"] == "foreign table: its rows live on another server");
  CHECK(skipped["a-cold public.tiers_2023_12"] ==
        "sub-partitioned: SET TABLESPACE would move none of its rows");
  CHECK(skipped["b-delete public.tiers_2023_11"] == "foreign table: its rows live on another server");

  const auto run = f.rd({"run", "--once", "--as-of", "2024-02-05"});
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  CHECK(jobs_summary(f) ==
        "set_tablespace:public.tiers_2024_01:succeeded,drop:public.tiers_2023_12:succeeded");
  CHECK(partitions_of(f, "public.tiers") == "tiers_2023_11,tiers_2024_01");
  CHECK(f.pg.scalar("SELECT to_regclass('public.tiers_20231201') IS NULL") == "t");
}

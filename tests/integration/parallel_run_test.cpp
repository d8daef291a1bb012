// run --once over several tables works on up to scheduler.max_concurrent_jobs of them at once,
// one session each, and keeps a partition tree in one session. Shown with locks: a policy that
// waits for a lock holds up its own session only.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include "support/cli_fixture.hpp"

using namespace std::chrono_literals;
using retentiond::testing::CliFixture;
using retentiond::testing::RunResult;
using Clock = std::chrono::steady_clock;

namespace {

// `parent` with five daily partitions 2024-01-01 .. 2024-01-05 and a row in each; with
// --as-of 2024-01-11 and ttl 5d all five are expired.
void make_expired_days(const CliFixture& f, const std::string& parent) {
  std::string sql =
      "CREATE TABLE public." + parent + " (ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts);";
  for (int day = 1; day <= 5; ++day) {
    const std::string d = std::to_string(day);
    sql += "CREATE TABLE public." + parent + "_p2024010" + d + " PARTITION OF public." + parent +
           " FOR VALUES FROM ('2024-01-0" + d + "') TO ('2024-01-0" + std::to_string(day + 1) + "');";
  }
  sql += "INSERT INTO public." + parent +
         " SELECT '2024-01-01'::timestamptz + g * interval '1 day', g"
         " FROM generate_series(0, 4) g;";
  f.pg.execute(sql);
}

// Tables public.a and public.b, five expired days each, a policy each (ids "a" and "b").
void two_tables_with_policies(CliFixture& f) {
  f.setup_with_sample_tables();
  make_expired_days(f, "a");
  make_expired_days(f, "b");
  REQUIRE(f.rd({"ttl", "public.a", "delete", "5d", "--id", "a"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.b", "delete", "5d", "--id", "b"}).exit_code == 0);
}

std::string succeeded(const CliFixture& f, const std::string& policy) {
  return f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = '" + policy +
                     "' AND status = 'succeeded'");
}

// Polls until `policy` has `want` succeeded rows or `limit` passes.
bool wait_for(const CliFixture& f, const std::string& policy, const std::string& want,
              Clock::duration limit) {
  const auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    if (succeeded(f, policy) == want) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// A reader that holds ACCESS SHARE on `table` until release(): a drop of it waits.
struct LockHolder {
  pqxx::connection connection;
  std::unique_ptr<pqxx::work> tx;
  LockHolder(const CliFixture& f, const std::string& table) : connection(f.pg.conninfo()) {
    tx = std::make_unique<pqxx::work>(connection);
    tx->exec("LOCK TABLE " + table + " IN ACCESS SHARE MODE");
  }
  void release() {
    tx->abort();
    tx.reset();
  }
};

std::future<RunResult> run_in_background(const CliFixture& f, const std::string& sessions) {
  return std::async(std::launch::async, [&f, sessions] {
    return f.rd({"run", "--once", "--as-of", "2024-01-11", "-o", "compact"},
                {{"RETENTIOND_DATABASE_LOCK_TIMEOUT", "60s"},
                 {"RETENTIOND_SCHEDULER_MAX_CONCURRENT_JOBS", sessions}});
  });
}

}  // namespace

TEST_CASE("parallel run: while one table waits for a lock, the next table is dropped in a second session") {
  CliFixture f;
  two_tables_with_policies(f);

  LockHolder reader(f, "public.a_p20240101");
  auto run = run_in_background(f, "2");
  // b's drops do not wait for a's: its five partitions go while a's oldest is still locked.
  CHECK(wait_for(f, "b", "5", 20s));
  CHECK(succeeded(f, "a") == "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.a'::regclass") == "5");
  reader.release();

  const RunResult result = run.get();
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK(succeeded(f, "a") == "5");
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent IN ('public.a'::regclass, "
                    "'public.b'::regclass)") == "0");
  // The report keeps policy order whatever order the sessions finished in.
  const auto first_b = result.out.find("policy=b ");
  const auto last_a = result.out.rfind("policy=a ");
  REQUIRE(first_b != std::string::npos);
  REQUIRE(last_a != std::string::npos);
  CHECK(last_a < first_b);
  // Both sessions' rows belong to the one run.
  CHECK(f.pg.scalar("SELECT count(DISTINCT run_id) FROM retention.jobs_log") == "1");
}

TEST_CASE("parallel run: with scheduler.max_concurrent_jobs 1 the tables go one after the other") {
  CliFixture f;
  two_tables_with_policies(f);

  LockHolder reader(f, "public.a_p20240101");
  auto run = run_in_background(f, "1");
  // One session: b waits behind a.
  CHECK_FALSE(wait_for(f, "b", "5", 3s));
  CHECK(succeeded(f, "b") == "0");
  reader.release();
  const RunResult result = run.get();
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK(succeeded(f, "a") == "5");
  CHECK(succeeded(f, "b") == "5");
}

TEST_CASE("parallel run: the policies of one partition tree share a session, other tables go on beside it") {
  CliFixture f;
  f.setup_with_sample_tables();
  // public.tree: December 2023 as a plain partition, January 2024 itself partitioned by day.
  // A policy on the root drops December; one on January drops its expired days. Both lock the
  // root, so they must not run in two sessions at once.
  f.pg.execute(R"sql(
    CREATE TABLE public.tree (ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts);
    CREATE TABLE public.tree_2023_12 PARTITION OF public.tree FOR VALUES FROM ('2023-12-01') TO ('2024-01-01');
    CREATE TABLE public.tree_2024_01 PARTITION OF public.tree FOR VALUES FROM ('2024-01-01') TO ('2024-02-01')
      PARTITION BY RANGE (ts);
    CREATE TABLE public.tree_20240101 PARTITION OF public.tree_2024_01 FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
    CREATE TABLE public.tree_20240102 PARTITION OF public.tree_2024_01 FOR VALUES FROM ('2024-01-02') TO ('2024-01-03');
    CREATE TABLE public.tree_20240120 PARTITION OF public.tree_2024_01 FOR VALUES FROM ('2024-01-20') TO ('2024-01-21');
    INSERT INTO public.tree VALUES ('2023-12-15', 1), ('2024-01-01', 2), ('2024-01-02', 3), ('2024-01-20', 4);
  )sql");
  make_expired_days(f, "z");
  REQUIRE(f.rd({"ttl", "public.tree", "delete", "5d", "--id", "t1-root"}).exit_code == 0);
  // `policy add` refuses a partition ("give the policy to its parent"), but a table that
  // had its policy before it was attached to a tree is one: as such a row would read.
  f.pg.execute(
      "INSERT INTO retention.policies (id, table_schema, table_name, strategy, ttl)"
      " VALUES ('t2-january', 'public', 'tree_2024_01', 'delete', '5d')");
  REQUIRE(f.rd({"ttl", "public.z", "delete", "5d", "--id", "z"}).exit_code == 0);

  LockHolder reader(f, "public.tree_2023_12");
  auto run = run_in_background(f, "2");
  // z is another tree: the second session takes it. January's days wait for the root's policy
  // in the first session, though a session would be free for them.
  CHECK(wait_for(f, "z", "5", 20s));
  std::this_thread::sleep_for(1s);
  CHECK(succeeded(f, "t2-january") == "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.tree_2024_01'::regclass") ==
        "3");
  reader.release();

  const RunResult result = run.get();
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK(succeeded(f, "t1-root") == "1");
  CHECK(succeeded(f, "t2-january") == "2");
  CHECK(
      f.pg.scalar("SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname LIKE 'tree%' "
                  "AND relkind IN ('r', 'p')") == "tree,tree_20240120,tree_2024_01");
}

TEST_CASE("parallel run: when the server refuses a second session the run goes on in one") {
  CliFixture f;
  two_tables_with_policies(f);
  // A role that may open one connection only, owning the tables and writing the audit.
  f.pg.execute(R"sql(
    CREATE ROLE single LOGIN CONNECTION LIMIT 1;
    GRANT USAGE ON SCHEMA retention TO single;
    GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA retention TO single;
    GRANT USAGE ON ALL SEQUENCES IN SCHEMA retention TO single;
    DO $$
    DECLARE r record;
    BEGIN
      FOR r IN SELECT c.oid::regclass AS t FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relname ~ '^[ab](_p|$)' AND c.relkind IN ('r', 'p')
      LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO single', r.t);
      END LOOP;
    END $$;
  )sql");
  const std::string as_single = "host=" + f.pg.directory().string() + " port=" + std::to_string(f.pg.port()) +
                                " user=single dbname=postgres";
  const auto result =
      retentiond::testing::run_retentiond({"--database-url", as_single, "--log-format", "json", "run",
                                           "--once", "--as-of", "2024-01-11", "-o", "compact"},
                                          {{"RETENTIOND_SCHEDULER_MAX_CONCURRENT_JOBS", "2"}});
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK(result.err.find("\"event\":\"run.fewer_sessions\"") != std::string::npos);
  CHECK(result.err.find("\"wanted\":2") != std::string::npos);
  CHECK(succeeded(f, "a") == "5");
  CHECK(succeeded(f, "b") == "5");
}

TEST_CASE("parallel run: when one session's connection is lost, what the other finished is still printed") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.add_slow_events();  // a batched delete of about 40 s
  make_expired_days(f, "b");
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "a-events", "--option",
                "batch_size=100"})
              .exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.b", "delete", "5d", "--id", "b-days"}).exit_code == 0);

  auto run = run_in_background(f, "2");
  // b's drops finish in the second session while a's delete is still going in the first; then
  // a's session is cut off (an administrator's pg_terminate_backend, a network failure).
  REQUIRE(wait_for(f, "b-days", "5", 20s));
  f.pg.execute(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'DELETE FROM ONLY "
      "\"public\".\"events\"%'");
  const RunResult result = run.get();
  CHECK(result.exit_code == 3);
  CHECK(result.err.find("lost the database connection") != std::string::npos);
  // b-days comes after a-events in the report: held, then printed when the run broke off.
  CHECK(result.out.find("policy=b-days action=drop target=public.b_p20240105 status=succeeded") !=
        std::string::npos);
}

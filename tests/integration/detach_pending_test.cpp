// DETACH ... CONCURRENTLY commits by itself, outside any transaction: the run's limits must
// reach it (max_runtime, the daemon's shutdown_timeout), and a detach they interrupt leaves the
// partition half detached (pg_inherits.inhdetachpending), which the next run finishes with
// DETACH ... FINALIZE instead of failing on it for ever.
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include "support/cli_fixture.hpp"

using namespace std::chrono_literals;
using retentiond::testing::CliFixture;
using Clock = std::chrono::steady_clock;

namespace {

// public.m: three expired daily partitions of January 2024 and one of the far future, no
// default partition (PostgreSQL detaches concurrently only without one).
void make_table(const CliFixture& f) {
  std::string sql = "CREATE TABLE public.m (ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts);";
  for (int day = 1; day <= 3; ++day) {
    sql += "CREATE TABLE public.m_" + std::to_string(day) + " PARTITION OF public.m FOR VALUES FROM ('2024-01-0" +
           std::to_string(day) + "') TO ('2024-01-0" + std::to_string(day + 1) + "');";
  }
  sql += "CREATE TABLE public.m_future PARTITION OF public.m FOR VALUES FROM ('2999-01-01') TO ('2999-01-02');";
  sql += "INSERT INTO public.m SELECT '2024-01-01'::timestamptz + g * interval '1 hour', g FROM generate_series(0, 71) g;";
  f.pg.execute(sql);
}

// A report reading the parent in an open transaction: DETACH ... CONCURRENTLY, past its first
// transaction, waits for it to end.
struct Reader {
  pqxx::connection connection;
  std::unique_ptr<pqxx::work> tx;
  explicit Reader(const CliFixture& f) : connection(f.pg.conninfo()) {
    tx = std::make_unique<pqxx::work>(connection);
    tx->exec("LOCK TABLE public.m IN ACCESS SHARE MODE");
  }
  void release() {
    tx->abort();
    tx.reset();
  }
};

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  for (const auto deadline = Clock::now() + timeout; Clock::now() < deadline;) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

std::string pending(const CliFixture& f) {
  return f.pg.scalar(
      "SELECT coalesce(string_agg(inhrelid::regclass::text, ',' ORDER BY inhrelid::regclass::text), '') FROM "
      "pg_inherits WHERE inhparent = 'public.m'::regclass AND inhdetachpending");
}

bool exists(const CliFixture& f, const std::string& table) {
  return f.pg.scalar("SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
}

std::string partitions(const CliFixture& f) {
  return f.pg.scalar(
      "SELECT string_agg(inhrelid::regclass::text, ',' ORDER BY inhrelid::regclass::text) FROM pg_inherits "
      "WHERE inhparent = 'public.m'::regclass");
}

}  // namespace

TEST_CASE(
    "detach pending: DETACH CONCURRENTLY stops at max_runtime + 2 s, and the next run finalizes the half-detached "
    "partition and drops it") {
  CliFixture f;
  f.setup_with_sample_tables();
  make_table(f);
  REQUIRE(f.rd({"ttl", "public.m", "delete", "5d", "--id", "m", "--schedule", "@every 1h", "--option",
                "detach_concurrently=true", "--option", "max_runtime=2s", "--option", "lock_timeout=60s"})
              .exit_code == 0);
  Reader reader(f);
  auto d = f.daemon();
  const bool finished = wait_until(
      [&] {
        return f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'm' AND status <> 'running'") !=
               "0";
      },
      30s);
  REQUIRE_MESSAGE(finished, d->err());
  const auto took = std::stod(f.pg.scalar(
      "SELECT extract(epoch FROM min(finished_at) - min(started_at)) FROM retention.jobs_log WHERE policy_id = "
      "'m'"));
  MESSAGE("the detach ended " << took << " s after it started");
  CHECK(took <= 2 + 2);
  CHECK(f.pg.scalar("SELECT status || ': ' || error FROM retention.jobs_log WHERE policy_id = 'm' ORDER BY id "
                    "LIMIT 1") == "failed: cancelled: the run reached max_runtime 2s; retried later");
  d->send_signal(SIGTERM);
  CHECK(d->wait(15s).exit_code == 0);
  CHECK(pending(f) == "m_1");
  reader.release();

  // Without FINALIZE every later concurrent detach of the table would fail ("already pending
  // detach"); the run finishes the pending one first, then detaches the others concurrently.
  const auto run = f.rd({"run", "--once", "--policy", "m", "-o", "compact"});
  CHECK_MESSAGE(run.exit_code == 0, (run.out + run.err));
  CHECK(pending(f) == "");
  CHECK(partitions(f) == "m_future");
  for (const char* gone : {"public.m_1", "public.m_2", "public.m_3"}) CHECK_FALSE(exists(f, gone));
  CHECK(f.pg.scalar("SELECT count(*) FROM public.m") == "0");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'm' AND status = 'succeeded' AND "
                    "sql LIKE '%DETACH PARTITION \"public\".\"m_1\" FINALIZE%'") == "1");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'm' AND status = 'succeeded' AND "
                    "sql LIKE '%CONCURRENTLY%'") == "2");
}

TEST_CASE(
    "detach pending: SIGTERM during DETACH CONCURRENTLY stops the daemon within shutdown_timeout + 2 s, and "
    "keep_table finalizes and keeps the table") {
  CliFixture f;
  f.setup_with_sample_tables();
  make_table(f);
  REQUIRE(f.rd({"ttl", "public.m", "delete", "5d", "--id", "m", "--schedule", "@every 1h", "--option",
                "detach_concurrently=true", "--option", "keep_table=true", "--option", "lock_timeout=60s"})
              .exit_code == 0);
  Reader reader(f);
  auto d = f.daemon({}, {{"RETENTIOND_SCHEDULER_SHUTDOWN_TIMEOUT", "1s"}});
  // The detach is past its first transaction, waiting for the reader.
  REQUIRE_MESSAGE(wait_until([&] { return pending(f) == "m_1"; }, 30s), d->err());
  const auto signalled = Clock::now();
  d->send_signal(SIGTERM);
  const auto result = d->wait(30s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - signalled).count();
  MESSAGE("the daemon exited " << took << " ms after SIGTERM");
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK(took <= 1000 + 2000);
  CHECK(f.pg.scalar("SELECT status || ': ' || error FROM retention.jobs_log WHERE policy_id = 'm' ORDER BY id "
                    "LIMIT 1") == "abandoned: cancelled at shutdown (scheduler.shutdown_timeout)");
  CHECK(pending(f) == "m_1");
  reader.release();

  const auto run = f.rd({"run", "--once", "--policy", "m", "-o", "compact"});
  CHECK_MESSAGE(run.exit_code == 0, (run.out + run.err));
  CHECK(pending(f) == "");
  CHECK(partitions(f) == "m_future");
  // Detached and kept: every row is still there, in tables of their own.
  CHECK(f.pg.scalar("SELECT (SELECT count(*) FROM public.m_1) + (SELECT count(*) FROM public.m_2) + (SELECT "
                    "count(*) FROM public.m_3)") == "72");
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_inherits WHERE inhrelid = 'public.m_1'::regclass") == "0");
}

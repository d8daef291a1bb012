// A snapshot's COPY streams on a session of its own: the run's limits (max_runtime, the daemon's
// shutdown_timeout) must reach it, and a cancelled snapshot keeps the partition and claims nothing.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "support/cli_fixture.hpp"
#include "support/snapshot_repository.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using retentiond::testing::CliFixture;
using retentiond::testing::Repository;
using Clock = std::chrono::steady_clock;

namespace {

bool exists(const CliFixture& f, const std::string& table) {
  return f.pg.scalar("SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
}

// A partition whose COPY takes many seconds: 3 million rows of about 170 bytes.
void make_big(const CliFixture& f) {
  f.pg.execute(R"sql(
    CREATE TABLE public.big (ts timestamptz NOT NULL, id bigint, payload text) PARTITION BY RANGE (ts);
    CREATE TABLE public.big_p20240101 PARTITION OF public.big FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
    CREATE TABLE public.big_p20991231 PARTITION OF public.big FOR VALUES FROM ('2099-12-31') TO ('2100-01-01');
    INSERT INTO public.big_p20240101 SELECT '2024-01-01'::timestamptz + (i % 86400) * interval '1 second', i,
      md5(i::text) || md5((i + 1)::text) || md5((i + 2)::text) || md5((i + 3)::text)
      FROM generate_series(1, 3000000) i;
  )sql");
}

// The COPY is under way: its temporary data file has grown past 1 MB.
bool copying(const Repository& repo) {
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(repo.path, ec)) {
    const auto name = entry.path().filename().string();
    if (name.find(".copy.zst.tmp-") != std::string::npos && fs::file_size(entry.path(), ec) > (1u << 20))
      return true;
  }
  return false;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  for (const auto deadline = Clock::now() + timeout; Clock::now() < deadline;) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

void check_nothing_claimed(const CliFixture& f, const Repository& repo) {
  CHECK(exists(f, "public.big_p20240101"));
  CHECK(f.pg.scalar("SELECT count(*) FROM public.big_p20240101") == "3000000");
  CHECK(repo.ending(".manifest.json").empty());
  CHECK(repo.ending(".copy.zst").empty());
}

}  // namespace

TEST_CASE(
    "snapshot safety: a snapshot's COPY stops at max_runtime + 2 s, fails, keeps the partition and claims no "
    "archive") {
  CliFixture f;
  f.setup_with_sample_tables();
  make_big(f);
  Repository repo;
  auto env = repo.env();
  env["RETENTIOND_SCHEDULER_SHUTDOWN_TIMEOUT"] = "1s";
  REQUIRE(f.rd({"ttl", "public.big", "snapshot:cold", "5d", "--id", "big", "--schedule", "@every 1h",
                "--option", "max_runtime=1s"},
               env)
              .exit_code == 0);
  // The COPY is cancelled by its own statement_timeout; the action fails and is retried later.
  auto d = f.daemon({}, env);
  REQUIRE_MESSAGE(d->wait_for_output("policy.starting policy=big", 15s), d->err());
  const bool finished = wait_until(
      [&] {
        return f.pg.scalar(
                   "SELECT count(*) FROM retention.jobs_log WHERE action = 'snapshot' AND status <> "
                   "'running'") != "0";
      },
      30s);
  REQUIRE_MESSAGE(finished, d->err());
  const auto took = std::stod(f.pg.scalar(
      "SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM retention.jobs_log WHERE "
      "action = 'snapshot'"));
  MESSAGE("the snapshot ended " << took << " s after it started");
  CHECK(took <= 1 + 2);
  CHECK(f.pg.scalar("SELECT status || ': ' || error FROM retention.jobs_log WHERE action = 'snapshot'") ==
        "failed: cancelled: the run reached max_runtime 1s; retried later");
  d->send_signal(SIGTERM);
  CHECK(d->wait(15s).exit_code == 0);
  check_nothing_claimed(f, repo);
}

TEST_CASE(
    "snapshot safety: SIGTERM during a snapshot's COPY stops the daemon within shutdown_timeout + 2 s, the "
    "partition kept and no archive claimed") {
  CliFixture f;
  f.setup_with_sample_tables();
  make_big(f);
  Repository repo;
  auto env = repo.env();
  env["RETENTIOND_SCHEDULER_SHUTDOWN_TIMEOUT"] = "1s";
  REQUIRE(f.rd({"ttl", "public.big", "snapshot:cold", "5d", "--id", "big", "--schedule", "@every 1h"}, env)
              .exit_code == 0);
  auto d = f.daemon({}, env);
  REQUIRE_MESSAGE(wait_until([&] { return copying(repo); }, 60s), d->err());
  const auto signalled = Clock::now();
  d->send_signal(SIGTERM);
  const auto result = d->wait(60s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - signalled).count();
  MESSAGE("the daemon exited " << took << " ms after SIGTERM");
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK(took <= 1000 + 2000);
  CHECK(f.pg.scalar("SELECT status || ': ' || error FROM retention.jobs_log WHERE action = 'snapshot'") ==
        "abandoned: cancelled at shutdown (scheduler.shutdown_timeout)");
  check_nothing_claimed(f, repo);
}

// Production safety against a real PostgreSQL: the audit tables do not grow for years, a
// policy's runs never queue up behind each other.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "support/cli_fixture.hpp"
#include "support/http_client.hpp"

using retentiond::testing::ChildProcess;
using retentiond::testing::CliFixture;
using retentiond::testing::spawn_retentiond;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<ChildProcess> daemon(const CliFixture& f,
                                     const std::map<std::string, std::string>& env = {}) {
  return f.daemon({}, env);
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

void stop_cleanly(ChildProcess& d) {
  d.send_signal(SIGTERM);
  const auto result = d.wait(15s);
  CHECK_MESSAGE(result.exit_code == 0, result.err);
}

// `count` jobs_log rows that started `age` ago, as many runs would have left them.
void add_jobs(const CliFixture& f, int count, const std::string& age,
              const std::string& status = "succeeded") {
  f.pg.execute(
      "INSERT INTO retention.jobs_log (run_id, policy_id, strategy, table_name, \"partition\", action, sql,"
      " status, started_at, finished_at, instance)"
      " SELECT 'r' || (g / 100), 'p' || (g % 7), 'delete', 'public.metrics', 'public.metrics_p' || g, 'drop',"
      " 'DROP TABLE x', '" +
      status + "', now() - interval '" + age + "' - g * interval '1 ms', now() - interval '" + age +
      "', 'host:1' FROM generate_series(1, " + std::to_string(count) + ") g");
}

}  // namespace

TEST_CASE(
    "safety: 100,000 jobs_log rows older than audit.keep are gone within 10 s of start, newer ones stay") {
  CliFixture f;
  f.setup_with_sample_tables();
  add_jobs(f, 100'000, "100 days");
  add_jobs(f, 500, "1 day");
  add_jobs(f, 3, "200 days", "running");  // a live run's rows are never pruned, however old
  f.pg.execute(
      "INSERT INTO retention.policy_events (at, action, policy_id, actor)"
      " SELECT now() - interval '100 days', 'create', 'p', 'someone' FROM generate_series(1, 2000);"
      "INSERT INTO retention.policy_events (action, policy_id, actor) VALUES ('create', 'q', 'someone')");

  const auto started = Clock::now();
  auto d = daemon(f, {{"RETENTIOND_AUDIT_KEEP", "30d"}});
  REQUIRE_MESSAGE(d->wait_for_output("audit.pruned", 10s), d->err());
  const auto took = Clock::now() - started;
  CHECK_MESSAGE(took < 10s, std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(d->err().find("audit.pruned jobs_log=100000 policy_events=2000") != std::string::npos);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE status <> 'running'") == "500");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE status = 'running'") == "3");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_events") == "1");
  // In bounded batches of 10,000: the server log has one DELETE per batch, 10 for the 100,000
  // jobs_log rows and 1 more that found fewer than a batch, and 1 for the policy events.
  const std::string log = f.pg.log_tail(1'000'000);
  std::size_t batches = 0;
  for (auto at = log.find("DELETE FROM \"retention\".jobs_log"); at != std::string::npos;
       at = log.find("DELETE FROM \"retention\".jobs_log", at + 1)) {
    ++batches;
  }
  CHECK(batches == 11);
  stop_cleanly(*d);
}

TEST_CASE("safety: jobs --limit 20 answers in under 200 ms over a million jobs_log rows, with each filter") {
  CliFixture f;
  f.setup_with_sample_tables();
  add_jobs(f, 1'000'000, "1 hour");
  add_jobs(f, 30, "10 minutes", "failed");
  f.pg.execute("ANALYZE retention.jobs_log");
  for (const std::vector<std::string>& filter :
       std::vector<std::vector<std::string>>{{},
                                             {"--policy", "p3"},
                                             {"--status", "failed"},
                                             {"--since", "30m"},
                                             {"--policy", "p1", "--since", "2h"}}) {
    std::vector<std::string> args{"jobs", "--limit", "20", "-o", "json"};
    args.insert(args.end(), filter.begin(), filter.end());
    f.rd(args);  // warm: the first run also pays for loading the binary and the catalog cache
    const auto began = Clock::now();
    const auto result = f.rd(args);
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began);
    REQUIRE_MESSAGE(result.exit_code == 0, result.err);
    CHECK(nlohmann::json::parse(result.out).size() == 20);
    MESSAGE("jobs --limit 20 " << (filter.empty() ? std::string("") : filter[0]) << ": " << took.count()
                               << " ms");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // A sanitized binary spends ~0.4 s starting up: the 200 ms are for the real build (checked
    // there); here only that nothing scans the million rows.
    CHECK_MESSAGE(took < 2000ms,
                  "jobs " << (filter.empty() ? std::string("") : filter[0]) << ": " << took.count() << " ms");
#else
    CHECK_MESSAGE(took < 200ms,
                  "jobs " << (filter.empty() ? std::string("") : filter[0]) << ": " << took.count() << " ms");
#endif
  }
}

TEST_CASE("safety: a drop that cannot get its lock gives up within lock_timeout, never blocks readers long") {
  CliFixture f;
  f.setup_with_sample_tables();
  std::string sql;
  for (int day = 2; day <= 5; ++day) {
    sql += "CREATE TABLE public.metrics_p2024010" + std::to_string(day) +
           " PARTITION OF public.metrics FOR VALUES FROM ('2024-01-0" + std::to_string(day) +
           "') TO ('2024-01-0" + std::to_string(day + 1) + "');";
  }
  f.pg.execute(sql +
               "INSERT INTO public.metrics SELECT '2024-01-01'::timestamptz + g * interval '1 hour', g"
               " FROM generate_series(0, 100) g");
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "1d", "--id", "m"}).exit_code == 0);

  // A long report reading one expired partition holds its lock for as long as it runs.
  pqxx::connection holder(f.pg.conninfo());
  auto holding = std::make_unique<pqxx::work>(holder);
  holding->exec("LOCK TABLE public.metrics_p20240103 IN ACCESS SHARE MODE");

  // Meanwhile the application keeps reading the parent: no query may wait long.
  std::atomic<bool> done{false};
  std::atomic<long long> longest_ms{0};
  std::thread reader([&] {
    pqxx::connection c(f.pg.conninfo());
    while (!done) {
      const auto began = Clock::now();
      pqxx::nontransaction(c).exec("SELECT count(*) FROM public.metrics");
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began).count();
      longest_ms = std::max(longest_ms.load(), static_cast<long long>(ms));
      std::this_thread::sleep_for(20ms);
    }
  });
  const auto began = Clock::now();
  const auto run = f.rd({"run", "--once", "-o", "json"}, {{"RETENTIOND_DATABASE_LOCK_TIMEOUT", "1s"}});
  const auto took = Clock::now() - began;
  done = true;
  reader.join();

  CHECK(run.exit_code == 1);
  CHECK_MESSAGE(took < 5s, std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK_MESSAGE(longest_ms < 2000, longest_ms << " ms");
  CHECK(f.pg.scalar("SELECT to_regclass('public.metrics_p20240103') IS NOT NULL") == "t");
  CHECK(f.pg.scalar("SELECT to_regclass('public.metrics_p20240102') IS NULL") ==
        "t");  // older ones went first
  CHECK(f.pg.scalar("SELECT error FROM retention.jobs_log WHERE status = 'failed'") ==
        "lock not available on public.metrics_p20240103 within lock_timeout 1000 ms; retried later");

  // The report ends: the next attempt drops what is left.
  holding->abort();
  holding.reset();
  const auto again = f.rd({"run", "--once"}, {{"RETENTIOND_DATABASE_LOCK_TIMEOUT", "1s"}});
  CHECK_MESSAGE(again.exit_code == 0, again.err);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.metrics'::regclass") == "0");
}

TEST_CASE(
    "safety: a policy failing on a missing tablespace is retried with growing gaps, then succeeds at once") {
  CliFixture f;
  f.setup_with_sample_tables();
  const auto location = f.pg.directory() / "cold";
  std::filesystem::create_directory(location);
  struct stat owner {};
  REQUIRE(::stat(f.pg.directory().c_str(), &owner) == 0);
  REQUIRE(::chown(location.c_str(), owner.st_uid, owner.st_gid) == 0);
  f.pg.execute("CREATE TABLESPACE cold LOCATION '" + location.string() + "'");
  REQUIRE(f.rd({"ttl", "public.metrics", "reallocate:cold", "1d", "--schedule", "@daily", "--id", "m"})
              .exit_code == 0);
  f.pg.execute("DROP TABLESPACE cold");  // gone after the policy was written

  auto d = daemon(f, {{"RETENTIOND_RETRY_INITIAL", "1s"}, {"RETENTIOND_RETRY_MAX", "4s"}});
  std::vector<Clock::time_point> starts;
  std::size_t seen = 0;
  const auto give_up = Clock::now() + 20s;
  while (starts.size() < 4 && Clock::now() < give_up) {
    const std::string log = d->err();
    for (auto at = log.find("policy.starting policy=m", seen); at != std::string::npos;
         at = log.find("policy.starting policy=m", at + 1)) {
      starts.push_back(Clock::now());
      seen = at + 1;
    }
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE_MESSAGE(starts.size() >= 4, d->err());
  const auto gap = [&](std::size_t i) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(starts[i + 1] - starts[i]).count();
  };
  // retry.initial 1s, doubling: about 1, 2, 4 s; a retry is never due before its time.
  CHECK_MESSAGE(gap(0) < gap(1), gap(0) << " " << gap(1));
  CHECK_MESSAGE(gap(1) < gap(2), gap(1) << " " << gap(2));
  CHECK(gap(2) >= 2500);
  CHECK(d->err().find("policy.retry_scheduled policy=m attempt=3") != std::string::npos);
  const auto status_run = f.rd({"status", "-o", "json", "--no-pending"});
  REQUIRE_MESSAGE(status_run.exit_code == 0, status_run.err);
  const auto status = nlohmann::json::parse(status_run.out);
  CHECK(status["policies"][0]["failures"].get<int>() >= 3);
  CHECK(status["policies"][0]["next_retry_at"].is_string());

  // The tablespace is back: the next retry (at most retry.max later) succeeds, long before the
  // daily slot.
  f.pg.execute("CREATE TABLESPACE cold LOCATION '" + location.string() + "'");
  REQUIRE_MESSAGE(d->wait_for_output("policy.finished policy=m status=succeeded", 8s), d->err());
  CHECK(f.pg.scalar("SELECT t.spcname FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace"
                    " WHERE c.relname = 'metrics_p20240101'") == "cold");
  std::this_thread::sleep_for(300ms);
  const auto after = nlohmann::json::parse(f.rd({"status", "-o", "json", "--no-pending"}).out);
  CHECK(after["policies"][0]["failures"] == 0);
  CHECK(after["policies"][0]["next_retry_at"].is_null());
  CHECK(after["policies"][0]["next_run_at"].get<std::string>().ends_with("T00:00:00Z"));
  stop_cleanly(*d);
}

TEST_CASE(
    "safety: on a streaming standby the daemon is not ready and changes nothing, after promotion it works") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "1d", "--id", "m"}).exit_code == 0);
  retentiond::testing::PgServer standby(retentiond::testing::PgServer::StandbyOf{f.pg});
  // The standby has replayed the policy (and the expired partition) from the primary.
  const auto replayed_by = Clock::now() + 10s;
  while (Clock::now() < replayed_by &&
         standby.scalar("SELECT count(*) FROM retention.policies WHERE id = 'm'") != "1") {
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE(standby.scalar("SELECT pg_is_in_recovery()") == "t");
  REQUIRE(standby.scalar("SELECT to_regclass('public.metrics_p20240101') IS NOT NULL") == "t");

  // run --once refuses at once, one line, exit 3; a dry run may look.
  const auto once = retentiond::testing::run_retentiond({"--database-url", standby.url(), "run", "--once"});
  CHECK(once.exit_code == 3);
  CHECK_MESSAGE(retentiond::testing::is_one_line(once.err), once.err);
  CHECK(once.err.find("hot standby") != std::string::npos);
  CHECK(retentiond::testing::run_retentiond({"--database-url", standby.url(), "run", "--once", "--dry-run"})
            .exit_code == 0);

  auto d = spawn_retentiond({"--database-url", standby.url(), "--log-format", "text", "run"},
                            {{"RETENTIOND_HTTP_LISTEN", "127.0.0.1:0"}});  // the standby, not f.pg
  REQUIRE_MESSAGE(d->wait_for_output("database.standby", 10s), d->err());
  const std::string log = d->err();
  const std::string address = retentiond::testing::listening_address(log);
  REQUIRE_MESSAGE(!address.empty(), log);
  std::this_thread::sleep_for(3s);  // two looks at the standby: still nothing
  const auto ready = retentiond::testing::http_get(address, "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("hot standby") != std::string::npos);
  CHECK(d->err().find("policy.starting") == std::string::npos);
  CHECK(d->err().find("leader.acquired") == std::string::npos);
  CHECK(occurrences(d->err(), "database.standby") == 1);  // logged once, not every look

  const auto promoted_at = Clock::now();
  standby.promote();
  REQUIRE_MESSAGE(d->wait_for_output("policy.finished policy=m status=succeeded", 15s), d->err());
  const auto took = Clock::now() - promoted_at;
  CHECK_MESSAGE(took < 15s, std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(standby.scalar("SELECT to_regclass('public.metrics_p20240101') IS NULL") == "t");
  CHECK(retentiond::testing::http_get(address, "/readyz").status == 200);
  d->send_signal(SIGTERM);
  CHECK(d->wait(15s).exit_code == 0);
}

TEST_CASE(
    "safety: a run past its policy's max_runtime is stopped, recorded failed with the reason, and retried") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.add_slow_events();  // 200 batches of 100 rows, 0.2 s each
  REQUIRE(f.rd({"ttl", "public.events", "delete", "30d", "--partition-column", "created_at", "--option",
                "batch_size=100", "--option", "max_runtime=2s", "--schedule", "0 0 1 1 *", "--id", "events"})
              .exit_code == 0);
  // A yearly slot: the retry (in 10 minutes at most) comes first, whatever the time of day.
  auto d = daemon(f, {{"RETENTIOND_RETRY_INITIAL", "10m"}, {"RETENTIOND_RETRY_MAX", "1h"}});
  REQUIRE_MESSAGE(d->wait_for_output("policy.starting policy=events", 10s), d->err());
  const auto started = Clock::now();
  REQUIRE_MESSAGE(d->wait_for_output("policy.finished policy=events status=failed", 10s), d->err());
  const auto took = Clock::now() - started;
  CHECK_MESSAGE(took < 4s, std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK_MESSAGE(d->wait_for_output("policy.retry_scheduled policy=events attempt=1", 3s), d->err());
  const auto row =
      f.pg.query("SELECT status, error, rows_affected FROM retention.jobs_log WHERE policy_id = 'events'");
  REQUIRE(row.size() == 1);
  CHECK(row[0][0] == "failed");
  CHECK_MESSAGE(row[0][1]->find("max_runtime 2s") != std::string::npos, *row[0][1]);
  // Committed batches stay deleted (the count says how many), the batch in flight rolled back.
  const auto deleted = std::stoll(row[0][2].value_or("0"));
  CHECK(deleted > 0);
  CHECK(std::stoll(f.pg.scalar("SELECT count(*) FROM public.events")) == 20000 - deleted);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE status = 'running'") == "0");
  stop_cleanly(*d);
}

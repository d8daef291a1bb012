#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/cli_fixture.hpp"
#include "support/http_client.hpp"
#include "support/run.hpp"

using retentiond::testing::CliFixture;
using retentiond::testing::http_get;
using retentiond::testing::listening_address;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Daily partitions of public.metrics from 2024-01-01 to 2024-01-05, all long expired.
void make_partitions(const CliFixture& f) {
  f.pg.execute(R"sql(
    DO $$ BEGIN FOR d IN 2..5 LOOP
      EXECUTE format('CREATE TABLE public.metrics_p2024010%s PARTITION OF public.metrics
                      FOR VALUES FROM (%L) TO (%L)', d, '2024-01-0' || d, '2024-01-0' || (d + 1));
    END LOOP; END $$;
  )sql");
}

const json& policy_in(const json& status, const std::string& id) {
  for (const auto& policy : status["policies"]) {
    if (policy["id"] == id) return policy;
  }
  FAIL("no policy " << id << " in " << status.dump());
  static const json none;
  return none;
}

}  // namespace

TEST_CASE("run state: run --once records each policy's last run, so status and the daemon's metrics show it") {
  CliFixture f;
  f.setup_with_sample_tables();
  make_partitions(f);
  // A yearly schedule: the daemon started below must not run the policy itself.
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "1d", "--id", "m", "--schedule", "0 0 1 1 *"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.events:created_at", "reallocate:nosuch", "1d", "--id", "r"}).exit_code != 0);
  f.pg.execute("INSERT INTO retention.policies (id, table_schema, table_name, strategy, ttl, target) VALUES"
               " ('t', 'public', 'metrics', 'reallocate', '1d', 'gone_space')");

  // A dry run writes nothing, not even the state (it exits 1: t cannot be planned).
  REQUIRE(f.rd({"run", "--once", "--dry-run"}).exit_code == 1);
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_state") == "0");

  const auto run = f.rd({"run", "--once"});
  CHECK(run.exit_code == 1);  // t's tablespace does not exist
  const auto status = json::parse(f.rd({"status", "-o", "json"}).out);
  const auto& m = policy_in(status, "m");
  CHECK(m["last_status"] == "succeeded");
  CHECK(m["last_started_at"].is_string());
  CHECK(m["last_finished_at"].is_string());
  CHECK(m["last_succeeded_at"].is_string());
  const auto& t = policy_in(status, "t");
  CHECK(t["last_status"] == "failed");
  CHECK(t["last_error"].get<std::string>().find("gone_space") != std::string::npos);
  CHECK(t["last_succeeded_at"].is_null());
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class WHERE relname LIKE 'metrics_p2024010%'") == "0");

  // A daemon that starts afterwards reads it back into its gauge.
  auto daemon = f.daemon();
  REQUIRE_MESSAGE(daemon->wait_for_output("daemon.ready", 10s), daemon->err());
  const std::string log = daemon->err();
  const std::string address = listening_address(log);
  REQUIRE_MESSAGE(!address.empty(), log);
  const auto until = std::chrono::steady_clock::now() + 10s;
  std::optional<double> success;
  static const std::regex gauge(R"re(retentiond_last_success_timestamp_seconds\{policy="m"\} ([0-9.e+]+))re");
  while (!success && std::chrono::steady_clock::now() < until) {
    const auto metrics = http_get(address, "/metrics").body;
    std::smatch value;
    if (std::regex_search(metrics, value, gauge) && std::stod(value[1]) > 0) success = std::stod(value[1]);
    if (!success) std::this_thread::sleep_for(200ms);
  }
  REQUIRE(success);
  const double now = std::stod(f.pg.scalar("SELECT extract(epoch FROM now())"));
  CHECK(*success <= now + 1);
  CHECK(*success > now - 120);
  daemon->send_signal(SIGTERM);
  CHECK(daemon->wait(15s).exit_code == 0);
}

TEST_CASE("run state: run --once leaves a table alone while another session holds its lock, and goes on with the others") {
  CliFixture f;
  f.setup_with_sample_tables();
  make_partitions(f);
  f.pg.execute(R"sql(
    CREATE TABLE public.other (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
    CREATE TABLE public.other_p20240101 PARTITION OF public.other FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
  )sql");
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "1d", "--id", "m"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.other", "delete", "1d", "--id", "o"}).exit_code == 0);

  // What a daemon's worker holds while it works on public.metrics: the same key.
  auto holder = std::make_unique<retentiond::testing::ChildProcess>(std::vector<std::string>{"/usr/bin/psql", "-X", "-q", "-d", f.pg.url(), "-c",
       "SELECT pg_advisory_lock(hashtext('retentiond retention'), hashtext('public.metrics')); SELECT 'held';",
       "-c", "SELECT pg_sleep(60)"});
  REQUIRE(holder->wait_for_output("held", 10s));

  const auto blocked = f.rd({"-o", "json", "run", "--once"});
  CHECK(blocked.exit_code == 1);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class WHERE relname LIKE 'metrics_p2024010%'") == "5");
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class WHERE relname = 'other_p20240101'") == "0");
  CHECK(f.pg.scalar("SELECT error FROM retention.jobs_log WHERE policy_id = 'm'").find("another retentiond session") !=
        std::string::npos);

  // A backend in pg_sleep does not notice its client going away: end it, and the lock with it.
  f.pg.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'");
  holder.reset();
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (f.pg.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") != "0" &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(100ms);
  }
  CHECK(f.rd({"run", "--once"}).exit_code == 0);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class WHERE relname LIKE 'metrics_p2024010%'") == "0");
}

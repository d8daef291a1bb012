#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "retentiond/db/migrations.hpp"
#include "support/cli_fixture.hpp"

using retentiond::testing::ChildProcess;
using retentiond::testing::CliFixture;
using retentiond::testing::spawn_retentiond;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::unique_ptr<ChildProcess> daemon(const CliFixture& f, std::vector<std::string> args = {},
                                     const std::map<std::string, std::string>& env = {}) {
  return f.daemon(args, env);
}

// A table partitioned by the second: partition k covers [now + k - 1 s, now + k s), so with a
// ttl of 1s it expires (upper bound <= now - 1 s) at now + k + 1 s.
std::map<std::string, Clock::time_point> second_partitions(const CliFixture& f, int count) {
  f.pg.execute("CREATE TABLE public.ticks (ts timestamptz NOT NULL) PARTITION BY RANGE (ts)");
  const auto base = f.pg.scalar("SELECT floor(extract(epoch FROM now()))::bigint");
  const auto start = Clock::now();
  std::map<std::string, Clock::time_point> expires;
  std::string sql;
  for (int k = 1; k <= count; ++k) {
    const std::string name = "ticks_" + std::to_string(k);
    sql += "CREATE TABLE public." + name + " PARTITION OF public.ticks FOR VALUES FROM (to_timestamp(" +
           base + " + " + std::to_string(k - 1) + ")) TO (to_timestamp(" + base + " + " + std::to_string(k) +
           "));";
    expires[name] = start + std::chrono::seconds(k + 1);
  }
  f.pg.execute(sql);
  return expires;
}

// SIGTERM, then the exit status must be 0; the daemon's log when it is not.
void stop_cleanly(ChildProcess& d) {
  d.send_signal(SIGTERM);
  const auto result = d.wait(std::chrono::seconds(15));
  CHECK_MESSAGE(result.exit_code == 0, result.err);
}

std::set<std::string> partitions(const CliFixture& f, const std::string& parent) {
  std::set<std::string> out;
  const auto list = f.pg.scalar(
      "SELECT coalesce(string_agg(c.relname, ','), '') FROM pg_inherits i JOIN pg_class c"
      " ON c.oid = i.inhrelid WHERE i.inhparent = '" +
      parent + "'::regclass");
  std::size_t at = 0;
  while (at < list.size()) {
    const auto comma = list.find(',', at);
    out.insert(list.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

}  // namespace

TEST_CASE(
    "daemon: a policy @every 2s drops each partition within 3 s of its expiry and policy edits apply within "
    "1 s") {
  CliFixture f;
  f.setup_with_sample_tables();
  auto expires = second_partitions(f, 6);
  REQUIRE(
      f.rd({"ttl", "public.ticks", "delete", "1s", "--schedule", "@every 2s", "--id", "ticks"}).exit_code ==
      0);
  auto d = daemon(f);
  REQUIRE_MESSAGE(d->wait_for_output("daemon.ready", 10s), d->err());

  std::map<std::string, Clock::time_point> dropped;
  const auto give_up = Clock::now() + 15s;
  while (dropped.size() < expires.size() && Clock::now() < give_up) {
    const auto left = partitions(f, "public.ticks");
    const auto seen = Clock::now();
    for (const auto& [name, when] : expires) {
      if (!left.contains(name) && !dropped.contains(name)) dropped[name] = seen;
    }
    std::this_thread::sleep_for(100ms);
  }
  REQUIRE_MESSAGE(dropped.size() == expires.size(), d->err());
  long long latest = 0;
  for (const auto& [name, when] : dropped) {
    const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(when - expires[name]).count();
    latest = std::max(latest, static_cast<long long>(late));
    CHECK_MESSAGE(late <= 3000, name << " dropped " << late << " ms after it expired");
    CHECK_MESSAGE(late >= -1000, name << " dropped " << -late << " ms before it expired");
  }
  MESSAGE("latest drop " << latest << " ms after expiry");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE status = 'succeeded'") == "6");
  CHECK(f.pg.scalar("SELECT last_status FROM retention.policy_state WHERE policy_id = 'ticks'") ==
        "succeeded");

  // A change reaches the daemon by NOTIFY: no restart, no waiting for the poll interval.
  const auto before = d->err().size();
  const auto edited = Clock::now();
  REQUIRE(f.rd({"policy", "edit", "ticks", "--schedule", "@every 1h"}).exit_code == 0);
  bool seen = false;
  while (!seen && Clock::now() - edited < 3s) {
    seen = d->err().find("policies.reloaded reason=change", before) != std::string::npos;
    if (!seen) std::this_thread::sleep_for(20ms);
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - edited).count();
  CHECK_MESSAGE(seen, d->err());
  MESSAGE("the edit reached the daemon after " << took << " ms");
  CHECK_MESSAGE(took <= 1000, "the edit took " << took << " ms to reach the daemon");

  d->send_signal(SIGTERM);
  const auto result = d->wait(10s);
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK(result.err.find("daemon.stopped") != std::string::npos);
}

TEST_CASE(
    "daemon: SIGTERM during a long plain-table delete stops after the batch in flight, exit 0, nothing left "
    "running") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.add_slow_events();  // 200 batches of 100 rows, 0.2 s each
  REQUIRE(f.rd({"ttl", "public.events", "delete", "30d", "--partition-column", "created_at", "--option",
                "batch_size=100", "--id", "events"})
              .exit_code == 0);
  auto d = daemon(f);
  REQUIRE_MESSAGE(d->wait_for_output("job.progress", 15s), d->err());
  const auto signalled = Clock::now();
  d->send_signal(SIGTERM);
  const auto result = d->wait(35s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - signalled).count();
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK_MESSAGE(took <= 30000 + 2000, took);  // shutdown_timeout (30 s) + 2 s
  CHECK_MESSAGE(took <= 2000, "a batch takes 0.2 s: the daemon should stop after it, took " << took << " ms");
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE status = 'running'") == "0");
  CHECK(f.pg.scalar("SELECT status FROM retention.jobs_log WHERE policy_id = 'events'") == "abandoned");
  const auto deleted =
      std::stoll(f.pg.scalar("SELECT rows_affected FROM retention.jobs_log WHERE policy_id = 'events'"));
  CHECK(deleted > 0);
  CHECK(std::stoll(f.pg.scalar("SELECT count(*) FROM public.events")) == 20000 - deleted);
}

TEST_CASE("daemon: past shutdown_timeout the running statement is cancelled and recorded abandoned, exit 0") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute(R"sql(
    INSERT INTO public.events (created_at, body) VALUES ('2023-01-01', 'x');
    CREATE FUNCTION public.stuck() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
    CREATE TRIGGER stuck AFTER DELETE ON public.events FOR EACH STATEMENT EXECUTE FUNCTION public.stuck();
  )sql");
  REQUIRE(
      f.rd({"ttl", "public.events", "delete", "30d", "--partition-column", "created_at", "--id", "events"})
          .exit_code == 0);
  auto d = daemon(f, {}, {{"RETENTIOND_SCHEDULER_SHUTDOWN_TIMEOUT", "1s"}});
  REQUIRE_MESSAGE(d->wait_for_output("policy.starting policy=events", 15s), d->err());
  std::this_thread::sleep_for(500ms);  // the DELETE is now sleeping in its trigger
  const auto signalled = Clock::now();
  d->send_signal(SIGTERM);
  const auto result = d->wait(20s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - signalled).count();
  CHECK_MESSAGE(result.exit_code == 0, result.err);
  CHECK_MESSAGE(took <= 1000 + 2000, took);
  CHECK(f.pg.scalar("SELECT status || ': ' || error FROM retention.jobs_log WHERE policy_id = 'events'") ==
        "abandoned: cancelled at shutdown (scheduler.shutdown_timeout)");
  CHECK(f.pg.scalar("SELECT count(*) FROM public.events") == "1");  // the cancelled batch rolled back
}

TEST_CASE("daemon: SIGHUP re-reads the config file, applies the log level, and survives a bad file") {
  CliFixture f;
  f.setup_with_sample_tables();
  const auto config = f.pg.directory() / "retentiond.yaml";
  std::ofstream(config) << "log:\n  level: info\n";
  auto d = daemon(f, {"-c", config.string()});
  REQUIRE_MESSAGE(d->wait_for_output("daemon.ready", 10s), d->err());
  CHECK(d->err().find("debug") == std::string::npos);

  std::ofstream(config) << "log:\n  level: debug\n";
  d->send_signal(SIGHUP);
  REQUIRE_MESSAGE(d->wait_for_output("config.reloaded changed=[log.level=debug]", 5s), d->err());
  // Debug lines now appear: the lease is renewed and policies are polled in debug.
  f.rd({"ttl", "public.metrics", "delete", "30d"});
  CHECK_MESSAGE(d->wait_for_output("policies.reloaded reason=change", 5s), d->err());

  std::ofstream(config) << "log:\n  level: chatty\n";
  d->send_signal(SIGHUP);
  CHECK_MESSAGE(d->wait_for_output("config.reload_failed", 5s), d->err());
  CHECK(d->running());

  stop_cleanly(*d);
}

namespace {

// The CPU time of a process, in seconds, and its resident set in kB, from /proc. CPU time is
// the sum of its threads' time on a CPU in nanoseconds (schedstat): utime + stime come in
// 10 ms ticks charged to whichever thread runs when the tick fires, too coarse for a limit of
// 20 ms in 12 s (two ticks on a busy machine failed a daemon that had done nothing).
std::pair<double, long> cpu_and_rss(pid_t pid) {
  const std::filesystem::path proc = "/proc/" + std::to_string(pid);
  double cpu = 0;
  bool exact = false;
  for (const auto& task : std::filesystem::directory_iterator(proc / "task")) {
    std::ifstream schedstat(task.path() / "schedstat");
    long long on_cpu_ns = 0;
    if (schedstat >> on_cpu_ns) {
      cpu += static_cast<double>(on_cpu_ns) / 1e9;
      exact = true;
    }
  }
  if (!exact) {  // a kernel without schedstat: the ticks, fields 14 and 15 of stat
    std::ifstream stat(proc / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "(comm) "
    std::vector<std::string> f;
    for (std::string field; fields >> field;) f.push_back(field);
    cpu = (std::stod(f.at(11)) + std::stod(f.at(12))) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status(proc / "status");
  long rss = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) rss = std::stol(line.substr(6));
  }
  return {cpu, rss};
}

}  // namespace

TEST_CASE("daemon: an idle daemon uses under 0.1 s of CPU per minute and under 20 MB of memory") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "30d", "--schedule", "@hourly"}).exit_code == 0);
  auto d = daemon(f);
  REQUIRE_MESSAGE(d->wait_for_output("policy.finished", 15s), d->err());  // the start-up run
  std::this_thread::sleep_for(1s);
  const auto [cpu_before, rss_before] = cpu_and_rss(d->pid());
  std::this_thread::sleep_for(12s);
  const auto [cpu_after, rss_after] = cpu_and_rss(d->pid());
  const double per_minute = (cpu_after - cpu_before) * 60.0 / 12.0;
  MESSAGE("idle CPU " << per_minute << " s per minute, RSS " << rss_after << " kB");
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // Sanitizers multiply memory and CPU: the limits are for the real build (checked there).
  MESSAGE("sanitizer build: limits not checked");
#else
  CHECK_MESSAGE(per_minute < 0.1, per_minute);
  CHECK_MESSAGE(rss_after < 20 * 1024, rss_after);
#endif
  stop_cleanly(*d);
}

namespace {

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

}  // namespace

TEST_CASE(
    "daemon: two daemons drop every partition exactly once, and after kill -9 of the leader the other "
    "leads") {
  CliFixture f;
  f.setup_with_sample_tables();
  auto expires = second_partitions(f, 40);
  REQUIRE(
      f.rd({"ttl", "public.ticks", "delete", "1s", "--schedule", "@every 1s", "--id", "ticks"}).exit_code ==
      0);
  const std::map<std::string, std::string> env{{"RETENTIOND_HA_LEASE_TTL", "3s"}};
  auto a = daemon(f, {}, env);
  auto b = daemon(f, {}, env);
  REQUIRE_MESSAGE(a->wait_for_output("daemon.ready", 10s), a->err());
  REQUIRE_MESSAGE(b->wait_for_output("daemon.ready", 10s), b->err());
  const auto started = Clock::now();
  // Exactly one leads.
  const auto give_up = Clock::now() + 10s;
  while (!a->wait_for_output("leader.acquired", 0ms) && !b->wait_for_output("leader.acquired", 0ms) &&
         Clock::now() < give_up) {
    std::this_thread::sleep_for(50ms);
  }
  const bool a_leads = a->wait_for_output("leader.acquired", 0ms);
  REQUIRE((a_leads || b->wait_for_output("leader.acquired", 0ms)));
  auto& leader = a_leads ? a : b;
  auto& follower = a_leads ? b : a;
  CHECK_FALSE(follower->wait_for_output("leader.acquired", 0ms));

  std::this_thread::sleep_for(12s);
  CHECK(occurrences(follower->err(), "policy.starting") == 0);  // followers stay idle
  const auto killed = Clock::now();
  leader->send_signal(SIGKILL);
  REQUIRE_MESSAGE(follower->wait_for_output("leader.acquired", 8s), follower->err());
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed).count();
  MESSAGE("the follower took over " << took << " ms after kill -9 of the leader (lease_ttl 3 s)");
  CHECK_MESSAGE(took <= 3000 + 2000, "the follower took over after " << took << " ms");

  // Carries on: until 30 s in, every partition that expired meanwhile goes. Stopped before
  // counting, so that the catalog and jobs_log are read in one quiet state.
  std::this_thread::sleep_for(30s - (Clock::now() - started));
  const auto stopped = Clock::now();
  stop_cleanly(*follower);
  const auto left = partitions(f, "public.ticks");
  for (const auto& [name, when] : expires) {
    if (when + 3s < stopped) CHECK_MESSAGE(!left.contains(name), name << " is still there");
  }
  // Exactly once: no partition has two succeeded drops, whichever daemon did them.
  CHECK(f.pg.scalar(
            "SELECT count(*) FROM (SELECT \"partition\" FROM retention.jobs_log WHERE status = 'succeeded'"
            " GROUP BY 1 HAVING count(*) > 1) d") == "0");
  CHECK(f.pg.scalar(
            "SELECT count(DISTINCT \"partition\") FROM retention.jobs_log WHERE status = 'succeeded'") ==
        std::to_string(expires.size() - left.size()));
  CHECK(f.pg.scalar("SELECT count(DISTINCT instance) FROM retention.jobs_log WHERE status = 'succeeded'") ==
        "2");
}

TEST_CASE(
    "daemon: PostgreSQL stopped for 15 s: the daemon stays up, logs the outage once, and its next run "
    "succeeds") {
  CliFixture f;
  f.setup_with_sample_tables();
  auto expires = second_partitions(f, 40);
  REQUIRE(
      f.rd({"ttl", "public.ticks", "delete", "1s", "--schedule", "@every 2s", "--id", "ticks"}).exit_code ==
      0);
  auto d = daemon(f);
  REQUIRE_MESSAGE(d->wait_for_output("policy.finished policy=ticks status=succeeded", 10s), d->err());

  f.pg.stop();
  REQUIRE_MESSAGE(d->wait_for_output("database.unreachable", 5s), d->err());
  std::this_thread::sleep_for(15s);
  CHECK(d->running());
  f.pg.start();
  REQUIRE_MESSAGE(d->wait_for_output("database.reconnected", 35s), d->err());
  CHECK(occurrences(d->err(), "database.unreachable") == 1);

  const auto back = d->err().size();
  bool succeeded = false;
  const auto give_up = Clock::now() + 10s;
  while (!succeeded && Clock::now() < give_up) {
    succeeded = d->err().find("policy.finished policy=ticks status=succeeded", back) != std::string::npos;
    if (!succeeded) std::this_thread::sleep_for(100ms);
  }
  CHECK_MESSAGE(succeeded, d->err());
  // What expired during the outage is gone now too, and nothing is left running.
  const auto left = partitions(f, "public.ticks");
  for (const auto& [name, when] : expires) {
    if (when + 3s < Clock::now() - 3s) CHECK_MESSAGE(!left.contains(name), name);
  }
  CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE status = 'running'") == "0");
  stop_cleanly(*d);
}

TEST_CASE("daemon: status shows who leads and each policy's last run, next run and pending actions") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "30d", "--schedule", "@daily", "--id", "m"}).exit_code ==
          0);
  REQUIRE(f.rd({"ttl", "public.events", "delete", "30d", "--partition-column", "created_at", "--id", "e",
                "--disabled"})
              .exit_code == 0);
  auto d = daemon(f);
  REQUIRE_MESSAGE(d->wait_for_output("policy.finished policy=m", 15s), d->err());
  std::this_thread::sleep_for(300ms);  // policy_state is written right after

  auto result = f.rd({"status", "-o", "json"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  const auto doc = nlohmann::json::parse(result.out);
  CHECK(doc["database"]["up"] == true);
  CHECK(doc["database"]["schema_version"] == retentiond::latest_schema_version());
  CHECK(doc["leader"]["instance"].get<std::string>().ends_with(":" + std::to_string(d->pid())));
  CHECK(doc["leader"]["active"] == true);
  REQUIRE(doc["policies"].size() == 2);
  const auto& e = doc["policies"][0];
  const auto& m = doc["policies"][1];
  CHECK(e["id"] == "e");
  CHECK(e["enabled"] == false);
  CHECK(e["last_status"].is_null());
  CHECK(m["id"] == "m");
  CHECK(m["schedule"] == "@daily");
  CHECK(m["last_status"] == "succeeded");
  CHECK(m["last_started_at"].is_string());
  CHECK(m["next_run_at"].get<std::string>().ends_with("T00:00:00Z"));  // @daily: next midnight
  CHECK(m["pending"] == 0);                                            // the daemon dropped what had expired
  CHECK(m["last_error"].is_null());

  const auto table = f.rd({"status"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("leader: ") == 0);
  CHECK(table.out.find("succeeded") != std::string::npos);
  const auto compact = f.rd({"status", "-o", "compact"});
  CHECK(compact.exit_code == 0);
  CHECK(compact.out.find("policy=m enabled=true last_run=") != std::string::npos);
  CHECK(compact.out.find(" status=succeeded ") != std::string::npos);

  // A clean stop gives the lease up at once.
  d->send_signal(SIGTERM);
  REQUIRE(d->wait(10s).exit_code == 0);
  CHECK(nlohmann::json::parse(f.rd({"status", "-o", "json", "--no-pending"}).out)["leader"]["active"] ==
        false);
}

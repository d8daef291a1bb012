// The daemon's HTTP listener against a real PostgreSQL: /metrics as Prometheus reads it
// (validated by promtool), /readyz following the database, /status being the `status -o json`
// document, and the operator commands' JSON checked field by field.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/cli_fixture.hpp"
#include "support/http_client.hpp"
#include "support/metric_families.hpp"

using retentiond::testing::ChildProcess;
using retentiond::testing::CliFixture;
using retentiond::testing::http_get;
using retentiond::testing::is_one_line;
using retentiond::testing::listening_address;
using retentiond::testing::run_process;
using retentiond::testing::spawn_retentiond;
using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

struct Daemon {
  std::unique_ptr<ChildProcess> process;
  std::string address;  ///< HOST:PORT of its listener
};

Daemon start_daemon(const CliFixture& f, std::map<std::string, std::string> env = {}) {
  Daemon d;
  d.process = f.daemon({}, std::move(env));
  REQUIRE_MESSAGE(d.process->wait_for_output("daemon.ready", 10s), d.process->err());
  const std::string log = d.process->err();
  d.address = listening_address(log);
  REQUIRE_MESSAGE(!d.address.empty(), log);
  return d;
}

void stop(Daemon& d) {
  d.process->send_signal(SIGTERM);
  const auto result = d.process->wait(15s);
  CHECK_MESSAGE(result.exit_code == 0, result.err);
}

// The value of one sample, e.g. sample(text, R"(retentiond_jobs_total{policy="m",...})").
std::optional<double> sample(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// Five daily partitions of January 2024 and one for the future: with ttl 1d the five are expired.
void make_partitions(const CliFixture& f) {
  std::string sql;
  for (int day = 2; day <= 5; ++day) {
    sql += "CREATE TABLE public.metrics_p2024010" + std::to_string(day) +
           " PARTITION OF public.metrics FOR VALUES FROM ('2024-01-0" + std::to_string(day) +
           "') TO ('2024-01-0" + std::to_string(day + 1) + "');";
  }
  sql +=
      "CREATE TABLE public.metrics_future PARTITION OF public.metrics FOR VALUES FROM ('2100-01-01') TO "
      "('2100-01-02');";
  f.pg.execute(sql);
}

// promtool's linter over a scrape: prints nothing and exits 0 when the exposition is clean.
retentiond::testing::RunResult promtool_check(const CliFixture& f, const std::string& exposition) {
  const auto file = f.pg.directory() / "scrape.prom";
  std::ofstream(file) << exposition;
  return run_process({"/bin/sh", "-c", "promtool check metrics < '" + file.string() + "'"});
}

}  // namespace

TEST_CASE(
    "observability: /metrics passes promtool, has every documented name from start-up, and counters move") {
  CliFixture f;
  f.setup_with_sample_tables();
  make_partitions(f);
  REQUIRE(
      f.rd({"ttl", "public.metrics", "delete", "1d", "--schedule", "@every 1h", "--id", "m", "--disabled"})
          .exit_code == 0);
  auto d = start_daemon(f);
  REQUIRE_MESSAGE(d.process->wait_for_output("policies.reloaded", 10s), d.process->err());

  // Before any run: every family is there, the policy's series at zero.
  auto before = http_get(d.address, "/metrics");
  REQUIRE_MESSAGE(before.status == 200, d.process->err());
  CHECK(before.headers.at("content-type").starts_with("text/plain; version=0.0.4"));
  const auto lint = promtool_check(f, before.body);
  CHECK_MESSAGE(lint.exit_code == 0, (lint.out + lint.err));
  CHECK_MESSAGE((lint.out + lint.err).empty(), (lint.out + lint.err));
  for (const std::string& name : retentiond::testing::metric_families()) {
    // A disabled policy has no schedule, so those two families have no series yet.
    if (name.starts_with("retentiond_next_run") || name.starts_with("retentiond_schedule")) continue;
    CHECK_MESSAGE(before.body.find("# TYPE " + name + " ") != std::string::npos, name);
  }
  CHECK(sample(before.body, "retentiond_database_up") == 1);
  CHECK(sample(before.body, "retentiond_is_leader") == 1);
  CHECK(sample(before.body, R"(retentiond_policies{state="disabled"})") == 1);
  CHECK(sample(before.body, R"(retentiond_jobs_total{policy="m",status="succeeded",strategy="delete"})") ==
        0);
  CHECK(sample(before.body, R"(retentiond_jobs_total{policy="m",status="failed",strategy="delete"})") == 0);
  CHECK(sample(before.body, R"(retentiond_partitions_processed_total{policy="m",strategy="delete"})") == 0);
  CHECK(sample(before.body, R"(retentiond_expired_partitions_pending{policy="m"})") == 0);
  CHECK(sample(before.body, R"(retentiond_last_success_timestamp_seconds{policy="m"})") == 0);
  CHECK(sample(before.body, R"(retentiond_job_duration_seconds_count{strategy="delete"})") == 0);
  // A disabled policy has no next run (and no interval an alert would measure it against).
  CHECK_FALSE(sample(before.body, R"(retentiond_next_run_timestamp_seconds{policy="m"})"));
  CHECK(before.body.find(R"(retentiond_build_info{version=")") != std::string::npos);

  // Enabling reaches the daemon by NOTIFY; it runs the policy at once (never run before).
  REQUIRE(f.rd({"policy", "enable", "m"}).exit_code == 0);
  REQUIRE_MESSAGE(d.process->wait_for_output("policy.finished policy=m status=succeeded", 15s),
                  d.process->err());
  std::this_thread::sleep_for(300ms);  // the loop publishes the finished run's schedule
  const auto after = http_get(d.address, "/metrics");
  REQUIRE(after.status == 200);
  const auto lint_after = promtool_check(f, after.body);
  CHECK_MESSAGE((lint_after.exit_code == 0 && (lint_after.out + lint_after.err).empty()),
                (lint_after.out + lint_after.err));
  for (const std::string& name : retentiond::testing::metric_families()) {
    CHECK_MESSAGE(after.body.find("# TYPE " + name + " ") != std::string::npos, name);
  }
  // metrics_p20240101 (from the fixture) and 02..05 are expired; the future one is not.
  CHECK(sample(after.body, R"(retentiond_jobs_total{policy="m",status="succeeded",strategy="delete"})") == 5);
  CHECK(sample(after.body, R"(retentiond_partitions_processed_total{policy="m",strategy="delete"})") == 5);
  CHECK(sample(after.body, R"(retentiond_job_duration_seconds_count{strategy="delete"})") == 5);
  CHECK(sample(after.body, R"(retentiond_expired_partitions_pending{policy="m"})") == 0);
  CHECK(sample(after.body, R"(retentiond_policies{state="enabled"})") == 1);
  const auto now = static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  const auto success = sample(after.body, R"(retentiond_last_success_timestamp_seconds{policy="m"})");
  REQUIRE(success);
  CHECK(*success > now - 30);
  CHECK(*success <= now + 1);
  const auto next = sample(after.body, R"(retentiond_next_run_timestamp_seconds{policy="m"})");
  REQUIRE(next);
  CHECK(*next > now);  // @every 1h: the next full hour
  CHECK(*next <= now + 3601);
  CHECK(sample(after.body, R"(retentiond_schedule_interval_seconds{policy="m"})") == 3600);

  // Labels stay bounded: no partition name ever becomes a label value.
  CHECK(after.body.find("metrics_p2024") == std::string::npos);
  stop(d);
}

TEST_CASE(
    "observability: /readyz goes 503 within 5 s of PostgreSQL stopping and 200 within 5 s of its return") {
  CliFixture f;
  f.setup_with_sample_tables();
  auto d = start_daemon(f);
  CHECK(http_get(d.address, "/readyz").status == 200);
  CHECK(http_get(d.address, "/healthz").status == 200);

  const auto wait_for = [&](int status) {
    const auto began = Clock::now();
    while (Clock::now() - began < 10s) {
      if (http_get(d.address, "/readyz", {}, 2s).status == status) break;
      std::this_thread::sleep_for(100ms);
    }
    return Clock::now() - began;
  };
  f.pg.stop();
  const auto down = wait_for(503);
  CHECK_MESSAGE(down < 5s, std::chrono::duration_cast<std::chrono::milliseconds>(down).count() << " ms");
  const auto reply = http_get(d.address, "/readyz");
  CHECK(reply.status == 503);
  CHECK(reply.body.starts_with("not ready: database unreachable"));
  CHECK(http_get(d.address, "/healthz").status == 200);  // alive, only not ready
  CHECK(sample(http_get(d.address, "/metrics").body, "retentiond_database_up") == 0);

  f.pg.start();
  const auto up = wait_for(200);
  CHECK_MESSAGE(up < 5s, std::chrono::duration_cast<std::chrono::milliseconds>(up).count() << " ms");
  CHECK(http_get(d.address, "/readyz").body == "ready\n");
  CHECK(sample(http_get(d.address, "/metrics").body, "retentiond_database_up") == 1);
  stop(d);
}

TEST_CASE("observability: /status is the status -o json document, behind a bearer token when one is set") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "30d", "--schedule", "@daily", "--id", "m"}).exit_code ==
          0);
  const std::string token = "s3cret-token-value";
  auto d = start_daemon(f, {{"RETENTIOND_HTTP_STATUS_TOKEN", token}});
  REQUIRE_MESSAGE(d.process->wait_for_output("policy.finished policy=m", 15s), d.process->err());
  std::this_thread::sleep_for(300ms);

  const auto refused = http_get(d.address, "/status");
  CHECK(refused.status == 401);
  CHECK(refused.headers.at("www-authenticate").starts_with("Bearer"));
  CHECK(http_get(d.address, "/status", {{"Authorization", "Bearer wrong"}}).status == 401);
  const auto served = http_get(d.address, "/status", {{"Authorization", "Bearer " + token}});
  REQUIRE(served.status == 200);
  CHECK(served.headers.at("content-type") == "application/json");
  const auto cli = f.rd({"status", "-o", "json"});
  REQUIRE(cli.exit_code == 0);
  auto http_doc = nlohmann::ordered_json::parse(served.body);
  auto cli_doc = nlohmann::ordered_json::parse(cli.out);
  // Same document: every key, every value (the lease's expiry moves on with each renewal).
  http_doc["leader"].erase("expires_at");
  cli_doc["leader"].erase("expires_at");
  CHECK(http_doc == cli_doc);
  const auto& m = http_doc["policies"][0];
  std::vector<std::string> keys;
  for (const auto& [key, value] : m.items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"id", "table", "strategy", "enabled", "schedule", "last_started_at",
                                         "last_finished_at", "last_status", "last_error", "last_succeeded_at",
                                         "failures", "next_retry_at", "next_run_at", "pending",
                                         "plan_error"});
  CHECK(m["table"] == "public.metrics");
  CHECK(m["strategy"] == "delete");
  CHECK(m["last_status"] == "succeeded");
  CHECK(m["last_succeeded_at"] == m["last_finished_at"]);
  CHECK(http_get(d.address, "/nowhere").status == 404);
  stop(d);
  // The token is a secret: never logged.
  CHECK(d.process->err().find(token) == std::string::npos);
}

TEST_CASE("observability: http.listen on an address in use exits 2 with one line naming it") {
  CliFixture f;
  f.setup_with_sample_tables();
  const int held = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in where{};
  where.sin_family = AF_INET;
  where.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(held, reinterpret_cast<sockaddr*>(&where), sizeof where) == 0);
  REQUIRE(::listen(held, 1) == 0);
  socklen_t length = sizeof where;
  ::getsockname(held, reinterpret_cast<sockaddr*>(&where), &length);
  const std::string address = "127.0.0.1:" + std::to_string(ntohs(where.sin_port));
  const auto result = f.rd({"run"}, {{"RETENTIOND_HTTP_LISTEN", address}});
  ::close(held);
  CHECK(result.exit_code == 2);
  CHECK_MESSAGE(is_one_line(result.err), result.err);
  CHECK(result.err.find(address) != std::string::npos);
  CHECK(result.err.find("terminate") == std::string::npos);
}

TEST_CASE("observability: jobs -o json gives every jobs_log column with its value, and the filters hold") {
  CliFixture f;
  f.setup_with_sample_tables();
  make_partitions(f);
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "1d", "--id", "m"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.events", "delete", "1d", "--partition-column", "created_at", "--id", "e"})
              .exit_code == 0);
  f.pg.execute(
      "INSERT INTO public.events (created_at, body) SELECT '2024-01-01'::timestamptz, 'x' FROM "
      "generate_series(1, 7)");
  REQUIRE(f.rd({"run", "--once"}).exit_code == 0);

  const auto all = f.rd({"jobs", "-o", "json"});
  REQUIRE(all.exit_code == 0);
  const auto rows = json::parse(all.out);
  REQUIRE(rows.size() == 6);  // 5 drops and one batched delete
  // Field by field against the table itself.
  const auto db = f.pg.query(
      "SELECT id, run_id, policy_id, strategy, table_name, partition, action, sql, status, rows_affected, "
      "bytes,"
      " error, instance FROM retention.jobs_log ORDER BY started_at DESC, id DESC");
  REQUIRE(db.size() == rows.size());
  const char* const columns[] = {"id",        "run_id", "policy_id", "strategy", "table_name",
                                 "partition", "action", "sql",       "status",   "rows_affected",
                                 "bytes",     "error",  "instance"};
  for (std::size_t r = 0; r < db.size(); ++r) {
    for (std::size_t c = 0; c < std::size(columns); ++c) {
      const auto& value = rows[r][columns[c]];
      const auto& expected = db[r][c];
      if (!expected) {
        CHECK_MESSAGE(value.is_null(), columns[c]);
      } else if (value.is_number()) {
        CHECK_MESSAGE(std::to_string(value.get<long long>()) == *expected, columns[c]);
      } else {
        CHECK_MESSAGE(value.get<std::string>() == *expected, columns[c]);
      }
    }
    CHECK(rows[r]["started_at"].get<std::string>().ends_with("Z"));
    CHECK(rows[r]["finished_at"].get<std::string>().ends_with("Z"));
  }
  // The two tables run in two sessions: which one wrote first is not fixed, so the batched
  // delete is found by its policy, not by its place.
  const auto found = std::find_if(rows.begin(), rows.end(), [](const json& row) { return row["policy_id"] == "e"; });
  REQUIRE(found != rows.end());
  const auto& deleted = *found;
  CHECK(deleted["policy_id"] == "e");
  CHECK(deleted["action"] == "delete_rows");
  CHECK(deleted["rows_affected"] == 7);
  CHECK(deleted["partition"].is_null());

  CHECK(json::parse(f.rd({"jobs", "-o", "json", "--policy", "m"}).out).size() == 5);
  CHECK(json::parse(f.rd({"jobs", "-o", "json", "--status", "failed"}).out).empty());
  CHECK(json::parse(f.rd({"jobs", "-o", "json", "--limit", "2"}).out).size() == 2);
  CHECK(json::parse(f.rd({"jobs", "-o", "json", "--since", "1h"}).out).size() == 6);
  const auto table = f.rd({"jobs"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("public.metrics_p20240105") != std::string::npos);
  const auto compact = f.rd({"jobs", "-o", "compact", "--policy", "e"});
  CHECK(compact.exit_code == 0);
  CHECK(retentiond::testing::line_count(compact.out) == 1);
  CHECK(compact.out.find("delete_rows") != std::string::npos);
}

TEST_CASE("observability: -q prints nothing for a good run and only error lines for a failing one") {
  CliFixture f;
  f.setup_with_sample_tables();
  make_partitions(f);
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "1d", "--id", "m"}).exit_code == 0);
  const auto quiet = f.rd({"-q", "--log-format", "json", "run", "--once"});
  CHECK(quiet.exit_code == 0);
  CHECK_MESSAGE(quiet.out.empty(), quiet.out);
  CHECK_MESSAGE(quiet.err.empty(), quiet.err);

  // A policy whose table is gone fails its plan: errors only, as JSON lines.
  REQUIRE(f.rd({"ttl", "public.events", "delete", "1d", "--partition-column", "created_at", "--id", "e"})
              .exit_code == 0);
  f.pg.execute("DROP TABLE public.events");
  const auto failing = f.rd({"-q", "--log-format", "json", "run", "--once"});
  CHECK(failing.exit_code == 1);
  REQUIRE_FALSE(failing.err.empty());
  std::istringstream lines(failing.err);
  std::string line;
  while (std::getline(lines, line)) {
    const auto doc = json::parse(line);
    CHECK_MESSAGE(doc["level"] == "error", line);
    CHECK(doc.contains("event"));
  }
}

TEST_CASE("observability: a policy whose table is gone counts a failed job, so the failure alert sees it") {
  CliFixture f;
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.events", "delete", "1d", "--partition-column", "created_at", "--id", "e"})
              .exit_code == 0);
  f.pg.execute("DROP TABLE public.events");
  auto d = start_daemon(f);
  REQUIRE_MESSAGE(d.process->wait_for_output("policy.finished policy=e status=failed", 15s),
                  d.process->err());
  const auto scrape = http_get(d.address, "/metrics").body;
  CHECK(sample(scrape, R"(retentiond_jobs_total{policy="e",status="failed",strategy="delete"})") == 1);
  CHECK(f.pg.scalar("SELECT action || ':' || status FROM retention.jobs_log") == "plan:failed");
  stop(d);
}

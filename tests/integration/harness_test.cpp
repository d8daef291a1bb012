// Tests of the integration harness itself: if these fail, no other integration test means anything.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include <doctest/doctest.h>
#include <pqxx/pqxx>

#include "support/pg_server.hpp"
#include "support/run.hpp"

namespace fs = std::filesystem;
using retentiond::testing::ChildProcess;
using retentiond::testing::is_one_line;
using retentiond::testing::line_count;
using retentiond::testing::PgServer;
using retentiond::testing::run_process;
using retentiond::testing::run_retentiond;

namespace {

pid_t postmaster_pid(const PgServer& pg) {
  std::ifstream pid_file(pg.directory() / "data" / "postmaster.pid");
  pid_t pid = -1;
  pid_file >> pid;
  return pid;
}

// Sets an environment variable for the duration of a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("harness: a fresh server answers queries over its Unix socket and has no TCP listener") {
  PgServer pg;
  CHECK(pg.scalar("SELECT 1") == "1");
  CHECK(pg.scalar("SHOW listen_addresses").empty());
  // Connected over the socket: no server address at all.
  CHECK(pg.scalar("SELECT inet_server_addr()").empty());
  CHECK(fs::exists(pg.directory() / (".s.PGSQL." + std::to_string(pg.port()))));
  CHECK(pg.directory().string().size() < 100);
  CHECK(std::stoi(pg.scalar("SHOW server_version_num")) >= 130000);
  CHECK(pg.scalar("SHOW server_encoding") == "UTF8");
  CHECK(pg.scalar("SHOW TimeZone") == "UTC");
  CHECK(pg.scalar("SELECT current_user") == "postgres");
}

TEST_CASE("harness: conninfo and url both reach the named database") {
  PgServer pg;
  CHECK(pg.create_database("app db") == "app db");
  CHECK(pg.conninfo().starts_with("host=" + pg.directory().string() + " port="));
  CHECK(pg.url().starts_with("postgresql:///postgres?host=%2F"));
  pqxx::connection by_conninfo{pg.conninfo("app db")};
  pqxx::connection by_url{pg.url("app db")};
  pqxx::nontransaction first{by_conninfo};
  CHECK(first.exec("SELECT current_database()")[0][0].as<std::string>() == "app db");
  pqxx::nontransaction second{by_url};
  CHECK(second.exec("SELECT current_database()")[0][0].as<std::string>() == "app db");
}

TEST_CASE("harness: execute, query and scalar run in the given database and keep NULL apart") {
  PgServer pg;
  pg.create_database("app");
  pg.execute("CREATE TABLE t (id int, note text); INSERT INTO t VALUES (1, 'one'), (2, NULL)", "app");
  const auto rows = pg.query("SELECT id, note FROM t ORDER BY id", "app");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][0] == "1");
  CHECK(rows[0][1] == "one");
  CHECK_FALSE(rows[1][1].has_value());
  CHECK(pg.scalar("SELECT note FROM t WHERE id = 2", "app").empty());
  CHECK_THROWS_AS((void)pg.scalar("SELECT 1 WHERE false"), std::runtime_error);
  CHECK_THROWS_AS(pg.execute("SELECT * FROM t"), pqxx::sql_error);  // t lives in app, not postgres
  // execute() is not wrapped in a transaction: statements that refuse one work.
  pg.execute("VACUUM t", "app");
}

TEST_CASE("harness: the destructor stops the server and removes its directory") {
  fs::path directory;
  pid_t pid = -1;
  {
    PgServer pg;
    directory = pg.directory();
    pid = postmaster_pid(pg);
    REQUIRE(pid > 0);
    REQUIRE(fs::exists(directory));
  }
  CHECK_FALSE(fs::exists(directory));
  CHECK(kill(pid, 0) == -1);
}

TEST_CASE("harness: the directory goes away even when the test body throws") {
  fs::path directory;
  try {
    PgServer pg;
    directory = pg.directory();
    throw std::runtime_error("test failure");
  } catch (const std::runtime_error&) {
  }
  REQUIRE_FALSE(directory.empty());
  CHECK_FALSE(fs::exists(directory));
}

TEST_CASE("harness: stop() makes the server unreachable and start() brings it back with its data") {
  PgServer pg;
  pg.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
  pg.stop();
  CHECK_FALSE(pg.running());
  CHECK_THROWS_AS(pg.execute("SELECT 1"), pqxx::broken_connection);
  pg.stop();  // idempotent
  pg.start();
  CHECK(pg.running());
  CHECK(pg.scalar("SELECT v FROM kept") == "42");
  CHECK(pg.log_tail(200).find("database system is shut down") != std::string::npos);
}

TEST_CASE("harness: two servers run side by side") {
  PgServer a;
  PgServer b;
  CHECK(a.directory() != b.directory());
  a.execute("CREATE TABLE only_in_a (v int)");
  CHECK(a.scalar("SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'") == "1");
  CHECK(b.scalar("SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'") == "0");
}

TEST_CASE("harness: log_tail shows the statements the server received") {
  PgServer pg;
  pg.execute("SELECT 'marker-for-log-tail'");
  CHECK(pg.log_tail().find("marker-for-log-tail") != std::string::npos);
  CHECK(line_count(pg.log_tail(3)) <= 3);
}

TEST_CASE("harness: run_process captures stdout and stderr separately and the exit code") {
  const auto result = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(result.exit_code == 3);
  CHECK(result.out == "out\n");
  CHECK(result.err == "err\n");
}

TEST_CASE("harness: run_process does not deadlock on large output on both streams") {
  const auto result =
      run_process({"/bin/sh", "-c",
                   "head -c 3000000 /dev/zero | tr '\\0' o; head -c 2000000 /dev/zero | tr '\\0' e >&2"});
  CHECK(result.exit_code == 0);
  CHECK(result.out.size() == 3000000);
  CHECK(result.err.size() == 2000000);
}

TEST_CASE("harness: the child environment drops RETENTIOND_* and PG* and adds the given entries") {
  const ScopedEnv pghost("PGHOST", "/nonexistent");
  const ScopedEnv url("RETENTIOND_DATABASE_URL", "postgresql://leaked");
  const ScopedEnv kept("HARNESS_KEPT", "yes");
  const auto result =
      run_process({"/usr/bin/env"}, {{"RETENTIOND_LOG_LEVEL", "debug"}, {"HARNESS_KEPT", "override"}});
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("PGHOST=") == std::string::npos);
  CHECK(result.out.find("RETENTIOND_DATABASE_URL=") == std::string::npos);
  CHECK(result.out.find("RETENTIOND_LOG_LEVEL=debug\n") != std::string::npos);
  CHECK(result.out.find("HARNESS_KEPT=override\n") != std::string::npos);
  CHECK(result.out.find("HARNESS_KEPT=yes") == std::string::npos);
}

TEST_CASE("harness: run_process kills a child that outlives its timeout") {
  const auto started = std::chrono::steady_clock::now();
  const auto result =
      run_process({"/bin/sh", "-c", "echo before; sleep 30 & wait"}, {}, std::chrono::seconds(1));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(result.exit_code == -1);
  CHECK(result.out == "before\n");
  CHECK(result.err.find("[harness] timed out") != std::string::npos);
}

TEST_CASE("harness: a background child can be waited for by its output and stopped with a signal") {
  ChildProcess child(
      {"/bin/sh", "-c", "trap 'echo stopping; exit 0' TERM; echo ready; while :; do sleep 0.05; done"});
  REQUIRE(child.wait_for_output("ready", std::chrono::seconds(10)));
  CHECK(child.running());
  child.send_signal(SIGTERM);
  const auto result = child.wait(std::chrono::seconds(10));
  CHECK(result.exit_code == 0);
  CHECK(result.out == "ready\nstopping\n");
  CHECK_FALSE(child.wait_for_output("never written", std::chrono::milliseconds(10)));
}

TEST_CASE("harness: a program that cannot be executed is an exception, not an exit code") {
  CHECK_THROWS_AS(run_process({"/nonexistent/program"}), std::runtime_error);
}

TEST_CASE("harness: line_count counts lines with or without a final newline") {
  CHECK(line_count("") == 0);
  CHECK(line_count("a") == 1);
  CHECK(line_count("a\n") == 1);
  CHECK(line_count("a\nb") == 2);
  CHECK(line_count("a\n\n") == 2);
  CHECK(is_one_line("retentiond 0.1.0\n"));
  CHECK_FALSE(is_one_line("a\nb\n"));
  CHECK_FALSE(is_one_line(""));
}

TEST_CASE("harness: retentiond --version exits 0 with exactly one line on stdout") {
  const auto result = run_retentiond({"--version"});
  INFO("stdout: " << result.out);
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == 0);
  CHECK(is_one_line(result.out));
  CHECK(result.err.empty());
}

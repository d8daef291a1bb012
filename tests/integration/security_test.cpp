#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include <doctest/doctest.h>
#include <libpq-fe.h>

#include "retentiond/db/conninfo.hpp"
#include "support/cli_fixture.hpp"

using retentiond::testing::CliFixture;
using retentiond::testing::is_one_line;
using retentiond::testing::run_retentiond;
using retentiond::testing::spawn_retentiond;
using namespace std::chrono_literals;

namespace {

struct TempDirectory {
  std::filesystem::path path;
  TempDirectory() {
    std::string pattern = (std::filesystem::temp_directory_path() / "retentiond-security-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
};

void write_file(const std::filesystem::path& path, const std::string& text, unsigned mode = 0600) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string read_cmdline(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A password-protected role the server asks a password of over its socket (scram-sha-256),
// while every other role keeps trust authentication for the harness.
void require_password_for(const CliFixture& f, const std::string& role, const std::string& password) {
  f.pg.execute("CREATE ROLE " + role + " LOGIN SUPERUSER PASSWORD '" + password + "'");
  const std::string hba = f.pg.scalar("SHOW hba_file");
  write_file(hba, "local all " + role + " scram-sha-256\nlocal all all trust\n", 0600);
  f.pg.execute("SELECT pg_reload_conf()");
  std::this_thread::sleep_for(300ms);  // the postmaster rereads pg_hba.conf on SIGHUP
}

}  // namespace

TEST_CASE("security: a config file that is not a small regular file is refused in one line, quickly") {
  TempDirectory dir;
  const auto fifo = dir.path / "config.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto big = dir.path / "big.yaml";
  {
    std::ofstream out(big);
    out << "database:\n  schema: retention\n";
    const std::string comment = "# " + std::string(1021, 'x') + "\n";
    for (int i = 0; i < 2048; ++i) out << comment;  // 2 MiB of valid YAML
  }
  const auto link = dir.path / "zero.yaml";
  std::filesystem::create_symlink("/dev/zero", link);
  const auto subdir = dir.path / "conf.d";
  std::filesystem::create_directory(subdir);

  struct Case {
    std::string what;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string path;
  };
  const Case cases[] = {
      {"/dev/zero", {"-c", "/dev/zero", "config", "print"}, {}, "/dev/zero"},
      {"a symlink to /dev/zero", {"-c", link.string(), "config", "print"}, {}, link.string()},
      {"a FIFO", {"-c", fifo.string(), "config", "print"}, {}, fifo.string()},
      {"a directory", {"-c", subdir.string(), "config", "print"}, {}, subdir.string()},
      {"a 2 MiB YAML file", {"-c", big.string(), "config", "print"}, {}, big.string()},
      {"RETENTIOND_CONFIG=/dev/zero", {"config", "print"}, {{"RETENTIOND_CONFIG", "/dev/zero"}}, "/dev/zero"},
      {"/dev/zero before another command", {"-c", "/dev/zero", "policy", "list"}, {}, "/dev/zero"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const auto started = std::chrono::steady_clock::now();
    auto r = run_retentiond(c.args, c.env, 20s);
    CHECK(std::chrono::steady_clock::now() - started < 10s);
    CHECK_MESSAGE(r.exit_code == 2, r.err);
    CHECK_MESSAGE(is_one_line(r.err), r.err);
    CHECK(r.err.find(c.path) != std::string::npos);
    CHECK(r.err.find("bad_alloc") == std::string::npos);
    CHECK(r.out.empty());
  }
  // Just under the limit is still a config file.
  const auto fine = dir.path / "fine.yaml";
  write_file(fine, "database:\n  schema: retention\n" + std::string(1000000, '#') + "\n", 0644);
  auto ok = run_retentiond({"-c", fine.string(), "config", "print"}, {}, 20s);
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
}

TEST_CASE(
    "security: the password of --database-url is gone from /proc/PID/cmdline and the daemon still works") {
  CliFixture f;
  f.setup_with_sample_tables();
  const std::string secret = "s3cr3tPassw0rd";
  // The harness server trusts local connections, so any password connects.
  const std::string uri = "postgresql://postgres:" + secret + "@/postgres?host=" + f.pg.directory().string() +
                          "&port=" + std::to_string(f.pg.port());
  const std::vector<std::vector<std::string>> forms = {
      {"--database-url", f.pg.conninfo() + " password=" + secret},
      {"--database-url=" + f.pg.conninfo() + " password='" + secret + "'"},
      {"--database-url", uri},
      {"--database-url", f.pg.url() + "&password=" + secret},
  };
  for (const auto& form : forms) {
    CAPTURE(form.back());
    std::vector<std::string> argv = form;
    argv.insert(argv.end(), {"--log-format", "text", "run"});
    auto d = spawn_retentiond(argv, {{"RETENTIOND_HTTP_LISTEN", "127.0.0.1:0"}});
    REQUIRE_MESSAGE(d->wait_for_output("daemon.ready", 15s), d->err());
    const std::string cmdline = read_cmdline(d->pid());
    CHECK(cmdline.find(secret) == std::string::npos);
    CHECK(cmdline.find("--database-url") != std::string::npos);  // only the secret is gone
    CHECK(cmdline.find(std::to_string(f.pg.port())) != std::string::npos);
    CHECK(d->err().find(secret) == std::string::npos);
    d->send_signal(SIGTERM);
    auto r = d->wait(20s);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
  }
}

TEST_CASE("security: database.password_file authenticates and its content never shows") {
  CliFixture f;
  const std::string password = "pw-'Zq9\\file' x";  // quotes and a backslash: quoted for libpq
  require_password_for(f, "app", "pw-''Zq9\\file'' x");
  TempDirectory dir;
  const auto file = dir.path / "db.password";
  write_file(file, password + "\n", 0600);
  const std::string url = "host=" + f.pg.directory().string() + " port=" + std::to_string(f.pg.port()) +
                          " user=app dbname=postgres";

  // Without a password the server refuses: the file is what makes the difference.
  auto without = run_retentiond({"--database-url", url, "setup"});
  CHECK(without.exit_code == 3);

  auto setup = run_retentiond({"--database-url", url, "setup"},
                              {{"RETENTIOND_DATABASE_PASSWORD_FILE", file.string()}});
  CHECK_MESSAGE(setup.exit_code == 0, setup.err);
  const std::string config_file = (dir.path / "retentiond.yaml").string();
  write_file(config_file, "database:\n  password_file: " + file.string() + "\n", 0644);
  auto list = run_retentiond({"-c", config_file, "--database-url", url, "policy", "list"});
  CHECK_MESSAGE(list.exit_code == 0, list.err);

  auto print = run_retentiond({"-c", config_file, "--database-url", url, "config", "print"});
  CHECK(print.exit_code == 0);
  CHECK(print.out.find(file.string()) != std::string::npos);
  CHECK(print.out.find("Zq9") == std::string::npos);

  // libpq's own PGPASSWORD still works when no password file is set.
  auto env = run_retentiond({"--database-url", url, "policy", "list"}, {{"PGPASSWORD", password}});
  CHECK_MESSAGE(env.exit_code == 0, env.err);

  // A wrong password in the file: a database error that does not quote the file.
  const auto wrong = dir.path / "wrong.password";
  write_file(wrong, "not-the-password-123\n", 0600);
  auto bad = run_retentiond({"--database-url", url, "policy", "list"},
                            {{"RETENTIOND_DATABASE_PASSWORD_FILE", wrong.string()}});
  CHECK(bad.exit_code == 3);
  CHECK(is_one_line(bad.err));
  CHECK(bad.err.find("not-the-password-123") == std::string::npos);

  // Refused files: exit 2, one line naming the file, never its content.
  const auto open = dir.path / "open.password";
  write_file(open, password + "\n", 0644);
  const auto two_lines = dir.path / "two.password";
  write_file(two_lines, password + "\nsecond line\n", 0600);
  const auto empty = dir.path / "empty.password";
  write_file(empty, "\n", 0600);
  const auto fifo = dir.path / "pw.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto big = dir.path / "big.password";
  write_file(big, std::string(5000, 'p'), 0600);
  for (const auto& refused : {open, two_lines, empty, fifo, big, dir.path / "missing",
                              std::filesystem::path("/dev/zero"), dir.path}) {
    CAPTURE(refused);
    auto r = run_retentiond({"--database-url", url, "policy", "list"},
                            {{"RETENTIOND_DATABASE_PASSWORD_FILE", refused.string()}}, 20s);
    CHECK_MESSAGE(r.exit_code == 2, r.err);
    CHECK(is_one_line(r.err));
    CHECK(r.err.find(refused.string()) != std::string::npos);
    CHECK(r.err.find("Zq9") == std::string::npos);
  }

  // One password, one place.
  auto both = run_retentiond({"--database-url", url + " password=x", "policy", "list"},
                             {{"RETENTIOND_DATABASE_PASSWORD_FILE", file.string()}});
  CHECK(both.exit_code == 2);
  CHECK(both.err.find("password_file") != std::string::npos);
}

TEST_CASE("security: every connection carries TCP keepalives unless the URL sets its own") {
  // A dead network cannot be simulated on the harness's Unix socket (libpq applies keepalives
  // to TCP only): this checks that the options reach libpq, and that user-given values win.
  CliFixture f;
  struct ConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  const auto options_of = [](const std::string& conninfo) {
    std::unique_ptr<PGconn, ConnDeleter> conn(PQconnectdb(conninfo.c_str()));
    REQUIRE_MESSAGE(PQstatus(conn.get()) == CONNECTION_OK, PQerrorMessage(conn.get()));
    std::map<std::string, std::string> values;
    PQconninfoOption* options = PQconninfo(conn.get());
    for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (o->val != nullptr) values[o->keyword] = o->val;
    }
    PQconninfoFree(options);
    return values;
  };
  for (const std::string& url : {f.pg.conninfo(), f.pg.url()}) {
    CAPTURE(url);
    auto values = options_of(retentiond::effective_conninfo(url, std::nullopt));
    CHECK(values["keepalives"] == "1");
    CHECK(values["keepalives_idle"] == "30");
    CHECK(values["keepalives_interval"] == "10");
    CHECK(values["keepalives_count"] == "3");
    if (PQlibVersion() >= 120000) CHECK(values["tcp_user_timeout"] == "60000");
    CHECK(values["host"] == f.pg.directory().string());
    CHECK(values["user"] == "postgres");
  }
  auto mine = options_of(retentiond::effective_conninfo(
      f.pg.conninfo() + " keepalives_idle=7 keepalives_count=9 tcp_user_timeout=1234", std::nullopt));
  CHECK(mine["keepalives_idle"] == "7");
  CHECK(mine["keepalives_count"] == "9");
  CHECK(mine["keepalives_interval"] == "10");
  if (PQlibVersion() >= 120000) CHECK(mine["tcp_user_timeout"] == "1234");
  auto uri = options_of(retentiond::effective_conninfo(f.pg.url() + "&keepalives=0", std::nullopt));
  CHECK(uri["keepalives"] == "0");

  // And the real binary connects with them (an unknown keyword would fail the connect).
  f.setup_with_sample_tables();
  auto r = f.rd({"policy", "list"});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
}

#include "support/pg_server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include <libpq-fe.h>
#include <pqxx/pqxx>

extern char** environ;  // NOLINT(readability-redundant-declaration): <unistd.h> has it only with _GNU_SOURCE

namespace retentiond::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kInitdbTimeout = 120s;
constexpr auto kStartTimeout = 60s;
constexpr auto kFastStopTimeout = 60s;
constexpr auto kImmediateStopTimeout = 10s;
// Unix socket paths are limited to 107 bytes; keep room for "/.s.PGSQL.NNNNN" and the lock file.
constexpr std::size_t kMaxSocketDirLength = 80;

// initdb options, whitespace-separated; also part of the template key.
constexpr const char* kInitdbFormat =
    "--username=postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync";

// Appended to postgresql.conf. Durability is pointless for a cluster that lives a few seconds;
// TimeZone is pinned so that tests computing cutoffs do not depend on the machine's zone (a test
// that wants another zone sets it per database or session). Every statement is logged so that
// log_tail() shows what retentiond actually sent.
constexpr const char* kServerSettings = R"(
# --- retentiond integration test harness ---
listen_addresses = ''
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 32MB
max_connections = 50
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%a %u@%d '
log_statement = 'all'
)";

std::string errno_text(int error) { return std::system_category().message(error); }

// The environment of initdb and postgres: ours minus PG* variables (PGDATA, PGPORT, ... must not
// steer the test cluster), plus the target user's identity when switching to it.
std::vector<std::string> server_environment(const passwd* user) {
  std::vector<std::string> result;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view variable(*entry);
    if (variable.starts_with("PG")) continue;
    if (user != nullptr && (variable.starts_with("HOME=") || variable.starts_with("USER=") ||
                            variable.starts_with("LOGNAME="))) {
      continue;
    }
    result.emplace_back(variable);
  }
  if (user != nullptr) {
    result.push_back(std::string("HOME=") + user->pw_dir);
    result.push_back(std::string("USER=") + user->pw_name);
    result.push_back(std::string("LOGNAME=") + user->pw_name);
  }
  return result;
}

// Reports why the child could not become the program (stage, errno) to the parent; async-signal-safe.
[[noreturn]] void child_fail(int status_fd, int stage) {
  const int report[2] = {stage, errno};
  [[maybe_unused]] const auto written = write(status_fd, report, sizeof report);
  _exit(127);
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> result;
  result.reserve(strings.size() + 1);
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

// Starts argv with stdout and stderr appended to log and stdin from /dev/null, as the given user
// when uid is set. The child gets parent_death_signal when this thread exits, so a crashed test
// binary takes its servers along. Throws when the program cannot be executed.
pid_t spawn_logged(std::vector<std::string> argv, std::vector<std::string> env, const fs::path& log,
                   std::optional<uid_t> uid, gid_t gid, int parent_death_signal) {
  // Everything the child needs is prepared here: between fork and exec only async-signal-safe
  // calls are allowed, since other threads (a ChildProcess reader) may hold the allocator lock.
  std::vector<char*> c_argv = c_strings(argv);
  std::vector<char*> c_env = c_strings(env);
  const std::string log_path = log.string();
  const pid_t parent = getpid();

  // The child reports a failed setuid/exec through this close-on-exec pipe: EOF means exec worked.
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2: " + errno_text(errno));

  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(status_pipe[0]);
    close(status_pipe[1]);
    throw std::runtime_error("fork: " + errno_text(error));
  }
  if (pid == 0) {
    const auto fail = [fd = status_pipe[1]](int stage) { child_fail(fd, stage); };
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);
    if (uid) {
      if (setgroups(1, &gid) != 0 || setgid(gid) != 0) fail(1);
      if (setuid(*uid) != 0) fail(1);
    }
    // After setuid: changing credentials clears the parent-death signal.
    prctl(PR_SET_PDEATHSIG, parent_death_signal);
    if (getppid() != parent) _exit(127);
    const int null_fd = open("/dev/null", O_RDONLY);
    const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null_fd < 0 || log_fd < 0) fail(2);
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0) {
      fail(2);
    }
    execve(c_argv[0], c_argv.data(), c_env.data());
    child_fail(status_pipe[1], 3);
  }

  close(status_pipe[1]);
  int report[2] = {0, 0};
  ssize_t n = 0;
  do {
    n = read(status_pipe[0], report, sizeof report);
  } while (n < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (n > 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    const char* stage = report[0] == 1   ? "switch to the postgres user for"
                        : report[0] == 2 ? "open the log of"
                                         : "execute";
    throw std::runtime_error(std::string("cannot ") + stage + " " + argv[0] + ": " + errno_text(report[1]));
  }
  return pid;
}

// Waits up to timeout for pid to exit; returns its wait status, or nullopt while it still runs.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return 0;  // not our child any more: nothing to wait for
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

std::string tail_of(const fs::path& file, std::size_t lines) {
  std::ifstream in(file);
  if (!in) return "(no " + file.filename().string() + ")\n";
  std::deque<std::string> kept;
  std::string line;
  while (std::getline(in, line)) {
    kept.push_back(std::move(line));
    if (kept.size() > lines) kept.pop_front();
  }
  std::string result;
  for (const auto& l : kept) result += l + "\n";
  return result;
}

bool is_executable(const fs::path& file) {
  return access(file.c_str(), X_OK) == 0 && fs::is_regular_file(file);
}

// $RETENTIOND_TEST_PG_BINDIR, else the directory of the initdb on PATH (symlinks resolved, so
// that a /usr/local/bin link leads to the real installation), else the highest
// /usr/lib/postgresql/<version>/bin, which is where Debian puts the server binaries.
fs::path find_bindir() {
  if (const char* configured = std::getenv("RETENTIOND_TEST_PG_BINDIR");
      configured != nullptr && *configured) {
    fs::path dir(configured);
    if (!is_executable(dir / "initdb") || !is_executable(dir / "postgres")) {
      throw std::runtime_error("RETENTIOND_TEST_PG_BINDIR=" + dir.string() + " holds no initdb and postgres");
    }
    return dir;
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::stringstream entries(path);
    std::string entry;
    while (std::getline(entries, entry, ':')) {
      if (entry.empty() || !is_executable(fs::path(entry) / "initdb")) continue;
      std::error_code ec;
      fs::path dir = fs::canonical(fs::path(entry) / "initdb", ec).parent_path();
      if (!ec && is_executable(dir / "postgres")) return dir;
      if (is_executable(fs::path(entry) / "postgres")) return entry;
    }
  }
  std::optional<std::pair<double, fs::path>> best;
  std::error_code ec;
  for (const auto& version : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const fs::path bin = version.path() / "bin";
    if (!is_executable(bin / "initdb") || !is_executable(bin / "postgres")) continue;
    const double number = std::strtod(version.path().filename().c_str(), nullptr);
    if (!best || number > best->first) best = {number, bin};
  }
  if (best) return best->second;
  throw std::runtime_error(
      "no PostgreSQL server binaries (initdb, postgres) found: run scripts/install-deps or set "
      "RETENTIOND_TEST_PG_BINDIR");
}

// When root, the cluster must belong to an unprivileged user that can reach the directory.
bool world_searchable(const fs::path& dir) {
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) return false;
    if (p == p.root_path()) break;
  }
  return true;
}

// Where clusters go: $TMPDIR when the socket path stays short enough (and, as root, when the
// `postgres` user can reach it), else /tmp.
fs::path temp_base(bool as_root) {
  if (const char* tmpdir = std::getenv("TMPDIR"); tmpdir != nullptr && *tmpdir) {
    fs::path candidate(tmpdir);
    if ((candidate / "retentiond-pg-XXXXXX").string().size() <= kMaxSocketDirLength &&
        (!as_root || world_searchable(candidate))) {
      return candidate;
    }
  }
  return "/tmp";
}

fs::path make_directory(const fs::path& base, const std::string& prefix) {
  std::string pattern = (base / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + errno_text(errno));
  }
  return pattern;
}

// The shared template cluster for these binaries, this owner and these initdb options. Keyed by
// the postgres binary's path, size and mtime, so that a package upgrade gets a new template.
fs::path template_path(const fs::path& base, const fs::path& bindir, uid_t owner) {
  struct stat st {};
  stat((bindir / "postgres").c_str(), &st);
  const std::string key = bindir.string() + "|" + std::to_string(st.st_size) + "|" +
                          std::to_string(st.st_mtim.tv_sec) + "|" + kInitdbFormat;
  std::ostringstream name;
  name << "retentiond-pg-template-" << owner << "-" << std::hex << std::hash<std::string>{}(key);
  return base / name.str();
}

// A template is used only when it is a complete initdb result (it only ever appears under its
// final name through rename) that nobody else could have planted: owned by the server user and
// closed to others.
bool usable_template(const fs::path& dir, uid_t owner) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != owner || (st.st_mode & 077) != 0) {
    return false;
  }
  return fs::exists(dir / "data" / "PG_VERSION") && fs::exists(dir / "data" / "global" / "pg_control");
}

void chown_tree(const fs::path& root, uid_t uid, gid_t gid) {
  if (lchown(root.c_str(), uid, gid) != 0)
    throw std::runtime_error("chown " + root.string() + ": " + errno_text(errno));
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (lchown(entry.path().c_str(), uid, gid) != 0) {
      throw std::runtime_error("chown " + entry.path().string() + ": " + errno_text(errno));
    }
  }
}

int pick_port() {
  // Only names the socket file (there is no TCP listener), so it merely has to look like a port.
  static std::atomic<int> counter{0};
  return 20000 + static_cast<int>(
                     (static_cast<unsigned>(getpid()) * 7919U + static_cast<unsigned>(counter++)) % 40000U);
}

// A conninfo value, quoted only when it has to be.
std::string conninfo_value(const std::string& value) {
  if (!value.empty() && value.find_first_of(" '\\\t\n") == std::string::npos) return value;
  std::string quoted = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::string percent_encode(const std::string& value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      encoded += ch;
    } else {
      encoded += '%';
      encoded += kHex[c >> 4U];
      encoded += kHex[c & 0x0FU];
    }
  }
  return encoded;
}

}  // namespace

void PgServer::prepare_directory() {
  const bool as_root = geteuid() == 0;
  if (as_root) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      throw std::runtime_error("running as root, but there is no OS user 'postgres' to own the test cluster");
    }
    run_as_uid_ = user->pw_uid;
    run_as_gid_ = user->pw_gid;
  }
  directory_ = make_directory(temp_base(as_root), "retentiond-pg-");
  if (run_as_uid_ && chown(directory_.c_str(), *run_as_uid_, run_as_gid_) != 0) {
    const int error = errno;
    remove_directory();
    throw std::runtime_error("chown " + directory_.string() + ": " + errno_text(error));
  }
}

PgServer::PgServer(StandbyOf standby) : bindir_(find_bindir()), port_(pick_port()) {
  prepare_directory();
  try {
    const passwd* user = run_as_uid_ ? getpwuid(*run_as_uid_) : nullptr;
    const fs::path log = directory_ / "basebackup.log";
    // -R writes standby.signal and primary_conninfo: the copy starts as a streaming standby.
    const pid_t pid =
        spawn_logged({(bindir_ / "pg_basebackup").string(), "-D", (directory_ / "data").string(), "-R", "-X",
                      "stream", "-c", "fast", "-h", standby.primary.directory().string(), "-p",
                      std::to_string(standby.primary.port()), "-U", "postgres"},
                     server_environment(user), log, run_as_uid_, run_as_gid_, SIGKILL);
    const auto status = wait_for_exit(pid, kInitdbTimeout);
    if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      if (!status) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
      throw std::runtime_error("pg_basebackup failed; basebackup.log ends with:\n" + tail_of(log, 40));
    }
    configure();  // appended last: this server's port and socket directory win over the copy's
    launch();
  } catch (...) {
    shutdown(SIGQUIT);
    remove_directory();
    throw;
  }
}

void PgServer::promote() const { execute("SELECT pg_promote(true, 30)"); }

PgServer::PgServer() : bindir_(find_bindir()), port_(pick_port()) {
  prepare_directory();
  const fs::path base = directory_.parent_path();
  try {
    if (copy_template(base)) {
      configure();
      try {
        launch();
        return;
      } catch (const std::exception&) {
        // A template damaged after it was built (a /tmp cleaner deleting old files, say) must not
        // fail every test from now on: discard it and fall back to a fresh initdb once.
        std::error_code ignored;
        fs::remove_all(template_path(base, bindir_, run_as_uid_.value_or(geteuid())), ignored);
        fs::remove_all(directory_ / "data", ignored);
        fs::remove(directory_ / "server.log", ignored);
      }
    }
    initdb(directory_ / "data", directory_ / "initdb.log");
    configure();
    launch();
  } catch (...) {
    shutdown(SIGQUIT);
    remove_directory();
    throw;
  }
}

PgServer::~PgServer() {
  try {
    shutdown(SIGQUIT);  // immediate: nothing of this cluster is worth a checkpoint
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; the directory goes anyway
  }
  remove_directory();
}

// initdb costs 1-3 s, copying its result about 0.3 s, and every test case needs a cluster. So the
// first PgServer on a machine runs initdb into a template shared by all later ones (each ctest
// test is a process of its own, so the sharing has to be on disk). Concurrent first runs each
// build a candidate and race to rename it into place; the loser deletes its own. Returns false
// when the data directory has to come from initdb after all.
bool PgServer::copy_template(const fs::path& base) {
  const uid_t owner = run_as_uid_.value_or(geteuid());
  const fs::path shared = template_path(base, bindir_, owner);
  if (!usable_template(shared, owner)) {
    const fs::path candidate = make_directory(base, "retentiond-pg-template-tmp-");
    try {
      if (run_as_uid_ && chown(candidate.c_str(), *run_as_uid_, run_as_gid_) != 0) {
        throw std::runtime_error("chown " + candidate.string() + ": " + errno_text(errno));
      }
      initdb(candidate / "data", candidate / "initdb.log");
    } catch (...) {
      std::error_code ignored;
      fs::remove_all(candidate, ignored);
      throw;
    }
    if (rename(candidate.c_str(), shared.c_str()) != 0) {
      std::error_code ignored;
      fs::remove_all(candidate, ignored);
    }
  }
  if (!usable_template(shared, owner)) return false;  // someone else's file under that name
  try {
    fs::copy(shared / "data", directory_ / "data",
             fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    if (run_as_uid_) chown_tree(directory_ / "data", *run_as_uid_, run_as_gid_);
  } catch (const std::exception&) {
    std::error_code ignored;
    fs::remove_all(directory_ / "data", ignored);
    return false;
  }
  return true;
}

void PgServer::initdb(const fs::path& data, const fs::path& log) const {
  const passwd* user = run_as_uid_ ? getpwuid(*run_as_uid_) : nullptr;
  std::vector<std::string> argv{(bindir_ / "initdb").string(), "--pgdata=" + data.string()};
  std::istringstream options(kInitdbFormat);
  for (std::string option; options >> option;) argv.push_back(option);
  const pid_t pid = spawn_logged(argv, server_environment(user), log, run_as_uid_, run_as_gid_, SIGKILL);
  const auto status = wait_for_exit(pid, kInitdbTimeout);
  if (!status) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    throw std::runtime_error("initdb timed out; initdb.log ends with:\n" + tail_of(log, 40));
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    throw std::runtime_error("initdb failed (" + describe_status(*status) + "); initdb.log ends with:\n" +
                             tail_of(log, 40));
  }
}

void PgServer::configure() {
  std::string settings = kServerSettings;
  settings += "port = " + std::to_string(port_) + "\n";
  std::string socket_dir;
  for (const char c : directory_.string()) socket_dir += (c == '\'') ? std::string("''") : std::string(1, c);
  settings += "unix_socket_directories = '" + socket_dir + "'\n";
  std::ofstream conf(directory_ / "data" / "postgresql.conf", std::ios::app);
  conf << settings;
  if (!conf.flush()) throw std::runtime_error("cannot append to postgresql.conf in " + directory_.string());
}

void PgServer::launch() {
  const passwd* user = run_as_uid_ ? getpwuid(*run_as_uid_) : nullptr;
  const fs::path log = directory_ / "server.log";
  postmaster_ = spawn_logged({(bindir_ / "postgres").string(), "-D", (directory_ / "data").string()},
                             server_environment(user), log, run_as_uid_, run_as_gid_, SIGQUIT);
  const std::string probe = conninfo() + " connect_timeout=2";
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (true) {
    if (const auto status = wait_for_exit(postmaster_, 0ms)) {
      postmaster_ = -1;
      throw std::runtime_error("postgres exited during startup (" + describe_status(*status) +
                               "); server.log ends with:\n" + log_tail());
    }
    // PQPING_REJECT ("starting up") and PQPING_NO_RESPONSE (no socket yet) both mean: not yet.
    if (PQping(probe.c_str()) == PQPING_OK) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      shutdown(SIGQUIT);
      throw std::runtime_error("postgres did not accept connections within " +
                               std::to_string(kStartTimeout.count()) + "s; server.log ends with:\n" +
                               log_tail());
    }
    std::this_thread::sleep_for(10ms);
  }
}

// SIGINT is PostgreSQL's fast shutdown and SIGQUIT its immediate shutdown (the signals pg_ctl
// sends for -m fast and -m immediate). The postmaster exits only after all its backends have.
void PgServer::shutdown(int signal_number) {
  if (postmaster_ <= 0) return;
  const pid_t pid = std::exchange(postmaster_, -1);
  kill(pid, signal_number);
  const auto timeout = signal_number == SIGQUIT ? kImmediateStopTimeout : kFastStopTimeout;
  if (!wait_for_exit(pid, timeout)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

void PgServer::remove_directory() noexcept {
  if (directory_.empty()) return;
  std::error_code ignored;
  fs::remove_all(directory_, ignored);
}

std::string PgServer::conninfo(const std::string& dbname) const {
  return "host=" + conninfo_value(directory_.string()) + " port=" + std::to_string(port_) +
         " user=postgres dbname=" + conninfo_value(dbname);
}

std::string PgServer::url(const std::string& dbname) const {
  return "postgresql:///" + percent_encode(dbname) + "?host=" + percent_encode(directory_.string()) +
         "&port=" + std::to_string(port_) + "&user=postgres";
}

const std::filesystem::path& PgServer::directory() const { return directory_; }

int PgServer::port() const { return port_; }

// NOLINTNEXTLINE(readability-make-member-function-const): it changes the server, if not the object
std::string PgServer::create_database(const std::string& name) {
  pqxx::connection connection{conninfo()};
  pqxx::nontransaction tx{connection};
  tx.exec("CREATE DATABASE " + connection.quote_name(name));
  tx.commit();
  return name;
}

void PgServer::execute(const std::string& sql, const std::string& dbname) const {
  pqxx::connection connection{conninfo(dbname)};
  pqxx::nontransaction tx{connection};
  tx.exec(sql);
  tx.commit();
}

std::vector<std::vector<std::optional<std::string>>> PgServer::query(const std::string& sql,
                                                                     const std::string& dbname) const {
  pqxx::connection connection{conninfo(dbname)};
  pqxx::nontransaction tx{connection};
  const pqxx::result result = tx.exec(sql);
  tx.commit();
  std::vector<std::vector<std::optional<std::string>>> rows;
  rows.reserve(result.size());
  for (const auto& row : result) {
    auto& values = rows.emplace_back();
    values.reserve(row.size());
    for (const auto& field : row) {
      if (field.is_null()) {
        values.emplace_back(std::nullopt);
      } else {
        values.emplace_back(std::string(field.c_str(), field.size()));
      }
    }
  }
  return rows;
}

std::string PgServer::scalar(const std::string& sql, const std::string& dbname) const {
  const auto rows = query(sql, dbname);
  if (rows.empty() || rows.front().empty())
    throw std::runtime_error("scalar(): no value returned by: " + sql);
  return rows.front().front().value_or("");
}

void PgServer::stop() { shutdown(SIGINT); }

void PgServer::start() {
  if (running()) return;
  launch();
}

bool PgServer::running() const { return postmaster_ > 0; }

std::string PgServer::log_tail(std::size_t lines) const { return tail_of(directory_ / "server.log", lines); }

}  // namespace retentiond::testing

#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace retentiond::testing {

/// A throwaway PostgreSQL cluster owned by one test case.
///
/// The constructor creates a cluster in a fresh temporary directory (under $TMPDIR, else /tmp):
/// a copy of a template that the first PgServer on the machine made with initdb and left in the
/// same temp directory as retentiond-pg-template-* (initdb itself is the fallback). It then starts
/// the server with only a Unix socket in that directory (listen_addresses = '', so no TCP
/// port is ever bound and parallel tests cannot collide) and waits until it accepts connections.
/// The destructor shuts the server down immediately and removes the directory, also when the
/// test failed or threw. Settings chosen for speed and reproducibility: fsync and
/// synchronous_commit off, TimeZone UTC, every statement logged (see log_tail()).
///
/// The postmaster runs as a direct child of the test process (not daemonised through pg_ctl),
/// with a parent-death signal: when the test binary crashes or is killed by a ctest timeout, its
/// servers shut down instead of lingering. Construct a PgServer on a thread that outlives it
/// (a test case body does).
///
/// When the test process runs as root, the cluster belongs to the OS user `postgres` and initdb
/// and postgres run as that user, since PostgreSQL refuses to run as root. Binaries are looked up
/// in $RETENTIOND_TEST_PG_BINDIR, else next to the `initdb` found on PATH, else in the highest
/// /usr/lib/postgresql/<version>/bin.
class PgServer {
 public:
  /// Throws std::runtime_error, with the tail of the initdb or server log, when the cluster
  /// cannot be created or started.
  PgServer();
  /// A hot standby of `primary`, streaming from it: its data directory comes from
  /// `pg_basebackup -R` (so it starts in recovery), in a directory of its own like any server.
  struct StandbyOf {
    const PgServer& primary;
  };
  explicit PgServer(StandbyOf standby);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;
  PgServer(PgServer&&) = delete;
  PgServer& operator=(PgServer&&) = delete;

  /// libpq key=value form: "host=DIR port=P user=postgres dbname=NAME".
  [[nodiscard]] std::string conninfo(const std::string& dbname = "postgres") const;
  /// libpq URI form: "postgresql:///NAME?host=%2Ftmp%2F...&port=P&user=postgres".
  [[nodiscard]] std::string url(const std::string& dbname = "postgres") const;
  /// The Unix socket directory, which is also the root of everything this server owns.
  [[nodiscard]] const std::filesystem::path& directory() const;
  [[nodiscard]] int port() const;

  /// CREATE DATABASE name (quoted as an identifier); returns name.
  std::string create_database(const std::string& name);
  /// Runs sql (one or several statements) outside any explicit transaction, on a connection of
  /// its own. Database errors propagate as pqxx exceptions.
  void execute(const std::string& sql, const std::string& dbname = "postgres") const;
  /// Runs sql and returns every row as text; NULL is std::nullopt.
  [[nodiscard]] std::vector<std::vector<std::optional<std::string>>> query(
      const std::string& sql, const std::string& dbname = "postgres") const;
  /// First column of the first row as text, "" for NULL. Throws std::runtime_error when the
  /// statement returns no row.
  [[nodiscard]] std::string scalar(const std::string& sql, const std::string& dbname = "postgres") const;

  /// Fast shutdown (what `pg_ctl stop -m fast` does): sessions are disconnected, data is kept.
  /// For outage tests; a no-op when already stopped.
  void stop();
  /// Starts the server again after stop() and waits until it accepts connections.
  void start();
  [[nodiscard]] bool running() const;
  /// Promotes a standby (pg_promote, waiting for it): it leaves recovery and accepts writes.
  void promote() const;

  /// The last `lines` lines of the server log (startup messages, errors, every statement).
  [[nodiscard]] std::string log_tail(std::size_t lines = 40) const;

 private:
  void prepare_directory();
  bool copy_template(const std::filesystem::path& base);
  void initdb(const std::filesystem::path& data, const std::filesystem::path& log) const;
  void configure();
  void launch();
  void shutdown(int signal_number);
  void remove_directory() noexcept;

  std::filesystem::path directory_;
  std::filesystem::path bindir_;
  int port_ = 0;
  pid_t postmaster_ = -1;
  std::optional<uid_t> run_as_uid_;
  gid_t run_as_gid_ = 0;
};

}  // namespace retentiond::testing

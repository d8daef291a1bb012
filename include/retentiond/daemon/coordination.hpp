#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include <pqxx/connection>

namespace retentiond {

/// The leader lease in the retention schema: among daemons on one database, the holder of the
/// "scheduler" lease runs the schedule. Times come from the database's clock, so daemons on
/// hosts with skewed clocks still agree on who leads.
class LeaderLease {
 public:
  LeaderLease(std::string schema, std::string holder, std::chrono::milliseconds ttl);

  /// Renews the lease when this daemon holds it, takes it when it is free or expired; true
  /// when this daemon leads afterwards.
  bool acquire_or_renew(pqxx::connection& connection);
  /// Gives the lease up at once (clean shutdown), so a follower need not wait for it to expire.
  void release(pqxx::connection& connection);
  [[nodiscard]] const std::string& holder() const { return holder_; }

 private:
  std::string table_;
  std::string holder_;
  std::chrono::milliseconds ttl_;
};

/// Per-policy schedule state shared by all daemons (`policy_state`).
class PolicyStateStore {
 public:
  explicit PolicyStateStore(std::string schema);

  struct Stored {
    std::optional<std::chrono::sys_seconds> last_started;    ///< by any daemon
    std::optional<std::chrono::sys_seconds> last_succeeded;  ///< end of the last successful run
    int failures = 0;                                        ///< failed runs in a row
    std::optional<std::chrono::sys_seconds> next_retry;      ///< when the next retry is due
  };
  /// What the table says about each policy that has run.
  [[nodiscard]] std::map<std::string, Stored> read(pqxx::connection& connection);
  void started(pqxx::connection& connection, const std::string& policy_id, const std::string& instance);
  /// `status` succeeded also sets last_succeeded_at.
  /// `failures`: consecutive failed runs; `retry_at`: when the next retry is due, if one is.
  void finished(pqxx::connection& connection, const std::string& policy_id, const std::string& status,
                const std::optional<std::string>& error, std::chrono::sys_seconds next_run, int failures,
                std::optional<std::chrono::sys_seconds> retry_at);
  /// A run outside the schedule (`run --once`) of a policy that began at `started`: its last
  /// start, end, status and error, and on success its last success (the failure streak and any
  /// pending retry end with it). The schedule's own columns (next run) stay the daemon's.
  void record_run(pqxx::connection& connection, const std::string& policy_id, std::chrono::sys_seconds started,
                  const std::string& status, const std::optional<std::string>& error, const std::string& instance);

 private:
  std::string table_;
};

/// The channel that `setup`'s trigger notifies on every policy change (payload: the schema).
inline constexpr const char* kPolicyChannel = "retentiond_policies";

}  // namespace retentiond

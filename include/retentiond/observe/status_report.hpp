#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "retentiond/config/config.hpp"

namespace retentiond {

/// What `retentiond status` and the listener's /status show: who leads and, per policy, how its
/// runs went and what is waiting. Read from the database, so any host sees the same.
struct StatusReport {
  struct Leader {
    std::string instance;
    std::string expires_at;
    bool active = false;  ///< the lease has not expired
  };
  struct PolicyRow {
    std::string id, table, strategy, schedule;
    bool enabled = true;
    std::optional<std::string> last_started, last_finished, last_status, last_error, last_succeeded, next_run;
    int failures = 0;                       ///< failed runs in a row
    std::optional<std::string> next_retry;  ///< when a failed run is retried, if it is
    std::optional<std::size_t> pending;     ///< actions a run would take now; none when not counted
    std::optional<std::string> plan_error;
    /// Why the stored row is invalid (it never runs until edited), when it is.
    std::optional<std::string> invalid_reason;
  };
  std::string schema;
  int schema_version = 0;
  std::optional<Leader> leader;
  std::vector<PolicyRow> policies;
};

/// Reads the report in read-only transactions; `count_pending` adds a dry-run plan of every
/// policy (one catalog read), which is the costly part on huge catalogs.
[[nodiscard]] StatusReport read_status(pqxx::connection& connection, const Config& config,
                                       bool count_pending);

/// The `status -o json` document (also served at /status).
[[nodiscard]] std::string status_json(const StatusReport& report);

/// The document for a database that cannot be reached: {"database": {"up": false, ...}}.
[[nodiscard]] std::string status_json_unreachable(const std::string& schema, const std::string& error);

}  // namespace retentiond

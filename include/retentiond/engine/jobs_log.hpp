#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>
#include <pqxx/transaction_base>

#include "retentiond/engine/plan.hpp"

namespace retentiond {

/// How an action ended, as jobs_log records it.
struct JobOutcome {
  std::int64_t id = 0;
  std::string status;  ///< succeeded | failed | skipped | abandoned
  std::optional<std::int64_t> rows;
  std::optional<std::int64_t> bytes;
  std::optional<std::string> error;
};

/// Writes `<schema>.jobs_log`: a row per action, inserted `running` in its own transaction
/// before the action starts, so that a crash leaves evidence, and finished after it. Rows are
/// written in batches (one statement per group of actions) so that the audit trail costs a
/// constant number of round trips per transaction of work, not one per partition.
class JobsLog {
 public:
  JobsLog(pqxx::connection& connection, const std::string& schema, std::string run_id, std::string instance);

  /// Inserts a `running` row for each action; returns their ids in the same order.
  std::vector<std::int64_t> start(const std::vector<const Action*>& actions);
  /// A policy that failed before any action (missing table, missing tablespace): one failed row.
  void record_policy_error(const PolicyPlan& plan);
  void finish(const std::vector<JobOutcome>& outcomes);
  /// The same inside the action's own transaction, so the outcome commits atomically with the
  /// work it describes and costs no commit (no WAL flush) of its own.
  void finish(pqxx::transaction_base& tx, const std::vector<JobOutcome>& outcomes);
  /// Progress of a long action (rows deleted so far), so `jobs` shows it while it runs.
  void progress(std::int64_t id, std::int64_t rows);
  /// Rows left `running` by a process that no longer has a session on the database become
  /// `abandoned`. Returns how many.
  int abandon_orphans();

  /// `host:pid`, also this process's application_name suffix, so orphans can be told apart from
  /// rows of a live instance on another host.
  [[nodiscard]] static std::string this_instance();
  /// The text stored in jobs_log.sql: the statements, and the parameters when there are some.
  [[nodiscard]] static std::string sql_text(const Action& action);

 private:
  pqxx::connection& connection_;
  std::string table_;
  std::string run_id_;
  std::string instance_;
};

}  // namespace retentiond

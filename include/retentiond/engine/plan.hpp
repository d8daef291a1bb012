#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "retentiond/core/time.hpp"
#include "retentiond/policy/policy.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {

enum class ActionKind {
  drop_partition,      ///< DROP TABLE partition (batched several per transaction)
  detach_partition,    ///< ALTER TABLE parent DETACH PARTITION [CONCURRENTLY | FINALIZE], optionally then DROP
  set_tablespace,      ///< ALTER TABLE partition SET TABLESPACE target
  delete_rows,         ///< plain table: DELETE in bounded batches, each its own transaction
  snapshot_partition,  ///< COPY to an archive, verify, then DROP
};

/// One unit of work, with the exact SQL it runs. Everything execution needs was decided by the
/// planner, so the executor makes no choices of its own and a dry run shows exactly what a real
/// run would do.
struct Action {
  std::string policy_id;
  std::string strategy;
  QualifiedName table;
  std::optional<QualifiedName> partition;  ///< none for plain-table deletes
  ActionKind kind = ActionKind::drop_partition;
  std::string action;  ///< jobs_log.action: drop, detach, set_tablespace, delete_rows, snapshot
  /// The statements, in order, as they are sent; `$1`-style placeholders take `params`.
  std::vector<std::string> sql;
  std::vector<std::string> params;
  std::string reason;  ///< why it is expired: `upper bound 2024-01-02T00:00:00Z <= cutoff ...`
  std::optional<std::chrono::sys_seconds> lower;
  std::optional<std::chrono::sys_seconds> upper;
  std::int64_t size_bytes = 0;
  std::string target;           ///< tablespace or repository name
  std::int64_t batch_size = 0;  ///< delete_rows: rows per transaction
  /// drop_partition: consecutive drops with the same number (1, 2, ...) are one transaction
  /// and one statement, `DROP TABLE a, b, ...` (Dialect::drop_tables); each keeps its own `sql`
  /// for the audit and for the partition-at-a-time retry after a failed group.
  std::int64_t transaction = 0;
  std::chrono::milliseconds lock_timeout{0};  ///< 0: database default
  /// The first statement cannot run in a transaction block (DETACH ... CONCURRENTLY commits by
  /// itself); the others run after it, in one transaction.
  bool outside_transaction = false;
};

/// What an action works on, for people: its partition, or its table for a plain-table delete.
[[nodiscard]] inline std::string target_of(const Action& action) {
  return action.partition ? action.partition->display() : action.table.display();
}

/// A partition the planner looked at and left alone, and why (not expired, default partition,
/// unbounded, already in the target tablespace). Shown by dry runs and -o json.
struct Skip {
  QualifiedName partition;
  std::string reason;
};

struct PolicyPlan {
  Policy policy;
  std::chrono::sys_seconds cutoff{};
  std::vector<Action> actions;  ///< oldest first
  std::vector<Skip> skipped;
  /// A problem that stops the whole policy (table gone, unsupported key type, missing
  /// tablespace): recorded as one failed job, the other policies go on.
  std::optional<std::string> error;
};

}  // namespace retentiond

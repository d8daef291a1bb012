#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include <pqxx/connection>

namespace retentiond {

struct AuditPruned {
  std::int64_t jobs_log = 0;
  std::int64_t policy_events = 0;
};

/// Deletes `jobs_log` rows that started before `cutoff` (except rows still `running`) and
/// `policy_events` rows from before it, `batch` rows per transaction, so that a backlog of
/// millions never holds one long transaction, bloats the WAL in one go, or blocks `jobs`.
/// Stops between batches once `stop` is set (may be null).
AuditPruned prune_audit(pqxx::connection& connection, const std::string& schema,
                        std::chrono::sys_seconds cutoff, std::int64_t batch,
                        const std::atomic<bool>* stop = nullptr);

}  // namespace retentiond

#include "retentiond/db/audit_pruning.hpp"

#include <pqxx/pqxx>

#include "retentiond/sql/identifier.hpp"

namespace retentiond {
namespace {

// One table, batch by batch, each batch its own transaction.
std::int64_t prune(pqxx::connection& connection, const std::string& sql, std::chrono::sys_seconds cutoff,
                   std::int64_t batch, const std::atomic<bool>* stop) {
  std::int64_t total = 0;
  for (;;) {
    if (stop != nullptr && stop->load()) break;
    pqxx::work tx(connection);
    const auto deleted = static_cast<std::int64_t>(
        tx.exec_params(sql, static_cast<long long>(cutoff.time_since_epoch().count()), batch)
            .affected_rows());
    tx.commit();
    total += deleted;
    if (deleted < batch) break;
  }
  return total;
}

}  // namespace

AuditPruned prune_audit(pqxx::connection& connection, const std::string& schema,
                        std::chrono::sys_seconds cutoff, std::int64_t batch, const std::atomic<bool>* stop) {
  const std::string s = quote_identifier(schema);
  // The inner SELECT walks the started_at (at) index from the oldest row: a batch costs the
  // rows it deletes, not a scan of the table.
  AuditPruned pruned;
  pruned.jobs_log = prune(connection,
                          "DELETE FROM " + s + ".jobs_log WHERE id IN (SELECT id FROM " + s +
                              ".jobs_log WHERE started_at < to_timestamp($1) AND status <> 'running'"
                              " ORDER BY started_at LIMIT $2)",
                          cutoff, batch, stop);
  pruned.policy_events = prune(connection,
                               "DELETE FROM " + s + ".policy_events WHERE id IN (SELECT id FROM " + s +
                                   ".policy_events WHERE at < to_timestamp($1) ORDER BY at LIMIT $2)",
                               cutoff, batch, stop);
  return pruned;
}

}  // namespace retentiond

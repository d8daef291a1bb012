#include "retentiond/daemon/coordination.hpp"

#include <pqxx/pqxx>

#include "retentiond/sql/identifier.hpp"

namespace retentiond {

LeaderLease::LeaderLease(std::string schema, std::string holder, std::chrono::milliseconds ttl)
    : table_(quote_identifier(schema) + ".leases"), holder_(std::move(holder)), ttl_(ttl) {}

bool LeaderLease::acquire_or_renew(pqxx::connection& connection) {
  pqxx::work tx(connection);
  // One statement, so two daemons racing for a free lease cannot both win: the loser's
  // ON CONFLICT sees the winner's row, no longer expired and not its own.
  const auto result = tx.exec_params(
      "INSERT INTO " + table_ +
          " AS l (name, holder, acquired_at, renewed_at, expires_at)"
          " VALUES ('scheduler', $1, now(), now(), now() + $2 * interval '1 millisecond')"
          " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
          "   acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at ELSE now() END,"
          "   renewed_at = now(), expires_at = excluded.expires_at"
          " WHERE l.holder = excluded.holder OR l.expires_at <= now()"
          " RETURNING holder",
      holder_, static_cast<long long>(ttl_.count()));
  tx.commit();
  return !result.empty();
}

void LeaderLease::release(pqxx::connection& connection) {
  pqxx::work tx(connection);
  tx.exec_params0("UPDATE " + table_ + " SET expires_at = now() WHERE name = 'scheduler' AND holder = $1",
                  holder_);
  tx.commit();
}

PolicyStateStore::PolicyStateStore(std::string schema) : table_(quote_identifier(schema) + ".policy_state") {}

std::map<std::string, PolicyStateStore::Stored> PolicyStateStore::read(pqxx::connection& connection) {
  const auto instant = [](const pqxx::field& f) -> std::optional<std::chrono::sys_seconds> {
    if (f.is_null()) return std::nullopt;
    return std::chrono::sys_seconds(std::chrono::seconds(f.as<long long>()));
  };
  std::map<std::string, Stored> out;
  pqxx::read_transaction tx(connection);
  for (const auto& row : tx.exec("SELECT policy_id, extract(epoch FROM last_started_at)::bigint,"
                                 " extract(epoch FROM last_succeeded_at)::bigint, failures,"
                                 " extract(epoch FROM next_retry_at)::bigint FROM " +
                                 table_)) {
    out.emplace(row[0].as<std::string>(),
                Stored{instant(row[1]), instant(row[2]), row[3].as<int>(), instant(row[4])});
  }
  return out;
}

void PolicyStateStore::started(pqxx::connection& connection, const std::string& policy_id,
                               const std::string& instance) {
  pqxx::work tx(connection);
  // A policy removed a moment ago has no row to refer to: nothing to record then.
  tx.exec_params0(
      "INSERT INTO " + table_ +
          " (policy_id, last_started_at, last_status, updated_by)"
          " SELECT $1, now(), 'running', $2 WHERE EXISTS (SELECT 1 FROM " +
          table_.substr(0, table_.rfind('.')) +
          ".policies WHERE id = $1)"
          " ON CONFLICT (policy_id) DO UPDATE SET last_started_at = now(), last_status = 'running',"
          "   updated_by = excluded.updated_by",
      policy_id, instance);
  tx.commit();
}

void PolicyStateStore::finished(pqxx::connection& connection, const std::string& policy_id,
                                const std::string& status, const std::optional<std::string>& error,
                                std::chrono::sys_seconds next_run, int failures,
                                std::optional<std::chrono::sys_seconds> retry_at) {
  pqxx::work tx(connection);
  tx.exec_params0(
      "UPDATE " + table_ +
          " SET last_finished_at = now(), last_status = $2, last_error = NULLIF($3, ''),"
          "     next_run_at = to_timestamp($4),"
          "     last_succeeded_at = CASE WHEN $2 = 'succeeded' THEN now() ELSE last_succeeded_at END,"
          "     failures = $5, next_retry_at = to_timestamp(NULLIF($6, -1))"
          " WHERE policy_id = $1",
      policy_id, status, error.value_or(""), static_cast<long long>(next_run.time_since_epoch().count()),
      failures, static_cast<long long>(retry_at ? retry_at->time_since_epoch().count() : -1));
  tx.commit();
}

void PolicyStateStore::record_run(pqxx::connection& connection, const std::string& policy_id,
                                  std::chrono::sys_seconds started, const std::string& status,
                                  const std::optional<std::string>& error, const std::string& instance) {
  pqxx::work tx(connection);
  // As in started(): a policy removed meanwhile has no row to refer to.
  tx.exec_params0(
      "INSERT INTO " + table_ +
          " AS s (policy_id, last_started_at, last_finished_at, last_status, last_error, last_succeeded_at,"
          "       updated_by)"
          " SELECT $1, to_timestamp($2), now(), $3, NULLIF($4, ''), CASE WHEN $3 = 'succeeded' THEN now() END, $5"
          "  WHERE EXISTS (SELECT 1 FROM " +
          table_.substr(0, table_.rfind('.')) +
          ".policies WHERE id = $1)"
          " ON CONFLICT (policy_id) DO UPDATE SET last_started_at = excluded.last_started_at,"
          "   last_finished_at = now(), last_status = $3, last_error = NULLIF($4, ''),"
          "   last_succeeded_at = CASE WHEN $3 = 'succeeded' THEN now() ELSE s.last_succeeded_at END,"
          "   failures = CASE WHEN $3 = 'succeeded' THEN 0 ELSE s.failures END,"
          "   next_retry_at = CASE WHEN $3 = 'succeeded' THEN NULL ELSE s.next_retry_at END, updated_by = $5",
      policy_id, static_cast<long long>(started.time_since_epoch().count()), status, error.value_or(""), instance);
  tx.commit();
}

}  // namespace retentiond

#include "retentiond/engine/jobs_log.hpp"

#include <unistd.h>

#include <algorithm>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

namespace retentiond {
namespace {

constexpr const char* application_prefix = "retentiond ";

nlohmann::json optional_json(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

template <typename T>
nlohmann::json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

}  // namespace

JobsLog::JobsLog(pqxx::connection& connection, const std::string& schema, std::string run_id,
                 std::string instance)
    : connection_(connection),
      table_(quote_identifier(schema) + ".jobs_log"),
      run_id_(std::move(run_id)),
      instance_(std::move(instance)) {
  pqxx::nontransaction session(connection_);
  session.exec("SET application_name = " + session.quote(application_prefix + instance_));
}

std::string JobsLog::this_instance() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
  return std::string(host) + ":" + std::to_string(getpid());
}

std::string JobsLog::sql_text(const Action& action) {
  if (action.sql.size() == 1 && action.params.empty()) return action.sql.front();
  std::string text;
  for (const auto& statement : action.sql) {
    if (!text.empty()) text += ";\n";
    text += statement;
  }
  for (std::size_t i = 0; i < action.params.size(); ++i) {
    text += i == 0 ? "\n-- $" : ", $";
    text += std::to_string(i + 1);
    text += " = '";
    text += action.params[i];
    text += '\'';
  }
  return text;
}

std::vector<std::int64_t> JobsLog::start(const std::vector<const Action*>& actions) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Action* a : actions) {
    rows.push_back({a->policy_id, a->strategy, a->table.display(),
                    a->partition ? nlohmann::json(a->partition->display()) : nlohmann::json(), a->action,
                    sql_text(*a)});
  }
  pqxx::work tx(connection_);
  // No WAL flush of its own: the action's transaction, which commits synchronously right after,
  // flushes the WAL past this row. Only a server crash in between could lose it, and then the
  // action's transaction is lost too, so the trail never shows less than what happened.
  tx.exec0("SET LOCAL synchronous_commit = off");
  auto result = tx.exec_params(
      "INSERT INTO " + table_ +
          " (run_id, policy_id, strategy, table_name, \"partition\", action, sql, status, instance)"
          " SELECT $1, r.item->>0, r.item->>1, r.item->>2, r.item->>3, r.item->>4, r.item->>5, 'running', $2"
          " FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS r(item, ord) ORDER BY r.ord RETURNING id",
      run_id_, instance_, rows.dump());
  tx.commit();
  // Ids come from one sequence in insertion order, which is the order of the actions.
  std::vector<std::int64_t> ids;
  for (const auto& row : result) ids.push_back(row[0].as<std::int64_t>());
  std::sort(ids.begin(), ids.end());
  return ids;
}

void JobsLog::record_policy_error(const PolicyPlan& plan) {
  pqxx::work tx(connection_);
  tx.exec_params0(
      "INSERT INTO " + table_ +
          " (run_id, policy_id, strategy, table_name, action, status, started_at, finished_at, error,"
          " instance) VALUES ($1, $2, $3, $4, 'plan', 'failed', now(), now(), $5, $6)",
      run_id_, plan.policy.id, plan.policy.strategy, plan.policy.table.display(), plan.error.value_or(""),
      instance_);
  tx.commit();
}

void JobsLog::finish(const std::vector<JobOutcome>& outcomes) {
  if (outcomes.empty()) return;
  pqxx::work tx(connection_);
  finish(tx, outcomes);
  tx.commit();
}

void JobsLog::finish(pqxx::transaction_base& tx, const std::vector<JobOutcome>& outcomes) {
  if (outcomes.empty()) return;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& o : outcomes) {
    rows.push_back({o.id, o.status, optional_json(o.rows), optional_json(o.bytes), optional_json(o.error)});
  }
  tx.exec_params0(
      "UPDATE " + table_ +
          " AS j SET status = r.item->>1, finished_at = now(), rows_affected = (r.item->>2)::bigint,"
          " bytes = (r.item->>3)::bigint, error = r.item->>4"
          " FROM jsonb_array_elements($1::jsonb) AS r(item) WHERE j.id = (r.item->>0)::bigint",
      rows.dump());
}

void JobsLog::progress(std::int64_t id, std::int64_t rows) {
  pqxx::work tx(connection_);
  tx.exec_params0("UPDATE " + table_ + " SET rows_affected = $2 WHERE id = $1", id, rows);
  tx.commit();
}

int JobsLog::abandon_orphans() {
  pqxx::work tx(connection_);
  auto result = tx.exec_params(
      "UPDATE " + table_ +
          " SET status = 'abandoned', finished_at = now(),"
          " error = coalesce(error || '; ', '') || 'the process ended before the action finished'"
          // The server keeps 63 bytes of an application_name: a long host name (a cloud FQDN)
          // arrives cut, so the row's instance is cut the same way before comparing. Host
          // names are ASCII, so characters are bytes.
          " WHERE status = 'running' AND left($1 || instance, 63) NOT IN ("
          "   SELECT application_name FROM pg_catalog.pg_stat_activity WHERE application_name LIKE $1 || "
          "'%')",
      std::string(application_prefix));
  tx.commit();
  return static_cast<int>(result.affected_rows());
}

}  // namespace retentiond

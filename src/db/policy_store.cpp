#include "retentiond/db/policy_store.hpp"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "retentiond/core/error.hpp"
#include "retentiond/dialect/postgresql.hpp"
#include "retentiond/engine/table_eligibility.hpp"
#include "retentiond/policy/policy_conflicts.hpp"
#include "retentiond/sql/identifier.hpp"
#include "retentiond/strategy/strategy.hpp"

namespace retentiond {
namespace {

constexpr const char* policy_columns = R"sql(
  id, table_schema, table_name, strategy, ttl, partition_column, target, array_to_json(tags)::text,
  schedule, enabled, options::text,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))sql";

// Who made the change, as the database sees it: role and client address (`local` for a Unix
// socket), so the trail holds even when several hosts share one set of credentials.
constexpr const char* actor_sql = "current_user || '@' || coalesce(host(inet_client_addr()), 'local')";

// A row written by hand may hold anything: each field that does not parse is recorded in the
// policy's invalid_reason (the others kept), so one bad row fails its own policy only.
Policy policy_from_row(const pqxx::row& row) {
  Policy policy;
  std::vector<std::string> problems;
  auto attempt = [&](const char* field, auto&& parse) {
    try {
      parse();
    } catch (const Error& e) {
      problems.push_back(e.what());
    } catch (const nlohmann::json::exception&) {
      problems.push_back(std::string("malformed ") + field);
    } catch (const std::exception&) {
      problems.push_back(std::string("malformed ") + field);
    }
  };
  policy.id = row[0].as<std::string>();
  policy.table = {row[1].as<std::string>(), row[2].as<std::string>()};
  policy.strategy = row[3].as<std::string>();
  attempt("ttl", [&] {
    try {
      policy.ttl = parse_ttl(row[4].as<std::string>());
    } catch (...) {
      policy.raw_ttl = row[4].as<std::string>();
      throw;
    }
  });
  if (!row[5].is_null()) policy.partition_column = row[5].as<std::string>();
  if (!row[6].is_null()) policy.target = row[6].as<std::string>();
  attempt("tags", [&] {
    policy.tags = nlohmann::json::parse(row[7].as<std::string>()).get<std::vector<std::string>>();
  });
  if (!row[8].is_null()) policy.schedule = row[8].as<std::string>();
  policy.enabled = row[9].as<bool>();
  attempt("options", [&] {
    const auto options = nlohmann::json::parse(row[10].as<std::string>());
    if (!options.is_object()) {
      policy.raw_options = row[10].as<std::string>();
      throw usage_error("invalid options " + quote_input(*policy.raw_options) + ": not a JSON object");
    }
    for (const auto& [key, value] : options.items()) {
      policy.options[key] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  });
  policy.created_at = row[11].as<std::string>();
  policy.updated_at = row[12].as<std::string>();
  if (problems.empty()) attempt("policy", [&] { validate_policy(policy); });
  if (!problems.empty()) {
    std::string reason;
    for (const auto& problem : problems) reason += (reason.empty() ? "" : "; ") + problem;
    policy.invalid_reason = reason;
  }
  return policy;
}

std::optional<std::string> json_text(const std::optional<Policy>& policy) {
  if (!policy) return std::nullopt;
  return policy_to_json(*policy).dump();
}

}  // namespace

PolicyStore::PolicyStore(pqxx::connection& connection, std::string schema)
    : connection_(connection),
      schema_(std::move(schema)),
      policies_(quote_identifier(schema_) + ".policies"),
      events_(quote_identifier(schema_) + ".policy_events") {}

PolicyStore::PolicyStore(pqxx::connection& connection, const Config& config)
    : PolicyStore(connection, config.database.schema) {
  repositories_.emplace();
  for (const auto& [name, repository] : config.snapshot.repositories) repositories_->insert(name);
}

namespace {

// Runs the catalog checks of a policy about to be written, in the writing transaction: the
// table by the rule planning applies (table_ineligibility), and the target.
void check_against_catalog(pqxx::transaction_base& tx, const Policy& policy, const std::string& schema,
                           const std::optional<std::set<std::string>>& repositories) {
  const auto facts = postgresql_table_facts(tx, {TableRequest{policy.table, policy.partition_column}});
  if (auto reason = table_ineligibility(facts.front(), policy, schema)) throw usage_error(*reason);
  check_options_for_table(policy, facts.front().partitioned);
  if (policy.strategy == "reallocate" && policy.target &&
      tx.exec_params("SELECT 1 FROM pg_catalog.pg_tablespace WHERE spcname = $1", *policy.target).empty()) {
    throw usage_error("tablespace " + quote_input(*policy.target) + " does not exist");
  }
  if (policy.strategy == "snapshot" && policy.target && repositories && !repositories->contains(*policy.target)) {
    throw usage_error("snapshot repository " + quote_input(*policy.target) +
                      " is not configured (snapshot.repositories)");
  }
}

// The other policies of the table must not undo this one (policy_conflict). An invalid row
// is no policy to conflict with: it never runs until an edit makes it valid, which checks it.
void check_conflicts(pqxx::transaction_base& tx, const std::string& policies, const Policy& policy) {
  std::vector<Policy> others;
  for (const auto& row : tx.exec_params(std::string("SELECT") + policy_columns + " FROM " + policies +
                                            " WHERE table_schema = $1 AND table_name = $2 AND id <> $3 ORDER BY id",
                                        policy.table.schema, policy.table.name, policy.id)) {
    Policy other = policy_from_row(row);
    if (!other.invalid_reason) others.push_back(std::move(other));
  }
  if (auto reason = policy_conflict(policy, others)) throw usage_error(*reason);
}

}  // namespace

std::vector<Policy> PolicyStore::list(const std::vector<std::string>& tags) {
  pqxx::read_transaction tx(connection_);
  auto rows = tx.exec_params(std::string("SELECT") + policy_columns + " FROM " + policies_ +
                                 " WHERE tags @> ARRAY(SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY id",
                             nlohmann::json(tags).dump());
  std::vector<Policy> policies;
  policies.reserve(rows.size());
  for (const auto& row : rows) policies.push_back(policy_from_row(row));
  return policies;
}

Policy PolicyStore::get(const std::string& id) {
  pqxx::read_transaction tx(connection_);
  auto rows = tx.exec_params(std::string("SELECT") + policy_columns + " FROM " + policies_ + " WHERE id = $1", id);
  if (rows.empty()) throw usage_error("policy \"" + id + "\" not found");
  return policy_from_row(rows[0]);
}

namespace {

void write_event(pqxx::transaction_base& tx, const std::string& events, const std::string& action,
                 const std::string& id, const std::optional<Policy>& before, const std::optional<Policy>& after) {
  tx.exec_params0("INSERT INTO " + events + " (action, policy_id, actor, before, after) VALUES ($1, $2, " +
                      actor_sql + ", $3::jsonb, $4::jsonb)",
                  action, id, json_text(before), json_text(after));
}

Policy read_locked(pqxx::transaction_base& tx, const std::string& policies, const std::string& id) {
  auto rows = tx.exec_params(std::string("SELECT") + policy_columns + " FROM " + policies + " WHERE id = $1 FOR UPDATE",
                             id);
  if (rows.empty()) throw usage_error("policy \"" + id + "\" not found");
  return policy_from_row(rows[0]);
}

}  // namespace

Policy PolicyStore::add(Policy policy) {
  pqxx::work tx(connection_);
  check_against_catalog(tx, policy, schema_, repositories_);
  const bool generated = policy.id.empty();
  if (generated) {
    const std::string base = default_policy_id(policy.table, policy.strategy);
    policy.id = base;
    for (int n = 2; !tx.exec_params("SELECT 1 FROM " + policies_ + " WHERE id = $1", policy.id).empty(); ++n) {
      policy.id = base + "-" + std::to_string(n);
    }
  }
  validate_policy(policy);
  check_conflicts(tx, policies_, policy);
  auto inserted = tx.exec_params(
      "INSERT INTO " + policies_ +
          " (id, table_schema, table_name, strategy, ttl, partition_column, target, tags, schedule, enabled, options)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7, ARRAY(SELECT jsonb_array_elements_text($8::jsonb)), $9, $10,"
          " $11::jsonb) ON CONFLICT (id) DO NOTHING RETURNING" +
          policy_columns,
      policy.id, policy.table.schema, policy.table.name, policy.strategy, policy.ttl.to_string(),
      policy.partition_column, policy.target, nlohmann::json(policy.tags).dump(), policy.schedule, policy.enabled,
      nlohmann::json(policy.options).dump());
  if (inserted.empty()) throw usage_error("policy \"" + policy.id + "\" already exists");
  Policy stored = policy_from_row(inserted[0]);
  write_event(tx, events_, "create", stored.id, std::nullopt, stored);
  tx.commit();
  return stored;
}

bool PolicyStore::update(const Policy& updated) {
  validate_policy(updated);
  pqxx::work tx(connection_);
  Policy before = read_locked(tx, policies_, updated.id);
  Policy candidate = updated;
  candidate.invalid_reason = std::nullopt;  // validated above: an edit can repair a hand-written row
  candidate.created_at = before.created_at;
  candidate.updated_at = before.updated_at;
  if (candidate == before) return false;
  check_against_catalog(tx, candidate, schema_, repositories_);
  check_conflicts(tx, policies_, candidate);
  auto rows = tx.exec_params(
      "UPDATE " + policies_ +
          " SET table_schema = $2, table_name = $3, strategy = $4, ttl = $5, partition_column = $6, target = $7,"
          " tags = ARRAY(SELECT jsonb_array_elements_text($8::jsonb)), schedule = $9, enabled = $10,"
          " options = $11::jsonb, updated_at = now() WHERE id = $1 RETURNING" +
          policy_columns,
      candidate.id, candidate.table.schema, candidate.table.name, candidate.strategy, candidate.ttl.to_string(),
      candidate.partition_column, candidate.target, nlohmann::json(candidate.tags).dump(), candidate.schedule,
      candidate.enabled, nlohmann::json(candidate.options).dump());
  Policy after = policy_from_row(rows[0]);
  // A change of nothing but the enabled flag is recorded as what it is, so the trail reads
  // "disable" rather than a generic edit.
  Policy toggled = before;
  toggled.enabled = candidate.enabled;
  std::string action = "edit";
  if (toggled == candidate) action = candidate.enabled ? "enable" : "disable";
  write_event(tx, events_, action, after.id, before, after);
  tx.commit();
  return true;
}

bool PolicyStore::set_enabled(const std::string& id, bool enabled) {
  pqxx::work tx(connection_);
  Policy before = read_locked(tx, policies_, id);
  if (before.enabled == enabled) return false;
  auto rows = tx.exec_params("UPDATE " + policies_ + " SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING" +
                                 policy_columns,
                             id, enabled);
  write_event(tx, events_, enabled ? "enable" : "disable", id, before, policy_from_row(rows[0]));
  tx.commit();
  return true;
}

void PolicyStore::remove(const std::vector<std::string>& ids) {
  pqxx::work tx(connection_);
  std::vector<Policy> doomed;
  doomed.reserve(ids.size());
  for (const auto& id : ids) doomed.push_back(read_locked(tx, policies_, id));
  for (const auto& policy : doomed) {
    tx.exec_params0("DELETE FROM " + policies_ + " WHERE id = $1", policy.id);
    write_event(tx, events_, "remove", policy.id, policy, std::nullopt);
  }
  tx.commit();
}

}  // namespace retentiond

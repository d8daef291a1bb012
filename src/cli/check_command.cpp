#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/core/json_text.hpp"
#include "retentiond/db/migrations.hpp"
#include "retentiond/db/policy_store.hpp"
#include "retentiond/db/schema.hpp"
#include "retentiond/engine/run.hpp"
#include "retentiond/sql/identifier.hpp"

namespace po = boost::program_options;

namespace retentiond {
namespace {

struct CheckRow {
  std::string check;
  std::string status;  ///< OK | WARN | FAIL
  std::string detail;
};

// What the catalog says about a policy's table and the current user's rights on it.
constexpr const char* table_rights_sql = R"sql(
SELECT c.relkind::text,
       pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE'),
       pg_catalog.has_table_privilege(c.oid, 'SELECT'),
       pg_catalog.has_table_privilege(c.oid, 'DELETE'),
       (SELECT count(*) FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhrelid
         WHERE i.inhparent = c.oid AND NOT pg_catalog.pg_has_role(current_user, p.relowner, 'USAGE'))
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2)sql";

// Collects what planning says about each policy, as a dry run would plan it now.
class PlanErrors final : public RunObserver {
 public:
  void finished(const PolicyPlan& plan, const std::vector<ActionResult>&) override {
    results.emplace(plan.policy.id, plan.error);
  }
  std::map<std::string, std::optional<std::string>> results;
};

void check_policy(pqxx::connection& connection, const Config& config, const Policy& policy,
                  const std::optional<std::string>& plan_error, std::vector<CheckRow>& rows) {
  const std::string name = "policy " + policy.id;
  const std::string table = policy.table.display();
  pqxx::read_transaction tx(connection);
  const auto found = tx.exec_params(table_rights_sql, policy.table.schema, policy.table.name);
  if (found.empty()) {
    rows.push_back({name + ": table", "FAIL", table + " does not exist"});
    return;
  }
  const auto& r = found[0];
  const std::string kind = r[0].as<std::string>();
  const bool owner = r[1].as<bool>();
  const bool can_select = r[2].as<bool>();
  const bool can_delete = r[3].as<bool>();
  const auto partitions_not_owned = r[4].as<long long>();
  const bool partitioned = kind == "p";
  rows.push_back({name + ": table", partitioned || kind == "r" ? "OK" : "FAIL",
                  table + (partitioned   ? " is partitioned"
                           : kind == "r" ? " is a plain table"
                                         : " is not a table")});

  std::vector<std::string> missing;
  const bool needs_owner = partitioned;  // DROP, DETACH, SET TABLESPACE on partitions
  if (needs_owner && partitions_not_owned > 0) {
    missing.push_back(std::to_string(partitions_not_owned) + " partition(s) of " + table + " not owned by " +
                      tx.exec1("SELECT current_user")[0].as<std::string>());
  }
  if (partitioned &&
      (policy.options.contains("detach") || policy.options.contains("detach_concurrently") ||
       policy.options.contains("keep_table")) &&
      !owner) {
    missing.push_back("DETACH PARTITION needs ownership of " + table);
  }
  if (!partitioned && policy.strategy == "delete" && !(can_select && can_delete)) {
    missing.push_back("DELETE and SELECT on " + table);
  }
  if (policy.strategy == "snapshot" && !can_select) missing.push_back("SELECT on " + table + " (COPY)");
  if (missing.empty()) {
    rows.push_back({name + ": privileges", "OK", "what strategy " + policy.strategy + " needs on " + table});
  } else {
    std::string text;
    for (const auto& m : missing) text += (text.empty() ? "missing: " : "; ") + m;
    rows.push_back({name + ": privileges", "FAIL", text});
  }

  if (policy.strategy == "reallocate" && policy.target) {
    const auto ts = tx.exec_params(
        "SELECT pg_catalog.has_tablespace_privilege(oid, 'CREATE') FROM pg_catalog.pg_tablespace WHERE "
        "spcname = $1",
        *policy.target);
    if (ts.empty()) {
      rows.push_back({name + ": tablespace", "FAIL", "tablespace \"" + *policy.target + "\" does not exist"});
    } else if (!ts[0][0].as<bool>()) {
      rows.push_back(
          {name + ": tablespace", "FAIL", "missing: CREATE on tablespace \"" + *policy.target + "\""});
    } else {
      rows.push_back({name + ": tablespace", "OK", "\"" + *policy.target + "\" exists and is writable"});
    }
  }
  if (policy.strategy == "snapshot" && policy.target) {
    const auto repository = config.snapshot.repositories.find(*policy.target);
    if (repository == config.snapshot.repositories.end()) {
      rows.push_back(
          {name + ": repository", "FAIL", "repository \"" + *policy.target + "\" is not configured"});
    } else {
      const std::filesystem::path path = repository->second.path;
      std::error_code error;
      const bool is_dir = std::filesystem::is_directory(path, error);
      const bool writable = is_dir && ::access(path.c_str(), W_OK | X_OK) == 0;
      rows.push_back({name + ": repository", writable ? "OK" : "FAIL",
                      path.string() + (writable ? " is a writable directory"
                                       : is_dir ? " is not writable by this user"
                                                : " does not exist")});
    }
  }
  if (plan_error) {
    rows.push_back({name + ": plan", "FAIL", *plan_error});
  } else if (!policy.enabled) {
    rows.push_back({name + ": plan", "WARN", "the policy is disabled"});
  } else {
    rows.push_back({name + ": plan", "OK", "plans against the live catalog"});
  }
}

}  // namespace

ExitCode run_check_command(Context& context) {
  po::options_description options("Options");
  if (context.help) {
    std::cout << command_help(
        "check",
        "Checks what retention needs, one OK/WARN/FAIL row per check: the connection, the\n"
        "server, the retention schema, the audit tables, and per policy its table, the\n"
        "privileges its strategy needs, its tablespace or repository, and its plan.\n"
        "Exit code 1 when a check FAILs. Changes nothing.",
        options);
    return ExitCode::ok;
  }
  (void)parse_command_line(context.args, options, {});
  auto connection = context.open_database(/*require_schema=*/false);
  pqxx::nontransaction(*connection).exec("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
  const std::string& schema = context.config.database.schema;
  std::vector<CheckRow> rows;
  rows.push_back({"connection", "OK",
                  "connected as " +
                      pqxx::read_transaction(*connection).exec1("SELECT current_user")[0].as<std::string>()});
  const int server = connection->server_version();
  rows.push_back({"server", server >= 120000 ? "OK" : "WARN",
                  "PostgreSQL " + std::to_string(server / 10000) + "." + std::to_string(server % 10000) +
                      ", dialect postgresql" + (server >= 120000 ? "" : " (tested from 12 on)")});

  const int version = schema_version(*connection, schema);
  const int latest = latest_schema_version();
  if (version != latest) {
    rows.push_back({"schema", "FAIL",
                    version == 0
                        ? "retention schema \"" + schema + "\" does not exist: run `retentiond setup`"
                        : "retention schema \"" + schema + "\" is at version " + std::to_string(version) +
                              ", this retentiond needs " + std::to_string(latest) +
                              (version < latest ? ": run `retentiond setup`" : ": upgrade retentiond")});
  } else {
    rows.push_back({"schema", "OK", "\"" + schema + "\" at version " + std::to_string(version)});
    {
      pqxx::read_transaction tx(*connection);
      const bool audit = tx.exec_params1("SELECT pg_catalog.has_table_privilege($1, 'INSERT, UPDATE')",
                                         quote_identifier(schema) + ".jobs_log")[0]
                             .as<bool>();
      rows.push_back(
          {"audit", audit ? "OK" : "FAIL",
           audit ? "jobs_log is writable" : "missing: INSERT and UPDATE on " + schema + ".jobs_log"});
    }
    const auto policies = PolicyStore(*connection, schema).list();
    PlanErrors plans;
    RunRequest request;
    request.dry_run = true;
    request.now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    request.policy_ids.reserve(policies.size());
    for (const auto& p : policies) request.policy_ids.push_back(p.id);
    if (!policies.empty()) {
      const auto dialect = make_dialect(context.config.database.dialect, *connection);
      (void)run_once(*connection, context.config, *dialect, request, plans);
    }
    for (const auto& policy : policies) {
      if (policy.invalid_reason) {
        rows.push_back({"policy " + policy.id, "FAIL", "invalid policy: " + *policy.invalid_reason});
        continue;
      }
      check_policy(*connection, context.config, policy, plans.results[policy.id], rows);
    }
    if (policies.empty()) rows.push_back({"policies", "WARN", "no policy yet: nothing will be retained"});
  }

  const bool failed =
      std::any_of(rows.begin(), rows.end(), [](const CheckRow& r) { return r.status == "FAIL"; });
  if (context.output == OutputFormat::json) {
    auto array = nlohmann::ordered_json::array();
    for (const auto& r : rows)
      array.push_back({{"check", r.check}, {"status", r.status}, {"detail", r.detail}});
    std::cout << array.dump(2) << "\n";
  } else if (context.output == OutputFormat::compact) {
    for (const auto& r : rows) {
      std::cout << "check=" << json_string(r.check) << " status=" << r.status
                << " detail=" << json_string(r.detail) << "\n";
    }
  } else {
    std::vector<std::vector<std::string>> table;
    for (const auto& r : rows) table.push_back({r.check, r.status, r.detail});
    std::cout << render_table({"check", "status", "detail"}, table);
  }
  return failed ? ExitCode::job_failed : ExitCode::ok;
}

}  // namespace retentiond

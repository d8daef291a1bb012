#include "retentiond/engine/run.hpp"

#include <algorithm>
#include <optional>
#include <random>
#include <set>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "retentiond/core/error.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/db/policy_store.hpp"
#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/engine/planner.hpp"

namespace retentiond {
namespace {

std::vector<Policy> select_policies(pqxx::connection& connection, const Config& config,
                                    const RunRequest& request) {
  PolicyStore store(connection, config.database.schema);
  std::vector<Policy> all = store.list(request.tags);
  if (request.policy_ids.empty()) {
    std::erase_if(all, [](const Policy& p) { return !p.enabled; });
    return all;
  }
  std::vector<Policy> selected;
  for (const auto& id : request.policy_ids) {
    auto it = std::find_if(all.begin(), all.end(), [&](const Policy& p) { return p.id == id; });
    if (it == all.end()) {
      throw usage_error("policy \"" + id + "\" not found" +
                        (request.tags.empty() ? "" : " among the given --tags"));
    }
    if (std::none_of(selected.begin(), selected.end(), [&](const Policy& p) { return p.id == id; })) {
      selected.push_back(*it);
    }
  }
  std::sort(selected.begin(), selected.end(), [](const Policy& a, const Policy& b) { return a.id < b.id; });
  return selected;
}

// A plain-table delete with nothing before its cutoff is not an action: asking costs one
// query for all such policies together, and keeps "a second run does nothing" true for them.
void drop_empty_row_deletes(pqxx::connection& connection, const Dialect& dialect,
                            std::vector<std::optional<PolicyPlan>>& plans) {
  std::string sql;
  std::vector<std::string> params;
  std::vector<PolicyPlan*> probed;
  for (auto& plan : plans) {
    if (!plan || plan->actions.size() != 1 || plan->actions.front().kind != ActionKind::delete_rows) continue;
    const Action& action = plan->actions.front();
    params.push_back(action.params.front());
    sql +=
        (sql.empty() ? "SELECT " : ", ") +
        dialect.any_row_before(action.table, *plan->policy.partition_column, static_cast<int>(params.size()));
    probed.push_back(&*plan);
  }
  if (probed.empty()) return;
  pqxx::read_transaction tx(connection);
  pqxx::row row = tx.exec_params1(sql, pqxx::prepare::make_dynamic_params(params));
  for (std::size_t i = 0; i < probed.size(); ++i) {
    if (!row[static_cast<pqxx::row::size_type>(i)].as<bool>()) probed[i]->actions.clear();
  }
}

// Whether the partition is gone (from its parent) once the action succeeded.
bool removes_partition(const Action& action) {
  switch (action.kind) {
    case ActionKind::drop_partition:
    case ActionKind::detach_partition:
    case ActionKind::snapshot_partition:
      return true;
    case ActionKind::set_tablespace:
    case ActionKind::delete_rows:
      return false;
  }
  return false;
}

// Several policies may share a table (archive after 90 days, tier after 30). A partition an
// earlier policy of this run removes is gone for the later ones: planning them as if it were
// still there would fail, and re-reading the catalog would cost a query per policy.
void forget_removed(TableFacts& facts, const PolicyPlan& plan) {
  std::set<QualifiedName> removed;
  for (const auto& action : plan.actions) {
    if (action.partition && removes_partition(action)) removed.insert(*action.partition);
  }
  if (removed.empty()) return;
  std::erase_if(facts.partitions, [&](const PartitionFacts& p) { return removed.contains(p.name); });
}

std::string new_run_id() {
  std::random_device device;
  std::mt19937_64 random(device());
  char text[40];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random()));
  return text;
}

void count(RunSummary& summary, const PolicyPlan& plan, const std::vector<ActionResult>& results) {
  ++summary.policies;
  if (plan.error) ++summary.failed;
  summary.planned += plan.actions.size();
  for (const auto& result : results) {
    const auto& status = result.outcome.status;
    ++(status == "succeeded" ? summary.succeeded : status == "failed" ? summary.failed : summary.skipped);
  }
}

}  // namespace

RunSummary run_once(pqxx::connection& connection, const Config& config, const Dialect& dialect,
                    const RunRequest& request, RunObserver& observer) {
  const std::vector<Policy> policies = select_policies(connection, config, request);
  observer.started(policies);

  std::vector<TableRequest> requests;
  std::vector<std::size_t> table_of;  // per policy: its index into requests
  for (const auto& policy : policies) {
    TableRequest wanted{policy.table, policy.partition_column};
    const auto found = std::find(requests.begin(), requests.end(), wanted);
    table_of.push_back(static_cast<std::size_t>(found - requests.begin()));
    if (found == requests.end()) requests.push_back(std::move(wanted));
  }
  std::vector<TableFacts> tables = dialect.describe_tables(connection, requests);
  const DatabaseFacts database = dialect.describe_database(connection);
  std::vector<int> uses(requests.size());
  for (const auto index : table_of) ++uses[index];

  // Plain-table policies are planned first: whether each has anything before its cutoff is
  // one query for all of them. The partitioned ones are planned as their turn comes.
  std::vector<std::optional<PolicyPlan>> early(policies.size());
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const TableFacts& facts = tables[table_of[i]];
    if (!facts.partitioned)
      early[i] = plan_policy(policies[i], facts, database, dialect, config, request.now);
  }
  drop_empty_row_deletes(connection, dialect, early);

  std::optional<JobsLog> jobs;
  std::optional<Executor> executor;
  if (!request.dry_run) {
    jobs.emplace(connection, config.database.schema, new_run_id(), JobsLog::this_instance());
    if (int abandoned = jobs->abandon_orphans(); abandoned > 0) {
      log_event(spdlog::level::warn, LogEvent::jobs_abandoned, {{"count", abandoned}},
                "rows left running by a process that ended");
    }
    executor.emplace(connection, config, dialect, *jobs, request.stop);
  }
  RunSummary summary;
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const std::size_t t = table_of[i];
    const PolicyPlan plan = early[i]
                                ? std::move(*early[i])
                                : plan_policy(policies[i], tables[t], database, dialect, config, request.now);
    early[i].reset();
    if (--uses[t] > 0) {
      forget_removed(tables[t], plan);
    } else {
      // Its last policy is planned: the memory goes to the next plans.
      std::vector<PartitionFacts>().swap(tables[t].partitions);
    }
    std::vector<ActionResult> results;
    if (!request.dry_run) {
      if (plan.error) {
        log_event(
            spdlog::level::err, LogEvent::policy_failed,
            {{"policy", plan.policy.id}, {"table", plan.policy.table.display()}, {"error", *plan.error}});
        jobs->record_policy_error(plan);
      } else {
        observer.executing(plan);
        results = executor->execute(plan, &observer);
      }
    }
    count(summary, plan, results);
    observer.finished(plan, results);
  }
  return summary;
}

}  // namespace retentiond

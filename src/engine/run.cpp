#include "retentiond/engine/run.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <system_error>
#include <thread>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "retentiond/core/error.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/db/policy_store.hpp"
#include "retentiond/db/table_lock.hpp"
#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/engine/lanes.hpp"
#include "retentiond/engine/ordered_report.hpp"
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
  try {
    pqxx::read_transaction tx(connection);
    pqxx::row row = tx.exec_params1(sql, pqxx::prepare::make_dynamic_params(params));
    for (std::size_t i = 0; i < probed.size(); ++i) {
      if (!row[static_cast<pqxx::row::size_type>(i)].as<bool>()) probed[i]->actions.clear();
    }
    return;
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const std::exception&) {
    // One table's problem (no SELECT privilege, dropped meanwhile, a statement timeout) must
    // not stop the others: asked one by one, the failing one becomes its policy's error.
  }
  for (PolicyPlan* plan : probed) {
    const Action& action = plan->actions.front();
    try {
      pqxx::read_transaction tx(connection);
      const pqxx::row row = tx.exec_params1(
          "SELECT " + dialect.any_row_before(action.table, *plan->policy.partition_column, 1), action.params.front());
      if (!row[0].as<bool>()) plan->actions.clear();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      plan->actions.clear();
      plan->error = "cannot read " + action.table.display() + ": " + first_line(e.what());
    }
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

// Every stored policy by table, whatever the selection (the daemon runs one policy at a time):
// a delete's plan needs its table's snapshot policies to leave their partitions to them.
using PoliciesByTable = std::map<QualifiedName, std::vector<Policy>>;

PoliciesByTable policies_by_table(pqxx::connection& connection, const Config& config,
                                  const std::vector<Policy>& selected) {
  PoliciesByTable by_table;
  if (std::none_of(selected.begin(), selected.end(), [](const Policy& p) { return p.strategy == "delete"; })) {
    return by_table;
  }
  for (auto& policy : PolicyStore(connection, config.database.schema).list()) {
    by_table[policy.table].push_back(std::move(policy));
  }
  return by_table;
}

std::span<const Policy> same_table(const PoliciesByTable& by_table, const Policy& policy) {
  const auto found = by_table.find(policy.table);
  if (found == by_table.end()) return {};
  return found->second;
}

std::string new_run_id() {
  std::random_device device;
  std::mt19937_64 random(device());
  char text[40];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random()));
  return text;
}

// A run after its catalog read: the sessions take lanes from it until none is left. Each lane's
// tables are touched by the session working on it only, so planning needs no lock.
class Lanes {
 public:
  Lanes(const Config& config, const Dialect& dialect, const RunRequest& request,
        const std::vector<Policy>& policies, const std::vector<std::size_t>& table_of,
        std::vector<TableFacts>& tables, const DatabaseFacts& database,
        const PoliciesByTable& by_table, std::vector<std::optional<PolicyPlan>>& early, std::size_t sessions,
        OrderedReport& report)
      : config_(config),
        dialect_(dialect),
        request_(request),
        policies_(policies),
        table_of_(table_of),
        tables_(tables),
        database_(database),
        by_table_(by_table),
        early_(early),
        report_(report),
        lanes_(archive_first(work_lanes(table_of, tables, sessions), policies, table_of, tables)),
        uses_(tables.size()),
        same_table_(tables.size()),
        run_id_(new_run_id()),
        instance_(JobsLog::this_instance()) {
    for (const auto index : table_of_) ++uses_[index];
    std::map<QualifiedName, std::vector<std::size_t>> by_name;
    for (std::size_t t = 0; t < tables_.size(); ++t) by_name[tables_[t].table].push_back(t);
    for (auto& [name, entries] : by_name) {
      for (const auto t : entries) same_table_[t] = entries;
    }
  }

  [[nodiscard]] std::size_t count() const { return lanes_.size(); }

  // One session's share of the run. An exception (a lost connection) ends every session's
  // work at its next policy and is rethrown by finish().
  void work(pqxx::connection& connection) noexcept {
    try {
      std::optional<JobsLog> jobs;
      std::optional<Executor> executor;
      if (!request_.dry_run) {
        jobs.emplace(connection, config_.database.schema, run_id_, instance_);
        executor.emplace(connection, config_, dialect_, *jobs, request_.stop);
      }
      std::set<QualifiedName> locked;  // tables this session holds the lock of
      for (std::size_t lane = next_lane_++; lane < lanes_.size() && !broken_; lane = next_lane_++) {
        for (const auto index : lanes_[lane]) {
          if (broken_) return;
          run_policy(connection, index, jobs ? &*jobs : nullptr, executor ? &*executor : nullptr, locked);
        }
      }
    } catch (...) {
      const std::scoped_lock lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
      broken_ = true;
    }
  }

  void finish() {
    if (!error_) return;
    report_.flush_held();
    std::rethrow_exception(error_);
  }

 private:
  void run_policy(pqxx::connection& connection, std::size_t i, JobsLog* jobs, Executor* executor,
                  std::set<QualifiedName>& locked) {
    const std::size_t t = table_of_[i];
    PolicyPlan plan = early_[i]
                          ? std::move(*early_[i])
                          : plan_policy(policies_[i], tables_[t], database_, dialect_, config_, request_.now,
                                        same_table(by_table_, policies_[i]));
    early_[i].reset();
    if (executor != nullptr && request_.lock_tables && !plan.error && !plan.actions.empty() &&
        !locked.contains(plan.policy.table)) {
      if (try_lock_table(connection, config_.database.schema, plan.policy.table)) {
        locked.insert(plan.policy.table);
      } else {
        plan.actions.clear();
        plan.error = "another retentiond session (a daemon or a run --once) is working on " +
                     plan.policy.table.display() + "; not run, try again later";
      }
    }
    --uses_[t];
    // A table appears once per time column its policies name; what this plan removes is gone
    // for all of them. They share this lane.
    for (const auto sibling : same_table_[t]) {
      if (uses_[sibling] > 0) forget_removed(tables_[sibling], plan);
    }
    // Its last policy is planned: the memory goes to the next plans.
    if (uses_[t] == 0) std::vector<PartitionFacts>().swap(tables_[t].partitions);
    std::vector<ActionResult> results;
    if (executor != nullptr) {
      if (plan.error) {
        log_event(
            spdlog::level::err, LogEvent::policy_failed,
            {{"policy", plan.policy.id}, {"table", plan.policy.table.display()}, {"error", *plan.error}});
        jobs->record_policy_error(plan);
      } else {
        report_.executing(plan);
        results = executor->execute(plan, &report_);
      }
    }
    report_.done(i, std::move(plan), std::move(results));
  }

  const Config& config_;
  const Dialect& dialect_;
  const RunRequest& request_;
  const std::vector<Policy>& policies_;
  const std::vector<std::size_t>& table_of_;
  std::vector<TableFacts>& tables_;
  const DatabaseFacts& database_;
  const PoliciesByTable& by_table_;
  std::vector<std::optional<PolicyPlan>>& early_;
  OrderedReport& report_;
  const std::vector<std::vector<std::size_t>> lanes_;
  std::vector<int> uses_;                             ///< per table: its policies not yet planned
  std::vector<std::vector<std::size_t>> same_table_;  ///< per table: its entries (itself included)
  const std::string run_id_;
  const std::string instance_;
  std::atomic<std::size_t> next_lane_{0};
  std::atomic<bool> broken_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

using Sessions = std::vector<std::unique_ptr<pqxx::connection>>;

// The extra sessions of a live run over `tables` tables; fewer when the server refuses more
// connections (the run goes on in the ones it has).
Sessions open_sessions(const RunRequest& request, std::size_t tables) {
  Sessions sessions;
  const auto wanted = std::min(static_cast<std::size_t>(std::max(request.sessions, 1)), tables);
  while (sessions.size() + 1 < wanted) {
    try {
      sessions.push_back(request.open_session());
    } catch (const std::exception& error) {
      log_event(spdlog::level::warn, LogEvent::run_fewer_sessions,
                {{"wanted", static_cast<std::int64_t>(wanted)},
                 {"sessions", static_cast<std::int64_t>(sessions.size() + 1)},
                 {"error", first_line(error.what())}},
                "could not open another session; the run goes on in the ones it has");
      break;
    }
  }
  return sessions;
}

// Connecting takes a few milliseconds of the server's time (a new backend): done while the
// catalog is read rather than after.
std::future<Sessions> start_opening_sessions(const RunRequest& request, std::size_t tables) {
  if (request.dry_run || !request.open_session || request.sessions < 2 || tables < 2) return {};
  try {
    return std::async(std::launch::async, open_sessions, std::cref(request), tables);
  } catch (const std::system_error&) {
    return {};  // no thread for it: the run works in its one session
  }
}

}  // namespace

RunSummary run_once(pqxx::connection& connection, const Config& config, const Dialect& dialect,
                    const RunRequest& request, RunObserver& observer) {
  const std::vector<Policy> policies = select_policies(connection, config, request);
  observer.started(policies);
  const PoliciesByTable by_table = policies_by_table(connection, config, policies);

  std::vector<TableRequest> requests;
  std::vector<std::size_t> table_of;  // per policy: its index into requests
  for (const auto& policy : policies) {
    TableRequest wanted{policy.table, policy.partition_column};
    const auto found = std::find(requests.begin(), requests.end(), wanted);
    table_of.push_back(static_cast<std::size_t>(found - requests.begin()));
    if (found == requests.end()) requests.push_back(std::move(wanted));
  }
  std::set<QualifiedName> table_names;  // at most one session per table is any use
  for (const auto& r : requests) table_names.insert(r.table);
  std::future<Sessions> opening = start_opening_sessions(request, table_names.size());
  std::vector<TableFacts> tables = dialect.describe_tables(connection, requests);
  const DatabaseFacts database = dialect.describe_database(connection);

  // Plain-table policies are planned first: whether each has anything before its cutoff is
  // one query for all of them. The partitioned ones are planned as their turn comes.
  std::vector<std::optional<PolicyPlan>> early(policies.size());
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const TableFacts& facts = tables[table_of[i]];
    if (!facts.partitioned)
      early[i] = plan_policy(policies[i], facts, database, dialect, config, request.now,
                             same_table(by_table, policies[i]));
  }
  drop_empty_row_deletes(connection, dialect, early);

  if (!request.dry_run) {
    // Only to mark what ended processes left running; this run's rows come from its sessions.
    JobsLog orphans(connection, config.database.schema, "", JobsLog::this_instance());
    if (int abandoned = orphans.abandon_orphans(); abandoned > 0) {
      log_event(spdlog::level::warn, LogEvent::jobs_abandoned, {{"count", abandoned}},
                "rows left running by a process that ended");
    }
  }
  Sessions helpers = opening.valid() ? opening.get() : Sessions{};
  OrderedReport report(observer, policies.size());
  Lanes lanes(config, dialect, request, policies, table_of, tables, database, by_table, early,
              1 + helpers.size(), report);
  // A session beyond the lanes would have nothing to do (one partition tree is one lane).
  helpers.resize(std::min(helpers.size(), lanes.count() > 0 ? lanes.count() - 1 : 0));
  {
    std::vector<std::jthread> threads;
    threads.reserve(helpers.size());
    for (const auto& session : helpers) {
      try {
        threads.emplace_back([&lanes, &session] { lanes.work(*session); });
      } catch (const std::system_error&) {
        break;  // no thread for this session: the others do its share
      }
    }
    lanes.work(connection);
  }
  lanes.finish();
  return report.summary();
}

}  // namespace retentiond

#include "retentiond/engine/planner.hpp"

#include "retentiond/core/error.hpp"
#include "retentiond/strategy/option_values.hpp"
#include "retentiond/strategy/strategy.hpp"

namespace retentiond {

Action PlanContext::partition_action(const PartitionFacts& partition, ActionKind kind,
                                     std::string name) const {
  Action action;
  action.policy_id = policy.id;
  action.strategy = policy.strategy;
  action.table = policy.table;
  action.partition = partition.name;
  action.kind = kind;
  action.action = std::move(name);
  action.reason.reserve(56);
  action.reason = "upper bound ";
  append_instant(action.reason, *partition.upper);
  action.reason += " <= cutoff ";
  action.reason += cutoff_text;
  action.lower = partition.lower;
  action.upper = partition.upper;
  action.size_bytes = partition.size_bytes;
  action.lock_timeout = lock_timeout;
  return action;
}

namespace {

// Sorts partitions into expired (oldest first) and skipped-with-reason. A partition is expired
// only when its whole range lies before the cutoff; default partitions and open ranges never are.
std::vector<const PartitionFacts*> classify(const TableFacts& table, std::chrono::sys_seconds cutoff,
                                            std::vector<Skip>& skipped) {
  std::vector<const PartitionFacts*> expired;
  for (const auto& partition : table.partitions) {
    if (partition.is_default) {
      skipped.push_back({partition.name, "default partition"});
    } else if (!partition.lower || !partition.upper) {
      skipped.push_back({partition.name, "unbounded range (" + partition.bound_text + ")"});
    } else if (*partition.upper > cutoff) {
      std::string reason = "not expired: upper bound ";
      append_instant(reason, *partition.upper);
      reason += " is after the cutoff";
      skipped.push_back({partition.name, std::move(reason)});
    } else if (partition.foreign) {
      // DROP TABLE, COPY and SET TABLESPACE all refuse a foreign table.
      skipped.push_back({partition.name, "foreign table: its rows live on another server"});
    } else {
      expired.push_back(&partition);
    }
  }
  return expired;
}

}  // namespace

PolicyPlan plan_policy(const Policy& policy, const TableFacts& table, const DatabaseFacts& database,
                       const Dialect& dialect, const Config& config, std::chrono::sys_seconds now) {
  PolicyPlan plan;
  plan.policy = policy;
  if (policy.invalid_reason) {
    plan.error = "invalid policy: " + *policy.invalid_reason;
    return plan;
  }
  plan.cutoff = policy.ttl.before(now);
  const std::string name = policy.table.display();
  const StrategySpec* strategy = find_strategy(policy.strategy);
  if (strategy == nullptr) {
    plan.error = "unknown strategy \"" + policy.strategy + "\"";
    return plan;
  }
  // The policies table does not enforce this: a row edited by hand must fail its policy, not
  // take the strategies' `*policy.target` into undefined behaviour.
  if (strategy->requires_target() && !policy.target) {
    plan.error = "strategy " + policy.strategy + " needs a target and the policy has none";
    return plan;
  }
  if (!table.exists) {
    plan.error = "table " + name + " does not exist";
    return plan;
  }
  if (!table.partitioned && strategy->needs_partitions) {
    plan.error = "strategy " + policy.strategy + " needs a partitioned table; " + name + " is a plain table";
    return plan;
  }
  if (!table.partitioned && !policy.partition_column) {
    plan.error = name + " is not partitioned and the policy names no time column";
    return plan;
  }
  if (table.partitioned && !table.key_column) {
    plan.error = name + " has no single-column partition key";
    return plan;
  }
  if (table.key_type.empty()) {
    plan.error = "column \"" + policy.partition_column.value_or("") + "\" does not exist in " + name;
    return plan;
  }
  if (!is_supported_time_type(table.key_type)) {
    plan.error = "the time column of " + name + " is " + table.key_type +
                 "; retention supports timestamptz, timestamp and date";
    return plan;
  }
  const auto default_lock_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.database.lock_timeout.seconds());
  try {
    PlanContext context{
        .policy = policy,
        .table = table,
        .database = database,
        .dialect = dialect,
        .config = config,
        .cutoff = plan.cutoff,
        .cutoff_text = format_instant(plan.cutoff),
        .expired = table.partitioned ? classify(table, plan.cutoff, plan.skipped)
                                     : std::vector<const PartitionFacts*>{},
        .lock_timeout = option_duration(policy, "lock_timeout", default_lock_timeout),
    };
    strategy->plan(context, plan);
  } catch (const Error& e) {
    // A policy row edited by hand into nonsense fails that policy, not the run.
    plan.error = e.what();
    plan.actions.clear();
  }
  return plan;
}

}  // namespace retentiond

#include "retentiond/engine/planner.hpp"

#include "retentiond/core/error.hpp"
#include "retentiond/engine/table_eligibility.hpp"
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

// A partition that an enabled snapshot policy of the same table would archive is never dropped
// unarchived: a delete leaves it to the snapshot, whatever order the two run in (the daemon runs
// them separately, a row written by hand may give the delete the shorter ttl).
void keep_for_snapshots(const Policy& policy, std::span<const Policy> same_table, std::chrono::sys_seconds now,
                        std::vector<const PartitionFacts*>& expired, std::vector<Skip>& skipped) {
  for (const Policy& other : same_table) {
    if (other.id == policy.id || other.strategy != "snapshot" || !other.enabled || other.invalid_reason ||
        other.table != policy.table) {
      continue;
    }
    const auto archive_cutoff = other.ttl.before(now);
    std::erase_if(expired, [&](const PartitionFacts* partition) {
      if (*partition->upper > archive_cutoff || partition->sub_partitioned) return false;
      skipped.push_back({partition->name, "kept for snapshot policy " + quote_input(other.id) +
                                              ", which archives it first"});
      return true;
    });
  }
}

}  // namespace

PolicyPlan plan_policy(const Policy& policy, const TableFacts& table, const DatabaseFacts& database,
                       const Dialect& dialect, const Config& config, std::chrono::sys_seconds now,
                       std::span<const Policy> same_table) {
  PolicyPlan plan;
  plan.policy = policy;
  if (policy.invalid_reason) {
    plan.error = "invalid policy: " + *policy.invalid_reason;
    return plan;
  }
  plan.cutoff = policy.ttl.before(now);
  // Said here, for this policy alone, rather than as the server's "timestamp out of range".
  if (auto problem = cutoff_problem(policy.ttl, now)) {
    plan.error = *problem;
    return plan;
  }
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
  // The rule adding a policy applies: a row written by hand that names a table no policy may
  // work on (retentiond's own, the system's, a LIST-partitioned one) fails here, never runs.
  if (auto reason = table_ineligibility(table, policy, config.database.schema)) {
    plan.error = std::move(*reason);
    return plan;
  }
  const auto default_lock_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(config.database.lock_timeout.seconds());
  try {
    std::vector<const PartitionFacts*> expired;
    if (table.partitioned) {
      expired = classify(table, plan.cutoff, plan.skipped);
      if (policy.strategy == "delete") keep_for_snapshots(policy, same_table, now, expired, plan.skipped);
    }
    PlanContext context{
        .policy = policy,
        .table = table,
        .database = database,
        .dialect = dialect,
        .config = config,
        .cutoff = plan.cutoff,
        .cutoff_text = format_instant(plan.cutoff),
        .expired = std::move(expired),
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

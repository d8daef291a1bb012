#include <algorithm>

#include "retentiond/engine/planner.hpp"
#include "retentiond/strategy/option_values.hpp"
#include "retentiond/strategy/specs.hpp"

namespace retentiond {
namespace {

constexpr OptionSpec delete_options[] = {
    {"batch_size", OptionType::integer, "plain tables: rows deleted per transaction (default 10000)",
     OptionScope::plain_table},
    {"partitions_per_transaction", OptionType::integer,
     "partitioned tables: partitions dropped per transaction (default 100)", OptionScope::partitioned_table},
    {"detach", OptionType::boolean, "detach expired partitions before dropping them", OptionScope::partitioned_table},
    {"detach_concurrently", OptionType::boolean,
     "detach with DETACH PARTITION ... CONCURRENTLY, never locking the parent exclusively (implies detach)",
     OptionScope::partitioned_table, "detach"},
    {"keep_table", OptionType::boolean, "detach expired partitions and keep them as tables (implies detach)",
     OptionScope::partitioned_table, "detach"},
};

constexpr std::int64_t default_batch_size = 10000;
// Enough to clear a backlog of thousands in a few dozen commits, few enough that one
// transaction's locks (one per dropped relation and its indexes) stay far below the lock table.
constexpr std::int64_t default_partitions_per_transaction = 100;

void plan_plain_table(const PlanContext& c, PolicyPlan& plan) {
  const std::string& column = *c.policy.partition_column;
  Action action;
  action.policy_id = c.policy.id;
  action.strategy = c.policy.strategy;
  action.table = c.policy.table;
  action.kind = ActionKind::delete_rows;
  action.action = "delete_rows";
  action.batch_size = option_integer(c.policy, "batch_size", default_batch_size);
  action.sql = {c.dialect.delete_batch(c.policy.table, column)};
  action.params = {c.dialect.cutoff_parameter(c.cutoff, c.table.key_type), std::to_string(action.batch_size)};
  action.reason = "rows with " + display_identifier(column) + " before the cutoff " + c.cutoff_text;
  action.lock_timeout = c.lock_timeout;
  plan.actions.push_back(std::move(action));
}

void plan_delete(const PlanContext& c, PolicyPlan& plan) {
  if (!c.table.partitioned) {
    plan_plain_table(c, plan);
    return;
  }
  const bool concurrently = option_bool(c.policy, "detach_concurrently");
  const bool keep = option_bool(c.policy, "keep_table");
  const bool detach = concurrently || keep || option_bool(c.policy, "detach");
  const auto per_transaction =
      option_integer(c.policy, "partitions_per_transaction", default_partitions_per_transaction);
  if (concurrently && !c.expired.empty()) {
    // PostgreSQL refuses DETACH ... CONCURRENTLY while the table has a default partition: said
    // once here rather than as the same failed action on every run.
    const auto fallback = std::find_if(c.table.partitions.begin(), c.table.partitions.end(),
                                       [](const PartitionFacts& p) { return p.is_default; });
    if (fallback != c.table.partitions.end()) {
      plan.error = "detach_concurrently is not possible on " + c.policy.table.display() +
                   ": it has a default partition (" + fallback->name.display() +
                   "), and PostgreSQL detaches concurrently only without one; use detach=true";
      return;
    }
  }
  if (concurrently) {
    // Until a half-detached partition is finished, PostgreSQL refuses every other concurrent
    // detach of the table. An expired one is finished below; one that has not expired is not
    // this policy's to touch, and every action would fail the same way: said once.
    const auto pending = std::find_if(c.table.partitions.begin(), c.table.partitions.end(),
                                      [&](const PartitionFacts& p) {
                                        return p.detach_pending &&
                                               std::find(c.expired.begin(), c.expired.end(), &p) == c.expired.end();
                                      });
    if (pending != c.table.partitions.end() && !c.expired.empty()) {
      plan.error = "detach_concurrently is not possible on " + c.policy.table.display() + ": its partition " +
                   pending->name.display() +
                   " has an unfinished DETACH ... CONCURRENTLY and has not expired; finish it with " +
                   c.dialect.detach_partition(c.policy.table, pending->name, DetachMode::finalize);
      return;
    }
  }
  plan.actions.reserve(plan.actions.size() + c.expired.size());
  if (detach) {
    // An interrupted DETACH ... CONCURRENTLY (cancelled, or its session lost) left these half
    // detached: finished first, in one transaction with their drop, so the concurrent detaches
    // after them are not refused.
    for (const PartitionFacts* partition : c.expired) {
      if (!partition->detach_pending) continue;
      Action action =
          c.partition_action(*partition, ActionKind::detach_partition, keep ? "detach" : "detach_drop");
      action.reason += "; finishing an interrupted DETACH ... CONCURRENTLY";
      action.sql = {c.dialect.detach_partition(c.policy.table, partition->name, DetachMode::finalize)};
      if (!keep) action.sql.push_back(c.dialect.drop_table(partition->name));
      plan.actions.push_back(std::move(action));
    }
  }
  for (const PartitionFacts* partition : c.expired) {
    if (detach && partition->detach_pending) continue;
    if (!detach) {
      Action action = c.partition_action(*partition, ActionKind::drop_partition, "drop");
      action.sql.push_back(c.dialect.drop_table(partition->name));
      action.transaction = static_cast<std::int64_t>(plan.actions.size()) / per_transaction + 1;
      plan.actions.push_back(std::move(action));
      continue;
    }
    Action action =
        c.partition_action(*partition, ActionKind::detach_partition, keep ? "detach" : "detach_drop");
    action.sql = {c.dialect.detach_partition(c.policy.table, partition->name,
                                             concurrently ? DetachMode::concurrently : DetachMode::locking)};
    action.outside_transaction = concurrently;
    if (!keep) action.sql.push_back(c.dialect.drop_table(partition->name));
    plan.actions.push_back(std::move(action));
  }
}

}  // namespace

const StrategySpec& delete_strategy_spec() {
  static constexpr StrategySpec spec{
      .name = "delete",
      .summary = "drop expired partitions, or delete expired rows of a plain table in batches",
      .target_meaning = "",
      .needs_partitions = false,
      .options = delete_options,
      .plan = plan_delete,
  };
  return spec;
}

}  // namespace retentiond

#include "retentiond/engine/planner.hpp"
#include "retentiond/strategy/specs.hpp"

namespace retentiond {
namespace {

void plan_snapshot(const PlanContext& c, PolicyPlan& plan) {
  const std::string& repository = *c.policy.target;
  if (!c.config.snapshot.repositories.contains(repository)) {
    plan.error = "snapshot repository \"" + repository + "\" is not configured (snapshot.repositories)";
    return;
  }
  for (const PartitionFacts* partition : c.expired) {
    if (partition->sub_partitioned) {
      // COPY reads leaf tables only; an archive of a whole sub-tree is not what restore rebuilds.
      plan.skipped.push_back({partition->name, "sub-partitioned: a snapshot archives leaf partitions only"});
      continue;
    }
    Action action = c.partition_action(*partition, ActionKind::snapshot_partition, "snapshot");
    // The archive is written and verified between these two statements, in one transaction.
    action.sql = {c.dialect.copy_out(partition->name), c.dialect.drop_table(partition->name)};
    action.target = repository;
    plan.actions.push_back(std::move(action));
  }
}

}  // namespace

const StrategySpec& snapshot_strategy_spec() {
  static constexpr StrategySpec spec{
      .name = "snapshot",
      .summary = "archive expired partitions to a repository, verify, then drop them",
      .target_meaning = "snapshot repository",
      .needs_partitions = true,
      .options = {},
      .plan = plan_snapshot,
  };
  return spec;
}

}  // namespace retentiond

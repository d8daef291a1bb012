#include <algorithm>

#include "retentiond/engine/planner.hpp"
#include "retentiond/strategy/specs.hpp"

namespace retentiond {
namespace {

void plan_reallocate(const PlanContext& c, PolicyPlan& plan) {
  const std::string& target = *c.policy.target;
  const auto& known = c.database.tablespaces;
  if (std::find(known.begin(), known.end(), target) == known.end()) {
    plan.error = "tablespace \"" + target + "\" does not exist";
    return;
  }
  for (const PartitionFacts* partition : c.expired) {
    // The catalog leaves reltablespace at 0 for the database's default tablespace (shown here
    // as ""), whatever that tablespace is called.
    const std::string current =
        partition->tablespace.empty() ? c.database.default_tablespace : partition->tablespace;
    if (partition->sub_partitioned) {
      // SET TABLESPACE on a partitioned table only sets where its future partitions go.
      plan.skipped.push_back(
          {partition->name, "sub-partitioned: SET TABLESPACE would move none of its rows"});
      continue;
    }
    if (current == target) {
      plan.skipped.push_back({partition->name, "already in tablespace " + display_identifier(target)});
      continue;
    }
    Action action = c.partition_action(*partition, ActionKind::set_tablespace, "set_tablespace");
    action.sql = {c.dialect.set_tablespace(partition->name, target)};
    action.target = target;
    plan.actions.push_back(std::move(action));
  }
}

}  // namespace

const StrategySpec& reallocate_strategy_spec() {
  static constexpr StrategySpec spec{
      .name = "reallocate",
      .summary = "move expired partitions to cold storage (a tablespace; a node attribute on CrateDB)",
      .target_meaning = "tablespace (PostgreSQL) or attribute=value (CrateDB)",
      .needs_partitions = true,
      .options = {},
      .plan = plan_reallocate,
  };
  return spec;
}

}  // namespace retentiond

#pragma once

#include <chrono>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "retentiond/config/config.hpp"
#include "retentiond/dialect/dialect.hpp"
#include "retentiond/engine/catalog.hpp"
#include "retentiond/engine/plan.hpp"
#include "retentiond/policy/policy.hpp"

namespace retentiond {

/// What a strategy's planning function gets: the policy, its table, the partitions that lie
/// wholly before the cutoff (oldest first), and the means to render SQL.
struct PlanContext {
  const Policy& policy;
  const TableFacts& table;
  const DatabaseFacts& database;
  const Dialect& dialect;
  const Config& config;
  std::chrono::sys_seconds cutoff;
  std::string cutoff_text;  ///< format_instant(cutoff), formatted once for every reason
  std::vector<const PartitionFacts*> expired;
  std::chrono::milliseconds lock_timeout;

  /// An action for `partition` with the fields every strategy fills the same way.
  [[nodiscard]] Action partition_action(const PartitionFacts& partition, ActionKind kind,
                                        std::string name) const;
};

/// Plans one policy: cutoff = ttl before `now`; checks the table (exists, key type, shape the
/// strategy needs); sorts partitions into expired and skipped (with the reason); then lets the
/// strategy turn the expired ones into actions. Pure: the same inputs give the same plan.
/// `same_table` holds the other policies of the table (the policy itself may be among them): a
/// delete skips every partition an enabled snapshot policy of them would archive.
[[nodiscard]] PolicyPlan plan_policy(const Policy& policy, const TableFacts& table,
                                     const DatabaseFacts& database, const Dialect& dialect,
                                     const Config& config, std::chrono::sys_seconds now,
                                     std::span<const Policy> same_table = {});

}  // namespace retentiond

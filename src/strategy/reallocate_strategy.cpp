#include "retentiond/strategy/specs.hpp"

namespace retentiond {

const StrategySpec& reallocate_strategy_spec() {
  static constexpr StrategySpec spec{
      .name = "reallocate",
      .summary = "move expired partitions to cold storage (a tablespace; a node attribute on CrateDB)",
      .target_meaning = "tablespace (PostgreSQL) or attribute=value (CrateDB)",
      .needs_partitions = true,
      .options = {},
  };
  return spec;
}

}  // namespace retentiond

#include "retentiond/strategy/specs.hpp"

namespace retentiond {

const StrategySpec& snapshot_strategy_spec() {
  static constexpr StrategySpec spec{
      .name = "snapshot",
      .summary = "archive expired partitions to a repository, verify, then drop them",
      .target_meaning = "snapshot repository",
      .needs_partitions = true,
      .options = {},
  };
  return spec;
}

}  // namespace retentiond

#pragma once

#include "retentiond/strategy/strategy.hpp"

namespace retentiond {

// One declaration per strategy file (src/strategy/<name>_strategy.cpp); registry.cpp lists them.
const StrategySpec& delete_strategy_spec();
const StrategySpec& reallocate_strategy_spec();
const StrategySpec& snapshot_strategy_spec();

}  // namespace retentiond

#include <array>
#include <chrono>

#include "retentiond/core/error.hpp"
#include "retentiond/policy/duration.hpp"
#include "retentiond/strategy/specs.hpp"
#include "retentiond/strategy/strategy.hpp"

namespace retentiond {
namespace {

// Options every strategy understands: they bound how long one action may hold locks or run.
constexpr OptionSpec common_options[] = {
    {"lock_timeout", OptionType::duration, "give up an action that waits longer than this for a lock"},
    {"max_runtime", OptionType::duration, "cancel a run of this policy that takes longer than this"},
};

const OptionSpec* find_option(std::span<const OptionSpec> options, std::string_view key) {
  for (const auto& option : options) {
    if (option.name == key) return &option;
  }
  return nullptr;
}

void check_value(const OptionSpec& option, std::string_view value) {
  auto fail = [&](std::string_view expected) {
    return usage_error("invalid value " + quote_input(value) + " for option " + std::string(option.name) +
                       ": expected " + std::string(expected));
  };
  switch (option.type) {
    case OptionType::integer: {
      if (value.empty() || value.size() > 9) throw fail("a whole number from 1 to 999999999");
      for (char c : value) {
        if (c < '0' || c > '9') throw fail("a whole number from 1 to 999999999");
      }
      if (value.find_first_not_of('0') == std::string_view::npos)
        throw fail("a whole number from 1 to 999999999");
      return;
    }
    case OptionType::boolean:
      if (value != "true" && value != "false") throw fail("true or false");
      return;
    case OptionType::duration: {
      // Duration options become PostgreSQL timeouts (milliseconds in an int): a calendar part
      // has no fixed length and would be dropped to zero, i.e. to "no timeout" at all.
      const Duration duration = Duration::parse(value);
      constexpr std::chrono::seconds longest{24 * 86'400};
      if (!duration.is_exact() || duration.seconds() > longest) {
        throw fail("a duration of at most 24d without months or years (e.g. 5s, 30m, 12h)");
      }
      return;
    }
  }
}

}  // namespace

std::span<const StrategySpec* const> all_strategies() {
  static const std::array<const StrategySpec*, 3> strategies = {
      &delete_strategy_spec(),
      &reallocate_strategy_spec(),
      &snapshot_strategy_spec(),
  };
  return strategies;
}

const StrategySpec* find_strategy(std::string_view name) {
  for (const auto* strategy : all_strategies()) {
    if (strategy->name == name) return strategy;
  }
  return nullptr;
}

std::string strategy_names() {
  std::string names;
  for (const auto* strategy : all_strategies()) {
    if (!names.empty()) names += ", ";
    names += strategy->name;
  }
  return names;
}

void validate_option(const StrategySpec& strategy, std::string_view key, std::string_view value) {
  const OptionSpec* option = find_option(strategy.options, key);
  if (option == nullptr) option = find_option(common_options, key);
  if (option == nullptr) {
    throw usage_error("unknown option " + quote_input(key) + " for strategy " + std::string(strategy.name));
  }
  check_value(*option, value);
}

}  // namespace retentiond

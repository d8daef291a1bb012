#include <array>
#include <chrono>

#include "retentiond/core/error.hpp"
#include "retentiond/core/text.hpp"
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
      if (!parse_boolean_word(value)) throw fail("true or false (also yes/no, on/off, 1/0)");
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

namespace {

const OptionSpec* find_any_option(const StrategySpec& strategy, std::string_view key) {
  const OptionSpec* option = find_option(strategy.options, key);
  return option != nullptr ? option : find_option(common_options, key);
}

}  // namespace

std::string canonical_option_value(const StrategySpec& strategy, std::string_view key, std::string_view value) {
  const OptionSpec* option = find_any_option(strategy, key);
  if (option != nullptr && option->type == OptionType::boolean) {
    if (const auto flag = parse_boolean_word(value)) return *flag ? "true" : "false";
  }
  return std::string(value);
}

void validate_option_combination(const StrategySpec& strategy, const std::map<std::string, std::string>& options) {
  const auto flag = [&](std::string_view key) -> std::optional<bool> {
    const auto it = options.find(std::string(key));
    return it == options.end() ? std::nullopt : parse_boolean_word(it->second);
  };
  for (const auto& option : strategy.options) {
    if (option.implies.empty() || flag(option.name) != true || flag(option.implies) != false) continue;
    throw usage_error("option " + std::string(option.name) + "=true implies " + std::string(option.implies) +
                      "=true; " + std::string(option.implies) + "=false contradicts it: remove one of them");
  }
}

std::optional<std::string> option_table_problem(const StrategySpec& strategy, std::string_view key,
                                                bool partitioned) {
  const OptionSpec* option = find_any_option(strategy, key);
  if (option == nullptr) return std::nullopt;  // validate_option says what is wrong with it
  switch (option->scope) {
    case OptionScope::any_table:
      return std::nullopt;
    case OptionScope::plain_table:
      if (!partitioned) return std::nullopt;
      return "option " + quote_input(key) + " applies to plain tables only";
    case OptionScope::partitioned_table:
      if (partitioned) return std::nullopt;
      return "option " + quote_input(key) + " applies to partitioned tables only";
  }
  return std::nullopt;
}

}  // namespace retentiond

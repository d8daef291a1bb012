#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace retentiond {

struct PlanContext;
struct PolicyPlan;

enum class OptionType { integer, boolean, duration };

/// The kind of table an option does something on. An option set on a table of the other kind
/// would be ignored silently, so writing such a policy is refused.
enum class OptionScope { any_table, plain_table, partitioned_table };

/// A strategy option a policy may set (`--option batch_size=5000`).
struct OptionSpec {
  std::string_view name;
  OptionType type;
  std::string_view description;
  OptionScope scope = OptionScope::any_table;
  /// A boolean option that, set true, implies this other boolean option (keep_table implies
  /// detach): setting that one false beside it is a contradiction, refused.
  std::string_view implies = {};
};

/// What the policy layer needs to know about a strategy to validate a policy before it is
/// written. Each strategy declares this in its own file; `all_strategies()` lists them, so
/// adding a strategy is adding a file and one line in the registry.
struct StrategySpec {
  std::string_view name;
  std::string_view summary;
  /// What `target` names for this strategy; empty when the strategy takes no target.
  std::string_view target_meaning;
  /// Reallocate and snapshot work partition by partition; they cannot act on a plain table.
  bool needs_partitions;
  std::span<const OptionSpec> options;
  /// Turns the expired partitions (or, for a plain table, the cutoff) into actions.
  void (*plan)(const PlanContext& context, PolicyPlan& plan);

  [[nodiscard]] bool requires_target() const noexcept { return !target_meaning.empty(); }
};

[[nodiscard]] std::span<const StrategySpec* const> all_strategies();

/// The strategy of that name, or nullptr.
[[nodiscard]] const StrategySpec* find_strategy(std::string_view name);

/// Checks one `--option KEY=VALUE` against the strategy (and the options every strategy has,
/// such as `lock_timeout`); throws a usage Error naming the key or value.
void validate_option(const StrategySpec& strategy, std::string_view key, std::string_view value);

/// The spelling a valid option value is stored in: a boolean option's yes/on/1/TRUE... become
/// `true` or `false`; other values are kept as given.
[[nodiscard]] std::string canonical_option_value(const StrategySpec& strategy, std::string_view key,
                                                 std::string_view value);

/// Refuses options that contradict each other (`keep_table=true` with `detach=false`): a usage
/// Error naming both.
void validate_option_combination(const StrategySpec& strategy, const std::map<std::string, std::string>& options);

/// Why `key` does nothing on a table of this kind (`batch_size` on a partitioned table,
/// `detach` on a plain one): `option "detach" applies to partitioned tables only`; nothing when
/// it applies.
[[nodiscard]] std::optional<std::string> option_table_problem(const StrategySpec& strategy, std::string_view key,
                                                              bool partitioned);

/// `delete, reallocate, snapshot`: for error messages.
[[nodiscard]] std::string strategy_names();

}  // namespace retentiond

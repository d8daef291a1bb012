#include "retentiond/strategy/specs.hpp"

namespace retentiond {
namespace {

constexpr OptionSpec delete_options[] = {
    {"batch_size", OptionType::integer, "plain tables: rows deleted per transaction (default 10000)"},
    {"partitions_per_transaction", OptionType::integer,
     "partitioned tables: partitions dropped per transaction (default 100)"},
    {"detach", OptionType::boolean, "detach expired partitions instead of dropping them"},
    {"detach_concurrently", OptionType::boolean, "detach with DETACH PARTITION ... CONCURRENTLY (implies detach)"},
    {"keep_table", OptionType::boolean, "keep the detached table (implies detach)"},
};

}  // namespace

const StrategySpec& delete_strategy_spec() {
  static constexpr StrategySpec spec{
      .name = "delete",
      .summary = "drop expired partitions, or delete expired rows of a plain table in batches",
      .target_meaning = "",
      .needs_partitions = false,
      .options = delete_options,
  };
  return spec;
}

}  // namespace retentiond

#include "retentiond/strategy/strategy.hpp"

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "retentiond/core/error.hpp"

using retentiond::all_strategies;
using retentiond::find_strategy;
using retentiond::OptionType;
using retentiond::strategy_names;
using retentiond::StrategySpec;
using retentiond::validate_option;

namespace {

const StrategySpec& strategy(std::string_view name) {
  const StrategySpec* spec = find_strategy(name);
  REQUIRE(spec != nullptr);
  return *spec;
}

std::string option_error(std::string_view strategy_name, std::string_view key, std::string_view value) {
  try {
    validate_option(strategy(strategy_name), key, value);
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  FAIL("no error for " << key << "=" << value);
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("strategy: the registry lists delete, reallocate and snapshot in that order") {
  std::vector<std::string> names;
  for (const auto* spec : all_strategies()) {
    REQUIRE(spec != nullptr);
    names.emplace_back(spec->name);
  }
  CHECK(names == std::vector<std::string>{"delete", "reallocate", "snapshot"});
  CHECK(strategy_names() == "delete, reallocate, snapshot");
}

TEST_CASE("strategy: find_strategy returns the registered spec") {
  for (const auto* spec : all_strategies()) CHECK(find_strategy(spec->name) == spec);
  CHECK(find_strategy("delete")->name == "delete");
}

TEST_CASE("strategy: unknown, empty and differently cased names are not found") {
  CHECK(find_strategy("truncate") == nullptr);
  CHECK(find_strategy("") == nullptr);
  CHECK(find_strategy("Delete") == nullptr);
  CHECK(find_strategy("delete ") == nullptr);
  CHECK(find_strategy("snap") == nullptr);
}

TEST_CASE("strategy: every spec is complete and its option names are unique") {
  for (const auto* spec : all_strategies()) {
    CAPTURE(spec->name);
    CHECK_FALSE(spec->summary.empty());
    std::set<std::string_view> seen;
    for (const auto& option : spec->options) {
      CHECK_FALSE(option.name.empty());
      CHECK_FALSE(option.description.empty());
      CHECK(seen.insert(option.name).second);
      // A strategy option must not shadow a common one with another type.
      CHECK(option.name != "lock_timeout");
      CHECK(option.name != "max_runtime");
    }
    CHECK(static_cast<bool>(spec->plan));
  }
}

TEST_CASE("strategy: delete takes no target and can work on plain tables") {
  const auto& spec = strategy("delete");
  CHECK_FALSE(spec.requires_target());
  CHECK_FALSE(spec.needs_partitions);
}

TEST_CASE("strategy: reallocate and snapshot need a target and partitions") {
  for (const char* name : {"reallocate", "snapshot"}) {
    CAPTURE(name);
    const auto& spec = strategy(name);
    CHECK(spec.requires_target());
    CHECK(spec.needs_partitions);
    CHECK_FALSE(spec.target_meaning.empty());
  }
  CHECK(contains(std::string(strategy("snapshot").target_meaning), "repository"));
  CHECK(contains(std::string(strategy("reallocate").target_meaning), "tablespace"));
}

TEST_CASE("strategy: delete declares its documented options with their types") {
  const auto& spec = strategy("delete");
  auto type_of = [&](std::string_view name) -> std::optional<OptionType> {
    for (const auto& option : spec.options) {
      if (option.name == name) return option.type;
    }
    return std::nullopt;
  };
  CHECK(type_of("batch_size") == OptionType::integer);
  CHECK(type_of("partitions_per_transaction") == OptionType::integer);
  CHECK(type_of("detach") == OptionType::boolean);
  CHECK(type_of("detach_concurrently") == OptionType::boolean);
  CHECK(type_of("keep_table") == OptionType::boolean);
}

TEST_CASE("strategy: integer options take whole numbers from 1 to 999999999") {
  CHECK_NOTHROW(validate_option(strategy("delete"), "batch_size", "1"));
  CHECK_NOTHROW(validate_option(strategy("delete"), "batch_size", "5000"));
  CHECK_NOTHROW(validate_option(strategy("delete"), "batch_size", "999999999"));
  CHECK_NOTHROW(validate_option(strategy("delete"), "partitions_per_transaction", "100"));
}

TEST_CASE("strategy: integer options refuse zero, signs, fractions, spaces and overflow") {
  for (const char* bad : {"0", "000", "-1", "+5", "1.5", "1e3", " 5", "5 ", "", "ten", "1000000000",
                          "99999999999999999999", "0x10"}) {
    CAPTURE(bad);
    const auto message = option_error("delete", "batch_size", bad);
    CHECK(contains(message, "invalid value \"" + std::string(bad) + "\" for option batch_size"));
    CHECK(contains(message, "1 to 999999999"));
  }
}

TEST_CASE("strategy: boolean options take true or false") {
  CHECK_NOTHROW(validate_option(strategy("delete"), "detach", "true"));
  CHECK_NOTHROW(validate_option(strategy("delete"), "keep_table", "false"));
  CHECK_NOTHROW(validate_option(strategy("delete"), "detach_concurrently", "true"));
  for (const char* good : {"yes", "no", "1", "0", "TRUE", "True", "on", "OFF"}) {
    CHECK_NOTHROW(validate_option(strategy("delete"), "detach", good));
  }
  for (const char* bad : {"", " true", "t", "y", "2", "enabled"}) {
    CAPTURE(bad);
    const auto message = option_error("delete", "detach", bad);
    CHECK(contains(message, "invalid value \"" + std::string(bad) + "\" for option detach"));
    CHECK(contains(message, "true or false"));
  }
}

TEST_CASE("strategy: every strategy takes the common duration options") {
  for (const auto* spec : all_strategies()) {
    CAPTURE(spec->name);
    CHECK_NOTHROW(validate_option(*spec, "lock_timeout", "5s"));
    CHECK_NOTHROW(validate_option(*spec, "lock_timeout", "2 minutes"));
    CHECK_NOTHROW(validate_option(*spec, "max_runtime", "2h"));
    CHECK_NOTHROW(validate_option(*spec, "max_runtime", "PT30M"));
  }
}

TEST_CASE("strategy: duration options refuse what Duration::parse refuses") {
  for (const char* bad : {"", "0s", "5", "5x", "-5s", "1.5h", "soon"}) {
    CAPTURE(bad);
    const auto message = option_error("snapshot", "lock_timeout", bad);
    CHECK(contains(message, "invalid duration"));
  }
}

TEST_CASE("strategy: duration options are exact and fit a PostgreSQL timeout") {
  // A calendar duration has no length in milliseconds; PostgreSQL timeouts stop at 2^31-1 ms.
  for (const char* bad : {"1mo", "1y", "1y2d", "P1M", "25d", "4w", "24d1s"}) {
    CAPTURE(bad);
    const auto message = option_error("delete", "lock_timeout", bad);
    CHECK(contains(message, "invalid value \"" + std::string(bad) + "\" for option lock_timeout"));
    CHECK(contains(message, "at most 24d"));
    CHECK(contains(option_error("snapshot", "max_runtime", bad), "for option max_runtime"));
  }
  CHECK_NOTHROW(validate_option(strategy("delete"), "lock_timeout", "24d"));
  CHECK_NOTHROW(validate_option(strategy("delete"), "max_runtime", "3w"));
  CHECK_NOTHROW(validate_option(strategy("delete"), "lock_timeout", "1s"));
}

TEST_CASE("strategy: unknown options are usage errors naming the key and the strategy") {
  CHECK(contains(option_error("delete", "bogus", "1"), "unknown option \"bogus\" for strategy delete"));
  CHECK(contains(option_error("delete", "Batch_Size", "1"), "unknown option \"Batch_Size\""));
  CHECK(contains(option_error("delete", "", "1"), "unknown option \"\""));
  // Options of one strategy are unknown to the others.
  CHECK(contains(option_error("snapshot", "batch_size", "10"),
                 "unknown option \"batch_size\" for strategy snapshot"));
  CHECK(contains(option_error("reallocate", "keep_table", "true"), "for strategy reallocate"));
}

TEST_CASE("strategy: an unknown key is reported before its value is looked at") {
  CHECK(contains(option_error("delete", "bogus", "not a number"), "unknown option"));
}

#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "retentiond/policy/policy.hpp"

namespace retentiond {

/// The policy fields as given on the command line (`policy add`, `policy edit`, `ttl`); a field
/// left out keeps the policy's current value. For edit, an empty value clears an optional field
/// (`--schedule ""`) and `--option KEY=` removes an option.
struct PolicyFields {
  std::optional<std::string> id;
  std::optional<std::string> table;
  std::optional<std::string> strategy;
  std::optional<std::string> ttl;
  std::optional<std::string> partition_column;
  std::optional<std::string> target;
  std::optional<std::string> tags;
  std::optional<std::string> schedule;
  std::vector<std::string> options;  ///< KEY=VALUE
  bool disabled = false;
  bool enabled = false;
};

/// Options shared by `policy add`, `policy edit` and `ttl`, bound to `fields`. `with_table`
/// adds --table/--strategy/--ttl (ttl takes those as positionals instead).
boost::program_options::options_description policy_field_options(PolicyFields& fields, bool with_table);

/// `policy` with `fields` applied, every value parsed (durations, identifiers, tags, options).
/// Throws a usage Error naming the bad value. Does not validate the whole policy.
[[nodiscard]] Policy apply_policy_fields(Policy policy, const PolicyFields& fields);

}  // namespace retentiond

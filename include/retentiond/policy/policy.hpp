#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "retentiond/policy/duration.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {

/// A retention policy as stored in `<schema>.policies` (PRODUCT.md "Policies").
struct Policy {
  std::string id;
  QualifiedName table;
  std::string strategy;
  Duration ttl;
  std::optional<std::string> partition_column;
  std::optional<std::string> target;
  std::vector<std::string> tags;         ///< sorted, unique
  std::optional<std::string> schedule;   ///< empty: scheduler.default_schedule
  bool enabled = true;
  std::map<std::string, std::string> options;
  std::string created_at;  ///< ISO 8601 UTC, set by the database
  std::string updated_at;
  /// Set when the stored row does not parse or validate (written by hand): the policy is still
  /// listed, editable and removable, and fails alone at run time with this reason.
  std::optional<std::string> invalid_reason;
  /// The stored ttl text when it does not parse (`ttl` then holds no meaning).
  std::optional<std::string> raw_ttl;
  /// The stored options (JSON text) when they are not an object (`options` is then empty).
  std::optional<std::string> raw_options;

  friend bool operator==(const Policy&, const Policy&) = default;
};

/// The longest ttl (months at their mean length, as Duration counts them). With it, the cutoff
/// now − ttl of any now after the year 1000 falls after the year 1, well inside what every
/// supported database compares; a longer ttl is a typo, not a retention period.
inline constexpr std::int64_t kMaxTtlYears = 1000;

/// The earliest cutoff a run plans with, 0001-01-01T00:00:00Z: before it, PostgreSQL's text
/// form of a timestamp needs "BC" and CrateDB's has none. A run whose cutoff (as-of − ttl) lies
/// earlier fails that policy with the reason.
inline constexpr std::chrono::sys_seconds kEarliestCutoff{
    std::chrono::sys_days{std::chrono::year{1} / 1 / 1}.time_since_epoch()};

/// A ttl as the user wrote it: Duration::parse, then at most kMaxTtlYears. Throws a usage
/// Error quoting `text`.
[[nodiscard]] Duration parse_ttl(std::string_view text);

/// Why a run as of `now` cannot use this ttl (its cutoff lies before kEarliestCutoff), or
/// nothing when it can.
[[nodiscard]] std::optional<std::string> cutoff_problem(const Duration& ttl, std::chrono::sys_seconds now);

/// Checks everything that can be checked without a database: the strategy is known, the target
/// is present when the strategy needs one (and absent otherwise), every option is known and
/// well-typed, the ttl is positive and at most kMaxTtlYears, the schedule parses, the id and tags are well-formed. Throws a usage Error.
void validate_policy(const Policy& policy);

/// Stores each known option in its one spelling (boolean options as `true`/`false`, whatever
/// of yes/on/1 was written); a policy of an unknown strategy is left alone.
void normalize_options(Policy& policy);

/// Refuses, as a usage Error naming the option, the table and the way out, an option that does
/// nothing on this kind of table (docs/cli.md, strategy options). Called where the table's kind
/// is known: against the catalog, when a policy is written.
void check_options_for_table(const Policy& policy, bool partitioned);

/// The ttl as stored: its canonical text, or the raw text of a row whose ttl does not parse.
[[nodiscard]] std::string ttl_text(const Policy& policy);

/// `a,b, c` → {"a","b","c"}, sorted and de-duplicated. Tags are 1-63 characters of letters,
/// digits and `_ . : / -`; anything else is a usage Error naming the tag.
[[nodiscard]] std::vector<std::string> parse_tags(std::string_view csv);

/// A `--tags` selector (policy list/rm/enable/disable, run): parse_tags, but an empty or blank
/// text is a usage Error too. An empty selector must never mean "every policy": `policy rm
/// --tags ''` would remove them all.
[[nodiscard]] std::vector<std::string> parse_tag_selector(std::string_view csv);

/// A policy matches a tag filter when it carries every given tag (an empty filter matches all).
[[nodiscard]] bool has_all_tags(const Policy& policy, const std::vector<std::string>& wanted);

/// Checks a user-given policy id: 1-128 characters of letters, digits and `_ . : / -`.
void validate_policy_id(std::string_view id);

/// The readable id a policy gets when none is given, e.g. `public.metrics-delete`; characters
/// outside the id alphabet become `_`.
[[nodiscard]] std::string default_policy_id(const QualifiedName& table, std::string_view strategy);

/// The stable JSON document of a policy (documented in docs/cli.md): keys id, table,
/// strategy, ttl, partition_column, target, tags, schedule, enabled, options, created_at,
/// updated_at. Also what policy_events stores as before/after.
[[nodiscard]] nlohmann::ordered_json policy_to_json(const Policy& policy);

}  // namespace retentiond

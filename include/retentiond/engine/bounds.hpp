#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace retentiond {

/// A partition bound as pg_get_expr() prints it, read into instants.
struct PartitionBound {
  bool is_default = false;
  /// A single-column range bound (`FOR VALUES FROM (...) TO (...)`); list, hash and
  /// multi-column bounds are not ranges retention can reason about.
  bool is_range = false;
  std::optional<std::chrono::sys_seconds> lower;  ///< empty for MINVALUE or an unreadable value
  std::optional<std::chrono::sys_seconds> upper;  ///< empty for MAXVALUE or an unreadable value
};

/// Reads `DEFAULT`, `FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-02 00:00:00+00')`,
/// `FOR VALUES FROM (MINVALUE) TO ('2024-01-01')` and the like. Never throws: what it cannot
/// read yields an empty bound, and an empty bound is never expired. A fraction of a second in
/// the upper bound rounds it up, so a partition never looks older than it is.
[[nodiscard]] PartitionBound parse_partition_bound(std::string_view expression);

/// A timestamptz, timestamp or date literal in ISO style (`2024-01-01`, `2024-01-01 00:00:00`,
/// `2024-01-01 00:00:00.5+05:30`, `2024-01-01T00:00:00Z`) as an instant, reading values without offset as UTC
/// and truncating fractions. `infinity`, BC dates and anything else give nullopt.
[[nodiscard]] std::optional<std::chrono::sys_seconds> parse_timestamp_literal(std::string_view text);

}  // namespace retentiond

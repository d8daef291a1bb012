#pragma once

#include <span>
#include <string>
#include <string_view>

namespace retentiond {

/// One step of the retention schema. `sql` refers to the schema as `@schema@`; render_migration
/// substitutes the quoted name, so one text serves every configured schema.
struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

/// Every migration, in version order starting at 1 without gaps.
[[nodiscard]] std::span<const Migration> migrations();

/// The schema version this binary writes and expects.
[[nodiscard]] int latest_schema_version();

/// The migration's SQL with `@schema@` replaced by the quoted schema name.
[[nodiscard]] std::string render_migration(const Migration& migration, std::string_view schema);

}  // namespace retentiond

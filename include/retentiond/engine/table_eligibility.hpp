#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "retentiond/engine/catalog.hpp"
#include "retentiond/policy/policy.hpp"

namespace retentiond {

/// Why `policy` cannot work on `table`, or nothing when it can: the one rule that adding and
/// editing a policy, planning it and `check` all apply, so a table refused at add is refused at
/// run (a row written by hand fails its own policy) and one accepted at add plans at run.
/// Refused: tables of retentiond's own schema (`retention_schema`), of the system schemas
/// (pg_catalog, information_schema, pg_toast) and temporary tables of any session; what is not
/// a table; a plain partition (its parent carries the policy); partitioned tables that are not
/// split by RANGE on one plain column of type timestamptz, timestamp or date; and a plain table
/// without such a time column. Pure: it reads only the facts.
[[nodiscard]] std::optional<std::string> table_ineligibility(const TableFacts& table, const Policy& policy,
                                                             std::string_view retention_schema);

/// Whether a schema is retentiond's own or the system's (including every session's temporary
/// schema), where no policy may work.
[[nodiscard]] std::optional<std::string> protected_schema_reason(std::string_view schema,
                                                                 std::string_view retention_schema);

}  // namespace retentiond

#pragma once

#include <string>
#include <string_view>

namespace retentiond {

/// A statement as a human format shows it (the SQL column of `run --dry-run -o table`): the
/// same statement, still exact and runnable. A quoted identifier or string literal that holds
/// a control character is rewritten in PostgreSQL's Unicode escape form, `U&"metrics\000a..."`
/// or `U&'...'`, which names the same object; the statement then holds no raw line break or
/// ESC that could forge an output line. Bytes that are not UTF-8 stay as they are (the table
/// shows them as `\xNN`, which inside `U&"..."` is not valid SQL, never another valid name).
/// Everything else is unchanged byte for byte.
[[nodiscard]] std::string display_sql(std::string_view sql);

}  // namespace retentiond

#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "retentiond/archive/manifest.hpp"

namespace retentiond {

class LibpqSession;

/// What restore may take from a manifest into SQL. A manifest is a file anyone with write access
/// to the repository can edit, so nothing in it is pasted into a statement: names go in as
/// quoted identifiers, values as literals escaped by libpq or as parameters, column types as
/// the server's own rendering of a type it resolved, and the partition bound is rebuilt from
/// the typed bounds.lower / bounds.upper instants (bound_text is only compared with the result).

/// A column type split for resolution: `numeric(10,2)[]` is `numeric[]` with modifiers 10 and 2,
/// `timestamp(3) with time zone` is `timestamp with time zone` with 3. nullopt when the text has
/// parentheses other than one list of unsigned integers (outside double-quoted names), which no
/// type name format_type() writes has.
struct TypeText {
  std::string name;
  std::vector<std::string> modifiers;

  friend bool operator==(const TypeText&, const TypeText&) = default;
};
[[nodiscard]] std::optional<TypeText> split_type_modifiers(std::string_view type);

/// The typmod input of an interval written with fields or a precision, as intervaltypmodin
/// takes it: `interval day to second(3)` is {range mask, 3}, `interval(3)` {full range, 3}.
/// nullopt for anything else (a plain `interval`, other types).
[[nodiscard]] std::optional<std::vector<std::string>> interval_modifiers(const TypeText& type);

/// Resolves each column's type through the server (to_regtype of the name, the type's own typmod
/// input function for the modifiers, format_type of the result) and returns the server's text
/// for each column, which must equal the manifest's exactly. Anything else (a type that does not
/// exist, a text with more than a type name in it) is a usage Error naming the field
/// (`columns[2].type`). Runs outside any transaction: it changes nothing.
[[nodiscard]] std::vector<std::string> resolve_column_types(LibpqSession& session, const Manifest& manifest,
                                                            std::string_view source);

/// `FOR VALUES FROM ('2024-01-01 00:00:00+00') TO (MAXVALUE)` from bounds.lower / bounds.upper
/// (null: MINVALUE / MAXVALUE); each value goes through `literal` (PQescapeLiteral).
[[nodiscard]] std::string partition_bound_sql(const Manifest& manifest,
                                              const std::function<std::string(std::string_view)>& literal);

}  // namespace retentiond

#pragma once

#include <string>
#include <string_view>

namespace retentiond {

/// `"name"` with embedded double quotes doubled: always quoted, so capitals, spaces, quotes and
/// reserved words are safe in every statement this program renders.
[[nodiscard]] std::string quote_identifier(std::string_view name);

/// A schema-qualified object name, kept unquoted (as the catalog stores it).
struct QualifiedName {
  std::string schema;
  std::string name;

  /// Parses `schema.table`, `table` (schema `public`), with PostgreSQL's rules: unquoted parts
  /// fold to lower case and must be plain identifiers; `"quoted"` parts keep their case and may
  /// hold anything but NUL (a doubled `""` is a quote). Throws a usage Error naming the text.
  static QualifiedName parse(std::string_view text);

  /// `"schema"."name"`, for SQL.
  [[nodiscard]] std::string quoted() const;
  /// For people: parts quoted only where needed (`public.metrics`, `public."My Table"`);
  /// parse(display()) gives the same name back.
  [[nodiscard]] std::string display() const;

  friend bool operator==(const QualifiedName&, const QualifiedName&) = default;
  friend auto operator<=>(const QualifiedName&, const QualifiedName&) = default;
};

/// A single identifier given by a user (column name, schema name): quoted or plain, same folding
/// rules as QualifiedName::parse. Throws a usage Error naming `what` and the text.
[[nodiscard]] std::string parse_identifier(std::string_view text, std::string_view what);

/// The display form of one identifier (quoted only where needed).
[[nodiscard]] std::string display_identifier(std::string_view name);

}  // namespace retentiond

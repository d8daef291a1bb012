#include "retentiond/archive/manifest_sql.hpp"

#include <utility>

#include "retentiond/core/error.hpp"
#include "retentiond/core/time.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/db/libpq_session.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// `1, 2` into {"1", "2"}; nullopt unless it is a list of unsigned integers.
std::optional<std::vector<std::string>> integer_list(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  for (const char c : text) {
    if (is_digit(c)) {
      current += c;
    } else if (c == ',') {
      if (current.empty()) return std::nullopt;
      out.push_back(current);
      current.clear();
    } else if (c != ' ') {
      return std::nullopt;
    }
  }
  if (current.empty() || current.size() > 9) return std::nullopt;
  out.push_back(current);
  return out;
}

// The text format_instant writes, as PostgreSQL's ISO input: `2024-01-02 00:00:00+00`.
std::string bound_value(std::chrono::sys_seconds t) {
  std::string text = format_instant(t);
  text[10] = ' ';
  text.pop_back();  // the Z
  return text + "+00";
}

}  // namespace

std::optional<TypeText> split_type_modifiers(std::string_view type) {
  TypeText out;
  bool quoted = false;
  bool seen = false;
  for (std::size_t i = 0; i < type.size(); ++i) {
    const char c = type[i];
    if (c == '"') quoted = !quoted;  // a doubled "" inside a name toggles twice
    if (quoted || (c != '(' && c != ')')) {
      out.name += c;
      continue;
    }
    if (c == ')' || seen) return std::nullopt;
    const auto close = type.find(')', i);
    if (close == std::string_view::npos) return std::nullopt;
    auto list = integer_list(type.substr(i + 1, close - i - 1));
    if (!list) return std::nullopt;
    out.modifiers = std::move(*list);
    seen = true;
    i = close;
  }
  if (quoted || out.name.empty()) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> interval_modifiers(const TypeText& type) {
  // The bits of INTERVAL_MASK (PostgreSQL's datetime.h) the grammar turns each field list into.
  constexpr int kMonth = 1 << 1, kYear = 1 << 2, kDay = 1 << 3, kHour = 1 << 10, kMinute = 1 << 11,
                kSecond = 1 << 12, kFullRange = 0x7FFF;
  static const std::vector<std::pair<std::string_view, int>> kRanges{
      {"year", kYear},
      {"month", kMonth},
      {"day", kDay},
      {"hour", kHour},
      {"minute", kMinute},
      {"second", kSecond},
      {"year to month", kYear | kMonth},
      {"day to hour", kDay | kHour},
      {"day to minute", kDay | kHour | kMinute},
      {"day to second", kDay | kHour | kMinute | kSecond},
      {"hour to minute", kHour | kMinute},
      {"hour to second", kHour | kMinute | kSecond},
      {"minute to second", kMinute | kSecond},
  };
  std::string_view name = type.name;
  if (!name.starts_with("interval") || type.modifiers.size() > 1) return std::nullopt;
  name.remove_prefix(8);
  if (name.empty()) {
    if (type.modifiers.empty()) return std::nullopt;
    return std::vector<std::string>{std::to_string(kFullRange), type.modifiers[0]};
  }
  if (!name.starts_with(' ')) return std::nullopt;
  name.remove_prefix(1);
  for (const auto& [fields, mask] : kRanges) {
    if (name != fields) continue;
    std::vector<std::string> out{std::to_string(mask)};
    out.insert(out.end(), type.modifiers.begin(), type.modifiers.end());
    return out;
  }
  return std::nullopt;
}

std::vector<std::string> resolve_column_types(LibpqSession& session, const Manifest& manifest,
                                              std::string_view source) {
  std::vector<std::string> types;
  for (std::size_t i = 0; i < manifest.columns.size(); ++i) {
    const std::string& type = manifest.columns[i].type;
    const auto refuse = [&](const std::string& why) {
      throw usage_error("manifest " + std::string(source) + ": field \"columns[" + std::to_string(i) +
                        "].type\" " + quote_input(type) + " " + why + "; nothing was restored");
    };
    const auto split = split_type_modifiers(type);
    if (!split) refuse("is not a type name");
    std::string rendered;
    try {
      // to_regtype parses a type name and nothing else (an expression, a second statement or a
      // constraint is a syntax error or NULL); the typmod input function is the type's own.
      const auto found = session.query(
          "SELECT t.oid::text, pn.nspname, p.proname, t.oid = 'pg_catalog.interval'::pg_catalog.regtype"
          " FROM pg_catalog.pg_type t"
          " LEFT JOIN pg_catalog.pg_proc p ON p.oid = t.typmodin"
          " LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace"
          " WHERE t.oid = pg_catalog.to_regtype($1)",
          {split->name});
      if (found.empty()) refuse("is not a type of this database");
      const std::string oid = *found[0][0];
      // An interval's fields are modifiers too, written as words: `interval day to second(3)`.
      std::vector<std::string> modifiers = split->modifiers;
      if (found[0][3] == "t") modifiers = interval_modifiers(*split).value_or(modifiers);
      if (modifiers.empty()) {
        rendered = *session.query("SELECT pg_catalog.format_type($1::oid, -1)", {oid}).at(0).at(0);
      } else {
        if (!found[0][1] || !found[0][2]) refuse("has modifiers, but the type takes none");
        std::string array = "{";
        for (const auto& m : modifiers) array += (array.size() > 1 ? "," : "") + m;
        array += "}";
        const std::string typmodin = quote_identifier(*found[0][1]) + "." + quote_identifier(*found[0][2]);
        rendered =
            *session
                 .query("SELECT pg_catalog.format_type($1::oid, " + typmodin + "($2::pg_catalog.cstring[]))",
                        {oid, array})
                 .at(0)
                 .at(0);
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      if (!session.connected()) throw database_error(std::string("restore: ") + first_line(e.what()));
      refuse("is not a type name this server accepts (" + first_line(e.what()) + ")");
    }
    // The round trip: the server's rendering of what it resolved is the text, or the text held
    // more than the type (or another spelling no catalog writes).
    if (rendered != type)
      refuse("does not round-trip through the server (it resolves to " + quote_input(rendered) + ")");
    types.push_back(rendered);
  }
  return types;
}

std::string partition_bound_sql(const Manifest& manifest,
                                const std::function<std::string(std::string_view)>& literal) {
  const auto value = [&](const std::optional<std::chrono::sys_seconds>& t, const char* infinite) {
    return t ? literal(bound_value(*t)) : std::string(infinite);
  };
  return "FOR VALUES FROM (" + value(manifest.lower, "MINVALUE") + ") TO (" +
         value(manifest.upper, "MAXVALUE") + ")";
}

}  // namespace retentiond

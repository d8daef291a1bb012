#include "retentiond/sql/identifier.hpp"

#include <cctype>

#include "retentiond/core/error.hpp"
#include "retentiond/core/escape.hpp"

namespace retentiond {
namespace {

bool is_plain_start(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool is_plain_char(char c) { return is_plain_start(c) || (c >= '0' && c <= '9') || c == '$'; }

// A name is shown without quotes only when PostgreSQL would read it back unchanged: lower-case
// letters, digits, `_` and `$`, not starting with a digit or `$`.
bool needs_quotes(std::string_view name) {
  if (name.empty() || !is_plain_start(name.front())) return true;
  for (char c : name) {
    if (!is_plain_char(c)) return true;
  }
  return false;
}

// Reads one identifier starting at `pos` and leaves `pos` after it. Unquoted parts fold to
// lower case like PostgreSQL does; quoted parts keep everything, `""` standing for `"`.
std::string read_part(std::string_view text, std::size_t& pos, std::string_view original, std::string_view what) {
  auto fail = [&](const std::string& why) {
    return usage_error("invalid " + std::string(what) + " " + quote_input(original) + ": " + why);
  };
  std::string out;
  if (pos < text.size() && text[pos] == '"') {
    ++pos;
    for (;;) {
      if (pos >= text.size()) throw fail("unterminated quoted identifier");
      char c = text[pos++];
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          out += '"';
          ++pos;
          continue;
        }
        break;
      }
      if (c == '\0') throw fail("NUL character in identifier");
      out += c;
    }
    if (out.empty()) throw fail("empty quoted identifier");
  } else {
    std::size_t start = pos;
    while (pos < text.size() && text[pos] != '.') {
      auto c = static_cast<unsigned char>(text[pos]);
      char lower = static_cast<char>(std::tolower(c));
      bool ok = pos == start ? (is_plain_start(lower)) : is_plain_char(lower);
      if (!ok) {
        throw fail("unexpected character " + quote_input(character_at(text, pos)) +
                   " (quote names like \"My Table\")");
      }
      out += lower;
      ++pos;
    }
    if (out.empty()) throw fail("empty name");
  }
  // PostgreSQL truncates identifiers to NAMEDATALEN-1 bytes; refusing is clearer than truncating.
  if (out.size() > 63) throw fail("identifier longer than 63 bytes");
  return out;
}

}  // namespace

std::string quote_identifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string display_identifier(std::string_view name) {
  return needs_quotes(name) ? quote_identifier(name) : std::string(name);
}

std::string parse_identifier(std::string_view text, std::string_view what) {
  std::size_t pos = 0;
  std::string part = read_part(text, pos, text, what);
  if (pos != text.size()) {
    throw usage_error("invalid " + std::string(what) + " " + quote_input(text) +
                      ": unexpected text after the name");
  }
  return part;
}

QualifiedName QualifiedName::parse(std::string_view text) {
  constexpr std::string_view what = "table name";
  std::size_t pos = 0;
  std::string first = read_part(text, pos, text, what);
  if (pos == text.size()) return {"public", first};
  if (text[pos] != '.') {
    throw usage_error("invalid table name " + quote_input(text) + ": unexpected text after the name");
  }
  ++pos;
  std::string second = read_part(text, pos, text, what);
  if (pos != text.size()) {
    throw usage_error("invalid table name " + quote_input(text) +
                      ": expected schema.table (quote names that contain dots)");
  }
  return {first, second};
}

std::string QualifiedName::quoted() const { return quote_identifier(schema) + "." + quote_identifier(name); }

std::string QualifiedName::display() const { return display_identifier(schema) + "." + display_identifier(name); }

}  // namespace retentiond

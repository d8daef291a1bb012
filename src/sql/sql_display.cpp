#include "retentiond/sql/sql_display.hpp"

#include "retentiond/core/escape.hpp"

namespace retentiond {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

// A code point below U+10000 as `\XXXX`: controls, DEL and C1 are all there.
void append_unicode_escape(std::string& out, unsigned code_point) {
  out += '\\';
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(code_point >> shift) & 0xF];
}

// The body of a quoted token (its doubled quotes kept) in U& form: `\` doubled, controls as
// Unicode escapes, every other character as it is.
std::string unicode_escaped(std::string_view body) {
  std::string out;
  for (std::size_t i = 0; i < body.size();) {
    const auto c = static_cast<unsigned char>(body[i]);
    const std::size_t length = c >= 0x80 ? utf8_sequence_length(body.substr(i)) : 1;
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      append_unicode_escape(out, c);
    } else if (length == 2 && c == 0xC2 && static_cast<unsigned char>(body[i + 1]) <= 0x9F) {
      append_unicode_escape(out, static_cast<unsigned char>(body[i + 1]));  // U+0080-U+009F
    } else {
      out.append(body, i, length == 0 ? 1 : length);
    }
    i += length == 0 ? 1 : length;
  }
  return out;
}

// Where the quoted token starting at `open` ends (one past its closing quote, or the end of
// the text). A doubled quote is part of the token; in an E'' string a backslash escapes.
std::size_t token_end(std::string_view sql, std::size_t open, bool backslash_escapes) {
  const char quote = sql[open];
  std::size_t i = open + 1;
  while (i < sql.size()) {
    if (backslash_escapes && sql[i] == '\\') {
      i += 2;
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        i += 2;
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return sql.size();
}

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

}  // namespace

std::string display_sql(std::string_view sql) {
  if (!needs_control_escape(sql)) return std::string(sql);
  std::string out;
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      const std::size_t end = sql.find('\n', i);
      const std::size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.append(sql, i, stop - i);
      i = stop;
      continue;
    }
    if (c != '"' && c != '\'') {
      out += c;
      ++i;
      continue;
    }
    // E'...' (backslash escapes) and U&'...' / U&"..." (already escaped) are copied as they
    // are: the table's \xNN for a control byte in E'' even means that byte.
    const bool prefixed = i > 0 && (sql[i - 1] == '&' || ((sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                                                          (i < 2 || !is_word_char(sql[i - 2]))));
    const bool backslash_escapes = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
    const std::size_t end = token_end(sql, i, backslash_escapes && prefixed);
    const std::string_view token = sql.substr(i, end - i);
    if (!prefixed && needs_control_escape(token)) {
      out += "U&";
      out += c;
      out += unicode_escaped(token.substr(1));
    } else {
      out.append(token);
    }
    i = end;
  }
  return out;
}

}  // namespace retentiond

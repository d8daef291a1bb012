#include "retentiond/core/json_text.hpp"

#include <charconv>

#include "retentiond/core/escape.hpp"

namespace retentiond {

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    // Runs of plain ASCII go in one append: identifiers and SQL are almost all of it.
    std::size_t plain = i;
    while (plain < text.size()) {
      const auto c = static_cast<unsigned char>(text[plain]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) break;
      ++plain;
    }
    out.append(text, i, plain - i);
    i = plain;
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text.substr(i));
      if (length == 0) {
        out += "\\ufffd";
        ++i;
      } else if (length == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
        // C1 controls (U+009B is CSI) are legal raw in JSON, but the same text goes to
        // terminals in compact output and text logs: escaped like DEL and C0.
        const auto low = static_cast<unsigned char>(text[i + 1]);
        out += "\\u00";
        out += hex[low >> 4];
        out += hex[low & 0xF];
        i += 2;
      } else {
        out.append(text, i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
    }
    ++i;
  }
  out += '"';
}

void JsonObjectWriter::key(std::string_view name) {
  if (!first_) out_ += ',';
  first_ = false;
  append_json_string(out_, name);
  out_ += ':';
}

JsonObjectWriter& JsonObjectWriter::field(std::string_view name, std::string_view value) {
  key(name);
  append_json_string(out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::optional_field(std::string_view name,
                                                   const std::optional<std::string>& value) {
  return value ? field(name, std::string_view(*value)) : null(name);
}

JsonObjectWriter& JsonObjectWriter::number(std::string_view name, std::optional<std::int64_t> value) {
  if (!value) return null(name);
  key(name);
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, *value).ptr;
  out_.append(digits, end);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::null(std::string_view name) {
  key(name);
  out_ += "null";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::raw(std::string_view name, std::string_view json) {
  key(name);
  out_ += json;
  return *this;
}

}  // namespace retentiond

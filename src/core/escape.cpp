#include "retentiond/core/escape.hpp"

namespace retentiond {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex_byte(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}

bool is_c0_or_del(unsigned char c) { return c < 0x20 || c == 0x7f; }

// U+0080-U+009F are encoded as C2 80 .. C2 9F; terminals act on some of them (U+009B is CSI).
bool is_c1(std::string_view sequence) {
  return sequence.size() == 2 && static_cast<unsigned char>(sequence[0]) == 0xC2 &&
         static_cast<unsigned char>(sequence[1]) <= 0x9F;
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view text) noexcept {
  if (text.empty()) return 0;
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](std::size_t i, unsigned char low = 0x80, unsigned char high = 0xBF) {
    return i < text.size() && byte(i) >= low && byte(i) <= high;
  };
  const unsigned char lead = byte(0);
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned char low = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = lead == 0xED ? 0x9F : 0xBF;  // no UTF-16 surrogates
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned char low = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

std::string_view character_at(std::string_view text, std::size_t pos) noexcept {
  if (pos >= text.size()) return {};
  const std::size_t length = utf8_sequence_length(text.substr(pos));
  return text.substr(pos, length == 0 ? 1 : length);
}

void append_escaped(std::string& out, std::string_view text, bool quoted_string) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text.substr(i));
      if (length == 0 || is_c1(text.substr(i, length))) {
        for (std::size_t k = 0; k < (length == 0 ? 1 : length); ++k)
          append_hex_byte(out, static_cast<unsigned char>(text[i + k]));
        i += length == 0 ? 1 : length;
      } else {
        out.append(text, i, length);
        i += length;
      }
      continue;
    }
    if (is_c0_or_del(c)) {
      append_hex_byte(out, c);
    } else if (quoted_string && (c == '"' || c == '\\')) {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
}

bool needs_control_escape(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (is_c0_or_del(c)) return true;
      ++i;
      continue;
    }
    const std::size_t length = utf8_sequence_length(text.substr(i));
    if (length == 0 || is_c1(text.substr(i, length))) return true;
    i += length;
  }
  return false;
}

std::string escape_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped(out, text, false);
  return out;
}

}  // namespace retentiond

#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace retentiond {

// Locale-independent character tests for the parsers: user input is ASCII syntax, and the C
// library's versions depend on the process locale and take int, not char.
[[nodiscard]] constexpr bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }
[[nodiscard]] constexpr bool is_ascii_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
[[nodiscard]] constexpr bool is_ascii_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

[[nodiscard]] constexpr char ascii_to_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// ASCII letters lowered, everything else kept.
[[nodiscard]] std::string ascii_lower(std::string_view text);

/// The boolean words configuration values (file and environment) and policy options accept, in
/// any case: true/false, yes/no, on/off, 1/0 (YAML 1.1's spellings, and what environment
/// variables use). Anything else, blanks around the word included, gives nothing.
[[nodiscard]] std::optional<bool> parse_boolean_word(std::string_view text);

/// Without leading and trailing ASCII blanks.
[[nodiscard]] std::string_view trim_ascii(std::string_view text);

}  // namespace retentiond

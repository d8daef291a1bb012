#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace retentiond {

// How text that retentiond did not write itself (names from the catalog, rows, user input,
// server errors) is shown to people. A name may hold a newline, an ESC or bytes that are not
// UTF-8; shown raw, it could forge a log line or rewrite a terminal. Machines get the exact
// bytes through JSON (append_json_string) instead.

/// Length of the well-formed UTF-8 sequence at the start of `text` (Unicode 15, table 3-7),
/// or 0 when it does not start with one (also for plain ASCII: that is a single byte).
[[nodiscard]] std::size_t utf8_sequence_length(std::string_view text) noexcept;

/// The whole character at `pos`: one byte for ASCII or a byte that starts no valid sequence,
/// the complete code point otherwise. Parsers quote this rather than one byte, so an error
/// never cuts a character in half.
[[nodiscard]] std::string_view character_at(std::string_view text, std::size_t pos) noexcept;

/// True when escape_control() would change `text`.
[[nodiscard]] bool needs_control_escape(std::string_view text) noexcept;

/// `text` for a human format (table cells, compact values, text log lines): C0 controls,
/// DEL, C1 controls (U+0080-U+009F) and bytes that are not well-formed UTF-8 become `\xNN`
/// (one per byte); everything else, `\` included, stays as it is.
[[nodiscard]] std::string escape_control(std::string_view text);

/// Appends escape_control(text), also escaping `"` and `\` as `\"` and `\\` when
/// `quoted_string` is set (the body of a quote_input string).
void append_escaped(std::string& out, std::string_view text, bool quoted_string);

}  // namespace retentiond

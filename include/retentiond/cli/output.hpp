#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace retentiond {

/// `-o table|json|compact`: aligned columns for people, stable JSON for programs, one
/// `key=value` line per record for grep and cron mail.
enum class OutputFormat { table, json, compact };

/// Throws a usage Error naming the text when it is not one of the three.
[[nodiscard]] OutputFormat parse_output_format(std::string_view text);

/// One value of a `-o compact` line: as it is when it holds no blank, `"`, control character
/// or broken UTF-8 (so a line splits on spaces), else JSON-quoted.
[[nodiscard]] std::string compact_value(std::string_view value);

/// Columns padded to their widest cell, each cell through escape_control() (so a cell never
/// breaks its line), headers in capitals, one line per row.
[[nodiscard]] std::string render_table(const std::vector<std::string>& headers,
                                       const std::vector<std::vector<std::string>>& rows);

}  // namespace retentiond

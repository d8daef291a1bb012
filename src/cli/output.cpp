#include "retentiond/cli/output.hpp"

#include <algorithm>
#include <cctype>

#include "retentiond/core/error.hpp"
#include "retentiond/core/escape.hpp"
#include "retentiond/core/json_text.hpp"

namespace retentiond {

OutputFormat parse_output_format(std::string_view text) {
  if (text == "table") return OutputFormat::table;
  if (text == "json") return OutputFormat::json;
  if (text == "compact") return OutputFormat::compact;
  throw usage_error("invalid output format " + quote_input(text) + ": expected table, json or compact");
}

namespace {

// A cell is shown on its own row: a newline, tab or ESC in a value (a database error with a
// DETAIL line, a partition named to forge a line) would otherwise break the table or the
// terminal, so control characters and broken UTF-8 are escaped as \xNN.
std::string one_line(const std::string& cell) { return escape_control(cell); }

// Columns on a terminal, not bytes: a UTF-8 continuation byte takes no column of its own.
std::size_t width_of(const std::string& cell) {
  return static_cast<std::size_t>(std::count_if(
      cell.begin(), cell.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string compact_value(std::string_view value) {
  if (!value.empty() && value.find_first_of(" \t\"") == std::string_view::npos &&
      !needs_control_escape(value))
    return std::string(value);
  return json_string(value);
}

std::string render_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(headers.size(), 0);
  for (std::size_t i = 0; i < headers.size(); ++i) widths[i] = width_of(one_line(headers[i]));
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width_of(one_line(row[i])));
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells, bool upper) {
    std::string text;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      std::string cell = one_line(i < cells.size() ? cells[i] : "");
      if (upper) std::transform(cell.begin(), cell.end(), cell.begin(), [](unsigned char c) { return std::toupper(c); });
      text += cell;
      // The last column is not padded so lines carry no trailing blanks.
      if (i + 1 < widths.size()) text += std::string(widths[i] - width_of(cell) + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + '\n';
  };
  line(headers, true);
  for (const auto& row : rows) line(row, false);
  return out;
}

}  // namespace retentiond

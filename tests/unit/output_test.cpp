#include "retentiond/cli/output.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "retentiond/core/error.hpp"

using retentiond::OutputFormat;
using retentiond::parse_output_format;
using retentiond::render_table;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  CHECK(start == text.size());  // every line ends with a newline
  return lines;
}

std::string format_error(const std::string& text) {
  try {
    (void)parse_output_format(text);
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  FAIL("no error for output format \"" << text << "\"");
  return {};
}

// Terminal columns of UTF-8 text (every character used here is one column wide).
std::size_t columns(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace

TEST_CASE("output: the three formats parse") {
  CHECK(parse_output_format("table") == OutputFormat::table);
  CHECK(parse_output_format("json") == OutputFormat::json);
  CHECK(parse_output_format("compact") == OutputFormat::compact);
}

TEST_CASE("output: any other format is a usage error naming it and the choices") {
  const auto message = format_error("yaml");
  CHECK(message == "invalid output format \"yaml\": expected table, json or compact");
  CHECK(format_error("").find("\"\"") != std::string::npos);
  CHECK(format_error("JSON").find("\"JSON\"") != std::string::npos);
  CHECK(format_error(" json").find("\" json\"") != std::string::npos);
}

TEST_CASE("output: a table pads columns to their widest cell with two blanks between") {
  const auto text =
      render_table({"id", "strategy", "ttl"}, {{"a", "delete", "90d"}, {"longer-id", "snapshot", "1y"}});
  CHECK(text ==
        "ID         STRATEGY  TTL\n"
        "a          delete    90d\n"
        "longer-id  snapshot  1y\n");
}

TEST_CASE("output: headers are shown in capitals, cells as given") {
  const auto lines = lines_of(render_table({"Table", "enabled"}, {{"public.Metrics", "true"}}));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "TABLE           ENABLED");
  CHECK(lines[1] == "public.Metrics  true");
}

TEST_CASE("output: a header wider than its cells sets the column width") {
  CHECK(render_table({"schedule", "x"}, {{"@daily", "1"}}) ==
        "SCHEDULE  X\n"
        "@daily    1\n");
}

TEST_CASE("output: table lines carry no trailing blanks") {
  const auto text = render_table({"id", "target", "tags"},
                                 {{"a", "", ""}, {"bb", "cold", ""}, {"ccc", "", "prod"}, {"", "", ""}});
  for (const auto& line : lines_of(text)) {
    CAPTURE(line);
    CHECK((line.empty() || line.back() != ' '));
  }
  CHECK(text ==
        "ID   TARGET  TAGS\n"
        "a\n"
        "bb   cold\n"
        "ccc          prod\n"
        "\n");
}

TEST_CASE("output: every column starts at the same offset on every line") {
  const auto text = render_table({"id", "table", "strategy"},
                                 {{"x", "public.metrics", "delete"}, {"policy-two", "s.t", "reallocate"}});
  const auto lines = lines_of(text);
  REQUIRE(lines.size() == 3);
  const auto table_at = lines[0].find("TABLE");
  const auto strategy_at = lines[0].find("STRATEGY");
  CHECK(lines[1].find("public.metrics") == table_at);
  CHECK(lines[2].find("s.t") == table_at);
  CHECK(lines[1].find("delete") == strategy_at);
  CHECK(lines[2].find("reallocate") == strategy_at);
}

TEST_CASE("output: a table without rows is just the header line") {
  CHECK(render_table({"id", "table"}, {}) == "ID  TABLE\n");
}

TEST_CASE("output: short rows are padded with empty cells and long rows are cut to the headers") {
  CHECK(render_table({"a", "b", "c"}, {{"1"}, {"1", "2", "3", "4"}}) ==
        "A  B  C\n"
        "1\n"
        "1  2  3\n");
}

TEST_CASE("output: columns line up when cells hold multi-byte UTF-8 characters") {
  const auto text =
      render_table({"table", "strategy"}, {{"public.\"café\"", "delete"}, {"public.metrics", "snapshot"}});
  const auto lines = lines_of(text);
  REQUIRE(lines.size() == 3);
  const auto strategy_column = columns(lines[0].substr(0, lines[0].find("STRATEGY")));
  CHECK(columns(lines[1].substr(0, lines[1].find("delete"))) == strategy_column);
  CHECK(columns(lines[2].substr(0, lines[2].find("snapshot"))) == strategy_column);
}

TEST_CASE("output: a cell holding a newline or tab stays on its row") {
  const auto text =
      render_table({"id", "error"}, {{"a", "ERROR:  lock timeout\nDETAIL:  x\n"}, {"b", "tab\there"}});
  const auto lines = lines_of(text);
  REQUIRE(lines.size() == 3);
  CHECK(lines[1].rfind("a  ", 0) == 0);
  CHECK(lines[1].find("lock timeout") != std::string::npos);
  CHECK(lines[1].find("DETAIL") != std::string::npos);
  CHECK(lines[2].rfind("b  ", 0) == 0);
  CHECK(text.find('\t') == std::string::npos);
  for (const auto& line : lines) CHECK((line.empty() || line.back() != ' '));
}

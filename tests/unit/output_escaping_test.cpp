#include <memory>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "retentiond/cli/output.hpp"
#include "retentiond/core/escape.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/sql/sql_display.hpp"

using namespace retentiond;

TEST_CASE("output: display_sql keeps plain SQL byte for byte") {
  for (const char* sql :
       {R"(DROP TABLE "public"."metrics_p20240101")", R"(ALTER TABLE "a"."b" SET TABLESPACE "cold")",
        R"(DELETE FROM "public"."events" WHERE "created_at" < $1 -- $1 = '2024-01-01')",
        R"(SELECT 'it''s', "a""b", E'\n')"}) {
    CHECK(display_sql(sql) == sql);
  }
}

TEST_CASE("output: display_sql shows a quoted name with control characters in exact U& form") {
  CHECK(display_sql("DROP TABLE \"public\".\"metrics_p1\nlevel=error\"") ==
        R"(DROP TABLE "public".U&"metrics_p1\000Alevel=error")");
  CHECK(display_sql("DROP TABLE \"p\".\"a\\b\tc\"\"d\"") == R"(DROP TABLE "p".U&"a\\b\0009c""d")");
  CHECK(display_sql("SELECT 'x\ny', \"\x1b[2J\xc2\x9b\"") == R"(SELECT U&'x\000Ay', U&"\001B[2J\009B")");
  CHECK(display_sql("SELECT \"caf\xc3\xa9\r\"") == "SELECT U&\"caf\xc3\xa9\\000D\"");  // é stays as it is
  // Already escaped forms are left alone; the table's \xNN inside E'' means the same byte.
  CHECK(display_sql("SELECT E'a\nb'") == "SELECT E'a\nb'");
  CHECK(escape_control(display_sql("SELECT E'a\nb'")) == "SELECT E'a\\x0ab'");
  // A line break between statements is not inside a name: the table escapes it as \x0a.
  CHECK(display_sql("SELECT 1;\nSELECT \"a\nb\"") == "SELECT 1;\nSELECT U&\"a\\000Ab\"");
}

TEST_CASE("output: compact values are bare when they can be, JSON-quoted otherwise") {
  CHECK(compact_value("public.metrics_p20240101") == "public.metrics_p20240101");
  CHECK(compact_value("") == "\"\"");
  CHECK(compact_value("public.\"My Table\"") == R"("public.\"My Table\"")");
  CHECK(compact_value("a\nlevel=error") == R"("a\nlevel=error")");
  CHECK(compact_value("x\x7f") == R"("x\u007f")");
  CHECK(compact_value("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(compact_value("bad\xff") == R"("bad\ufffd")");
}

TEST_CASE("output: table cells never break their line") {
  const std::string table =
      render_table({"name", "error"}, {{"a\nb", "x\r\ny\x1b[31m"}, {"caf\xc3\xa9", "ok"}});
  CHECK(table ==
        "NAME    ERROR\n"
        "a\\x0ab  x\\x0d\\x0ay\\x1b[31m\n"
        "caf\xc3\xa9    ok\n");
}

TEST_CASE("output: a text log line stays one line whatever its message and fields hold") {
  std::ostringstream out;
  init_logging("info", "text", false, std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  log_event(spdlog::level::err, LogEvent::job_failed,
            {{"partition", std::string("public.\"p\nlevel=error event=forged\x7f\"")}},
            "relation \"p\nlevel=error event=forged\" \x1b[2J does not exist \xc2\x9b");
  spdlog::default_logger()->info("library line\nlevel=error event=forged");
  spdlog::default_logger()->flush();
  const std::string text = out.str();
  std::istringstream lines(text);
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) {
    CAPTURE(line);
    CHECK_FALSE(line.starts_with("level=error"));
    CHECK(line.find('\x1b') == std::string::npos);
    CHECK(line.find('\x7f') == std::string::npos);
    CHECK(line.find("\xc2\x9b") == std::string::npos);
  }
  // The stream dies with this test: later logging must not reach it.
  init_logging("info", "text", false, std::make_shared<spdlog::sinks::null_sink_mt>());
  CHECK(count == 2);
  CHECK(text.find("relation \"p\\x0alevel=error event=forged\" \\x1b[2J does not exist \\xc2\\x9b") !=
        std::string::npos);
}

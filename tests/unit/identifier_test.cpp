#include "retentiond/sql/identifier.hpp"

#include <string>

#include <doctest/doctest.h>

#include "retentiond/core/error.hpp"

using retentiond::display_identifier;
using retentiond::parse_identifier;
using retentiond::QualifiedName;
using retentiond::quote_identifier;

namespace {

// Parses `text` expecting a usage error; returns its message.
std::string parse_error(const std::string& text) {
  try {
    (void)QualifiedName::parse(text);
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  FAIL("no error for table name \"" << text << "\"");
  return {};
}

std::string identifier_error(const std::string& text, const std::string& what = "column name") {
  try {
    (void)parse_identifier(text, what);
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  FAIL("no error for " << what << " \"" << text << "\"");
  return {};
}

bool one_line(const std::string& message) { return message.find('\n') == std::string::npos; }

}  // namespace

TEST_CASE("identifier: quote_identifier always quotes and doubles embedded quotes") {
  CHECK(quote_identifier("metrics") == "\"metrics\"");
  CHECK(quote_identifier("My Table") == "\"My Table\"");
  CHECK(quote_identifier("a\"b") == "\"a\"\"b\"");
  CHECK(quote_identifier("\"") == "\"\"\"\"");
  CHECK(quote_identifier("select") == "\"select\"");
  CHECK(quote_identifier("a.b") == "\"a.b\"");
  CHECK(quote_identifier("") == "\"\"");
}

TEST_CASE("identifier: a bare table name is in schema public") {
  CHECK(QualifiedName::parse("metrics") == QualifiedName{"public", "metrics"});
  CHECK(QualifiedName::parse("\"Metrics\"") == QualifiedName{"public", "Metrics"});
}

TEST_CASE("identifier: unquoted names fold to lower case") {
  CHECK(QualifiedName::parse("Public.Metrics") == QualifiedName{"public", "metrics"});
  CHECK(QualifiedName::parse("SALES.EVENTS_2024") == QualifiedName{"sales", "events_2024"});
  CHECK(parse_identifier("CreatedAt", "column name") == "createdat");
}

TEST_CASE("identifier: quoted names keep their case") {
  CHECK(QualifiedName::parse("\"Sales\".\"Events\"") == QualifiedName{"Sales", "Events"});
  CHECK(QualifiedName::parse("public.\"My Table\"") == QualifiedName{"public", "My Table"});
  CHECK(parse_identifier("\"CreatedAt\"", "column name") == "CreatedAt");
}

TEST_CASE(
    "identifier: unquoted names may hold digits, underscores and dollar signs after the first character") {
  CHECK(QualifiedName::parse("_private.t$1") == QualifiedName{"_private", "t$1"});
  CHECK(parse_identifier("ts_2", "column name") == "ts_2");
}

TEST_CASE("identifier: a doubled quote inside a quoted name is a literal quote") {
  CHECK(QualifiedName::parse("public.\"say \"\"hi\"\"\"") == QualifiedName{"public", "say \"hi\""});
  CHECK(QualifiedName::parse("\"\"\"\".\"\"\"\"") == QualifiedName{"\"", "\""});
  CHECK(parse_identifier("\"a\"\"b\"", "column name") == "a\"b");
}

TEST_CASE("identifier: quoted names may hold dots, spaces and SQL") {
  CHECK(QualifiedName::parse("\"a.b\".\"c.d\"") == QualifiedName{"a.b", "c.d"});
  CHECK(QualifiedName::parse("\"my schema\".\"my table\"") == QualifiedName{"my schema", "my table"});

  const auto injected = QualifiedName::parse("public.\"x; drop table y\"");
  CHECK(injected.schema == "public");
  CHECK(injected.name == "x; drop table y");
  CHECK(injected.quoted() == "\"public\".\"x; drop table y\"");
}

TEST_CASE("identifier: quoted() renders a hostile name as one harmless identifier") {
  const QualifiedName hostile{"public", "x\"; drop table y; --"};
  CHECK(hostile.quoted() == "\"public\".\"x\"\"; drop table y; --\"");
  // What was rendered reads back as the same name.
  CHECK(QualifiedName::parse(hostile.quoted()) == hostile);
}

TEST_CASE("identifier: quoted() quotes both parts even when plain") {
  CHECK(QualifiedName{"public", "metrics"}.quoted() == "\"public\".\"metrics\"");
  CHECK(QualifiedName{"Sales", "a\"b"}.quoted() == "\"Sales\".\"a\"\"b\"");
}

TEST_CASE("identifier: display() quotes only where needed") {
  CHECK(QualifiedName{"public", "metrics"}.display() == "public.metrics");
  CHECK(QualifiedName{"public", "events_2024$x"}.display() == "public.events_2024$x");
  CHECK(QualifiedName{"public", "My Table"}.display() == "public.\"My Table\"");
  CHECK(QualifiedName{"Sales", "metrics"}.display() == "\"Sales\".metrics");
  CHECK(QualifiedName{"public", "a.b"}.display() == "public.\"a.b\"");
  CHECK(QualifiedName{"public", "2024"}.display() == "public.\"2024\"");
  CHECK(QualifiedName{"public", "$x"}.display() == "public.\"$x\"");
  CHECK(QualifiedName{"public", "a\"b"}.display() == "public.\"a\"\"b\"");
}

TEST_CASE("identifier: display() round-trips through parse()") {
  const QualifiedName names[] = {
      {"public", "metrics"},
      {"public", "My Table"},
      {"Sales", "Events"},
      {"a.b", "c.d"},
      {"public", "x; drop table y"},
      {"we\"ird", "\"quoted\""},
      {"public", "2024_events"},
      {"_s", "t$1"},
      {"public", "café"},
      {"public", "tab\there"},
      {"public", std::string(63, 'x')},
      {"public", "select"},
  };
  for (const auto& name : names) {
    CAPTURE(name.display());
    CHECK(QualifiedName::parse(name.display()) == name);
    CHECK(QualifiedName::parse(name.quoted()) == name);
  }
}

TEST_CASE("identifier: display_identifier quotes only where needed") {
  CHECK(display_identifier("ts") == "ts");
  CHECK(display_identifier("created_at") == "created_at");
  CHECK(display_identifier("CreatedAt") == "\"CreatedAt\"");
  CHECK(display_identifier("created at") == "\"created at\"");
  CHECK(display_identifier("1st") == "\"1st\"");
  CHECK(display_identifier("a\"b") == "\"a\"\"b\"");
  CHECK(display_identifier("") == "\"\"");
  for (const std::string name : {"ts", "CreatedAt", "created at", "a\"b", "a.b", "_x"}) {
    CHECK(parse_identifier(display_identifier(name), "column name") == name);
  }
}

TEST_CASE("identifier: parse_identifier takes exactly one name") {
  CHECK(identifier_error("a.b").find("unexpected text after the name") != std::string::npos);
  CHECK(identifier_error("\"a\"b").find("unexpected text after the name") != std::string::npos);
  CHECK(identifier_error("\"a\".\"b\"").find("unexpected text after the name") != std::string::npos);
  CHECK(parse_identifier("\"a.b\"", "column name") == "a.b");
}

TEST_CASE("identifier: parse_identifier errors name what was parsed and the text") {
  const auto message = identifier_error("My Column", "partition column");
  CHECK(message.find("invalid partition column \"My Column\"") == 0);
  CHECK(message.find("unexpected character \" \"") != std::string::npos);
  CHECK(identifier_error("").find("empty name") != std::string::npos);
  CHECK(identifier_error("\"\"").find("empty quoted identifier") != std::string::npos);
  CHECK(identifier_error("\"abc").find("unterminated quoted identifier") != std::string::npos);
  CHECK(identifier_error("1st").find("unexpected character \"1\"") != std::string::npos);
}

TEST_CASE("identifier: empty parts are usage errors") {
  CHECK(parse_error("").find("empty name") != std::string::npos);
  CHECK(parse_error(".metrics").find("empty name") != std::string::npos);
  CHECK(parse_error("public.").find("empty name") != std::string::npos);
  CHECK(parse_error(".").find("empty name") != std::string::npos);
  CHECK(parse_error("\"\".metrics").find("empty quoted identifier") != std::string::npos);
  CHECK(parse_error("public.\"\"").find("empty quoted identifier") != std::string::npos);
}

TEST_CASE("identifier: a trailing dot is a usage error") {
  CHECK(parse_error("public.metrics.").find("invalid table name \"public.metrics.\"") == 0);
  CHECK(parse_error("\"public\".").find("empty name") != std::string::npos);
}

TEST_CASE("identifier: three parts are a usage error that suggests quoting") {
  const auto message = parse_error("db.public.metrics");
  CHECK(message.find("invalid table name \"db.public.metrics\"") == 0);
  CHECK(message.find("schema.table") != std::string::npos);
  CHECK(parse_error("\"a\".\"b\".\"c\"").find("schema.table") != std::string::npos);
}

TEST_CASE("identifier: unterminated quotes are usage errors") {
  CHECK(parse_error("\"metrics").find("unterminated quoted identifier") != std::string::npos);
  CHECK(parse_error("public.\"metrics").find("unterminated quoted identifier") != std::string::npos);
  CHECK(parse_error("\"public.metrics").find("unterminated quoted identifier") != std::string::npos);
  // The closing quote is doubled, so it is a literal quote and the name never ends.
  CHECK(parse_error("public.\"metrics\"\"").find("unterminated quoted identifier") != std::string::npos);
  CHECK(parse_error("\"").find("unterminated quoted identifier") != std::string::npos);
}

TEST_CASE("identifier: text after a quoted part is a usage error") {
  CHECK(parse_error("\"a\"b").find("unexpected text after the name") != std::string::npos);
  CHECK(parse_error("public.\"a\"b").find("schema.table") != std::string::npos);
  CHECK(parse_error("\"a\" .b").find("unexpected text after the name") != std::string::npos);
}

TEST_CASE("identifier: unquoted names with spaces, dashes or a leading digit are usage errors") {
  CHECK(parse_error("public.my table").find("unexpected character \" \"") != std::string::npos);
  CHECK(parse_error("public.my-table").find("unexpected character \"-\"") != std::string::npos);
  CHECK(parse_error("public.2024").find("unexpected character \"2\"") != std::string::npos);
  CHECK(parse_error("public.$x").find("unexpected character \"$\"") != std::string::npos);
  CHECK(parse_error(" public.metrics").find("unexpected character \" \"") != std::string::npos);
  CHECK(parse_error("public.metrics ").find("unexpected character \" \"") != std::string::npos);
  CHECK(parse_error("public;drop").find("unexpected character \";\"") != std::string::npos);
  // Quoting is the way out, and the message says so.
  CHECK(parse_error("public.My Table").find("\"My Table\"") != std::string::npos);
}

TEST_CASE("identifier: names of 63 bytes are accepted and longer ones are usage errors") {
  const std::string max(63, 'a');
  const std::string too_long(64, 'a');
  CHECK(QualifiedName::parse(max + "." + max) == QualifiedName{max, max});
  CHECK(QualifiedName::parse("\"" + max + "\"") == QualifiedName{"public", max});
  CHECK(parse_error("public." + too_long).find("longer than 63 bytes") != std::string::npos);
  CHECK(parse_error(too_long + ".t").find("longer than 63 bytes") != std::string::npos);
  CHECK(parse_error("\"" + too_long + "\"").find("longer than 63 bytes") != std::string::npos);
  CHECK(identifier_error(too_long).find("longer than 63 bytes") != std::string::npos);
  // Bytes, not characters: 32 two-byte characters are 64 bytes.
  std::string wide;
  for (int i = 0; i < 32; ++i) wide += "é";
  CHECK(parse_error("public.\"" + wide + "\"").find("longer than 63 bytes") != std::string::npos);
  // A doubled quote counts as the one byte it stands for.
  std::string quotes = "\"";
  for (int i = 0; i < 63; ++i) quotes += "\"\"";
  quotes += "\"";
  CHECK(QualifiedName::parse(quotes).name == std::string(63, '"'));
}

TEST_CASE("identifier: a NUL byte is a usage error, quoted or not") {
  CHECK(parse_error(std::string("public.\"a\0b\"", 12)).find("NUL") != std::string::npos);
  CHECK_THROWS_AS((void)QualifiedName::parse(std::string("public.a\0b", 10)), retentiond::Error);
}

TEST_CASE("identifier: error messages quote the input and stay on one line") {
  const auto message = parse_error("public.\"x; drop table y");
  CHECK(message.find("public.") != std::string::npos);
  CHECK(message.find("x; drop table y") != std::string::npos);
  CHECK(one_line(message));

  // Control characters in the input are escaped, so a log line stays a line.
  const auto multiline = parse_error("a.b.\"c\nd\"");
  CHECK(one_line(multiline));
  CHECK(multiline.find("\\x0a") != std::string::npos);
  CHECK(one_line(parse_error("public.\"a\nb")));
  CHECK(one_line(parse_error(std::string("a\0b", 3))));
  CHECK(one_line(identifier_error("x\ny")));
  CHECK(one_line(parse_error("\"" + std::string(64, '\n') + "\"")));
}

TEST_CASE("identifier: an embedded quote in an error message is escaped") {
  const auto message = parse_error("public.\"a\"b");
  CHECK(message.find("invalid table name \"public.\\\"a\\\"b\"") == 0);
}

TEST_CASE("identifier: quoted names may hold newlines and other control characters") {
  CHECK(QualifiedName::parse("\"a\nb\"") == QualifiedName{"public", "a\nb"});
  CHECK(QualifiedName{"public", "a\nb"}.display() == "public.\"a\nb\"");
}

TEST_CASE("identifier: qualified names order by schema, then name") {
  CHECK(QualifiedName{"a", "z"} < QualifiedName{"b", "a"});
  CHECK(QualifiedName{"a", "a"} < QualifiedName{"a", "b"});
  CHECK(QualifiedName{"a", "b"} != QualifiedName{"a", "B"});
}

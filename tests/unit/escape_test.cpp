#include "retentiond/core/escape.hpp"

#include <string>

#include <doctest/doctest.h>

#include "retentiond/config/config.hpp"
#include "retentiond/core/error.hpp"
#include "retentiond/core/json_text.hpp"
#include "retentiond/policy/duration.hpp"
#include "retentiond/policy/schedule.hpp"
#include "retentiond/sql/identifier.hpp"

using namespace retentiond;

namespace {

template <typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  FAIL("no error");
  return {};
}

// A message is well-formed UTF-8 without control characters: nothing cut in half, one line.
void check_clean(const std::string& message) {
  INFO(message);
  CHECK_FALSE(needs_control_escape(message));
}

}  // namespace

TEST_CASE("escape: control characters, DEL, C1 and broken UTF-8 become \\xNN, characters stay whole") {
  CHECK(escape_control("a\nb\rc\td\x1b[31me\x7f") == "a\\x0ab\\x0dc\\x09d\\x1b[31me\\x7f");
  CHECK(escape_control("90日 P1Ü é") == "90日 P1Ü é");
  CHECK(escape_control("\xc2\x9b"
                       "2J") == "\\xc2\\x9b2J");               // U+009B, CSI
  CHECK(escape_control("x\xef\xbf") == "x\\xef\\xbf");         // truncated sequence
  CHECK(escape_control("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a UTF-16 surrogate
  CHECK(escape_control("\xc0\xaf") == "\\xc0\\xaf");           // overlong
  CHECK(escape_control("back\\slash \"q\"") == "back\\slash \"q\"");
  CHECK(quote_input("a\"b\\c\nd日\xff") == "\"a\\\"b\\\\c\\x0ad日\\xff\"");
  CHECK(character_at("日本", 0) == "日");
  CHECK(character_at("a\xff", 1) == "\xff");
  CHECK(character_at("é", 0) == "é");
}

TEST_CASE("escape: duration errors quote whole characters, never half of one") {
  for (const char* text : {"90日", "P1Ü", "é", "1dé", "P1D日", "PT1Ü", "1 jour é"}) {
    const std::string message = message_of([&] { (void)Duration::parse(text); });
    check_clean(message);
  }
  CHECK(message_of([] { (void)Duration::parse("90日"); }).find("unexpected \"日\"") != std::string::npos);
  CHECK(message_of([] { (void)Duration::parse("P1Ü"); }).find("designator \"Ü\"") != std::string::npos);
  CHECK(message_of([] { (void)Duration::parse("é"); }).find("unexpected \"é\"") != std::string::npos);
}

TEST_CASE("escape: schedule errors quote whole characters") {
  for (const char* text : {"é * * * *", "0 é * * *", "*/é * * * *", "@éé", "@every 90日", "0 0 * * 日"}) {
    const std::string message = message_of([&] { (void)Schedule::parse(text); });
    check_clean(message);
  }
  CHECK(message_of([] { (void)Schedule::parse("@every 90日"); }).find("\"日\"") != std::string::npos);
}

TEST_CASE("escape: identifier errors quote whole characters and escape invalid bytes") {
  for (const char* text : {"tæ$", "é", "public.é", "a日", "x\xff", "naïve table"}) {
    const std::string message = message_of([&] { (void)QualifiedName::parse(text); });
    check_clean(message);
    check_clean(message_of([&] { (void)parse_identifier(text, "column"); }));
  }
  CHECK(message_of([] { (void)QualifiedName::parse("a日"); }).find("unexpected character \"日\"") !=
        std::string::npos);
  CHECK(message_of([] { (void)QualifiedName::parse("é"); }).find("unexpected character \"é\"") !=
        std::string::npos);
  CHECK(message_of([] { (void)QualifiedName::parse("x\xff"); }).find("\"\\xff\"") != std::string::npos);
}

TEST_CASE("escape: JSON strings escape DEL and C1 controls too, for the terminals compact output reaches") {
  CHECK(json_string("a\x7f"
                    "b") == "\"a\\u007fb\"");
  CHECK(json_string("\xc2\x9b"
                    "2J \xc2\xa0") == "\"\\u009b2J \xc2\xa0\"");  // CSI escaped, NBSP kept
  CHECK(json_string("line\nbreak\x1b") == "\"line\\nbreak\\u001b\"");
}

TEST_CASE("escape: configuration errors quote values whole and on one line") {
  const std::pair<const char*, const char*> cases[] = {
      {"RETENTIOND_LOG_LEVEL", "dé\nbug"},
      {"RETENTIOND_SCHEDULER_MAX_CONCURRENT_JOBS", "9日\r"},
      {"RETENTIOND_HA_ENABLED", "sí\x1b"},
      {"RETENTIOND_SCHEDULER_JITTER", "90日"},
      {"RETENTIOND_DATABASE_SCHEMA", "é\n"},
  };
  for (const auto& [variable, value] : cases) {
    ConfigSources sources;
    sources.default_file = "/nonexistent/retentiond.yaml";
    sources.environment[variable] = value;
    const std::string message = message_of([&] { (void)load_config(sources); });
    check_clean(message);
  }
}

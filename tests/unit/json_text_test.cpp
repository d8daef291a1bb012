#include "retentiond/core/json_text.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using retentiond::append_json_string;
using retentiond::JsonObjectWriter;

namespace {

std::string as_json(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

}  // namespace

TEST_CASE("json text: strings are escaped exactly as nlohmann::json writes them") {
  const std::string samples[] = {
      "",
      "plain",
      R"(DROP TABLE "public"."metrics_p20240101")",
      "back\\slash and \"quotes\"",
      "tab\tnew\nline\rcarriage\bbell\fform",
      std::string("nul\0byte", 8),
      "\x01\x1f",  // DEL and C1 are escaped further than nlohmann does: see escape_test
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",   // é € 😀
      "\xed\x9f\xbf \xef\xbf\xbd \xf4\x8f\xbf\xbf",  // U+D7FF, U+FFFD, U+10FFFF
  };
  for (const auto& sample : samples) {
    CHECK_MESSAGE(as_json(sample) == nlohmann::json(sample).dump(), sample);
  }
}

TEST_CASE("json text: bytes that are not UTF-8 become U+FFFD and the result parses") {
  CHECK(as_json("a\xff"
                "b") == R"("a\ufffdb")");
  CHECK(as_json("\xc3") == R"("\ufffd")");                                // truncated sequence
  CHECK(as_json("\xc0\xaf") == R"("\ufffd\ufffd")");                      // overlong '/'
  CHECK(as_json("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");            // UTF-16 surrogate
  CHECK(as_json("\xf4\x90\x80\x80") == R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
  CHECK(as_json("\xe2\x82"
                "x") == R"("\ufffd\ufffdx")");
  for (const char* bad : {"\x80", "x\xfe\xff", "\xf0\x9f\x98", "ok\xc3\xa9\xc3"}) {
    const auto parsed = nlohmann::json::parse(as_json(bad));
    CHECK(parsed.is_string());
  }
}

TEST_CASE("json text: an object writer gives fields in order, nulls and numbers") {
  std::string out;
  JsonObjectWriter(out)
      .field("policy", "p\"1")
      .optional_field("partition", std::nullopt)
      .optional_field("error", std::string("lock not available"))
      .number("rows", 1234567890123)
      .number("bytes", std::nullopt)
      .null("x")
      .raw("skipped", "[]")
      .close();
  CHECK(out == R"({"policy":"p\"1","partition":null,"error":"lock not available","rows":1234567890123,)"
               R"("bytes":null,"x":null,"skipped":[]})");
  const auto parsed = nlohmann::ordered_json::parse(out);
  CHECK(parsed.dump() == out);
}

#include "retentiond/engine/bounds.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "retentiond/core/time.hpp"

using retentiond::format_instant;
using retentiond::parse_partition_bound;
using retentiond::parse_timestamp_literal;
using retentiond::PartitionBound;

namespace {

using namespace std::chrono;

sys_seconds at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

// Instants print as text so that a failing check shows which instant came out.
std::string text(const std::optional<sys_seconds>& t) {
  return t ? format_instant(*t) : std::string("(none)");
}

std::string literal(std::string_view value) { return text(parse_timestamp_literal(value)); }

void check_empty(const PartitionBound& bound) {
  CHECK_FALSE(bound.is_default);
  CHECK_FALSE(bound.is_range);
  CHECK_FALSE(bound.lower.has_value());
  CHECK_FALSE(bound.upper.has_value());
}

}  // namespace

// --- parse_timestamp_literal -----------------------------------------------------------------

TEST_CASE("bounds: a timestamptz literal as pg_get_expr prints it in UTC is read as that instant") {
  CHECK(literal("2024-01-01 00:00:00+00") == "2024-01-01T00:00:00Z");
  CHECK(literal("2024-12-31 23:59:59+00") == "2024-12-31T23:59:59Z");
  CHECK(literal("1970-01-01 00:00:00+00") == "1970-01-01T00:00:00Z");
}

TEST_CASE("bounds: a timestamp without time zone is read as UTC") {
  CHECK(literal("2024-01-01 00:00:00") == "2024-01-01T00:00:00Z");
  CHECK(literal("2024-06-15 13:45:30") == "2024-06-15T13:45:30Z");
}

TEST_CASE("bounds: a date literal is midnight UTC") {
  CHECK(literal("2024-01-01") == "2024-01-01T00:00:00Z");
  CHECK(literal("0001-01-01") == "0001-01-01T00:00:00Z");
  CHECK(literal("9999-12-31") == "9999-12-31T00:00:00Z");
}

TEST_CASE("bounds: the ISO 8601 form with T and Z is accepted") {
  CHECK(literal("2024-01-01T00:00:00Z") == "2024-01-01T00:00:00Z");
  CHECK(literal("2024-06-01T12:00:00Z") == "2024-06-01T12:00:00Z");
  CHECK(literal("2024-06-01T12:00:00") == "2024-06-01T12:00:00Z");
  CHECK(literal("2024-06-01T12:00:00+02:00") == "2024-06-01T10:00:00Z");
  CHECK(literal("2024-06-01Z") == "2024-06-01T00:00:00Z");
}

TEST_CASE("bounds: fractional seconds are truncated") {
  CHECK(literal("2024-01-01 00:00:00.5+00") == "2024-01-01T00:00:00Z");
  CHECK(literal("2024-01-01 00:00:00.999999+00") == "2024-01-01T00:00:00Z");
  CHECK(literal("2024-01-01 12:34:56.123456") == "2024-01-01T12:34:56Z");
  CHECK(literal("2024-01-01T00:00:00.250Z") == "2024-01-01T00:00:00Z");
}

TEST_CASE("bounds: offsets with minutes, seconds and negative hours move the instant to UTC") {
  CHECK(literal("2024-01-01 05:30:00+05:30") == "2024-01-01T00:00:00Z");
  CHECK(literal("2024-01-01 00:00:00+05:30") == "2023-12-31T18:30:00Z");
  CHECK(literal("2024-01-01 00:00:00-03") == "2024-01-01T03:00:00Z");
  CHECK(literal("2023-12-31 21:00:00-03") == "2024-01-01T00:00:00Z");
  CHECK(literal("2024-01-01 00:00:00-09:30") == "2024-01-01T09:30:00Z");
  // Local mean time zones print offsets with seconds (Amsterdam before 1937).
  CHECK(literal("1900-01-01 00:00:00+00:19:32") == "1899-12-31T23:40:28Z");
  CHECK(literal("2024-01-01 00:00:00.5+05:30") == "2023-12-31T18:30:00Z");
}

TEST_CASE("bounds: leap days are valid only in leap years") {
  CHECK(literal("2024-02-29") == "2024-02-29T00:00:00Z");
  CHECK(literal("2000-02-29 00:00:00+00") == "2000-02-29T00:00:00Z");
  CHECK(literal("2023-02-29") == "(none)");
  CHECK(literal("1900-02-29") == "(none)");
  CHECK(literal("2023-02-29 00:00:00+00") == "(none)");
}

TEST_CASE("bounds: impossible dates and times are rejected") {
  CHECK(literal("2024-13-01") == "(none)");
  CHECK(literal("2024-00-01") == "(none)");
  CHECK(literal("2024-01-00") == "(none)");
  CHECK(literal("2024-01-32") == "(none)");
  CHECK(literal("2024-04-31") == "(none)");
  CHECK(literal("2024-01-01 25:00:00") == "(none)");
  CHECK(literal("2024-01-01 00:60:00") == "(none)");
  CHECK(literal("2024-01-01 00:00:61") == "(none)");
}

TEST_CASE("bounds: 24:00:00 is the end of the day, as PostgreSQL reads it, and nothing later is") {
  CHECK(literal("2024-01-01 24:00:00") == "2024-01-02T00:00:00Z");
  CHECK(literal("2024-01-01 24:30:00") == "(none)");
  CHECK(literal("2024-01-01 24:00:01") == "(none)");
}

TEST_CASE("bounds: a leap second rolls over into the next minute as in PostgreSQL") {
  CHECK(literal("2016-12-31 23:59:60+00") == "2017-01-01T00:00:00Z");
}

TEST_CASE("bounds: signs inside date and time fields are rejected") {
  CHECK(literal("-001-01-01") == "(none)");
  CHECK(literal("2024--1-01") == "(none)");
  CHECK(literal("2024-01-01 -1:00:00") == "(none)");
  CHECK(literal("2024-01-01 00:-1:00") == "(none)");
  CHECK(literal("2024-01-01 00:00:-1") == "(none)");
  CHECK(literal("2024-01-01 00:00:00+-1") == "(none)");
  CHECK(literal("+024-01-01") == "(none)");
}

TEST_CASE("bounds: offsets beyond what PostgreSQL allows are rejected") {
  CHECK(literal("2024-01-01 00:00:00+15:59:59") == "2023-12-31T08:00:01Z");
  CHECK(literal("2024-01-01 00:00:00+16") == "(none)");
  CHECK(literal("2024-01-01 00:00:00+99") == "(none)");
  CHECK(literal("2024-01-01 00:00:00+05:60") == "(none)");
  CHECK(literal("2024-01-01 00:00:00+05:30:60") == "(none)");
}

TEST_CASE("bounds: infinity, BC dates and garbage are not instants") {
  CHECK(literal("infinity") == "(none)");
  CHECK(literal("-infinity") == "(none)");
  CHECK(literal("0044-03-15 BC") == "(none)");
  CHECK(literal("0044-03-15 00:00:00+00 BC") == "(none)");
  CHECK(literal("") == "(none)");
  CHECK(literal("now") == "(none)");
  CHECK(literal("2024-1-1") == "(none)");
  CHECK(literal("2024/01/01") == "(none)");
  CHECK(literal("20240101") == "(none)");
  CHECK(literal("2024-01-01 ") == "(none)");
  CHECK(literal(" 2024-01-01") == "(none)");
  CHECK(literal("2024-01-01 00:00") == "(none)");
  CHECK(literal("2024-01-01 0:00:00") == "(none)");
  CHECK(literal("2024-01-01 00:00:00+5") == "(none)");
  CHECK(literal("2024-01-01 00:00:00 UTC") == "(none)");
  CHECK(literal("2024-01-01 00:00:00Zjunk") == "(none)");
  CHECK(literal("2024-01-01x") == "(none)");
  CHECK(literal("10000-01-01") == "(none)");
  CHECK(literal("Mon Jan 01 00:00:00 2024 UTC") == "(none)");
}

// --- parse_partition_bound -------------------------------------------------------------------

TEST_CASE("bounds: DEFAULT is the default partition and has no range") {
  const auto bound = parse_partition_bound("DEFAULT");
  CHECK(bound.is_default);
  CHECK_FALSE(bound.is_range);
  CHECK_FALSE(bound.lower.has_value());
  CHECK_FALSE(bound.upper.has_value());
}

TEST_CASE("bounds: a timestamptz range reads both ends as UTC instants") {
  const auto bound =
      parse_partition_bound("FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-02 00:00:00+00')");
  CHECK_FALSE(bound.is_default);
  CHECK(bound.is_range);
  CHECK(text(bound.lower) == "2024-01-01T00:00:00Z");
  CHECK(text(bound.upper) == "2024-01-02T00:00:00Z");
}

TEST_CASE("bounds: a timestamp range is read as UTC") {
  const auto bound =
      parse_partition_bound("FOR VALUES FROM ('2024-01-01 00:00:00') TO ('2024-02-01 00:00:00')");
  CHECK(bound.is_range);
  CHECK(bound.lower == at(2024, 1, 1));
  CHECK(bound.upper == at(2024, 2, 1));
}

TEST_CASE("bounds: a date range reads midnight UTC at both ends") {
  const auto bound = parse_partition_bound("FOR VALUES FROM ('2024-01-01') TO ('2024-01-02')");
  CHECK(bound.is_range);
  CHECK(bound.lower == at(2024, 1, 1));
  CHECK(bound.upper == at(2024, 1, 2));
}

TEST_CASE("bounds: a range in a session with an offset reads the same instants as in UTC") {
  const auto bound =
      parse_partition_bound("FOR VALUES FROM ('2024-01-01 05:30:00+05:30') TO ('2024-01-01 21:00:00-03')");
  CHECK(bound.is_range);
  CHECK(bound.lower == at(2024, 1, 1));
  CHECK(bound.upper == at(2024, 1, 2));
}

TEST_CASE("bounds: a fractional lower bound is truncated") {
  const auto bound =
      parse_partition_bound("FOR VALUES FROM ('2024-01-01 00:00:00.75+00') TO ('2024-01-02 00:00:00+00')");
  CHECK(bound.is_range);
  CHECK(bound.lower == at(2024, 1, 1));
}

// The upper bound decides expiry (upper <= cutoff, in whole seconds). Truncating a fractional
// upper bound would call a partition expired while it still holds rows after the cutoff.
TEST_CASE("bounds: a fractional upper bound is rounded up so the partition never looks older than it is") {
  const auto bound =
      parse_partition_bound("FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-02 00:00:00.5+00')");
  CHECK(bound.is_range);
  CHECK(text(bound.upper) == "2024-01-02T00:00:01Z");
  const auto whole =
      parse_partition_bound("FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-02 00:00:00.000+00')");
  CHECK(text(whole.upper) == "2024-01-02T00:00:00Z");
  const auto negative_offset = parse_partition_bound(
      "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-01 20:59:59.000001-03')");
  CHECK(text(negative_offset.upper) == "2024-01-02T00:00:00Z");
}

TEST_CASE("bounds: MINVALUE leaves the lower end open") {
  const auto bound = parse_partition_bound("FOR VALUES FROM (MINVALUE) TO ('2024-01-01 00:00:00+00')");
  CHECK(bound.is_range);
  CHECK_FALSE(bound.lower.has_value());
  CHECK(bound.upper == at(2024, 1, 1));
}

TEST_CASE("bounds: MAXVALUE leaves the upper end open") {
  const auto bound = parse_partition_bound("FOR VALUES FROM ('2024-01-01 00:00:00+00') TO (MAXVALUE)");
  CHECK(bound.is_range);
  CHECK(bound.lower == at(2024, 1, 1));
  CHECK_FALSE(bound.upper.has_value());
}

TEST_CASE("bounds: MINVALUE to MAXVALUE is a range with both ends open") {
  const auto bound = parse_partition_bound("FOR VALUES FROM (MINVALUE) TO (MAXVALUE)");
  CHECK(bound.is_range);
  CHECK_FALSE(bound.lower.has_value());
  CHECK_FALSE(bound.upper.has_value());
}

TEST_CASE("bounds: infinity bounds are open ends") {
  const auto lower = parse_partition_bound("FOR VALUES FROM ('-infinity') TO ('2024-01-01 00:00:00+00')");
  CHECK(lower.is_range);
  CHECK_FALSE(lower.lower.has_value());
  CHECK(lower.upper == at(2024, 1, 1));
  const auto upper = parse_partition_bound("FOR VALUES FROM ('2024-01-01') TO ('infinity')");
  CHECK(upper.is_range);
  CHECK(upper.lower == at(2024, 1, 1));
  CHECK_FALSE(upper.upper.has_value());
}

TEST_CASE("bounds: a BC bound is unreadable and so open, never expired") {
  const auto bound =
      parse_partition_bound("FOR VALUES FROM ('0100-01-01 00:00:00+00 BC') TO ('0001-01-01 00:00:00+00 BC')");
  CHECK(bound.is_range);
  CHECK_FALSE(bound.lower.has_value());
  CHECK_FALSE(bound.upper.has_value());
}

TEST_CASE("bounds: a multi-column range is not a range retention can reason about") {
  check_empty(parse_partition_bound("FOR VALUES FROM ('a', 1) TO ('b', 2)"));
  check_empty(parse_partition_bound(
      "FOR VALUES FROM ('2024-01-01 00:00:00+00', MINVALUE) TO ('2024-01-02 00:00:00+00', MINVALUE)"));
  check_empty(parse_partition_bound("FOR VALUES FROM (MINVALUE, MINVALUE) TO (MAXVALUE, MAXVALUE)"));
}

TEST_CASE("bounds: list and hash partitions are not ranges and not defaults") {
  check_empty(parse_partition_bound("FOR VALUES IN ('a', 'b')"));
  check_empty(parse_partition_bound("FOR VALUES IN ('2024-01-01')"));
  check_empty(parse_partition_bound("FOR VALUES WITH (modulus 2, remainder 0)"));
}

TEST_CASE("bounds: a range over a non-time key has no instants") {
  check_empty(parse_partition_bound("FOR VALUES FROM (1) TO (10)"));
  const auto text_key = parse_partition_bound("FOR VALUES FROM ('a') TO ('it''s')");
  CHECK(text_key.is_range);
  CHECK_FALSE(text_key.lower.has_value());
  CHECK_FALSE(text_key.upper.has_value());
}

TEST_CASE("bounds: garbage gives an empty bound and never throws") {
  for (std::string_view garbage : {
           "",
           "default",
           "DEFAULT ",
           " DEFAULT",
           "FOR VALUES",
           "FOR VALUES FROM",
           "FOR VALUES FROM ('2024-01-01')",
           "FOR VALUES FROM ('2024-01-01') TO",
           "FOR VALUES FROM ('2024-01-01') TO (",
           "FOR VALUES FROM ('2024-01-01') TO ('2024-01-02'",
           "FOR VALUES FROM ('2024-01-01') TO ('2024-01-02",
           "FOR VALUES FROM ('2024-01-01') TO ('2024-01-02') ",
           "FOR VALUES FROM ('2024-01-01') TO ('2024-01-02') junk",
           "FOR VALUES FROM ('2024-01-01')  TO ('2024-01-02')",
           "FOR VALUES FROM '2024-01-01' TO '2024-01-02'",
           "for values from ('2024-01-01') to ('2024-01-02')",
           "FOR VALUES FROM (MINVALUEX) TO ('2024-01-02')",
           "FOR VALUES FROM ('2024-01-01') TO (MAXVALUE')",
           "'",
           "(",
       }) {
    CAPTURE(garbage);
    check_empty(parse_partition_bound(garbage));
  }
}

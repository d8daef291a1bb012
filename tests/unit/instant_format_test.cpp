#include <chrono>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <doctest/doctest.h>

#include "retentiond/core/time.hpp"

using retentiond::format_instant;

namespace {

std::chrono::sys_seconds at(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return sys_days(year(y) / month(m) / day(d)) + hours(h) + minutes(mi) + seconds(s);
}

std::chrono::sys_seconds seconds_since_epoch(std::int64_t s) { return std::chrono::sys_seconds{std::chrono::seconds(s)}; }

}  // namespace

TEST_CASE("instant format: years 0 to 9999 have four digits, year 0 being 1 BC") {
  CHECK(format_instant(at(0, 1, 1)) == "0000-01-01T00:00:00Z");
  CHECK(format_instant(at(0, 2, 29, 12)) == "0000-02-29T12:00:00Z");  // 1 BC was a leap year
  CHECK(format_instant(at(1, 1, 1)) == "0001-01-01T00:00:00Z");
  CHECK(format_instant(at(999, 12, 31, 23, 59, 59)) == "0999-12-31T23:59:59Z");
  CHECK(format_instant(at(9999, 12, 31, 23, 59, 59)) == "9999-12-31T23:59:59Z");
}

TEST_CASE("instant format: years outside 0 to 9999 take the expanded form with a sign and six digits") {
  CHECK(format_instant(at(-1, 12, 31, 1, 2, 3)) == "-000001-12-31T01:02:03Z");
  CHECK(format_instant(at(-5, 3, 1)) == "-000005-03-01T00:00:00Z");
  CHECK(format_instant(at(-7973, 12, 3)) == "-007973-12-03T00:00:00Z");
  CHECK(format_instant(at(-4713, 11, 24)) == "-004713-11-24T00:00:00Z");
  CHECK(format_instant(at(10000, 1, 1)) == "+010000-01-01T00:00:00Z");
  // PostgreSQL's last timestamptz, beyond std::chrono::year: given in seconds.
  CHECK(format_instant(seconds_since_epoch(9'224'318'015'999)) == "+294276-12-31T23:59:59Z");
}

TEST_CASE("instant format: every second a sys_seconds holds formats, the extremes included") {
  const auto low = std::numeric_limits<std::int64_t>::min();
  const auto high = std::numeric_limits<std::int64_t>::max();
  // 2^63 s is about 292 billion years: twelve digits of year.
  CHECK(format_instant(seconds_since_epoch(high)) == "+292277026596-12-04T15:30:07Z");
  CHECK(format_instant(seconds_since_epoch(low)) == "-292277022657-01-27T08:29:52Z");
  CHECK(format_instant(seconds_since_epoch(-1)) == "1969-12-31T23:59:59Z");
  CHECK(format_instant(seconds_since_epoch(0)) == "1970-01-01T00:00:00Z");
}

TEST_CASE("instant format: agrees with std::chrono over the years chrono can hold") {
  using namespace std::chrono;
  std::mt19937_64 random(20261203);
  const auto low = at(-32000, 1, 1).time_since_epoch().count();
  const auto high = at(32000, 1, 1).time_since_epoch().count();
  std::uniform_int_distribution<long long> pick(low, high);
  for (int i = 0; i < 20000; ++i) {
    const sys_seconds t{seconds(pick(random))};
    const auto day = floor<days>(t);
    const year_month_day date{day};
    const hh_mm_ss time{t - day};
    const std::string text = format_instant(t);
    const int y = static_cast<int>(date.year());
    const std::string year_text = y >= 0 && y <= 9999 ? text.substr(0, 4) : text.substr(0, 7);
    REQUIRE_MESSAGE(std::stoi(year_text) == y, text);
    const std::string rest = text.substr(year_text.size());
    char expected[32];
    std::snprintf(expected, sizeof expected, "-%02u-%02uT%02d:%02d:%02dZ", static_cast<unsigned>(date.month()),
                  static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                  static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()));
    REQUIRE_MESSAGE(rest == expected, text);
  }
}

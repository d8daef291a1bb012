#include "retentiond/core/time.hpp"

#include <cstdio>
#include <random>

#include <doctest/doctest.h>

using retentiond::format_instant;

namespace {

// The obvious formatting, to hold the fast one against.
std::string reference(std::chrono::sys_seconds t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  char text[64];
  const int y = static_cast<int>(date.year());
  std::snprintf(text, sizeof text,
                y >= 0 && y <= 9999 ? "%04d-%02u-%02uT%02d:%02d:%02dZ" : "%+07d-%02u-%02uT%02d:%02d:%02dZ", y,
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return text;
}

std::chrono::sys_seconds at(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return sys_days(year(y) / month(m) / day(d)) + hours(h) + minutes(mi) + seconds(s);
}

}  // namespace

TEST_CASE("time: format_instant is ISO 8601 UTC with a Z") {
  CHECK(format_instant(at(2024, 1, 2)) == "2024-01-02T00:00:00Z");
  CHECK(format_instant(at(1970, 1, 1)) == "1970-01-01T00:00:00Z");
  CHECK(format_instant(at(2024, 2, 29, 23, 59, 59)) == "2024-02-29T23:59:59Z");
  CHECK(format_instant(at(1, 1, 1)) == "0001-01-01T00:00:00Z");
  CHECK(format_instant(at(9999, 12, 31, 23, 59, 59)) == "9999-12-31T23:59:59Z");
  CHECK(format_instant(at(10000, 1, 1)) == "+010000-01-01T00:00:00Z");
  CHECK(format_instant(at(-1, 12, 31, 1, 2, 3)) == "-000001-12-31T01:02:03Z");
}

TEST_CASE("time: format_instant agrees with snprintf over the whole range") {
  std::mt19937_64 random(20241122);
  using namespace std::chrono;
  const auto low = at(-50, 1, 1).time_since_epoch().count();
  const auto high = at(12000, 1, 1).time_since_epoch().count();
  std::uniform_int_distribution<long long> pick(low, high);
  for (int i = 0; i < 20000; ++i) {
    const sys_seconds t{seconds(pick(random))};
    REQUIRE(format_instant(t) == reference(t));
  }
}

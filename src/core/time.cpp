#include <cstdint>
#include <cstdio>

#include "retentiond/core/time.hpp"
#include "retentiond/engine/catalog.hpp"

namespace retentiond {
namespace {

struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

// Howard Hinnant's days_from_civil inverse in 64 bits: std::chrono::year stops at ±32767, and
// a sys_seconds can lie hundreds of billions of years away.
CivilDate civil_from_days(std::int64_t z) {
  z += 719'468;
  const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const auto doe = static_cast<unsigned>(z - era * 146'097);
  const unsigned yoe = (doe - doe / 1'460 + doe / 36'524 - doe / 146'096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

}  // namespace

void append_instant(std::string& out, std::chrono::sys_seconds t) {
  // Floor division by hand: floor<days>(t) converted back to seconds overflows near the
  // bottom of the range.
  std::int64_t days = t.time_since_epoch().count() / 86'400;
  std::int64_t second_of_day = t.time_since_epoch().count() % 86'400;
  if (second_of_day < 0) {
    second_of_day += 86'400;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  const auto hour = static_cast<int>(second_of_day / 3'600);
  const auto minute = static_cast<int>(second_of_day % 3'600 / 60);
  const auto second = static_cast<int>(second_of_day % 60);
  if (date.year < 0 || date.year > 9999) {
    // ISO 8601's expanded form (as ECMAScript writes it): a sign and at least six digits, so
    // that no reader takes `-7973` for a four-digit year with a stray dash. Only cutoffs of
    // --as-of values far from now get here; the common path below is the fast one.
    char text[64];
    std::snprintf(text, sizeof text, "%+07lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(date.year),
                  date.month, date.day, hour, minute, second);
    out += text;
    return;
  }
  char text[20] = "0000-00-00T00:00:00";
  const auto put = [&](std::size_t at, int value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) text[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<int>(date.year), 4);
  put(5, static_cast<int>(date.month), 2);
  put(8, static_cast<int>(date.day), 2);
  put(11, hour, 2);
  put(14, minute, 2);
  put(17, second, 2);
  out.append(text, 19);
  out += 'Z';
}

std::string format_instant(std::chrono::sys_seconds t) {
  std::string text;
  append_instant(text, t);
  return text;
}

bool is_supported_time_type(std::string_view type) {
  return type == "timestamp with time zone" || type == "timestamp without time zone" || type == "date";
}

}  // namespace retentiond

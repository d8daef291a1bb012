#include <cstdio>

#include "retentiond/core/time.hpp"
#include "retentiond/engine/catalog.hpp"

namespace retentiond {

void append_instant(std::string& out, std::chrono::sys_seconds t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) {
    // Only cutoffs of absurd ttls get here; the general path is not worth a fast one.
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", year,
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<long long>(time.hours().count()), static_cast<long long>(time.minutes().count()),
                  static_cast<long long>(time.seconds().count()));
    out += text;
    return;
  }
  char text[20] = "0000-00-00T00:00:00";
  const auto put = [&](std::size_t at, int value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) text[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, static_cast<int>(static_cast<unsigned>(date.month())), 2);
  put(8, static_cast<int>(static_cast<unsigned>(date.day())), 2);
  put(11, static_cast<int>(time.hours().count()), 2);
  put(14, static_cast<int>(time.minutes().count()), 2);
  put(17, static_cast<int>(time.seconds().count()), 2);
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

#include <cstdio>

#include "retentiond/core/time.hpp"
#include "retentiond/engine/catalog.hpp"

namespace retentiond {

std::string format_instant(std::chrono::sys_seconds t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day date{day};
  const hh_mm_ss time{t - day};
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long long>(time.hours().count()), static_cast<long long>(time.minutes().count()),
                static_cast<long long>(time.seconds().count()));
  return text;
}

bool is_supported_time_type(std::string_view type) {
  return type == "timestamp with time zone" || type == "timestamp without time zone" || type == "date";
}

}  // namespace retentiond

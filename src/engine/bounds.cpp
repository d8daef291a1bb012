#include "retentiond/engine/bounds.hpp"

#include <charconv>
#include <string>

namespace retentiond {
namespace {

// Exactly `digits` decimal digits: from_chars alone would also take a sign ("-1" as an hour).
bool read_int(std::string_view& text, std::size_t digits, int& out) {
  if (text.size() < digits) return false;
  for (std::size_t i = 0; i < digits; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  auto [end, error] = std::from_chars(text.data(), text.data() + digits, out);
  if (error != std::errc() || end != text.data() + digits) return false;
  text.remove_prefix(digits);
  return true;
}

bool eat(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

// One value of a bound list: `'literal'` or MINVALUE / MAXVALUE. Advances past it.
std::optional<std::string> read_value(std::string_view& text, bool& infinite) {
  infinite = false;
  for (std::string_view word : {"MINVALUE", "MAXVALUE"}) {
    if (text.starts_with(word)) {
      text.remove_prefix(word.size());
      infinite = true;
      return std::string();
    }
  }
  if (!eat(text, '\'')) return std::nullopt;
  std::string value;
  while (!text.empty()) {
    char c = text.front();
    text.remove_prefix(1);
    if (c == '\'') {
      if (eat(text, '\'')) {
        value += '\'';
        continue;
      }
      return value;
    }
    value += c;
  }
  return std::nullopt;
}

// parse_timestamp_literal, also telling whether a non-zero fraction of a second was dropped.
std::optional<std::chrono::sys_seconds> parse_instant(std::string_view text, bool& truncated) {
  using namespace std::chrono;
  truncated = false;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!read_int(text, 4, y) || !eat(text, '-') || !read_int(text, 2, mo) || !eat(text, '-') || !read_int(text, 2, d)) {
    return std::nullopt;
  }
  const year_month_day date{year(y), month(static_cast<unsigned>(mo)), day(static_cast<unsigned>(d))};
  if (!date.ok()) return std::nullopt;
  if (eat(text, ' ') || eat(text, 'T')) {
    if (!read_int(text, 2, h) || !eat(text, ':') || !read_int(text, 2, mi) || !eat(text, ':') || !read_int(text, 2, s)) {
      return std::nullopt;
    }
    if (h > 24 || mi > 59 || s > 60) return std::nullopt;
    if (eat(text, '.')) {
      while (!text.empty() && text.front() >= '0' && text.front() <= '9') {
        truncated = truncated || text.front() != '0';
        text.remove_prefix(1);
      }
    }
    // As in PostgreSQL, 24:00:00 is the end of the day and nothing after it is a time.
    if (h == 24 && (mi != 0 || s != 0 || truncated)) return std::nullopt;
  }
  seconds offset{0};
  if (text == "Z") text.remove_prefix(1);
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    const int sign = text.front() == '-' ? -1 : 1;
    text.remove_prefix(1);
    int oh = 0, om = 0, os = 0;
    if (!read_int(text, 2, oh)) return std::nullopt;
    if (eat(text, ':') && !read_int(text, 2, om)) return std::nullopt;
    if (eat(text, ':') && !read_int(text, 2, os)) return std::nullopt;
    if (oh > 15 || om > 59 || os > 59) return std::nullopt;  // PostgreSQL's limits for an offset
    offset = sign * (hours(oh) + minutes(om) + seconds(os));
  }
  if (!text.empty()) return std::nullopt;  // "BC", garbage, or anything we do not understand
  return sys_days(date) + hours(h) + minutes(mi) + seconds(s) - offset;
}

// `(value)` with exactly one value; multi-column keys do not qualify. An upper bound with a
// fraction of a second rounds up: expiry compares it with a whole-second cutoff, and rounding
// down would call a partition expired while it still holds rows after the cutoff.
std::optional<std::optional<std::chrono::sys_seconds>> read_single(std::string_view& text, bool round_up) {
  if (!eat(text, '(')) return std::nullopt;
  bool infinite = false;
  auto value = read_value(text, infinite);
  if (!value || !eat(text, ')')) return std::nullopt;
  if (infinite) return std::optional<std::chrono::sys_seconds>();
  bool truncated = false;
  auto instant = parse_instant(*value, truncated);
  if (instant && truncated && round_up) *instant += std::chrono::seconds(1);
  return instant;
}

}  // namespace

std::optional<std::chrono::sys_seconds> parse_timestamp_literal(std::string_view text) {
  bool truncated = false;
  return parse_instant(text, truncated);
}

PartitionBound parse_partition_bound(std::string_view expression) {
  PartitionBound bound;
  if (expression == "DEFAULT") {
    bound.is_default = true;
    return bound;
  }
  constexpr std::string_view from = "FOR VALUES FROM ";
  if (!expression.starts_with(from)) return bound;
  expression.remove_prefix(from.size());
  auto lower = read_single(expression, false);
  constexpr std::string_view to = " TO ";
  if (!lower || !expression.starts_with(to)) return bound;
  expression.remove_prefix(to.size());
  auto upper = read_single(expression, true);
  if (!upper || !expression.empty()) return bound;
  bound.is_range = true;
  bound.lower = *lower;
  bound.upper = *upper;
  return bound;
}

}  // namespace retentiond

#include "retentiond/engine/bounds.hpp"

#include <charconv>
#include <string>

namespace retentiond {
namespace {

bool read_int(std::string_view& text, std::size_t digits, int& out) {
  if (text.size() < digits) return false;
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

// `(value)` with exactly one value; multi-column keys do not qualify.
std::optional<std::optional<std::chrono::sys_seconds>> read_single(std::string_view& text) {
  if (!eat(text, '(')) return std::nullopt;
  bool infinite = false;
  auto value = read_value(text, infinite);
  if (!value || !eat(text, ')')) return std::nullopt;
  if (infinite) return std::optional<std::chrono::sys_seconds>();
  return parse_timestamp_literal(*value);
}

}  // namespace

std::optional<std::chrono::sys_seconds> parse_timestamp_literal(std::string_view text) {
  using namespace std::chrono;
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
      while (!text.empty() && text.front() >= '0' && text.front() <= '9') text.remove_prefix(1);
    }
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
    offset = sign * (hours(oh) + minutes(om) + seconds(os));
  }
  if (!text.empty()) return std::nullopt;  // "BC", garbage, or anything we do not understand
  return sys_days(date) + hours(h) + minutes(mi) + seconds(s) - offset;
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
  auto lower = read_single(expression);
  constexpr std::string_view to = " TO ";
  if (!lower || !expression.starts_with(to)) return bound;
  expression.remove_prefix(to.size());
  auto upper = read_single(expression);
  if (!upper || !expression.empty()) return bound;
  bound.is_range = true;
  bound.lower = *lower;
  bound.upper = *upper;
  return bound;
}

}  // namespace retentiond

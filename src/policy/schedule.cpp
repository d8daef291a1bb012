#include "retentiond/policy/schedule.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <optional>
#include <span>
#include <vector>

#include "retentiond/core/error.hpp"
#include "retentiond/core/text.hpp"

namespace retentiond {
namespace {

using namespace std::chrono;

// The Gregorian calendar repeats exactly every 400 years (146097 days, a whole number of
// weeks), so a cron expression that does not fire within that span never fires at all.
constexpr days kGregorianCycle{146'097};
// Any fixed instant works as the reference for the never-fires check, by the same argument.
constexpr sys_days kReference = sys_days{year{2000} / January / 1};

constexpr std::array<std::string_view, 12> kMonthNames{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
  std::string_view name;
  int min;
  int max;
  std::span<const std::string_view> names;  // names[i] stands for min + i
};

constexpr std::array kFields{
    FieldSpec{"minute", 0, 59, {}},
    FieldSpec{"hour", 0, 23, {}},
    FieldSpec{"day-of-month", 1, 31, {}},
    FieldSpec{"month", 1, 12, kMonthNames},
    FieldSpec{"day-of-week", 0, 7, kDayNames},
};

struct Macro {
  std::string_view name;
  std::string_view cron;
};

constexpr std::array kMacros{
    Macro{"@hourly", "0 * * * *"},  Macro{"@daily", "0 0 * * *"},   Macro{"@midnight", "0 0 * * *"},
    Macro{"@weekly", "0 0 * * 0"},  Macro{"@monthly", "0 0 1 * *"}, Macro{"@yearly", "0 0 1 1 *"},
    Macro{"@annually", "0 0 1 1 *"},
};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_ascii_space(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_ascii_space(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

class CronParser {
 public:
  explicit CronParser(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw usage_error("invalid schedule " + quote_input(text_) + ": " + why);
  }

  Schedule::Cron parse(std::string_view expression) const {
    const std::vector<std::string_view> fields = words(expression);
    if (fields.size() != kFields.size()) {
      fail("expected 5 fields (minute hour day-of-month month day-of-week), got " + std::to_string(fields.size()));
    }
    std::array<std::bitset<64>, kFields.size()> sets;
    for (std::size_t i = 0; i < kFields.size(); ++i) sets[i] = field(fields[i], kFields[i]);

    Schedule::Cron cron;
    for (std::size_t v = 0; v < 60; ++v) cron.minutes[v] = sets[0][v];
    for (std::size_t v = 0; v < 24; ++v) cron.hours[v] = sets[1][v];
    for (std::size_t v = 1; v <= 31; ++v) cron.days_of_month[v] = sets[2][v];
    for (std::size_t v = 1; v <= 12; ++v) cron.months[v] = sets[3][v];
    for (std::size_t v = 0; v < 7; ++v) cron.days_of_week[v] = sets[4][v];
    if (sets[4][7]) cron.days_of_week[0] = true;
    // Vixie cron's test, kept for compatibility: `*/2` counts as unrestricted.
    cron.day_of_month_restricted = fields[2].front() != '*';
    cron.day_of_week_restricted = fields[4].front() != '*';
    return cron;
  }

 private:
  std::bitset<64> field(std::string_view text, const FieldSpec& spec) const {
    std::bitset<64> bits;
    for (std::string_view item : split(text, ',')) {
      if (item.empty()) fail(std::string(spec.name) + " field " + quote_input(text) + " has an empty list item");
      const std::size_t slash = item.find('/');
      const std::string_view base = item.substr(0, slash);
      int step = 1;
      if (slash != std::string_view::npos) {
        const std::string_view step_text = item.substr(slash + 1);
        if (step_text.empty() || !std::all_of(step_text.begin(), step_text.end(), is_ascii_digit)) {
          fail(std::string(spec.name) + " step " + quote_input(step_text) + " in " + quote_input(item) + " is not a number");
        }
        step = number(step_text);
        if (step == 0) fail(std::string(spec.name) + " step in " + quote_input(item) + " must be at least 1");
      }
      int lo = spec.min;
      int hi = spec.max;
      if (base != "*") {
        if (base.find('*') != std::string_view::npos || std::count(base.begin(), base.end(), '-') > 1) {
          fail(std::string(spec.name) + " field " + quote_input(item) + " is malformed");
        }
        const std::size_t dash = base.find('-');
        lo = value(base.substr(0, dash), item, spec);
        if (dash != std::string_view::npos) {
          hi = value(base.substr(dash + 1), item, spec);
          if (lo > hi) fail(std::string(spec.name) + " range " + quote_input(base) + " is reversed");
        } else if (slash == std::string_view::npos) {
          hi = lo;  // `a/n` runs from a to the field's maximum, a plain `a` is just a
        }
      }
      for (int v = lo; v <= hi; v += step) bits.set(static_cast<std::size_t>(v));
    }
    return bits;
  }

  int value(std::string_view token, std::string_view item, const FieldSpec& spec) const {
    const std::string name(spec.name);
    if (token.empty()) fail(name + " field " + quote_input(item) + " is malformed");
    if (std::all_of(token.begin(), token.end(), is_ascii_digit)) {
      const int v = number(token);
      if (v < spec.min || v > spec.max) {
        fail(name + " " + std::string(token) + " is out of range " + std::to_string(spec.min) + "-" +
             std::to_string(spec.max));
      }
      return v;
    }
    const std::string key = ascii_lower(token);
    for (std::size_t i = 0; i < spec.names.size(); ++i) {
      if (spec.names[i] == key) return spec.min + static_cast<int>(i);
    }
    if (spec.names.empty()) fail(name + " " + quote_input(token) + " is not a number");
    fail(name + " " + quote_input(token) + " is neither a number nor a name (" + std::string(spec.names.front()) + "-" +
         std::string(spec.names.back()) + ")");
  }

  // Saturates instead of overflowing: every field and step is far below the cap, so a huge
  // number still fails the range check with its own text.
  static int number(std::string_view digits) {
    int v = 0;
    for (char c : digits) v = std::min(v * 10 + (c - '0'), 1'000'000);
    return v;
  }

  std::string_view text_;
};

bool day_matches(const Schedule::Cron& cron, const year_month_day& date, weekday wd) {
  const bool dom = cron.days_of_month[static_cast<unsigned>(date.day())];
  const bool dow = cron.days_of_week[wd.c_encoding()];
  if (cron.day_of_month_restricted && cron.day_of_week_restricted) return dom || dow;
  return dom && dow;
}

// The first matching time of day at or after `from` (minutes since midnight).
std::optional<minutes> first_time(const Schedule::Cron& cron, int from) {
  for (int h = from / 60; h < 24; ++h) {
    if (!cron.hours[static_cast<std::size_t>(h)]) continue;
    for (int m = (h == from / 60 ? from % 60 : 0); m < 60; ++m) {
      if (cron.minutes[static_cast<std::size_t>(m)]) return hours(h) + minutes(m);
    }
  }
  return std::nullopt;
}

// Walks day by day but skips whole months that the month field excludes, so the worst case
// (a schedule that fires once per leap day) costs a few thousand cheap steps, never minutes.
std::optional<sys_seconds> next_fire(const Schedule::Cron& cron, sys_seconds t) {
  const sys_time<minutes> start = floor<minutes>(t) + minutes(1);
  sys_days day = floor<days>(start);
  int from = static_cast<int>((start - day).count());
  const sys_days end = day + kGregorianCycle + days(1);
  while (day < end) {
    const year_month_day date{day};
    if (!cron.months[static_cast<unsigned>(date.month())]) {
      day = sys_days{(date.year() / date.month() + months(1)) / 1};
      from = 0;
      continue;
    }
    if (day_matches(cron, date, weekday{day})) {
      if (const auto at = first_time(cron, from)) return sys_seconds{day + *at};
    }
    day += days(1);
    from = 0;
  }
  return std::nullopt;
}

}  // namespace

Schedule Schedule::parse(std::string_view text) {
  Schedule schedule;
  schedule.text_ = std::string(trim_ascii(text));
  const std::string_view body = schedule.text_;
  const CronParser parser(text);
  if (body.empty()) parser.fail("it is empty");

  if (body.front() == '@') {
    const std::vector<std::string_view> parts = words(body);
    const std::string name = ascii_lower(parts.front());
    if (name == "@every") {
      if (parts.size() == 1) parser.fail("@every needs a duration, e.g. \"@every 15m\"");
      const std::string_view argument = trim_ascii(body.substr(parts.front().size()));
      try {
        schedule.rule_ = Duration::parse(argument, Duration::Zero::reject);
      } catch (const Error& e) {
        parser.fail(e.what());
      }
      return schedule;
    }
    const auto macro =
        std::find_if(kMacros.begin(), kMacros.end(), [&](const Macro& m) { return m.name == name; });
    if (macro == kMacros.end()) parser.fail("unknown macro " + quote_input(parts.front()));
    if (parts.size() > 1) parser.fail("macro " + quote_input(parts.front()) + " takes no argument");
    schedule.rule_ = parser.parse(macro->cron);
    return schedule;
  }

  const Cron cron = parser.parse(body);
  if (!next_fire(cron, sys_seconds{kReference})) {
    parser.fail("it never fires (no month has the requested day)");
  }
  schedule.rule_ = cron;
  return schedule;
}

sys_seconds Schedule::next_after(sys_seconds t) const {
  if (const auto* cron = std::get_if<Cron>(&rule_)) {
    const auto next = next_fire(*cron, t);
    // parse() proved that the expression fires within every 400-year span.
    assert(next.has_value());
    return next.value_or(sys_seconds::max());
  }
  const Duration& every = std::get<Duration>(rule_);
  if (!every.is_exact()) return every.after(t);
  // Slots are multiples of the period since the epoch: floor division, then the next slot.
  const std::int64_t period = every.seconds().count();
  const std::int64_t now = t.time_since_epoch().count();
  std::int64_t slot = now / period;
  if (now % period != 0 && now < 0) --slot;
  return sys_seconds{seconds((slot + 1) * period)};
}

}  // namespace retentiond

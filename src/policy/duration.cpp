#include "retentiond/policy/duration.hpp"

#include <algorithm>
#include <array>
#include <bitset>
#include <span>

#include "retentiond/core/error.hpp"
#include "retentiond/core/escape.hpp"
#include "retentiond/core/text.hpp"

namespace retentiond {
namespace {

using std::chrono::sys_seconds;

// Every duration is capped at 10000 mean Gregorian years. That is far beyond any retention
// period, and it keeps each step of parsing free of int64 overflow (a number is at most
// kMaxSeconds, a unit at most a week of seconds) and after() inside std::chrono::year's range.
constexpr std::int64_t kMeanMonthSeconds = 2'629'746;  // 365.2425 days / 12
constexpr std::int64_t kMaxYears = 10'000;
constexpr std::int64_t kMaxMonths = kMaxYears * 12;
constexpr std::int64_t kMaxSeconds = kMaxMonths * kMeanMonthSeconds;

// `slot` identifies the quantity a unit measures, so that `1d 2days` is caught as a repeat
// and ISO designators can be held to their fixed order.
struct Unit {
  std::string_view name;
  int slot;
  std::int64_t months;
  std::int64_t seconds;
};

constexpr int kSlots = 7;
constexpr std::array kUnits{
    Unit{"y", 0, 12, 0},          Unit{"yr", 0, 12, 0},         Unit{"yrs", 0, 12, 0},
    Unit{"year", 0, 12, 0},       Unit{"years", 0, 12, 0},      Unit{"mo", 1, 1, 0},
    Unit{"mon", 1, 1, 0},         Unit{"month", 1, 1, 0},       Unit{"months", 1, 1, 0},
    Unit{"w", 2, 0, 604'800},     Unit{"week", 2, 0, 604'800},  Unit{"weeks", 2, 0, 604'800},
    Unit{"d", 3, 0, 86'400},      Unit{"day", 3, 0, 86'400},    Unit{"days", 3, 0, 86'400},
    Unit{"h", 4, 0, 3'600},       Unit{"hr", 4, 0, 3'600},      Unit{"hrs", 4, 0, 3'600},
    Unit{"hour", 4, 0, 3'600},    Unit{"hours", 4, 0, 3'600},   Unit{"m", 5, 0, 60},
    Unit{"min", 5, 0, 60},        Unit{"mins", 5, 0, 60},       Unit{"minute", 5, 0, 60},
    Unit{"minutes", 5, 0, 60},    Unit{"s", 6, 0, 1},           Unit{"sec", 6, 0, 1},
    Unit{"secs", 6, 0, 1},        Unit{"second", 6, 0, 1},      Unit{"seconds", 6, 0, 1},
};

// ISO 8601 designators by slot; `M` means months before `T` and minutes after it.
constexpr std::array kIsoDate{Unit{"Y", 0, 12, 0}, Unit{"M", 1, 1, 0}, Unit{"W", 2, 0, 604'800},
                              Unit{"D", 3, 0, 86'400}};
constexpr std::array kIsoTime{Unit{"H", 4, 0, 3'600}, Unit{"M", 5, 0, 60}, Unit{"S", 6, 0, 1}};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text), body_(trim_ascii(text)) {}

  Duration run(Duration::Zero zero) {
    if (body_.empty()) fail("it is empty");
    if (body_.front() == '-') fail("negative durations are not allowed");
    if (ascii_to_lower(body_.front()) == 'p') {
      iso();
    } else {
      units();
    }
    if (zero == Duration::Zero::reject && months_ == 0 && seconds_ == 0) fail("it must not be zero");
    return Duration(months_, std::chrono::seconds(seconds_));
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw usage_error("invalid duration " + quote_input(text_) + ": " + why);
  }

  // Compact (`1y6mo`) and spelled-out (`1 year 6 months`) forms: numbers each followed by a unit.
  void units() {
    while (true) {
      skip_spaces();
      if (pos_ == body_.size()) return;
      if (!is_ascii_digit(body_[pos_])) {
        const std::string_view word = take(is_ascii_alpha);
        if (!word.empty()) fail("unit " + quote_input(word) + " has no number before it");
        fail(unexpected());
      }
      const std::string_view number = take(is_ascii_digit);
      reject_fraction(number);
      skip_spaces();
      const std::string_view word = take(is_ascii_alpha);
      if (word.empty()) {
        if (pos_ == body_.size() || is_ascii_digit(body_[pos_])) {
          fail("number " + quote_input(number) + " has no unit (e.g. \"d\", \"h\", \"mo\")");
        }
        fail(unexpected());
      }
      const std::string name = ascii_lower(word);
      const auto unit = std::find_if(kUnits.begin(), kUnits.end(), [&](const Unit& u) { return u.name == name; });
      if (unit == kUnits.end()) fail("unknown unit " + quote_input(word));
      add(number, *unit, word);
    }
  }

  // P[nY][nM][nW][nD][T[nH][nM][nS]], designators in that order, each at most once.
  void iso() {
    ++pos_;
    bool in_time = false;
    bool time_part = false;
    bool any = false;
    while (pos_ < body_.size()) {
      if (ascii_to_lower(body_[pos_]) == 't') {
        if (in_time) fail("\"T\" appears twice");
        in_time = true;
        ++pos_;
        continue;
      }
      if (!is_ascii_digit(body_[pos_])) fail(body_[pos_] == '-' ? "negative durations are not allowed" : unexpected());
      const std::string_view number = take(is_ascii_digit);
      reject_fraction(number);
      if (pos_ == body_.size()) fail("number " + quote_input(number) + " has no designator (e.g. \"D\")");
      const std::string_view designator = character_at(body_, pos_);
      const char d = static_cast<char>(designator[0] & ~0x20);  // ASCII upper case
      const Unit* unit = nullptr;
      for (const Unit& u : in_time ? std::span<const Unit>(kIsoTime) : std::span<const Unit>(kIsoDate)) {
        if (u.name[0] == d) unit = &u;
      }
      if (unit == nullptr) {
        if (!in_time && (d == 'H' || d == 'S')) fail("designator " + quote_input(designator) + " must come after \"T\"");
        fail("unknown designator " + quote_input(designator));
      }
      if (unit->slot <= last_slot_) fail("designator " + quote_input(designator) + " is repeated or out of order");
      pos_ += designator.size();
      add(number, *unit, designator);
      any = true;
      time_part = time_part || in_time;
    }
    if (!any) fail("it has no components (e.g. \"P90D\", \"PT12H\")");
    if (in_time && !time_part) fail("\"T\" must be followed by hours, minutes or seconds");
  }

  void add(std::string_view number, const Unit& unit, std::string_view written) {
    if (seen_[static_cast<std::size_t>(unit.slot)]) fail("unit " + quote_input(written) + " is given twice");
    seen_.set(static_cast<std::size_t>(unit.slot));
    last_slot_ = unit.slot;

    // Saturating at kMaxSeconds + 1 keeps a 20-digit number from overflowing while still
    // marking it as too large for every unit.
    std::int64_t value = 0;
    for (char c : number) value = std::min(value * 10 + (c - '0'), kMaxSeconds + 1);
    if (value > kMaxSeconds) too_large();
    months_ += value * unit.months;
    seconds_ += value * unit.seconds;
    if (months_ > kMaxMonths || months_ * kMeanMonthSeconds + seconds_ > kMaxSeconds) too_large();
  }

  [[noreturn]] void too_large() const {
    fail("it is too large (the limit is " + std::to_string(kMaxYears) + " years)");
  }

  void reject_fraction(std::string_view number) const {
    if (pos_ + 1 < body_.size() && (body_[pos_] == '.' || body_[pos_] == ',') && is_ascii_digit(body_[pos_ + 1])) {
      const std::size_t start = pos_ + 1;
      std::size_t end = start;
      while (end < body_.size() && is_ascii_digit(body_[end])) ++end;
      const std::string fraction = std::string(number) + std::string(body_.substr(pos_, end - pos_));
      fail("fractional number " + quote_input(fraction) + " is not supported; use a smaller unit");
    }
  }

  std::string unexpected() const { return "unexpected " + quote_input(character_at(body_, pos_)); }

  template <typename Pred>
  std::string_view take(Pred pred) {
    const std::size_t start = pos_;
    while (pos_ < body_.size() && pred(body_[pos_])) ++pos_;
    return body_.substr(start, pos_ - start);
  }

  void skip_spaces() {
    while (pos_ < body_.size() && is_ascii_space(body_[pos_])) ++pos_;
  }

  std::string_view text_;
  std::string_view body_;
  std::size_t pos_ = 0;
  std::int64_t months_ = 0;
  std::int64_t seconds_ = 0;
  std::bitset<kSlots> seen_;
  int last_slot_ = -1;
};

// PostgreSQL's `timestamp + interval` order: months (day clamped to the target month's end),
// then the exact part. before() adds the negated parts, as `timestamp - interval` does, so a
// cutoff computed here agrees with one computed in SQL.
sys_seconds shift(sys_seconds t, std::int64_t months, std::chrono::seconds exact) {
  if (months != 0) {
    using namespace std::chrono;
    const sys_days day = floor<days>(t);
    const year_month_day date{day};
    const year_month target = date.year() / date.month() + std::chrono::months(months);
    const std::chrono::day last = (target / std::chrono::last).day();
    t = sys_days{target / std::min(date.day(), last)} + (t - day);
  }
  return t + exact;
}

}  // namespace

Duration Duration::parse(std::string_view text, Zero zero) { return Parser(text).run(zero); }

std::string Duration::to_string() const {
  std::string out;
  const auto put = [&out](std::int64_t value, std::string_view unit) {
    if (value == 0) return;
    out += std::to_string(value);
    out += unit;
  };
  const std::int64_t s = seconds_.count();
  put(months_ / 12, "y");
  put(months_ % 12, "mo");
  put(s / 86'400, "d");
  put(s % 86'400 / 3'600, "h");
  put(s % 3'600 / 60, "m");
  put(s % 60, "s");
  return out.empty() ? "0s" : out;
}

sys_seconds Duration::after(sys_seconds t) const { return shift(t, months_, seconds_); }

sys_seconds Duration::before(sys_seconds t) const { return shift(t, -months_, -seconds_); }

}  // namespace retentiond

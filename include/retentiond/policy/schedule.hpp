#pragma once

#include <bitset>
#include <chrono>
#include <string>
#include <string_view>
#include <variant>

#include "retentiond/policy/duration.hpp"

namespace retentiond {

/// When a policy runs: a 5-field cron expression (minute hour day-of-month month day-of-week,
/// with `*`, ranges, lists, steps and month/day names), one of `@hourly @daily @weekly @monthly
/// @yearly` (also `@annually`, `@midnight`), or `@every DURATION`. All times are UTC.
class Schedule {
 public:
  /// Throws a usage Error naming the text and the bad field, e.g.
  /// `invalid schedule "61 * * * *": minute 61 is out of range 0-59`. A cron expression that can
  /// never fire (`0 0 30 2 *`) is rejected too.
  static Schedule parse(std::string_view text);

  /// The first fire time strictly after `t`. Cron fires on whole minutes. `@every D` with an
  /// exact D fires on multiples of D since the Unix epoch (so every replica and every restart
  /// agree on the slots); with a calendar D (months) it fires at `D.after(t)`.
  [[nodiscard]] std::chrono::sys_seconds next_after(std::chrono::sys_seconds t) const;

  /// The text as given (trimmed); stored in the policy row and printed back.
  [[nodiscard]] const std::string& text() const noexcept { return text_; }

  /// The sets of a parsed cron expression; bit i set means value i matches.
  struct Cron {
    std::bitset<60> minutes;
    std::bitset<24> hours;
    std::bitset<32> days_of_month;  ///< 1-31
    std::bitset<13> months;         ///< 1-12
    std::bitset<7> days_of_week;    ///< 0-6, Sunday = 0 (7 is accepted as Sunday too)
    /// Vixie cron rule: when both day fields are restricted (neither starts with `*`), a day
    /// matches if either matches; otherwise both must.
    bool day_of_month_restricted = false;
    bool day_of_week_restricted = false;
  };

 private:
  Schedule() = default;
  std::string text_;
  // Duration first: Cron is not yet default-constructible here (its member initializers are
  // parsed only once Schedule is complete), and the variant needs a default alternative.
  std::variant<Duration, Cron> rule_;
};

}  // namespace retentiond

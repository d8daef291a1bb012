#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace retentiond {

/// A retention or timing duration: a calendar part (months; a year is 12 months) and an exact
/// part (seconds; a day is 86,400 s because all arithmetic is in UTC). Keeping the two apart is
/// what makes "31 Jan + 1mo" land on the last day of February instead of drifting by days.
class Duration {
 public:
  enum class Zero { reject, allow };

  constexpr Duration() = default;
  constexpr Duration(std::int64_t months, std::chrono::seconds seconds) : months_(months), seconds_(seconds) {}

  /// Parses the syntax of PRODUCT.md: compact (`90d`, `1w2d`, `36h`, `15m`, `6mo`, `1y`),
  /// spelled out (`90 days`, `1 week`, `1 year 6 months`) and ISO 8601 (`P90D`, `P1Y6M`, `PT12H`,
  /// `P2W`). Zero (unless allowed), negative, overflowing, empty or unknown units throw a usage
  /// Error whose one-line message quotes the text, e.g. `invalid duration "90x": unknown unit "x"`.
  /// Overflowing means longer than 10000 years (months counted at their mean length), a unit
  /// given twice (`1d2d`) and fractions (`1.5d`) are errors too.
  static Duration parse(std::string_view text, Zero zero = Zero::reject);

  [[nodiscard]] constexpr std::int64_t months() const noexcept { return months_; }
  [[nodiscard]] constexpr std::chrono::seconds seconds() const noexcept { return seconds_; }
  [[nodiscard]] constexpr bool is_zero() const noexcept { return months_ == 0 && seconds_.count() == 0; }
  /// True when the duration has no calendar part, so it has one fixed length in seconds.
  [[nodiscard]] constexpr bool is_exact() const noexcept { return months_ == 0; }

  /// Canonical text, largest units first (`1y6mo`, `90d`, `1d12h`, `0s`); parse(to_string())
  /// gives back an equal Duration.
  [[nodiscard]] std::string to_string() const;

  /// `t + duration`: months first (clamping the day to the end of a shorter month, so
  /// 31 Jan + 1mo = 28/29 Feb), then the exact seconds. All in UTC.
  [[nodiscard]] std::chrono::sys_seconds after(std::chrono::sys_seconds t) const;
  /// `t - duration`, the mirror of after(): the retention cutoff is `ttl.before(now)`.
  [[nodiscard]] std::chrono::sys_seconds before(std::chrono::sys_seconds t) const;

  friend constexpr bool operator==(const Duration&, const Duration&) = default;

 private:
  std::int64_t months_ = 0;
  std::chrono::seconds seconds_{0};
};

}  // namespace retentiond

#include "retentiond/policy/policy_conflicts.hpp"

#include <algorithm>
#include <chrono>

#include "retentiond/core/error.hpp"

namespace retentiond {
namespace {

using std::chrono::sys_days;
using std::chrono::sys_seconds;

// The Gregorian calendar repeats every 400 years (146,097 days): a month shift from a day of one
// cycle is the shift from the same day of any other cycle, moved by whole cycles.
constexpr int kCycleDays = 146'097;

std::string describe(const Policy& policy) {
  return policy.strategy + " policy " + quote_input(policy.id) + " (ttl " + policy.ttl.to_string() + ")";
}

std::optional<std::string> delete_before_snapshot(const Policy& deleting, const Policy& snapshot) {
  if (always_longer(deleting.ttl, snapshot.ttl)) return std::nullopt;
  return describe(deleting) + " would drop partitions of " + deleting.table.display() + " before " +
         describe(snapshot) + " archives them: give the delete a ttl longer than " + snapshot.ttl.to_string();
}

}  // namespace

bool always_longer(const Duration& longer, const Duration& shorter) {
  const std::chrono::seconds exact_margin = longer.seconds() - shorter.seconds();
  if (longer.months() == shorter.months()) return exact_margin.count() > 0;
  // Months are shifted first and the time of day is kept, so the cutoffs differ by
  // (calendar shift of longer - calendar shift of shorter) - exact margin, a function of the
  // day alone: `longer` is always longer when the largest calendar difference over one cycle
  // stays below the exact margin.
  const Duration calendar_longer(longer.months(), std::chrono::seconds(0));
  const Duration calendar_shorter(shorter.months(), std::chrono::seconds(0));
  const sys_seconds first{sys_days{std::chrono::year{2000} / 1 / 1}};
  std::chrono::seconds largest = std::chrono::seconds::min();
  for (int day = 0; day < kCycleDays; ++day) {
    const sys_seconds now = first + std::chrono::days(day);
    largest = std::max(largest, calendar_longer.before(now) - calendar_shorter.before(now));
    if (largest >= exact_margin) return false;
  }
  return largest < exact_margin;
}

std::optional<std::string> policy_conflict(const Policy& candidate, std::span<const Policy> others) {
  for (const Policy& other : others) {
    if (other.id == candidate.id || other.table != candidate.table) continue;
    if (candidate.strategy == "delete" && other.strategy == "snapshot") {
      if (auto reason = delete_before_snapshot(candidate, other)) return reason;
    }
    if (candidate.strategy == "snapshot" && other.strategy == "delete") {
      if (auto reason = delete_before_snapshot(other, candidate)) return reason;
    }
    if (candidate.strategy == "reallocate" && other.strategy == "reallocate" && candidate.target != other.target) {
      return "reallocate policies " + quote_input(candidate.id) + " (to " + quote_input(candidate.target.value_or("")) +
             ") and " + quote_input(other.id) + " (to " + quote_input(other.target.value_or("")) + ") of " +
             candidate.table.display() +
             " would move the partitions both find expired back and forth on every run: give one table one "
             "reallocate target";
    }
  }
  return std::nullopt;
}

}  // namespace retentiond

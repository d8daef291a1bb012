#pragma once

#include <optional>
#include <span>
#include <string>

#include "retentiond/policy/duration.hpp"
#include "retentiond/policy/policy.hpp"

namespace retentiond {

/// Whether `longer` reaches further back than `shorter` from every instant: its cutoff
/// (`longer.before(now)`) is earlier than `shorter.before(now)` for every `now`. Durations with
/// a calendar part have no one length (`1mo` is 28 to 31 days), so `1mo` is not longer than
/// `30d` (in February it is shorter) and `1mo1d` is not either, while `1mo4d` is.
[[nodiscard]] bool always_longer(const Duration& longer, const Duration& shorter);

/// Why `candidate` cannot be stored beside `others` (the other policies of its table, enabled
/// or not), naming both policies, or nothing:
/// - a delete whose ttl is not always longer than a snapshot's would drop partitions before the
///   snapshot archives them (either of the two may be the candidate);
/// - two reallocate policies with different targets would move the partitions both find
///   expired back and forth on every run.
[[nodiscard]] std::optional<std::string> policy_conflict(const Policy& candidate, std::span<const Policy> others);

}  // namespace retentiond

#pragma once

#include <chrono>
#include <string>

namespace retentiond {

/// `2024-01-02T00:00:00Z`: how instants appear in output, logs, reasons and manifests. ISO 8601
/// in UTC for every instant a sys_seconds holds: years 0000-9999 with four digits (0000 is
/// 1 BC, astronomical numbering as ISO 8601 has it), others in the expanded form with a sign
/// and at least six digits (`+010000-01-01T00:00:00Z`, `-007973-12-03T00:00:00Z`).
[[nodiscard]] std::string format_instant(std::chrono::sys_seconds t);

/// format_instant, appended to `out` without a temporary (planning formats one per partition).
void append_instant(std::string& out, std::chrono::sys_seconds t);

}  // namespace retentiond

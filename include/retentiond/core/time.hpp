#pragma once

#include <chrono>
#include <string>

namespace retentiond {

/// `2024-01-02T00:00:00Z`: how instants appear in output, logs, reasons and manifests.
[[nodiscard]] std::string format_instant(std::chrono::sys_seconds t);

/// format_instant, appended to `out` without a temporary (planning formats one per partition).
void append_instant(std::string& out, std::chrono::sys_seconds t);

}  // namespace retentiond

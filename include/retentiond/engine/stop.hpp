#pragma once

#include <atomic>
#include <string>

namespace retentiond {

/// Why a running policy is asked to stop. Once set, no further action starts and a statement
/// cancelled meanwhile (57014) is not an ordinary failure.
enum class StopCause {
  none,
  shutdown,     ///< the daemon is stopping: what was cut off is `abandoned`; the next run continues
  max_runtime,  ///< the run took longer than its policy's max_runtime: `failed`, and retried
};

struct StopRequest {
  std::atomic<StopCause> cause{StopCause::none};
  std::string max_runtime;  ///< the option's text, for the reason; set before the run starts

  [[nodiscard]] bool requested() const { return cause.load() != StopCause::none; }
};

}  // namespace retentiond

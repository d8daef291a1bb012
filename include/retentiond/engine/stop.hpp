#pragma once

#include <atomic>
#include <chrono>
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
  /// max_runtime, set before the run starts: the run itself keeps it (each action's statements
  /// get the time left as statement_timeout, no action starts past it), so no other thread
  /// has to cancel anything, and its own bookkeeping is never what gets cancelled.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::string max_runtime;  ///< the option's text, for the reason
  /// The server process of a session of its own that an action is using (a snapshot streams its
  /// COPY on one), 0 when none: whoever cancels the run's statements cancels this one too.
  /// Mutable: the run publishes it through the read-only view it has of the request.
  mutable std::atomic<int> side_backend_pid{0};
  /// Set by whoever cancels the run at shutdown: an action between two statements (a snapshot
  /// verifying its file) gives up at its next step instead of starting another.
  std::atomic<bool> cancelled{false};

  [[nodiscard]] bool timed_out() const {
    return cause.load() == StopCause::max_runtime || std::chrono::steady_clock::now() >= deadline;
  }
  [[nodiscard]] bool requested() const { return cause.load() != StopCause::none || timed_out(); }
};

}  // namespace retentiond

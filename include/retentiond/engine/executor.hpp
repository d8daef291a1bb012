#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <vector>

#include <pqxx/connection>
#include <pqxx/transaction_base>

#include "retentiond/config/config.hpp"
#include "retentiond/dialect/dialect.hpp"
#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/engine/plan.hpp"
#include "retentiond/engine/run_observer.hpp"
#include "retentiond/engine/stop.hpp"

namespace retentiond {

/// Carries out a policy's plan for real, action by action, oldest first, recording each in
/// jobs_log. A failing action is recorded with its reason and ends that policy's run (the later
/// actions are recorded `skipped`): stopping at the first failure keeps "oldest first" true, so
/// what is left is always the newest data. Other policies are not affected. A lost connection
/// propagates (the run cannot record anything more).
class Executor {
 public:
  /// `stop` (may be null): once set, no further action starts; see RunRequest::stop.
  Executor(pqxx::connection& connection, const Config& config, const Dialect& dialect, JobsLog& jobs,
           const StopRequest* stop = nullptr);

  /// `observer` (may be null) sees each action's result as soon as it is recorded.
  std::vector<ActionResult> execute(const PolicyPlan& plan, RunObserver* observer = nullptr);

 private:
  /// Drops a run of consecutive partitions, several per transaction; returns how many actions
  /// it consumed from `begin`.
  std::size_t drop_group(const std::vector<Action>& actions, std::size_t begin,
                         std::vector<ActionResult>& results);
  JobOutcome run_single(const Action& action, std::int64_t job_id);
  JobOutcome delete_rows(const Action& action, std::int64_t job_id);
  JobOutcome detach(const Action& action);
  /// The action's statements in one transaction; with `job_id`, its `succeeded` row is written
  /// in that transaction too (and recorded_ set).
  JobOutcome in_transaction(const Action& action, std::optional<std::int64_t> job_id = std::nullopt);
  /// The outcome of an action that threw: `abandoned` when shutdown cancelled it, else `failed`.
  JobOutcome failure(std::int64_t job_id, const Action& action, const std::exception& error) const;
  /// Appends to the results and tells the observer.
  void record(std::vector<ActionResult>& results, ActionResult result);
  [[nodiscard]] bool stopping() const { return stop_ != nullptr && stop_->requested(); }
  [[nodiscard]] bool timed_out() const { return stop_ != nullptr && stop_->timed_out(); }
  /// The time left before max_runtime (at least 1 ms), if the run has a limit.
  [[nodiscard]] std::optional<std::chrono::milliseconds> time_left() const;
  /// lock_timeout, and statement_timeout for the time left before max_runtime, in `tx`.
  void limit(pqxx::transaction_base& tx, const Action& action) const;
  [[nodiscard]] std::string time_is_up() const { return "the run reached max_runtime " + stop_->max_runtime; }

  pqxx::connection& connection_;
  const Config& config_;
  const Dialect& dialect_;
  JobsLog& jobs_;
  const StopRequest* stop_;
  RunObserver* observer_ = nullptr;
  bool recorded_ = false;  ///< the last single action's outcome is already in jobs_log
};

}  // namespace retentiond
